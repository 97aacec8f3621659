// ShardBitsBuilder: builds the Roaring32 of one shard's offsets (< 2^20)
// from offsets given in any order, with repeats, the way bulk ingest
// produces them.
//
// A large set fills a bitset of the whole shard (2^20 bits, kept between
// sets) and becomes containers block by block (Roaring32::AppendBlock),
// about 1 ns per offset; a small set is sorted and added, so sparse shards
// never scan the bitset. Either way Take() gives the same bitmap as
// Roaring32::FromValues of the offsets.
//
// Thread-compatible: one builder per thread.
#ifndef FEATUREBASE_LIB_BITMAP_SHARD_BITS_H_
#define FEATUREBASE_LIB_BITMAP_SHARD_BITS_H_

#include <cstddef>
#include <cstdint>
#include <vector>

#include "absl/base/attributes.h"
#include "featurebase/shard.h"
#include "lib/bitmap/roaring32.h"

namespace featurebase::internal {

class ShardBitsBuilder {
 public:
  // Below this many offsets, sorting beats a bitset's fixed costs.
  static constexpr size_t kDenseBits = 4096;

  // Starts a set of up to `n` offsets. The builder must be empty (new, or
  // after Take or Discard).
  void Start(size_t n) {
    dense_ = n >= kDenseBits;
    offs_.clear();
    if (dense_ && words_.empty()) words_.resize(kShardWidth / 64);
  }
  // Adds `off` < kShardWidth. At most the `n` given to Start.
  ABSL_ATTRIBUTE_ALWAYS_INLINE void Add(uint32_t off) {
    if (dense_) {
      words_[off >> 6] |= uint64_t{1} << (off & 63);
      touched_ |= uint16_t(1u << (off >> 16));
    } else {
      offs_.push_back(off);
    }
  }
  bool empty() const { return dense_ ? touched_ == 0 : offs_.empty(); }
  // The buffers' bytes (the bitset stays allocated once used).
  size_t MemoryBytes() const {
    return words_.capacity() * 8 + offs_.capacity() * 4;
  }
  // Empties the set without building it.
  void Discard();
  // The set, leaving the builder empty.
  Roaring32 Take();

 private:
  static constexpr size_t kBlockWords = 1024;       // 2^16 bits
  static_assert(kShardWidth <= (size_t{1} << 20));  // touched_: 16 blocks
  bool dense_ = false;
  uint16_t touched_ = 0;  // bit k: block k of words_ has a bit set
  std::vector<uint64_t> words_;
  std::vector<uint32_t> offs_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BITMAP_SHARD_BITS_H_
