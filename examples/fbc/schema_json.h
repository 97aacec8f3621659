// The JSON description of indexes and fields printed by `fbc schema`, in
// the spirit of FeatureBase's GET /schema:
// {"indexes":[{"name":"taxi","options":{"keys":false,"trackExistence":true},
//   "shardWidth":1048576,"fields":[{"name":"airport",
//   "options":{"type":"bool"}}, ...]}]}
#ifndef FBC_SCHEMA_JSON_H_
#define FBC_SCHEMA_JSON_H_

#include <string>
#include <string_view>

#include "featurebase/field.h"
#include "featurebase/index.h"

namespace fbc {

// A JSON string literal for `s` (quotes included).
std::string JsonString(std::string_view s);

// {"type":"int","min":0,"max":100} etc.: the options that apply to the
// field's type.
std::string FieldOptionsJson(const featurebase::FieldOptions& options);

// {"name":...,"options":{...},"shardWidth":1048576,"fields":[...]}.
std::string IndexJson(const featurebase::Index& index);

// unscaled · 10^-scale as a decimal literal ("-12.05").
std::string DecimalLiteral(int64_t unscaled, int scale);

}  // namespace fbc

#endif  // FBC_SCHEMA_JSON_H_
