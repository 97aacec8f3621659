#include "lib/core/row_data.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

std::vector<uint32_t> Values(const std::set<uint32_t>& s) {
  return {s.begin(), s.end()};
}

Roaring32 RoaringOf(const std::set<uint32_t>& s) {
  return Roaring32::FromValues(Values(s));
}

// Everything a reader can ask of `r` must agree with the model `m`.
// want_portable: the expected serialization when not the model's own
// (a bitmap row decoded from run containers keeps them).
void ExpectRowEquals(const RowData& r, const std::set<uint32_t>& m,
                     const Roaring32& probe, const std::string& what,
                     const std::string* want_portable_bytes = nullptr) {
  SCOPED_TRACE(what);
  const std::vector<uint32_t> want = Values(m);
  std::vector<uint32_t> got;
  r.AppendTo(&got);
  ASSERT_EQ(got, want);
  std::vector<uint32_t> each;
  r.ForEach([&](uint32_t v) { each.push_back(v); });
  EXPECT_EQ(each, want);
  EXPECT_EQ(r.Cardinality(), m.size());
  EXPECT_EQ(r.empty(), m.empty());
  EXPECT_TRUE(r.ToRoaring().Equals(RoaringOf(m)));
  std::string portable, want_portable;
  r.AppendPortable(&portable);
  RoaringOf(m).AppendPortable(&want_portable);
  EXPECT_EQ(portable,
            want_portable_bytes ? *want_portable_bytes : want_portable);
  uint64_t both = 0;
  probe.ForEach([&](uint32_t v) { both += m.count(v); });
  EXPECT_EQ(r.AndCardinality(probe), both);
  EXPECT_EQ(r.Intersects(probe), both > 0);
  for (uint32_t v : want) ASSERT_TRUE(r.Contains(v)) << v;
  probe.ForEach(
      [&](uint32_t v) { EXPECT_EQ(r.Contains(v), m.count(v) == 1) << v; });
  EXPECT_TRUE(r.Equals(RowData::FromSorted(1, want)));
  EXPECT_TRUE(r.Equals(RowData::FromRoaring(1, RoaringOf(m))));
  // The representation follows the size (row_data.h).
  const auto rep = r.rep();
  EXPECT_EQ(rep == RowData::Rep::kInline, m.size() <= RowData::kInlineMax);
  if (rep == RowData::Rep::kArray) {
    EXPECT_TRUE(RowData::ArrayFits(want));
  }
  if (rep == RowData::Rep::kBitmap) {
    EXPECT_GT(m.size(), RowData::kArraySure);
  }
}

// Random edits of every kind through all three representations, against a
// std::set; earlier versions (copies taken under older owners) must keep
// their bits.
TEST(RowDataTest, EditsMatchASetModelAndLeaveOlderVersionsAlone) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    RowData r;
    std::set<uint32_t> m;
    std::vector<std::pair<RowData, std::set<uint32_t>>> versions;
    OwnerToken owner = 1;
    int seen[3] = {0, 0, 0};  // steps ending in each representation
    for (int step = 0; step < 1500; ++step) {
      // Offsets clustered in one 2^16 block, spread over a whole shard, or
      // in a few blocks: rows of the same size then want different
      // representations.
      const int shape = int(rng() % 3);
      const auto offset = [&]() -> uint32_t {
        switch (shape) {
          case 0:
            return uint32_t(rng() % 3000);
          case 1:
            return uint32_t(rng() % (1u << 20));
          default:
            return uint32_t((rng() % 3) << 16 | rng() % 500);
        }
      };
      const auto some = [&](size_t max) {
        std::set<uint32_t> s;
        const size_t n = rng() % (max + 1);
        while (s.size() < n) s.insert(offset());
        return s;
      };
      if (rng() % 8 == 0) {
        versions.emplace_back(r, m);
        ++owner;
      }
      const size_t big = rng() % 16 == 0 ? 700 : 40;
      switch (rng() % 6) {
        case 0: {
          const uint32_t v = offset();
          EXPECT_EQ(r.Add(owner, v), m.insert(v).second) << "step " << step;
          break;
        }
        case 1: {
          const uint32_t v = !m.empty() && rng() % 2
                                 ? *std::next(m.begin(), long(rng() % m.size()))
                                 : offset();
          EXPECT_EQ(r.Remove(owner, v), m.erase(v) == 1) << "step " << step;
          break;
        }
        case 2: {
          const std::set<uint32_t> s = some(big);
          size_t added = 0;
          for (uint32_t v : s) added += m.insert(v).second;
          EXPECT_EQ(r.AddMany(owner, Values(s)), added) << "step " << step;
          break;
        }
        case 3: {
          std::set<uint32_t> s = some(big);
          const uint64_t keep = 1 + rng() % 20;  // of 20: some, or nearly all
          for (uint32_t v : m)
            if (rng() % 20 >= keep) s.insert(v);
          size_t removed = 0;
          for (uint32_t v : s) removed += m.erase(v);
          EXPECT_EQ(r.RemoveMany(owner, Values(s)), removed) << "step " << step;
          break;
        }
        case 4: {
          const std::set<uint32_t> s = some(big);
          r.OrInPlace(owner, RoaringOf(s));
          m.insert(s.begin(), s.end());
          break;
        }
        default: {
          std::set<uint32_t> s = some(big);
          const uint64_t keep = 1 + rng() % 20;
          for (uint32_t v : m)
            if (rng() % 20 >= keep) s.insert(v);
          r.AndNotInPlace(owner, RoaringOf(s));
          for (uint32_t v : s) m.erase(v);
          break;
        }
      }
      const Roaring32 probe = RoaringOf(some(64));
      ExpectRowEquals(r, m, probe, "step " + std::to_string(step));
      if (::testing::Test::HasFatalFailure()) return;
      ++seen[int(r.rep())];
    }
    for (int rep = 0; rep < 3; ++rep)
      EXPECT_GT(seen[rep], 50) << "representation " << rep << " barely seen";
    for (size_t i = 0; i < versions.size(); ++i) {
      ExpectRowEquals(versions[i].first, versions[i].second, Roaring32(),
                      "version " + std::to_string(i));
    }
  }
}

// Rows built from sorted offsets or from bitmaps take the representation
// the size calls for, and ArrayFits follows its rule: an array while it is
// no larger than a bitmap, at most 32 offsets per 2^16 block plus 16.
TEST(RowDataTest, BuildsPickTheRepresentationBySize) {
  const auto row_of = [](uint32_t n, uint32_t stride) {
    std::vector<uint32_t> v(n);
    for (uint32_t i = 0; i < n; ++i) v[i] = i * stride;
    return v;
  };
  for (uint32_t n : {0u, 1u, 3u}) {
    EXPECT_EQ(RowData::FromSorted(1, row_of(n, 7)).rep(),
              RowData::Rep::kInline);
  }
  EXPECT_EQ(RowData::FromSorted(1, row_of(4, 7)).rep(), RowData::Rep::kArray);
  EXPECT_EQ(RowData::FromSorted(1, row_of(48, 7)).rep(), RowData::Rep::kArray);
  // One block: 48 offsets fit (the sure bound), 49 do not (32 + 16 = 48).
  EXPECT_TRUE(RowData::ArrayFits(row_of(48, 1)));
  EXPECT_FALSE(RowData::ArrayFits(row_of(49, 1)));
  EXPECT_EQ(RowData::FromSorted(1, row_of(49, 1)).rep(), RowData::Rep::kBitmap);
  // Spread over all 16 blocks of a shard: up to 32 * 16 + 16 = 528.
  const uint32_t spread = (1u << 20) / 528;
  EXPECT_TRUE(RowData::ArrayFits(row_of(528, spread)));
  EXPECT_EQ(
      RowData::FromRoaring(1, Roaring32::FromValues(row_of(528, spread))).rep(),
      RowData::Rep::kArray);
  EXPECT_FALSE(RowData::ArrayFits(row_of(529, (1u << 20) / 529)));
  EXPECT_EQ(
      RowData::FromRoaring(1, Roaring32::FromValues(row_of(100, 1))).rep(),
      RowData::Rep::kBitmap);
  // Two blocks: 32 * 2 + 16 = 80.
  std::vector<uint32_t> two = row_of(40, 1), hi = row_of(40, 1);
  for (uint32_t& v : hi) v += 1u << 16;
  two.insert(two.end(), hi.begin(), hi.end());
  EXPECT_TRUE(RowData::ArrayFits(two));
  two.push_back((1u << 16) + 100);
  EXPECT_FALSE(RowData::ArrayFits(two));
}

// Union of rows of every representation (with shared offsets) equals the
// union of their models.
TEST(RowDataTest, UnionOfRowsEqualsUnionOfModels) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 50; ++round) {
      std::vector<RowData> rows(rng() % 6);
      std::set<uint32_t> want;
      for (RowData& r : rows) {
        const size_t sizes[] = {2, 30, 300, 3000};
        const size_t n = 1 + rng() % sizes[rng() % 4];
        const uint32_t span = rng() % 2 ? 5000 : 1u << 20;
        std::set<uint32_t> m;
        while (m.size() < n) m.insert(uint32_t(rng() % span));
        r = RowData::FromSorted(1, Values(m));
        want.insert(m.begin(), m.end());
      }
      std::vector<const RowData*> ptrs;
      for (const RowData& r : rows) ptrs.push_back(&r);
      EXPECT_TRUE(RowData::Union(ptrs).Equals(RoaringOf(want)))
          << "round " << round << ", " << rows.size() << " rows";
    }
  }
}

// DecodePortable gives back what AppendPortable wrote, in the form its size
// calls for, and fails as Roaring32::DecodePortable does on damaged bytes.
TEST(RowDataTest, DecodePortableRoundTripsAndFailsAsRoaringDoes) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (int round = 0; round < 60; ++round) {
      std::set<uint32_t> m;
      const size_t sizes[] = {1, 3, 40, 400, 3000};
      const size_t n = 1 + rng() % sizes[rng() % 5];
      const uint32_t span = rng() % 2 ? 5000 : 1u << 20;
      const bool runs = rng() % 3 == 0;
      while (m.size() < n) {
        const uint32_t v = uint32_t(rng() % span);
        m.insert(v);
        if (runs)
          for (uint32_t k = 1; k < 30; ++k) m.insert(v + k);
      }
      Roaring32 bits = RoaringOf(m);
      if (runs) bits.RunOptimize();
      std::string bytes;
      bits.AppendPortable(&bytes);
      auto row = RowData::DecodePortable(3, bytes);
      FB_ASSERT_OK(row);
      // A bitmap row keeps the bytes' containers (runs included); inline
      // and array rows are written without runs.
      ExpectRowEquals(*row, m, RoaringOf(m), "round " + std::to_string(round),
                      row->rep() == RowData::Rep::kBitmap ? &bytes : nullptr);
      // Damaged copies: the same verdict and message as the bitmap decoder.
      for (int k = 0; k < 20; ++k) {
        std::string bad = bytes;
        if (k % 2 == 0) {
          bad[rng() % bad.size()] ^= char(1 + rng() % 255);
        } else {
          bad.resize(rng() % bad.size());
        }
        if (k == 19) bad += "x";  // a trailing byte
        auto got = RowData::DecodePortable(3, bad);
        auto want = Roaring32::DecodePortable(bad);
        ASSERT_EQ(got.ok(), want.ok()) << "damage " << k;
        if (!got.ok()) {
          EXPECT_EQ(got.status(), want.status());
        } else {
          std::vector<uint32_t> a, b;
          got->AppendTo(&a);
          want->AppendTo(&b);
          EXPECT_EQ(a, b);
        }
      }
    }
  }
}

// Copies share an array; the first write under a new owner copies it, and
// writes under the array's own owner edit it in place.
TEST(RowDataTest, ArraysAreSharedUntilWrittenUnderANewOwner) {
  std::vector<uint32_t> v = {10, 20, 30, 40, 50};
  RowData a = RowData::FromSorted(1, v);
  ASSERT_EQ(a.rep(), RowData::Rep::kArray);
  RowData b = a;
  EXPECT_TRUE(a.SharesBitsWith(b));
  EXPECT_TRUE(b.Add(2, 25));
  EXPECT_FALSE(a.SharesBitsWith(b));
  EXPECT_FALSE(a.Contains(25));
  EXPECT_TRUE(b.Contains(25));
  RowData c = b;  // b's array is owner 2's now: a write under 2 is shared
  EXPECT_TRUE(b.Remove(3, 10));
  EXPECT_TRUE(c.Contains(10));
  EXPECT_FALSE(b.Contains(10));
  EXPECT_EQ(a.Cardinality(), 5u);
  EXPECT_EQ(c.Cardinality(), 6u);
  EXPECT_EQ(b.Cardinality(), 5u);
}

}  // namespace
}  // namespace featurebase::internal
