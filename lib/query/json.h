// JSON for query results: a minimal writer and the pieces of FeatureBase's
// HTTP shapes that several calls share.
#ifndef FEATUREBASE_LIB_QUERY_JSON_H_
#define FEATUREBASE_LIB_QUERY_JSON_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/bitmap.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// Appends `s` as a JSON string literal: quotes, backslashes and control
// characters escaped; invalid UTF-8 bytes replaced by U+FFFD so the output
// is always valid JSON.
void AppendJsonString(std::string* out, std::string_view s);

// {"columns":[ids]}, or {"keys":[...]} on a keyed index (ids whose key a
// concurrent Delete freed are left out).
std::string ColumnsJson(const IndexState& st, const Bitmap& b);

// `"id":N` or `"key":"k"` for a row of field f.
std::string RowIdJson(const FieldState& f, uint64_t row,
                      std::string_view id_name = "id",
                      std::string_view key_name = "key");

// {"rows":[ids]} / {"columns":[ids]}, or {"keys":[...]} for a keyed field.
std::string RowListJson(const FieldState& f, const std::vector<uint64_t>& rows,
                        std::string_view ids_name);

// FeatureBase's Distinct shapes for value fields: int and decimal give a
// SignedRow {"neg":{"columns":[|v| of negative values]},"pos":{"columns":
// [non-negative values]}} of raw values (decimals unscaled), ascending;
// timestamp fields give DistinctTimestamp {"Values":[RFC3339 ...],
// "Name":"f"} (FeatureBase leaves the order to a Go map; ours ascends).
std::string DistinctValuesJson(const FieldState& f,
                               const std::vector<int64_t>& values);

// JSON of a raw value: a number for int and decimal, a string for
// timestamps.
std::string ValueJson(const FieldState& f, int64_t raw);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_JSON_H_
