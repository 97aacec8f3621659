// Runs a parsed PQL query against an index: plans each call (resolving
// fields, rows, keys and time views, so that every error surfaces before any
// work), then evaluates it shard by shard on the thread pool and merges the
// per-shard results.
#ifndef FEATUREBASE_LIB_QUERY_EXECUTOR_H_
#define FEATUREBASE_LIB_QUERY_EXECUTOR_H_

#include "absl/status/statusor.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "lib/pql/ast.h"
#include "lib/query/partial.h"

namespace featurebase::internal {

// Executes the calls of `query` in order (see Query() in query.h).
absl::StatusOr<QueryResponse> Execute(Index& index, const pql::Query& query,
                                      const QueryOptions& options);

// Runs the read calls of `query` as partial results over `shards` (null:
// every shard of the index), one per call (see QueryPartial in partial.h).
absl::StatusOr<std::vector<Partial>> ExecutePartial(
    Index& index, const pql::Query& query, const QueryOptions& options,
    const std::vector<uint64_t>* shards);

// The final result of a (merged) partial, against `index`'s fields and keys.
absl::StatusOr<QueryResult> FinishPartial(Index& index, const Partial& p,
                                          const QueryOptions& options);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_EXECUTOR_H_
