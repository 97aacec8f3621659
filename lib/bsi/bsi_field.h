// BsiFieldSpec: the per-field half of a BSI value field (int, decimal,
// timestamp): range, base, scale or time unit, and the bit depth, with the
// translations between user values, "raw" values and stored values.
//
//   user value  what PQL sees: an integer, a decimal text, an RFC3339 time;
//   raw value   an int64: the integer, the decimal times 10^scale, or the
//               timestamp in units since the Unix epoch (value_codec.h);
//   stored      raw - base, what BsiShard holds.
//
// Also: FeatureBase's predicate translation (short-circuits at the field's
// min/max, clamping at the bit-depth bounds), result conversion and
// PercentileSearch.
//
// Thread-compatible value type: const methods may run concurrently; the
// owner serializes GrowBitDepth (the core model keeps one spec per field
// version, copy-on-write like the shards).
#ifndef FEATUREBASE_LIB_BSI_BSI_FIELD_H_
#define FEATUREBASE_LIB_BSI_BSI_FIELD_H_

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/functional/function_ref.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "lib/bitmap/roaring32.h"
#include "lib/bsi/bsi_shard.h"
#include "lib/bsi/value_codec.h"

namespace featurebase::internal {

enum class BsiFieldType { kInt, kDecimal, kTimestamp };

// Options of a BSI field, in raw units. Defaults follow FeatureBase.
struct BsiFieldOptions {
  BsiFieldType type = BsiFieldType::kInt;
  // Smallest / largest accepted raw value. Default: the full int64 range for
  // int and decimal; for timestamps 0001-01-01T00:00:00Z ..
  // 9999-12-31T23:59:59.999999999Z in `unit`, clipped to int64.
  std::optional<int64_t> min;
  std::optional<int64_t> max;
  // Decimal only: digits after the point, 0..19.
  int scale = 0;
  // Timestamp only: the base instant and the unit of stored values.
  absl::Time epoch = absl::UnixEpoch();
  TimeUnit unit = TimeUnit::kSecond;
};

// A predicate translated to stored values, ready for a BsiShard.
struct BsiPredicate {
  enum class Kind {
    kEmpty,    // matches nothing
    kNotNull,  // matches every column with a value (row 0)
    kCompare,  // stored `op` value
    kBetween,  // value <= stored <= hi
  };
  Kind kind = Kind::kEmpty;
  BsiOp op = BsiOp::kEq;
  int64_t value = 0;
  int64_t hi = 0;
  bool operator==(const BsiPredicate&) const = default;
};

// FeatureBase's bsiGroup.baseValue: `raw` clamped to the bit-depth range
// [base - (2^depth - 1), base + 2^depth - 1] and made relative to `base`.
// GT/GTE above the range and LT/LTE below it, and EQ/NEQ outside it, are
// out of range (nullopt); GT below the range gives bitDepthMin - base - 1,
// LT above it bitDepthMax - base + 1. Example, base -100, depth 10:
// LT 5 -> 105, LT 1005 -> 1024, GT -5 -> 95, EQ -105 -> -5.
std::optional<__int128> BsiBaseValue(BsiOp op, __int128 raw, int64_t base,
                                     int depth);

// Evaluates `p` on one shard, within `filter` if given.
Roaring32 EvaluatePredicate(const BsiShard& shard, const BsiPredicate& p,
                            const Roaring32* filter);
// |EvaluatePredicate(shard, p, filter)|; fused counts for comparisons.
uint64_t CountPredicate(const BsiShard& shard, const BsiPredicate& p,
                        const Roaring32* filter);

class BsiFieldSpec {
 public:
  // Validates `options` (min <= max, scale in [0, 19], epoch representable
  // in `unit`): InvalidArgument naming the field otherwise. Computes the
  // base: for int/decimal min if min > 0, max if max < 0, else 0; for
  // timestamps the epoch in units. For timestamps min/max are narrowed so
  // that every stored value fits an int64.
  static absl::StatusOr<BsiFieldSpec> Create(std::string_view name,
                                             const BsiFieldOptions& options);

  const std::string& name() const { return name_; }
  BsiFieldType type() const { return options_.type; }
  const BsiFieldOptions& options() const { return options_; }
  int64_t min() const { return min_; }
  int64_t max() const { return max_; }
  int64_t base() const { return base_; }
  int scale() const { return options_.scale; }
  TimeUnit unit() const { return options_.unit; }

  // Bit depth: grows, never shrinks. FeatureBase's bitDepthMin/Max are
  // base -/+ (2^depth - 1).
  int bit_depth() const { return bit_depth_; }
  void GrowBitDepth(int depth);

  // The stored value of raw `value`: OutOfRange
  // `set: value 130 out of range [0, 120] for field "age"` when outside
  // [min, max] (user-formatted for decimals and timestamps).
  absl::StatusOr<int64_t> ToStored(int64_t raw) const;
  // The raw value of `stored` (never overflows for stored values written
  // through ToStored).
  int64_t ToRaw(int64_t stored) const { return stored + base_; }

  // Parses a user value (integer, decimal text, RFC3339) into a raw value:
  // InvalidArgument for malformed text, OutOfRange when it does not fit
  // (the field's range is checked by ToStored).
  absl::StatusOr<int64_t> ParseValue(std::string_view text) const;
  // Formats a raw value for the user: "42", "12.30", "2024-05-06T07:08:09Z".
  std::string FormatValue(int64_t raw) const;
  // Formats a raw sum (which may exceed int64) the same way.
  std::string FormatSum(__int128 raw_sum) const;

  // Translates `stored op raw` (raw may lie anywhere, even beyond int64,
  // e.g. a wide decimal) with FeatureBase's rules (reference 3.3): outside
  // [min, max] EQ is empty, NEQ and the comparisons that every value
  // satisfies are NotNull; then clamping to the bit-depth range (GT/GTE
  // above it and LT/LTE below it are empty) and subtracting the base.
  BsiPredicate Translate(BsiOp op, __int128 raw) const;
  // Translates `lo <(=) f <(=) hi` (`a < f < b` with any mix of < and <=):
  // an inclusive range after +1/-1, empty if it misses the bit-depth range
  // or is inverted, NotNull if it covers [min, max], else clamped Between.
  BsiPredicate TranslateBetween(__int128 lo, bool lo_inclusive, __int128 hi,
                                bool hi_inclusive) const;

  // Raw sum of the stored sum: sum + count * base, exact.
  __int128 RawSum(const BsiSum& s) const {
    return s.sum + __int128(s.count) * base_;
  }

 private:
  BsiFieldSpec() = default;

  std::string name_;
  BsiFieldOptions options_;
  int64_t min_ = 0;
  int64_t max_ = 0;
  int64_t base_ = 0;
  int bit_depth_ = 0;
};

// One shard of a field and its filter, for the cross-shard aggregates below.
struct BsiShardInput {
  const BsiShard* shard = nullptr;    // never null
  const Roaring32* filter = nullptr;  // null: every column of the shard
};

// Min/Max over shards in raw values, merged as FeatureBase's reducers do:
// the extreme value, with the counts of the shards that tie added; nullopt
// when no column has a value. (Sums, distinct values and the rest run as
// per-shard partials in the executor, which may merge them anywhere.)
std::optional<BsiExtreme> FieldMin(const BsiFieldSpec& spec,
                                   std::span<const BsiShardInput> shards);
std::optional<BsiExtreme> FieldMax(const BsiFieldSpec& spec,
                                   std::span<const BsiShardInput> shards);
// Percentile(nth) as FeatureBase computes it (PercentileSearch over
// FieldMin/FieldMax and fused counts of `< v` / `> v` translated with
// `spec`); nullopt when no column has a value. InvalidArgument for nth
// outside [0, 100]. `spec` must have seen every written value
// (GrowBitDepth) so the translation does not clamp real values away.
absl::StatusOr<std::optional<int64_t>> FieldPercentile(
    const BsiFieldSpec& spec, std::span<const BsiShardInput> shards,
    double nth);

// FeatureBase v3's Percentile (executor.go executePercentile), over raw
// values: `min` and `max` are the smallest and largest values (with the
// filter), `count_less(v)` / `count_greater(v)` count values < v / > v.
// nth == 0 returns min. Otherwise k = (100 - nth) / nth and a binary search
// over [min, max] probes the midpoint max/2 + min/2 + (max%2 + min%2)/2
// (C++ and Go both truncate toward zero): with L = round(k * count_less),
// R = count_greater, L > R moves max to mid - 1, L < R moves min to mid + 1,
// L == R returns mid; when the loop ends (min >= max) it returns min.
// InvalidArgument when nth is not in [0, 100]. The caller handles "no
// values" (Min empty) before calling.
absl::StatusOr<int64_t> PercentileSearch(
    double nth, int64_t min, int64_t max,
    absl::FunctionRef<uint64_t(int64_t)> count_less,
    absl::FunctionRef<uint64_t(int64_t)> count_greater);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BSI_BSI_FIELD_H_
