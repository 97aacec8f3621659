#include "featurebase/query.h"

#include "lib/pql/parser.h"
#include "lib/query/executor.h"
#include "lib/util/status_macros.h"

namespace featurebase {

StatusOr<QueryResponse> Query(Index& index, std::string_view pql,
                              const QueryOptions& options) {
  FB_ASSIGN_OR_RETURN(internal::pql::Query q, internal::pql::Parse(pql));
  return internal::Execute(index, q, options);
}

}  // namespace featurebase
