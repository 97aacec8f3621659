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

#include <atomic>
#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "lib/bitmap/roaring32.h"
#include "lib/core/persistent_map.h"

namespace featurebase::internal {

class RowData {
 public:
  static constexpr uint32_t kInlineMax = 3;

  RowData() : u_{.small = {0, {}}} {}
  RowData(const RowData& o) : u_(o.u_) {
    if (is_big()) u_.big.p->refs.fetch_add(1, std::memory_order_relaxed);
  }
  RowData(RowData&& o) noexcept : u_(o.u_) { o.u_.small.n = 0; }
  RowData& operator=(RowData&& o) noexcept {
    if (this != &o) {
      Release();
      u_ = o.u_;
      o.u_.small.n = 0;
    }
    return *this;
  }
  RowData& operator=(const RowData& o) {
    if (this != &o) *this = RowData(o);
    return *this;
  }
  ~RowData() { Release(); }

  // A row holding `bits` (inline when small enough).
  static RowData FromRoaring(OwnerToken owner, Roaring32 bits);
  // A row holding `offsets`, which must be ascending and unique.
  static RowData FromSorted(OwnerToken owner,
                            std::span<const uint32_t> offsets);

  bool empty() const { return u_.small.n == 0; }
  uint64_t Cardinality() const {
    return is_big() ? u_.big.p->bits.Cardinality() : u_.small.n;
  }
  bool Contains(uint32_t offset) const;
  // The shared bitmap of a large row; null for inline rows.
  const Roaring32* roaring() const {
    return is_big() ? &u_.big.p->bits : nullptr;
  }
  // Calls f(offset) in ascending order.
  template <typename F>
  void ForEach(F&& f) const {
    if (is_big()) {
      u_.big.p->bits.ForEach(f);
    } else {
      for (uint32_t i = 0; i < u_.small.n; ++i) f(u_.small.v[i]);
    }
  }
  // Appends the offsets in ascending order.
  void AppendTo(std::vector<uint32_t>* out) const;
  bool Intersects(const Roaring32& b) const;
  uint64_t AndCardinality(const Roaring32& b) const;
  // A copy as a bitmap.
  Roaring32 ToRoaring() const;
  // Appends the portable serialization of the bits (RoaringFormatSpec).
  void AppendPortable(std::string* out) const;
  // The row as a bitmap: its own for large rows, else a copy appended to
  // *scratch, which must outlive the pointer.
  const Roaring32* AsRoaring(std::deque<Roaring32>* scratch) const;
  // True when both are large rows sharing one bitmap (so certainly equal).
  bool SharesBitsWith(const RowData& o) const {
    return is_big() && o.is_big() && u_.big.p == o.u_.big.p;
  }
  bool Equals(const RowData& o) const;
  // Approximate heap bytes beyond sizeof(RowData).
  size_t HeapBytes() const;

  // ---- mutation under `owner` (a shared bitmap is copied first). Offsets
  // spans are ascending and unique. Each returns how many offsets changed.
  // AddMany on an empty row builds it directly (FromSorted).
  bool Add(OwnerToken owner, uint32_t offset);
  bool Remove(OwnerToken owner, uint32_t offset);
  uint64_t AddMany(OwnerToken owner, std::span<const uint32_t> offsets);
  uint64_t RemoveMany(OwnerToken owner, std::span<const uint32_t> offsets);
  void OrInPlace(OwnerToken owner, const Roaring32& bits);
  void AndNotInPlace(OwnerToken owner, const Roaring32& bits);

 private:
  // A large row's bitmap, shared by the versions that hold the row, with
  // the owner token it may be edited under. Reference-counted by hand
  // rather than with std::shared_ptr so that a RowData is 16 bytes: rows
  // are the values of the trie leaves, which are copied on write.
  struct Shared {
    std::atomic<uint32_t> refs{1};
    OwnerToken owner = 0;
    Roaring32 bits;
  };
  static constexpr uint32_t kBig = UINT32_MAX;  // n of a large row
  // Both members start with n (inline count, or kBig).
  union Storage {
    struct {
      uint32_t n;
      uint32_t v[kInlineMax];
    } small;
    struct {
      uint32_t n;
      Shared* p;
    } big;
  };
  static_assert(sizeof(Storage) == 16);

  bool is_big() const { return u_.small.n == kBig; }
  void Release() {
    if (is_big() &&
        u_.big.p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1) {
      delete u_.big.p;
    }
  }
  // Makes this a large row holding `bits` under `owner`.
  void SetBig(OwnerToken owner, Roaring32 bits);
  // Turns an inline row into a bitmap row owned by `owner`, or makes a
  // bitmap row's bitmap owned by `owner`; returns it.
  Roaring32* MutableBits(OwnerToken owner);
  // A bitmap row at or under kInlineMax offsets goes back inline.
  void ShrinkIfSmall();

  Storage u_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_ROW_DATA_H_
