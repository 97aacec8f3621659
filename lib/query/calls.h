// The PQL calls: one table entry per call (call_table.cc) naming how it
// runs, and the functions of each call family, one file per family under
// lib/query/calls/. A read call computes a Partial over the visited shards
// (merged across processes by partial.cc) and finishes it into a
// QueryResult; a write, or a call that needs the whole index at once, runs
// directly. Adding a call: its functions in its family's file, one row in
// the table (and its arguments in call_args.cc).
#ifndef FEATUREBASE_LIB_QUERY_CALLS_H_
#define FEATUREBASE_LIB_QUERY_CALLS_H_

#include <cstdint>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "featurebase/query.h"
#include "lib/pql/ast.h"
#include "lib/query/eval.h"
#include "lib/query/partial.h"

namespace featurebase::internal {

using ComputeFn = absl::StatusOr<Partial> (*)(ExecState&, const pql::Call&);
using FinishFn = absl::StatusOr<QueryResult> (*)(ExecState&, const pql::Call&,
                                                 Partial);
using RunFn = absl::StatusOr<QueryResult> (*)(ExecState&, const pql::Call&);
using PlanFn = absl::StatusOr<Node> (*)(ExecState&, const pql::Call&);

enum class CallUse {
  kRead,   // computed as a partial over the visited shards, then finished
  kWhole,  // a read that needs every shard at once: not a partial
  kWrite,  // a write: not a partial; later calls see it
};

// Whether a row call may sit inside another call of a partial: not when its
// records on one shard depend on other shards.
enum class Nesting {
  kAnywhere,
  kTopLevel,         // only as the partial's own call
  kTopLevelIfLimit,  // only at the top level with limit= or offset=
};

struct CallSpec {
  std::string_view name;
  CallUse use = CallUse::kRead;
  // Row calls: the call as a set of records (null: not a row call).
  PlanFn plan = nullptr;
  Nesting nesting = Nesting::kAnywhere;
  // kRead: the partial (null: the row call's records, from `plan`).
  ComputeFn compute = nullptr;
  // kRead: the final result (null: by the partial's kind, FinishByKind).
  FinishFn finish = nullptr;
  // kWhole, kWrite: the result.
  RunFn run = nullptr;
};

// The call table, sorted by name.
const std::vector<CallSpec>& CallTable();
// The entry of call `name`, or null for an unknown call.
const CallSpec* FindCall(std::string_view name);
// Whether `c` may run inside another call of a partial.
bool NestsInPartial(const CallSpec& spec, const pql::Call& c);

// The final result of read call `c` by the kind of its partial's body.
absl::StatusOr<QueryResult> FinishByKind(ExecState& es, const pql::Call& c,
                                         Partial p);

inline uint64_t SatAdd(uint64_t a, uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

// ---- calls/rows.cc: row calls, Count, IncludesColumn, Limit, Distinct, Rows
absl::StatusOr<Partial> ComputeRow(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> ComputeSliced(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> ComputeAll(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> ComputeCount(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> ComputeIncludesColumn(ExecState& es,
                                              const pql::Call& c);
absl::StatusOr<Partial> ComputeDistinct(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> ComputeRows(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishRow(ExecState& es, const pql::Call& c,
                                      RowPart p);
absl::StatusOr<QueryResult> FinishSliced(ExecState& es, const pql::Call& c,
                                         Partial p);
absl::StatusOr<QueryResult> FinishCount(ExecState& es, const pql::Call& c,
                                        Partial p);
absl::StatusOr<QueryResult> FinishDistinct(ExecState& es, const pql::Call& c,
                                           Partial p);
absl::StatusOr<QueryResult> FinishDistinctValues(ExecState& es,
                                                 const pql::Call& c,
                                                 ValuesPart p);
absl::StatusOr<QueryResult> FinishRows(ExecState& es, const pql::Call& c,
                                       RowIdsPart p);

// ---- calls/top_rows.cc: TopN, TopK, MinRow, MaxRow
absl::StatusOr<Partial> TopN(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishTopN(ExecState& es, const pql::Call& c,
                                       PairsPart p);
absl::StatusOr<Partial> MinMaxRow(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishMinMaxRow(ExecState& es, const pql::Call& c,
                                            bool has, uint64_t id,
                                            uint64_t count);

// ---- calls/group_by.cc
absl::StatusOr<Partial> GroupBy(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishGroupBy(ExecState& es, const pql::Call& c,
                                          GroupsPart p);

// ---- calls/values.cc: Sum, Min, Max, FieldValue, Percentile, Sort
absl::StatusOr<Partial> SumMinMax(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> FieldValueCall(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishSum(ExecState& es, const pql::Call& c,
                                      const SumPart& p);
// Min, Max, FieldValue: the value (when `has`) and its records.
absl::StatusOr<QueryResult> FinishValue(ExecState& es, const pql::Call& c,
                                        bool has, int64_t value,
                                        uint64_t count);
absl::StatusOr<QueryResult> Percentile(ExecState& es, const pql::Call& c);
absl::StatusOr<Partial> Sort(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishSort(ExecState& es, const pql::Call& c,
                                       const SortedPart& p);

// ---- calls/extract.cc
absl::StatusOr<Partial> Extract(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> FinishExtract(ExecState& es, const pql::Call& c,
                                          const TablePart& p);

// ---- calls/writes.cc: Set, Clear, ClearRow, Store, Delete
absl::StatusOr<QueryResult> SetClear(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> ClearRow(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> Store(ExecState& es, const pql::Call& c);
absl::StatusOr<QueryResult> Delete(ExecState& es, const pql::Call& c);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_CALLS_H_
