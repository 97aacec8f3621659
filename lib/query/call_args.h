// The arguments each PQL call takes, in one table, so that a misspelt or
// unknown argument is refused instead of silently ignored.
#ifndef FEATUREBASE_LIB_QUERY_CALL_ARGS_H_
#define FEATUREBASE_LIB_QUERY_CALL_ARGS_H_

#include "absl/status/status.h"
#include "lib/pql/ast.h"

namespace featurebase::internal {

// OK when every call in `c` (children and calls given as argument values
// included) names only arguments it takes: the keyword arguments of
// FeatureBase's executor for that call, plus `field=value` for the calls
// that write or read one row (Row, Range, Set, Clear, ClearRow, Store),
// whose field is checked by the executor. Else InvalidArgument naming the
// argument and the call ("TopN(): unknown argument \"bogus\" (takes _field,
// field, n, ...)"). Calls missing from the table are left to the executor.
absl::Status CheckCallArgs(const pql::Call& c);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_CALL_ARGS_H_
