// The builder makes exactly the trees lib/pql/parser.cc makes for the
// canonical text (argument keys, positional "_field", child order), so a
// builder call and its ToPql() text run identically.
#include "featurebase/query_builder.h"

#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "lib/bsi/value_codec.h"
#include "lib/pql/ast.h"
#include "lib/pql/printer.h"
#include "lib/query/builder_access.h"
#include "lib/query/executor.h"

namespace featurebase {
namespace pql {
namespace {

namespace ast = internal::pql;
using internal::BuilderAccess;
using AKind = ast::Value::Kind;

ast::Value Lit(const Value& v) {
  ast::Value out;
  switch (v.kind()) {
    case Value::Kind::kNull:
      break;
    case Value::Kind::kId:
      if (v.id() > uint64_t(INT64_MAX)) {
        out.kind = AKind::kUint;
        out.u = v.id();
      } else {
        out.kind = AKind::kInt;
        out.i = int64_t(v.id());
      }
      break;
    case Value::Kind::kKey:
      out.kind = AKind::kString;
      out.s = v.key();
      break;
    case Value::Kind::kBool:
      out.kind = AKind::kBool;
      out.b = v.boolean();
      break;
    case Value::Kind::kInt:
      out.kind = AKind::kInt;
      out.i = v.integer();
      break;
    case Value::Kind::kDecimal:
      out.kind = AKind::kDecimal;
      out.d = ast::Decimal{v.unscaled(), v.scale()};
      break;
    case Value::Kind::kTimestamp:
      out.kind = AKind::kTimestamp;
      out.s = internal::FormatRfc3339(v.timestamp());
      break;
  }
  return out;
}

ast::Value IntLit(uint64_t v) { return Lit(Value::Id(v)); }

ast::Value StrLit(std::string s) {
  ast::Value out;
  out.kind = AKind::kString;
  out.s = std::move(s);
  return out;
}

ast::Value CallLit(const Call& c) {
  ast::Value out;
  out.kind = AKind::kCall;
  out.call = std::make_shared<ast::Call>(BuilderAccess::Node(c));
  return out;
}

void AddArg(ast::Call& c, std::string key, ast::Value v) {
  ast::Arg a;
  a.key = std::move(key);
  a.value = std::move(v);
  c.args.push_back(std::move(a));
}

void AddRange(ast::Call& c, const TimeRange& range) {
  if (range.from) AddArg(c, "from", Lit(Value::Timestamp(*range.from)));
  if (range.to) AddArg(c, "to", Lit(Value::Timestamp(*range.to)));
}

ast::Call Named(std::string name) {
  ast::Call c;
  c.name = std::move(name);
  return c;
}

ast::Call WithField(std::string name, std::string field) {
  ast::Call c = Named(std::move(name));
  AddArg(c, "_field", StrLit(std::move(field)));
  return c;
}

Call Nary(std::string name, const std::vector<Call>& rows) {
  ast::Call c = Named(std::move(name));
  for (const Call& r : rows) c.children.push_back(BuilderAccess::Node(r));
  return BuilderAccess::Make(std::move(c));
}

Call Aggregate(std::string name, std::string field,
               const std::optional<Call>& filter) {
  ast::Call c = WithField(std::move(name), std::move(field));
  if (filter) c.children.push_back(BuilderAccess::Node(*filter));
  return BuilderAccess::Make(std::move(c));
}

ast::Op OpOf(const Condition& c) {
  switch (c.op()) {
    case Condition::Op::kEq:
      return ast::Op::kEq;
    case Condition::Op::kNeq:
      return ast::Op::kNeq;
    case Condition::Op::kLt:
      return ast::Op::kLt;
    case Condition::Op::kLte:
      return ast::Op::kLte;
    case Condition::Op::kGt:
      return ast::Op::kGt;
    case Condition::Op::kGte:
      return ast::Op::kGte;
    case Condition::Op::kBetween:
      break;
  }
  switch (c.bounds()) {
    case Bounds::kOpen:
      return ast::Op::kBetweenLtLt;
    case Bounds::kClosedOpen:
      return ast::Op::kBetweenLteLt;
    case Bounds::kOpenClosed:
      return ast::Op::kBetweenLtLte;
    case Bounds::kClosed:
      break;
  }
  return ast::Op::kBetweenLteLte;
}

ast::Value CondLit(const Condition& condition) {
  auto cond = std::make_shared<ast::Condition>();
  cond->op = OpOf(condition);
  cond->value = Lit(condition.value());
  if (condition.op() == Condition::Op::kBetween)
    cond->value2 = Lit(condition.upper());
  ast::Value v;
  v.kind = AKind::kCondition;
  v.cond = std::move(cond);
  return v;
}

ast::Value ListLit(const std::vector<RowRef>& items) {
  ast::Value list;
  list.kind = AKind::kList;
  for (const RowRef& r : items) list.list.push_back(Lit(r.value()));
  return list;
}

// field=<value> calls: Distinct, FieldValue, Sort (no positional field).
ast::Call WithFieldArg(std::string name, std::string field) {
  ast::Call c = Named(std::move(name));
  AddArg(c, "field", StrLit(std::move(field)));
  return c;
}

}  // namespace

std::string Call::ToPql() const { return ast::Print(*node_); }
const std::string& Call::name() const { return node_->name; }

Call Row(std::string field, const RowRef& row, const TimeRange& range) {
  ast::Call c = Named("Row");
  AddArg(c, std::move(field), Lit(row.value()));
  AddRange(c, range);
  return BuilderAccess::Make(std::move(c));
}

Call Row(const Condition& condition) {
  ast::Call c = Named("Row");
  AddArg(c, condition.field(), CondLit(condition));
  return BuilderAccess::Make(std::move(c));
}

Call Union(std::vector<Call> rows) { return Nary("Union", rows); }
Call Intersect(std::vector<Call> rows) { return Nary("Intersect", rows); }
Call Difference(std::vector<Call> rows) { return Nary("Difference", rows); }
Call Xor(std::vector<Call> rows) { return Nary("Xor", rows); }
Call Not(const Call& row) { return Nary("Not", {row}); }
Call All() { return Nary("All", {}); }

Call Shift(const Call& row, uint64_t by) {
  ast::Call c = Named("Shift");
  c.children.push_back(BuilderAccess::Node(row));
  AddArg(c, "n", IntLit(by));
  return BuilderAccess::Make(std::move(c));
}

Call Limit(const Call& row, std::optional<uint64_t> limit,
           std::optional<uint64_t> offset) {
  ast::Call c = Named("Limit");
  c.children.push_back(BuilderAccess::Node(row));
  if (limit) AddArg(c, "limit", IntLit(*limit));
  if (offset) AddArg(c, "offset", IntLit(*offset));
  return BuilderAccess::Make(std::move(c));
}

Call ConstRow(std::vector<uint64_t> columns) {
  ast::Value list;
  list.kind = AKind::kList;
  for (uint64_t id : columns) list.list.push_back(IntLit(id));
  ast::Call c = Named("ConstRow");
  AddArg(c, "columns", std::move(list));
  return BuilderAccess::Make(std::move(c));
}

Call ConstRow(std::vector<std::string> keys) {
  ast::Value list;
  list.kind = AKind::kList;
  for (std::string& k : keys) list.list.push_back(StrLit(std::move(k)));
  ast::Call c = Named("ConstRow");
  AddArg(c, "columns", std::move(list));
  return BuilderAccess::Make(std::move(c));
}

Call Count(const Call& row) { return Nary("Count", {row}); }

Call TopN(std::string field, const TopNArgs& args) {
  ast::Call c = WithField("TopN", std::move(field));
  if (args.filter) c.children.push_back(BuilderAccess::Node(*args.filter));
  if (args.n) AddArg(c, "n", IntLit(*args.n));
  if (args.threshold) AddArg(c, "threshold", IntLit(*args.threshold));
  if (args.tanimoto_threshold)
    AddArg(c, "tanimotoThreshold", IntLit(*args.tanimoto_threshold));
  if (!args.ids.empty()) AddArg(c, "ids", ListLit(args.ids));
  return BuilderAccess::Make(std::move(c));
}

Call Rows(std::string field, const RowsArgs& args) {
  ast::Call c = WithField("Rows", std::move(field));
  if (args.previous) AddArg(c, "previous", IntLit(*args.previous));
  if (args.limit) AddArg(c, "limit", IntLit(*args.limit));
  if (args.column) AddArg(c, "column", IntLit(*args.column));
  AddRange(c, args.range);
  if (args.like) AddArg(c, "like", StrLit(*args.like));
  if (args.in) AddArg(c, "in", ListLit(*args.in));
  return BuilderAccess::Make(std::move(c));
}

Call Sum(std::string field, std::optional<Call> filter) {
  return Aggregate("Sum", std::move(field), filter);
}
Call Min(std::string field, std::optional<Call> filter) {
  return Aggregate("Min", std::move(field), filter);
}
Call Max(std::string field, std::optional<Call> filter) {
  return Aggregate("Max", std::move(field), filter);
}

Call GroupBy(std::vector<Call> rows, const GroupByArgs& args) {
  ast::Call c = Named("GroupBy");
  for (const Call& r : rows) c.children.push_back(BuilderAccess::Node(r));
  if (args.filter) AddArg(c, "filter", CallLit(*args.filter));
  if (args.limit) AddArg(c, "limit", IntLit(*args.limit));
  if (args.offset) AddArg(c, "offset", IntLit(*args.offset));
  if (args.aggregate) AddArg(c, "aggregate", CallLit(*args.aggregate));
  if (args.having) {
    ast::Call cond = Named("Condition");
    AddArg(cond, args.having->field(), CondLit(*args.having));
    ast::Value v;
    v.kind = AKind::kCall;
    v.call = std::make_shared<ast::Call>(std::move(cond));
    AddArg(c, "having", std::move(v));
  }
  if (args.sort) AddArg(c, "sort", StrLit(*args.sort));
  if (!args.previous.empty()) AddArg(c, "previous", ListLit(args.previous));
  return BuilderAccess::Make(std::move(c));
}

Call Extract(const Call& filter, std::vector<Call> fields) {
  ast::Call c = Named("Extract");
  c.children.push_back(BuilderAccess::Node(filter));
  for (const Call& f : fields) c.children.push_back(BuilderAccess::Node(f));
  return BuilderAccess::Make(std::move(c));
}

Call Distinct(std::string field, std::optional<Call> filter) {
  ast::Call c = Named("Distinct");
  if (filter) c.children.push_back(BuilderAccess::Node(*filter));
  AddArg(c, "field", StrLit(std::move(field)));
  return BuilderAccess::Make(std::move(c));
}

Call CountDistinct(std::string field, std::optional<Call> filter) {
  return Count(Distinct(std::move(field), std::move(filter)));
}

Call TopK(std::string field, const TopKArgs& args) {
  ast::Call c = WithField("TopK", std::move(field));
  if (args.k) AddArg(c, "k", IntLit(*args.k));
  if (args.filter) AddArg(c, "filter", CallLit(*args.filter));
  AddRange(c, args.range);
  return BuilderAccess::Make(std::move(c));
}

Call Percentile(std::string field, const Operand& nth,
                std::optional<Call> filter) {
  ast::Call c = WithField("Percentile", std::move(field));
  AddArg(c, "nth", Lit(nth.value()));
  if (filter) AddArg(c, "filter", CallLit(*filter));
  return BuilderAccess::Make(std::move(c));
}

Call FieldValue(std::string field, const RowRef& column) {
  ast::Call c = WithFieldArg("FieldValue", std::move(field));
  AddArg(c, "column", Lit(column.value()));
  return BuilderAccess::Make(std::move(c));
}

Call MinRow(std::string field, std::optional<Call> filter) {
  return Aggregate("MinRow", std::move(field), filter);
}
Call MaxRow(std::string field, std::optional<Call> filter) {
  return Aggregate("MaxRow", std::move(field), filter);
}

Call IncludesColumn(const Call& row, const RowRef& column) {
  ast::Call c = Named("IncludesColumn");
  c.children.push_back(BuilderAccess::Node(row));
  AddArg(c, "column", Lit(column.value()));
  return BuilderAccess::Make(std::move(c));
}

Call Sort(std::string field, const SortArgs& args) {
  ast::Call c = Named("Sort");
  if (args.filter) c.children.push_back(BuilderAccess::Node(*args.filter));
  AddArg(c, "field", StrLit(std::move(field)));
  if (args.desc) AddArg(c, "sort-desc", Lit(Value::Bool(*args.desc)));
  if (args.limit) AddArg(c, "limit", IntLit(*args.limit));
  if (args.offset) AddArg(c, "offset", IntLit(*args.offset));
  return BuilderAccess::Make(std::move(c));
}

Call Options(const Call& call, std::vector<uint64_t> shards) {
  ast::Call c = Named("Options");
  c.children.push_back(BuilderAccess::Node(call));
  ast::Value list;
  list.kind = AKind::kList;
  for (uint64_t s : shards) list.list.push_back(IntLit(s));
  AddArg(c, "shards", std::move(list));
  return BuilderAccess::Make(std::move(c));
}

Call Set(const RowRef& column, std::string field, const Value& value,
         std::optional<absl::Time> timestamp) {
  ast::Call c = Named("Set");
  AddArg(c, "_col", Lit(column.value()));
  AddArg(c, std::move(field), Lit(value));
  if (timestamp) AddArg(c, "_timestamp", Lit(Value::Timestamp(*timestamp)));
  return BuilderAccess::Make(std::move(c));
}

Call Clear(const RowRef& column, std::string field, const Value& value) {
  ast::Call c = Named("Clear");
  AddArg(c, "_col", Lit(column.value()));
  AddArg(c, std::move(field), Lit(value));
  return BuilderAccess::Make(std::move(c));
}

Call ClearRow(std::string field, const RowRef& row) {
  ast::Call c = Named("ClearRow");
  AddArg(c, std::move(field), Lit(row.value()));
  return BuilderAccess::Make(std::move(c));
}

Call Store(const Call& row, std::string field, const RowRef& dest) {
  ast::Call c = Named("Store");
  c.children.push_back(BuilderAccess::Node(row));
  AddArg(c, std::move(field), Lit(dest.value()));
  return BuilderAccess::Make(std::move(c));
}

Call Delete(const Call& row) { return Nary("Delete", {row}); }

}  // namespace pql

StatusOr<QueryResponse> Query(Index& index, const pql::Call& call,
                              const QueryOptions& options) {
  return Query(index, std::vector<pql::Call>{call}, options);
}

StatusOr<QueryResponse> Query(Index& index, const std::vector<pql::Call>& calls,
                              const QueryOptions& options) {
  internal::pql::Query q;
  q.calls.reserve(calls.size());
  for (const pql::Call& c : calls)
    q.calls.push_back(internal::BuilderAccess::Node(c));
  return internal::Execute(index, q, options);
}

}  // namespace featurebase
