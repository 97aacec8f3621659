#include "lib/bitmap/shard_bits.h"

#include <algorithm>

namespace featurebase::internal {

void ShardBitsBuilder::Discard() {
  offs_.clear();
  for (uint32_t key = 0; touched_ != 0; ++key, touched_ >>= 1) {
    if (touched_ & 1) {
      std::fill_n(words_.data() + key * kBlockWords, kBlockWords, uint64_t{0});
    }
  }
}

Roaring32 ShardBitsBuilder::Take() {
  if (!dense_) {
    if (!std::is_sorted(offs_.begin(), offs_.end()))
      std::sort(offs_.begin(), offs_.end());
    Roaring32 r = Roaring32::FromValues(offs_);
    offs_.clear();
    return r;
  }
  Roaring32 r;
  for (uint32_t key = 0; touched_ != 0; ++key, touched_ >>= 1) {
    if ((touched_ & 1) == 0) continue;
    uint64_t* block = words_.data() + key * kBlockWords;
    r.AppendBlock(uint16_t(key), block);
    std::fill(block, block + kBlockWords, uint64_t{0});
  }
  return r;
}

}  // namespace featurebase::internal
