// GroupBy's plan: its Rows children with their candidate rows, filter,
// aggregate, having, sort and slice, parsed from the call (group_by_plan.cc)
// for the per-shard walk and the finish (group_by.cc).
#ifndef FEATUREBASE_LIB_QUERY_CALLS_GROUP_BY_PLAN_H_
#define FEATUREBASE_LIB_QUERY_CALLS_GROUP_BY_PLAN_H_

#include <cstdint>
#include <functional>
#include <optional>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/pql/ast.h"
#include "lib/query/eval.h"
#include "lib/query/partial.h"
#include "lib/query/plan.h"

namespace featurebase::internal {

// aggregate=Sum(field=f): per group the sum of f, and count counts only
// records with a value; aggregate=Count(Distinct(rc?, field=f)): per
// group the number of distinct values (rows of a set field) of f among
// the group's records (within rc), count unchanged. FeatureBase's rules.
struct Aggregate {
  enum class Kind { kNone, kSum, kDistinct } kind = Kind::kNone;
  const FieldState* field = nullptr;
  std::optional<Node> filter;  // Count(Distinct(rc, ...))
};

// sort="count desc, aggregate asc": FeatureBase's getSorter (keys count,
// aggregate or sum; direction asc or desc, default desc).
struct SortKey {
  bool count = true;  // else the aggregate
  bool desc = true;
};

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

// A value of an int or timestamp field as a group "row": offset binary,
// so that groups in row order are groups in value order (FeatureBase
// orders value groups by ascending value).
inline constexpr uint64_t kValueBias = uint64_t{1} << 63;
inline uint64_t ValueKey(int64_t raw) { return uint64_t(raw) ^ kValueBias; }
inline int64_t KeyValue(uint64_t key) { return int64_t(key ^ kValueBias); }

// A group's aggregate as a number: raw sum, or number of distinct values.
__int128 AggValue(const Aggregate& agg, const PartialGroup& g);

// `finishing`: only what Finish needs (no row scans, no filters).
absl::StatusOr<GroupPlan> PlanGroupBy(ExecState& es, const pql::Call& c,
                                      bool finishing);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_CALLS_GROUP_BY_PLAN_H_
