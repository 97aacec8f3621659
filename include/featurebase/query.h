// Queries: FeatureBase's PQL, executed shard by shard in parallel on one
// snapshot, with results in the JSON shapes of FeatureBase's HTTP API.
//
// Thread-safety: Query may be called from any number of threads at once;
// reads never wait for writers.
#ifndef FEATUREBASE_QUERY_H_
#define FEATUREBASE_QUERY_H_

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/bitmap.h"
#include "featurebase/index.h"
#include "featurebase/status.h"

namespace featurebase {

namespace internal {
struct ResultAccess;
}  // namespace internal

// One call's result.
class QueryResult {
 public:
  enum class Kind {
    kRow,      // a set of records: {"columns":[...]} or {"keys":[...]}
    kCount,    // Count: an integer
    kBool,     // Set, Clear, ClearRow, Store, Delete, IncludesColumn
    kValue,    // Sum, Min, Max, Percentile, FieldValue: {"value":V,"count":N}
    kPairs,    // TopN, TopK: [{"id":N,"count":N}, ...]
    kRowIds,   // Rows: {"rows":[...]} or {"keys":[...]}
    kGroups,   // GroupBy
    kTable,    // Extract
    kRowPair,  // MinRow, MaxRow: {"id":N,"count":N}
    kNull,     // no value (e.g. Min over no records, Percentile of nothing)
  };
  Kind kind() const { return kind_; }
  // kRow: the records (ids, also for keyed indexes).
  const Bitmap& row() const { return row_; }
  // kCount: the count; kBool: 0 or 1.
  uint64_t count() const { return n_; }
  bool boolean() const { return n_ != 0; }
  // This result as JSON, e.g. `{"columns":[1,2]}` or `7`.
  const std::string& json() const { return json_; }

 private:
  // Results come from the executor only.
  friend struct internal::ResultAccess;
  QueryResult(Kind kind, std::string json)
      : kind_(kind), json_(std::move(json)) {}
  static QueryResult Row(Bitmap row, std::string json) {
    QueryResult r(Kind::kRow, std::move(json));
    r.row_ = std::move(row);
    return r;
  }
  static QueryResult Number(Kind kind, uint64_t n, std::string json) {
    QueryResult r(kind, std::move(json));
    r.n_ = n;
    return r;
  }

  Kind kind_;
  std::string json_;
  Bitmap row_;
  uint64_t n_ = 0;
};

struct QueryOptions {
  // Threads for per-shard work: 0 = the process-wide pool (one per core),
  // 1 = the calling thread only, n > 1 = at most n threads at once (the
  // calling thread and workers of the process-wide pool).
  size_t threads = 0;
};

// The results of one request, one per call, in order.
struct QueryResponse {
  std::vector<QueryResult> results;
  // {"results":[...]}.
  std::string ToJson() const;
};

// Parses `pql` (one or more calls) and runs it against `index`. Reads of
// each call use one snapshot; writes commit call by call, in order, and
// later calls see them. Errors: InvalidArgument for syntax errors (naming
// the offset and what was expected) and semantic errors (naming the call,
// the field and the reason), NotFound for unknown fields, FailedPrecondition
// for Not/All without existence tracking. On an error, calls before the
// failing one have taken effect (as in FeatureBase).
StatusOr<QueryResponse> Query(Index& index, std::string_view pql,
                              const QueryOptions& options = {});

// {"error":"<message>"} for a failed query.
std::string ErrorJson(const Status& status);

}  // namespace featurebase

#endif  // FEATUREBASE_QUERY_H_
