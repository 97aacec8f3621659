// The writes: Set and Clear (of a row, or of a value field's value),
// ClearRow, Store and Delete. They run directly on the index (never as
// partials), each committing before the next call runs.
#include <optional>
#include <string>
#include <utility>

#include "fmt/format.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

// The one `field=row` argument of Set/Clear/ClearRow/Store.
absl::StatusOr<std::pair<const FieldState*, const pql::Arg*>> FieldRowArg(
    ExecState& es, const Call& c) {
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
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, found->key));
  return std::make_pair(f, found);
}

// Set or Clear of value field `f` (int, decimal, timestamp) at `col`.
// Clear clears whatever value is stored, as FeatureBase does; its literal
// must still be one the field compares with.
absl::StatusOr<QueryResult> SetClearValue(ExecState& es, const Call& c,
                                          const FieldState& f, uint64_t col,
                                          const pql::Value& v,
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
    changed = es.index.Set(col, f.name, value, ts);
  } else {
    changed = es.index.Clear(col, f.name, Value::Null());
  }
  if (!changed.ok()) return changed.status();
  return ResultAccess::Number(QueryResult::Kind::kBool, *changed,
                              *changed ? "true" : "false");
}

}  // namespace

absl::StatusOr<QueryResult> SetClear(ExecState& es, const Call& c) {
  if (!c.children.empty()) return CallError(c, "takes no child calls");
  FB_ASSIGN_OR_RETURN(auto fr, FieldRowArg(es, c));
  const auto [f, arg] = fr;
  const bool set = c.name == "Set";
  FB_ASSIGN_OR_RETURN(uint64_t col,
                      ColumnArg(c, "_col", *es.st, set ? &es.index : nullptr));
  std::optional<absl::Time> ts;
  if (const pql::Arg* t = c.Find("_timestamp")) {
    if (!set) return CallError(c, "takes no timestamp");
    FB_ASSIGN_OR_RETURN(ts, ParseTimeArg(c, "timestamp", t->value));
  }
  if (f->bsi) return SetClearValue(es, c, *f, col, arg->value, ts);
  FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, arg->value));
  absl::StatusOr<bool> changed = set ? es.index.Set(col, f->name, row, ts)
                                     : es.index.Clear(col, f->name, row);
  if (!changed.ok()) return changed.status();
  return ResultAccess::Number(QueryResult::Kind::kBool, *changed,
                              *changed ? "true" : "false");
}

absl::StatusOr<QueryResult> ClearRow(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(auto fr, FieldRowArg(es, c));
  const auto [f, arg] = fr;
  if (IsBsi(f->options.type))
    return CallError(c, "cannot clear a row of a value field");
  FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, arg->value));
  FB_ASSIGN_OR_RETURN(bool changed, es.index.ClearRow(f->name, row));
  return ResultAccess::Number(QueryResult::Kind::kBool, changed,
                              changed ? "true" : "false");
}

absl::StatusOr<QueryResult> Store(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  const pql::Arg* found = nullptr;
  for (const pql::Arg& a : c.args) {
    if (!a.key.starts_with("_")) found = &a;
  }
  if (found == nullptr) return CallError(c, "field argument required");
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c.children[0]));
  Bitmap cols = EvalGlobal(es, node);
  if (es.st->FindField(found->key) == nullptr) {
    // FeatureBase creates the destination as a set field.
    FieldOptions o = FieldOptions::Set();
    o.keys = found->value.kind == PKind::kString;
    FB_RETURN_IF_ERROR(es.index.CreateField(found->key, o));
    es.Refresh();
  }
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, found->key));
  FB_ASSIGN_OR_RETURN(Value row, RowValue(c, *f, found->value));
  FB_RETURN_IF_ERROR(es.index.Store(f->name, row, cols));
  return ResultAccess::Number(QueryResult::Kind::kBool, 1, "true");
}

absl::StatusOr<QueryResult> Delete(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c.children[0]));
  FB_ASSIGN_OR_RETURN(bool changed, es.index.Delete(EvalGlobal(es, node)));
  return BoolResult(changed);
}

}  // namespace featurebase::internal
