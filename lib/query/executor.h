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

namespace featurebase::internal {

// Executes the calls of `query` in order (see Query() in query.h).
absl::StatusOr<QueryResponse> Execute(Index& index, const pql::Query& query,
                                      const QueryOptions& options);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_EXECUTOR_H_
