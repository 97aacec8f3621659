#include "lib/bitmap/roaring32.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <iterator>
#include <map>
#include <memory>
#include <random>
#include <set>
#include <span>
#include <vector>

#include "lib/bitmap/packed_roaring32.h"
#include "tests/util/seed.h"
#include "tests/util/simd_cap.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::SimdCap;
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
    FB_ASSERT_OK(back);
    ASSERT_TRUE(back->Equals(r));
    r.RunOptimize();
    bytes.clear();
    r.AppendPortable(&bytes);
    back = Roaring32::DecodePortable(bytes);
    FB_ASSERT_OK(back);
    ASSERT_TRUE(back->Equals(r));
  }
}

// AppendPortableSorted writes the bytes CRoaring writes for the same values
// (small sets in one or many blocks, and blocks too full for an array).
TEST(Roaring32Test, SortedBuildsMatchCRoaring) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 300; ++round) {
      std::set<uint32_t> m;
      const int n = round % 10 == 0 ? int(rng() % 9000) : int(rng() % 8);
      const uint32_t span = rng() % 2 ? 1u << 20 : 1u << (12 + rng() % 20);
      for (int i = 0; i < n; ++i) m.insert(uint32_t(rng() % span));
      // Sometimes exactly 4096 or 4097 values in one container (the
      // largest array, the smallest bitset).
      if (round % 50 == 1) {
        m.clear();
        const uint32_t base = uint32_t(rng() % 16) << 16;
        for (uint32_t i = 0; i < 4096u + (round / 50) % 2; ++i)
          m.insert(base + 3 * i);
      }
      const std::vector<uint32_t> v(m.begin(), m.end());
      // CRoaring's own build, value by value.
      Roaring32 ref;
      ref.AddMany(v);
      std::string want, built, got = "prefix";
      ref.AppendPortable(&want);
      // FromValues builds sorted input container by container.
      const Roaring32 from = Roaring32::FromValues(v);
      from.AppendPortable(&built);
      ASSERT_EQ(built, want) << v.size() << " values";
      ASSERT_EQ(from.Cardinality(), v.size());
      Roaring32::AppendPortableSorted(v, &got);
      ASSERT_EQ(got, "prefix" + want) << v.size() << " values";
    }
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
    const SimdCap cap(simd);
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

// The extreme of the numbers of the columns of im[0] ∩ im[1..] − em, bit i
// of a column's number being whether sm[i] holds it, by a scan of them all.
Roaring32::Extreme NaiveExtreme(const std::vector<std::set<uint32_t>>& im,
                                const std::vector<std::set<uint32_t>>& em,
                                const std::vector<std::set<uint32_t>>& sm,
                                bool want_max) {
  std::map<uint64_t, uint64_t> numbers;  // number -> columns holding it
  for (uint32_t c : im[0]) {
    bool in_set = true;
    for (const auto& m : im) in_set = in_set && m.count(c) > 0;
    for (const auto& m : em) in_set = in_set && m.count(c) == 0;
    if (!in_set) continue;
    uint64_t v = 0;
    for (size_t i = 0; i < sm.size(); ++i) {
      if (sm[i].count(c) > 0) v |= uint64_t{1} << i;
    }
    ++numbers[v];
  }
  if (numbers.empty()) return {};
  const auto& e = want_max ? *numbers.rbegin() : *numbers.begin();
  return {e.first, e.second};
}

TEST(Roaring32Test, SliceExtremeMatchesNaiveScan) {
  for (uint64_t seed : TestSeeds(36)) {
    SCOPED_TRACE(SeedTrace(seed));
    // Every instruction set the machine has: scalar, AVX2, AVX-512.
    const int simd = int(seed % 3);
    SCOPED_TRACE("simd cap " + std::to_string(simd));
    const SimdCap cap(simd);
    std::mt19937_64 rng(seed);
    const int keys = 1 + int(rng() % 5);
    // 1..3 includes, 0..2 excludes, 0..12 slices, every container shape in
    // each (absent, arrays, bitsets, full, runs).
    std::vector<std::set<uint32_t>> im(1 + rng() % 3), em(rng() % 3),
        sm(rng() % 13);
    for (auto& m : im) m = RandomShapes(rng, keys);
    if (rng() % 2) im[0] = std::set<uint32_t>{};  // may drive nothing
    for (auto& m : em) m = RandomShapes(rng, keys);
    for (auto& m : sm) m = RandomShapes(rng, keys);
    std::vector<Roaring32> in, ex, sl;
    for (const auto& m : im) in.push_back(FromSet(m));
    for (const auto& m : em) ex.push_back(FromSet(m));
    for (const auto& m : sm) sl.push_back(FromSet(m));
    std::vector<const Roaring32*> ip, ep, sp;
    for (const auto& x : in) ip.push_back(&x);
    for (const auto& x : ex) ep.push_back(&x);
    for (const auto& x : sl) sp.push_back(&x);
    for (bool want_max : {false, true}) {
      SCOPED_TRACE(want_max ? "max" : "min");
      const Roaring32::Extreme got =
          Roaring32::SliceExtreme(ip, ep, sp, want_max);
      const Roaring32::Extreme want = NaiveExtreme(im, em, sm, want_max);
      EXPECT_EQ(got.count, want.count);
      EXPECT_EQ(got.value, want.value);
    }
  }
}

TEST(Roaring32Test, SliceExtremeProbesRunAndArrayEdges) {
  // Few candidates (probed one by one) on the first and last values of runs
  // and array values, and just beside them, in two containers.
  std::set<uint32_t> cols, runs, array, bits;
  for (uint32_t key : {0u, 3u}) {
    const uint32_t b = key << 16;
    for (uint32_t v : {0u, 9u, 10u, 11u, 19u, 20u, 21u, 29u, 30u, 31u, 64999u,
                       65000u, 65535u}) {
      cols.insert(b + v);
    }
    for (uint32_t v = 10; v <= 20; ++v) runs.insert(b + v);
    runs.insert(b + 30);
    for (uint32_t v = 65000; v <= 65535; ++v) runs.insert(b + v);
    for (uint32_t v : {0u, 9u, 10u, 20u, 21u, 30u, 31u, 65535u}) {
      array.insert(b + v);
    }
    for (uint32_t v = 0; v < 65536; v += 2) bits.insert(b + v + key % 2);
  }
  const std::vector<std::set<uint32_t>> im = {cols}, em;
  const Roaring32 c = FromSet(cols), r = FromSet(runs), a = FromSet(array),
                  w = FromSet(bits);
  const Roaring32* include[] = {&c};
  for (int simd = 0; simd < 3; ++simd) {
    SCOPED_TRACE("simd cap " + std::to_string(simd));
    const SimdCap cap(simd);
    // Each slice order, so each shape decides on the top bit and below it.
    const std::vector<std::vector<const Roaring32*>> orders = {
        {&r, &a, &w}, {&a, &w, &r}, {&w, &r, &a}, {&r}, {&a}};
    const std::vector<std::vector<std::set<uint32_t>>> models = {
        {runs, array, bits},
        {array, bits, runs},
        {bits, runs, array},
        {runs},
        {array}};
    for (size_t o = 0; o < orders.size(); ++o) {
      for (bool want_max : {false, true}) {
        SCOPED_TRACE("order " + std::to_string(o) +
                     (want_max ? " max" : " min"));
        const auto got =
            Roaring32::SliceExtreme(include, {}, orders[o], want_max);
        const auto want = NaiveExtreme(im, em, models[o], want_max);
        EXPECT_EQ(got.value, want.value);
        EXPECT_EQ(got.count, want.count);
      }
    }
  }
}

TEST(Roaring32Test, SliceExtremeCountsTiesAcrossContainers) {
  // Equal numbers in three containers, a bigger one in a fourth that an
  // exclude removes, and 64 slices (the top bit set).
  Roaring32 set, top, low, drop;
  for (uint32_t key : {0u, 2u, 5u, 7u}) {
    for (uint32_t v = 0; v < 3000; v += 3) set.Add((key << 16) + v);
    top.Add((key << 16) + 300);  // one column per container on top
    low.Add((key << 16) + 300);
    low.Add((key << 16) + 303);
  }
  drop.Add((uint32_t{7} << 16) + 300);
  low.Remove((uint32_t{5} << 16) + 300);
  std::vector<const Roaring32*> slices(64, &drop);  // drop's are excluded
  slices[63] = &top;
  slices[0] = &low;
  const Roaring32* include[] = {&set};
  const Roaring32* exclude[] = {&drop};
  const auto max = Roaring32::SliceExtreme(include, exclude, slices, true);
  EXPECT_EQ(max.value, (uint64_t{1} << 63) | 1);  // keys 0 and 2
  EXPECT_EQ(max.count, 2u);
  const auto min = Roaring32::SliceExtreme(include, exclude, slices, false);
  EXPECT_EQ(min.value, 0u);
  EXPECT_EQ(min.count, 4u * 1000 - 4 - 4);  // minus tops and 303s
  const Roaring32 empty;
  const Roaring32* none[] = {&empty};
  EXPECT_EQ(Roaring32::SliceExtreme(none, {}, slices, true).count, 0u);
  // No slices: every column holds 0.
  EXPECT_EQ(Roaring32::SliceExtreme(include, exclude, {}, true).count,
            4u * 1000 - 1);
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

TEST(PackedRoaring32Test, PackedRowsMatchTheirModelsInEveryKernel) {
  for (uint64_t seed : TestSeeds(24)) {
    SCOPED_TRACE(SeedTrace(seed));
    const int simd = int(seed % 3);
    SCOPED_TRACE("simd cap " + std::to_string(simd));
    const SimdCap cap(simd);
    std::mt19937_64 rng(seed);
    const int keys = 1 + int(rng() % 6);
    // Rows of every container shape (bitsets, arrays, runs, absent keys),
    // some empty; filters unpacked.
    std::vector<std::set<uint32_t>> rm(rng() % 12), fm(1 + rng() % 3);
    for (auto& m : rm)
      m = rng() % 6 == 0 ? std::set<uint32_t>{} : RandomShapes(rng, keys);
    for (auto& m : fm) m = RandomShapes(rng, keys);
    std::vector<Roaring32> rows, f;
    for (const auto& m : rm) rows.push_back(FromSet(m));
    for (const auto& m : fm) f.push_back(FromSet(m));
    std::shared_ptr<const PackedRoaring32> pack =
        PackedRoaring32::Pack(std::move(rows));
    ASSERT_EQ(pack->size(), rm.size());
    EXPECT_EQ(pack->packed_bytes() % 8192, 0u);
    std::vector<const Roaring32*> rp, fp;
    for (size_t j = 0; j < pack->size(); ++j) {
      const Roaring32& r = pack->row(j);
      rp.push_back(&r);
      ASSERT_EQ(r.Cardinality(), rm[j].size()) << "row " << j;
      ASSERT_TRUE(r.Equals(FromSet(rm[j]))) << "row " << j;
    }
    for (const auto& x : f) fp.push_back(&x);
    std::vector<uint64_t> out(fp.size() * rp.size());
    Roaring32::AndCardinalityMatrix(fp, rp, out);
    for (size_t i = 0; i < fp.size(); ++i) {
      for (size_t j = 0; j < rp.size(); ++j) {
        ASSERT_EQ(out[i * rp.size() + j], IntersectionSize(fm[i], rm[j]))
            << "filter " << i << " row " << j;
      }
    }
    if (!rp.empty()) {
      for (bool want_max : {false, true}) {
        const std::vector<std::set<uint32_t>> im = {fm[0]};
        const Roaring32::Extreme e =
            Roaring32::SliceExtreme(std::span(fp.data(), 1), {}, rp, want_max);
        const Roaring32::Extreme want = NaiveExtreme(im, {}, rm, want_max);
        EXPECT_EQ(e.value, want.value) << "max " << want_max;
        EXPECT_EQ(e.count, want.count) << "max " << want_max;
      }
    }
    // Copies and set algebra own their containers: they outlive the pack.
    std::vector<Roaring32> copies, unions;
    for (size_t j = 0; j < pack->size(); ++j) {
      copies.push_back(pack->row(j).Copy());
      unions.push_back(Roaring32::Or(pack->row(j), f[0]));
    }
    pack.reset();
    for (size_t j = 0; j < copies.size(); ++j) {
      std::set<uint32_t> u = rm[j];
      u.insert(fm[0].begin(), fm[0].end());
      ASSERT_TRUE(copies[j].Equals(FromSet(rm[j]))) << "copy " << j;
      ASSERT_TRUE(unions[j].Equals(FromSet(u))) << "union " << j;
      copies[j].AddRange(0, 70000);  // the copy is an ordinary bitmap
    }
  }
}

TEST(PackedRoaring32Test, PacksNothingWithoutBitsets) {
  std::vector<Roaring32> rows;
  rows.push_back(Roaring32::FromValues(std::vector<uint32_t>{1, 5, 70000}));
  rows.push_back(Roaring32::FromRange(0, 200000));
  rows.back().RunOptimize();
  rows.emplace_back();
  auto pack = PackedRoaring32::Pack(std::move(rows));
  EXPECT_EQ(pack->packed_bytes(), 0u);
  EXPECT_EQ(pack->row(0).Cardinality(), 3u);
  EXPECT_EQ(pack->row(1).Cardinality(), 200000u);
  EXPECT_TRUE(pack->row(2).IsEmpty());
}

}  // namespace
}  // namespace featurebase::internal
