// BsiShard: one shard of one bit-sliced-index (BSI) value field, in
// FeatureBase's sign-magnitude layout (reference section 3):
//   row 0       exists: the column has a value,
//   row 1       sign: the stored value is negative,
//   rows 2 + i  bit i of the magnitude |stored|, i < depth().
// "Stored" values are base-adjusted (value - base, see BsiFieldSpec); every
// int64 is representable (magnitudes up to 2^63, so depth() <= 64). Offsets
// are shard-local column offsets (< 2^20). Planes at or above depth() read as
// empty.
//
// A BsiShard is an immutable value: rows are shared_ptr<const Roaring32>, and
// Apply returns a new shard that shares every row it did not change with its
// input, so snapshots are copy-on-write and copying a BsiShard is O(depth).
// Thread-safe for concurrent readers (nothing mutates after construction).
//
// When Apply or FromRows builds every plane anew, the planes are packed
// (PackedRoaring32): their bitset containers share one mapping, each key's
// containers of all planes adjacent, so Sum, Min and Max read a key as one
// sequential run of pages. A plane shared with a later version keeps its
// pack alive, so a shard can hold up to one extra copy of its planes' bytes
// until its next full rewrite.
//
// Predicates and aggregates take an optional `filter` (shard-local offsets;
// null means "all columns"). Predicates work a row at a time over 2^20-bit
// roaring rows, so the filter-derived working sets (<= 128 KiB each) stay in
// cache while each plane streams through once; counting never materializes
// more than the filter intersection. Sum, Min and Max go one 2^16-column
// container at a time, with the filter's part (8 KiB) in L1, and
// materialize nothing.
#ifndef FEATUREBASE_LIB_BSI_BSI_SHARD_H_
#define FEATUREBASE_LIB_BSI_BSI_SHARD_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/bitmap/roaring32.h"

namespace featurebase::internal {

// Comparison of stored values against a predicate.
enum class BsiOp { kEq, kNeq, kLt, kLte, kGt, kGte };

// Largest number of magnitude planes: |INT64_MIN| = 2^63 needs 64 bits.
inline constexpr int kBsiMaxDepth = 64;

// Number of magnitude bits `stored` needs: bit_width(|stored|).
int BsiDepthOf(int64_t stored);

// Sum of stored values (never overflows: |sum| < 2^84) and the number of
// values summed.
struct BsiSum {
  __int128 sum = 0;
  uint64_t count = 0;
};

// An extreme stored value and the number of columns holding it.
struct BsiExtreme {
  int64_t value = 0;
  uint64_t count = 0;
  bool operator==(const BsiExtreme&) const = default;
};

class BsiShard {
 public:
  using Row = std::shared_ptr<const Roaring32>;

  // An empty shard: no values, depth 0.
  BsiShard();

  // Returns `base` with `clears` removed and then `sets` written (a column in
  // both ends up set). `sets` holds (offset, stored value) pairs, offsets
  // < 2^20, best sorted by offset and unique (otherwise they are sorted
  // here and the last value of a repeated offset wins); `clears` may be
  // null. Works plane by plane:
  // every written or cleared column is removed from each existing row, then
  // the new bits are added in bulk, so no stale bit survives a rewrite. Rows
  // the write does not touch are shared with `base`; planes left empty at
  // the top are dropped. O(|sets| * 64 + rows touched * row size).
  static BsiShard Apply(const BsiShard& base,
                        std::span<const std::pair<uint32_t, int64_t>> sets,
                        const Roaring32* clears);

  // Builds a shard from whole rows (planes[i] = bit i). Used by Decode and
  // bulk loaders; InvalidArgument unless sign and every plane are subsets of
  // exists, no column is negative with magnitude 0, depth <= 64 and every
  // offset < 2^20.
  static absl::StatusOr<BsiShard> FromRows(Roaring32 exists, Roaring32 sign,
                                           std::vector<Roaring32> planes);

  // Number of magnitude planes held (values need at most this many bits).
  int depth() const { return int(planes_.size()); }
  // Row `r` in FeatureBase numbering (0 exists, 1 sign, 2 + i plane i);
  // rows beyond the depth are a shared empty bitmap. For sharing checks.
  const Row& row(int r) const;
  const Roaring32& Exists() const { return *exists_; }
  const Roaring32& Sign() const { return *sign_; }
  // Plane i (bit i of the magnitude); empty for i >= depth().
  const Roaring32& Plane(int i) const;

  // The stored value at `offset`, or nullopt if the column has none.
  // O(depth) lookups.
  std::optional<int64_t> Value(uint32_t offset) const;
  // Columns holding a value (`!= null`), within `filter` if given.
  Roaring32 NotNull(const Roaring32* filter) const;
  // Number of columns holding a value, within `filter` if given.
  uint64_t CountNotNull(const Roaring32* filter) const;
  // (offset, stored value) of every column holding a value within `filter`,
  // by ascending offset. O(n * depth) with sequential merges, no lookups.
  std::vector<std::pair<uint32_t, int64_t>> Values(
      const Roaring32* filter) const;
  // The same values written into arrays indexed by offset: for every
  // column holding a value within `filter`, value[offset] = its stored
  // value and has[offset] = 1; other entries are left as they are. Both
  // arrays hold kShardWidth entries. For callers that keep a dense
  // per-shard scratch (merged batch writes): no sorting, no merge walks.
  void ValuesInto(const Roaring32& filter, int64_t* value, uint8_t* has) const;

  // Columns whose stored value v satisfies `v op predicate` (any int64),
  // within `filter` if given. Exact for every predicate; the FeatureBase
  // clamping to the field's bit depth happens before (BsiFieldSpec).
  // Follows FeatureBase's rangeEQ/NEQ/LT/GT (section 3.4).
  Roaring32 Range(BsiOp op, int64_t predicate, const Roaring32* filter) const;
  // Columns with lo <= v <= hi (empty if lo > hi), FeatureBase's
  // rangeBetween.
  Roaring32 Between(int64_t lo, int64_t hi, const Roaring32* filter) const;
  // |Range(op, predicate, filter)|. LT/LTE/GT/GTE never materialize a
  // result: the matches are summed as disjoint fused counts.
  uint64_t CountRange(BsiOp op, int64_t predicate,
                      const Roaring32* filter) const;

  // Sum and count of the stored values within `filter`: one AND-count per
  // plane against the filter (and filter & sign for the negatives), all
  // planes and exists counted in one pass per 2^16-column container.
  BsiSum Sum(const Roaring32* filter) const;
  // Smallest / largest stored value within `filter` and how many columns
  // hold it; nullopt when there is no value. Container by container
  // (Roaring32::SliceExtreme): the candidates shrink with every plane and
  // each plane container is read at most once, so this reads far less than
  // Sum and materializes nothing.
  std::optional<BsiExtreme> Min(const Roaring32* filter) const;
  std::optional<BsiExtreme> Max(const Roaring32* filter) const;
  // Distinct stored values within `filter`, ascending. O(n * depth + n log n)
  // for n values (Values, then sort and unique).
  std::vector<int64_t> Distinct(const Roaring32* filter) const;

  // True when both hold the same values (depth may differ).
  bool Equals(const BsiShard& other) const;
  // Approximate heap bytes of all rows (shared rows counted in full).
  size_t MemoryBytes() const;

  // Serialization, for the storage layer (which adds its checksummed frame):
  //   u8 version (1), u8 depth, then 2 + depth rows (exists, sign, planes
  //   from bit 0), each a u32 little-endian length and a portable roaring
  //   bitmap of that length.
  void Encode(std::string* out) const;
  // Decodes exactly what Encode wrote; any malformed, truncated or trailing
  // byte, or a broken invariant (see FromRows), is DataLoss.
  static absl::StatusOr<BsiShard> Decode(std::string_view bytes);

 private:
  Row exists_;
  Row sign_;
  std::vector<Row> planes_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BSI_BSI_SHARD_H_
