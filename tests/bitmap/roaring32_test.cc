#include "lib/bitmap/roaring32.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <iterator>
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

// A bitmap over keys [0, keys) whose containers are drawn from every shape
// the fused kernels distinguish: absent, sparse and dense arrays, bitsets,
// full blocks, and runs, some of them crossing into the next container.
std::set<uint32_t> RandomShapes(std::mt19937_64& rng, int keys) {
  std::set<uint32_t> m;
  for (int k = 0; k < keys; ++k) {
    const uint32_t base = uint32_t(k) << 16;
    switch (rng() % 7) {
      case 0:
        break;  // absent
      case 1:   // sparse array
        for (int i = rng() % 40; i > 0; --i) m.insert(base + rng() % 65536);
        break;
      case 2:  // array near the bitset threshold
        for (int i = 3000 + rng() % 1096; i > 0; --i)
          m.insert(base + rng() % 65536);
        break;
      case 3:  // bitset
        for (uint32_t v = 0; v < 65536; ++v) {
          if (rng() % 8 < 1 + k % 7) m.insert(base + v);
        }
        break;
      case 4:  // full
        for (uint32_t v = 0; v < 65536; ++v) m.insert(base + v);
        break;
      default: {  // runs, the last one possibly running past the block
        uint32_t v = rng() % 4096;
        for (int i = rng() % 12; i > 0 && v < 65536; --i) {
          const uint32_t len = 1 + rng() % 9000;
          for (uint32_t x = v; x < v + len; ++x) m.insert(base + x);
          v += len + 1 + rng() % 3000;
        }
      }
    }
  }
  return m;
}

Roaring32 FromSet(const std::set<uint32_t>& m) {
  Roaring32 r =
      Roaring32::FromValues(std::vector<uint32_t>(m.begin(), m.end()));
  r.RunOptimize();
  return r;
}

uint64_t IntersectionSize(const std::set<uint32_t>& a,
                          const std::set<uint32_t>& b) {
  uint64_t n = 0;
  for (uint32_t v : a) n += b.count(v);
  return n;
}

TEST(Roaring32Test, AppendBlockBuildsArraysAndBitsets) {
  std::mt19937_64 rng(3);
  Roaring32 r;
  std::set<uint32_t> m;
  std::vector<uint64_t> words(1024);
  for (uint32_t key = 0; key < 40; key += 1 + rng() % 3) {
    std::fill(words.begin(), words.end(), 0);
    // Empty, at the array limit (4096), just above it, and dense.
    const int n = std::array<int, 5>{0, 4096, 4097, 30000, 1}[rng() % 5];
    std::set<uint32_t> block;
    while (int(block.size()) < n) block.insert(rng() % 65536);
    for (uint32_t v : block) {
      words[v >> 6] |= uint64_t{1} << (v & 63);
      m.insert((key << 16) | v);
    }
    r.AppendBlock(uint16_t(key), words.data());
  }
  EXPECT_EQ(Values(r), std::vector<uint32_t>(m.begin(), m.end()));
  EXPECT_EQ(r.Cardinality(), m.size());
  r.Add(uint32_t(41) << 16);  // still a well-formed bitmap
  EXPECT_TRUE(r.Contains(uint32_t(41) << 16));
}

TEST(Roaring32Test, AndCardinalityMatrixMatchesNaiveCounts) {
  for (uint64_t seed : TestSeeds(24)) {
    SCOPED_TRACE(SeedTrace(seed));
    // Every instruction set the machine has: scalar, AVX2, AVX-512.
    const int simd = int(seed % 3);
    SCOPED_TRACE("simd cap " + std::to_string(simd));
    struct Restore {
      int cap;
      ~Restore() { Roaring32::CapSimdForTesting(cap); }
    } restore{Roaring32::CapSimdForTesting(simd)};
    std::mt19937_64 rng(seed);
    const int keys = 1 + int(rng() % 6);
    // Up to 6 filters (some may be empty), more than one pass of four over
    // a row container, and 0..19 rows.
    std::vector<std::set<uint32_t>> fm(rng() % 7), rm(rng() % 20);
    for (auto& m : fm)
      m = rng() % 5 == 0 ? std::set<uint32_t>{} : RandomShapes(rng, keys);
    for (auto& m : rm) m = RandomShapes(rng, keys);
    std::vector<Roaring32> f, r;
    for (const auto& m : fm) f.push_back(FromSet(m));
    for (const auto& m : rm) r.push_back(FromSet(m));
    std::vector<const Roaring32*> fp, rp;
    for (const auto& x : f) fp.push_back(&x);
    for (const auto& x : r) rp.push_back(&x);
    std::vector<uint64_t> out(fp.size() * rp.size() + 1, 12345);
    Roaring32::AndCardinalityMatrix(fp, rp, out);
    for (size_t i = 0; i < fp.size(); ++i) {
      for (size_t j = 0; j < rp.size(); ++j) {
        ASSERT_EQ(out[i * rp.size() + j], IntersectionSize(fm[i], rm[j]))
            << "filter " << i << " row " << j;
      }
    }
    EXPECT_EQ(out.back(), 12345u);  // nothing written past the matrix
  }
}

TEST(Roaring32Test, AndCardinalityMatrixEdgeCases) {
  const Roaring32 empty;
  Roaring32 full = Roaring32::FromRange(0, 3 << 16);
  full.RunOptimize();
  Roaring32 bits;  // bitset containers in keys 0 and 2 only
  for (uint32_t v = 0; v < (3 << 16); v += 3) {
    if (v >> 16 != 1) bits.Add(v);
  }
  const Roaring32 crossing = Roaring32::FromRange(65000, 140000);
  const Roaring32* rows[] = {&empty, &full, &bits, &crossing};
  std::vector<uint64_t> out(4);
  for (const Roaring32* filter : rows) {
    const Roaring32* filters[] = {filter};
    Roaring32::AndCardinalityMatrix(filters, rows, out);
    for (size_t j = 0; j < 4; ++j) {
      EXPECT_EQ(out[j], Roaring32::AndCardinality(*filter, *rows[j]))
          << "row " << j;
    }
  }
  // No filters or no rows: nothing to count.
  Roaring32::AndCardinalityMatrix({}, rows, out);
  Roaring32::AndCardinalityMatrix(rows, {}, out);
}

}  // namespace
}  // namespace featurebase::internal
