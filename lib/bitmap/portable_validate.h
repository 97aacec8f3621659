// Structural validation of the standard portable Roaring format
// (RoaringFormatSpec) before any byte reaches CRoaring.
//
// CRoaring's *_portable_deserialize_safe only guarantees it reads within the
// buffer; older releases (0.2.66) accept unsorted arrays, overlapping runs or
// wrong cardinalities, which later give wrong answers or worse. This walks
// every container and checks all invariants, so that a decoded bitmap is
// always well formed.
#ifndef FEATUREBASE_LIB_BITMAP_PORTABLE_VALIDATE_H_
#define FEATUREBASE_LIB_BITMAP_PORTABLE_VALIDATE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace featurebase::internal {

// Checks that `bytes` starts with one well-formed portable Roaring bitmap
// whose values are all <= max_value, and returns its length in bytes.
// Checked: the cookie; container count <= 65536; strictly increasing keys;
// run containers with sorted, non-overlapping, non-adjacent runs inside the
// 16-bit range and a header cardinality equal to their length; array
// containers with 1..4096 strictly increasing values; bitmap containers
// (cardinality > 4096) whose popcount equals the header; offsets (when
// present) equal to where each container actually starts; no empty container.
// Errors are DataLoss "decode roaring: ... at offset N". Never reads past
// bytes.size(). O(size of the bitmap).
absl::StatusOr<size_t> ValidatePortable(std::string_view bytes,
                                        uint32_t max_value);

// A small bitmap's values, decoded without building a bitmap.
struct SmallPortable {
  std::vector<uint32_t> values;  // ascending
  size_t size = 0;               // bytes of `bytes` the bitmap occupies
};

// Decodes the portable bitmap at the start of `bytes` into its values when
// its container headers claim at most `max_values` of them (a small row),
// checking exactly what ValidatePortable checks, with the same errors.
// Returns nullopt ("not small") when the headers claim more: then nothing
// past the headers has been checked, and the caller decodes it as a bitmap
// (Roaring32::DecodePortable), which validates it. Bytes after the bitmap
// are not looked at (SmallPortable::size tells where it ends). O(size of
// the bitmap).
absl::StatusOr<std::optional<SmallPortable>> DecodeSmallPortable(
    std::string_view bytes, size_t max_values, uint32_t max_value = UINT32_MAX);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BITMAP_PORTABLE_VALIDATE_H_
