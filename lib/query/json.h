// A minimal JSON writer for query results (FeatureBase's HTTP shapes).
#ifndef FEATUREBASE_LIB_QUERY_JSON_H_
#define FEATUREBASE_LIB_QUERY_JSON_H_

#include <string>
#include <string_view>

namespace featurebase::internal {

// Appends `s` as a JSON string literal: quotes, backslashes and control
// characters escaped; invalid UTF-8 bytes replaced by U+FFFD so the output
// is always valid JSON.
void AppendJsonString(std::string* out, std::string_view s);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_JSON_H_
