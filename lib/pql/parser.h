// The PQL text parser: query text -> Query (lib/pql/ast.h).
//
// The grammar follows FeatureBase's pql/pql.peg; the places where it
// deliberately differs are listed at the top of parser.cc.
#ifndef FEATUREBASE_LIB_PQL_PARSER_H_
#define FEATUREBASE_LIB_PQL_PARSER_H_

#include <string_view>

#include "absl/status/statusor.h"
#include "lib/pql/ast.h"

namespace featurebase::internal::pql {

// Calls and lists nest at most this deep; deeper input is an error, so the
// recursive-descent parser never exhausts the stack.
inline constexpr int kMaxNesting = 1000;

// Parses a whole request: zero or more calls separated by optional
// whitespace. Call names are matched case-insensitively and stored with
// FeatureBase's canonical capitalization.
//
// Returns InvalidArgument on any syntax error, unknown call name, out-of-range
// number, invalid timestamp, duplicate or misplaced reserved argument, or
// nesting deeper than kMaxNesting. Messages look like
//   parse: at offset 14 (line 1, column 15): expected ')' or ',' after an
//   argument, found 'x'
// Accepts any byte string (NUL bytes, invalid UTF-8) without undefined
// behaviour. Time and memory are linear in text.size(). Thread-safe.
absl::StatusOr<Query> Parse(std::string_view text);

// The canonical capitalization of a call name typed in any case ("topn" ->
// "TopN"), or an empty view when the name is not a known call.
std::string_view CanonicalCallName(std::string_view name);

}  // namespace featurebase::internal::pql

#endif  // FEATUREBASE_LIB_PQL_PARSER_H_
