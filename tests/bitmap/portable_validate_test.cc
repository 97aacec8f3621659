// Corruption tests: every truncation and every flipped byte of serialized
// bitmaps must give DataLoss (framed) or a well-formed bitmap (raw portable
// bytes, which carry no checksum), never a crash or a malformed bitmap.
#include "lib/bitmap/portable_validate.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/bitmap.h"
#include "featurebase/shard.h"
#include "lib/bitmap/roaring32.h"
#include "lib/util/endian.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using internal::Roaring32;

// A bitmap with array, bitmap and run containers over three shards.
Bitmap Fixture() {
  Bitmap b;
  for (uint64_t v = 0; v < 300; v += 7) b.Add(v);  // array
  for (uint64_t v = 70000; v < 70000 + 20000; v += 2)
    b.Add(v);                                       // bitmap container
  b.AddRange(kShardWidth + 5, kShardWidth + 3000);  // run
  b.Add(5 * kShardWidth + 1);
  b.Optimize();
  return b;
}

TEST(CorruptionTest, FramedBitmapTruncatedAtEveryLengthIsDataLoss) {
  const std::string bytes = Fixture().Serialize();
  for (size_t len = 0; len < bytes.size(); ++len) {
    auto got = Bitmap::Deserialize(std::string_view(bytes).substr(0, len));
    ASSERT_FALSE(got.ok()) << "length " << len;
    ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss)
        << "length " << len;
  }
  auto extra = Bitmap::Deserialize(bytes + "x");
  ASSERT_EQ(extra.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(extra.status().message().find("trailing"), std::string::npos)
      << extra.status();
}

TEST(CorruptionTest, FramedBitmapWithAnyFlippedByteIsDataLoss) {
  const std::string bytes = Fixture().Serialize();
  for (size_t i = 0; i < bytes.size(); ++i) {
    for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x80}, uint8_t{0xFF}}) {
      std::string bad = bytes;
      bad[i] = char(uint8_t(bad[i]) ^ mask);
      auto got = Bitmap::Deserialize(bad);
      ASSERT_FALSE(got.ok()) << "byte " << i << " mask " << int(mask);
      ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << i;
    }
  }
}

// Raw portable bytes have no checksum: a flip may yield another valid bitmap,
// but never a malformed one.
void ExpectWellFormed(const Roaring32& r) {
  std::vector<uint32_t> v;
  r.AppendTo(&v);
  ASSERT_EQ(v.size(), r.Cardinality());
  for (size_t i = 1; i < v.size(); ++i) ASSERT_LT(v[i - 1], v[i]);
  uint64_t n = 0;
  r.ForEach([&](uint32_t) { ++n; });
  ASSERT_EQ(n, v.size());
  std::string again;
  r.AppendPortable(&again);
  FB_ASSERT_OK(Roaring32::DecodePortable(again));
}

TEST(CorruptionTest, RawPortableFlipsNeverYieldMalformedBitmaps) {
  for (bool runs : {false, true}) {
    Roaring32 r;
    for (uint32_t v = 0; v < 300; v += 7) r.Add(v);
    for (uint32_t v = 70000; v < 90000; v += 2) r.Add(v);
    r.AddRange(200000, 203000);
    if (runs) r.RunOptimize();
    std::string bytes;
    r.AppendPortable(&bytes);
    for (size_t i = 0; i < bytes.size(); ++i) {
      for (uint8_t mask : {uint8_t{0x01}, uint8_t{0x10}, uint8_t{0xFF}}) {
        std::string bad = bytes;
        bad[i] = char(uint8_t(bad[i]) ^ mask);
        auto got = Roaring32::DecodePortable(bad);
        if (got.ok()) {
          ExpectWellFormed(*got);
        } else {
          ASSERT_EQ(got.status().code(), absl::StatusCode::kDataLoss);
        }
      }
    }
    for (size_t len = 0; len < bytes.size(); ++len) {
      auto got =
          Roaring32::DecodePortable(std::string_view(bytes).substr(0, len));
      ASSERT_FALSE(got.ok()) << "length " << len;
    }
  }
}

// Builds portable bytes by hand (no-run cookie) from (key, values) pairs.
std::string NoRunBitmap(
    const std::vector<std::pair<uint16_t, std::vector<uint16_t>>>& cs) {
  std::string out;
  internal::PutFixed<uint32_t>(&out, 12346);
  internal::PutFixed<uint32_t>(&out, cs.size());
  for (const auto& [key, vals] : cs) {
    internal::PutFixed<uint16_t>(&out, key);
    internal::PutFixed<uint16_t>(&out, uint16_t(vals.size() - 1));
  }
  uint32_t offset = out.size() + 4 * cs.size();
  for (const auto& c : cs) {
    internal::PutFixed<uint32_t>(&out, offset);
    offset += 2 * c.second.size();
  }
  for (const auto& c : cs) {
    for (uint16_t v : c.second) internal::PutFixed<uint16_t>(&out, v);
  }
  return out;
}

TEST(PortableValidateTest, AcceptsHandBuiltBitmap) {
  auto r = Roaring32::DecodePortable(NoRunBitmap({{0, {1, 5}}, {3, {2}}}));
  FB_ASSERT_OK(r);
  EXPECT_EQ(r->Cardinality(), 3u);
  EXPECT_TRUE(r->Contains(3 * 65536 + 2));
}

TEST(PortableValidateTest, RejectsUnsortedArray) {
  auto r = Roaring32::DecodePortable(NoRunBitmap({{0, {5, 1}}}));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("strictly increasing"), std::string::npos)
      << r.status();
}

TEST(PortableValidateTest, RejectsKeysOutOfOrder) {
  auto r = Roaring32::DecodePortable(NoRunBitmap({{3, {1}}, {3, {2}}}));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("container key"), std::string::npos)
      << r.status();
}

TEST(PortableValidateTest, RejectsValuesAboveTheLimit) {
  auto r = Roaring32::DecodePortable(NoRunBitmap({{16, {0}}}),
                                     uint32_t(kShardWidth - 1));
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("above the limit"), std::string::npos)
      << r.status();
}

TEST(PortableValidateTest, RejectsBadOffsetsAndCookies) {
  std::string bytes = NoRunBitmap({{0, {1}}});
  bytes[12] ^= 1;  // the offset of container 0
  EXPECT_EQ(Roaring32::DecodePortable(bytes).status().code(),
            absl::StatusCode::kDataLoss);
  std::string cookie = NoRunBitmap({{0, {1}}});
  cookie[0] = 0;
  auto r = Roaring32::DecodePortable(cookie);
  EXPECT_NE(r.status().message().find("unknown cookie"), std::string::npos)
      << r.status();
}

TEST(PortableValidateTest, RejectsOverlappingRuns) {
  // Run cookie, 1 container, run flag set, key 0 card 10, runs (0,4) and (3,4).
  std::string out;
  internal::PutFixed<uint32_t>(&out, 12347);  // (count-1) << 16 = 0
  out.push_back(char(1));
  internal::PutFixed<uint16_t>(&out, 0);
  internal::PutFixed<uint16_t>(&out, 9);
  internal::PutFixed<uint16_t>(&out, 2);
  for (uint16_t v : {0, 4, 3, 4}) internal::PutFixed<uint16_t>(&out, v);
  auto r = Roaring32::DecodePortable(out);
  ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(r.status().message().find("overlaps"), std::string::npos)
      << r.status();
}

}  // namespace
}  // namespace featurebase

namespace featurebase {
namespace {

// The small decode hands back the values of bitmaps of up to max_values
// values (array, run and bitmap containers alike), and "not small" for
// larger ones.
TEST(PortableValidateTest, DecodeSmallReturnsTheValuesOfSmallBitmaps) {
  std::mt19937_64 rng(7);
  for (int round = 0; round < 200; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    Roaring32 r;
    const int shape = round % 4;
    const uint32_t n = 1 + uint32_t(rng() % 600);
    for (uint32_t i = 0; i < n; ++i) {
      switch (shape) {
        case 0:  // arrays over many blocks
          r.Add(uint32_t(rng() % (1u << 20)));
          break;
        case 1:  // runs
          r.AddRange(i * 100, i * 100 + 1 + rng() % 20);
          break;
        case 2:  // one dense block: a bitmap container
          r.AddRange(3u << 16, (3u << 16) + 5000 + rng() % 100);
          break;
        default:
          r.Add(uint32_t(rng() % 3000));
      }
    }
    r.RunOptimize();
    std::string bytes;
    r.AppendPortable(&bytes);
    std::vector<uint32_t> want;
    r.AppendTo(&want);
    auto size = internal::ValidatePortable(bytes, UINT32_MAX);
    FB_ASSERT_OK(size);
    EXPECT_EQ(*size, bytes.size());
    for (size_t max : {want.size(), want.size() - 1, size_t{1} << 20}) {
      auto got = internal::DecodeSmallPortable(bytes, max);
      FB_ASSERT_OK(got);
      if (want.size() <= max) {
        ASSERT_TRUE(got->has_value()) << "max_values " << max;
        EXPECT_EQ((*got)->values, want) << "max_values " << max;
        EXPECT_EQ((*got)->size, bytes.size());
      } else {
        EXPECT_FALSE(got->has_value()) << "max_values " << max;
      }
    }
  }
}

// A seeded random bitmap of one of several shapes, as a std::set model.
std::set<uint32_t> RandomModel(std::mt19937_64& rng) {
  std::set<uint32_t> m;
  const int shape = int(rng() % 5);
  const int n = 1 + int(rng() % 300);
  for (int i = 0; i < n; ++i) {
    switch (shape) {
      case 0:  // nothing: the empty bitmap
        return m;
      case 1: {  // sparse arrays over a shard
        m.insert(uint32_t(rng() % (1u << 20)));
        break;
      }
      case 2: {  // runs in a few blocks
        const uint32_t lo = uint32_t(rng() % (3u << 16));
        const uint32_t len = 1 + uint32_t(rng() % 200);
        for (uint32_t v = lo; v < lo + len; ++v) m.insert(v);
        break;
      }
      case 3: {  // a dense block: a bitmap container, plus strays
        if (i == 0) {
          for (uint32_t v = 5u << 16; v < (5u << 16) + 60000; ++v)
            if (rng() % 3 != 0) m.insert(v);
        }
        m.insert(uint32_t(rng() % (1u << 20)));
        break;
      }
      default:  // everything in one block
        m.insert(uint32_t(rng() % 4000));
    }
  }
  return m;
}

std::string PortableOf(const std::set<uint32_t>& m, bool runs) {
  Roaring32 r;
  for (uint32_t v : m) r.Add(v);
  if (runs) r.RunOptimize();
  std::string bytes;
  r.AppendPortable(&bytes);
  return bytes;
}

// Differential: on seeded random bitmaps the small decode gives exactly the
// values CRoaring's decoding (Roaring32::DecodePortable) holds, and the
// model's.
TEST(PortableValidateTest, DecodeSmallMatchesRoaringDecode) {
  for (uint64_t seed : testing::TestSeeds()) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 100; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      const std::set<uint32_t> m = RandomModel(rng);
      const std::string bytes = PortableOf(m, rng() % 2 == 0);
      auto bits = Roaring32::DecodePortable(bytes);
      FB_ASSERT_OK(bits);
      std::vector<uint32_t> want;
      bits->AppendTo(&want);
      ASSERT_EQ(want, std::vector<uint32_t>(m.begin(), m.end()));
      auto got = internal::DecodeSmallPortable(bytes, SIZE_MAX);
      FB_ASSERT_OK(got);
      ASSERT_TRUE(got->has_value());
      EXPECT_EQ((*got)->values, want);
      EXPECT_EQ((*got)->size, bytes.size());
      // Limits on the values are those of the validator too.
      if (!m.empty()) {
        const uint32_t max = *m.rbegin();
        FB_EXPECT_OK(internal::DecodeSmallPortable(bytes, SIZE_MAX, max));
        if (max > 0) {
          auto below = internal::DecodeSmallPortable(bytes, SIZE_MAX, max - 1);
          auto validated = internal::ValidatePortable(bytes, max - 1);
          ASSERT_FALSE(validated.ok());
          EXPECT_EQ(below.status(), validated.status());
        }
      }
    }
  }
}

// Damaged bytes (flipped, truncated, with a trailing byte) get the same
// verdict from the small decode as from the validator: the same DataLoss
// message, or the same length and the values Roaring32 decodes from it.
TEST(PortableValidateTest, DecodeSmallRejectsCorruptionAsTheValidatorDoes) {
  for (uint64_t seed : testing::TestSeeds()) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    int rejected = 0;
    for (int round = 0; round < 40; ++round) {
      const std::string bytes = PortableOf(RandomModel(rng), rng() % 2 == 0);
      for (int k = 0; k < 50; ++k) {
        SCOPED_TRACE("round " + std::to_string(round) + " damage " +
                     std::to_string(k));
        std::string bad = bytes;
        switch (k % 3) {
          case 0:
            bad[rng() % bad.size()] ^= char(1 + rng() % 255);
            break;
          case 1:
            bad.resize(rng() % bad.size());
            break;
          default:
            bad[rng() % bad.size()] ^= char(1 + rng() % 255);
            bad += "x";
        }
        auto want = internal::ValidatePortable(bad, UINT32_MAX);
        auto got = internal::DecodeSmallPortable(bad, SIZE_MAX);
        ASSERT_EQ(got.ok(), want.ok()) << want.status();
        if (!want.ok()) {
          ++rejected;
          EXPECT_EQ(want.status().code(), absl::StatusCode::kDataLoss);
          EXPECT_EQ(got.status(), want.status());
          continue;
        }
        ASSERT_TRUE(got->has_value());
        ASSERT_EQ((*got)->size, *want);
        auto bits = Roaring32::DecodePortable(bad.substr(0, *want));
        FB_ASSERT_OK(bits);
        std::vector<uint32_t> values;
        bits->AppendTo(&values);
        EXPECT_EQ((*got)->values, values);
      }
    }
    EXPECT_GT(rejected, 0);  // the damage did reach the checks
  }
}

}  // namespace
}  // namespace featurebase
