#include "lib/bitmap/shard_bits.h"

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

TEST(ShardBitsBuilderTest, SmallSetIsSortedAndDeduplicated) {
  ShardBitsBuilder b;
  b.Start(4);
  EXPECT_TRUE(b.empty());
  for (uint32_t off : {70000u, 5u, 70000u, 1u}) b.Add(off);
  EXPECT_FALSE(b.empty());
  EXPECT_EQ(Values(b.Take()), (std::vector<uint32_t>{1, 5, 70000}));
  EXPECT_TRUE(b.empty());
}

TEST(ShardBitsBuilderTest, DenseSetSpansBlocksUpToTheLastOffset) {
  ShardBitsBuilder b;
  b.Start(ShardBitsBuilder::kDenseBits);
  std::vector<uint32_t> want;
  for (uint32_t i = 0; i < ShardBitsBuilder::kDenseBits; ++i) {
    const uint32_t off = i * 256;  // every block of the shard, 256 apart
    b.Add(off);
    want.push_back(off);
  }
  b.Add(uint32_t(kShardWidth - 1));
  want.push_back(uint32_t(kShardWidth - 1));
  EXPECT_EQ(Values(b.Take()), want);
  EXPECT_TRUE(b.empty());
}

TEST(ShardBitsBuilderTest, DiscardLeavesNoBitsForTheNextSet) {
  ShardBitsBuilder b;
  b.Start(5000);
  for (uint32_t off = 0; off < 5000; ++off) b.Add(off * 3);
  b.Discard();
  EXPECT_TRUE(b.empty());
  b.Start(5000);
  b.Add(7);
  EXPECT_EQ(Values(b.Take()), (std::vector<uint32_t>{7}));
  b.Start(3);
  b.Add(2);
  EXPECT_EQ(Values(b.Take()), (std::vector<uint32_t>{2}));
}

// Sets of every size around the dense threshold, reusing one builder as
// ingest does, against a std::set of the offsets.
TEST(ShardBitsBuilderTest, MatchesSetModelAcrossReuse) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    ShardBitsBuilder b;
    for (int round = 0; round < 40; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      const size_t n = rng() % 3 == 0 ? rng() % 20000 : rng() % 64;
      // Clustered or spread offsets, with repeats.
      const uint32_t span = rng() % 2 ? uint32_t(kShardWidth) : 70000;
      std::set<uint32_t> model;
      b.Start(n);
      for (size_t i = 0; i < n; ++i) {
        const uint32_t off = uint32_t(rng() % span);
        b.Add(off);
        model.insert(off);
      }
      ASSERT_EQ(b.empty(), model.empty());
      if (rng() % 5 == 0) {
        b.Discard();
        ASSERT_TRUE(b.empty());
        continue;
      }
      const Roaring32 got = b.Take();
      ASSERT_EQ(Values(got), std::vector<uint32_t>(model.begin(), model.end()));
      ASSERT_TRUE(b.empty());
    }
  }
}

}  // namespace
}  // namespace featurebase::internal
