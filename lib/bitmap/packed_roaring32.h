// PackedRoaring32: a set of Roaring32 rows whose bitset containers are moved
// into one mapping, for kernels that stream them key by key.
#ifndef FEATUREBASE_LIB_BITMAP_PACKED_ROARING32_H_
#define FEATUREBASE_LIB_BITMAP_PACKED_ROARING32_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "lib/bitmap/roaring32.h"

namespace featurebase::internal {

// Bitmaps whose bitset containers share one page-aligned allocation, laid
// out key by key: for each 2^16-value key, ascending, the bitset containers
// of row(0), row(1), ... for that key, adjacent (8 KiB each, their headers
// adjacent too). A kernel that
// walks the rows key by key in row order (AndCardinalityMatrix,
// SliceExtreme) then reads one sequential stream instead of jumping between
// separately allocated containers; array and run containers stay where they
// are. For BSI planes, which are built together and never modified.
//
// Immutable: the rows are reachable only as const; copies of them
// (Roaring32::Copy, set algebra) own their containers as usual. Thread-safe
// for concurrent readers.
class PackedRoaring32 {
 public:
  // Takes `rows` and moves their bitset containers' words into the shared
  // allocation, in the order above. O(rows' containers + bitset bytes).
  static std::shared_ptr<const PackedRoaring32> Pack(
      std::vector<Roaring32> rows);
  ~PackedRoaring32();
  PackedRoaring32(const PackedRoaring32&) = delete;
  PackedRoaring32& operator=(const PackedRoaring32&) = delete;

  size_t size() const { return rows_.size(); }
  const Roaring32& row(size_t i) const { return rows_[i]; }
  // Bytes of the shared allocation (also counted by the rows' MemoryBytes).
  size_t packed_bytes() const { return words_ * sizeof(uint64_t); }

 private:
  PackedRoaring32() = default;

  std::vector<Roaring32> rows_;
  // The shared allocation: `words_` words of bitsets, then `n_headers_`
  // CRoaring bitset headers at `headers_`.
  uint64_t* block_ = nullptr;
  size_t block_bytes_ = 0;
  size_t words_ = 0;
  void* headers_ = nullptr;
  size_t n_headers_ = 0;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BITMAP_PACKED_ROARING32_H_
