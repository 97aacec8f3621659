// Merged writes to value fields (featurebase::Merge): which field types
// take which merge, and the merged raw value, overflow and range checked.
#ifndef FEATUREBASE_LIB_BSI_VALUE_MERGE_H_
#define FEATUREBASE_LIB_BSI_VALUE_MERGE_H_

#include <cstdint>
#include <string_view>

#include "absl/status/status.h"
#include "featurebase/field.h"
#include "lib/bsi/bsi_field.h"

namespace featurebase::internal {

// OK when `merge` applies to fields of `type`: kLast to every value
// field, kMin and kMax to int, decimal and timestamp fields, kSum to int
// and decimal fields, kCount to int fields. InvalidArgument
// "<op>: merge <name> on <type> field "<field>" ..." otherwise.
absl::Status CheckMerge(std::string_view op, Merge merge, FieldType type,
                        std::string_view field);

// The raw value of merging raw `value` into the record's stored raw value
// (`has` false: the record has none, and the merge starts from nothing:
// sum = value, count = 1, min = max = value). False when the result
// overflows int64 or lies outside [min, max]: MergeError says which.
inline bool TryMerge(Merge merge, bool has, int64_t stored, int64_t value,
                     int64_t min, int64_t max, int64_t* out) {
  int64_t r = value;
  switch (merge) {
    case Merge::kLast:
      break;
    case Merge::kSum:
      if (has && __builtin_add_overflow(stored, value, &r)) return false;
      break;
    case Merge::kCount:
      r = 1;
      if (has && __builtin_add_overflow(stored, int64_t{1}, &r)) return false;
      break;
    case Merge::kMin:
      if (has && stored < value) r = stored;
      break;
    case Merge::kMax:
      if (has && stored > value) r = stored;
      break;
  }
  *out = r;
  return r >= min && r <= max;
}

// Why TryMerge failed for these arguments: OutOfRange
// "sum 130 out of range [0, 120]" or "sum overflows a 64-bit integer"
// (values formatted as the field's: decimals, timestamps).
absl::Status MergeError(const BsiFieldSpec& spec, Merge merge, bool has,
                        int64_t stored, int64_t value);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BSI_VALUE_MERGE_H_
