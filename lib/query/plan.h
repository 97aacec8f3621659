// Row planning: a row call (Row, Range, Union, Not, Limit, ...) becomes a
// Node with every field, row, key and time view resolved, so that errors
// surface before any work. Plans read the ExecState's snapshot; calls whose
// records on one shard depend on other shards (Shift, Limit, ConstRow,
// Distinct, All(limit=)) are evaluated while planning and become constants.
#ifndef FEATUREBASE_LIB_QUERY_PLAN_H_
#define FEATUREBASE_LIB_QUERY_PLAN_H_

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "lib/core/index_state.h"
#include "lib/pql/ast.h"
#include "lib/query/eval.h"

namespace featurebase::internal {

// The plan of row call `c`: InvalidArgument for a call that is not a row
// call or is malformed, NotFound for unknown fields, FailedPrecondition for
// Not/All without existence tracking. In a partial, InvalidArgument for the
// calls that cannot nest there (see the call table).
absl::StatusOr<Node> PlanRow(ExecState& es, const pql::Call& c);

// The plans of the row calls, as the call table names them.
absl::StatusOr<Node> PlanRowCall(ExecState& es, const pql::Call& c);  // Row
absl::StatusOr<Node> PlanSetOp(ExecState& es, const pql::Call& c);    // Union..
absl::StatusOr<Node> PlanNot(ExecState& es, const pql::Call& c);
absl::StatusOr<Node> PlanAll(ExecState& es, const pql::Call& c);
absl::StatusOr<Node> PlanShift(ExecState& es, const pql::Call& c);
absl::StatusOr<Node> PlanLimit(ExecState& es, const pql::Call& c);
absl::StatusOr<Node> PlanConstRow(ExecState& es, const pql::Call& c);
absl::StatusOr<Node> PlanUnionRows(ExecState& es, const pql::Call& c);
absl::StatusOr<Node> PlanDistinct(ExecState& es, const pql::Call& c);

// f == null, f != null (any field); comparisons on value fields.
absl::StatusOr<Node> PlanCondition(ExecState& es, const pql::Call& c,
                                   const FieldState& f, const pql::Value& v,
                                   const TimeRange& range);
// A comparison on value field `f`.
absl::StatusOr<Node> PlanBsiCondition(const pql::Call& c, const FieldState& f,
                                      const pql::Condition& cond,
                                      const TimeRange& range);

// A precomputed bitmap; its shards join the shards this query visits
// (Shift can move records into shards that hold no data).
Node Const(ExecState& es, Bitmap b);

// FailedPrecondition naming `c` when the index does not track existence.
absl::Status NeedExistence(const ExecState& es, const pql::Call& c);

// The rows of set-like field `f` (standard view) holding any record of
// the optional filter child of `c`.
absl::StatusOr<Bitmap> DistinctRows(ExecState& es, const pql::Call& c,
                                    const FieldState& f);

// The optional filter: a child call, or filter=<call>.
absl::StatusOr<std::optional<Node>> FilterArg(ExecState& es,
                                              const pql::Call& c);
// Distinct(index=...): FeatureBase's Distinct may name its index; a
// query here reads the one index it runs on, so only that name is
// accepted (InvalidArgument naming both otherwise).
absl::Status SameIndexArg(const ExecState& es, const pql::Call& c);
// The value field named by the call, or InvalidArgument.
absl::StatusOr<const FieldState*> ValueField(const ExecState& es,
                                             const pql::Call& c);

// Rows(field, previous=, limit=, column=, like=, in=, from=, to=).
struct RowsPlan {
  const FieldState* field = nullptr;
  std::vector<uint64_t> views;
  std::optional<uint64_t> previous;
  uint64_t limit = 0;
  std::optional<uint64_t> column;
  std::optional<std::string> like;
  std::optional<std::set<uint64_t>> in;
  // GroupBy over an int or timestamp field groups by each distinct value:
  // its "rows" are value keys (see group_by.cc), not row ids.
  bool values = false;
};

absl::StatusOr<RowsPlan> PlanRows(ExecState& es, const pql::Call& c);
// The rows a Rows plan names, over the visited shards, ascending.
absl::StatusOr<std::vector<uint64_t>> RunRows(ExecState& es, const RowsPlan& p);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_PLAN_H_
