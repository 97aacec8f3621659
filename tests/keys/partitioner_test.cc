#include "featurebase/partitioner.h"

#include <gtest/gtest.h>

#include <cstring>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/shard.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/strings.h"

#define XXH_INLINE_ALL
#include <xxhash.h>

namespace featurebase {
namespace {

using featurebase::testing::Cat;
using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

// The published vectors of docs/partitioner.md. A change here is a breaking
// change for every producer that routes records.
struct KeyVector {
  std::string key;
  uint64_t hash;
  uint32_t p256, p16, kafka12, kafka7;
};
const std::vector<KeyVector>& KeyVectors() {
  static const std::vector<KeyVector> v = {
      {"", 0x881d0e111ffa3ab6, 136, 8, 4, 3},
      {"a", 0xf0d02d031a434cda, 240, 15, 0, 2},
      {"user-1", 0xbb285788df7bc464, 187, 11, 7, 5},
      {"user-42", 0x168cc2ff29bb6757, 22, 1, 10, 1},
      {"zone:us-east-1", 0x8645450c8f7e8590, 134, 8, 2, 1},
      {"0123456789abcdef", 0x67e6fc5e8d30b616, 103, 6, 7, 5},
      {"The quick brown fox jumps over the lazy dog", 0x35a1a66f7aae0c09, 53, 3,
       5, 4},
      {std::string("\x00\xff", 2), 0xc126f6f9c77845c5, 193, 12, 1, 4},
  };
  return v;
}

struct ShardVector {
  uint64_t shard;
  uint32_t p256, p16;
};
const std::vector<ShardVector> kShardVectors = {
    {0, 152, 9},  {1, 170, 10},   {2, 136, 8},
    {3, 238, 14}, {1000, 136, 8}, {(uint64_t{1} << 44) - 1, 198, 12},
};

// The documented rule, computed independently of the library.
uint64_t RefHash(const void* p, size_t n) {
  return XXH3_64bits_withSeed(p, n, 0x4642706172743031ull);
}
uint32_t RefReduce(uint64_t h, uint32_t n) {
  return uint32_t((static_cast<unsigned __int128>(h) * n) >> 64);
}
uint32_t RefShard(uint64_t shard, uint32_t n) {
  unsigned char le[8];
  for (int i = 0; i < 8; ++i) le[i] = (shard >> (8 * i)) & 0xFF;
  return RefReduce(RefHash(le, 8), n);
}

TEST(PartitionerTest, FirstShardsMatchPublishedValues) {
  HashPartitioner p;
  EXPECT_EQ(p.NextShardOf(0, 0), 45u);
  EXPECT_EQ(p.NextShardOf(1, 0), 603u);
  EXPECT_EQ(p.NextShardOf(255, 0), 1116u);
  EXPECT_EQ(p.NextShardOf(152, 0), 0u);
}

TEST(PartitionerTest, SeedIsTheDocumentedAsciiConstant) {
  const char be[] = "FBpart01";
  uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = v << 8 | uint8_t(be[i]);
  EXPECT_EQ(HashPartitioner::kPartitionSeed, v);
}

TEST(PartitionerTest, KeyVectorsMatchPublishedValues) {
  HashPartitioner p256;
  HashPartitioner p16 = HashPartitioner::Create(16).value();
  for (const KeyVector& v : KeyVectors()) {
    SCOPED_TRACE(Cat("key of ", v.key.size()) + " bytes");
    EXPECT_EQ(HashPartitioner::HashKey(v.key), v.hash);
    EXPECT_EQ(p256.KeyPartition(v.key), v.p256);
    EXPECT_EQ(p16.KeyPartition(v.key), v.p16);
    EXPECT_EQ(p256.KafkaPartition(v.key, 12).value(), v.kafka12);
    EXPECT_EQ(p256.KafkaPartition(v.key, 7).value(), v.kafka7);
  }
}

TEST(PartitionerTest, KeyVectorsMatchIndependentComputation) {
  for (const KeyVector& v : KeyVectors()) {
    SCOPED_TRACE(Cat("key of ", v.key.size()) + " bytes");
    const uint64_t h = RefHash(v.key.data(), v.key.size());
    EXPECT_EQ(h, v.hash);
    EXPECT_EQ(RefReduce(h, 256), v.p256);
    EXPECT_EQ(RefReduce(h, 16), v.p16);
    EXPECT_EQ(RefReduce(h, 256) % 12, v.kafka12);
    EXPECT_EQ(RefReduce(h, 256) % 7, v.kafka7);
  }
}

TEST(PartitionerTest, ShardVectorsMatchPublishedAndIndependentValues) {
  HashPartitioner p256;
  HashPartitioner p16 = HashPartitioner::Create(16).value();
  for (const ShardVector& v : kShardVectors) {
    SCOPED_TRACE(Cat("shard ", v.shard));
    EXPECT_EQ(p256.ShardPartition(v.shard), v.p256);
    EXPECT_EQ(p16.ShardPartition(v.shard), v.p16);
    EXPECT_EQ(RefShard(v.shard, 256), v.p256);
    EXPECT_EQ(RefShard(v.shard, 16), v.p16);
  }
}

TEST(PartitionerTest, RandomKeysMatchIndependentComputation) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const uint32_t n = uint32_t(rng() % HashPartitioner::kMaxPartitions) + 1;
    HashPartitioner p = HashPartitioner::Create(n).value();
    std::vector<std::string> keys(500);
    std::vector<std::string_view> views;
    for (auto& k : keys) {
      k.resize(rng() % 300);
      for (char& c : k) c = char(rng());
      views.push_back(k);
    }
    std::vector<uint32_t> bulk(keys.size());
    p.KeyPartitions(views, bulk);
    for (size_t i = 0; i < keys.size(); ++i) {
      const uint32_t want =
          RefReduce(RefHash(keys[i].data(), keys[i].size()), n);
      ASSERT_EQ(p.KeyPartition(keys[i]), want) << "key " << i;
      ASSERT_EQ(bulk[i], want) << "key " << i;
      ASSERT_LT(want, n);
    }
    const uint64_t shard = rng() >> 20;
    EXPECT_EQ(p.ShardPartition(shard), RefShard(shard, n));
  }
}

TEST(PartitionerTest, IsDeterministicAcrossInstances) {
  HashPartitioner a, b;
  EXPECT_EQ(a, b);
  for (int i = 0; i < 1000; ++i) {
    const std::string k = Cat("key-", i);
    ASSERT_EQ(a.KeyPartition(k), b.KeyPartition(k));
    ASSERT_EQ(a.ShardPartition(i), b.ShardPartition(i));
  }
}

TEST(PartitionerTest, CreateRejectsBadCounts) {
  EXPECT_EQ(HashPartitioner::Create(0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(HashPartitioner::Create(65537).status().code(),
            absl::StatusCode::kInvalidArgument);
  FB_EXPECT_OK(HashPartitioner::Create(1));
  FB_EXPECT_OK(HashPartitioner::Create(65536));
  EXPECT_EQ(HashPartitioner().partitions(), 256u);
}

TEST(PartitionerTest, OnePartitionOwnsEverything) {
  HashPartitioner one = HashPartitioner::Create(1).value();
  EXPECT_EQ(one.KeyPartition("x"), 0u);
  EXPECT_EQ(one.ShardPartition(12345), 0u);
  EXPECT_EQ(one.NextShardOf(0, 7), 7u);
}

TEST(PartitionerTest, KeysSpreadOverAllPartitions) {
  // A chi-square-like sanity check: 256K keys over 256 partitions, each
  // partition within 20% of the mean (1024).
  HashPartitioner p;
  std::vector<int> counts(256);
  for (int i = 0; i < 256 * 1024; ++i) {
    ++counts[p.KeyPartition(Cat("user-", i))];
  }
  for (int c : counts) {
    EXPECT_GT(c, 1024 * 8 / 10);
    EXPECT_LT(c, 1024 * 12 / 10);
  }
}

TEST(PartitionerTest, NextShardOfFindsTheLowestOwnedShard) {
  HashPartitioner p;
  for (uint32_t part : {0u, 1u, 100u, 255u}) {
    const uint64_t s = p.NextShardOf(part, 0);
    EXPECT_EQ(p.ShardPartition(s), part);
    for (uint64_t t = 0; t < s; ++t) ASSERT_NE(p.ShardPartition(t), part);
    const uint64_t next = p.NextShardOf(part, s + 1);
    EXPECT_GT(next, s);
    EXPECT_EQ(p.ShardPartition(next), part);
  }
}

TEST(PartitionerTest, ShardsOwnedByListsExactlyThePartitionsShards) {
  HashPartitioner p;
  const std::vector<uint32_t> mine = {3, 77, 200};
  const std::vector<uint64_t> shards = p.ShardsOwnedBy(mine, 5000);
  std::set<uint64_t> got(shards.begin(), shards.end());
  EXPECT_EQ(got.size(), shards.size());
  for (uint64_t s = 0; s < 5000; ++s) {
    const uint32_t q = p.ShardPartition(s);
    const bool owned = q == 3 || q == 77 || q == 200;
    ASSERT_EQ(got.count(s) == 1, owned) << "shard " << s;
  }
}

TEST(PartitionerTest, KafkaPartitionsCarryWholeIndexPartitions) {
  HashPartitioner p;
  for (uint32_t k : {1u, 7u, 12u, 16u, 256u, 300u}) {
    SCOPED_TRACE(Cat("kafka partitions ", k));
    // Each index partition is listed by exactly one Kafka partition, the one
    // KafkaPartitionOfPartition names; counts differ by at most one.
    std::vector<int> seen(256);
    size_t lo = SIZE_MAX, hi = 0;
    for (uint32_t kp = 0; kp < k; ++kp) {
      auto parts = p.PartitionsOfKafkaPartition(kp, k).value();
      lo = std::min(lo, parts.size());
      hi = std::max(hi, parts.size());
      for (uint32_t q : parts) {
        ++seen[q];
        EXPECT_EQ(HashPartitioner::KafkaPartitionOfPartition(q, k), kp);
      }
    }
    for (int c : seen) EXPECT_EQ(c, 1);
    if (k <= 256) {
      EXPECT_LE(hi - lo, 1u);
    }
    // Records follow their index partition.
    for (int i = 0; i < 200; ++i) {
      const std::string key = Cat("r", i);
      EXPECT_EQ(p.KafkaPartition(key, k).value(), p.KeyPartition(key) % k);
    }
  }
  EXPECT_EQ(p.KafkaPartition("x", 0).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.PartitionsOfKafkaPartition(3, 3).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(p.PartitionsOfKafkaPartition(0, 0).status().code(),
            absl::StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace featurebase
