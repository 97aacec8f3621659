// Row calls at the top level (Row, Union, Not, Shift, ...), Count,
// IncludesColumn, Limit and All(limit=), Distinct and Rows: their partials
// (records, counts, row ids, distinct values) and how each is finished.
#include <algorithm>
#include <iterator>
#include <set>
#include <string>
#include <utility>
#include <vector>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/query/call_args.h"
#include "lib/query/calls.h"
#include "lib/query/json.h"
#include "lib/query/partial_codec.h"
#include "lib/query/plan.h"
#include "lib/query/result_access.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

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
  return Partial(ValuesPart{{all.begin(), all.end()}});
}

}  // namespace

// A row call's records over the visited shards.
absl::StatusOr<Partial> ComputeRow(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c));
  return Partial(RowPart{EvalGlobal(es, node)});
}

// Top-level Limit and All(limit=, offset=): every part keeps its first
// offset + limit records; FinishSliced slices.
absl::StatusOr<Partial> ComputeSliced(ExecState& es, const Call& c) {
  const std::string& n = c.name;
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
  uint64_t cap = limit == UINT64_MAX ? 0 : SatAdd(offset, limit);
  if (cap == UINT64_MAX) cap = 0;
  Partial p(RowPart{limit == 0 ? Bitmap() : EvalGlobal(es, node)},
            limit == 0 ? 0 : cap);
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
  return Partial(CountPart{CountGlobal(es, node)});
}

absl::StatusOr<Partial> ComputeIncludesColumn(ExecState& es, const Call& c) {
  if (c.children.size() != 1) return CallError(c, "expects exactly one call");
  FB_ASSIGN_OR_RETURN(uint64_t col, ColumnArg(c, "column", *es.st));
  FB_ASSIGN_OR_RETURN(Node node, PlanRow(es, c.children[0]));
  IncludesPart part;
  if (!es.restricted || es.Visits(ShardOf(col))) {
    part.included =
        Eval(es, node, ShardOf(col)).get().Contains(OffsetInShard(col));
  }
  return Partial(part);
}

// Distinct(rc?, field=f): rows of a set field (kRow) or raw values of a
// value field (kValues) among the filtered records.
absl::StatusOr<Partial> ComputeDistinct(ExecState& es, const Call& c) {
  FB_RETURN_IF_ERROR(SameIndexArg(es, c));
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  if (f->bsi) return DistinctValues(es, c, *f);
  FB_ASSIGN_OR_RETURN(Bitmap rows, DistinctRows(es, c, *f));
  return Partial(RowPart{std::move(rows)});
}

absl::StatusOr<Partial> ComputeRows(ExecState& es, const Call& c) {
  FB_ASSIGN_OR_RETURN(RowsPlan rp, PlanRows(es, c));
  FB_ASSIGN_OR_RETURN(std::vector<uint64_t> ids, RunRows(es, rp));
  return Partial(RowIdsPart{std::move(ids)}, rp.limit);
}

absl::StatusOr<QueryResult> FinishRows(ExecState& es, const Call& c,
                                       RowIdsPart p) {
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  return ResultAccess::Make(QueryResult::Kind::kRowIds,
                            RowListJson(*f, p.ids, "rows"));
}

absl::StatusOr<QueryResult> FinishRow(ExecState& es, const Call&, RowPart p) {
  std::string json = ColumnsJson(*es.st, p.row);
  return ResultAccess::Row(std::move(p.row), std::move(json));
}

absl::StatusOr<QueryResult> FinishSliced(ExecState& es, const Call& c,
                                         Partial p) {
  RowPart* part = p.As<RowPart>();
  if (part == nullptr) return FinishByKind(es, c, std::move(p));
  FB_ASSIGN_OR_RETURN(uint64_t limit, UintArg(c, "limit", UINT64_MAX));
  FB_ASSIGN_OR_RETURN(uint64_t offset, UintArg(c, "offset", 0));
  part->row = part->row.Slice(offset, limit);
  return FinishRow(es, c, std::move(*part));
}

// Count(Distinct(...)) counts the distinct rows or values.
absl::StatusOr<QueryResult> FinishCount(ExecState& es, const Call& c,
                                        Partial p) {
  if (const auto* r = p.As<RowPart>()) return CountResult(r->row.Cardinality());
  if (const auto* v = p.As<ValuesPart>()) return CountResult(v->values.size());
  return FinishByKind(es, c, std::move(p));
}

absl::StatusOr<QueryResult> FinishDistinct(ExecState& es, const Call& c,
                                           Partial p) {
  RowPart* part = p.As<RowPart>();
  if (part == nullptr) return FinishByKind(es, c, std::move(p));
  FB_ASSIGN_OR_RETURN(std::string name, FieldArg(c));
  FB_ASSIGN_OR_RETURN(const FieldState* f, es.Field(c, name));
  std::string json = RowListJson(*f, part->row.ToVector(), "columns");
  return ResultAccess::Row(std::move(part->row), std::move(json));
}

absl::StatusOr<QueryResult> FinishDistinctValues(ExecState& es, const Call& c,
                                                 ValuesPart p) {
  FB_ASSIGN_OR_RETURN(const FieldState* f, ValueField(es, c));
  return ResultAccess::Make(QueryResult::Kind::kRowIds,
                            DistinctValuesJson(*f, p.values));
}

// ---- partial kinds

void RowPart::Cap(uint64_t cap) {
  if (row.Cardinality() > cap) row = row.Slice(0, cap);
}
void RowPart::Merge(const RowPart& from) { row |= from.row; }
void RowPart::Encode(std::string* out) const {
  const std::string bits = row.Serialize();
  PutFixed<uint64_t>(out, bits.size());
  *out += bits;
}
absl::StatusOr<RowPart> RowPart::Decode(PartialReader& r, uint64_t cap) {
  FB_ASSIGN_OR_RETURN(auto n, r.Count(1, "bitmap"));
  const size_t at = r.offset();
  FB_ASSIGN_OR_RETURN(auto bits, r.Bytes(n, "bitmap"));
  auto b = Bitmap::Deserialize(bits);
  if (!b.ok()) return Annotate(b.status(), "decode partial result");
  if (cap != 0 && b->Cardinality() > cap) {
    return r.Bad(
        at, fmt::format("{} records exceed the cap {}", b->Cardinality(), cap));
  }
  return RowPart{*std::move(b)};
}

void CountPart::Merge(const CountPart& from) { n += from.n; }
void CountPart::Encode(std::string* out) const { PutFixed<uint64_t>(out, n); }
absl::StatusOr<CountPart> CountPart::Decode(PartialReader& r, uint64_t) {
  FB_ASSIGN_OR_RETURN(auto n, r.Fixed<uint64_t>("count"));
  return CountPart{n};
}

void IncludesPart::Merge(const IncludesPart& from) {
  included = included || from.included;
}
// A u64 that is 0 or 1 (docs/format.md).
void IncludesPart::Encode(std::string* out) const {
  PutFixed<uint64_t>(out, included ? 1 : 0);
}
absl::StatusOr<IncludesPart> IncludesPart::Decode(PartialReader& r, uint64_t) {
  const size_t at = r.offset();
  FB_ASSIGN_OR_RETURN(auto n, r.Fixed<uint64_t>("boolean"));
  if (n > 1) return r.Bad(at, fmt::format("boolean {} is not 0 or 1", n));
  return IncludesPart{n == 1};
}

void RowIdsPart::Cap(uint64_t cap) {
  if (ids.size() > cap) ids.resize(cap);
}
void RowIdsPart::Merge(const RowIdsPart& from) {
  std::vector<uint64_t> out;
  std::set_union(ids.begin(), ids.end(), from.ids.begin(), from.ids.end(),
                 std::back_inserter(out));
  ids = std::move(out);
}
void RowIdsPart::Encode(std::string* out) const {
  PutFixed<uint64_t>(out, ids.size());
  for (uint64_t id : ids) PutFixed<uint64_t>(out, id);
}
absl::StatusOr<RowIdsPart> RowIdsPart::Decode(PartialReader& r, uint64_t cap) {
  FB_ASSIGN_OR_RETURN(auto n, r.CappedCount(8, cap, "row"));
  RowIdsPart p;
  p.ids.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    FB_ASSIGN_OR_RETURN(auto id, r.Fixed<uint64_t>("row"));
    if (!p.ids.empty() && id <= p.ids.back())
      return r.Bad(at, "rows not strictly increasing");
    p.ids.push_back(id);
  }
  return p;
}

void ValuesPart::Merge(const ValuesPart& from) {
  std::vector<int64_t> out;
  std::set_union(values.begin(), values.end(), from.values.begin(),
                 from.values.end(), std::back_inserter(out));
  values = std::move(out);
}
void ValuesPart::Encode(std::string* out) const {
  PutFixed<uint64_t>(out, values.size());
  for (int64_t v : values) PutFixed<int64_t>(out, v);
}
absl::StatusOr<ValuesPart> ValuesPart::Decode(PartialReader& r, uint64_t) {
  FB_ASSIGN_OR_RETURN(auto n, r.Count(8, "value"));
  ValuesPart p;
  p.values.reserve(n);
  for (uint64_t i = 0; i < n; ++i) {
    const size_t at = r.offset();
    FB_ASSIGN_OR_RETURN(auto v, r.Fixed<int64_t>("value"));
    if (!p.values.empty() && v <= p.values.back())
      return r.Bad(at, "values not strictly increasing");
    p.values.push_back(v);
  }
  return p;
}

}  // namespace featurebase::internal
