// BsiShard against a naive model: a vector<optional<int64_t>> of stored
// values per column, driven by seeded random batches of sets and clears.
#include "lib/bsi/bsi_shard.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <limits>
#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/shard.h"
#include "tests/util/seed.h"
#include "tests/util/simd_cap.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

constexpr int64_t kMin = std::numeric_limits<int64_t>::min();
constexpr int64_t kMax = std::numeric_limits<int64_t>::max();

// Offsets used by the tests: a dense run (bitset containers) and a sparse
// spread over many containers (array containers), all below 2^20.
std::vector<uint32_t> Universe() {
  std::vector<uint32_t> u;
  for (uint32_t i = 0; i < 5000; ++i) u.push_back(i);
  for (uint32_t i = 0; i < 3000; ++i) u.push_back(70000 + i * 325);
  return u;
}

struct Model {
  std::vector<uint32_t> offsets = Universe();
  std::vector<std::optional<int64_t>> values =
      std::vector<std::optional<int64_t>>(offsets.size());
};

bool Compare(int64_t v, BsiOp op, int64_t p) {
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

constexpr BsiOp kOps[] = {BsiOp::kEq,  BsiOp::kNeq, BsiOp::kLt,
                          BsiOp::kLte, BsiOp::kGt,  BsiOp::kGte};

std::vector<uint32_t> ToVector(const Roaring32& r) {
  std::vector<uint32_t> v;
  r.AppendTo(&v);
  return v;
}

// A random stored value whose magnitude has at most `bits` bits, with the
// extremes mixed in.
int64_t RandomStored(std::mt19937_64& rng, int bits) {
  switch (rng() % 16) {
    case 0:
      return kMin;
    case 1:
      return kMax;
    case 2:
      return 0;
    default:
      break;
  }
  const uint64_t mask = bits >= 64 ? ~uint64_t{0} : (uint64_t{1} << bits) - 1;
  uint64_t m = rng() & mask;
  if (bits >= 64) return int64_t(m);
  return rng() % 3 == 0 ? -int64_t(m) : int64_t(m);
}

// Predicate values worth trying against a model: values present, their
// neighbours, zero, bit-depth edges and the int64 extremes.
std::vector<int64_t> Probes(const Model& m, const BsiShard& s,
                            std::mt19937_64& rng) {
  std::vector<int64_t> p = {0, 1, -1, 2, -2, kMin, kMax, kMin + 1, kMax - 1};
  for (int d : {s.depth() - 1, s.depth(), s.depth() + 1}) {
    if (d < 0 || d > 62) continue;
    const int64_t e = int64_t{1} << d;
    for (int64_t x : {e, e - 1, -e, -(e - 1)}) p.push_back(x);
  }
  for (int i = 0; i < 6; ++i) {
    const auto& v = m.values[rng() % m.values.size()];
    if (!v) continue;
    p.push_back(*v);
    if (*v != kMax) p.push_back(*v + 1);
    if (*v != kMin) p.push_back(*v - 1);
  }
  return p;
}

Roaring32 RandomFilter(const Model& m, std::mt19937_64& rng) {
  Roaring32 f;
  const int density = int(rng() % 4);  // 0: sparse .. 3: almost all
  for (uint32_t o : m.offsets) {
    if (int(rng() % 4) <= density - (density == 3 ? 0 : 1)) f.Add(o);
  }
  return f;
}

void CheckAgainstModel(const Model& m, const BsiShard& s,
                       std::mt19937_64& rng) {
  // Values, depth, NotNull.
  std::vector<uint32_t> not_null;
  int need = 0;
  for (size_t i = 0; i < m.offsets.size(); ++i) {
    ASSERT_EQ(s.Value(m.offsets[i]), m.values[i]) << "offset " << m.offsets[i];
    if (m.values[i]) {
      not_null.push_back(m.offsets[i]);
      need = std::max(need, BsiDepthOf(*m.values[i]));
    }
  }
  ASSERT_EQ(ToVector(s.NotNull(nullptr)), not_null);
  ASSERT_EQ(s.depth(), need) << "top planes must be trimmed";

  for (int with_filter = 0; with_filter < 2; ++with_filter) {
    SCOPED_TRACE(with_filter ? "with filter" : "no filter");
    Roaring32 filter_bits = RandomFilter(m, rng);
    const Roaring32* filter = with_filter ? &filter_bits : nullptr;
    std::vector<std::pair<uint32_t, int64_t>> present;
    for (size_t i = 0; i < m.offsets.size(); ++i) {
      if (m.values[i] && (!filter || filter->Contains(m.offsets[i]))) {
        present.push_back({m.offsets[i], *m.values[i]});
      }
    }
    ASSERT_EQ(s.Values(filter), present);
    ASSERT_EQ(s.CountNotNull(filter), present.size());
    {
      // ValuesInto: the same values, by offset, and nothing else touched.
      std::vector<int64_t> value(kShardWidth, 77);
      std::vector<uint8_t> has(kShardWidth, 0);
      const Roaring32 all = Roaring32::FromRange(0, kShardWidth);
      s.ValuesInto(filter ? *filter : all, value.data(), has.data());
      size_t seen = 0;
      for (uint32_t off = 0; off < kShardWidth; ++off) {
        if (!has[off]) {
          ASSERT_EQ(value[off], 77) << "offset " << off;
          continue;
        }
        ASSERT_LT(seen, present.size());
        ASSERT_EQ(off, present[seen].first);
        ASSERT_EQ(value[off], present[seen].second) << "offset " << off;
        ++seen;
      }
      ASSERT_EQ(seen, present.size());
    }

    // Every comparison.
    for (int64_t p : Probes(m, s, rng)) {
      for (BsiOp op : kOps) {
        std::vector<uint32_t> want;
        for (const auto& [o, v] : present) {
          if (Compare(v, op, p)) want.push_back(o);
        }
        SCOPED_TRACE(::testing::Message()
                     << "op " << int(op) << " predicate " << p);
        ASSERT_EQ(ToVector(s.Range(op, p, filter)), want);
        ASSERT_EQ(s.CountRange(op, p, filter), want.size());
      }
    }
    // Between, including inverted and single-value ranges.
    std::vector<int64_t> probes = Probes(m, s, rng);
    for (int i = 0; i < 40; ++i) {
      int64_t lo = probes[rng() % probes.size()];
      int64_t hi = probes[rng() % probes.size()];
      if (i % 5 == 0) hi = lo;
      std::vector<uint32_t> want;
      for (const auto& [o, v] : present) {
        if (lo <= v && v <= hi) want.push_back(o);
      }
      SCOPED_TRACE(::testing::Message() << "between " << lo << " " << hi);
      ASSERT_EQ(ToVector(s.Between(lo, hi, filter)), want);
    }

    // Aggregates.
    __int128 sum = 0;
    std::optional<BsiExtreme> min, max;
    std::set<int64_t> distinct;
    for (const auto& [o, v] : present) {
      sum += v;
      distinct.insert(v);
      if (!min || v < min->value) min = BsiExtreme{v, 0};
      if (!max || v > max->value) max = BsiExtreme{v, 0};
      (void)o;
    }
    for (const auto& [o, v] : present) {
      if (v == min->value) ++min->count;
      if (v == max->value) ++max->count;
    }
    const BsiSum got = s.Sum(filter);
    ASSERT_TRUE(got.sum == sum);
    ASSERT_EQ(got.count, present.size());
    ASSERT_EQ(s.Min(filter), min);
    ASSERT_EQ(s.Max(filter), max);
    ASSERT_EQ(s.Distinct(filter),
              std::vector<int64_t>(distinct.begin(), distinct.end()));
  }
}

TEST(BsiShardTest, MatchesModelUnderRandomSetsAndClears) {
  for (uint64_t seed : testing::TestSeeds(4)) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    Model m;
    BsiShard s;
    for (int step = 0; step < 24; ++step) {
      // Magnitudes grow mid-stream: 3 bits first, 64 at the end.
      const int bits = std::min(64, 3 + step * 3);
      std::map<uint32_t, int64_t> sets;
      Roaring32 clears;
      const size_t n = rng() % 600;
      for (size_t i = 0; i < n; ++i) {
        const size_t j = rng() % m.offsets.size();
        sets[m.offsets[j]] = RandomStored(rng, bits);
      }
      const size_t c = rng() % 200;
      for (size_t i = 0; i < c; ++i) {
        clears.Add(m.offsets[rng() % m.offsets.size()]);
      }
      std::vector<std::pair<uint32_t, int64_t>> batch(sets.begin(), sets.end());
      for (size_t i = 0; i < m.offsets.size(); ++i) {
        if (clears.Contains(m.offsets[i])) m.values[i].reset();
        if (auto it = sets.find(m.offsets[i]); it != sets.end()) {
          m.values[i] = it->second;
        }
      }
      if (step % 3 == 0) {
        s = BsiShard::Apply(s, batch, &clears);
      } else {
        // The same in two writes: clears first, then sets.
        s = BsiShard::Apply(s, {}, &clears);
        s = BsiShard::Apply(s, batch, nullptr);
      }
      SCOPED_TRACE(::testing::Message() << "step " << step);
      CheckAgainstModel(m, s, rng);
      if (::testing::Test::HasFatalFailure()) return;
    }
  }
}

TEST(BsiShardTest, SumMinMaxMatchNaiveOverDenseShardsAndEveryFilterShape) {
  // Dense shards (bitset planes, full and run-shaped planes, negatives in
  // some containers only) against filters of every container shape: the
  // fused per-container passes must agree with a per-column scan.
  for (uint64_t seed : testing::TestSeeds(6)) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    constexpr uint32_t kColumns = 5 << 16;
    std::vector<std::optional<int64_t>> model(kColumns);
    std::vector<std::pair<uint32_t, int64_t>> sets;
    for (uint32_t off = 0; off < kColumns; ++off) {
      const uint32_t key = off >> 16;
      if (key == 1 && off % 97 != 0) continue;  // sparse block: arrays
      int64_t v;
      switch (key) {
        case 2:  // one value: full planes, runs after RunOptimize
          v = 0x5A5A;
          break;
        case 3:  // long runs of equal values, with negatives
          v = (off / 5000) % 2 ? -int64_t(off / 5000) : int64_t(off / 5000);
          break;
        default:
          v = int64_t(rng() % (uint64_t{1} << (1 + rng() % 40)));
          if (key == 4 && rng() % 3 == 0) v = -v;
      }
      // Mixed signs, only negatives (and zeros), or no negatives.
      if (seed % 3 == 1 && v > 0) v = -v;
      if (seed % 3 == 2 && v < 0) v = -v;
      sets.push_back({off, v});
      model[off] = v;
    }
    const BsiShard s = BsiShard::Apply(BsiShard(), sets, nullptr);
    std::vector<std::pair<std::string, Roaring32>> filters;
    filters.push_back({"empty", Roaring32()});
    filters.push_back({"full", Roaring32::FromRange(0, kColumns)});
    Roaring32 half, sparse, runs;
    for (uint32_t off = 0; off < kColumns; ++off) {
      if (rng() % 2) half.Add(off);
      if (rng() % 300 == 0) sparse.Add(off);
    }
    for (uint32_t lo = rng() % 1000; lo < kColumns;
         lo += 20000 + rng() % 9000) {
      runs.AddRange(lo, lo + 1 + rng() % 15000);  // some cross a block
    }
    filters.push_back({"half", std::move(half)});
    filters.push_back({"sparse", std::move(sparse)});
    filters.push_back({"runs", std::move(runs)});
    for (auto& [name, f] : filters) f.RunOptimize();
    // Every instruction set the machine has: scalar, AVX2, AVX-512.
    for (int simd = 0; simd < 3; ++simd) {
      const testing::SimdCap cap(simd);
      SCOPED_TRACE("simd cap " + std::to_string(simd));
      for (auto& [name, f] : filters) {
        SCOPED_TRACE(name);
        __int128 want = 0;
        uint64_t count = 0;
        for (uint32_t off = 0; off < kColumns; ++off) {
          if (model[off] && f.Contains(off)) {
            want += *model[off];
            ++count;
          }
        }
        // Min and Max with their tie counts, from the same scan.
        std::optional<BsiExtreme> min, max;
        for (uint32_t off = 0; off < kColumns; ++off) {
          if (!model[off] || !f.Contains(off)) continue;
          const int64_t v = *model[off];
          if (!min || v < min->value) min = BsiExtreme{v, 0};
          if (!max || v > max->value) max = BsiExtreme{v, 0};
          min->count += v == min->value;
          max->count += v == max->value;
        }
        EXPECT_EQ(s.Min(&f), min);
        EXPECT_EQ(s.Max(&f), max);
        const BsiSum got = s.Sum(&f);
        EXPECT_TRUE(got.sum == want)
            << int64_t(got.sum) << " vs " << int64_t(want);
        EXPECT_EQ(got.count, count);
      }
      __int128 all = 0;
      for (const auto& v : model) all += v.value_or(0);
      EXPECT_TRUE(s.Sum(nullptr).sum == all);
    }
  }
}

TEST(BsiShardTest, DenseApplyMatchesModelOverExistingValues) {
  // Batches dense enough for the block builder (>= 2048 offsets per 2^16
  // columns), written over sparse and dense earlier values, with clears,
  // smaller rewrites (no stale high bits) and int64 extremes.
  for (uint64_t seed : testing::TestSeeds(4)) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    constexpr uint32_t kColumns = 3 << 16;
    std::vector<std::optional<int64_t>> model(kColumns);
    BsiShard s;
    for (int step = 0; step < 4; ++step) {
      SCOPED_TRACE(::testing::Message() << "step " << step);
      std::vector<std::pair<uint32_t, int64_t>> sets;
      const uint32_t every = step == 1 ? 97 : 1 + rng() % 3;  // 1: sparse
      const int bits = 1 + int(rng() % 63);
      for (uint32_t off = rng() % every; off < kColumns; off += every) {
        if (rng() % 4 == 0) continue;
        int64_t v = int64_t(rng() >> (64 - bits));
        if (rng() % 3 == 0) v = -v;
        if (rng() % 5000 == 0) v = rng() % 2 ? INT64_MIN : INT64_MAX;
        sets.push_back({off, v});
      }
      Roaring32 clears;
      for (int i = 0; i < 3000; ++i) clears.Add(rng() % kColumns);
      for (uint32_t off = 0; off < kColumns; ++off) {
        if (clears.Contains(off)) model[off].reset();
      }
      for (const auto& [off, v] : sets) model[off] = v;
      s = BsiShard::Apply(s, sets, &clears);
      std::vector<std::pair<uint32_t, int64_t>> want;
      int need = 0;
      for (uint32_t off = 0; off < kColumns; ++off) {
        if (!model[off]) continue;
        want.push_back({off, *model[off]});
        need = std::max(need, BsiDepthOf(*model[off]));
      }
      ASSERT_EQ(s.Values(nullptr), want);
      ASSERT_EQ(s.depth(), need);
    }
  }
}

TEST(BsiShardTest, RewriteLeavesNoStaleBitsAndTrimsDepth) {
  BsiShard s;
  const std::pair<uint32_t, int64_t> big[] = {{7, -(int64_t{1} << 40) - 5},
                                              {9, 3}};
  s = BsiShard::Apply(s, big, nullptr);
  EXPECT_EQ(s.depth(), 41);
  const std::pair<uint32_t, int64_t> small[] = {{7, 2}};
  s = BsiShard::Apply(s, small, nullptr);
  EXPECT_EQ(s.Value(7), 2);
  EXPECT_EQ(s.Value(9), 3);
  EXPECT_EQ(s.depth(), 2);
  EXPECT_FALSE(s.Sign().Contains(7));
  for (int i = 2; i < 64; ++i) EXPECT_FALSE(s.Plane(i).Contains(7));
  Roaring32 clear = Roaring32::FromValues(std::vector<uint32_t>{7, 9});
  s = BsiShard::Apply(s, {}, &clear);
  EXPECT_EQ(s.depth(), 0);
  EXPECT_TRUE(s.Exists().IsEmpty());
  EXPECT_FALSE(s.Min(nullptr).has_value());
  EXPECT_EQ(s.Sum(nullptr).count, 0u);
}

TEST(BsiShardTest, ApplySharesUntouchedRows) {
  std::vector<std::pair<uint32_t, int64_t>> sets;
  for (uint32_t i = 0; i < 1000; ++i) sets.push_back({i, int64_t(i) * 37});
  const BsiShard a = BsiShard::Apply(BsiShard(), sets, nullptr);
  // Column 5000 gets value 1: exists and plane 0 change, nothing else.
  const std::pair<uint32_t, int64_t> one[] = {{5000, 1}};
  const BsiShard b = BsiShard::Apply(a, one, nullptr);
  EXPECT_NE(a.row(0), b.row(0));
  EXPECT_EQ(a.row(1), b.row(1));
  EXPECT_NE(a.row(2), b.row(2));
  for (int r = 3; r < 2 + a.depth(); ++r) EXPECT_EQ(a.row(r), b.row(r)) << r;
  // The old version is untouched.
  EXPECT_FALSE(a.Value(5000).has_value());
  EXPECT_EQ(b.Value(5000), 1);
}

TEST(BsiShardTest, VersionsSharingPackedPlanesOutliveTheirBase) {
  // A full write packs the new planes together; a later small write shares
  // the untouched ones, which must stay valid (and keep their pack alive)
  // after the older versions are gone. Decode packs too.
  for (uint64_t seed : testing::TestSeeds(4)) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const int bits = 8 + int(rng() % 50);
    auto write_all = [&](Model* m) {
      std::vector<std::pair<uint32_t, int64_t>> sets;
      for (size_t i = 0; i < m->offsets.size(); ++i) {
        const int64_t v = RandomStored(rng, bits);
        m->values[i] = v;
        sets.push_back({m->offsets[i], v});
      }
      return sets;
    };
    Model ma;
    auto a = std::make_optional(
        BsiShard::Apply(BsiShard(), write_all(&ma), nullptr));
    // Offset 0 gets value 1 (a rewrite, so every plane holding a bit of its
    // old value changes); the others keep a's planes.
    Model mb = ma;
    mb.values[0] = 1;
    const std::pair<uint32_t, int64_t> one[] = {{mb.offsets[0], 1}};
    auto b = std::make_optional(BsiShard::Apply(*a, one, nullptr));
    Model mc = mb;
    const BsiShard c = BsiShard::Apply(*b, write_all(&mc), nullptr);
    a.reset();
    CheckAgainstModel(mb, *b, rng);
    b.reset();
    CheckAgainstModel(mc, c, rng);
    std::string bytes;
    c.Encode(&bytes);
    auto d = BsiShard::Decode(bytes);
    FB_ASSERT_OK(d);
    CheckAgainstModel(mc, *d, rng);
  }
}

TEST(BsiShardTest, ClearAndSetOfTheSameColumnSets) {
  const std::pair<uint32_t, int64_t> v[] = {{3, -9}};
  Roaring32 clear = Roaring32::FromValues(std::vector<uint32_t>{3});
  const BsiShard s = BsiShard::Apply(BsiShard(), v, &clear);
  EXPECT_EQ(s.Value(3), -9);
}

TEST(BsiShardTest, ApplyNormalizesUnsortedAndRepeatedOffsets) {
  const std::pair<uint32_t, int64_t> v[] = {
      {9, 5}, {3, -7}, {9, 1024}, {1, 0}, {3, 2}};
  const BsiShard s = BsiShard::Apply(BsiShard(), v, nullptr);
  EXPECT_EQ(s.Value(1), 0);
  EXPECT_EQ(s.Value(3), 2);
  EXPECT_EQ(s.Value(9), 1024);
  EXPECT_EQ(s.depth(), 11);
  EXPECT_TRUE(s.Sign().IsEmpty());
}

TEST(BsiShardTest, MinMaxCountTies) {
  const std::pair<uint32_t, int64_t> v[] = {{1, -4}, {2, 7}, {3, -4},
                                            {4, 7},  {5, 7}, {6, 0}};
  const BsiShard s = BsiShard::Apply(BsiShard(), v, nullptr);
  EXPECT_EQ(s.Min(nullptr), (BsiExtreme{-4, 2}));
  EXPECT_EQ(s.Max(nullptr), (BsiExtreme{7, 3}));
  Roaring32 f = Roaring32::FromValues(std::vector<uint32_t>{1, 6});
  EXPECT_EQ(s.Max(&f), (BsiExtreme{0, 1}));
  Roaring32 neg = Roaring32::FromValues(std::vector<uint32_t>{1, 3});
  EXPECT_EQ(s.Max(&neg), (BsiExtreme{-4, 2}));
  Roaring32 none = Roaring32::FromValues(std::vector<uint32_t>{100});
  EXPECT_FALSE(s.Max(&none).has_value());
}

TEST(BsiShardTest, EncodeDecodeRoundTrips) {
  std::mt19937_64 rng(7);
  std::vector<std::pair<uint32_t, int64_t>> sets;
  for (uint32_t i = 0; i < 20000; i += 1 + rng() % 5) {
    sets.push_back({i, RandomStored(rng, 40)});
  }
  const BsiShard s = BsiShard::Apply(BsiShard(), sets, nullptr);
  std::string bytes;
  s.Encode(&bytes);
  auto back = BsiShard::Decode(bytes);
  FB_ASSERT_OK(back);
  EXPECT_TRUE(back->Equals(s));
  EXPECT_EQ(back->depth(), s.depth());
  std::string again;
  back->Encode(&again);
  EXPECT_EQ(again, bytes);

  std::string empty;
  BsiShard().Encode(&empty);
  auto e = BsiShard::Decode(empty);
  FB_ASSERT_OK(e);
  EXPECT_TRUE(e->Equals(BsiShard()));
}

TEST(BsiShardTest, DecodeRejectsTruncationAndCorruption) {
  const std::pair<uint32_t, int64_t> v[] = {
      {1, -4}, {2, 70000}, {3, -4}, {40000, 123456789}, {5, 0}};
  const BsiShard s = BsiShard::Apply(BsiShard(), v, nullptr);
  std::string bytes;
  s.Encode(&bytes);
  for (size_t n = 0; n < bytes.size(); ++n) {
    auto r = BsiShard::Decode(std::string_view(bytes).substr(0, n));
    ASSERT_FALSE(r.ok()) << "length " << n;
    EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << r.status();
  }
  EXPECT_EQ(BsiShard::Decode(bytes + "x").status().code(),
            absl::StatusCode::kDataLoss);
  // A flipped byte is DataLoss or a structurally valid shard, never a crash.
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::string bad = bytes;
      bad[i] = char(uint8_t(bad[i]) ^ mask);
      auto r = BsiShard::Decode(bad);
      if (!r.ok()) {
        EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
      } else {
        EXPECT_TRUE(r->Sign().IsSubsetOf(r->Exists()));
      }
    }
  }
}

TEST(BsiShardTest, FromRowsChecksInvariants) {
  auto bits = [](std::vector<uint32_t> v) { return Roaring32::FromValues(v); };
  std::vector<Roaring32> planes;
  planes.push_back(bits({1}));
  FB_EXPECT_OK(BsiShard::FromRows(bits({1, 2}), bits({1}), std::move(planes)));
  planes.clear();
  planes.push_back(bits({3}));
  EXPECT_FALSE(
      BsiShard::FromRows(bits({1, 2}), bits({}), std::move(planes)).ok());
  planes.clear();
  planes.push_back(bits({1}));
  // Column 2 is negative with magnitude zero.
  EXPECT_FALSE(
      BsiShard::FromRows(bits({1, 2}), bits({2}), std::move(planes)).ok());
  EXPECT_FALSE(BsiShard::FromRows(bits({1u << 20}), bits({}), {}).ok());
}

}  // namespace
}  // namespace featurebase::internal
