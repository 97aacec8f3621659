// Roaring32: an owning, move-only handle to one CRoaring 32-bit bitmap.
//
// Every layer of the library that stores bits (fragments, BSI planes, query
// results) holds them as Roaring32 values; only lib/bitmap/*.cc includes
// CRoaring, and only through this API, which compiles against CRoaring 0.2.66
// and 4.x alike. In featurebase_core the values are shard-local column offsets
// (< 2^20), but nothing here depends on that.
//
// Thread-compatible: const methods may run concurrently; a mutation needs
// exclusive access.
#ifndef FEATUREBASE_LIB_BITMAP_ROARING32_H_
#define FEATUREBASE_LIB_BITMAP_ROARING32_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace featurebase::internal {

struct RoaringOpaque;  // roaring_bitmap_t, seen only by lib/bitmap/*.cc

class Roaring32 {
 public:
  // An empty bitmap. Allocates (CRoaring's header, ~40 bytes).
  Roaring32();
  ~Roaring32();
  Roaring32(Roaring32&& other) noexcept : r_(other.r_) { other.r_ = nullptr; }
  Roaring32& operator=(Roaring32&& other) noexcept;
  Roaring32(const Roaring32&) = delete;
  Roaring32& operator=(const Roaring32&) = delete;

  // A deep copy.
  Roaring32 Copy() const;

  // Builds from values in any order, duplicates allowed. O(n) when sorted.
  static Roaring32 FromValues(std::span<const uint32_t> values);
  // All values in [lo, hi); hi <= 2^32.
  static Roaring32 FromRange(uint64_t lo, uint64_t hi);

  // Single-value operations; Add/Remove return whether the bitmap changed.
  bool Add(uint32_t v);
  bool Remove(uint32_t v);
  bool Contains(uint32_t v) const;
  // Adds/removes many values; fastest when sorted.
  void AddMany(std::span<const uint32_t> values);
  void RemoveMany(std::span<const uint32_t> values);
  // Appends the 2^16-value block `words` (1024 words, bit b of word w is
  // value key * 2^16 + 64w + b) as the container for `key`, which must be
  // above every value present. Nothing is added for an empty block; up to
  // 4096 values become an array container, more a bitset (CRoaring's rule).
  // For bulk builders that fill blocks in order: O(1024) per block.
  void AppendBlock(uint16_t key, const uint64_t* words);
  // [lo, hi) range operations; hi <= 2^32.
  void AddRange(uint64_t lo, uint64_t hi);
  void RemoveRange(uint64_t lo, uint64_t hi);
  uint64_t RangeCardinality(uint64_t lo, uint64_t hi) const;
  void Clear();

  uint64_t Cardinality() const;
  bool IsEmpty() const;
  // Smallest / largest value; nullopt when empty.
  std::optional<uint32_t> Minimum() const;
  std::optional<uint32_t> Maximum() const;
  // Number of values <= v.
  uint64_t Rank(uint32_t v) const;
  // The value of 0-based rank `rank`; nullopt if rank >= Cardinality().
  std::optional<uint32_t> Select(uint64_t rank) const;

  // Set algebra. The in-place forms modify *this.
  static Roaring32 And(const Roaring32& a, const Roaring32& b);
  static Roaring32 Or(const Roaring32& a, const Roaring32& b);
  static Roaring32 AndNot(const Roaring32& a, const Roaring32& b);
  static Roaring32 Xor(const Roaring32& a, const Roaring32& b);
  // Union of many, faster than repeated Or. Null entries are not allowed.
  static Roaring32 OrMany(std::span<const Roaring32* const> inputs);
  void AndInPlace(const Roaring32& b);
  void OrInPlace(const Roaring32& b);
  void AndNotInPlace(const Roaring32& b);
  void XorInPlace(const Roaring32& b);
  // Complement within [lo, hi).
  Roaring32 Flip(uint64_t lo, uint64_t hi) const;

  // Fused counts: never materialize the result.
  static uint64_t AndCardinality(const Roaring32& a, const Roaring32& b);
  static uint64_t OrCardinality(const Roaring32& a, const Roaring32& b);
  static uint64_t AndNotCardinality(const Roaring32& a, const Roaring32& b);
  static uint64_t XorCardinality(const Roaring32& a, const Roaring32& b);
  static bool Intersects(const Roaring32& a, const Roaring32& b);
  // How many of `sorted` (ascending values) the bitmap holds, and whether it
  // holds any: each 2^16-value block's container is found once, not once
  // per value (a small row kept as a sorted array against a bitmap).
  uint64_t CountOf(std::span<const uint32_t> sorted) const;
  bool ContainsAnyOf(std::span<const uint32_t> sorted) const;
  // Fused AND-counts of many rows against a few filters, one 2^16-value
  // container at a time: each filter container is read once and stays in L1
  // while the matching containers of the rows stream through it one after
  // another, in row order (each read once, against up to four filters per
  // pass), so every row is read from memory once and nothing is
  // materialized. Sets out[f * rows.size() + r] = |*filters[f] ∩ *rows[r]|;
  // `out` must hold filters.size() * rows.size() counts. Rows' containers
  // whose key no filter has are never touched. O(filter containers * rows *
  // 1024 words) at worst.
  static void AndCardinalityMatrix(std::span<const Roaring32* const> filters,
                                   std::span<const Roaring32* const> rows,
                                   std::span<uint64_t> out);
  // The extreme of bit-sliced numbers (a BSI's Min and Max): each column of
  // the set include[0] ∩ include[1] ∩ ... minus every exclude[k] holds the
  // number whose bit i is whether the column is in *slices[i]. Returns the
  // largest (want_max) or smallest of those numbers and how many columns of
  // the set hold it; count 0 when the set is empty. `include` must not be
  // empty; at most 64 slices. One 2^16-value container at a time, so nothing
  // is materialized: the container's candidates are built in L1 and narrowed
  // from the top slice down, reading each slice container at most once (only
  // the words of the remaining candidates once fewer than 128 remain), and a
  // container falling behind the best so far stops early.
  struct Extreme {
    uint64_t value = 0;
    uint64_t count = 0;
  };
  static Extreme SliceExtreme(std::span<const Roaring32* const> include,
                              std::span<const Roaring32* const> exclude,
                              std::span<const Roaring32* const> slices,
                              bool want_max);
  // For tests: caps the instruction set of the fused kernels (0 scalar,
  // 1 AVX2, 2 AVX-512; the CPU's own level still applies). Returns the
  // previous cap. Not for concurrent use with running kernels.
  static int CapSimdForTesting(int level);

  bool Equals(const Roaring32& b) const;
  bool IsSubsetOf(const Roaring32& b) const;

  // Appends all values in ascending order.
  void AppendTo(std::vector<uint32_t>* out) const;
  // Calls f(v) for each value in ascending order.
  template <typename F>
  void ForEach(F&& f) const {
    Reader reader(*this);
    uint32_t buf[256];
    for (size_t n; (n = reader.Next(buf, 256)) > 0;) {
      for (size_t i = 0; i < n; ++i) f(buf[i]);
    }
  }

  // Block-wise ascending reader; the bitmap must outlive it and stay unchanged.
  class Reader {
   public:
    explicit Reader(const Roaring32& r);
    ~Reader();
    Reader(const Reader&) = delete;
    Reader& operator=(const Reader&) = delete;
    // Fills up to `cap` values; returns how many (0 at the end).
    size_t Next(uint32_t* buf, size_t cap);
    // Positions at the first value >= v.
    void SeekGE(uint32_t v);

   private:
    void* it_;  // roaring_uint32_iterator_t*
  };

  // Converts containers to run form where smaller; returns whether any changed.
  bool RunOptimize();
  // Releases spare capacity. Returns bytes saved.
  size_t ShrinkToFit();
  // Approximate heap bytes held (containers plus header).
  size_t MemoryBytes() const;

  // The standard portable Roaring format (RoaringFormatSpec).
  size_t PortableSize() const;
  // Appends the portable serialization to *out.
  void AppendPortable(std::string* out) const;
  // Appends exactly what FromValues(values).AppendPortable(out) would, for
  // ascending unique `values`, without building the bitmap (one array
  // container per 2^16 block; for small sets, where building one would cost
  // more than writing it).
  static void AppendPortableSorted(std::span<const uint32_t> values,
                                   std::string* out);
  // Decodes exactly one portable bitmap occupying all of `bytes`, after a full
  // structural validation (sorted keys and values, cardinalities, offsets; see
  // portable_validate.h). Values above `max_value` are rejected. Any problem is
  // DataLoss naming the offset; never reads outside `bytes`.
  static absl::StatusOr<Roaring32> DecodePortable(
      std::string_view bytes, uint32_t max_value = UINT32_MAX);

  // For lib/bitmap only.
  RoaringOpaque* raw() { return r_; }
  const RoaringOpaque* raw() const { return r_; }
  static Roaring32 Adopt(RoaringOpaque* r) { return Roaring32(r); }

 private:
  explicit Roaring32(RoaringOpaque* r) : r_(r) {}
  RoaringOpaque* r_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BITMAP_ROARING32_H_
