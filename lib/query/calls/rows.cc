// Row calls at the top level (Row, Union, Not, Shift, ...), Count,
// IncludesColumn, Limit and All(limit=), Distinct and Rows: their partials
// (records, counts, row ids, distinct values) and how each is finished.
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/json.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

namespace {

// Distinct raw values of a value field among the filtered records.
absl::StatusOr<Partial> DistinctValues(ExecState& es, const Call& c,
                                       const FieldState& f) {
  FB_ASSIGN_OR_RETURN(std::optional<Node> filter, FilterArg(es, c));
  std::vector<std::vector<int64_t>> per(es.shards.size());
  es.ForShards([&](size_t i) {
    const BsiShard* bs = f.bsi_shards.Find(es.shards[i]);
    if (bs == nullptr) return;
    std::optional<Bits> fb;
    if (filter) fb = Eval(es, *filter, es.shards[i]);
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

}  // namespace

// A row call's records over the visited shards.
absl::StatusOr<Partial> ComputeRow(ExecState& es, const Call& c) {
  Partial p;
  p.kind = Partial::Kind::kRow;
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c));
  p.row = EvalGlobal(es, node);
  return p;
}

// Top-level Limit and All(limit=, offset=): every part keeps its first
// offset + limit records; FinishSliced slices.
absl::StatusOr<Partial> ComputeSliced(ExecState& es, const Call& c) {
  const std::string& n = c.name;
  Partial p;
  p.kind = Partial::Kind::kRow;
  if (n == "Limit" && c.children.size() != 1)
    return CallError(c, "expects exactly one call");
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  Node node;
  if (n == "All") {
    FB_RETURN_IF_ERROR(NeedExistence(es, c));
    node.kind = NodeKind::kAll;
  } else {
    FB_ASSIGN_OR_RETURN(node, PlanRow(es, c.children[0]));
  }
  p.row = EvalGlobal(es, node);
  p.cap = limit == UINT64_MAX ? 0 : SatAdd(offset, limit);
  if (p.cap == UINT64_MAX) p.cap = 0;
  if (limit == 0) p.cap = 0, p.row = Bitmap();
  CapPartial(&p);
  return p;
}

absl::StatusOr<Partial> ComputeAll(ExecState& es, const Call& c) {
  if (c.Find("limit") || c.Find("offset")) return ComputeSliced(es, c);
  return ComputeRow(es, c);
}

absl::StatusOr<Partial> ComputeCount(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  if (c.children[0].name == "Distinct")
    return ComputeDistinct(es, c.children[0]);
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c.children[0]));
  Partial p;
  p.kind = Partial::Kind::kCount;
  p.n = CountGlobal(es, node);
  return p;
}

absl::StatusOr<Partial> ComputeIncludesColumn(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column", *es.st));
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c.children[0]));
  Partial p;
  p.kind = Partial::Kind::kBool;
  if (!es.restricted || es.Visits(ShardOf(col))) {
    p.n = Eval(es, node, ShardOf(col)).get().Contains(OffsetInShard(col));
  }
  return p;
}

// Distinct(rc?, field=f): rows of a set field (kRow) or raw values of a
// value field (kValues) among the filtered records.
absl::StatusOr<Partial> ComputeDistinct(ExecState& es, const Call& c) {
  FB_RETURN_IF_ERROR(SameIndexArg(es, c));
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  if (f->bsi) return DistinctValues(es, c, *f);
  FB_ASSIGN_OR_RETURN(Bitmap rows, DistinctRows(es, c, *f));
  Partial p;
  p.kind = Partial::Kind::kRow;
  p.row = std::move(rows);
  return p;
}

absl::StatusOr<Partial> ComputeRows(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(RowsPlan rp, PlanRows(es, c));
  Partial p;
  FB_ASSIGN_OR_RETURN(p.ids, RunRows(es, rp));
  p.kind = Partial::Kind::kRowIds;
  p.cap = rp.limit;
  return p;
}

absl::StatusOr<QueryResult> FinishRows(ExecState& es, const Call& c,
                                       Partial p) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  return ResultAccess::Make(QueryResult::Kind::kRowIds,
                            RowListJson(*f, p.ids, "rows"));
}

absl::StatusOr<QueryResult> FinishRow(ExecState& es, const Call&, Partial p) {
  std::string json = ColumnsJson(*es.st, p.row);
  return ResultAccess::Row(std::move(p.row), std::move(json));
}

absl::StatusOr<QueryResult> FinishSliced(ExecState& es, const Call& c,
                                         Partial p) {
  if (p.kind != Partial::Kind::kRow) return FinishByKind(es, c, std::move(p));
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  p.row = p.row.Slice(offset, limit);
  return FinishRow(es, c, std::move(p));
}

// Count(Distinct(...)) counts the distinct rows or values.
absl::StatusOr<QueryResult> FinishCount(ExecState& es, const Call& c,
                                        Partial p) {
  if (p.kind == Partial::Kind::kRow) return CountResult(p.row.Cardinality());
  if (p.kind == Partial::Kind::kValues) return CountResult(p.values.size());
  return FinishByKind(es, c, std::move(p));
}

absl::StatusOr<QueryResult> FinishDistinct(ExecState& es, const Call& c,
                                           Partial p) {
  if (p.kind != Partial::Kind::kRow) return FinishByKind(es, c, std::move(p));
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  std::string json = RowListJson(*f, p.row.ToVector(), "columns");
  return ResultAccess::Row(std::move(p.row), std::move(json));
}

absl::StatusOr<QueryResult> FinishDistinctValues(ExecState& es, const Call& c,
                                                 Partial p) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  return ResultAccess::Make(QueryResult::Kind::kRowIds,
                            DistinctValuesJson(*f, p.values));
}

}  // namespace featurebase::internal
