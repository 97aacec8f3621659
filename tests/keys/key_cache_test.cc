#include "featurebase/key_cache.h"

#include <gtest/gtest.h>

#include <map>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/translate.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/strings.h"

namespace featurebase {
namespace {

using featurebase::testing::Cat;
using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

TEST(KeyCacheTest, HitsAndMissesAreCounted) {
  KeyCache c;
  EXPECT_FALSE(c.Lookup("a").has_value());
  c.Insert("a", 7);
  EXPECT_EQ(c.Lookup("a"), 7u);
  EXPECT_EQ(c.Lookup("a"), 7u);
  EXPECT_FALSE(c.Lookup("b").has_value());
  EXPECT_EQ(c.hits(), 2u);
  EXPECT_EQ(c.misses(), 2u);
}

TEST(KeyCacheTest, EntrySurvivesExactlyCacheLengthUnusedBatches) {
  for (uint64_t len : {0u, 1u, 3u, 64u}) {
    SCOPED_TRACE(Cat("cache_length ", len));
    KeyCache c(len);
    c.Insert("k", 1);
    for (uint64_t i = 0; i < len; ++i) c.EndBatch();
    EXPECT_EQ(c.Lookup("k"), 1u);  // unused for len batches: kept
    for (uint64_t i = 0; i <= len; ++i) c.EndBatch();
    EXPECT_FALSE(c.Lookup("k").has_value());  // unused for len + 1: gone
  }
}

TEST(KeyCacheTest, DefaultKeepsEntriesUsedInEarlierBatches) {
  // FeatureBase's unsigned `lastUsed - cycle > maxAge` evicts an entry one
  // batch after its use; ours keeps it for 64 batches.
  KeyCache c;
  EXPECT_EQ(c.cache_length(), 64u);
  c.Insert("k", 5);
  c.EndBatch();
  c.EndBatch();
  EXPECT_EQ(c.Lookup("k"), 5u);
  EXPECT_EQ(c.size(), 1u);
}

TEST(KeyCacheTest, UseRefreshesAnEntry) {
  KeyCache c(2);
  c.Insert("k", 1);
  for (int i = 0; i < 10; ++i) {
    c.EndBatch();
    c.EndBatch();
    ASSERT_EQ(c.Lookup("k"), 1u) << "round " << i;
  }
}

TEST(KeyCacheTest, SweepReclaimsExpiredEntries) {
  KeyCache c(4);
  for (int i = 0; i < 100; ++i) c.Insert(Cat("k", i), i + 1);
  for (int i = 0; i < 10; ++i) c.EndBatch();
  EXPECT_EQ(c.size(), 0u);
}

TEST(KeyCacheTest, EraseAndClear) {
  KeyCache c;
  c.Insert("a", 1);
  c.Insert("b", 2);
  EXPECT_TRUE(c.Erase("a"));
  EXPECT_FALSE(c.Erase("a"));
  EXPECT_FALSE(c.Lookup("a").has_value());
  c.Clear();
  EXPECT_EQ(c.size(), 0u);
  EXPECT_FALSE(c.Lookup("b").has_value());
}

TEST(KeyCacheTest, InsertReplacesAnId) {
  KeyCache c;
  c.Insert("a", 1);
  c.Insert("a", 9);
  EXPECT_EQ(c.Lookup("a"), 9u);
}

// Differential: a model that remembers each key's id and last use.
TEST(KeyCacheTest, MatchesModelUnderRandomBatches) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const uint64_t len = rng() % 6;
    KeyCache c(len);
    std::map<std::string, std::pair<uint64_t, uint64_t>> model;  // id, used
    uint64_t cycle = 0, hits = 0, misses = 0;
    for (int step = 0; step < 3000; ++step) {
      const std::string key = Cat("k", rng() % 40);
      switch (rng() % 4) {
        case 0: {
          c.EndBatch();
          ++cycle;
          break;
        }
        case 1: {
          const uint64_t id = rng() % 1000 + 1;
          c.Insert(key, id);
          model[key] = {id, cycle};
          break;
        }
        default: {
          auto it = model.find(key);
          std::optional<uint64_t> want;
          if (it != model.end() && cycle - it->second.second <= len) {
            want = it->second.first;
            it->second.second = cycle;
            ++hits;
          } else {
            ++misses;
          }
          ASSERT_EQ(c.Lookup(key), want) << "step " << step;
        }
      }
    }
    EXPECT_EQ(c.hits(), hits);
    EXPECT_EQ(c.misses(), misses);
  }
}

// Many long keys expiring and erased over many batches, so the key arena
// fills with garbage and is compacted several times: every lookup still
// matches the model.
TEST(KeyCacheTest, MatchesModelWhileTheKeyArenaIsCompacted) {
  for (uint64_t seed : TestSeeds(2)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const uint64_t len = rng() % 3;
    KeyCache c(len);
    std::map<std::string, std::pair<uint64_t, uint64_t>> model;  // id, used
    uint64_t cycle = 0;
    for (int batch = 0; batch < 12; ++batch) {
      for (int i = 0; i < 20000; ++i) {
        // Keys of 30..200 bytes from a pool that batches revisit.
        const uint64_t k = rng() % 60000;
        const std::string key = Cat("key-", k) + "-" +
                                std::string(30 + k % 170, char('a' + k % 26));
        auto it = model.find(key);
        const bool live = it != model.end() && cycle - it->second.second <= len;
        switch (rng() % 8) {
          case 0: {
            // An expired entry may or may not have been swept yet.
            const bool erased = c.Erase(key);
            if (live || it == model.end()) {
              ASSERT_EQ(erased, live) << "batch " << batch << " key " << key;
            }
            if (it != model.end()) model.erase(it);
            break;
          }
          case 1:
          case 2: {
            const uint64_t id = rng() % 1000000 + 1;
            c.Insert(key, id);
            model[key] = {id, cycle};
            break;
          }
          default: {
            std::optional<uint64_t> want;
            if (live) {
              want = it->second.first;
              it->second.second = cycle;
            } else if (it != model.end()) {
              model.erase(it);  // expired: the cache drops it on lookup
            }
            ASSERT_EQ(c.Lookup(key), want)
                << "batch " << batch << " key " << key;
          }
        }
      }
      c.EndBatch();
      ++cycle;
    }
  }
}

// The ingester's flow: cache first, the misses in one bulk create,
// then insert them; the ids always equal the translator's.
TEST(KeyCacheTest, IngestFlowGivesTheTranslatorsIds) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto t = KeyTranslator::NewColumnTranslator();
    KeyCache cache(3);
    for (int batch = 0; batch < 50; ++batch) {
      std::vector<std::string> keys(200);
      for (auto& k : keys) k = Cat("user-", rng() % 2000);
      std::vector<uint64_t> ids(keys.size());
      std::vector<std::string_view> missing;
      std::vector<size_t> where;
      for (size_t i = 0; i < keys.size(); ++i) {
        if (auto id = cache.Lookup(keys[i])) {
          ids[i] = *id;
        } else {
          missing.push_back(keys[i]);
          where.push_back(i);
        }
      }
      std::vector<uint64_t> created(missing.size());
      FB_ASSERT_OK(t->CreateKeys(missing, created));
      for (size_t j = 0; j < missing.size(); ++j) {
        ids[where[j]] = created[j];
        cache.Insert(missing[j], created[j]);
      }
      cache.EndBatch();
      std::vector<std::string_view> views(keys.begin(), keys.end());
      std::vector<uint64_t> want(keys.size());
      FB_ASSERT_OK(t->FindKeys(views, want));
      ASSERT_EQ(ids, want) << "batch " << batch;
    }
    EXPECT_GT(cache.hits(), 0u);
  }
}

}  // namespace
}  // namespace featurebase
