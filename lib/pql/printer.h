// The PQL printer: Query -> canonical PQL text, and structural equality.
#ifndef FEATUREBASE_LIB_PQL_PRINTER_H_
#define FEATUREBASE_LIB_PQL_PRINTER_H_

#include <string>

#include "lib/pql/ast.h"

namespace featurebase::internal::pql {

// Canonical PQL text for a query: one call per line. For every Query q that
// Parse returned, Equal(*Parse(Print(q)), q) holds. ASTs built by hand print
// the same way, but only ones the parser could have produced are guaranteed
// to re-parse (for instance: arguments keys must be field names, kUint only
// above INT64_MAX, decimal scales >= 0, timestamps in the shapes the parser
// accepts, no lists inside lists).
//
// Canonical form: `Name(positional, children..., key=value, ...)` with ", "
// between items; strings always double-quoted with \\ \" \n \t escaped;
// comparisons as `f == 5`; ranges chained as `1 <= f < 9` (or `f >< [a, b]`
// when the bounds are not numbers or timestamps); decimals with exactly their
// scale ("12.340", "2." for scale 0). Linear time. Thread-safe.
std::string Print(const Query& query);
std::string Print(const Call& call);
std::string Print(const Value& value);

// Structural equality ignoring `pos`: same call names, children, argument
// keys and values in the same order. Values compare only the payload their
// kind uses (value2 only for between ops).
bool Equal(const Query& a, const Query& b);
bool Equal(const Call& a, const Call& b);
bool Equal(const Value& a, const Value& b);

}  // namespace featurebase::internal::pql

#endif  // FEATUREBASE_LIB_PQL_PRINTER_H_
