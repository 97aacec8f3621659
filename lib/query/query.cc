#include "featurebase/query.h"

#include "lib/pql/parser.h"
#include "lib/query/executor.h"
#include "lib/query/json.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase {

StatusOr<QueryResponse> Query(Index& index, std::string_view pql,
                              const QueryOptions& options) {
  FB_ASSIGN_OR_RETURN(internal::pql::Query q, internal::pql::Parse(pql));
  return internal::Execute(index, q, options);
}

std::string QueryResponse::ToJson() const {
  std::string out = "{\"results\":[";
  for (size_t i = 0; i < results.size(); ++i) {
    if (i) out += ',';
    out += results[i].json();
  }
  out += "]}";
  return out;
}

std::string ErrorJson(const Status& status) {
  std::string out = "{\"error\":";
  internal::AppendJsonString(&out, internal::Message(status));
  out += "}";
  return out;
}

}  // namespace featurebase
