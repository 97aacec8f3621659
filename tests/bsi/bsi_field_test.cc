// BsiFieldSpec: base rule, validation, FeatureBase's predicate translation
// and Percentile, and a differential test of whole fields (several shards)
// against a vector<optional<int64_t>> model of raw values.
#include "lib/bsi/bsi_field.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <vector>

#include "lib/util/status_util.h"
#include "tests/util/percentile_model.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

using int128 = __int128;
using featurebase::testing::BrutePercentile;
constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

BsiFieldSpec IntSpec(std::optional<int64_t> min, std::optional<int64_t> max,
                     std::string_view name = "f") {
  BsiFieldOptions o;
  o.min = min;
  o.max = max;
  auto spec = BsiFieldSpec::Create(name, o);
  FB_EXPECT_OK(spec);
  return *spec;
}

TEST(BsiFieldTest, BaseFollowsFeatureBase) {
  EXPECT_EQ(IntSpec(100, 200).base(), 100);
  EXPECT_EQ(IntSpec(-100, 100).base(), 0);
  EXPECT_EQ(IntSpec(-200, -100).base(), -100);
  EXPECT_EQ(IntSpec(std::nullopt, std::nullopt).base(), 0);
  EXPECT_EQ(IntSpec(std::nullopt, std::nullopt).min(), kMin);
  EXPECT_EQ(IntSpec(std::nullopt, std::nullopt).max(), kMax);
  BsiFieldOptions bad;
  bad.min = 5;
  bad.max = 4;
  EXPECT_EQ(BsiFieldSpec::Create("f", bad).status().code(),
            absl::StatusCode::kInvalidArgument);
  BsiFieldOptions dec;
  dec.type = BsiFieldType::kDecimal;
  dec.scale = 20;
  EXPECT_EQ(BsiFieldSpec::Create("f", dec).status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BsiFieldTest, BaseValueClampsAtBitDepth) {
  // FeatureBase field_internal_test.go TestBSIGroup_BaseValue.
  EXPECT_TRUE(BsiBaseValue(BsiOp::kLt, 5, -100, 10) == 105);
  EXPECT_TRUE(BsiBaseValue(BsiOp::kLt, 1005, -100, 10) == 1024);
  EXPECT_TRUE(BsiBaseValue(BsiOp::kGt, -5, -100, 10) == 95);
  EXPECT_TRUE(BsiBaseValue(BsiOp::kEq, -105, -100, 10) == -5);
  EXPECT_FALSE(BsiBaseValue(BsiOp::kGt, 1005, 0, 8).has_value());
  EXPECT_TRUE(BsiBaseValue(BsiOp::kGt, -300, 0, 8) == -256);
  EXPECT_TRUE(BsiBaseValue(BsiOp::kGte, -300, 0, 8) == -255);
  EXPECT_TRUE(BsiBaseValue(BsiOp::kLte, 1005, 0, 8) == 255);
  EXPECT_FALSE(BsiBaseValue(BsiOp::kLt, -300, 0, 8).has_value());
  EXPECT_FALSE(BsiBaseValue(BsiOp::kEq, 256, 0, 8).has_value());
}

TEST(BsiFieldTest, OutOfRangeNamesFieldValueAndRange) {
  const BsiFieldSpec age = IntSpec(0, 120, "age");
  auto s = age.ToStored(130);
  ASSERT_EQ(s.status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(Message(s.status()),
            "set: value 130 out of range [0, 120] for field \"age\"");
  EXPECT_EQ(age.ToStored(-1).status().code(), absl::StatusCode::kOutOfRange);
  EXPECT_EQ(*age.ToStored(120), 120);

  BsiFieldOptions o;
  o.type = BsiFieldType::kDecimal;
  o.scale = 2;
  o.min = -1000;
  o.max = 99999;
  auto price = BsiFieldSpec::Create("price", o);
  FB_ASSERT_OK(price);
  EXPECT_EQ(Message(price->ToStored(*price->ParseValue("1000.5")).status()),
            "set: value 1000.50 out of range [-10.00, 999.99] for field "
            "\"price\"");
}

TEST(BsiFieldTest, TranslateShortCircuitsLikeFeatureBase) {
  BsiFieldSpec f = IntSpec(-100, 100);
  f.GrowBitDepth(7);  // values within +-127
  using K = BsiPredicate::Kind;
  EXPECT_EQ(f.Translate(BsiOp::kEq, 101).kind, K::kEmpty);
  EXPECT_EQ(f.Translate(BsiOp::kNeq, 101).kind, K::kNotNull);
  EXPECT_EQ(f.Translate(BsiOp::kLt, 101).kind, K::kNotNull);
  EXPECT_EQ(f.Translate(BsiOp::kLt, 100).kind, K::kCompare);
  EXPECT_EQ(f.Translate(BsiOp::kLte, 100).kind, K::kNotNull);
  EXPECT_EQ(f.Translate(BsiOp::kGt, -101).kind, K::kNotNull);
  EXPECT_EQ(f.Translate(BsiOp::kGte, -100).kind, K::kNotNull);
  EXPECT_EQ(f.Translate(BsiOp::kGt, 50),
            (BsiPredicate{K::kCompare, BsiOp::kGt, 50, 0}));
  EXPECT_EQ(f.TranslateBetween(-100, true, 100, true).kind, K::kNotNull);
  EXPECT_EQ(f.TranslateBetween(-101, false, 101, false).kind, K::kNotNull);
  EXPECT_EQ(f.TranslateBetween(5, false, 6, false).kind, K::kEmpty);
  EXPECT_EQ(f.TranslateBetween(5, false, 7, false),
            (BsiPredicate{K::kBetween, BsiOp::kEq, 6, 6}));
  EXPECT_EQ(f.TranslateBetween(200, true, 300, true).kind, K::kEmpty);
  // Clamped to the bit-depth range [-127, 127].
  BsiFieldSpec wide = IntSpec(std::nullopt, std::nullopt);
  wide.GrowBitDepth(7);
  EXPECT_EQ(wide.Translate(BsiOp::kGt, 1000).kind, K::kEmpty);
  EXPECT_EQ(wide.Translate(BsiOp::kLt, 1000),
            (BsiPredicate{K::kCompare, BsiOp::kLt, 128, 0}));
  EXPECT_EQ(wide.TranslateBetween(-1000, true, 1000, true),
            (BsiPredicate{K::kBetween, BsiOp::kEq, -127, 127}));
}

int64_t Percentile(const std::vector<int64_t>& sorted, double nth) {
  auto less = [&](int64_t v) -> uint64_t {
    return std::lower_bound(sorted.begin(), sorted.end(), v) - sorted.begin();
  };
  auto greater = [&](int64_t v) -> uint64_t {
    return sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), v);
  };
  return *PercentileSearch(nth, sorted.front(), sorted.back(), less, greater);
}

TEST(BsiFieldTest, PercentileMidpointQuirks) {
  EXPECT_EQ(Percentile({1, 2, 3, 4, 5}, 50), 3);
  // Even count: the search ends with min past the crossing point.
  EXPECT_EQ(Percentile({1, 2, 3, 4}, 50), 3);
  // Negative midpoints truncate toward zero.
  EXPECT_EQ(Percentile({-4, -3, -2, -1}, 50), -2);
  EXPECT_EQ(Percentile({7}, 50), 7);
  EXPECT_EQ(Percentile({1, 9}, 0), 1);
  EXPECT_EQ(Percentile({1, 9}, 100), 9);
  EXPECT_EQ(Percentile({kMin, kMax}, 50), BrutePercentile({kMin, kMax}, 50));
  auto none = [](int64_t) -> uint64_t { return 0; };
  EXPECT_EQ(PercentileSearch(101, 0, 1, none, none).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PercentileSearch(-1, 0, 1, none, none).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(PercentileSearch(std::nan(""), 0, 1, none, none).status().code(),
            absl::StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------- model

constexpr int kShards = 3;

std::vector<uint32_t> Universe() {
  std::vector<uint32_t> u;
  for (uint32_t i = 0; i < 1500; ++i) u.push_back(i);
  for (uint32_t i = 0; i < 700; ++i) u.push_back(65536 * 3 + i * 997);
  return u;
}

struct Field {
  BsiFieldSpec spec;
  std::vector<uint32_t> offsets = Universe();
  std::vector<BsiShard> shards = std::vector<BsiShard>(kShards);
  // Raw values per shard and universe index.
  std::vector<std::vector<std::optional<int64_t>>> raw =
      std::vector<std::vector<std::optional<int64_t>>>(
          kShards, std::vector<std::optional<int64_t>>(Universe().size()));
};

// A raw value: near the base within `bits`, an edge of the range, uniform,
// or (when `allow_out`) just outside the range.
int128 RandomRaw(const BsiFieldSpec& f, std::mt19937_64& rng, int bits,
                 bool allow_out) {
  const int128 lo = f.min(), hi = f.max();
  switch (rng() % 10) {
    case 0:
      return lo;
    case 1:
      return hi;
    case 2:
      return allow_out ? lo - 1 - int128(rng() % 3) : lo;
    case 3:
      return allow_out ? hi + 1 + int128(rng() % 3) : hi;
    case 4: {
      const unsigned __int128 span = (unsigned __int128)(hi - lo) + 1;
      const unsigned __int128 r =
          ((unsigned __int128)(rng()) << 64 | rng()) % span;
      return lo + int128(r);
    }
    default: {
      const uint64_t mask =
          bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
      int128 v =
          int128(f.base()) + int128(rng() & mask) * (rng() % 2 == 0 ? 1 : -1);
      return std::clamp(v, lo, hi);
    }
  }
}

bool Holds(int128 v, BsiOp op, int128 p) {
  switch (op) {
    case BsiOp::kEq:
      return v == p;
    case BsiOp::kNeq:
      return v != p;
    case BsiOp::kLt:
      return v < p;
    case BsiOp::kLte:
      return v <= p;
    case BsiOp::kGt:
      return v > p;
    case BsiOp::kGte:
      return v >= p;
  }
  return false;
}

std::vector<uint32_t> ToVector(const Roaring32& r) {
  std::vector<uint32_t> v;
  r.AppendTo(&v);
  return v;
}

// One write batch on one shard: all-or-nothing validation, then Apply.
void Write(Field& f, int shard, const std::map<uint32_t, int128>& sets,
           const std::vector<uint32_t>& clears) {
  std::vector<std::pair<uint32_t, int64_t>> stored;
  int depth = 0;
  for (const auto& [offset, raw] : sets) {
    if (raw < f.spec.min() || raw > f.spec.max()) {
      // Beyond int64 cannot be asked for; in int64 it must be rejected.
      if (raw >= kMin && raw <= kMax) {
        auto s = f.spec.ToStored(int64_t(raw));
        ASSERT_EQ(s.status().code(), absl::StatusCode::kOutOfRange);
        EXPECT_NE(Message(s.status()).find("for field \"f\""),
                  std::string_view::npos);
      }
      return;  // nothing written
    }
    auto s = f.spec.ToStored(int64_t(raw));
    FB_ASSERT_OK(s);
    ASSERT_EQ(f.spec.ToRaw(*s), int64_t(raw));
    stored.push_back({offset, *s});
    depth = std::max(depth, BsiDepthOf(*s));
  }
  Roaring32 clear_bits = Roaring32::FromValues(clears);
  f.spec.GrowBitDepth(depth);
  f.shards[shard] = BsiShard::Apply(f.shards[shard], stored, &clear_bits);
  for (size_t i = 0; i < f.offsets.size(); ++i) {
    if (clear_bits.Contains(f.offsets[i])) f.raw[shard][i].reset();
    if (auto it = sets.find(f.offsets[i]); it != sets.end()) {
      f.raw[shard][i] = int64_t(it->second);
    }
  }
}

void CheckField(const Field& f, std::mt19937_64& rng) {
  for (int s = 0; s < kShards; ++s) {
    ASSERT_LE(f.shards[s].depth(), f.spec.bit_depth());
    for (size_t i = 0; i < f.offsets.size(); ++i) {
      auto v = f.shards[s].Value(f.offsets[i]);
      ASSERT_EQ(v.has_value(), f.raw[s][i].has_value());
      if (v) {
        ASSERT_EQ(f.spec.ToRaw(*v), *f.raw[s][i]);
      }
    }
  }
  for (int with_filter = 0; with_filter < 2; ++with_filter) {
    SCOPED_TRACE(with_filter ? "with filter" : "no filter");
    std::vector<Roaring32> filters(kShards);
    std::vector<std::vector<std::pair<uint32_t, int64_t>>> present(kShards);
    std::vector<int64_t> all;
    for (int s = 0; s < kShards; ++s) {
      for (size_t i = 0; i < f.offsets.size(); ++i) {
        const bool in = rng() % 3 != 0;
        if (in) filters[s].Add(f.offsets[i]);
        if (f.raw[s][i] && (!with_filter || in)) {
          present[s].push_back({f.offsets[i], *f.raw[s][i]});
          all.push_back(*f.raw[s][i]);
        }
      }
    }
    auto filter = [&](int s) { return with_filter ? &filters[s] : nullptr; };
    std::sort(all.begin(), all.end());

    // Predicate values: present values and neighbours, range and bit-depth
    // edges, int64 extremes and beyond.
    std::vector<int128> probes = {0,
                                  1,
                                  -1,
                                  kMin,
                                  kMax,
                                  int128(kMin) - 1,
                                  int128(kMax) + 1,
                                  int128(1) << 70,
                                  -(int128(1) << 70)};
    for (int128 e : {int128(f.spec.min()), int128(f.spec.max())}) {
      for (int d = -1; d <= 1; ++d) probes.push_back(e + d);
    }
    const int128 m = (int128(1) << f.spec.bit_depth()) - 1;
    for (int128 e : {f.spec.base() - m, f.spec.base() + m}) {
      for (int d = -1; d <= 1; ++d) probes.push_back(e + d);
    }
    for (int i = 0; i < 8 && !all.empty(); ++i) {
      const int64_t v = all[rng() % all.size()];
      for (int d = -1; d <= 1; ++d) probes.push_back(int128(v) + d);
    }
    for (int i = 0; i < 4; ++i)
      probes.push_back(RandomRaw(f.spec, rng, 64, true));

    for (int128 p : probes) {
      for (BsiOp op : {BsiOp::kEq, BsiOp::kNeq, BsiOp::kLt, BsiOp::kLte,
                       BsiOp::kGt, BsiOp::kGte}) {
        const BsiPredicate pred = f.spec.Translate(op, p);
        SCOPED_TRACE(::testing::Message()
                     << "op " << int(op) << " raw " << int64_t(p) << " hi64 "
                     << int64_t(p >> 64));
        for (int s = 0; s < kShards; ++s) {
          std::vector<uint32_t> want;
          for (const auto& [o, v] : present[s]) {
            if (Holds(v, op, p)) want.push_back(o);
          }
          ASSERT_EQ(ToVector(EvaluatePredicate(f.shards[s], pred, filter(s))),
                    want);
          ASSERT_EQ(CountPredicate(f.shards[s], pred, filter(s)), want.size());
        }
      }
    }
    for (int i = 0; i < 60; ++i) {
      const int128 lo = probes[rng() % probes.size()];
      const int128 hi = i % 7 == 0 ? lo : probes[rng() % probes.size()];
      const bool lo_in = rng() % 2, hi_in = rng() % 2;
      const BsiPredicate pred = f.spec.TranslateBetween(lo, lo_in, hi, hi_in);
      for (int s = 0; s < kShards; ++s) {
        std::vector<uint32_t> want;
        for (const auto& [o, v] : present[s]) {
          if ((lo_in ? v >= lo : v > lo) && (hi_in ? v <= hi : v < hi)) {
            want.push_back(o);
          }
        }
        ASSERT_EQ(ToVector(EvaluatePredicate(f.shards[s], pred, filter(s))),
                  want)
            << "between " << int64_t(lo) << (lo_in ? " <= " : " < ") << "f"
            << (hi_in ? " <= " : " < ") << int64_t(hi);
      }
    }

    // Min, Max and Percentile merged across shards.
    std::vector<BsiShardInput> inputs;
    for (int s = 0; s < kShards; ++s)
      inputs.push_back({&f.shards[s], filter(s)});
    const std::optional<BsiExtreme> min = FieldMin(f.spec, inputs);
    const std::optional<BsiExtreme> max = FieldMax(f.spec, inputs);
    if (all.empty()) {
      ASSERT_FALSE(min.has_value());
      ASSERT_FALSE(max.has_value());
      auto p = FieldPercentile(f.spec, inputs, 50);
      FB_ASSERT_OK(p);
      ASSERT_FALSE(p->has_value());
      continue;
    }
    ASSERT_EQ(min->value, all.front());
    ASSERT_EQ(min->count,
              uint64_t(std::count(all.begin(), all.end(), all.front())));
    ASSERT_EQ(max->value, all.back());
    ASSERT_EQ(max->count,
              uint64_t(std::count(all.begin(), all.end(), all.back())));
    for (double nth : {0.0, 1.0, 10.0, 25.0, 33.3, 50.0, 75.0, 99.0, 100.0}) {
      auto got = FieldPercentile(f.spec, inputs, nth);
      FB_ASSERT_OK(got);
      ASSERT_TRUE(got->has_value());
      ASSERT_EQ(**got, BrutePercentile(all, nth)) << "nth " << nth;
    }
    ASSERT_EQ(FieldPercentile(f.spec, inputs, 100.5).status().code(),
              absl::StatusCode::kInvalidArgument);
  }
}

struct Range {
  std::optional<int64_t> min, max;
};

TEST(BsiFieldTest, FieldsMatchModelAcrossShards) {
  const Range ranges[] = {
      {0, 120},
      {-100, 100},
      {-1000000, -50},
      {100, 5000},
      {std::nullopt, std::nullopt},
      {kMin, -1},
      {1, kMax},
      {kMin + 1, kMin + 1000},
      {kMax - 1000, kMax},
      {-5, 5},
  };
  for (uint64_t seed : testing::TestSeeds(3)) {
    for (const Range& r : ranges) {
      SCOPED_TRACE(testing::SeedTrace(seed));
      SCOPED_TRACE(::testing::Message() << "range [" << r.min.value_or(kMin)
                                        << ", " << r.max.value_or(kMax) << "]");
      std::mt19937_64 rng(seed);
      Field f{IntSpec(r.min, r.max)};
      for (int step = 0; step < 12; ++step) {
        // Depth grows mid-stream: small magnitudes first.
        const int bits = std::min(64, 2 + step * 6);
        const int shard = int(rng() % kShards);
        std::map<uint32_t, int128> sets;
        std::vector<uint32_t> clears;
        const bool allow_out = rng() % 4 == 0;
        for (int i = 0, n = int(rng() % 300); i < n; ++i) {
          sets[f.offsets[rng() % f.offsets.size()]] =
              RandomRaw(f.spec, rng, bits, allow_out);
        }
        for (int i = 0, n = int(rng() % 100); i < n; ++i) {
          clears.push_back(f.offsets[rng() % f.offsets.size()]);
        }
        std::sort(clears.begin(), clears.end());
        Write(f, shard, sets, clears);
        SCOPED_TRACE(::testing::Message() << "step " << step);
        CheckField(f, rng);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
  }
}

TEST(BsiFieldTest, DecimalRoundTrips) {
  BsiFieldOptions o;
  o.type = BsiFieldType::kDecimal;
  o.scale = 2;
  auto f = BsiFieldSpec::Create("price", o);
  FB_ASSERT_OK(f);
  BsiShard s;
  const char* texts[] = {"12.34", "-0.05", "0", "99999999.99", "-7.1"};
  std::vector<std::pair<uint32_t, int64_t>> sets;
  for (uint32_t i = 0; i < 5; ++i) {
    auto raw = f->ParseValue(texts[i]);
    FB_ASSERT_OK(raw);
    sets.push_back({i, *f->ToStored(*raw)});
    f->GrowBitDepth(BsiDepthOf(sets.back().second));
  }
  s = BsiShard::Apply(s, sets, nullptr);
  const char* want[] = {"12.34", "-0.05", "0.00", "99999999.99", "-7.10"};
  for (uint32_t i = 0; i < 5; ++i) {
    EXPECT_EQ(f->FormatValue(f->ToRaw(*s.Value(i))), want[i]);
  }
  EXPECT_EQ(f->FormatSum(f->RawSum(s.Sum(nullptr))), "100000005.18");
  // Predicates in the field's scale: f > 0.00 matches 12.34 and 99999999.99.
  auto p = ParseDecimalWide("0", 2);
  FB_ASSERT_OK(p);
  EXPECT_EQ(
      EvaluatePredicate(s, f->Translate(BsiOp::kGt, *p), nullptr).Cardinality(),
      2u);
  EXPECT_EQ(f->ParseValue("1.234").status().code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(BsiFieldTest, TimestampRoundTrips) {
  for (TimeUnit unit : {TimeUnit::kSecond, TimeUnit::kMillisecond,
                        TimeUnit::kMicrosecond, TimeUnit::kNanosecond}) {
    SCOPED_TRACE(std::string(TimeUnitName(unit)));
    BsiFieldOptions o;
    o.type = BsiFieldType::kTimestamp;
    o.unit = unit;
    o.epoch = absl::FromUnixSeconds(1600000000);
    auto f = BsiFieldSpec::Create("ts", o);
    FB_ASSERT_OK(f);
    EXPECT_EQ(f->base(), 1600000000 * UnitsPerSecond(unit));
    const std::string texts[] = {"2020-09-13T12:26:40Z", "1970-01-01T00:00:00Z",
                                 "2024-02-29T23:59:59Z",
                                 "2001-01-01T00:00:00Z"};
    std::vector<std::pair<uint32_t, int64_t>> sets;
    for (uint32_t i = 0; i < 4; ++i) {
      auto raw = f->ParseValue(texts[i]);
      FB_ASSERT_OK(raw);
      auto stored = f->ToStored(*raw);
      FB_ASSERT_OK(stored);
      sets.push_back({i, *stored});
      f->GrowBitDepth(BsiDepthOf(*stored));
    }
    EXPECT_EQ(sets[0].second, 0);  // the epoch itself
    const BsiShard s = BsiShard::Apply(BsiShard(), sets, nullptr);
    for (uint32_t i = 0; i < 4; ++i) {
      EXPECT_EQ(f->FormatValue(f->ToRaw(*s.Value(i))), texts[i]);
    }
    auto min = s.Min(nullptr);
    ASSERT_TRUE(min.has_value());
    EXPECT_EQ(f->FormatValue(f->ToRaw(min->value)), "1970-01-01T00:00:00Z");
    auto before = f->ParseValue("2000-01-01T00:00:00Z");
    EXPECT_EQ(EvaluatePredicate(s, f->Translate(BsiOp::kLt, *before), nullptr)
                  .Cardinality(),
              1u);
    // Out of the default 0001..9999 range (where the unit reaches).
    if (unit == TimeUnit::kSecond) {
      EXPECT_EQ(
          f->ToStored(*f->ParseValue("0000-12-31T23:59:59Z")).status().code(),
          absl::StatusCode::kOutOfRange);
    }
  }
}

}  // namespace
}  // namespace featurebase::internal
