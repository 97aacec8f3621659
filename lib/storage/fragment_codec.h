// A fragment as the body of a checkpoint data block (docs/format.md, "Data
// file blocks"): its mode, its rows in ascending order with their bits in
// roaring portable format, and for a mutex fragment its column -> row table, so
// that a load copies pages instead of rebuilding them bit by bit.
#ifndef FEATUREBASE_LIB_STORAGE_FRAGMENT_CODEC_H_
#define FEATUREBASE_LIB_STORAGE_FRAGMENT_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "lib/core/fragment.h"

namespace featurebase::internal {

// Appends the encoding of `f` to `out`.
void EncodeFragment(const Fragment& f, std::string* out);

// Decodes a body written by EncodeFragment into a fragment stamped with
// `owner`. `want` is the mode its field calls for. DataLoss naming `file`
// and the offset (`offset` is the body's) for any malformed byte: a mode
// other than `want`, rows out of order or range, an empty row, a column
// beyond the shard, a column table that disagrees with the rows, trailing
// bytes.
absl::StatusOr<Fragment> DecodeFragment(std::string_view body,
                                        Fragment::Mode want, OwnerToken owner,
                                        std::string_view file, uint64_t offset);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_FRAGMENT_CODEC_H_
