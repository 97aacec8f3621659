#include "lib/bsi/bsi_field.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace featurebase::internal {
namespace {

using int128 = __int128;

constexpr int128 kInt64Min = INT64_MIN;
constexpr int128 kInt64Max = INT64_MAX;

// 2^depth - 1, exact for depth <= 64.
int128 MaxMagnitude(int depth) { return (int128(1) << depth) - 1; }

BsiPredicate Empty() { return {BsiPredicate::Kind::kEmpty}; }
BsiPredicate NotNull() { return {BsiPredicate::Kind::kNotNull}; }

// Default timestamp range in `unit`: 0001-01-01T00:00:00Z ..
// 9999-12-31T23:59:59.999999999Z, clipped to int64.
int64_t TimestampBound(bool upper, TimeUnit unit) {
  const int64_t per_sec = UnitsPerSecond(unit);
  const int128 units = upper ? int128(253402300799) * per_sec + (per_sec - 1)
                             : int128(-62135596800) * per_sec;
  return int64_t(std::clamp(units, kInt64Min, kInt64Max));
}

}  // namespace

std::optional<__int128> BsiBaseValue(BsiOp op, __int128 raw, int64_t base,
                                     int depth) {
  const int128 bd_min = base - MaxMagnitude(depth);
  const int128 bd_max = base + MaxMagnitude(depth);
  switch (op) {
    case BsiOp::kGt:
    case BsiOp::kGte:
      if (raw > bd_max) return std::nullopt;
      if (raw < bd_min) return bd_min - base - (op == BsiOp::kGt ? 1 : 0);
      return raw - base;
    case BsiOp::kLt:
    case BsiOp::kLte:
      if (raw < bd_min) return std::nullopt;
      if (raw > bd_max) return bd_max - base + (op == BsiOp::kLt ? 1 : 0);
      return raw - base;
    case BsiOp::kEq:
    case BsiOp::kNeq:
      if (raw < bd_min || raw > bd_max) return std::nullopt;
      return raw - base;
  }
  return std::nullopt;
}

Roaring32 EvaluatePredicate(const BsiShard& shard, const BsiPredicate& p,
                            const Roaring32* filter) {
  switch (p.kind) {
    case BsiPredicate::Kind::kEmpty:
      return Roaring32();
    case BsiPredicate::Kind::kNotNull:
      return shard.NotNull(filter);
    case BsiPredicate::Kind::kCompare:
      return shard.Range(p.op, p.value, filter);
    case BsiPredicate::Kind::kBetween:
      return shard.Between(p.value, p.hi, filter);
  }
  return Roaring32();
}

uint64_t CountPredicate(const BsiShard& shard, const BsiPredicate& p,
                        const Roaring32* filter) {
  switch (p.kind) {
    case BsiPredicate::Kind::kEmpty:
      return 0;
    case BsiPredicate::Kind::kNotNull:
      return shard.CountNotNull(filter);
    case BsiPredicate::Kind::kCompare:
      return shard.CountRange(p.op, p.value, filter);
    case BsiPredicate::Kind::kBetween:
      return shard.Between(p.value, p.hi, filter).Cardinality();
  }
  return 0;
}

absl::StatusOr<BsiFieldSpec> BsiFieldSpec::Create(
    std::string_view name, const BsiFieldOptions& options) {
  BsiFieldSpec spec;
  spec.name_ = std::string(name);
  spec.options_ = options;
  switch (options.type) {
    case BsiFieldType::kInt:
    case BsiFieldType::kDecimal: {
      if (options.type == BsiFieldType::kDecimal &&
          (options.scale < 0 || options.scale > kMaxDecimalScale)) {
        return absl::InvalidArgumentError(
            fmt::format("field \"{}\": decimal scale {} outside [0, {}]", name,
                        options.scale, kMaxDecimalScale));
      }
      if (options.type == BsiFieldType::kInt) spec.options_.scale = 0;
      spec.min_ = options.min.value_or(INT64_MIN);
      spec.max_ = options.max.value_or(INT64_MAX);
      if (spec.min_ > 0) {
        spec.base_ = spec.min_;
      } else if (spec.max_ < 0) {
        spec.base_ = spec.max_;
      }
      break;
    }
    case BsiFieldType::kTimestamp: {
      spec.options_.scale = 0;
      auto base = TimeToUnits(options.epoch, options.unit);
      if (!base.ok()) {
        return absl::InvalidArgumentError(
            fmt::format("field \"{}\": epoch not representable in unit {}",
                        name, TimeUnitName(options.unit)));
      }
      spec.base_ = *base;
      // Every stored value (raw - base) must fit an int64.
      const int128 lo = std::max<int128>(
          options.min.value_or(TimestampBound(false, options.unit)),
          spec.base_ + kInt64Min);
      const int128 hi = std::min<int128>(
          options.max.value_or(TimestampBound(true, options.unit)),
          spec.base_ + kInt64Max);
      spec.min_ = int64_t(std::clamp(lo, kInt64Min, kInt64Max));
      spec.max_ = int64_t(std::clamp(hi, kInt64Min, kInt64Max));
      break;
    }
  }
  if (spec.min_ > spec.max_) {
    return absl::InvalidArgumentError(
        fmt::format("field \"{}\": min {} above max {}", name,
                    spec.FormatValue(spec.min_), spec.FormatValue(spec.max_)));
  }
  return spec;
}

void BsiFieldSpec::GrowBitDepth(int depth) {
  bit_depth_ = std::clamp(depth, bit_depth_, kBsiMaxDepth);
}

absl::StatusOr<int64_t> BsiFieldSpec::ToStored(int64_t raw) const {
  if (raw < min_ || raw > max_) {
    return absl::OutOfRangeError(fmt::format(
        "set: value {} out of range [{}, {}] for field \"{}\"",
        FormatValue(raw), FormatValue(min_), FormatValue(max_), name_));
  }
  return int64_t(int128(raw) - base_);
}

absl::StatusOr<int64_t> BsiFieldSpec::ParseValue(std::string_view text) const {
  switch (options_.type) {
    case BsiFieldType::kInt: {
      int64_t v = 0;
      const char* end = text.data() + text.size();
      auto [ptr, ec] = std::from_chars(
          text.data() + (text.starts_with('+') ? 1 : 0), end, v);
      if (ec == std::errc::result_out_of_range) {
        return absl::OutOfRangeError(
            fmt::format("parse int: \"{}\" does not fit in an int64", text));
      }
      if (ec != std::errc() || ptr != end || text.empty()) {
        return absl::InvalidArgumentError(
            fmt::format("parse int: \"{}\" is not an integer", text));
      }
      return v;
    }
    case BsiFieldType::kDecimal:
      return ParseDecimal(text, options_.scale);
    case BsiFieldType::kTimestamp:
      return ParseTimestamp(text, options_.unit);
  }
  return absl::InternalError("parse value: unknown field type");
}

std::string BsiFieldSpec::FormatValue(int64_t raw) const {
  switch (options_.type) {
    case BsiFieldType::kInt:
      return std::to_string(raw);
    case BsiFieldType::kDecimal:
      return FormatDecimal(raw, options_.scale);
    case BsiFieldType::kTimestamp:
      return FormatTimestamp(raw, options_.unit);
  }
  return std::to_string(raw);
}

std::string BsiFieldSpec::FormatSum(__int128 raw_sum) const {
  return FormatDecimal(
      raw_sum, options_.type == BsiFieldType::kDecimal ? options_.scale : 0);
}

BsiPredicate BsiFieldSpec::Translate(BsiOp op, __int128 raw) const {
  // Short-circuits at the field's own range (executeRowBSIGroupShard).
  const bool outside = raw < min_ || raw > max_;
  switch (op) {
    case BsiOp::kEq:
      if (outside) return Empty();
      break;
    case BsiOp::kNeq:
      if (outside) return NotNull();
      break;
    case BsiOp::kLt:
      if (raw > max_) return NotNull();
      break;
    case BsiOp::kLte:
      if (raw >= max_) return NotNull();
      break;
    case BsiOp::kGt:
      if (raw < min_) return NotNull();
      break;
    case BsiOp::kGte:
      if (raw <= min_) return NotNull();
      break;
  }
  const std::optional<int128> v = BsiBaseValue(op, raw, base_, bit_depth_);
  if (!v) return op == BsiOp::kNeq ? NotNull() : Empty();
  // With 63 or 64 planes the clamped value may leave the int64 range that
  // every stored value lies in; the answer is then all or nothing.
  if (*v > kInt64Max || *v < kInt64Min) {
    const bool above = *v > kInt64Max;
    switch (op) {
      case BsiOp::kEq:
        return Empty();
      case BsiOp::kNeq:
        return NotNull();
      case BsiOp::kLt:
      case BsiOp::kLte:
        return above ? NotNull() : Empty();
      case BsiOp::kGt:
      case BsiOp::kGte:
        return above ? Empty() : NotNull();
    }
  }
  return {BsiPredicate::Kind::kCompare, op, int64_t(*v), 0};
}

BsiPredicate BsiFieldSpec::TranslateBetween(__int128 lo, bool lo_inclusive,
                                            __int128 hi,
                                            bool hi_inclusive) const {
  if (!lo_inclusive) lo += 1;
  if (!hi_inclusive) hi -= 1;
  // baseValueBetween, then the "covers the whole field" short-circuit.
  const int128 bd_min = base_ - MaxMagnitude(bit_depth_);
  const int128 bd_max = base_ + MaxMagnitude(bit_depth_);
  if (hi < bd_min || lo > bd_max || hi < lo) return Empty();
  if (lo <= min_ && hi >= max_) return NotNull();
  lo = std::max(lo, bd_min) - base_;
  hi = std::min(hi, bd_max) - base_;
  if (lo > kInt64Max || hi < kInt64Min) return Empty();
  return {BsiPredicate::Kind::kBetween, BsiOp::kEq,
          int64_t(std::max(lo, kInt64Min)), int64_t(std::min(hi, kInt64Max))};
}

namespace {

template <bool kMin>
std::optional<BsiExtreme> FieldExtreme(const BsiFieldSpec& spec,
                                       std::span<const BsiShardInput> shards) {
  std::optional<BsiExtreme> best;
  for (const BsiShardInput& in : shards) {
    auto e = kMin ? in.shard->Min(in.filter) : in.shard->Max(in.filter);
    if (!e) continue;
    const int64_t v = spec.ToRaw(e->value);
    if (!best || (kMin ? v < best->value : v > best->value)) {
      best = BsiExtreme{v, e->count};
    } else if (v == best->value) {
      best->count += e->count;
    }
  }
  return best;
}

uint64_t FieldCount(const BsiFieldSpec& spec,
                    std::span<const BsiShardInput> shards, BsiOp op,
                    int64_t raw) {
  const BsiPredicate p = spec.Translate(op, raw);
  uint64_t n = 0;
  for (const BsiShardInput& in : shards) {
    n += CountPredicate(*in.shard, p, in.filter);
  }
  return n;
}

}  // namespace

std::optional<BsiExtreme> FieldMin(const BsiFieldSpec& spec,
                                   std::span<const BsiShardInput> shards) {
  return FieldExtreme<true>(spec, shards);
}

std::optional<BsiExtreme> FieldMax(const BsiFieldSpec& spec,
                                   std::span<const BsiShardInput> shards) {
  return FieldExtreme<false>(spec, shards);
}

absl::StatusOr<std::optional<int64_t>> FieldPercentile(
    const BsiFieldSpec& spec, std::span<const BsiShardInput> shards,
    double nth) {
  if (!(nth >= 0.0 && nth <= 100.0)) {
    return absl::InvalidArgumentError(
        fmt::format("percentile: nth {} outside [0, 100]", nth));
  }
  const std::optional<BsiExtreme> min = FieldMin(spec, shards);
  if (!min) return std::optional<int64_t>();
  const std::optional<BsiExtreme> max = FieldMax(spec, shards);
  auto v = PercentileSearch(
      nth, min->value, max->value,
      [&](int64_t x) { return FieldCount(spec, shards, BsiOp::kLt, x); },
      [&](int64_t x) { return FieldCount(spec, shards, BsiOp::kGt, x); });
  if (!v.ok()) return v.status();
  return std::optional<int64_t>(*v);
}

absl::StatusOr<int64_t> PercentileSearch(
    double nth, int64_t min, int64_t max,
    absl::FunctionRef<uint64_t(int64_t)> count_less,
    absl::FunctionRef<uint64_t(int64_t)> count_greater) {
  if (!(nth >= 0.0 && nth <= 100.0)) {
    return absl::InvalidArgumentError(
        fmt::format("percentile: nth {} outside [0, 100]", nth));
  }
  if (nth == 0.0) return min;
  const double k = (100.0 - nth) / nth;
  // Bounds in 128 bits: max may step below INT64_MIN (Go would wrap).
  int128 lo = min, hi = max;
  while (lo < hi) {
    const int64_t l = int64_t(lo), h = int64_t(hi);
    const int64_t mid = (h / 2 + l / 2) + ((h % 2) + (l % 2)) / 2;
    const uint64_t left = count_less(mid);
    const uint64_t right = count_greater(mid);
    // Go converts with int64(math.Round(...)); saturate instead of relying
    // on an out-of-range float conversion.
    const double w = std::round(k * double(left));
    const int128 left_weighted = w >= 9.2e18 ? kInt64Max : int128(w);
    if (left_weighted > int128(right)) {
      hi = int128(mid) - 1;
    } else if (left_weighted < int128(right)) {
      lo = int128(mid) + 1;
    } else {
      return mid;
    }
  }
  return int64_t(lo);
}

}  // namespace featurebase::internal
