#include "lib/query/executor.h"

#include <algorithm>
#include <cstring>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <type_traits>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/core/index_state.h"
#include "lib/db/index_access.h"
#include "lib/pql/parser.h"
#include "lib/pql/printer.h"
#include "lib/query/call_args.h"
#include "lib/query/json.h"
#include "lib/query/partial.h"
#include "lib/util/thread_pool.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {
namespace {

using pql::Call;
using PKind = pql::Value::Kind;

absl::Status CallError(const Call& c, std::string_view msg) {
  return absl::InvalidArgumentError(fmt::format("{}(): {}", c.name, msg));
}

const Roaring32& EmptyBits() {
  static const Roaring32* empty = new Roaring32();
  return *empty;
}

// Per-shard bits: borrowed from the snapshot when possible, else owned.
struct Bits {
  const Roaring32* ref = &EmptyBits();
  std::optional<Roaring32> own;
  const Roaring32& get() const { return own ? *own : *ref; }
  Roaring32 Take() { return own ? std::move(*own) : ref->Copy(); }
  // A fragment row: borrowed when it is a bitmap, else built.
  static Bits Of(const internal::RowData& r) {
    Bits b;
    if (const Roaring32* big = r.roaring()) {
      b.ref = big;
    } else {
      b.own = r.ToRoaring();
    }
    return b;
  }
};

// ------------------------------------------------------------------ plans

enum class NodeKind {
  kEmpty,
  kRow,        // field, views, row
  kAll,        // index existence
  kExistence,  // field existence (Row(f != null))
  kUnion,
  kIntersect,
  kDifference,
  kXor,
  kNot,
  kConst,  // a precomputed bitmap (Shift, Limit, ConstRow, Distinct, ...)
  kBsi,    // a comparison on a value field: field, predicate
};

struct Node {
  NodeKind kind = NodeKind::kEmpty;
  const FieldState* field = nullptr;
  std::vector<uint64_t> views;
  uint64_t row = 0;
  std::vector<Node> kids;
  std::shared_ptr<const Bitmap> constant;
  BsiPredicate predicate;
};

// ------------------------------------------------------------------ values

absl::StatusOr<absl::Time> ParseTimeArg(const Call& c, std::string_view key,
                                        const pql::Value& v) {
  if (v.kind == PKind::kInt) return absl::FromUnixSeconds(v.i);
  if (v.kind != PKind::kTimestamp && v.kind != PKind::kString) {
    return CallError(c, fmt::format("{} must be a timestamp", key));
  }
  static constexpr const char* kFormats[] = {"%Y-%m-%dT%H:%M",
                                             "%Y-%m-%d%ET%H:%M:%E*S%Ez",
                                             "%Y-%m-%dT%H:%M%Ez",
                                             "%Y-%m-%dT%H",
                                             "%Y-%m-%d",
                                             "%Y-%m",
                                             "%Y"};
  for (const char* f : kFormats) {
    absl::Time t;
    std::string err;
    if (absl::ParseTime(f, v.s, absl::UTCTimeZone(), &t, &err)) return t;
  }
  return CallError(
      c,
      fmt::format("cannot parse {} time \"{}\" (want e.g. 2017-01-02T15:04 or "
                  "RFC3339)",
                  key, v.s));
}

// The row Value that a PQL literal names in `f`.
absl::StatusOr<Value> RowValue(const Call& c, const FieldState& f,
                               const pql::Value& v) {
  switch (v.kind) {
    case PKind::kBool:
      return Value::Bool(v.b);
    case PKind::kInt:
      if (v.i < 0) {
        return CallError(
            c, fmt::format("negative row {} for field \"{}\"", v.i, f.name));
      }
      return Value::Id(uint64_t(v.i));
    case PKind::kUint:
      return Value::Id(v.u);
    case PKind::kString:
      // Value::Key("") would be a null value: name the real mistake.
      if (v.s.empty())
        return CallError(c, fmt::format("empty key for field \"{}\"", f.name));
      return Value::Key(v.s);
    default:
      return CallError(
          c,
          fmt::format("field \"{}\" cannot take this value as a row", f.name));
  }
}

absl::StatusOr<uint64_t> UintArg(const Call& c, std::string_view key,
                                 uint64_t dflt) {
  const pql::Arg* a = c.Find(key);
  if (a == nullptr) return dflt;
  if (a->value.kind == PKind::kInt && a->value.i >= 0)
    return uint64_t(a->value.i);
  if (a->value.kind == PKind::kUint) return a->value.u;
  return CallError(c, fmt::format("{} must be a non-negative integer", key));
}

absl::StatusOr<std::optional<uint64_t>> OptUintArg(const Call& c,
                                                   std::string_view key) {
  if (c.Find(key) == nullptr) return std::optional<uint64_t>();
  FB_ASSIGN_OR_RETURN(uint64_t v, UintArg(c, key, 0));
  return std::optional<uint64_t>(v);
}

// The field named by `field=` or the first positional name (`_field`).
absl::StatusOr<std::string> FieldArg(const Call& c) {
  for (std::string_view key : {"_field", "field"}) {
    if (const pql::Arg* a = c.Find(key)) {
      if (a->value.kind != PKind::kString)
        return CallError(c, "field must be a name");
      return a->value.s;
    }
  }
  return CallError(c, "field required");
}

// ------------------------------------------------------------------ executor

class Executor {
 public:
  // `partial`: calls run as partial results (see partial.h) over `only`
  // (null: every shard); calls whose answer on some shards depends on other
  // shards are refused.
  Executor(Index& index, const QueryOptions& options, bool partial = false,
           const std::vector<uint64_t>* only = nullptr)
      : index_(index), partial_(partial) {
    pool_ = options.threads == 1 ? nullptr : &ThreadPool::Default();
    if (only != nullptr) only_.emplace(only->begin(), only->end());
  }

  absl::StatusOr<QueryResult> Run(const Call& c) {
    FB_RETURN_IF_ERROR(CheckCallArgs(c));
    FB_RETURN_IF_ERROR(Restrict(c));
    return Dispatch(Unwrap(c));
  }

  // `c` as a partial result.
  absl::StatusOr<Partial> RunPartial(const Call& c) {
    FB_RETURN_IF_ERROR(CheckCallArgs(c));
    FB_RETURN_IF_ERROR(Restrict(c));
    const Call& call = Unwrap(c);
    if (!IsPartialCall(call.name)) {
      return CallError(call,
                       "cannot run as a partial result (writes and "
                       "Percentile need the whole index)");
    }
    FB_ASSIGN_OR_RETURN(Partial p, Compute(call));
    p.call = internal::pql::Print(c);
    return p;
  }

  // The final result of `p`, whose call is `c`.
  absl::StatusOr<QueryResult> FinishPartial(const Call& c, Partial p) {
    Refresh();
    return Finish(Unwrap(c), std::move(p));
  }

 private:
  static bool IsPartialCall(std::string_view n) {
    return n != "Set" && n != "Clear" && n != "ClearRow" && n != "Store" &&
           n != "Delete" && n != "Percentile";
  }

  static const Call& Unwrap(const Call& c) {
    return c.name == "Options" && c.children.size() == 1 ? c.children[0] : c;
  }

  // A fresh snapshot; Options(shards=[...]) narrows the shards visited.
  absl::Status Restrict(const Call& c) {
    Refresh();
    if (c.name == "Options") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      if (const pql::Arg* a = c.Find("shards")) {
        if (a->value.kind != PKind::kList)
          return CallError(c, "shards must be a list");
        std::set<uint64_t> wanted;
        for (const auto& v : a->value.list) {
          if (v.kind != PKind::kInt && v.kind != PKind::kUint)
            return CallError(c, "shards must be integers");
          constexpr uint64_t kMaxShard = ShardOf(UINT64_MAX);
          if (v.kind == PKind::kInt && v.i < 0) {
            return CallError(c, fmt::format("shard {} out of range [0, {}]",
                                            v.i, kMaxShard));
          }
          const uint64_t shard = v.kind == PKind::kInt ? uint64_t(v.i) : v.u;
          if (shard > kMaxShard) {
            return CallError(c, fmt::format("shard {} out of range [0, {}]",
                                            shard, kMaxShard));
          }
          wanted.insert(shard);
        }
        std::erase_if(shards_, [&](uint64_t s) { return !wanted.count(s); });
        restricted_ = true;
      }
    }
    return absl::OkStatus();
  }

  // A fresh snapshot and its shard list (after writes).
  void Refresh() {
    snap_ = index_.GetSnapshot();
    st_ = &SnapshotAccess::State(*snap_);
    std::set<uint64_t> shards;
    auto add_view = [&](const View& v) {
      v.ForEach([&](uint64_t shard, const Fragment&) {
        shards.insert(shard);
        return true;
      });
    };
    add_view(st_->exists);
    for (const auto& [name, f] : st_->fields) {
      f->views.ForEach([&](uint64_t, const View& v) {
        add_view(v);
        return true;
      });
      f->bsi_shards.ForEach([&](uint64_t shard, const BsiShard&) {
        shards.insert(shard);
        return true;
      });
    }
    if (only_) {
      std::erase_if(shards, [&](uint64_t s) { return !only_->count(s); });
    }
    shards_.assign(shards.begin(), shards.end());
    restricted_ = only_.has_value();
  }

  bool Visits(uint64_t shard) const {
    return std::binary_search(shards_.begin(), shards_.end(), shard);
  }

  void ForShards(const std::function<void(size_t)>& fn) {
    if (pool_ == nullptr) {
      for (size_t i = 0; i < shards_.size(); ++i) fn(i);
    } else {
      pool_->ParallelFor(shards_.size(), fn);
    }
  }

  absl::StatusOr<const FieldState*> Field(const Call& c,
                                          std::string_view name) const {
    const FieldState* f = st_->FindField(name);
    if (f == nullptr) return FieldNotFound(fmt::format("{}()", c.name), name);
    return f;
  }

  // ---------------------------------------------------------------- planning

  absl::StatusOr<Node> PlanRow(const Call& c) {
    const std::string& n = c.name;
    if (partial_ && (n == "Shift" || n == "Limit" || n == "Distinct" ||
                     (n == "All" && (c.Find("limit") || c.Find("offset"))))) {
      // Their records on one shard depend on other shards.
      return CallError(c,
                       "cannot run inside another call of a partial "
                       "result (its records depend on other shards)");
    }
    if (n == "Row" || n == "Range") return PlanRowCall(c);
    if (n == "Union" || n == "Intersect" || n == "Difference" || n == "Xor") {
      if (n == "Intersect" && c.children.empty()) {
        return CallError(c, "empty Intersect query is currently not supported");
      }
      if (n == "Difference" && c.children.empty())
        return CallError(c, "requires at least one call");
      Node node;
      node.kind = n == "Union"       ? NodeKind::kUnion
                  : n == "Intersect" ? NodeKind::kIntersect
                  : n == "Xor"       ? NodeKind::kXor
                                     : NodeKind::kDifference;
      for (const Call& k : c.children) {
        FB_ASSIGN_OR_RETURN(Node kid, PlanRow(k));
        node.kids.push_back(std::move(kid));
      }
      if (!c.args.empty())
        return CallError(
            c, fmt::format("unexpected argument \"{}\"", c.args[0].key));
      return node;
    }
    if (n == "Not") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_RETURN_IF_ERROR(NeedExistence(c));
      Node node;
      node.kind = NodeKind::kNot;
      FB_ASSIGN_OR_RETURN(Node kid, PlanRow(c.children[0]));
      node.kids.push_back(std::move(kid));
      return node;
    }
    if (n == "All") {
      FB_RETURN_IF_ERROR(NeedExistence(c));
      Node node;
      node.kind = NodeKind::kAll;
      if (c.Find("limit") == nullptr && c.Find("offset") == nullptr)
        return node;
      FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
      FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
      return Const(EvalGlobal(node).Slice(offset, limit));
    }
    if (n == "Shift") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      const pql::Arg* a = c.Find("n");
      if (a != nullptr && a->value.kind == PKind::kInt && a->value.i < 0) {
        return CallError(c, "negative shift not supported");
      }
      FB_ASSIGN_OR_RETURN(uint64_t by, UintArg(c, "n", 0));
      FB_ASSIGN_OR_RETURN(Node kid, PlanRow(c.children[0]));
      return Const(EvalGlobal(kid).Shift(by));
    }
    if (n == "Limit") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
      FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
      FB_ASSIGN_OR_RETURN(Node kid, PlanRow(c.children[0]));
      return Const(EvalGlobal(kid).Slice(offset, limit));
    }
    if (n == "ConstRow") return PlanConstRow(c);
    if (n == "UnionRows") {
      Node node;
      node.kind = NodeKind::kUnion;
      for (const Call& k : c.children) {
        if (k.name != "Rows")
          return CallError(c, "arguments must be Rows calls");
        FB_ASSIGN_OR_RETURN(RowsPlan rp, PlanRows(k));
        FB_ASSIGN_OR_RETURN(std::vector<uint64_t> rows, RunRows(rp));
        for (uint64_t r : rows) {
          Node leaf;
          leaf.kind = NodeKind::kRow;
          leaf.field = rp.field;
          leaf.views = rp.views;
          leaf.row = r;
          node.kids.push_back(std::move(leaf));
        }
      }
      return node;
    }
    if (n == "Distinct") return PlanDistinct(c);
    return CallError(c, "is not a row call");
  }

  // A precomputed bitmap; its shards join the shards this query visits
  // (Shift can move records into shards that hold no data).
  Node Const(Bitmap b) {
    if (restricted_) {
      // Only the visited shards count (Options(shards=...), partials).
      std::vector<BitmapChunk> kept;
      for (const auto& c : BitmapAccess::Chunks(b)) {
        if (Visits(c.key)) kept.push_back({c.key, c.bits.Copy()});
      }
      b = BitmapAccess::FromChunks(std::move(kept));
    }
    std::vector<uint64_t> extra;
    for (const auto& c : BitmapAccess::Chunks(b)) {
      if (!std::binary_search(shards_.begin(), shards_.end(), c.key))
        extra.push_back(c.key);
    }
    if (!extra.empty()) {
      shards_.insert(shards_.end(), extra.begin(), extra.end());
      std::sort(shards_.begin(), shards_.end());
    }
    Node node;
    node.kind = NodeKind::kConst;
    node.constant = std::make_shared<const Bitmap>(std::move(b));
    return node;
  }

  absl::Status NeedExistence(const Call& c) const {
    if (!st_->options.track_existence) {
      return absl::FailedPreconditionError(fmt::format(
          "{}(): index does not support existence tracking", c.name));
    }
    return absl::OkStatus();
  }

  absl::StatusOr<Node> PlanRowCall(const Call& c) {
    if (!c.children.empty()) return CallError(c, "takes no child calls");
    const pql::Arg* field_arg = nullptr;
    TimeRange range;
    for (const pql::Arg& a : c.args) {
      if (a.key == "from" || a.key == "to") {
        FB_ASSIGN_OR_RETURN(absl::Time t, ParseTimeArg(c, a.key, a.value));
        (a.key == "from" ? range.from : range.to) = t;
      } else if (a.key.starts_with("_")) {
        return CallError(c, fmt::format("unexpected argument \"{}\"", a.key));
      } else if (field_arg != nullptr) {
        return CallError(
            c, fmt::format("expects exactly one field argument, got \"{}\" "
                           "and \"{}\" (from and to are the time range)",
                           field_arg->key, a.key));
      } else {
        field_arg = &a;
      }
    }
    if (field_arg == nullptr) return CallError(c, "field argument required");
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, field_arg->key));
    const pql::Value& v = field_arg->value;
    if (v.kind == PKind::kCondition || v.kind == PKind::kNull) {
      return PlanCondition(c, *f, v, range);
    }
    if (IsBsi(f->options.type)) {
      // Row(f=5) on a value field is Row(f == 5), as in FeatureBase.
      pql::Value eq;
      eq.kind = PKind::kCondition;
      eq.pos = v.pos;
      eq.cond = std::make_shared<pql::Condition>();
      eq.cond->op = pql::Op::kEq;
      eq.cond->value = v;
      return PlanCondition(c, *f, eq, range);
    }
    FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, v));
    FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                        ResolveRow(*f, row, c.name + "()"));
    FB_ASSIGN_OR_RETURN(std::vector<uint64_t> views,
                        ReadViews(*f, range, c.name + "()"));
    Node node;
    if (!id) return node;  // unknown key: empty
    node.kind = NodeKind::kRow;
    node.field = f;
    node.views = std::move(views);
    node.row = *id;
    return node;
  }

  // f == null, f != null (any field); comparisons on value fields.
  absl::StatusOr<Node> PlanCondition(const Call& c, const FieldState& f,
                                     const pql::Value& v,
                                     const TimeRange& range) {
    const bool is_null =
        v.kind == PKind::kNull ||
        (v.kind == PKind::kCondition && v.cond->value.kind == PKind::kNull &&
         (v.cond->op == pql::Op::kEq || v.cond->op == pql::Op::kNeq));
    if (is_null) {
      if (!range.empty())
        return CallError(c, "a time range is not allowed with null");
      const bool eq = v.kind == PKind::kNull || v.cond->op == pql::Op::kEq;
      if (!f.tracks_existence() && !f.bsi) {
        return CallError(
            c, fmt::format("field \"{}\" does not track existence", f.name));
      }
      Node exist;
      exist.kind = NodeKind::kExistence;
      exist.field = &f;
      if (!eq) return exist;
      FB_RETURN_IF_ERROR(NeedExistence(c));
      Node all;
      all.kind = NodeKind::kAll;
      Node diff;
      diff.kind = NodeKind::kDifference;
      diff.kids.push_back(std::move(all));
      diff.kids.push_back(std::move(exist));
      return diff;
    }
    if (!IsBsi(f.options.type)) {
      if (v.cond->op == pql::Op::kNeq)
        return CallError(c, "only support != for null");
      if (v.cond->op == pql::Op::kEq) {
        // f == 3 on a set field is f=3.
        Call same = c;
        for (auto& a : same.args) {
          if (a.key == f.name) a.value = v.cond->value;
        }
        return PlanRowCall(same);
      }
      return CallError(
          c, fmt::format("field \"{}\" ({}) does not support range comparisons",
                         f.name, FieldTypeName(f.options.type)));
    }
    return PlanBsiCondition(c, f, *v.cond, range);
  }

  absl::StatusOr<Node> PlanConstRow(const Call& c) {
    const pql::Arg* a = c.Find("columns");
    if (a == nullptr || a->value.kind != PKind::kList) {
      return CallError(c, "columns must be a list");
    }
    std::vector<uint64_t> ids;
    for (const auto& v : a->value.list) {
      if (v.kind == PKind::kString) {
        if (!st_->column_keys)
          return CallError(c, "string columns need a keyed index");
        FB_ASSIGN_OR_RETURN(uint64_t id, st_->column_keys->FindKey(v.s));
        if (id != 0) ids.push_back(id);
      } else if (v.kind == PKind::kInt && v.i >= 0) {
        ids.push_back(uint64_t(v.i));
      } else if (v.kind == PKind::kUint) {
        ids.push_back(v.u);
      } else {
        return CallError(c, "columns must be non-negative integers or keys");
      }
    }
    Bitmap b = Bitmap::FromValues(ids);
    if (st_->options.track_existence) {
      Node all;
      all.kind = NodeKind::kAll;
      b &= EvalGlobal(all);
    }
    return Const(std::move(b));
  }

  absl::StatusOr<Node> PlanDistinct(const Call& c) {
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    if (f->bsi) {
      return CallError(
          c, fmt::format("the distinct values of {} field \"{}\" are not "
                         "records: use Distinct at the top level or in Count",
                         FieldTypeName(f->options.type), name));
    }
    FB_ASSIGN_OR_RETURN(Bitmap rows, DistinctRows(c, *f));
    return Const(std::move(rows));
  }

  // The rows of set-like field `f` (standard view) holding any record of
  // the optional filter child of `c`.
  absl::StatusOr<Bitmap> DistinctRows(const Call& c, const FieldState& f) {
    std::optional<Bitmap> filter;
    if (c.children.size() > 1) return CallError(c, "expects at most one call");
    if (c.children.size() == 1) {
      FB_ASSIGN_OR_RETURN(Node kid, PlanRow(c.children[0]));
      filter = EvalGlobal(kid);
    }
    Bitmap rows;
    const View* view = f.views.Find(kStandardView);
    if (view != nullptr) {
      view->ForEach([&](uint64_t shard, const Fragment& frag) {
        if (restricted_ && !Visits(shard)) return true;
        const Roaring32* fb =
            filter ? BitmapAccess::Shard(*filter, shard) : nullptr;
        if (filter && fb == nullptr) return true;
        frag.rows().ForEach([&](uint64_t row, const internal::RowData& r) {
          if (fb == nullptr || r.Intersects(*fb)) rows.Add(row);
          return true;
        });
        return true;
      });
    }
    return rows;
  }

  // ---------------------------------------------------------------- evaluation

  Bits Eval(const Node& n, uint64_t shard) const {
    Bits out;
    switch (n.kind) {
      case NodeKind::kEmpty:
        return out;
      case NodeKind::kRow: {
        std::vector<const internal::RowData*> parts;
        for (uint64_t vk : n.views) {
          const Fragment* frag = n.field->FindFragment(vk, shard);
          if (frag == nullptr) continue;
          if (const internal::RowData* r = frag->Row(n.row)) parts.push_back(r);
        }
        if (parts.size() == 1) return Bits::Of(*parts[0]);
        if (parts.size() > 1) out.own = internal::RowData::Union(parts);
        return out;
      }
      case NodeKind::kAll: {
        const Fragment* frag = st_->exists.Find(shard);
        if (frag != nullptr) {
          if (const internal::RowData* r = frag->Row(0)) return Bits::Of(*r);
        }
        return out;
      }
      case NodeKind::kExistence: {
        if (n.field->bsi) {
          if (const BsiShard* bs = n.field->bsi_shards.Find(shard)) {
            out.ref = &bs->Exists();
          }
          return out;
        }
        const Fragment* frag = n.field->FindFragment(kExistenceView, shard);
        if (frag != nullptr) {
          if (const internal::RowData* r = frag->Row(0)) return Bits::Of(*r);
        }
        return out;
      }
      case NodeKind::kConst: {
        if (const Roaring32* r = BitmapAccess::Shard(*n.constant, shard))
          out.ref = r;
        return out;
      }
      case NodeKind::kBsi: {
        if (const BsiShard* bs = n.field->bsi_shards.Find(shard)) {
          out.own = EvaluatePredicate(*bs, n.predicate, nullptr);
        }
        return out;
      }
      case NodeKind::kUnion: {
        std::vector<Bits> kids;
        std::vector<const Roaring32*> ptrs;
        kids.reserve(n.kids.size());
        for (const Node& k : n.kids) kids.push_back(Eval(k, shard));
        for (const Bits& b : kids) {
          if (!b.get().IsEmpty()) ptrs.push_back(&b.get());
        }
        if (ptrs.size() == 1 && !kids.empty()) {
          for (Bits& b : kids) {
            if (&b.get() == ptrs[0]) return std::move(b);
          }
        }
        if (!ptrs.empty()) out.own = Roaring32::OrMany(ptrs);
        return out;
      }
      case NodeKind::kIntersect:
      case NodeKind::kDifference:
      case NodeKind::kXor: {
        if (n.kids.empty()) return out;
        Bits first = Eval(n.kids[0], shard);
        if (n.kids.size() == 1) return first;
        Roaring32 acc = first.Take();
        for (size_t i = 1; i < n.kids.size(); ++i) {
          if (acc.IsEmpty() && n.kind != NodeKind::kXor) break;
          Bits k = Eval(n.kids[i], shard);
          if (n.kind == NodeKind::kIntersect) acc.AndInPlace(k.get());
          if (n.kind == NodeKind::kDifference) acc.AndNotInPlace(k.get());
          if (n.kind == NodeKind::kXor) acc.XorInPlace(k.get());
        }
        out.own = std::move(acc);
        return out;
      }
      case NodeKind::kNot: {
        Node all;
        all.kind = NodeKind::kAll;
        Bits a = Eval(all, shard);
        Bits k = Eval(n.kids[0], shard);
        out.own = Roaring32::AndNot(a.get(), k.get());
        return out;
      }
    }
    return out;
  }

  // Count without materializing where the shape allows a fused count.
  uint64_t CountShard(const Node& n, uint64_t shard) const {
    if (n.kids.size() == 2 &&
        (n.kind == NodeKind::kIntersect || n.kind == NodeKind::kUnion ||
         n.kind == NodeKind::kDifference || n.kind == NodeKind::kXor)) {
      Bits a = Eval(n.kids[0], shard);
      Bits b = Eval(n.kids[1], shard);
      switch (n.kind) {
        case NodeKind::kIntersect:
          return Roaring32::AndCardinality(a.get(), b.get());
        case NodeKind::kUnion:
          return Roaring32::OrCardinality(a.get(), b.get());
        case NodeKind::kDifference:
          return Roaring32::AndNotCardinality(a.get(), b.get());
        default:
          return Roaring32::XorCardinality(a.get(), b.get());
      }
    }
    if (n.kind == NodeKind::kNot) {
      Node all;
      all.kind = NodeKind::kAll;
      return Roaring32::AndNotCardinality(Eval(all, shard).get(),
                                          Eval(n.kids[0], shard).get());
    }
    if (n.kind == NodeKind::kBsi) {
      const BsiShard* bs = n.field->bsi_shards.Find(shard);
      return bs == nullptr ? 0 : CountPredicate(*bs, n.predicate, nullptr);
    }
    return Eval(n, shard).get().Cardinality();
  }

  Bitmap EvalGlobal(const Node& n) {
    std::vector<BitmapChunk> chunks(shards_.size());
    ForShards([&](size_t i) {
      Bits b = Eval(n, shards_[i]);
      chunks[i] = {shards_[i], b.Take()};
    });
    return BitmapAccess::FromChunks(std::move(chunks));
  }

  uint64_t CountGlobal(const Node& n) {
    std::vector<uint64_t> counts(shards_.size());
    ForShards([&](size_t i) { counts[i] = CountShard(n, shards_[i]); });
    uint64_t total = 0;
    for (uint64_t c : counts) total += c;
    return total;
  }

  // ---------------------------------------------------------------- output

  std::string ColumnsJson(const Bitmap& b) const {
    std::string out;
    if (st_->column_keys) {
      out = "{\"keys\":[";
      std::vector<std::string> keys;
      const std::vector<uint64_t> ids = b.ToVector();
      bool first = true;
      for (uint64_t id : ids) {
        auto key = st_->column_keys->TranslateId(id);
        if (!key.ok()) continue;  // freed by a concurrent Delete
        if (!first) out += ',';
        first = false;
        AppendJsonString(&out, *key);
      }
      out += "]}";
      return out;
    }
    out = "{\"columns\":[";
    bool first = true;
    b.ForEach([&](uint64_t v) {
      if (!first) out += ',';
      first = false;
      fmt::format_to(std::back_inserter(out), "{}", v);
    });
    out += "]}";
    return out;
  }

  // `"id":N` or `"key":"k"` for a row of field f.
  std::string RowIdJson(const FieldState& f, uint64_t row,
                        std::string_view id_name = "id",
                        std::string_view key_name = "key") const {
    std::string out;
    if (f.row_keys) {
      auto key = f.row_keys->TranslateId(row);
      out = fmt::format("\"{}\":", key_name);
      AppendJsonString(&out, key.ok() ? *key : std::string());
      return out;
    }
    return fmt::format("\"{}\":{}", id_name, row);
  }

  // ---------------------------------------------------------------- calls

  absl::StatusOr<QueryResult> Dispatch(const Call& c) {
    const std::string& n = c.name;
    if (n == "Set" || n == "Clear") return SetClear(c);
    if (n == "ClearRow") return ClearRow(c);
    if (n == "Store") return Store(c);
    if (n == "Delete") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
      FB_ASSIGN_OR_RETURN(bool changed, index_.Delete(EvalGlobal(node)));
      return QueryResult::Number(QueryResult::Kind::kBool, changed,
                                 changed ? "true" : "false");
    }
    if (n == "Percentile") return Percentile(c);
    // Every read: computed as a partial over the visited shards, finished.
    FB_ASSIGN_OR_RETURN(Partial p, Compute(c));
    return Finish(c, std::move(p));
  }

  static uint64_t SatAdd(uint64_t a, uint64_t b) {
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
  }

  // The partial result of read call `c` over shards_.
  absl::StatusOr<Partial> Compute(const Call& c) {
    const std::string& n = c.name;
    Partial p;
    if (n == "Count") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      if (c.children[0].name == "Distinct")
        return ComputeDistinct(c.children[0]);
      FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
      p.kind = Partial::Kind::kCount;
      p.n = CountGlobal(node);
      return p;
    }
    if (n == "IncludesColumn") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column"));
      FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
      p.kind = Partial::Kind::kBool;
      if (!restricted_ || Visits(ShardOf(col))) {
        p.n = Eval(node, ShardOf(col)).get().Contains(OffsetInShard(col));
      }
      return p;
    }
    if (n == "TopN" || n == "TopK") return TopN(c);
    if (n == "Rows") {
      FB_ASSIGN_OR_RETURN(RowsPlan rp, PlanRows(c));
      FB_ASSIGN_OR_RETURN(p.ids, RunRows(rp));
      p.kind = Partial::Kind::kRowIds;
      p.cap = rp.limit;
      return p;
    }
    if (n == "MinRow" || n == "MaxRow") return MinMaxRow(c);
    if (n == "GroupBy") return GroupBy(c);
    if (n == "Extract") return Extract(c);
    if (n == "Sum" || n == "Min" || n == "Max") return SumMinMax(c);
    if (n == "FieldValue") return FieldValueCall(c);
    if (n == "Sort") return Sort(c);
    if (n == "Distinct") return ComputeDistinct(c);
    if (n == "Set" || n == "Clear" || n == "ClearRow" || n == "Store" ||
        n == "Delete" || n == "Percentile") {
      return CallError(c, "cannot run as a partial result");
    }
    p.kind = Partial::Kind::kRow;
    // Top-level Limit and All(limit=, offset=): every part keeps its first
    // offset + limit records; Finish slices.
    const bool sliced =
        n == "Limit" || (n == "All" && (c.Find("limit") || c.Find("offset")));
    if (sliced) {
      if (n == "Limit" && c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
      FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
      Node node;
      if (n == "All") {
        FB_RETURN_IF_ERROR(NeedExistence(c));
        node.kind = NodeKind::kAll;
      } else {
        FB_ASSIGN_OR_RETURN(node, PlanRow(c.children[0]));
      }
      p.row = EvalGlobal(node);
      p.cap = limit == UINT64_MAX ? 0 : SatAdd(offset, limit);
      if (p.cap == UINT64_MAX) p.cap = 0;
      if (limit == 0) p.cap = 0, p.row = Bitmap();
      CapPartial(&p);
      return p;
    }
    FB_ASSIGN_OR_RETURN(Node node, PlanRow(c));
    p.row = EvalGlobal(node);
    return p;
  }

  // Distinct(rc?, field=f): rows of a set field (kRow) or raw values of a
  // value field (kValues) among the filtered records.
  absl::StatusOr<Partial> ComputeDistinct(const Call& c) {
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    if (f->bsi) return DistinctValues(c, *f);
    FB_ASSIGN_OR_RETURN(Bitmap rows, DistinctRows(c, *f));
    Partial p;
    p.kind = Partial::Kind::kRow;
    p.row = std::move(rows);
    return p;
  }

  static QueryResult Bool(bool b) {
    return QueryResult::Number(QueryResult::Kind::kBool, b,
                               b ? "true" : "false");
  }

  // The final result of read call `c` from its (merged) partial.
  absl::StatusOr<QueryResult> Finish(const Call& c, Partial p) {
    using K = Partial::Kind;
    const std::string& n = c.name;
    switch (p.kind) {
      case K::kRow: {
        if (n == "Count") {
          const uint64_t count = p.row.Cardinality();
          return QueryResult::Number(QueryResult::Kind::kCount, count,
                                     fmt::format("{}", count));
        }
        if (n == "Distinct") {
          FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
          FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
          std::string json = RowListJson(*f, p.row.ToVector(), "columns");
          return QueryResult::Row(std::move(p.row), std::move(json));
        }
        if (n == "Limit" || n == "All") {
          FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
          FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
          p.row = p.row.Slice(offset, limit);
        }
        std::string json = ColumnsJson(p.row);
        return QueryResult::Row(std::move(p.row), std::move(json));
      }
      case K::kCount:
        return QueryResult::Number(QueryResult::Kind::kCount, p.n,
                                   fmt::format("{}", p.n));
      case K::kBool:
        return Bool(p.n != 0);
      case K::kSum:
      case K::kMin:
      case K::kMax:
      case K::kFieldValue: {
        FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
        if (p.kind == K::kSum)
          return ValCount(f->bsi->FormatSum(p.sum), p.count);
        if (!p.has) return ValCount("0", 0);
        return ValCount(ValueJson(*f, p.value),
                        p.kind == K::kFieldValue ? 1 : p.count);
      }
      case K::kPairs:
        return FinishTopN(c, std::move(p));
      case K::kRowIds: {
        FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
        FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
        return QueryResult(QueryResult::Kind::kRowIds,
                           RowListJson(*f, p.ids, "rows"));
      }
      case K::kGroups:
        return FinishGroupBy(c, std::move(p));
      case K::kSorted:
        return FinishSort(c, std::move(p));
      case K::kTable:
        return FinishExtract(c, std::move(p));
      case K::kMinRow:
      case K::kMaxRow: {
        FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
        FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
        const uint64_t row = p.has ? p.id : 0, count = p.has ? p.count : 0;
        std::string json =
            "{" + RowIdJson(*f, row) + fmt::format(",\"count\":{}}}", count);
        return QueryResult(QueryResult::Kind::kRowPair, std::move(json));
      }
      case K::kValues: {
        if (n == "Count") {
          const uint64_t count = p.values.size();
          return QueryResult::Number(QueryResult::Kind::kCount, count,
                                     fmt::format("{}", count));
        }
        FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
        return QueryResult(QueryResult::Kind::kRowIds,
                           DistinctValuesJson(*f, p.values));
      }
    }
    return absl::InternalError("finish: unknown partial kind");
  }

  // {"rows":[ids]} / {"columns":[ids]}, or {"keys":[...]} for a keyed field.
  std::string RowListJson(const FieldState& f,
                          const std::vector<uint64_t>& rows,
                          std::string_view ids_name) const {
    std::string out =
        f.row_keys ? "{\"keys\":[" : fmt::format("{{\"{}\":[", ids_name);
    for (size_t i = 0; i < rows.size(); ++i) {
      if (i) out += ',';
      if (f.row_keys) {
        auto key = f.row_keys->TranslateId(rows[i]);
        AppendJsonString(&out, key.ok() ? *key : std::string());
      } else {
        fmt::format_to(std::back_inserter(out), "{}", rows[i]);
      }
    }
    out += "]}";
    return out;
  }

  // FeatureBase's Distinct shapes for value fields: int and decimal give a
  // SignedRow {"neg":{"columns":[|v| of negative values]},"pos":{"columns":
  // [non-negative values]}} of raw values (decimals unscaled), ascending;
  // timestamp fields give DistinctTimestamp {"Values":[RFC3339 ...],
  // "Name":"f"} (FeatureBase leaves the order to a Go map; ours ascends).
  static std::string DistinctValuesJson(const FieldState& f,
                                        const std::vector<int64_t>& values) {
    std::string out;
    if (f.options.type == FieldType::kTimestamp) {
      out = "{\"Values\":[";
      for (size_t i = 0; i < values.size(); ++i) {
        if (i) out += ',';
        AppendJsonString(&out, f.bsi->FormatValue(values[i]));
      }
      out += "],\"Name\":";
      AppendJsonString(&out, f.name);
      out += "}";
      return out;
    }
    out = "{\"neg\":{\"columns\":[";
    bool first = true;
    // Negative values descending by value are ascending by magnitude.
    for (auto it = values.rbegin(); it != values.rend(); ++it) {
      if (*it >= 0) continue;
      if (!first) out += ',';
      first = false;
      fmt::format_to(std::back_inserter(out), "{}",
                     static_cast<uint64_t>(0) - static_cast<uint64_t>(*it));
    }
    out += "]},\"pos\":{\"columns\":[";
    first = true;
    for (int64_t v : values) {
      if (v < 0) continue;
      if (!first) out += ',';
      first = false;
      fmt::format_to(std::back_inserter(out), "{}", v);
    }
    out += "]}}";
    return out;
  }

  // A record argument: an id, or a key on keyed indexes (created if `create`).
  absl::StatusOr<uint64_t> ColumnArg(const Call& c, std::string_view key,
                                     bool create = false) {
    const pql::Arg* a = c.Find(key);
    if (a == nullptr)
      return CallError(
          c, fmt::format("{} required", key == "_col" ? "column" : key));
    const pql::Value& v = a->value;
    if (v.kind == PKind::kString) {
      if (!st_->column_keys) {
        return CallError(
            c, fmt::format("string column \"{}\" needs a keyed index", v.s));
      }
      if (create) return index_.ColumnId(v.s);
      FB_ASSIGN_OR_RETURN(uint64_t id, st_->column_keys->FindKey(v.s));
      if (id == 0)
        return CallError(c, fmt::format("column key \"{}\" not found", v.s));
      return id;
    }
    if (st_->column_keys)
      return CallError(c, "a keyed index takes string columns");
    if (v.kind == PKind::kInt && v.i >= 0) return uint64_t(v.i);
    if (v.kind == PKind::kUint) return v.u;
    return CallError(c, "column must be a non-negative integer");
  }

  // The one `field=row` argument of Set/Clear/ClearRow/Store.
  absl::StatusOr<std::pair<const FieldState*, const pql::Arg*>> FieldRowArg(
      const Call& c) {
    const pql::Arg* found = nullptr;
    for (const pql::Arg& a : c.args) {
      if (a.key.starts_with("_")) continue;
      if (found != nullptr) {
        return CallError(
            c, fmt::format("expects exactly one field argument, got \"{}\" "
                           "and \"{}\"",
                           found->key, a.key));
      }
      found = &a;
    }
    if (found == nullptr) return CallError(c, "field argument required");
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, found->key));
    return std::make_pair(f, found);
  }

  absl::StatusOr<QueryResult> SetClear(const Call& c) {
    if (!c.children.empty()) return CallError(c, "takes no child calls");
    FB_ASSIGN_OR_RETURN(auto fr, FieldRowArg(c));
    const auto [f, arg] = fr;
    const bool set = c.name == "Set";
    FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "_col", set));
    std::optional<absl::Time> ts;
    if (const pql::Arg* t = c.Find("_timestamp")) {
      if (!set) return CallError(c, "takes no timestamp");
      FB_ASSIGN_OR_RETURN(ts, ParseTimeArg(c, "timestamp", t->value));
    }
    if (f->bsi) return SetClearValue(c, *f, col, arg->value, ts);
    FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, arg->value));
    absl::StatusOr<bool> changed = set ? index_.Set(col, f->name, row, ts)
                                       : index_.Clear(col, f->name, row);
    if (!changed.ok()) return changed.status();
    return QueryResult::Number(QueryResult::Kind::kBool, *changed,
                               *changed ? "true" : "false");
  }

  // Set or Clear of value field `f` (int, decimal, timestamp) at `col`.
  // Clear clears whatever value is stored, as FeatureBase does; its literal
  // must still be one the field compares with.
  absl::StatusOr<QueryResult> SetClearValue(const Call& c, const FieldState& f,
                                            uint64_t col, const pql::Value& v,
                                            std::optional<absl::Time> ts) {
    FB_ASSIGN_OR_RETURN(const PredicateRaw p, PredicateValue(c, f, v));
    const BsiFieldSpec& spec = *f.bsi;
    absl::StatusOr<bool> changed;
    if (c.name == "Set") {
      if (!p.exact) {
        return absl::InvalidArgumentError(fmt::format(
            "set: {} has more than {} decimal places for field \"{}\"",
            LiteralText(v), spec.scale(), f.name));
      }
      // The index checks min and max; this only keeps the value in int64.
      if (p.raw < spec.min() || p.raw > spec.max()) {
        return absl::OutOfRangeError(
            fmt::format("set: value {} out of range [{}, {}] for field \"{}\"",
                        LiteralText(v), spec.FormatValue(spec.min()),
                        spec.FormatValue(spec.max()), f.name));
      }
      const int64_t raw = int64_t(p.raw);
      Value value = f.options.type == FieldType::kDecimal
                        ? Value::Decimal(raw, spec.scale())
                    : f.options.type == FieldType::kInt
                        ? Value::Int(raw)
                        : Value::Int(int64_t(__int128(raw) - spec.base()));
      changed = index_.Set(col, f.name, value, ts);
    } else {
      changed = index_.Clear(col, f.name, Value::Null());
    }
    if (!changed.ok()) return changed.status();
    return QueryResult::Number(QueryResult::Kind::kBool, *changed,
                               *changed ? "true" : "false");
  }

  // A literal as the query wrote it, for messages.
  static std::string LiteralText(const pql::Value& v) {
    switch (v.kind) {
      case PKind::kInt:
        return fmt::format("{}", v.i);
      case PKind::kUint:
        return fmt::format("{}", v.u);
      case PKind::kDecimal: {
        const bool neg = v.d.unscaled < 0;
        const unsigned __int128 mag =
            neg ? -(unsigned __int128)(v.d.unscaled) : v.d.unscaled;
        std::string digits = fmt::format("{}", uint64_t(mag));
        if (v.d.scale > 0) {
          if (digits.size() <= size_t(v.d.scale))
            digits.insert(0, size_t(v.d.scale) + 1 - digits.size(), '0');
          digits.insert(digits.size() - size_t(v.d.scale), ".");
        }
        return neg ? "-" + digits : digits;
      }
      case PKind::kString:
      case PKind::kTimestamp:
        return fmt::format("\"{}\"", v.s);
      default:
        return "this value";
    }
  }

  absl::StatusOr<QueryResult> ClearRow(const Call& c) {
    FB_ASSIGN_OR_RETURN(auto fr, FieldRowArg(c));
    const auto [f, arg] = fr;
    if (IsBsi(f->options.type))
      return CallError(c, "cannot clear a row of a value field");
    FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, arg->value));
    FB_ASSIGN_OR_RETURN(bool changed, index_.ClearRow(f->name, row));
    return QueryResult::Number(QueryResult::Kind::kBool, changed,
                               changed ? "true" : "false");
  }

  absl::StatusOr<QueryResult> Store(const Call& c) {
    if (c.children.size() != 1) return CallError(c, "expects exactly one call");
    const pql::Arg* found = nullptr;
    for (const pql::Arg& a : c.args) {
      if (!a.key.starts_with("_")) found = &a;
    }
    if (found == nullptr) return CallError(c, "field argument required");
    FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
    Bitmap cols = EvalGlobal(node);
    if (st_->FindField(found->key) == nullptr) {
      // FeatureBase creates the destination as a set field.
      FieldOptions o = FieldOptions::Set();
      o.keys = found->value.kind == PKind::kString;
      FB_RETURN_IF_ERROR(index_.CreateField(found->key, o));
      Refresh();
    }
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, found->key));
    FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, found->value));
    FB_RETURN_IF_ERROR(index_.Store(f->name, row, cols));
    return QueryResult::Number(QueryResult::Kind::kBool, 1, "true");
  }

  // ---- Rows

  struct RowsPlan {
    const FieldState* field = nullptr;
    std::vector<uint64_t> views;
    std::optional<uint64_t> previous;
    uint64_t limit = 0;
    std::optional<uint64_t> column;
    std::optional<std::string> like;
    std::optional<std::set<uint64_t>> in;
  };

  absl::StatusOr<RowsPlan> PlanRows(const Call& c) {
    RowsPlan p;
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(p.field, Field(c, name));
    if (IsBsi(p.field->options.type)) {
      return CallError(c, fmt::format("field \"{}\" is a {} field", name,
                                      FieldTypeName(p.field->options.type)));
    }
    TimeRange range;
    for (std::string_view key : {"from", "to"}) {
      if (const pql::Arg* a = c.Find(key)) {
        FB_ASSIGN_OR_RETURN(absl::Time t, ParseTimeArg(c, key, a->value));
        (key == "from" ? range.from : range.to) = t;
      }
    }
    FB_ASSIGN_OR_RETURN(p.views, ReadViews(*p.field, range, "Rows()"));
    if (const pql::Arg* a = c.Find("previous")) {
      if (a->value.kind == PKind::kString) {
        if (!p.field->row_keys)
          return CallError(c, "previous must be a row id");
        FB_ASSIGN_OR_RETURN(uint64_t id,
                            p.field->row_keys->FindKey(a->value.s));
        p.previous = id;
      } else {
        FB_ASSIGN_OR_RETURN(p.previous, OptUintArg(c, "previous"));
      }
    }
    FB_ASSIGN_OR_RETURN(p.limit, UintArg(c, "limit", 0));
    if (c.Find("column") != nullptr) {
      FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column"));
      p.column = col;
    }
    if (const pql::Arg* a = c.Find("like")) {
      if (a->value.kind != PKind::kString)
        return CallError(c, "like must be a string");
      if (!p.field->row_keys) return CallError(c, "like needs a keyed field");
      p.like = a->value.s;
    }
    if (const pql::Arg* a = c.Find("in")) {
      if (a->value.kind != PKind::kList)
        return CallError(c, "in must be a list");
      p.in.emplace();
      for (const auto& v : a->value.list) {
        FB_ASSIGN_OR_RETURN(Value rv, RowValue(c, *p.field, v));
        FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                            ResolveRow(*p.field, rv, "Rows()"));
        if (id) p.in->insert(*id);
      }
    }
    return p;
  }

  // SQL LIKE with % and _ (no escapes), iterative with backtracking on %.
  static bool Like(std::string_view s, std::string_view pat) {
    size_t si = 0, pi = 0, star = std::string_view::npos, mark = 0;
    while (si < s.size()) {
      if (pi < pat.size() && (pat[pi] == '_' || pat[pi] == s[si])) {
        ++si;
        ++pi;
      } else if (pi < pat.size() && pat[pi] == '%') {
        star = pi++;
        mark = si;
      } else if (star != std::string_view::npos) {
        pi = star + 1;
        si = ++mark;
      } else {
        return false;
      }
    }
    while (pi < pat.size() && pat[pi] == '%') ++pi;
    return pi == pat.size();
  }

  // ScanRows over the visited shards only.
  std::vector<uint64_t> ScanVisitedRows(const RowsPlan& p) const {
    if (p.previous && *p.previous == UINT64_MAX) return {};
    const uint64_t from = p.previous ? *p.previous + 1 : 0;
    std::vector<uint64_t> out;
    for (uint64_t vk : p.views) {
      for (uint64_t shard : shards_) {
        if (p.column && ShardOf(*p.column) != shard) continue;
        const Fragment* frag = p.field->FindFragment(vk, shard);
        if (frag == nullptr) continue;
        frag->rows().ForEachFrom(
            from, [&](uint64_t row, const internal::RowData& r) {
              if (!p.column || r.Contains(OffsetInShard(*p.column)))
                out.push_back(row);
              return true;
            });
      }
    }
    std::sort(out.begin(), out.end());
    out.erase(std::unique(out.begin(), out.end()), out.end());
    return out;
  }

  absl::StatusOr<std::vector<uint64_t>> RunRows(const RowsPlan& p) {
    const std::vector<uint64_t> rows =
        restricted_ ? ScanVisitedRows(p)
                    : ScanRows(*p.field, p.views, p.previous, p.column);
    std::vector<uint64_t> out;
    for (uint64_t r : rows) {
      if (p.in && !p.in->count(r)) continue;
      if (p.like) {
        auto key = p.field->row_keys->TranslateId(r);
        if (!key.ok() || !Like(*key, *p.like)) continue;
      }
      out.push_back(r);
      if (p.limit > 0 && out.size() >= p.limit) break;
    }
    return out;
  }

  // ---- TopN / TopK

  absl::StatusOr<Partial> TopN(const Call& c) {
    const bool topk = c.name == "TopK";
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    if (IsBsi(f->options.type)) {
      return CallError(c, fmt::format("field \"{}\" is a {} field", name,
                                      FieldTypeName(f->options.type)));
    }
    FB_RETURN_IF_ERROR(UintArg(c, topk ? "k" : "n", 0).status());
    FB_RETURN_IF_ERROR(UintArg(c, "threshold", 1).status());
    FB_ASSIGN_OR_RETURN(uint64_t tanimoto, UintArg(c, "tanimotoThreshold", 0));
    if (tanimoto > 100)
      return CallError(c, "Tanimoto Threshold is from 1 to 100 only");
    std::optional<Node> filter;
    if (c.children.size() > 1) return CallError(c, "expects at most one call");
    if (c.children.size() == 1) {
      FB_ASSIGN_OR_RETURN(filter, PlanRow(c.children[0]));
    }
    if (const pql::Arg* a = c.Find("filter")) {
      if (a->value.kind != PKind::kCall)
        return CallError(c, "filter must be a call");
      FB_ASSIGN_OR_RETURN(filter, PlanRow(*a->value.call));
    }
    // Tanimoto needs each row's size and the filter's (FeatureBase ignores
    // tanimotoThreshold without a filter).
    const bool sizes = !topk && tanimoto > 0 && filter.has_value();
    TimeRange range;
    for (std::string_view key : {"from", "to"}) {
      if (const pql::Arg* a = c.Find(key)) {
        FB_ASSIGN_OR_RETURN(absl::Time t, ParseTimeArg(c, key, a->value));
        (key == "from" ? range.from : range.to) = t;
      }
    }
    FB_ASSIGN_OR_RETURN(std::vector<uint64_t> views,
                        ReadViews(*f, range, c.name + "()"));
    if (range.empty() && !f->has_standard_view()) views = CoarsestTimeViews(*f);
    std::optional<std::set<uint64_t>> ids;
    if (const pql::Arg* a = c.Find("ids")) {
      if (a->value.kind != PKind::kList)
        return CallError(c, "ids must be a list");
      ids.emplace();
      for (const auto& v : a->value.list) {
        FB_ASSIGN_OR_RETURN(Value rv, RowValue(c, *f, v));
        FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                            ResolveRow(*f, rv, c.name + "()"));
        if (id) ids->insert(*id);
      }
    }
    // Per shard exact counts (and sizes), merged.
    struct CountSize {
      uint64_t count = 0, size = 0;
    };
    std::vector<absl::flat_hash_map<uint64_t, CountSize>> per(shards_.size());
    std::vector<uint64_t> filter_sizes(shards_.size());
    ForShards([&](size_t i) {
      const uint64_t shard = shards_[i];
      std::optional<Bits> fb;
      if (filter) fb = Eval(*filter, shard);
      if (fb && sizes) filter_sizes[i] = fb->get().Cardinality();
      if (fb && fb->get().IsEmpty()) return;
      // `bits` is a RowData or a Roaring32.
      auto add = [&](uint64_t row, const auto& bits) {
        uint64_t cnt;
        if constexpr (std::is_same_v<std::decay_t<decltype(bits)>, Roaring32>) {
          cnt = fb ? Roaring32::AndCardinality(bits, fb->get())
                   : bits.Cardinality();
        } else {
          cnt = fb ? bits.AndCardinality(fb->get()) : bits.Cardinality();
        }
        if (cnt == 0) return;
        CountSize& cs = per[i][row];
        cs.count += cnt;
        if (sizes) cs.size += bits.Cardinality();
      };
      if (views.size() == 1) {
        const Fragment* frag = f->FindFragment(views[0], shard);
        if (frag == nullptr) return;
        frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
          if (!ids || ids->count(row)) add(row, r);
          return true;
        });
        return;
      }
      std::map<uint64_t, std::vector<const internal::RowData*>> parts;
      for (uint64_t vk : views) {
        const Fragment* frag = f->FindFragment(vk, shard);
        if (frag == nullptr) continue;
        frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
          if (!ids || ids->count(row)) parts[row].push_back(&r);
          return true;
        });
      }
      for (const auto& [row, rows] : parts) {
        if (rows.size() == 1) {
          add(row, *rows[0]);
        } else {
          add(row, internal::RowData::Union(rows));
        }
      }
    });
    absl::flat_hash_map<uint64_t, CountSize> total;
    Partial p;
    p.kind = Partial::Kind::kPairs;
    for (size_t i = 0; i < per.size(); ++i) {
      p.n += filter_sizes[i];
      for (const auto& [row, cs] : per[i]) {
        CountSize& t = total[row];
        t.count += cs.count;
        t.size += cs.size;
      }
    }
    p.pairs.reserve(total.size());
    for (const auto& [row, cs] : total)
      p.pairs.push_back({row, cs.count, cs.size});
    std::sort(p.pairs.begin(), p.pairs.end(),
              [](const auto& a, const auto& b) { return a.row < b.row; });
    return p;
  }

  // Threshold (or tanimoto), ranking and n over the merged counts.
  absl::StatusOr<QueryResult> FinishTopN(const Call& c, Partial p) {
    const bool topk = c.name == "TopK";
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    FB_ASSIGN_OR_RETURN(uint64_t n, UintArg(c, topk ? "k" : "n", 0));
    FB_ASSIGN_OR_RETURN(uint64_t threshold, UintArg(c, "threshold", 1));
    FB_ASSIGN_OR_RETURN(uint64_t tanimoto, UintArg(c, "tanimotoThreshold", 0));
    const bool has_filter = !c.children.empty() || c.Find("filter") != nullptr;
    // FeatureBase: with ids, every listed row is returned (n is ignored).
    if (c.Find("ids") != nullptr) n = 0;
    std::vector<RowCount> out;
    for (const PartialPair& x : p.pairs) {
      if (!topk && tanimoto > 0 && has_filter) {
        // ceil(100·|r∩f| / |r∪f|) > t, in integers: 100·|r∩f| > t·|r∪f|.
        const unsigned __int128 uni = (unsigned __int128)x.size + p.n - x.count;
        if ((unsigned __int128)x.count * 100 <= uni * tanimoto) continue;
      } else if (x.count < threshold) {
        continue;
      }
      out.push_back({x.row, x.count});
    }
    RankRows(&out, n);
    std::string json = "[";
    for (size_t i = 0; i < out.size(); ++i) {
      if (i) json += ',';
      json += "{" + RowIdJson(*f, out[i].row) +
              fmt::format(",\"count\":{}}}", out[i].count);
    }
    json += "]";
    return QueryResult(QueryResult::Kind::kPairs, std::move(json));
  }

  absl::StatusOr<Partial> MinMaxRow(const Call& c) {
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    std::optional<Node> filter;
    if (c.children.size() > 1) return CallError(c, "expects at most one call");
    if (c.children.size() == 1) {
      FB_ASSIGN_OR_RETURN(filter, PlanRow(c.children[0]));
    }
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    if (IsBsi(f->options.type)) {
      return CallError(c, fmt::format("field \"{}\" is a {} field", name,
                                      FieldTypeName(f->options.type)));
    }
    const bool max = c.name == "MaxRow";
    const std::vector<uint64_t> views =
        f->has_standard_view() ? std::vector<uint64_t>{kStandardView}
                               : CoarsestTimeViews(*f);
    // Per shard: the extreme row holding any (filtered) record, and with a
    // filter the filtered records of every row, to count the winner's.
    struct Local {
      std::optional<uint64_t> best;
      std::vector<std::pair<uint64_t, uint64_t>> counts;  // row, count
    };
    std::vector<Local> per(shards_.size());
    ForShards([&](size_t i) {
      const uint64_t shard = shards_[i];
      std::optional<Bits> fb;
      if (filter) {
        fb = Eval(*filter, shard);
        if (fb->get().IsEmpty()) return;
      }
      Local& l = per[i];
      for (uint64_t vk : views) {
        const Fragment* frag = f->FindFragment(vk, shard);
        if (frag == nullptr || frag->empty()) continue;
        if (!fb) {
          const uint64_t r =
              max ? frag->rows().MaxKey() : frag->rows().MinKey();
          if (!l.best || (max ? r > *l.best : r < *l.best)) l.best = r;
          continue;
        }
        frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
          const uint64_t cnt = r.AndCardinality(fb->get());
          if (cnt == 0) return true;
          l.counts.emplace_back(row, cnt);
          if (!l.best || (max ? row > *l.best : row < *l.best)) l.best = row;
          return true;
        });
      }
    });
    Partial p;
    p.kind = max ? Partial::Kind::kMaxRow : Partial::Kind::kMinRow;
    p.n = filter ? 1 : 0;
    for (const Local& l : per) {
      if (l.best && (!p.has || (max ? *l.best > p.id : *l.best < p.id))) {
        p.has = true;
        p.id = *l.best;
      }
    }
    if (p.has) {
      // FeatureBase reports count 1 without a filter; with one, the
      // filtered records in that row.
      p.count = filter ? 0 : 1;
      if (filter) {
        for (const Local& l : per) {
          for (auto [row, cnt] : l.counts) {
            if (row == p.id) p.count += cnt;
          }
        }
      }
    }
    return p;
  }

  // ---- GroupBy

  // aggregate=Sum(field=f): per group the sum of f, and count counts only
  // records with a value; aggregate=Count(Distinct(rc?, field=f)): per
  // group the number of distinct values (rows of a set field) of f among
  // the group's records (within rc), count unchanged. FeatureBase's rules.
  struct Aggregate {
    enum class Kind { kNone, kSum, kDistinct } kind = Kind::kNone;
    const FieldState* field = nullptr;
    std::optional<Node> filter;  // Count(Distinct(rc, ...))
  };

  // `finishing`: only what Finish needs (no filter evaluation).
  absl::StatusOr<Aggregate> PlanAggregate(const Call& c, bool finishing) {
    Aggregate agg;
    const pql::Arg* a = c.Find("aggregate");
    if (a == nullptr) return agg;
    if (a->value.kind == PKind::kCall && a->value.call->name == "Sum") {
      agg.kind = Aggregate::Kind::kSum;
      FB_ASSIGN_OR_RETURN(agg.field, ValueField(*a->value.call));
      if (agg.field->options.type == FieldType::kTimestamp) {
        return CallError(c, fmt::format("cannot sum timestamp field \"{}\"",
                                        agg.field->name));
      }
      return agg;
    }
    if (a->value.kind == PKind::kCall && a->value.call->name == "Count" &&
        a->value.call->children.size() == 1 &&
        a->value.call->children[0].name == "Distinct" &&
        a->value.call->args.empty()) {
      const Call& d = a->value.call->children[0];
      agg.kind = Aggregate::Kind::kDistinct;
      FB_ASSIGN_OR_RETURN(std::string name, FieldArg(d));
      FB_ASSIGN_OR_RETURN(agg.field, Field(d, name));
      if (agg.field->options.type == FieldType::kTime &&
          !agg.field->has_standard_view()) {
        return CallError(
            d, fmt::format("field \"{}\" has no standard view", name));
      }
      if (d.children.size() > 1)
        return CallError(d, "expects at most one call");
      if (d.children.size() == 1 && !finishing) {
        FB_ASSIGN_OR_RETURN(agg.filter, PlanRow(d.children[0]));
      }
      return agg;
    }
    return CallError(c,
                     "aggregate must be Sum(field=...) or "
                     "Count(Distinct(field=...))");
  }

  // Pieces of `s` between any of `seps`, empty pieces dropped if `skip`.
  static std::vector<std::string_view> Split(std::string_view s,
                                             std::string_view seps, bool skip) {
    std::vector<std::string_view> out;
    size_t start = 0;
    for (size_t i = 0; i <= s.size(); ++i) {
      if (i == s.size() || seps.find(s[i]) != std::string_view::npos) {
        if (!skip || i > start) out.push_back(s.substr(start, i - start));
        start = i + 1;
      }
    }
    return out;
  }

  // sort="count desc, aggregate asc": FeatureBase's getSorter (keys count,
  // aggregate or sum; direction asc or desc, default desc).
  struct SortKey {
    bool count = true;  // else the aggregate
    bool desc = true;
  };

  absl::StatusOr<std::vector<SortKey>> PlanSort(const Call& c,
                                                const Aggregate& agg) {
    std::vector<SortKey> keys;
    const pql::Arg* a = c.Find("sort");
    if (a == nullptr) return keys;
    if (a->value.kind != PKind::kString)
      return CallError(c, "sort must be a string");
    for (std::string_view part : Split(a->value.s, ",", false)) {
      std::vector<std::string_view> words = Split(part, " \t", true);
      if (words.empty()) {
        return CallError(c, fmt::format("invalid sorting directive \"{}\"",
                                        std::string(part)));
      }
      SortKey k;
      if (words[0] == "count") {
        k.count = true;
      } else if (words[0] == "aggregate" || words[0] == "sum") {
        if (agg.kind == Aggregate::Kind::kNone)
          return CallError(c, "sorting on the aggregate needs aggregate=");
        k.count = false;
      } else {
        return CallError(c, fmt::format("sorting is only supported on count, "
                                        "aggregate, or sum, not \"{}\"",
                                        std::string(words[0])));
      }
      if (words.size() > 2) {
        return CallError(c, fmt::format("sort directive \"{}\" has too many "
                                        "elements",
                                        std::string(part)));
      }
      if (words.size() == 2) {
        if (words[1] == "asc") {
          k.desc = false;
        } else if (words[1] != "desc") {
          return CallError(c, fmt::format("unknown sort direction \"{}\"",
                                          std::string(words[1])));
        }
      }
      keys.push_back(k);
    }
    return keys;
  }

  // A group's aggregate as a number: raw sum, or number of distinct values.
  static __int128 AggValue(const Aggregate& agg, const PartialGroup& g) {
    return agg.kind == Aggregate::Kind::kDistinct ? __int128(g.distinct.size())
                                                  : g.sum;
  }

  struct GroupPlan {
    std::vector<RowsPlan> plans;
    std::vector<std::vector<uint64_t>> candidates;
    std::optional<Node> filter;
    Aggregate agg;
    uint64_t limit = UINT64_MAX;
    uint64_t offset = 0;
    std::optional<std::vector<uint64_t>> previous;
    std::function<bool(const PartialGroup&)> keep;
    std::vector<SortKey> sort;
    bool having = false;
  };

  // `finishing`: only what Finish needs (no row scans, no filters).
  absl::StatusOr<GroupPlan> PlanGroupBy(const Call& c, bool finishing) {
    GroupPlan g;
    if (c.children.empty())
      return CallError(c, "requires at least one Rows call");
    for (const Call& k : c.children) {
      if (k.name != "Rows") return CallError(c, "children must be Rows calls");
      if (partial_ && (k.Find("limit") || k.Find("column"))) {
        return CallError(c,
                         "Rows children with limit or column cannot run "
                         "as a partial result (they depend on every "
                         "shard)");
      }
      FB_ASSIGN_OR_RETURN(RowsPlan p, PlanRows(k));
      std::vector<uint64_t> rows;
      if (!finishing) {
        FB_ASSIGN_OR_RETURN(rows, RunRows(p));
      }
      g.plans.push_back(std::move(p));
      g.candidates.push_back(std::move(rows));
    }
    if (const pql::Arg* a = c.Find("filter"); a != nullptr && !finishing) {
      if (a->value.kind != PKind::kCall)
        return CallError(c, "filter must be a call");
      FB_ASSIGN_OR_RETURN(g.filter, PlanRow(*a->value.call));
    }
    FB_ASSIGN_OR_RETURN(g.agg, PlanAggregate(c, finishing));
    FB_ASSIGN_OR_RETURN(g.limit, UintArg(c, "limit", UINT64_MAX));
    FB_ASSIGN_OR_RETURN(g.offset, UintArg(c, "offset", 0));
    if (const pql::Arg* a = c.Find("previous")) {
      if (a->value.kind != PKind::kList ||
          a->value.list.size() != g.plans.size()) {
        return CallError(c, "previous must list one row per Rows call");
      }
      g.previous.emplace();
      for (size_t i = 0; i < g.plans.size(); ++i) {
        FB_ASSIGN_OR_RETURN(Value rv,
                            RowValue(c, *g.plans[i].field, a->value.list[i]));
        FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                            ResolveRow(*g.plans[i].field, rv, "GroupBy()"));
        g.previous->push_back(id.value_or(0));
      }
    }
    FB_ASSIGN_OR_RETURN(g.keep, HavingPredicate(c, g.agg));
    g.having = c.Find("having") != nullptr;
    FB_ASSIGN_OR_RETURN(g.sort, PlanSort(c, g.agg));
    return g;
  }

  // GroupBy over 3+ mutex fields, without filter or aggregate: one pass
  // over each shard's columns, reading every field's column -> row side
  // table a page (4096 columns) at a time and counting into a dense array
  // of all candidate row combinations, instead of intersecting row bitmaps
  // per group (the intermediate intersections of a 3-field GroupBy are
  // sparse arrays that intersect-count slowly). nullopt when this does not
  // apply. Groups come out in row order, as the walk's.
  std::optional<std::vector<PartialGroup>> MutexGroups(const GroupPlan& g) {
    if (g.filter || g.agg.kind != Aggregate::Kind::kNone ||
        g.plans.size() < 3 || g.plans.size() > 64)
      return std::nullopt;
    constexpr size_t kMaxGroups = 4096;
    size_t total = 1;
    for (size_t k = 0; k < g.plans.size(); ++k) {
      const RowsPlan& p = g.plans[k];
      const std::vector<uint64_t>& cands = g.candidates[k];
      if (p.field->options.type != FieldType::kMutex ||
          p.views != std::vector<uint64_t>{kStandardView}) {
        return std::nullopt;
      }
      if (cands.empty()) return std::vector<PartialGroup>();
      if (cands.back() >= 0xFFFE) return std::nullopt;  // 1- or 2-byte pages
      total *= cands.size();
      if (total > kMaxGroups) return std::nullopt;
    }
    // Per field, side-table entry (row + 1) -> candidate index · stride, or
    // kBad (any sum holding one lands at or above `total`).
    constexpr uint32_t kBad = 1u << 20;
    std::vector<std::vector<uint32_t>> maps(g.plans.size());
    size_t stride = total;
    for (size_t k = 0; k < g.plans.size(); ++k) {
      const std::vector<uint64_t>& cands = g.candidates[k];
      stride /= cands.size();
      maps[k].assign(size_t{1} << 16, kBad);
      for (size_t i = 0; i < cands.size(); ++i)
        maps[k][cands[i] + 1] = uint32_t(i * stride);
    }
    std::vector<uint64_t> sums(total, 0);
    constexpr size_t kChunk = 64;  // shards per pass: bounds memory
    for (size_t begin = 0; begin < shards_.size(); begin += kChunk) {
      const size_t n = std::min(kChunk, shards_.size() - begin);
      std::vector<std::vector<uint32_t>> per(n);
      auto one = [&](size_t i) {
        MutexGroupsShard(g, maps, total, shards_[begin + i], &per[i]);
      };
      if (pool_ == nullptr) {
        for (size_t i = 0; i < n; ++i) one(i);
      } else {
        pool_->ParallelFor(n, one);
      }
      for (const auto& counts : per) {
        for (size_t x = 0; x < counts.size() && x < total; ++x)
          sums[x] += counts[x];
      }
    }
    std::vector<PartialGroup> out;
    for (size_t x = 0; x < total; ++x) {
      if (sums[x] == 0) continue;
      PartialGroup pg;
      pg.rows.resize(g.plans.size());
      size_t rest = x;
      for (size_t k = g.plans.size(); k-- > 0;) {
        const size_t m = g.candidates[k].size();
        pg.rows[k] = g.candidates[k][rest % m];
        rest /= m;
      }
      pg.count = sums[x];
      out.push_back(std::move(pg));
    }
    return out;
  }

  // Adds map[entry] for each of a page's entries into `acc`; a 4- or
  // 8-byte page holds rows beyond every candidate (all kBad).
  template <typename T>
  static void AddPage(const uint8_t* data, const uint32_t* map, uint32_t* acc) {
    for (uint32_t j = 0; j < ColumnRows::kPageSize; ++j) {
      T v;
      std::memcpy(&v, data + size_t{sizeof(T)} * j, sizeof(T));
      acc[j] += map[v];
    }
  }

  void MutexGroupsShard(const GroupPlan& g,
                        const std::vector<std::vector<uint32_t>>& maps,
                        size_t total, uint64_t shard,
                        std::vector<uint32_t>* counts) const {
    std::vector<const ColumnRows*> tables;
    for (const RowsPlan& p : g.plans) {
      const Fragment* frag = p.field->FindFragment(kStandardView, shard);
      if (frag == nullptr || frag->column_rows() == nullptr) return;
      tables.push_back(frag->column_rows());
    }
    // Four interleaved counters per group: consecutive columns of the same
    // group do not wait on one another's increments. [total]: no group.
    const size_t width = total + 1;
    std::vector<uint32_t> quad(4 * width, 0);
    std::vector<uint32_t> acc(ColumnRows::kPageSize);
    for (int page = 0; page < ColumnRows::kPages; ++page) {
      bool present = true;
      for (const ColumnRows* t : tables)
        present &= t->PageAt(page).data != nullptr;
      if (!present) continue;
      std::fill(acc.begin(), acc.end(), 0);
      bool any = true;
      for (size_t k = 0; k < tables.size() && any; ++k) {
        const ColumnRows::PageView pv = tables[k]->PageAt(page);
        switch (pv.width) {
          case 1:
            AddPage<uint8_t>(pv.data, maps[k].data(), acc.data());
            break;
          case 2:
            AddPage<uint16_t>(pv.data, maps[k].data(), acc.data());
            break;
          default:
            any = false;  // rows >= 0xFFFF: no candidate in this page
            break;
        }
      }
      if (!any) continue;
      const uint32_t t = uint32_t(total);
      for (uint32_t j = 0; j < ColumnRows::kPageSize; j += 4) {
        ++quad[std::min(acc[j], t)];
        ++quad[width + std::min(acc[j + 1], t)];
        ++quad[2 * width + std::min(acc[j + 2], t)];
        ++quad[3 * width + std::min(acc[j + 3], t)];
      }
    }
    counts->assign(width, 0);
    for (size_t x = 0; x < width; ++x) {
      (*counts)[x] =
          quad[x] + quad[width + x] + quad[2 * width + x] + quad[3 * width + x];
    }
  }

  absl::StatusOr<Partial> GroupBy(const Call& c) {
    FB_ASSIGN_OR_RETURN(GroupPlan g, PlanGroupBy(c, false));
    const auto& plans = g.plans;
    const auto& candidates = g.candidates;
    Partial out;
    out.kind = Partial::Kind::kGroups;
    out.width = uint32_t(plans.size());
    // Having needs whole counts: a partial keeps every group and Finish
    // filters; over the whole index it filters as it goes.
    const bool filter_now = !partial_;
    const bool need_all = !g.sort.empty() || (g.having && !filter_now);
    const uint64_t want =
        g.limit == UINT64_MAX ? UINT64_MAX : SatAdd(g.limit, g.offset);
    if (!need_all && want != UINT64_MAX) out.cap = want;
    if (auto all = MutexGroups(g)) {
      for (PartialGroup& pg : *all) {
        if (g.previous && pg.rows <= *g.previous) continue;
        if (filter_now && !g.keep(pg)) continue;
        out.groups.push_back(std::move(pg));
      }
      CapPartial(&out);
      return out;
    }
    // Walk groups in order of the first field's rows; each step computes all
    // groups under one first-field row across shards, so memory stays
    // bounded by the groups kept plus one row's worth.
    // Without a limit, first-field rows go to the pool in chunks: one pass
    // over the shards per chunk rather than per row (fewer waits for the
    // slowest shard), with memory still bounded by one chunk's groups.
    // When every group is wanted (no limit, offset or previous) the fields
    // may be walked in any order, and the groups put back in the requested
    // order at the end. With three or more fields, fewest candidate rows
    // last puts the densest rows (bitset containers, which intersect-count
    // by probing) at the level that runs most often, instead of merging
    // sparse arrays there (a 3-field taxi GroupBy: 4x faster).
    std::vector<size_t> order(plans.size());
    for (size_t k = 0; k < order.size(); ++k) order[k] = k;
    if (plans.size() >= 3 && g.limit == UINT64_MAX && g.offset == 0 &&
        !g.previous &&
        std::all_of(candidates.begin(), candidates.end(),
                    [](const auto& rows) { return rows.size() <= 4096; })) {
      std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
        return candidates[a].size() > candidates[b].size();
      });
    }
    const bool reordered = !std::is_sorted(order.begin(), order.end());
    std::vector<RowsPlan> walk_plans;
    std::vector<std::vector<uint64_t>> walk_candidates;
    if (reordered) {
      for (size_t k : order) {
        walk_plans.push_back(plans[k]);
        walk_candidates.push_back(candidates[k]);
      }
    }
    const std::vector<RowsPlan>& wplans = reordered ? walk_plans : plans;
    const std::vector<std::vector<uint64_t>>& wcandidates =
        reordered ? walk_candidates : candidates;
    std::vector<uint64_t> firsts;
    for (uint64_t r0 : wcandidates[0]) {
      if (!g.previous || r0 >= (*g.previous)[0]) firsts.push_back(r0);
    }
    const size_t chunk = need_all || want == UINT64_MAX ? 16 : 1;
    bool enough = false;
    std::vector<PartialGroup>& groups = out.groups;
    for (size_t begin = 0; begin < firsts.size() && !enough; begin += chunk) {
      const size_t n = std::min(chunk, firsts.size() - begin);
      std::vector<std::vector<std::vector<PartialGroup>>> per(
          n, std::vector<std::vector<PartialGroup>>(shards_.size()));
      ForShards([&](size_t i) {
        for (size_t j = 0; j < n; ++j) {
          GroupShard(wplans, wcandidates, g.filter, g.agg, shards_[i],
                     firsts[begin + j], &per[j][i]);
        }
      });
      for (size_t j = 0; j < n && !enough; ++j) {
        std::map<std::vector<uint64_t>, PartialGroup> merged;
        for (auto& v : per[j]) {
          for (auto& pg : v) {
            auto [it, fresh] = merged.try_emplace(pg.rows);
            PartialGroup& m = it->second;
            if (fresh) {
              m = std::move(pg);
              continue;
            }
            m.count += pg.count;
            m.sum += pg.sum;
            if (!pg.distinct.empty()) {
              std::vector<int64_t> d;
              std::set_union(m.distinct.begin(), m.distinct.end(),
                             pg.distinct.begin(), pg.distinct.end(),
                             std::back_inserter(d));
              m.distinct = std::move(d);
            }
          }
        }
        for (auto& [rows, m] : merged) {
          if (g.previous && rows <= *g.previous) continue;
          if (filter_now && !g.keep(m)) continue;
          groups.push_back(std::move(m));
        }
        if (!need_all && groups.size() >= want) enough = true;
      }
    }
    if (reordered) {
      for (PartialGroup& pg : groups) {
        std::vector<uint64_t> rows(pg.rows.size());
        for (size_t k = 0; k < order.size(); ++k) rows[order[k]] = pg.rows[k];
        pg.rows = std::move(rows);
      }
      std::sort(groups.begin(), groups.end(),
                [](const auto& a, const auto& b) { return a.rows < b.rows; });
    }
    CapPartial(&out);
    return out;
  }

  absl::StatusOr<QueryResult> FinishGroupBy(const Call& c, Partial p) {
    FB_ASSIGN_OR_RETURN(GroupPlan g, PlanGroupBy(c, true));
    std::vector<PartialGroup>& groups = p.groups;
    if (g.having)
      std::erase_if(groups, [&](const auto& x) { return !g.keep(x); });
    if (!g.sort.empty()) {
      std::stable_sort(
          groups.begin(), groups.end(),
          [&](const PartialGroup& a, const PartialGroup& b) {
            for (const SortKey& k : g.sort) {
              const __int128 x = k.count ? a.count : AggValue(g.agg, a);
              const __int128 y = k.count ? b.count : AggValue(g.agg, b);
              if (x != y) return k.desc ? x > y : x < y;
            }
            return false;
          });
    }
    const size_t begin = std::min<uint64_t>(g.offset, groups.size());
    const size_t end =
        g.limit >= groups.size() - begin ? groups.size() : begin + g.limit;
    std::string json = "[";
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) json += ',';
      json += "{\"group\":[";
      for (size_t k = 0; k < g.plans.size(); ++k) {
        if (k) json += ',';
        json += "{\"field\":";
        AppendJsonString(&json, g.plans[k].field->name);
        json +=
            "," +
            RowIdJson(*g.plans[k].field, groups[i].rows[k], "rowID", "rowKey") +
            "}";
      }
      json += fmt::format("],\"count\":{}", groups[i].count);
      // FeatureBase names the aggregate by its kind: "sum" for Sum and
      // "aggregate" for Count(Distinct).
      if (g.agg.kind == Aggregate::Kind::kSum) {
        json += ",\"sum\":" + g.agg.field->bsi->FormatSum(groups[i].sum);
      } else if (g.agg.kind == Aggregate::Kind::kDistinct) {
        json += fmt::format(",\"aggregate\":{}", groups[i].distinct.size());
      }
      json += "}";
    }
    json += "]";
    return QueryResult(QueryResult::Kind::kGroups, std::move(json));
  }

  // having=Condition(count <op> n) or Condition(sum <op> v) (the aggregate;
  // v in the Sum field's units), as FeatureBase's satisfiesCondition.
  absl::StatusOr<std::function<bool(const PartialGroup&)>> HavingPredicate(
      const Call& c, const Aggregate& agg) {
    const pql::Arg* a = c.Find("having");
    if (a == nullptr) {
      return std::function<bool(const PartialGroup&)>(
          [](const PartialGroup&) { return true; });
    }
    if (a->value.kind != PKind::kCall || a->value.call->name != "Condition" ||
        a->value.call->args.size() != 1 ||
        a->value.call->args[0].value.kind != PKind::kCondition ||
        (a->value.call->args[0].key != "count" &&
         a->value.call->args[0].key != "sum")) {
      return CallError(c,
                       "having must be Condition(count <op> value) or "
                       "Condition(sum <op> value)");
    }
    const bool on_count = a->value.call->args[0].key == "count";
    if (!on_count && agg.kind == Aggregate::Kind::kNone)
      return CallError(c, "having on sum needs aggregate=");
    const pql::Condition h = *a->value.call->args[0].value.cond;
    auto num = [&](const pql::Value& v) -> absl::StatusOr<__int128> {
      if (!on_count && agg.kind == Aggregate::Kind::kSum) {
        FB_ASSIGN_OR_RETURN(const PredicateRaw p,
                            PredicateValue(c, *agg.field, v));
        if (!p.exact) {
          return CallError(
              c, fmt::format("having value {} has more than {} decimal "
                             "places for field \"{}\"",
                             LiteralText(v), agg.field->bsi->scale(),
                             agg.field->name));
        }
        return p.raw;
      }
      if (v.kind == PKind::kInt) return __int128(v.i);
      if (v.kind == PKind::kUint) return __int128(v.u);
      return CallError(c, fmt::format("having compares {} with integers",
                                      on_count ? "count" : "the aggregate"));
    };
    FB_ASSIGN_OR_RETURN(__int128 lo, num(h.value));
    __int128 hi = 0;
    if (h.op >= pql::Op::kBetweenLtLt) {
      FB_ASSIGN_OR_RETURN(hi, num(h.value2));
    }
    const pql::Op op = h.op;
    const Aggregate::Kind agg_kind = agg.kind;
    return std::function<bool(const PartialGroup&)>(
        [=](const PartialGroup& gr) {
          const __int128 x = on_count ? __int128(gr.count)
                                      : (agg_kind == Aggregate::Kind::kDistinct
                                             ? __int128(gr.distinct.size())
                                             : gr.sum);
          switch (op) {
            case pql::Op::kEq:
              return x == lo;
            case pql::Op::kNeq:
              return x != lo;
            case pql::Op::kLt:
              return x < lo;
            case pql::Op::kLte:
              return x <= lo;
            case pql::Op::kGt:
              return x > lo;
            case pql::Op::kGte:
              return x >= lo;
            case pql::Op::kBetweenLtLt:
              return lo < x && x < hi;
            case pql::Op::kBetweenLteLt:
              return lo <= x && x < hi;
            case pql::Op::kBetweenLtLte:
              return lo < x && x <= hi;
            case pql::Op::kBetweenLteLte:
              return lo <= x && x <= hi;
          }
          return false;
        });
  }

  // Distinct values of the aggregate's field among `bits` of `shard`
  // (within the Distinct filter), ascending.
  std::vector<int64_t> DistinctIn(const Aggregate& agg, uint64_t shard,
                                  const Roaring32& bits) const {
    std::optional<Roaring32> narrowed;
    const Roaring32* b = &bits;
    if (agg.filter) {
      narrowed = Roaring32::And(bits, Eval(*agg.filter, shard).get());
      b = &*narrowed;
    }
    std::vector<int64_t> out;
    if (b->IsEmpty()) return out;
    const FieldState& f = *agg.field;
    if (f.bsi) {
      if (const BsiShard* bs = f.bsi_shards.Find(shard)) {
        out = bs->Distinct(b);
        for (int64_t& v : out) v = f.bsi->ToRaw(v);
      }
      return out;
    }
    if (const Fragment* frag = f.FindFragment(kStandardView, shard)) {
      frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
        if (r.Intersects(*b)) out.push_back(int64_t(row));
        return true;
      });
    }
    return out;
  }

  // Groups whose first row is r0, in one shard, by depth-first
  // intersection with early pruning; the last level uses fused counts.
  void GroupShard(const std::vector<RowsPlan>& plans,
                  const std::vector<std::vector<uint64_t>>& candidates,
                  const std::optional<Node>& filter, const Aggregate& agg,
                  uint64_t shard, uint64_t r0,
                  std::vector<PartialGroup>* out) const {
    const bool sum = agg.kind == Aggregate::Kind::kSum;
    const bool distinct = agg.kind == Aggregate::Kind::kDistinct;
    const BsiShard* agg_shard =
        sum ? agg.field->bsi_shards.Find(shard) : nullptr;
    if (sum && agg_shard == nullptr) return;
    // A finished group: with Sum, only records with a value count.
    auto emit = [&](const std::vector<uint64_t>& rows, const Roaring32& bits,
                    uint64_t plain_count) {
      if (sum) {
        const BsiSum s = agg_shard->Sum(&bits);
        if (s.count > 0)
          out->push_back({rows, s.count, agg.field->bsi->RawSum(s), {}});
        return;
      }
      if (distinct) {
        out->push_back(
            {rows, bits.Cardinality(), 0, DistinctIn(agg, shard, bits)});
        return;
      }
      out->push_back({rows, plain_count, 0, {}});
    };
    auto row_bits = [&](size_t level, uint64_t row) {
      Node leaf;
      leaf.kind = NodeKind::kRow;
      leaf.field = plans[level].field;
      leaf.views = plans[level].views;
      leaf.row = row;
      return Eval(leaf, shard);
    };
    Bits first = row_bits(0, r0);
    if (first.get().IsEmpty()) return;
    // Without a filter the first row is read in place, not copied.
    Roaring32 filtered;
    const Roaring32* prefix = &first.get();
    if (filter) {
      filtered = Roaring32::And(first.get(), Eval(*filter, shard).get());
      if (filtered.IsEmpty()) return;
      prefix = &filtered;
    }
    std::vector<uint64_t> rows{r0};
    std::function<void(const Roaring32&, size_t)> walk =
        [&](const Roaring32& pre, size_t level) {
          if (level == plans.size()) {
            emit(rows, pre, pre.Cardinality());
            return;
          }
          for (uint64_t r : candidates[level]) {
            Bits b = row_bits(level, r);
            if (level + 1 == plans.size()) {
              if (sum || distinct) {
                Roaring32 both = Roaring32::And(pre, b.get());
                if (both.IsEmpty()) continue;
                rows.push_back(r);
                emit(rows, both, 0);
                rows.pop_back();
                continue;
              }
              const uint64_t cnt = Roaring32::AndCardinality(pre, b.get());
              if (cnt > 0) {
                rows.push_back(r);
                emit(rows, pre, cnt);
                rows.pop_back();
              }
              continue;
            }
            Roaring32 next = Roaring32::And(pre, b.get());
            if (next.IsEmpty()) continue;
            rows.push_back(r);
            walk(next, level + 1);
            rows.pop_back();
          }
        };
    walk(*prefix, 1);
  }

  // ---- value fields

  absl::StatusOr<Node> PlanBsiCondition(const Call& c, const FieldState& f,
                                        const pql::Condition& cond,
                                        const TimeRange& range) {
    if (!range.empty())
      return CallError(c, "a time range is not allowed on a value field");
    Node node;
    node.kind = NodeKind::kBsi;
    node.field = &f;
    const BsiFieldSpec& spec = *f.bsi;
    FB_ASSIGN_OR_RETURN(const PredicateRaw a, PredicateValue(c, f, cond.value));
    // A literal finer than the field's scale lies strictly between a.raw and
    // a.raw + 1: x < a and x <= a are both x <= a.raw, x > a and x >= a both
    // x > a.raw; x == a holds for no value and x != a for every one.
    switch (cond.op) {
      case pql::Op::kEq:
        if (!a.exact) return Node();
        node.predicate = spec.Translate(BsiOp::kEq, a.raw);
        return node;
      case pql::Op::kNeq:
        if (!a.exact) {
          node.kind = NodeKind::kExistence;
          return node;
        }
        node.predicate = spec.Translate(BsiOp::kNeq, a.raw);
        return node;
      case pql::Op::kLt:
        node.predicate =
            spec.Translate(a.exact ? BsiOp::kLt : BsiOp::kLte, a.raw);
        return node;
      case pql::Op::kLte:
        node.predicate = spec.Translate(BsiOp::kLte, a.raw);
        return node;
      case pql::Op::kGt:
        node.predicate = spec.Translate(BsiOp::kGt, a.raw);
        return node;
      case pql::Op::kGte:
        node.predicate =
            spec.Translate(a.exact ? BsiOp::kGte : BsiOp::kGt, a.raw);
        return node;
      default: {
        FB_ASSIGN_OR_RETURN(const PredicateRaw b,
                            PredicateValue(c, f, cond.value2));
        const bool lo_incl = a.exact && (cond.op == pql::Op::kBetweenLteLt ||
                                         cond.op == pql::Op::kBetweenLteLte);
        const bool hi_incl = !b.exact || cond.op == pql::Op::kBetweenLtLte ||
                             cond.op == pql::Op::kBetweenLteLte;
        node.predicate = spec.TranslateBetween(a.raw, lo_incl, b.raw, hi_incl);
        return node;
      }
    }
  }

  // A literal in raw units of a value field: `raw` is the literal itself
  // when `exact`, else (a decimal finer than the field's scale) the largest
  // raw value below it.
  struct PredicateRaw {
    __int128 raw = 0;
    bool exact = true;
  };

  // A comparison or write value in raw units of value field `f`; may lie
  // beyond int64 (the spec clamps comparisons with FeatureBase's rules).
  absl::StatusOr<PredicateRaw> PredicateValue(const Call& c,
                                              const FieldState& f,
                                              const pql::Value& v) const {
    const BsiFieldSpec& spec = *f.bsi;
    switch (f.options.type) {
      case FieldType::kInt:
        if (v.kind == PKind::kInt) return PredicateRaw{__int128(v.i)};
        if (v.kind == PKind::kUint) return PredicateRaw{__int128(v.u)};
        return CallError(c, fmt::format("field \"{}\" takes integers, not {}",
                                        f.name, LiteralText(v)));
      case FieldType::kDecimal: {
        __int128 x;
        int from_scale;
        if (v.kind == PKind::kInt) {
          x = v.i;
          from_scale = 0;
        } else if (v.kind == PKind::kUint) {
          x = v.u;
          from_scale = 0;
        } else if (v.kind == PKind::kDecimal) {
          x = v.d.unscaled;
          from_scale = v.d.scale;
        } else {
          return CallError(c, fmt::format("field \"{}\" takes numbers, not {}",
                                          f.name, LiteralText(v)));
        }
        // |x| < 2^64 and scales are at most 19: x · 10^19 fits in int128.
        for (int i = from_scale; i < spec.scale(); ++i) x *= 10;
        __int128 div = 1;
        for (int i = spec.scale(); i < from_scale; ++i) div *= 10;
        PredicateRaw p;
        p.raw = x / div;
        const __int128 rem = x % div;
        p.exact = rem == 0;
        if (rem < 0) p.raw -= 1;  // floor, not truncation
        return p;
      }
      default: {
        if (v.kind == PKind::kInt)
          return PredicateRaw{__int128(spec.base()) + v.i};
        if (v.kind != PKind::kTimestamp && v.kind != PKind::kString) {
          return CallError(
              c, fmt::format("field \"{}\" takes timestamps, not {}", f.name,
                             LiteralText(v)));
        }
        auto units = ParseTimestamp(v.s, spec.unit());
        if (!units.ok())
          return Annotate(units.status(), fmt::format("{}()", c.name));
        return PredicateRaw{__int128(*units)};
      }
    }
  }

  // The value field named by the call, or InvalidArgument.
  absl::StatusOr<const FieldState*> ValueField(const Call& c) const {
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    if (!f->bsi) {
      return CallError(
          c, fmt::format(
                 "field \"{}\" is a {} field, not int, decimal or timestamp",
                 name, FieldTypeName(f->options.type)));
    }
    return f;
  }

  // The optional filter: a child call, or filter=<call>.
  absl::StatusOr<std::optional<Node>> FilterArg(const Call& c) {
    if (c.children.size() > 1) return CallError(c, "expects at most one call");
    if (c.children.size() == 1) {
      FB_ASSIGN_OR_RETURN(Node n, PlanRow(c.children[0]));
      return std::optional<Node>(std::move(n));
    }
    if (const pql::Arg* a = c.Find("filter")) {
      if (a->value.kind != PKind::kCall)
        return CallError(c, "filter must be a call");
      FB_ASSIGN_OR_RETURN(Node n, PlanRow(*a->value.call));
      return std::optional<Node>(std::move(n));
    }
    return std::optional<Node>();
  }

  // JSON of a raw value: a number for int and decimal, a string for
  // timestamps.
  static std::string ValueJson(const FieldState& f, int64_t raw) {
    std::string text = f.bsi->FormatValue(raw);
    if (f.options.type != FieldType::kTimestamp) return text;
    std::string out;
    AppendJsonString(&out, text);
    return out;
  }

  static QueryResult ValCount(std::string value_json, uint64_t count) {
    return QueryResult(
        QueryResult::Kind::kValue,
        fmt::format("{{\"value\":{},\"count\":{}}}", value_json, count));
  }

  absl::StatusOr<Partial> SumMinMax(const Call& c) {
    FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
    FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(c));
    const BsiFieldSpec& spec = *f->bsi;
    Partial p;
    if (c.name == "Sum") {
      if (f->options.type == FieldType::kTimestamp) {
        return CallError(
            c, fmt::format("cannot sum timestamp field \"{}\"", f->name));
      }
      std::vector<BsiSum> per(shards_.size());
      ForShards([&](size_t i) {
        const BsiShard* bs = f->bsi_shards.Find(shards_[i]);
        if (bs == nullptr) return;
        if (filter) {
          Bits fb = Eval(*filter, shards_[i]);
          per[i] = bs->Sum(&fb.get());
        } else {
          per[i] = bs->Sum(nullptr);
        }
      });
      BsiSum total;
      for (const BsiSum& s : per) {
        total.sum += s.sum;
        total.count += s.count;
      }
      p.kind = Partial::Kind::kSum;
      p.sum = spec.RawSum(total);
      p.count = total.count;
      return p;
    }
    const bool is_min = c.name == "Min";
    std::vector<std::optional<BsiExtreme>> per(shards_.size());
    ForShards([&](size_t i) {
      const BsiShard* bs = f->bsi_shards.Find(shards_[i]);
      if (bs == nullptr) return;
      std::optional<Bits> fb;
      if (filter) fb = Eval(*filter, shards_[i]);
      const Roaring32* fp = fb ? &fb->get() : nullptr;
      per[i] = is_min ? bs->Min(fp) : bs->Max(fp);
    });
    std::optional<BsiExtreme> best;
    for (const auto& e : per) {
      if (!e) continue;
      if (!best || (is_min ? e->value < best->value : e->value > best->value)) {
        best = e;
      } else if (e->value == best->value) {
        best->count += e->count;  // ties add their counts
      }
    }
    p.kind = is_min ? Partial::Kind::kMin : Partial::Kind::kMax;
    if (best) {
      p.has = true;
      p.value = spec.ToRaw(best->value);
      p.count = best->count;
    }
    return p;
  }

  absl::StatusOr<QueryResult> Percentile(const Call& c) {
    FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
    FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(c));
    const pql::Arg* nth_arg = c.Find("nth");
    if (nth_arg == nullptr) return CallError(c, "nth required");
    double nth;
    if (nth_arg->value.kind == PKind::kInt) {
      nth = double(nth_arg->value.i);
    } else if (nth_arg->value.kind == PKind::kDecimal) {
      nth = double(nth_arg->value.d.unscaled);
      for (int i = 0; i < nth_arg->value.d.scale; ++i) nth /= 10;
    } else {
      return CallError(c, "nth must be a number");
    }
    if (!(nth >= 0 && nth <= 100))
      return CallError(c, "nth must be between 0 and 100");
    const BsiFieldSpec& spec = *f->bsi;
    // Per shard filter bits, evaluated once.
    std::vector<std::optional<Roaring32>> fbits(shards_.size());
    if (filter) {
      ForShards([&](size_t i) { fbits[i] = Eval(*filter, shards_[i]).Take(); });
    }
    auto each = [&](auto&& fn) {
      for (size_t i = 0; i < shards_.size(); ++i) {
        const BsiShard* bs = f->bsi_shards.Find(shards_[i]);
        if (bs != nullptr) fn(*bs, fbits[i] ? &*fbits[i] : nullptr);
      }
    };
    std::optional<int64_t> lo, hi;
    each([&](const BsiShard& bs, const Roaring32* fp) {
      if (auto m = bs.Min(fp)) lo = lo ? std::min(*lo, m->value) : m->value;
      if (auto m = bs.Max(fp)) hi = hi ? std::max(*hi, m->value) : m->value;
    });
    if (!lo) return QueryResult(QueryResult::Kind::kNull, "null");
    auto count = [&](BsiOp op, int64_t raw) {
      const BsiPredicate p = spec.Translate(op, raw);
      uint64_t n = 0;
      each([&](const BsiShard& bs, const Roaring32* fp) {
        n += CountPredicate(bs, p, fp);
      });
      return n;
    };
    auto got = PercentileSearch(
        nth, spec.ToRaw(*lo), spec.ToRaw(*hi),
        [&](int64_t v) { return count(BsiOp::kLt, v); },
        [&](int64_t v) { return count(BsiOp::kGt, v); });
    if (!got.ok()) return Annotate(got.status(), "Percentile()");
    return ValCount(ValueJson(*f, *got), 1);
  }

  absl::StatusOr<Partial> FieldValueCall(const Call& c) {
    FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
    FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column"));
    Partial p;
    p.kind = Partial::Kind::kFieldValue;
    if (restricted_ && !Visits(ShardOf(col))) return p;
    const BsiShard* bs = f->bsi_shards.Find(ShardOf(col));
    const std::optional<int64_t> v =
        bs ? bs->Value(OffsetInShard(col)) : std::nullopt;
    if (v) {
      p.has = true;
      p.value = f->bsi->ToRaw(*v);
    }
    return p;
  }

  // Records ordered by a value field (ties by record id), then sliced.
  absl::StatusOr<Partial> Sort(const Call& c) {
    FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
    FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(c));
    bool desc = false;
    if (const pql::Arg* a = c.Find("sort-desc")) {
      if (a->value.kind != PKind::kBool)
        return CallError(c, "sort-desc must be true or false");
      desc = a->value.b;
    }
    FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
    FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
    std::vector<std::vector<std::pair<int64_t, uint64_t>>> per(shards_.size());
    ForShards([&](size_t i) {
      const BsiShard* bs = f->bsi_shards.Find(shards_[i]);
      if (bs == nullptr) return;
      std::optional<Bits> fb;
      if (filter) fb = Eval(*filter, shards_[i]);
      for (auto [off, v] : bs->Values(fb ? &fb->get() : nullptr)) {
        per[i].emplace_back(f->bsi->ToRaw(v), ShardStart(shards_[i]) + off);
      }
    });
    Partial p;
    p.kind = Partial::Kind::kSorted;
    p.desc = desc;
    p.cap = limit == UINT64_MAX ? 0 : SatAdd(offset, limit);
    if (p.cap == UINT64_MAX) p.cap = 0;
    auto& all = p.sorted;
    for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
    auto before = [&](const auto& a, const auto& b) {
      if (a.first != b.first)
        return desc ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    };
    if (p.cap != 0 && p.cap < all.size()) {
      std::partial_sort(all.begin(), all.begin() + p.cap, all.end(), before);
      all.resize(p.cap);
    } else {
      std::sort(all.begin(), all.end(), before);
    }
    // limit=0 keeps nothing (cap 0 would mean everything).
    if (limit == 0) all.clear();
    return p;
  }

  absl::StatusOr<QueryResult> FinishSort(const Call& c, Partial p) {
    FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
    FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
    const auto& all = p.sorted;
    const size_t begin = std::min<uint64_t>(offset, all.size());
    const size_t end = limit >= all.size() - begin ? all.size() : begin + limit;
    std::string json = st_->column_keys ? "{\"keys\":[" : "{\"columns\":[";
    Bitmap cols;
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) json += ',';
      cols.Add(all[i].second);
      if (st_->column_keys) {
        auto key = st_->column_keys->TranslateId(all[i].second);
        AppendJsonString(&json, key.ok() ? *key : std::string());
      } else {
        json += fmt::format("{}", all[i].second);
      }
    }
    json += "]}";
    return QueryResult::Row(std::move(cols), std::move(json));
  }

  // Distinct raw values of a value field among the filtered records.
  absl::StatusOr<Partial> DistinctValues(const Call& c, const FieldState& f) {
    FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(c));
    std::vector<std::vector<int64_t>> per(shards_.size());
    ForShards([&](size_t i) {
      const BsiShard* bs = f.bsi_shards.Find(shards_[i]);
      if (bs == nullptr) return;
      std::optional<Bits> fb;
      if (filter) fb = Eval(*filter, shards_[i]);
      per[i] = bs->Distinct(fb ? &fb->get() : nullptr);
    });
    std::set<int64_t> all;
    for (auto& v : per) {
      for (int64_t x : v) all.insert(f.bsi->ToRaw(x));
    }
    Partial p;
    p.kind = Partial::Kind::kValues;
    p.values.assign(all.begin(), all.end());
    return p;
  }

  // ---- Extract

  absl::StatusOr<std::vector<const FieldState*>> ExtractFields(const Call& c) {
    if (c.children.empty()) return CallError(c, "requires a row call");
    std::vector<const FieldState*> fields;
    for (size_t i = 1; i < c.children.size(); ++i) {
      const Call& k = c.children[i];
      if (k.name != "Rows")
        return CallError(c, "fields must be given as Rows calls");
      FB_ASSIGN_OR_RETURN(std::string name, FieldArg(k));
      FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
      fields.push_back(f);
    }
    return fields;
  }

  absl::StatusOr<Partial> Extract(const Call& c) {
    FB_ASSIGN_OR_RETURN(std::vector<const FieldState*> fields,
                        ExtractFields(c));
    FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
    const Bitmap cols = EvalGlobal(node);
    const std::vector<uint64_t> ids = cols.ToVector();
    // values[field][column index] = rows of that column.
    std::vector<std::vector<std::vector<uint64_t>>> values(
        fields.size(), std::vector<std::vector<uint64_t>>(ids.size()));
    for (size_t fi = 0; fi < fields.size(); ++fi) {
      const FieldState* f = fields[fi];
      const View* view = f->views.Find(kStandardView);
      if (view == nullptr) continue;
      for (const auto& chunk : BitmapAccess::Chunks(cols)) {
        const Fragment* frag = view->Find(chunk.key);
        if (frag == nullptr) continue;
        const uint64_t base = ShardStart(chunk.key);
        frag->rows().ForEach([&](uint64_t row, const internal::RowData& r) {
          const auto at = [&](uint32_t off) {
            const uint64_t col = base + off;
            const size_t idx =
                std::lower_bound(ids.begin(), ids.end(), col) - ids.begin();
            values[fi][idx].push_back(row);
          };
          if (const Roaring32* big = r.roaring()) {
            Roaring32::And(*big, chunk.bits).ForEach(at);
          } else {
            r.ForEach([&](uint32_t off) {
              if (chunk.bits.Contains(off)) at(off);
            });
          }
          return true;
        });
      }
    }
    Partial p;
    p.kind = Partial::Kind::kTable;
    p.width = uint32_t(fields.size());
    p.table.resize(ids.size());
    for (size_t ci = 0; ci < ids.size(); ++ci) {
      PartialColumn& col = p.table[ci];
      col.column = ids[ci];
      col.cells.resize(fields.size());
      for (size_t fi = 0; fi < fields.size(); ++fi) {
        const FieldState* f = fields[fi];
        PartialCell& cell = col.cells[fi];
        if (f->bsi) {
          const BsiShard* bs = f->bsi_shards.Find(ShardOf(ids[ci]));
          const std::optional<int64_t> v =
              bs ? bs->Value(OffsetInShard(ids[ci])) : std::nullopt;
          if (v) {
            cell.tag = PartialCell::Tag::kValue;
            cell.value = f->bsi->ToRaw(*v);
          }
          continue;
        }
        cell.tag = PartialCell::Tag::kRows;
        cell.rows = std::move(values[fi][ci]);
      }
    }
    return p;
  }

  absl::StatusOr<QueryResult> FinishExtract(const Call& c, Partial p) {
    FB_ASSIGN_OR_RETURN(std::vector<const FieldState*> fields,
                        ExtractFields(c));
    if (fields.size() != p.width)
      return CallError(c, "the partial result extracts other fields");
    std::string json = "{\"fields\":[";
    for (size_t fi = 0; fi < fields.size(); ++fi) {
      if (fi) json += ',';
      json += "{\"name\":";
      AppendJsonString(&json, fields[fi]->name);
      json += ",\"type\":";
      AppendJsonString(&json, FieldTypeName(fields[fi]->options.type));
      json += "}";
    }
    json += "],\"columns\":[";
    for (size_t ci = 0; ci < p.table.size(); ++ci) {
      const PartialColumn& col = p.table[ci];
      if (ci) json += ',';
      json += "{\"column\":";
      if (st_->column_keys) {
        auto key = st_->column_keys->TranslateId(col.column);
        AppendJsonString(&json, key.ok() ? *key : std::string());
      } else {
        json += fmt::format("{}", col.column);
      }
      json += ",\"rows\":[";
      for (size_t fi = 0; fi < fields.size(); ++fi) {
        if (fi) json += ',';
        const FieldState* f = fields[fi];
        const PartialCell& cell = col.cells[fi];
        const std::vector<uint64_t>& rows = cell.rows;
        auto one = [&](uint64_t r) {
          if (f->row_keys) {
            auto key = f->row_keys->TranslateId(r);
            AppendJsonString(&json, key.ok() ? *key : std::string());
          } else {
            json += fmt::format("{}", r);
          }
        };
        if (f->bsi) {
          json += cell.tag == PartialCell::Tag::kValue
                      ? ValueJson(*f, cell.value)
                      : "null";
        } else if (f->options.type == FieldType::kBool) {
          json += rows.empty() ? "null" : (rows[0] == 1 ? "true" : "false");
        } else if (f->options.type == FieldType::kMutex) {
          if (rows.empty()) {
            json += "null";
          } else {
            one(rows[0]);
          }
        } else {
          json += "[";
          for (size_t k = 0; k < rows.size(); ++k) {
            if (k) json += ',';
            one(rows[k]);
          }
          json += "]";
        }
      }
      json += "]}";
    }
    json += "]}";
    return QueryResult(QueryResult::Kind::kTable, std::move(json));
  }

  Index& index_;
  bool partial_ = false;
  // Partials over some shards only: those shards.
  std::optional<std::set<uint64_t>> only_;
  // Visiting a subset of the index's shards (partials, Options(shards=)).
  bool restricted_ = false;
  ThreadPool* pool_;
  std::shared_ptr<const Snapshot> snap_;
  const IndexState* st_ = nullptr;
  std::vector<uint64_t> shards_;
};

}  // namespace

absl::StatusOr<std::vector<Partial>> ExecutePartial(
    Index& index, const pql::Query& query, const QueryOptions& options,
    const std::vector<uint64_t>* shards) {
  std::vector<Partial> out;
  Executor exec(index, options, /*partial=*/true, shards);
  for (const Call& c : query.calls) {
    FB_ASSIGN_OR_RETURN(Partial p, exec.RunPartial(c));
    out.push_back(std::move(p));
  }
  return out;
}

absl::StatusOr<QueryResult> FinishPartial(Index& index, const Partial& p,
                                          const QueryOptions& options) {
  FB_ASSIGN_OR_RETURN(pql::Query q, pql::Parse(p.call));
  if (q.calls.size() != 1) {
    return absl::InvalidArgumentError(
        fmt::format("finish partial result: \"{}\" is not one call", p.call));
  }
  Executor exec(index, options);
  return exec.FinishPartial(q.calls[0], p);
}

namespace {

bool IsWrite(const Call& c) {
  const Call& call =
      c.name == "Options" && c.children.size() == 1 ? c.children[0] : c;
  const std::string& n = call.name;
  return n == "Set" || n == "Clear" || n == "ClearRow" || n == "Store" ||
         n == "Delete";
}

// The failure of call `i` (0-based) of `query` after the calls before it
// ran: a caller must learn that the writes among them stay applied.
absl::Status FailedAfterWrites(const absl::Status& s, const pql::Query& query,
                               size_t i) {
  std::string text = pql::Print(query.calls[i]);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  const std::string applied =
      i == 1 ? "call 1 was applied" : fmt::format("calls 1-{} were applied", i);
  return absl::Status(
      s.code(), fmt::format("call {} of {} ({}) failed: {}; {}", i + 1,
                            query.calls.size(), text, Message(s), applied));
}

}  // namespace

absl::StatusOr<QueryResponse> Execute(Index& index, const pql::Query& query,
                                      const QueryOptions& options) {
  QueryResponse response;
  Executor exec(index, options);
  bool wrote = false;
  for (size_t i = 0; i < query.calls.size(); ++i) {
    absl::StatusOr<QueryResult> r = exec.Run(query.calls[i]);
    if (!r.ok()) {
      if (!wrote) return r.status();
      return FailedAfterWrites(r.status(), query, i);
    }
    wrote |= IsWrite(query.calls[i]);
    response.results.push_back(*std::move(r));
  }
  return response;
}

}  // namespace featurebase::internal

namespace featurebase {

std::string QueryResponse::ToJson() const {
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) out += ',';
    out += results[i].json();
  }
  out += "]}";
  return out;
}

std::string ErrorJson(const Status& status) {
  std::string out = "{\"error\":";
  internal::AppendJsonString(&out, internal::Message(status));
  out += "}";
  return out;
}

}  // namespace featurebase
