// Bitmap: a compressed set of 64-bit column ids (a roaring bitmap).
//
// Bitmaps are what row calls return (Row, Union, Intersect, ...) and what
// callers pass in as filters. Internally a Bitmap is split by shard (2^20
// columns each, the unit of FeatureBase's storage and of parallel query
// execution), each shard held as a roaring bitmap.
//
// A Bitmap is a value: cheap to move, deep to copy, equality-comparable.
// Thread-compatible: const methods may run concurrently; mutation needs
// exclusive access.
#ifndef FEATUREBASE_BITMAP_H_
#define FEATUREBASE_BITMAP_H_

#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/status.h"

namespace featurebase {

namespace internal {
class BitmapAccess;
}  // namespace internal

class Bitmap {
 public:
  // The empty set. Does not allocate.
  Bitmap() noexcept;
  ~Bitmap();
  Bitmap(const Bitmap& other);
  Bitmap& operator=(const Bitmap& other);
  Bitmap(Bitmap&& other) noexcept;
  Bitmap& operator=(Bitmap&& other) noexcept;

  // The set of `values` (any order, duplicates allowed). O(n log n), O(n) if
  // sorted.
  static Bitmap Of(std::initializer_list<uint64_t> values);
  static Bitmap FromValues(std::span<const uint64_t> values);
  // Every value in [lo, hi). Empty if lo >= hi.
  static Bitmap FromRange(uint64_t lo, uint64_t hi);

  // Adds / removes one value; returns whether the set changed.
  bool Add(uint64_t v);
  bool Remove(uint64_t v);
  bool Contains(uint64_t v) const;
  // Adds many values; fastest when sorted.
  void AddMany(std::span<const uint64_t> values);
  // [lo, hi) range operations; nothing happens if lo >= hi.
  void AddRange(uint64_t lo, uint64_t hi);
  void RemoveRange(uint64_t lo, uint64_t hi);
  // Number of values in [lo, hi).
  uint64_t RangeCardinality(uint64_t lo, uint64_t hi) const;
  void Clear();

  // Number of values. O(number of roaring containers).
  uint64_t Cardinality() const;
  bool IsEmpty() const;
  std::optional<uint64_t> Minimum() const;
  std::optional<uint64_t> Maximum() const;
  // Number of values <= v.
  uint64_t Rank(uint64_t v) const;
  // The value at 0-based position `rank` in ascending order; nullopt when
  // rank >= Cardinality().
  std::optional<uint64_t> Select(uint64_t rank) const;

  // Set algebra, allocating and in place.
  friend Bitmap operator&(const Bitmap& a, const Bitmap& b);
  friend Bitmap operator|(const Bitmap& a, const Bitmap& b);
  friend Bitmap operator-(const Bitmap& a, const Bitmap& b);  // a and not b
  friend Bitmap operator^(const Bitmap& a, const Bitmap& b);
  Bitmap& operator&=(const Bitmap& b);
  Bitmap& operator|=(const Bitmap& b);
  Bitmap& operator-=(const Bitmap& b);
  Bitmap& operator^=(const Bitmap& b);
  // Union of many bitmaps, faster than folding with |.
  static Bitmap UnionMany(std::span<const Bitmap* const> inputs);

  // Fused counts: the cardinality of the result, never materialized.
  static uint64_t IntersectCount(const Bitmap& a, const Bitmap& b);
  static uint64_t UnionCount(const Bitmap& a, const Bitmap& b);
  static uint64_t DifferenceCount(const Bitmap& a, const Bitmap& b);
  static uint64_t XorCount(const Bitmap& a, const Bitmap& b);
  static bool Intersects(const Bitmap& a, const Bitmap& b);
  bool IsSubsetOf(const Bitmap& b) const;

  // Every value v becomes v + n; values that would pass 2^64 - 1 are dropped
  // (FeatureBase's Shift). O(cardinality) unless n is a multiple of 2^20.
  Bitmap Shift(uint64_t n) const;
  // The values at ascending positions [offset, offset + limit) (PQL Limit).
  Bitmap Slice(uint64_t offset, uint64_t limit) const;

  // All values in ascending order.
  std::vector<uint64_t> ToVector() const;
  // Calls f(v) for every value in ascending order.
  template <typename F>
  void ForEach(F&& f) const;

  // Serialization: a checksummed frame around the standard portable Roaring
  // format of each shard (byte layout in docs/format.md). Deserialize checks
  // length, checksum and every structural invariant before trusting a byte:
  // any mismatch, truncation or trailing garbage is DataLoss naming the
  // offset, never a crash.
  std::string Serialize() const;
  size_t SerializedSize() const;
  static StatusOr<Bitmap> Deserialize(std::string_view bytes);

  // Converts containers to the smallest form (run containers where they
  // pay) and releases spare capacity.
  void Optimize();
  // Approximate heap bytes held.
  size_t MemoryBytes() const;

  friend bool operator==(const Bitmap& a, const Bitmap& b);

 private:
  friend class internal::BitmapAccess;
  struct Rep;  // sorted shard chunks; null means empty
  explicit Bitmap(std::unique_ptr<Rep> rep) noexcept;
  // Appends up to `cap` values at or after the cursor; see ForEach.
  size_t ReadBlock(size_t* chunk, uint64_t* resume, uint64_t* buf,
                   size_t cap) const;
  std::unique_ptr<Rep> rep_;
};

template <typename F>
void Bitmap::ForEach(F&& f) const {
  size_t chunk = 0;
  uint64_t resume = 0;
  uint64_t buf[256];
  for (size_t n; (n = ReadBlock(&chunk, &resume, buf, 256)) > 0;) {
    for (size_t i = 0; i < n; ++i) f(buf[i]);
  }
}

}  // namespace featurebase

#endif  // FEATUREBASE_BITMAP_H_
