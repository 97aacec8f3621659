#include "lib/bitmap/roaring32.h"

#include <gtest/gtest.h>

#include <random>
#include <set>
#include <vector>

#include "tests/util/seed.h"

namespace featurebase::internal {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

std::vector<uint32_t> Values(const Roaring32& r) {
  std::vector<uint32_t> out;
  r.AppendTo(&out);
  return out;
}

TEST(Roaring32Test, MatchesSetModel) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    Roaring32 r;
    std::set<uint32_t> m;
    for (int step = 0; step < 20000; ++step) {
      const uint32_t v =
          rng() % 3 == 0 ? uint32_t(rng()) : uint32_t(rng() % 200000);
      switch (rng() % 5) {
        case 0:
        case 1:
          ASSERT_EQ(r.Add(v), m.insert(v).second);
          break;
        case 2:
          ASSERT_EQ(r.Remove(v), m.erase(v) == 1);
          break;
        case 3:
          ASSERT_EQ(r.Contains(v), m.count(v) == 1);
          break;
        default: {
          const uint64_t hi = uint64_t{v} + rng() % 3000;
          r.AddRange(v, hi);
          for (uint64_t x = v; x < hi && x <= UINT32_MAX; ++x)
            m.insert(uint32_t(x));
        }
      }
    }
    ASSERT_EQ(r.Cardinality(), m.size());
    ASSERT_EQ(Values(r), std::vector<uint32_t>(m.begin(), m.end()));
    std::vector<uint32_t> seen;
    r.ForEach([&](uint32_t v) { seen.push_back(v); });
    ASSERT_EQ(seen, Values(r));
    std::string bytes;
    r.AppendPortable(&bytes);
    ASSERT_EQ(bytes.size(), r.PortableSize());
    auto back = Roaring32::DecodePortable(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_TRUE(back->Equals(r));
    r.RunOptimize();
    bytes.clear();
    r.AppendPortable(&bytes);
    back = Roaring32::DecodePortable(bytes);
    ASSERT_TRUE(back.ok()) << back.status();
    ASSERT_TRUE(back->Equals(r));
  }
}

TEST(Roaring32Test, ReaderSeeks) {
  Roaring32 r =
      Roaring32::FromValues(std::vector<uint32_t>{3, 70000, 70001, 900000});
  Roaring32::Reader reader(r);
  reader.SeekGE(70001);
  uint32_t buf[8];
  ASSERT_EQ(reader.Next(buf, 8), 2u);
  EXPECT_EQ(buf[0], 70001u);
  EXPECT_EQ(buf[1], 900000u);
  EXPECT_EQ(reader.Next(buf, 8), 0u);
}

TEST(Roaring32Test, CountsMatchMaterialized) {
  std::mt19937_64 rng(7);
  Roaring32 a, b;
  for (int i = 0; i < 50000; ++i) {
    a.Add(rng() % 300000);
    b.Add(rng() % 300000);
  }
  a.AddRange(100000, 180000);
  EXPECT_EQ(Roaring32::AndCardinality(a, b),
            Roaring32::And(a, b).Cardinality());
  EXPECT_EQ(Roaring32::OrCardinality(a, b), Roaring32::Or(a, b).Cardinality());
  EXPECT_EQ(Roaring32::AndNotCardinality(a, b),
            Roaring32::AndNot(a, b).Cardinality());
  EXPECT_EQ(Roaring32::XorCardinality(a, b),
            Roaring32::Xor(a, b).Cardinality());
  const Roaring32* both[] = {&a, &b};
  EXPECT_TRUE(Roaring32::OrMany(both).Equals(Roaring32::Or(a, b)));
  EXPECT_EQ(a.Flip(0, 300000).Cardinality(),
            300000 - a.RangeCardinality(0, 300000));
}

}  // namespace
}  // namespace featurebase::internal
