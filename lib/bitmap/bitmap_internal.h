// Library-internal access to a Bitmap's shard chunks, so that fragments and
// the query executor can move per-shard roaring bitmaps in and out of public
// Bitmaps without copying.
#ifndef FEATUREBASE_LIB_BITMAP_BITMAP_INTERNAL_H_
#define FEATUREBASE_LIB_BITMAP_BITMAP_INTERNAL_H_

#include <cstdint>
#include <vector>

#include "featurebase/bitmap.h"
#include "lib/bitmap/roaring32.h"

namespace featurebase {

namespace internal {
// One shard's columns: `bits` holds offsets < 2^20 of columns in shard `key`.
struct BitmapChunk {
  uint64_t key;
  Roaring32 bits;
};
}  // namespace internal

// Invariant: chunks sorted by strictly increasing key, none empty.
struct Bitmap::Rep {
  std::vector<internal::BitmapChunk> chunks;
};

namespace internal {

class BitmapAccess {
 public:
  // The chunks of `b`, sorted by shard; empty when b is empty.
  static std::span<const BitmapChunk> Chunks(const Bitmap& b) {
    if (!b.rep_) return {};
    return b.rep_->chunks;
  }
  // The roaring bitmap of `shard` in `b`, or null if b has nothing there.
  static const Roaring32* Shard(const Bitmap& b, uint64_t shard);
  // Builds a Bitmap from chunks in any key order (keys must be distinct);
  // empty chunks are dropped. Values must be < 2^20.
  static Bitmap FromChunks(std::vector<BitmapChunk> chunks);
};

}  // namespace internal
}  // namespace featurebase

#endif  // FEATUREBASE_LIB_BITMAP_BITMAP_INTERNAL_H_
