#include "lib/util/checksum.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace featurebase::internal {

uint64_t Checksum64(std::string_view bytes) {
  return XXH3_64bits(bytes.data(), bytes.size());
}

uint64_t Hash64(std::string_view bytes, uint64_t seed) {
  return XXH3_64bits_withSeed(bytes.data(), bytes.size(), seed);
}

}  // namespace featurebase::internal
