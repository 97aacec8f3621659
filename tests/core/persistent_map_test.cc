#include "lib/core/persistent_map.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "tests/util/seed.h"

namespace featurebase::internal {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

std::map<uint64_t, int> Dump(const PersistentMap<int>& m) {
  std::map<uint64_t, int> out;
  uint64_t prev = 0;
  bool first = true;
  m.ForEach([&](uint64_t k, const int& v) {
    EXPECT_TRUE(first || k > prev) << "keys out of order";
    first = false;
    prev = k;
    out[k] = v;
    return true;
  });
  return out;
}

// Every published version must stay exactly as it was while later
// transactions edit copies of it.
TEST(PersistentMapTest, VersionsAreIsolatedAndMatchStdMap) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    std::vector<PersistentMap<int>> versions{PersistentMap<int>()};
    std::vector<std::map<uint64_t, int>> models{{}};
    OwnerToken owner = 0;
    for (int txn = 0; txn < 200; ++txn) {
      PersistentMap<int> next = versions.back();
      std::map<uint64_t, int> model = models.back();
      ++owner;
      for (int op = 0; op < 1 + int(rng() % 20); ++op) {
        const uint64_t key = rng() % 4 == 0 ? rng() : rng() % 5000;
        if (rng() % 3 == 0) {
          ASSERT_EQ(next.Erase(owner, key), model.erase(key) == 1);
        } else {
          const int v = int(rng() % 1000);
          bool inserted = false;
          *next.Mutate(owner, key, &inserted) = v;
          ASSERT_EQ(inserted, model.count(key) == 0);
          model[key] = v;
        }
      }
      ASSERT_EQ(next.size(), model.size());
      versions.push_back(next);
      models.push_back(model);
    }
    for (size_t i = 0; i < versions.size(); ++i) {
      ASSERT_EQ(Dump(versions[i]), models[i]) << "version " << i;
      for (const auto& [k, v] : models[i]) {
        const int* got = versions[i].Find(k);
        ASSERT_NE(got, nullptr);
        ASSERT_EQ(*got, v);
      }
      if (!models[i].empty()) {
        ASSERT_EQ(versions[i].MinKey(), models[i].begin()->first);
        ASSERT_EQ(versions[i].MaxKey(), models[i].rbegin()->first);
      }
      // ForEachFrom starts at the first key >= from.
      const uint64_t from = rng() % 6000;
      std::vector<uint64_t> got, want;
      versions[i].ForEachFrom(from, [&](uint64_t k, const int&) {
        got.push_back(k);
        return got.size() < 10;
      });
      for (auto it = models[i].lower_bound(from);
           it != models[i].end() && want.size() < 10; ++it) {
        want.push_back(it->first);
      }
      ASSERT_EQ(got, want);
    }
  }
}

// UpdateSorted (one pass over many keys) must equal the same edits made key
// by key, whether the nodes it meets are shared with published versions or
// already owned by the transaction, and leave published versions alone.
TEST(PersistentMapTest, UpdateSortedMatchesStdMap) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    std::vector<PersistentMap<std::string>> versions{{}};
    std::vector<std::map<uint64_t, std::string>> models{{}};
    OwnerToken owner = 0;
    for (int txn = 0; txn < 100; ++txn) {
      PersistentMap<std::string> next = versions.back();
      std::map<uint64_t, std::string> model = models.back();
      ++owner;
      for (int op = 0; op < 1 + int(rng() % 3); ++op) {
        // Dense keys (full leaves), sparse ones, and a few huge ones.
        std::vector<uint64_t> keys;
        const uint64_t span = rng() % 2 ? 300 : 100000;
        for (int i = 0; i < int(rng() % 200); ++i)
          keys.push_back(rng() % 8 == 0 ? rng() : rng() % span);
        if (rng() % 4 == 0) {  // also single edits in the same transaction
          const uint64_t k = rng() % span;
          *next.Mutate(owner, k) = "m";
          model[k] = "m";
        }
        std::sort(keys.begin(), keys.end());
        keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
        // Per key: drop it, or append a letter (creating it if absent).
        std::vector<int> action(keys.size());
        for (int& a : action) a = int(rng() % 3);
        std::vector<size_t> seen;
        next.UpdateSorted(
            owner, keys, [&](size_t i, std::string& v, bool present) {
              seen.push_back(i);
              EXPECT_EQ(present, model.count(keys[i]) == 1) << keys[i];
              if (present) {
                EXPECT_EQ(v, model[keys[i]]) << keys[i];
              }
              if (action[i] == 0) return false;
              v += char('a' + action[i]);
              return true;
            });
        std::vector<size_t> all(keys.size());
        for (size_t i = 0; i < all.size(); ++i) all[i] = i;
        ASSERT_EQ(seen, all) << "every key once, in order";
        for (size_t i = 0; i < keys.size(); ++i) {
          if (action[i] == 0) {
            model.erase(keys[i]);
          } else {
            model[keys[i]] += char('a' + action[i]);
          }
        }
        ASSERT_EQ(next.size(), model.size());
      }
      versions.push_back(next);
      models.push_back(model);
    }
    for (size_t i = 0; i < versions.size(); ++i) {
      std::map<uint64_t, std::string> got;
      versions[i].ForEach([&](uint64_t k, const std::string& v) {
        got[k] = v;
        return true;
      });
      ASSERT_EQ(got, models[i]) << "version " << i;
      ASSERT_EQ(versions[i].size(), models[i].size());
    }
  }
}

TEST(PersistentMapTest, ExtremeKeys) {
  PersistentMap<int> m;
  *m.Mutate(1, UINT64_MAX) = 1;
  *m.Mutate(1, 0) = 2;
  EXPECT_EQ(*m.Find(UINT64_MAX), 1);
  EXPECT_EQ(*m.Find(0), 2);
  EXPECT_EQ(m.MaxKey(), UINT64_MAX);
  EXPECT_EQ(m.Find(UINT64_MAX - 1), nullptr);
  EXPECT_TRUE(m.Erase(2, UINT64_MAX));
  EXPECT_EQ(m.size(), 1u);
}

}  // namespace
}  // namespace featurebase::internal
