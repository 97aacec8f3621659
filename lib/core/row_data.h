// RowData: the bits of one fragment row (column offsets < 2^20 in a shard).
//
// Rows of up to kInlineMax offsets keep them inline, sorted: a mutex field
// with a million values has about one column per row and shard, and moving a
// column between two such rows then touches two trie slots and allocates
// nothing. Larger rows hold a Roaring32 shared between versions and copied
// on the first write under a new owner token (see persistent_map.h). A row
// changes representation when its size crosses kInlineMax; nothing outside
// this class depends on which one it has.
//
// Thread-safety: as Fragment (immutable once published; one writer).
#ifndef FEATUREBASE_LIB_CORE_ROW_DATA_H_
#define FEATUREBASE_LIB_CORE_ROW_DATA_H_

#include <cstdint>
#include <deque>
#include <memory>
#include <span>
#include <vector>

#include "lib/bitmap/roaring32.h"
#include "lib/core/persistent_map.h"

namespace featurebase::internal {

class RowData {
 public:
  static constexpr uint32_t kInlineMax = 4;

  RowData() = default;
  // A row holding `bits` (inline when small enough).
  static RowData FromRoaring(OwnerToken owner, Roaring32 bits);
  // A row holding `offsets`, which must be ascending and unique.
  static RowData FromSorted(OwnerToken owner,
                            std::span<const uint32_t> offsets);

  bool empty() const { return n_ == 0 && big_ == nullptr; }
  uint64_t Cardinality() const { return big_ ? big_->bits.Cardinality() : n_; }
  bool Contains(uint32_t offset) const;
  // The shared bitmap of a large row; null for inline rows.
  const Roaring32* roaring() const { return big_ ? &big_->bits : nullptr; }
  // Calls f(offset) in ascending order.
  template <typename F>
  void ForEach(F&& f) const {
    if (big_) {
      big_->bits.ForEach(f);
    } else {
      for (uint32_t i = 0; i < n_; ++i) f(small_[i]);
    }
  }
  // Appends the offsets in ascending order.
  void AppendTo(std::vector<uint32_t>* out) const;
  bool Intersects(const Roaring32& b) const;
  uint64_t AndCardinality(const Roaring32& b) const;
  // A copy as a bitmap.
  Roaring32 ToRoaring() const;
  // The row as a bitmap: its own for large rows, else a copy appended to
  // *scratch, which must outlive the pointer.
  const Roaring32* AsRoaring(std::deque<Roaring32>* scratch) const;
  // True when both are large rows sharing one bitmap (so certainly equal).
  bool SharesBitsWith(const RowData& o) const {
    return big_ != nullptr && big_ == o.big_;
  }
  bool Equals(const RowData& o) const;
  // Approximate heap bytes beyond sizeof(RowData).
  size_t HeapBytes() const;

  // ---- mutation under `owner` (a shared bitmap is copied first). Offsets
  // spans are ascending and unique. Each returns how many offsets changed.
  bool Add(OwnerToken owner, uint32_t offset);
  bool Remove(OwnerToken owner, uint32_t offset);
  uint64_t AddMany(OwnerToken owner, std::span<const uint32_t> offsets);
  uint64_t RemoveMany(OwnerToken owner, std::span<const uint32_t> offsets);
  void OrInPlace(OwnerToken owner, const Roaring32& bits);
  void AndNotInPlace(OwnerToken owner, const Roaring32& bits);

 private:
  struct Shared {
    OwnerToken owner = 0;
    Roaring32 bits;
  };
  // Turns an inline row into a bitmap row owned by `owner`, or makes a
  // bitmap row's bitmap owned by `owner`; returns it.
  Roaring32* MutableBits(OwnerToken owner);
  // A bitmap row at or under kInlineMax offsets goes back inline.
  void ShrinkIfSmall();

  uint32_t n_ = 0;  // inline offsets (0 for bitmap rows)
  uint32_t small_[kInlineMax] = {};
  std::shared_ptr<Shared> big_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_ROW_DATA_H_
