#include "lib/query/plan.h"

#include <algorithm>
#include <memory>
#include <string>
#include <utility>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

// SQL LIKE with % and _ (no escapes), iterative with backtracking on %.
bool Like(std::string_view s, std::string_view pat) {
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
std::vector<uint64_t> ScanVisitedRows(const ExecState& es, const RowsPlan& p) {
  if (p.previous && *p.previous == UINT64_MAX) return {};
  const uint64_t from = p.previous ? *p.previous + 1 : 0;
  std::vector<uint64_t> out;
  for (uint64_t vk : p.views) {
    for (uint64_t shard : es.shards) {
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

}  // namespace

absl::StatusOr<Node> PlanRow(ExecState& es, const Call& c) {
  const CallSpec* spec = FindCall(c.name);
  if (es.partial && spec != nullptr && !NestsInPartial(*spec, c)) {
    // Their records on one shard depend on other shards.
    return CallError(c,
                     "cannot run inside another call of a partial "
                     "result (its records depend on other shards)");
  }
  if (spec == nullptr || spec->plan == nullptr)
    return CallError(c, "is not a row call");
  return spec->plan(es, c);
}

// Union, Intersect, Difference, Xor.
absl::StatusOr<Node> PlanSetOp(ExecState& es, const Call& c) {
  const std::string& n = c.name;
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
    FB_ASSIGN_OR_RETURN(Node kid, PlanRow(es, k));
    node.kids.push_back(std::move(kid));
  }
  if (!c.args.empty())
    return CallError(c,
                     fmt::format("unexpected argument \"{}\"", c.args[0].key));
  return node;
}

absl::StatusOr<Node> PlanNot(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  FB_RETURN_IF_ERROR(NeedExistence(es, c));
  Node node;
  node.kind = NodeKind::kNot;
  FB_ASSIGN_OR_RETURN(Node kid, PlanRow(es, c.children[0]));
  node.kids.push_back(std::move(kid));
  return node;
}

absl::StatusOr<Node> PlanAll(ExecState& es, const Call& c) {
  FB_RETURN_IF_ERROR(NeedExistence(es, c));
  Node node;
  node.kind = NodeKind::kAll;
  if (c.Find("limit") == nullptr && c.Find("offset") == nullptr) return node;
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  return Const(es, EvalGlobal(es, node).Slice(offset, limit));
}

absl::StatusOr<Node> PlanShift(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  const pql::Arg* a = c.Find("n");
  if (a != nullptr && a->value.kind == PKind::kInt && a->value.i < 0) {
    return CallError(c, "negative shift not supported");
  }
  FB_ASSIGN_OR_RETURN(uint64_t by, UintArg(c, "n", 0));
  FB_ASSIGN_OR_RETURN(Node kid, PlanRow(es, c.children[0]));
  return Const(es, EvalGlobal(es, kid).Shift(by));
}

absl::StatusOr<Node> PlanLimit(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  FB_ASSIGN_OR_RETURN(Node kid, PlanRow(es, c.children[0]));
  return Const(es, EvalGlobal(es, kid).Slice(offset, limit));
}

absl::StatusOr<Node> PlanUnionRows(ExecState& es, const Call& c) {
  Node node;
  node.kind = NodeKind::kUnion;
  for (const Call& k : c.children) {
    if (k.name != "Rows") return CallError(c, "arguments must be Rows calls");
    FB_ASSIGN_OR_RETURN(RowsPlan rp, PlanRows(es, k));
    FB_ASSIGN_OR_RETURN(std::vector<uint64_t> rows, RunRows(es, rp));
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

// A precomputed bitmap; its shards join the shards this query visits
// (Shift can move records into shards that hold no data).
Node Const(ExecState& es, Bitmap b) {
  if (es.restricted) {
    // Only the visited shards count (Options(shards=...), partials).
    std::vector<BitmapChunk> kept;
    for (const auto& c : BitmapAccess::Chunks(b)) {
      if (es.Visits(c.key)) kept.push_back({c.key, c.bits.Copy()});
    }
    b = BitmapAccess::FromChunks(std::move(kept));
  }
  std::vector<uint64_t> extra;
  for (const auto& c : BitmapAccess::Chunks(b)) {
    if (!std::binary_search(es.shards.begin(), es.shards.end(), c.key))
      extra.push_back(c.key);
  }
  if (!extra.empty()) {
    es.shards.insert(es.shards.end(), extra.begin(), extra.end());
    std::sort(es.shards.begin(), es.shards.end());
  }
  Node node;
  node.kind = NodeKind::kConst;
  node.constant = std::make_shared<const Bitmap>(std::move(b));
  return node;
}

absl::Status NeedExistence(const ExecState& es, const Call& c) {
  if (!es.st->options.track_existence) {
    return absl::FailedPreconditionError(
        fmt::format("{}(): index does not support existence tracking", c.name));
  }
  return absl::OkStatus();
}

absl::StatusOr<Node> PlanRowCall(ExecState& es, const Call& c) {
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
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, field_arg->key));
  const pql::Value& v = field_arg->value;
  if (v.kind == PKind::kCondition || v.kind == PKind::kNull) {
    return PlanCondition(es, c, *f, v, range);
  }
  if (IsBsi(f->options.type)) {
    // Row(f=5) on a value field is Row(f == 5), as in FeatureBase.
    pql::Value eq;
    eq.kind = PKind::kCondition;
    eq.pos = v.pos;
    eq.cond = std::make_shared<pql::Condition>();
    eq.cond->op = pql::Op::kEq;
    eq.cond->value = v;
    return PlanCondition(es, c, *f, eq, range);
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
absl::StatusOr<Node> PlanCondition(ExecState& es, const Call& c,
                                   const FieldState& f, const pql::Value& v,
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
    FB_RETURN_IF_ERROR(NeedExistence(es, c));
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
      return PlanRowCall(es, same);
    }
    return CallError(
        c, fmt::format("field \"{}\" ({}) does not support range comparisons",
                       f.name, FieldTypeName(f.options.type)));
  }
  return PlanBsiCondition(c, f, *v.cond, range);
}

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

absl::StatusOr<Node> PlanConstRow(ExecState& es, const Call& c) {
  const pql::Arg* a = c.Find("columns");
  if (a == nullptr || a->value.kind != PKind::kList) {
    return CallError(c, "columns must be a list");
  }
  std::vector<uint64_t> ids;
  for (const auto& v : a->value.list) {
    if (v.kind == PKind::kString) {
      if (!es.st->column_keys)
        return CallError(c, "string columns need a keyed index");
      FB_ASSIGN_OR_RETURN(uint64_t id, es.st->column_keys->FindKey(v.s));
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
  if (es.st->options.track_existence) {
    Node all;
    all.kind = NodeKind::kAll;
    b &= EvalGlobal(es, all);
  }
  return Const(es, std::move(b));
}

absl::Status SameIndexArg(const ExecState& es, const Call& c) {
  const pql::Arg* a = c.Find("index");
  if (a == nullptr) return absl::OkStatus();
  if (a->value.kind != PKind::kString)
    return CallError(c, "index must be a name");
  if (a->value.s != es.st->name) {
    return CallError(c, fmt::format("index \"{}\" is not the queried index "
                                    "\"{}\" (a query reads one index)",
                                    a->value.s, es.st->name));
  }
  return absl::OkStatus();
}

absl::StatusOr<Node> PlanDistinct(ExecState& es, const Call& c) {
  FB_RETURN_IF_ERROR(SameIndexArg(es, c));
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  if (f->bsi) {
    return CallError(
        c, fmt::format("the distinct values of {} field \"{}\" are not "
                       "records: use Distinct at the top level or in Count",
                       FieldTypeName(f->options.type), name));
  }
  FB_ASSIGN_OR_RETURN(Bitmap rows, DistinctRows(es, c, *f));
  return Const(es, std::move(rows));
}

// The rows of set-like field `f` (standard view) holding any record of
// the optional filter child of `c`.
absl::StatusOr<Bitmap> DistinctRows(ExecState& es, const Call& c,
                                    const FieldState& f) {
  std::optional<Bitmap> filter;
  if (c.children.size() > 1) return CallError(c, "expects at most one call");
  if (c.children.size() == 1) {
    FB_ASSIGN_OR_RETURN(Node kid, PlanRow(es, c.children[0]));
    filter = EvalGlobal(es, kid);
  }
  Bitmap rows;
  const View* view = f.views.Find(kStandardView);
  if (view != nullptr) {
    view->ForEach([&](uint64_t shard, const Fragment& frag) {
      if (es.restricted && !es.Visits(shard)) return true;
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

// The optional filter: a child call, or filter=<call>.
absl::StatusOr<std::optional<Node>> FilterArg(ExecState& es, const Call& c) {
  if (c.children.size() > 1) return CallError(c, "expects at most one call");
  if (c.children.size() == 1) {
    FB_ASSIGN_OR_RETURN(Node n, PlanRow(es, c.children[0]));
    return std::optional<Node>(std::move(n));
  }
  if (const pql::Arg* a = c.Find("filter")) {
    if (a->value.kind != PKind::kCall)
      return CallError(c, "filter must be a call");
    FB_ASSIGN_OR_RETURN(Node n, PlanRow(es, *a->value.call));
    return std::optional<Node>(std::move(n));
  }
  return std::optional<Node>();
}

// The value field named by the call, or InvalidArgument.
absl::StatusOr<const FieldState*> ValueField(const ExecState& es,
                                             const Call& c) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  if (!f->bsi) {
    return CallError(
        c,
        fmt::format("field \"{}\" is a {} field, not int, decimal or timestamp",
                    name, FieldTypeName(f->options.type)));
  }
  return f;
}

absl::StatusOr<RowsPlan> PlanRows(ExecState& es, const Call& c) {
  RowsPlan p;
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(p.field, es.Field(c, name));
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
      if (!p.field->row_keys) return CallError(c, "previous must be a row id");
      FB_ASSIGN_OR_RETURN(uint64_t id, p.field->row_keys->FindKey(a->value.s));
      p.previous = id;
    } else {
      FB_ASSIGN_OR_RETURN(p.previous, OptUintArg(c, "previous"));
    }
  }
  FB_ASSIGN_OR_RETURN(p.limit, UintArg(c, "limit", 0));
  if (c.Find("column") != nullptr) {
    FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column", *es.st));
    p.column = col;
  }
  if (const pql::Arg* a = c.Find("like")) {
    if (a->value.kind != PKind::kString)
      return CallError(c, "like must be a string");
    if (!p.field->row_keys) return CallError(c, "like needs a keyed field");
    p.like = a->value.s;
  }
  if (const pql::Arg* a = c.Find("in")) {
    if (a->value.kind != PKind::kList) return CallError(c, "in must be a list");
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

absl::StatusOr<std::vector<uint64_t>> RunRows(ExecState& es,
                                              const RowsPlan& p) {
  const std::vector<uint64_t> rows =
      es.restricted ? ScanVisitedRows(es, p)
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

}  // namespace featurebase::internal
