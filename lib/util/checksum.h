// Checksums of persisted and serialized bytes: XXH3-64, seed 0.
#ifndef FEATUREBASE_LIB_UTIL_CHECKSUM_H_
#define FEATUREBASE_LIB_UTIL_CHECKSUM_H_

#include <cstdint>
#include <string_view>

namespace featurebase::internal {

// XXH3-64 of `bytes` with seed 0. Thread-safe, pure.
uint64_t Checksum64(std::string_view bytes);

// XXH3-64 of `bytes` with `seed`. Thread-safe, pure.
uint64_t Hash64(std::string_view bytes, uint64_t seed);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_UTIL_CHECKSUM_H_
