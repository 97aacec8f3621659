#include "lib/query/executor.h"

#include <algorithm>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/time/time.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/core/index_state.h"
#include "lib/query/json.h"
#include "lib/query/thread_pool.h"
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
  Executor(Index& index, const QueryOptions& options) : index_(index) {
    pool_ = options.threads == 1 ? nullptr : &ThreadPool::Default();
  }

  absl::StatusOr<QueryResult> Run(const Call& c) {
    Refresh();
    const Call* call = &c;
    if (c.name == "Options") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      if (const pql::Arg* a = c.Find("shards")) {
        if (a->value.kind != PKind::kList)
          return CallError(c, "shards must be a list");
        std::set<uint64_t> wanted;
        for (const auto& v : a->value.list) {
          if (v.kind != PKind::kInt || v.i < 0)
            return CallError(c, "shards must be integers");
          wanted.insert(uint64_t(v.i));
        }
        std::erase_if(shards_, [&](uint64_t s) { return !wanted.count(s); });
      }
      call = &c.children[0];
    }
    return Dispatch(*call);
  }

 private:
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
    }
    shards_.assign(shards.begin(), shards.end());
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
        return CallError(c, "expects exactly one field argument");
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
      return CallError(
          c, fmt::format(
                 "field \"{}\" is a {} field: compare it, e.g. Row({} > 5)",
                 f->name, FieldTypeName(f->options.type), f->name));
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
    std::optional<Bitmap> filter;
    if (c.children.size() > 1) return CallError(c, "expects at most one call");
    if (c.children.size() == 1) {
      FB_ASSIGN_OR_RETURN(Node kid, PlanRow(c.children[0]));
      filter = EvalGlobal(kid);
    }
    Bitmap rows;
    const View* view = f->views.Find(kStandardView);
    if (view != nullptr) {
      view->ForEach([&](uint64_t shard, const Fragment& frag) {
        const Roaring32* fb =
            filter ? BitmapAccess::Shard(*filter, shard) : nullptr;
        if (filter && fb == nullptr) return true;
        frag.rows().ForEach([&](uint64_t row, const RowPtr& p) {
          if (fb == nullptr || Roaring32::Intersects(p->bits, *fb))
            rows.Add(row);
          return true;
        });
        return true;
      });
    }
    return Const(std::move(rows));
  }

  // ---------------------------------------------------------------- evaluation

  Bits Eval(const Node& n, uint64_t shard) const {
    Bits out;
    switch (n.kind) {
      case NodeKind::kEmpty:
        return out;
      case NodeKind::kRow: {
        std::vector<const Roaring32*> parts;
        for (uint64_t vk : n.views) {
          const Fragment* frag = n.field->FindFragment(vk, shard);
          if (frag == nullptr) continue;
          if (const Roaring32* r = frag->Row(n.row)) parts.push_back(r);
        }
        if (parts.size() == 1) {
          out.ref = parts[0];
        } else if (parts.size() > 1) {
          out.own = Roaring32::OrMany(parts);
        }
        return out;
      }
      case NodeKind::kAll: {
        const Fragment* frag = st_->exists.Find(shard);
        if (frag != nullptr) {
          if (const Roaring32* r = frag->Row(0)) out.ref = r;
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
          if (const Roaring32* r = frag->Row(0)) out.ref = r;
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
    if (n == "Count") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
      const uint64_t count = CountGlobal(node);
      return QueryResult::Number(QueryResult::Kind::kCount, count,
                                 fmt::format("{}", count));
    }
    if (n == "IncludesColumn") {
      if (c.children.size() != 1)
        return CallError(c, "expects exactly one call");
      FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column"));
      FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
      const bool has =
          Eval(node, ShardOf(col)).get().Contains(OffsetInShard(col));
      return QueryResult::Number(QueryResult::Kind::kBool, has,
                                 has ? "true" : "false");
    }
    if (n == "TopN" || n == "TopK") return TopN(c);
    if (n == "Rows") {
      FB_ASSIGN_OR_RETURN(RowsPlan rp, PlanRows(c));
      FB_ASSIGN_OR_RETURN(std::vector<uint64_t> rows, RunRows(rp));
      std::string out = rp.field->row_keys ? "{\"keys\":[" : "{\"rows\":[";
      for (size_t i = 0; i < rows.size(); ++i) {
        if (i) out += ',';
        if (rp.field->row_keys) {
          auto key = rp.field->row_keys->TranslateId(rows[i]);
          AppendJsonString(&out, key.ok() ? *key : std::string());
        } else {
          fmt::format_to(std::back_inserter(out), "{}", rows[i]);
        }
      }
      out += "]}";
      return QueryResult(QueryResult::Kind::kRowIds, std::move(out));
    }
    if (n == "MinRow" || n == "MaxRow") return MinMaxRow(c);
    if (n == "GroupBy") return GroupBy(c);
    if (n == "Extract") return Extract(c);
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
    if (n == "Sum" || n == "Min" || n == "Max") return SumMinMax(c);
    if (n == "Percentile") return Percentile(c);
    if (n == "FieldValue") return FieldValueCall(c);
    if (n == "Sort") return Sort(c);
    if (n == "Distinct") {
      FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
      FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
      if (f->bsi) return DistinctValues(c, *f);
    }
    // Every row call.
    FB_ASSIGN_OR_RETURN(Node node, PlanRow(c));
    Bitmap b = EvalGlobal(node);
    std::string json = ColumnsJson(b);
    return QueryResult::Row(std::move(b), std::move(json));
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
      if (found != nullptr)
        return CallError(c, "expects exactly one field argument");
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
    FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, arg->value));
    absl::StatusOr<bool> changed = set ? index_.Set(col, f->name, row, ts)
                                       : index_.Clear(col, f->name, row);
    if (!changed.ok()) return changed.status();
    return QueryResult::Number(QueryResult::Kind::kBool, *changed,
                               *changed ? "true" : "false");
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

  absl::StatusOr<std::vector<uint64_t>> RunRows(const RowsPlan& p) {
    const std::vector<uint64_t> rows =
        ScanRows(*p.field, p.views, p.previous, p.column);
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

  absl::StatusOr<QueryResult> TopN(const Call& c) {
    const bool topk = c.name == "TopK";
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    if (IsBsi(f->options.type)) {
      return CallError(c, fmt::format("field \"{}\" is a {} field", name,
                                      FieldTypeName(f->options.type)));
    }
    FB_ASSIGN_OR_RETURN(uint64_t n, UintArg(c, topk ? "k" : "n", 0));
    FB_ASSIGN_OR_RETURN(uint64_t threshold, UintArg(c, "threshold", 1));
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
    // Per shard exact counts, merged.
    std::vector<absl::flat_hash_map<uint64_t, uint64_t>> per(shards_.size());
    ForShards([&](size_t i) {
      const uint64_t shard = shards_[i];
      std::optional<Bits> fb;
      if (filter) fb = Eval(*filter, shard);
      if (fb && fb->get().IsEmpty()) return;
      if (views.size() == 1) {
        const Fragment* frag = f->FindFragment(views[0], shard);
        if (frag == nullptr) return;
        frag->rows().ForEach([&](uint64_t row, const RowPtr& p) {
          if (ids && !ids->count(row)) return true;
          const uint64_t cnt =
              fb ? Roaring32::AndCardinality(p->bits, fb->get())
                 : p->bits.Cardinality();
          if (cnt > 0) per[i][row] += cnt;
          return true;
        });
        return;
      }
      std::map<uint64_t, std::vector<const Roaring32*>> parts;
      for (uint64_t vk : views) {
        const Fragment* frag = f->FindFragment(vk, shard);
        if (frag == nullptr) continue;
        frag->rows().ForEach([&](uint64_t row, const RowPtr& p) {
          if (!ids || ids->count(row)) parts[row].push_back(&p->bits);
          return true;
        });
      }
      for (const auto& [row, bits] : parts) {
        Roaring32 u = Roaring32::OrMany(bits);
        const uint64_t cnt =
            fb ? Roaring32::AndCardinality(u, fb->get()) : u.Cardinality();
        if (cnt > 0) per[i][row] += cnt;
      }
    });
    absl::flat_hash_map<uint64_t, uint64_t> total;
    for (auto& m : per) {
      for (const auto& [row, cnt] : m) total[row] += cnt;
    }
    std::vector<RowCount> out;
    for (const auto& [row, cnt] : total) {
      if (cnt >= threshold) out.push_back({row, cnt});
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

  absl::StatusOr<QueryResult> MinMaxRow(const Call& c) {
    FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
    std::optional<Bitmap> filter;
    if (c.children.size() > 1) return CallError(c, "expects at most one call");
    if (c.children.size() == 1) {
      FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
      filter = EvalGlobal(node);
    }
    FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
    auto got = c.name == "MinRow"
                   ? snap_->MinRow(name, filter ? &*filter : nullptr)
                   : snap_->MaxRow(name, filter ? &*filter : nullptr);
    if (!got.ok()) return got.status();
    const RowCount rc = got->value_or(RowCount{0, 0});
    std::string json =
        "{" + RowIdJson(*f, rc.row) + fmt::format(",\"count\":{}}}", rc.count);
    return QueryResult(QueryResult::Kind::kRowPair, std::move(json));
  }

  // ---- GroupBy

  struct Group {
    std::vector<uint64_t> rows;
    uint64_t count = 0;
    __int128 agg = 0;  // stored-value sum with aggregate=Sum
  };

  absl::StatusOr<QueryResult> GroupBy(const Call& c) {
    if (c.children.empty())
      return CallError(c, "requires at least one Rows call");
    std::vector<RowsPlan> plans;
    std::vector<std::vector<uint64_t>> candidates;
    for (const Call& k : c.children) {
      if (k.name != "Rows") return CallError(c, "children must be Rows calls");
      FB_ASSIGN_OR_RETURN(RowsPlan p, PlanRows(k));
      FB_ASSIGN_OR_RETURN(std::vector<uint64_t> rows, RunRows(p));
      plans.push_back(std::move(p));
      candidates.push_back(std::move(rows));
    }
    std::optional<Node> filter;
    if (const pql::Arg* a = c.Find("filter")) {
      if (a->value.kind != PKind::kCall)
        return CallError(c, "filter must be a call");
      FB_ASSIGN_OR_RETURN(filter, PlanRow(*a->value.call));
    }
    // aggregate=Sum(field=f): per group, the sum of f; count then counts
    // only records with a value (FeatureBase's rule).
    const FieldState* agg = nullptr;
    if (const pql::Arg* a = c.Find("aggregate")) {
      if (a->value.kind != PKind::kCall || a->value.call->name != "Sum") {
        return CallError(c, "aggregate must be Sum(field=...)");
      }
      FB_ASSIGN_OR_RETURN(agg, ValueField(*a->value.call));
    }
    FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
    FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
    std::optional<std::vector<uint64_t>> previous;
    if (const pql::Arg* a = c.Find("previous")) {
      if (a->value.kind != PKind::kList ||
          a->value.list.size() != plans.size()) {
        return CallError(c, "previous must list one row per Rows call");
      }
      previous.emplace();
      for (size_t i = 0; i < plans.size(); ++i) {
        FB_ASSIGN_OR_RETURN(Value rv,
                            RowValue(c, *plans[i].field, a->value.list[i]));
        FB_ASSIGN_OR_RETURN(std::optional<uint64_t> id,
                            ResolveRow(*plans[i].field, rv, "GroupBy()"));
        previous->push_back(id.value_or(0));
      }
    }
    // having=Condition(count <op> v)
    std::optional<pql::Condition> having;
    if (const pql::Arg* a = c.Find("having")) {
      if (a->value.kind != PKind::kCall || a->value.call->name != "Condition" ||
          a->value.call->args.size() != 1 ||
          a->value.call->args[0].key != "count" ||
          a->value.call->args[0].value.kind != PKind::kCondition) {
        return CallError(c, "having must be Condition(count <op> value)");
      }
      having = *a->value.call->args[0].value.cond;
    }
    // sort="count desc" / "count asc"
    std::optional<bool> sort_desc;
    if (const pql::Arg* a = c.Find("sort")) {
      if (a->value.kind != PKind::kString)
        return CallError(c, "sort must be a string");
      std::string s = a->value.s;
      if (s == "count desc" || s == "count DESC") {
        sort_desc = true;
      } else if (s == "count asc" || s == "count ASC" || s == "count") {
        sort_desc = false;
      } else {
        return CallError(c, fmt::format("unsupported sort \"{}\" (want \"count "
                                        "desc\" or \"count asc\")",
                                        s));
      }
    }
    FB_ASSIGN_OR_RETURN(auto keep, HavingPredicate(c, having));
    // Walk groups in order of the first field's rows; each step computes all
    // groups under one first-field row across shards, so memory stays
    // bounded by the groups kept plus one row's worth.
    std::vector<Group> out;
    const bool need_all = sort_desc.has_value();
    const uint64_t want = limit == UINT64_MAX ? UINT64_MAX : limit + offset;
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
    if (plans.size() >= 3 && limit == UINT64_MAX && offset == 0 && !previous &&
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
      if (!previous || r0 >= (*previous)[0]) firsts.push_back(r0);
    }
    const size_t chunk = need_all || want == UINT64_MAX ? 16 : 1;
    bool enough = false;
    for (size_t begin = 0; begin < firsts.size() && !enough; begin += chunk) {
      const size_t n = std::min(chunk, firsts.size() - begin);
      std::vector<std::vector<std::vector<Group>>> per(
          n, std::vector<std::vector<Group>>(shards_.size()));
      ForShards([&](size_t i) {
        for (size_t j = 0; j < n; ++j) {
          GroupShard(wplans, wcandidates, filter, agg, shards_[i],
                     firsts[begin + j], &per[j][i]);
        }
      });
      for (size_t j = 0; j < n && !enough; ++j) {
        std::map<std::vector<uint64_t>, std::pair<uint64_t, __int128>> merged;
        for (auto& v : per[j]) {
          for (auto& g : v) {
            auto& m = merged[g.rows];
            m.first += g.count;
            m.second += g.agg;
          }
        }
        for (auto& [rows, ca] : merged) {
          if (previous && rows <= *previous) continue;
          if (!keep(ca.first)) continue;
          out.push_back({rows, ca.first, ca.second});
        }
        if (!need_all && out.size() >= want) enough = true;
      }
    }
    if (reordered) {
      for (Group& g : out) {
        std::vector<uint64_t> rows(g.rows.size());
        for (size_t k = 0; k < order.size(); ++k) rows[order[k]] = g.rows[k];
        g.rows = std::move(rows);
      }
      std::sort(out.begin(), out.end(),
                [](const Group& a, const Group& b) { return a.rows < b.rows; });
    }
    if (sort_desc) {
      std::stable_sort(
          out.begin(), out.end(), [&](const Group& a, const Group& b) {
            return *sort_desc ? a.count > b.count : a.count < b.count;
          });
    }
    const size_t begin = std::min<size_t>(offset, out.size());
    const size_t end = limit == UINT64_MAX
                           ? out.size()
                           : std::min<size_t>(out.size(), begin + limit);
    std::string json = "[";
    for (size_t i = begin; i < end; ++i) {
      if (i > begin) json += ',';
      json += "{\"group\":[";
      for (size_t k = 0; k < plans.size(); ++k) {
        if (k) json += ',';
        json += "{\"field\":";
        AppendJsonString(&json, plans[k].field->name);
        json += "," +
                RowIdJson(*plans[k].field, out[i].rows[k], "rowID", "rowKey") +
                "}";
      }
      json += fmt::format("],\"count\":{}", out[i].count);
      if (agg != nullptr) {
        json += ",\"agg\":" + agg->bsi->FormatSum(agg->bsi->RawSum(
                                  BsiSum{out[i].agg, out[i].count}));
      }
      json += "}";
    }
    json += "]";
    return QueryResult(QueryResult::Kind::kGroups, std::move(json));
  }

  absl::StatusOr<std::function<bool(uint64_t)>> HavingPredicate(
      const Call& c, const std::optional<pql::Condition>& h) {
    if (!h) return std::function<bool(uint64_t)>([](uint64_t) { return true; });
    auto num = [&](const pql::Value& v) -> absl::StatusOr<int64_t> {
      if (v.kind == PKind::kInt) return v.i;
      return CallError(c, "having compares count with integers");
    };
    FB_ASSIGN_OR_RETURN(int64_t a, num(h->value));
    int64_t b = 0;
    if (h->op >= pql::Op::kBetweenLtLt) {
      FB_ASSIGN_OR_RETURN(b, num(h->value2));
    }
    const pql::Op op = h->op;
    return std::function<bool(uint64_t)>([=](uint64_t cnt) {
      const __int128 x = cnt;
      switch (op) {
        case pql::Op::kEq:
          return x == a;
        case pql::Op::kNeq:
          return x != a;
        case pql::Op::kLt:
          return x < a;
        case pql::Op::kLte:
          return x <= a;
        case pql::Op::kGt:
          return x > a;
        case pql::Op::kGte:
          return x >= a;
        case pql::Op::kBetweenLtLt:
          return a < x && x < b;
        case pql::Op::kBetweenLteLt:
          return a <= x && x < b;
        case pql::Op::kBetweenLtLte:
          return a < x && x <= b;
        case pql::Op::kBetweenLteLte:
          return a <= x && x <= b;
      }
      return false;
    });
  }

  // Groups whose first row is r0, in one shard, by depth-first
  // intersection with early pruning; the last level uses fused counts.
  void GroupShard(const std::vector<RowsPlan>& plans,
                  const std::vector<std::vector<uint64_t>>& candidates,
                  const std::optional<Node>& filter, const FieldState* agg,
                  uint64_t shard, uint64_t r0, std::vector<Group>* out) const {
    const BsiShard* agg_shard = agg ? agg->bsi_shards.Find(shard) : nullptr;
    if (agg != nullptr && agg_shard == nullptr) return;
    // A finished group: with an aggregate, only records with a value count.
    auto emit = [&](const std::vector<uint64_t>& rows, const Roaring32& bits,
                    uint64_t plain_count) {
      if (agg == nullptr) {
        out->push_back({rows, plain_count, 0});
        return;
      }
      const BsiSum s = agg_shard->Sum(&bits);
      if (s.count > 0) out->push_back({rows, s.count, s.sum});
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
              if (agg != nullptr) {
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
    FB_ASSIGN_OR_RETURN(__int128 a, PredicateValue(c, f, cond.value));
    switch (cond.op) {
      case pql::Op::kEq:
        node.predicate = spec.Translate(BsiOp::kEq, a);
        return node;
      case pql::Op::kNeq:
        node.predicate = spec.Translate(BsiOp::kNeq, a);
        return node;
      case pql::Op::kLt:
        node.predicate = spec.Translate(BsiOp::kLt, a);
        return node;
      case pql::Op::kLte:
        node.predicate = spec.Translate(BsiOp::kLte, a);
        return node;
      case pql::Op::kGt:
        node.predicate = spec.Translate(BsiOp::kGt, a);
        return node;
      case pql::Op::kGte:
        node.predicate = spec.Translate(BsiOp::kGte, a);
        return node;
      default: {
        FB_ASSIGN_OR_RETURN(__int128 b, PredicateValue(c, f, cond.value2));
        const bool lo_incl = cond.op == pql::Op::kBetweenLteLt ||
                             cond.op == pql::Op::kBetweenLteLte;
        const bool hi_incl = cond.op == pql::Op::kBetweenLtLte ||
                             cond.op == pql::Op::kBetweenLteLte;
        node.predicate = spec.TranslateBetween(a, lo_incl, b, hi_incl);
        return node;
      }
    }
  }

  // A comparison value in raw units of value field `f`; may lie beyond int64
  // (the spec clamps it with FeatureBase's rules).
  absl::StatusOr<__int128> PredicateValue(const Call& c, const FieldState& f,
                                          const pql::Value& v) const {
    const BsiFieldSpec& spec = *f.bsi;
    switch (f.options.type) {
      case FieldType::kInt:
        if (v.kind == PKind::kInt) return __int128(v.i);
        if (v.kind == PKind::kUint) return __int128(v.u);
        return CallError(
            c, fmt::format("field \"{}\" compares with integers", f.name));
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
          return CallError(
              c, fmt::format("field \"{}\" compares with numbers", f.name));
        }
        for (int i = from_scale; i < spec.scale(); ++i) x *= 10;
        for (int i = spec.scale(); i < from_scale; ++i) {
          if (x % 10 != 0) {
            return CallError(
                c,
                fmt::format(
                    "a value has more than {} decimal places for field \"{}\"",
                    spec.scale(), f.name));
          }
          x /= 10;
        }
        return x;
      }
      default: {
        if (v.kind == PKind::kInt) return __int128(spec.base()) + v.i;
        if (v.kind != PKind::kTimestamp && v.kind != PKind::kString) {
          return CallError(
              c, fmt::format("field \"{}\" compares with timestamps", f.name));
        }
        auto units = ParseTimestamp(v.s, spec.unit());
        if (!units.ok())
          return Annotate(units.status(), fmt::format("{}()", c.name));
        return __int128(*units);
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

  absl::StatusOr<QueryResult> SumMinMax(const Call& c) {
    FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
    FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(c));
    const BsiFieldSpec& spec = *f->bsi;
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
      return ValCount(spec.FormatSum(spec.RawSum(total)), total.count);
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
    if (!best) return ValCount("0", 0);
    return ValCount(ValueJson(*f, spec.ToRaw(best->value)), best->count);
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

  absl::StatusOr<QueryResult> FieldValueCall(const Call& c) {
    FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(c));
    FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column"));
    const BsiShard* bs = f->bsi_shards.Find(ShardOf(col));
    const std::optional<int64_t> v =
        bs ? bs->Value(OffsetInShard(col)) : std::nullopt;
    if (!v) return ValCount("0", 0);
    return ValCount(ValueJson(*f, f->bsi->ToRaw(*v)), 1);
  }

  // Records ordered by a value field (ties by record id), then sliced.
  absl::StatusOr<QueryResult> Sort(const Call& c) {
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
        per[i].emplace_back(v, ShardStart(shards_[i]) + off);
      }
    });
    std::vector<std::pair<int64_t, uint64_t>> all;
    for (auto& v : per) all.insert(all.end(), v.begin(), v.end());
    std::sort(all.begin(), all.end(), [&](const auto& a, const auto& b) {
      if (a.first != b.first)
        return desc ? a.first > b.first : a.first < b.first;
      return a.second < b.second;
    });
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

  // Distinct values of a value field among the filtered records.
  absl::StatusOr<QueryResult> DistinctValues(const Call& c,
                                             const FieldState& f) {
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
    for (auto& v : per) all.insert(v.begin(), v.end());
    std::string json = "{\"values\":[";
    bool first = true;
    for (int64_t v : all) {
      if (!first) json += ',';
      first = false;
      json += ValueJson(f, f.bsi->ToRaw(v));
    }
    json += "]}";
    return QueryResult(QueryResult::Kind::kRowIds, std::move(json));
  }

  // ---- Extract

  absl::StatusOr<QueryResult> Extract(const Call& c) {
    if (c.children.empty()) return CallError(c, "requires a row call");
    FB_ASSIGN_OR_RETURN(Node node, PlanRow(c.children[0]));
    std::vector<const FieldState*> fields;
    for (size_t i = 1; i < c.children.size(); ++i) {
      const Call& k = c.children[i];
      if (k.name != "Rows")
        return CallError(c, "fields must be given as Rows calls");
      FB_ASSIGN_OR_RETURN(std::string name, FieldArg(k));
      FB_ASSIGN_OR_RETURN(const FieldState* f, Field(c, name));
      fields.push_back(f);
    }
    const Bitmap cols = EvalGlobal(node);
    const std::vector<uint64_t> ids = cols.ToVector();
    // values[field][column index] = rows of that column.
    std::vector<std::vector<std::vector<uint64_t>>> values(
        fields.size(), std::vector<std::vector<uint64_t>>(ids.size()));
    for (size_t fi = 0; fi < fields.size(); ++fi) {
      const FieldState* f = fields[fi];
      const View* view =
          f->views.Find(f->has_standard_view() ? kStandardView : kStandardView);
      if (view == nullptr) continue;
      for (const auto& chunk : BitmapAccess::Chunks(cols)) {
        const Fragment* frag = view->Find(chunk.key);
        if (frag == nullptr) continue;
        const uint64_t base = ShardStart(chunk.key);
        frag->rows().ForEach([&](uint64_t row, const RowPtr& p) {
          Roaring32 both = Roaring32::And(p->bits, chunk.bits);
          both.ForEach([&](uint32_t off) {
            const uint64_t col = base + off;
            const size_t idx =
                std::lower_bound(ids.begin(), ids.end(), col) - ids.begin();
            values[fi][idx].push_back(row);
          });
          return true;
        });
      }
    }
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
    for (size_t ci = 0; ci < ids.size(); ++ci) {
      if (ci) json += ',';
      json += "{\"column\":";
      if (st_->column_keys) {
        auto key = st_->column_keys->TranslateId(ids[ci]);
        AppendJsonString(&json, key.ok() ? *key : std::string());
      } else {
        json += fmt::format("{}", ids[ci]);
      }
      json += ",\"rows\":[";
      for (size_t fi = 0; fi < fields.size(); ++fi) {
        if (fi) json += ',';
        const FieldState* f = fields[fi];
        const auto& rows = values[fi][ci];
        auto one = [&](uint64_t r) {
          if (f->row_keys) {
            auto key = f->row_keys->TranslateId(r);
            AppendJsonString(&json, key.ok() ? *key : std::string());
          } else {
            json += fmt::format("{}", r);
          }
        };
        if (f->bsi) {
          const BsiShard* bs = f->bsi_shards.Find(ShardOf(ids[ci]));
          const std::optional<int64_t> v =
              bs ? bs->Value(OffsetInShard(ids[ci])) : std::nullopt;
          json += v ? ValueJson(*f, f->bsi->ToRaw(*v)) : "null";
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
  ThreadPool* pool_;
  std::shared_ptr<const Snapshot> snap_;
  const IndexState* st_ = nullptr;
  std::vector<uint64_t> shards_;
};

}  // namespace

absl::StatusOr<QueryResponse> Execute(Index& index, const pql::Query& query,
                                      const QueryOptions& options) {
  QueryResponse response;
  Executor exec(index, options);
  for (const Call& c : query.calls) {
    FB_ASSIGN_OR_RETURN(QueryResult r, exec.Run(c));
    response.results.push_back(std::move(r));
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
