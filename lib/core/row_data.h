// RowData: the bits of one fragment row (column offsets < 2^20 in a shard).
//
// A row takes the smallest of three representations for its bits:
//  - up to kInlineMax offsets inline, sorted: a mutex field with a million
//    values has about one column per row and shard, and moving a column
//    between two such rows then touches two trie slots and allocates
//    nothing;
//  - a sorted array of offsets, one allocation, while it is no larger than
//    a bitmap of them would be (ArrayFits: at most 32 offsets per 2^16-bit
//    block touched, plus 16, and never more than kArrayMax). A time field's
//    day and month views are made of such rows: a roaring bitmap of a few
//    offsets spread over the shard costs two allocations per block touched
//    (about 64 bytes each), an array 4 bytes per offset;
//  - a Roaring32 bitmap.
// Arrays and bitmaps are shared between versions and copied on the first
// write under a new owner token (see persistent_map.h). Rows are built in
// the representation their bits call for; a bitmap row that shrinks to
// kArraySure offsets or fewer becomes an array (or inline) again, so a row
// never flips representation back and forth on single-bit edits. Nothing
// outside this class depends on which one a row has (rep() is for tests).
//
// Thread-safety: as Fragment (immutable once published; one writer).
#ifndef FEATUREBASE_LIB_CORE_ROW_DATA_H_
#define FEATUREBASE_LIB_CORE_ROW_DATA_H_

#include <atomic>
#include <cstdint>
#include <deque>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/bitmap/roaring32.h"
#include "lib/core/persistent_map.h"

namespace featurebase::internal {

class RowData {
 public:
  static constexpr uint32_t kInlineMax = 3;
  // Arrays of up to kArraySure offsets are always smaller than a bitmap;
  // no array holds more than kArrayMax (32 per block of a 2^20 shard + 16).
  static constexpr uint32_t kArraySure = 48;
  static constexpr uint32_t kArrayMax = 32 * 16 + 16;

  RowData() : u_{.small = {0, {}}} {}
  RowData(const RowData& o) : u_(o.u_) {
    if (is_big()) {
      u_.big.p->refs.fetch_add(1, std::memory_order_relaxed);
    } else if (is_array()) {
      u_.array.p->refs.fetch_add(1, std::memory_order_relaxed);
    }
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

  // A row holding `bits` (in the representation they call for).
  static RowData FromRoaring(OwnerToken owner, Roaring32 bits);
  // A row holding `offsets`, which must be ascending and unique.
  static RowData FromSorted(OwnerToken owner,
                            std::span<const uint32_t> offsets);
  // A row from one portable-format bitmap (checked as
  // Roaring32::DecodePortable checks it, with the same errors): a row of up
  // to kArrayMax values is decoded straight into its offsets, without a
  // bitmap in between (checkpoints hold millions of such rows).
  static absl::StatusOr<RowData> DecodePortable(OwnerToken owner,
                                                std::string_view bytes);
  // The union of `rows` as one bitmap: the bitmap rows OR-ed together with
  // one bitmap built from the other rows' offsets merged (a time range's
  // many small day and month rows cost one sorted build, not one bitmap
  // each).
  static Roaring32 Union(std::span<const RowData* const> rows);
  // Whether ascending `offsets` (more than kInlineMax) are kept as an array.
  static bool ArrayFits(std::span<const uint32_t> offsets);

  enum class Rep : uint8_t { kInline, kArray, kBitmap };
  Rep rep() const {
    return is_big() ? Rep::kBitmap : is_array() ? Rep::kArray : Rep::kInline;
  }

  bool empty() const { return u_.small.n == 0; }
  uint64_t Cardinality() const {
    return is_big() ? u_.big.p->bits.Cardinality() : sorted().size();
  }
  bool Contains(uint32_t offset) const;
  // The largest offset (none when empty).
  std::optional<uint32_t> Maximum() const {
    if (is_big()) return u_.big.p->bits.Maximum();
    if (empty()) return std::nullopt;
    return sorted().back();
  }
  // The shared bitmap of a bitmap row; null for inline and array rows.
  const Roaring32* roaring() const {
    return is_big() ? &u_.big.p->bits : nullptr;
  }
  // Calls f(offset) in ascending order.
  template <typename F>
  void ForEach(F&& f) const {
    if (is_big()) {
      u_.big.p->bits.ForEach(f);
    } else {
      for (uint32_t v : sorted()) f(v);
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
  // The row as a bitmap: its own for bitmap rows, else a copy appended to
  // *scratch, which must outlive the pointer.
  const Roaring32* AsRoaring(std::deque<Roaring32>* scratch) const;
  // True when both share one array or bitmap (so are certainly equal).
  bool SharesBitsWith(const RowData& o) const {
    if (u_.small.n != o.u_.small.n) return false;
    if (is_big()) return u_.big.p == o.u_.big.p;
    return is_array() && u_.array.p == o.u_.array.p;
  }
  bool Equals(const RowData& o) const;
  // Approximate heap bytes beyond sizeof(RowData).
  size_t HeapBytes() const;

  // ---- mutation under `owner` (a shared array or bitmap is copied first).
  // Offsets spans are ascending and unique. Each returns how many offsets
  // changed. AddMany on an empty row builds it directly (FromSorted).
  bool Add(OwnerToken owner, uint32_t offset);
  bool Remove(OwnerToken owner, uint32_t offset);
  uint64_t AddMany(OwnerToken owner, std::span<const uint32_t> offsets);
  uint64_t RemoveMany(OwnerToken owner, std::span<const uint32_t> offsets);
  void OrInPlace(OwnerToken owner, const Roaring32& bits);
  void AndNotInPlace(OwnerToken owner, const Roaring32& bits);

 private:
  // A bitmap row's bitmap, shared by the versions that hold the row, with
  // the owner token it may be edited under. Reference-counted by hand
  // rather than with std::shared_ptr so that a RowData is 16 bytes: rows
  // are the values of the trie leaves, which are copied on write.
  struct Shared {
    std::atomic<uint32_t> refs{1};
    OwnerToken owner = 0;
    Roaring32 bits;
  };
  // An array row's offsets, shared likewise: this header, then `capacity`
  // uint32_t in the same allocation (one allocation per row).
  struct Array {
    std::atomic<uint32_t> refs{1};
    uint32_t size = 0;
    uint32_t capacity = 0;
    OwnerToken owner = 0;
    uint32_t* data() { return reinterpret_cast<uint32_t*>(this + 1); }
    const uint32_t* data() const {
      return reinterpret_cast<const uint32_t*>(this + 1);
    }
    static Array* New(OwnerToken owner, uint32_t capacity);
    static void Delete(Array* a);
  };
  static_assert(sizeof(Array) % alignof(uint32_t) == 0);
  static constexpr uint32_t kBig = UINT32_MAX;        // n of a bitmap row
  static constexpr uint32_t kArray = UINT32_MAX - 1;  // n of an array row
  // Every member starts with n (inline count, kArray or kBig).
  union Storage {
    struct {
      uint32_t n;
      uint32_t v[kInlineMax];
    } small;
    struct {
      uint32_t n;
      Shared* p;
    } big;
    struct {
      uint32_t n;
      Array* p;
    } array;
  };
  static_assert(sizeof(Storage) == 16);

  bool is_big() const { return u_.small.n == kBig; }
  bool is_array() const { return u_.small.n == kArray; }
  // The offsets of an inline or array row.
  std::span<const uint32_t> sorted() const {
    if (is_array()) return {u_.array.p->data(), u_.array.p->size};
    return {u_.small.v, u_.small.n};
  }
  void Release() {
    if (is_big()) {
      if (u_.big.p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
        delete u_.big.p;
    } else if (is_array()) {
      if (u_.array.p->refs.fetch_sub(1, std::memory_order_acq_rel) == 1)
        Array::Delete(u_.array.p);
    }
  }
  // Makes this a bitmap row holding `bits` under `owner`.
  void SetBig(OwnerToken owner, Roaring32 bits);
  // Makes this row exactly `offsets` (ascending, unique; may alias this
  // row's own offsets), in the representation they call for.
  void Assign(OwnerToken owner, std::span<const uint32_t> offsets);
  // Replaces an inline or array row's offsets with those edit(offsets, out)
  // writes to out (at most `max`, ascending and unique; it returns the end
  // of what it wrote); returns how many it wrote.
  template <typename Edit>
  size_t Rewrite(OwnerToken owner, size_t max, Edit&& edit);
  // Turns an inline or array row into a bitmap row owned by `owner`, or
  // makes a bitmap row's bitmap owned by `owner`; returns it.
  Roaring32* MutableBits(OwnerToken owner);
  // An array row's array, owned by `owner` and with room for `need`
  // offsets (copied or grown as needed).
  Array* MutableArray(OwnerToken owner, uint32_t need);
  // A bitmap row of kArraySure offsets or fewer becomes an array or inline.
  void ShrinkIfSmall();

  Storage u_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_ROW_DATA_H_
