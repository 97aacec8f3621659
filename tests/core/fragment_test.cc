#include "lib/core/fragment.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "featurebase/shard.h"
#include "tests/util/seed.h"

namespace featurebase::internal {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

// The representation a row's size calls for (see row_data.h): inline up
// to kInlineMax bits, an array only when ArrayFits, a bitmap only above
// kArraySure bits.
void ExpectRepresentationFits(const RowData& r, const std::string& what) {
  std::vector<uint32_t> v;
  r.AppendTo(&v);
  const auto rep = r.rep();
  EXPECT_EQ(rep == RowData::Rep::kInline, v.size() <= RowData::kInlineMax)
      << what << " of " << v.size() << " bits";
  if (rep == RowData::Rep::kArray) {
    EXPECT_TRUE(RowData::ArrayFits(v))
        << what << ": an array of " << v.size() << " bits";
  }
  if (rep == RowData::Rep::kBitmap) {
    EXPECT_GT(v.size(), RowData::kArraySure)
        << what << ": a bitmap of " << v.size() << " bits";
  }
  EXPECT_EQ(r.roaring() != nullptr, rep == RowData::Rep::kBitmap) << what;
}

std::map<uint64_t, std::set<uint32_t>> Dump(const Fragment& f) {
  std::map<uint64_t, std::set<uint32_t>> out;
  f.rows().ForEach([&](uint64_t row, const RowData& r) {
    EXPECT_FALSE(r.empty()) << "empty row " << row << " kept";
    ExpectRepresentationFits(r, "row " + std::to_string(row));
    r.ForEach([&](uint32_t o) { out[row].insert(o); });
    return true;
  });
  return out;
}

// AddBulk must equal the same pairs applied one by one, in every mode, and
// leave earlier versions untouched.
TEST(FragmentTest, AddBulkEqualsSequentialAdds) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (auto mode : {Fragment::Mode::kMulti, Fragment::Mode::kMutex,
                      Fragment::Mode::kBool}) {
      SCOPED_TRACE(int(mode));
      Fragment bulk(mode), single(mode);
      OwnerToken owner = 0;
      for (int round = 0; round < 20; ++round) {
        const Fragment before = bulk;
        const auto before_dump = Dump(before);
        std::vector<std::pair<uint64_t, uint32_t>> pairs;
        // Few rows of many bits, or many rows of a few (inline) bits, with
        // ids below and above 2^16 (different grouping paths).
        const uint64_t rows = mode == Fragment::Mode::kBool ? 2
                              : rng() % 2                   ? 1 + rng() % 50
                              : rng() % 2                   ? 1 + rng() % 1000
                                          : 1 + rng() % (1 << 20);
        // Row ids above 2^44 (beyond the index's limit) take the generic
        // grouping path.
        const uint64_t base = mode != Fragment::Mode::kBool && rng() % 8 == 0
                                  ? uint64_t{1} << 50
                                  : 0;
        // Offsets in one page of the mutex side table or over all of them.
        const uint32_t span = rng() % 2 ? 2000 : 1u << 20;
        std::set<uint32_t> touched;
        for (int i = 0; i < 300; ++i) {
          pairs.emplace_back(base + rng() % rows, uint32_t(rng() % span));
          touched.insert(pairs.back().second);
        }
        ++owner;
        uint64_t changed = 0;
        for (auto [r, o] : pairs) changed += single.Add(owner, r, o);
        ++owner;
        const uint64_t bulk_changed = bulk.AddBulk(owner, pairs);
        if (mode == Fragment::Mode::kMulti) {
          EXPECT_EQ(bulk_changed, changed);
        } else {
          // Single-valued: the number of offsets whose row differs now.
          uint64_t moved = 0;
          for (uint32_t o : touched) moved += before.RowOf(o) != bulk.RowOf(o);
          EXPECT_EQ(bulk_changed, moved);
        }
        ASSERT_EQ(Dump(bulk), Dump(single)) << "round " << round;
        ASSERT_EQ(Dump(before), before_dump) << "an older version changed";
        if (mode != Fragment::Mode::kMulti) {
          for (uint32_t o : touched) ASSERT_EQ(bulk.RowOf(o), single.RowOf(o));
        }
        // Interleave removals so rows empty out and side tables clear.
        ++owner;
        for (int i = 0; i < 50; ++i) {
          const uint64_t r = base + rng() % rows;
          const uint32_t o = uint32_t(rng() % span);
          ASSERT_EQ(bulk.Remove(owner, r, o), single.Remove(owner, r, o));
        }
      }
    }
  }
}

// Storage load and log replay: FromRows and ApplyRowDiffs must leave the
// mutex side table exactly as single-bit writes do.
TEST(FragmentTest, FromRowsAndRowDiffsMatchSingleWrites) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (Fragment::Mode mode : {Fragment::Mode::kMutex, Fragment::Mode::kMulti,
                                Fragment::Mode::kBool}) {
      // Rows up to 300 (side table 2 bytes wide) or 2^33 (8 bytes).
      const uint64_t rows = rng() % 2 ? 300 : uint64_t{1} << 33;
      Fragment direct(mode);
      std::map<uint32_t, uint64_t> model;  // single-valued modes
      for (int i = 0; i < 3000; ++i) {
        const uint32_t off = uint32_t(rng() % (1u << 20));
        const uint64_t row =
            mode == Fragment::Mode::kBool ? rng() % 2 : rng() % rows;
        direct.Add(1, row, off);
        model[off] = row;
      }
      // Load: rebuild from the rows.
      std::vector<std::pair<uint64_t, RowData>> taken;
      direct.rows().ForEach([&](uint64_t row, const RowData& r) {
        taken.emplace_back(row, RowData::FromRoaring(2, r.ToRoaring()));
        return true;
      });
      Fragment loaded = Fragment::FromRows(mode, 2, std::move(taken));
      // Replay: a diff that moves some columns to other rows.
      Fragment moved = direct;
      Fragment replayed = direct;
      std::map<uint64_t,
               std::pair<std::vector<uint32_t>, std::vector<uint32_t>>>
          diff;
      for (int i = 0; i < 500; ++i) {
        auto it = model.lower_bound(uint32_t(rng() % (1u << 20)));
        if (it == model.end()) continue;
        const uint64_t to =
            mode == Fragment::Mode::kBool ? rng() % 2 : rng() % rows;
        if (mode == Fragment::Mode::kMulti || to == it->second) continue;
        if (moved.RowOf(it->first) != it->second) continue;  // moved already
        moved.Add(3, to, it->first);
        diff[it->second].first.push_back(it->first);
        diff[to].second.push_back(it->first);
      }
      std::vector<Fragment::RowDiff> diffs;
      for (auto& [row, d] : diff) {
        std::sort(d.first.begin(), d.first.end());
        std::sort(d.second.begin(), d.second.end());
        diffs.push_back({row, Roaring32::FromValues(d.first),
                         Roaring32::FromValues(d.second)});
      }
      replayed.ApplyRowDiffs(4, diffs);
      for (const auto& [off, row] : model) {
        ASSERT_EQ(loaded.RowOf(off), direct.RowOf(off)) << off;
        ASSERT_EQ(replayed.RowOf(off), moved.RowOf(off)) << off;
        ASSERT_EQ(replayed.Contains(row, off), moved.Contains(row, off));
      }
      ASSERT_EQ(loaded.rows().size(), direct.rows().size());
    }
  }
}

}  // namespace
}  // namespace featurebase::internal
