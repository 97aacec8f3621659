// Builds QueryResults, whose constructors are private to the executor.
#ifndef FEATUREBASE_LIB_QUERY_RESULT_ACCESS_H_
#define FEATUREBASE_LIB_QUERY_RESULT_ACCESS_H_

#include <cstdint>
#include <string>
#include <utility>

#include "featurebase/bitmap.h"
#include "featurebase/query.h"
#include "fmt/format.h"

namespace featurebase::internal {

struct ResultAccess {
  static QueryResult Make(QueryResult::Kind kind, std::string json) {
    return QueryResult(kind, std::move(json));
  }
  static QueryResult Row(Bitmap row, std::string json) {
    return QueryResult::Row(std::move(row), std::move(json));
  }
  static QueryResult Number(QueryResult::Kind kind, uint64_t n,
                            std::string json) {
    return QueryResult::Number(kind, n, std::move(json));
  }
};

inline QueryResult BoolResult(bool b) {
  return ResultAccess::Number(QueryResult::Kind::kBool, b,
                              b ? "true" : "false");
}

inline QueryResult CountResult(uint64_t n) {
  return ResultAccess::Number(QueryResult::Kind::kCount, n,
                              fmt::format("{}", n));
}

// {"value":V,"count":N}.
inline QueryResult ValCount(const std::string& value_json, uint64_t count) {
  return ResultAccess::Make(
      QueryResult::Kind::kValue,
      fmt::format("{{\"value\":{},\"count\":{}}}", value_json, count));
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_RESULT_ACCESS_H_
