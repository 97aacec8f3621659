#include "featurebase/translate.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <map>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "featurebase/partitioner.h"
#include "featurebase/shard.h"
#include "lib/util/checksum.h"
#include "lib/util/utf8.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/strings.h"

namespace featurebase {
namespace {

using featurebase::testing::Cat;
using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

std::vector<std::string_view> Views(const std::vector<std::string>& keys) {
  return {keys.begin(), keys.end()};
}

std::vector<uint64_t> Create(KeyTranslator& t,
                             const std::vector<std::string>& keys,
                             std::string* log = nullptr) {
  std::vector<uint64_t> ids(keys.size());
  FB_EXPECT_OK(t.CreateKeys(Views(keys), ids, log));
  return ids;
}

std::vector<uint64_t> Find(const KeyTranslator& t,
                           const std::vector<std::string>& keys) {
  std::vector<uint64_t> ids(keys.size());
  FB_EXPECT_OK(t.FindKeys(Views(keys), ids));
  return ids;
}

std::string Snapshot(const KeyTranslator& t) {
  std::string s;
  t.EncodeSnapshot(&s);
  return s;
}

std::vector<std::string> NumberedKeys(int n, const std::string& prefix) {
  std::vector<std::string> keys;
  for (int i = 0; i < n; ++i) keys.push_back(Cat(prefix, i));
  return keys;
}

// ---------------------------------------------------------------- basics

TEST(TranslateTest, RowIdsAreSequentialFromOne) {
  // FeatureBase's TestExecutor_Execute_MinMaxRow/RowKey.
  auto t = KeyTranslator::NewRowTranslator();
  const std::vector<std::string> keys = {
      "seven-thousand", "fifty", "ten-thousand", "one", "five-thousand"};
  EXPECT_EQ(Create(*t, keys), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(Find(*t, keys), (std::vector<uint64_t>{1, 2, 3, 4, 5}));
  EXPECT_EQ(t->TranslateId(4).value(), "one");
  EXPECT_EQ(t->size(), 5u);
  EXPECT_EQ(t->sequence(), 5u);
}

TEST(TranslateTest, EmptyKeyIsNullNotAnError) {
  auto t = KeyTranslator::NewColumnTranslator();
  const std::vector<std::string> keys = {"", "a", ""};
  const auto ids = Create(*t, keys);
  EXPECT_EQ(ids[0], 0u);
  EXPECT_NE(ids[1], 0u);
  EXPECT_EQ(ids[2], 0u);
  EXPECT_EQ(t->FindKey("").value(), 0u);
  EXPECT_EQ(t->CreateKey("").value(), 0u);
  EXPECT_EQ(t->TranslateId(0).value(), "");
  EXPECT_EQ(t->size(), 1u);
}

TEST(TranslateTest, OversizedKeyIsRejectedAndNothingIsCreated) {
  auto t = KeyTranslator::NewColumnTranslator();
  const std::vector<std::string> keys = {"a", std::string(65537, 'x'), "b"};
  std::vector<uint64_t> ids(3);
  std::string log;
  const Status s = t->CreateKeys(Views(keys), ids, &log);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "create keys: key of 65537 bytes over the 65536-byte limit at "
            "position 1");
  EXPECT_EQ(t->size(), 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(t->FindKeys(Views(keys), ids).code(),
            absl::StatusCode::kInvalidArgument);
  // Exactly 64 KiB is allowed.
  const std::string big(65536, 'y');
  const uint64_t id = t->CreateKey(big).value();
  EXPECT_NE(id, 0u);
  EXPECT_EQ(t->TranslateId(id).value(), big);
}

// A reference decoder written from RFC 3629's table, one code point at a
// time: the byte offset of the first invalid sequence, or -1.
int64_t NaiveFirstInvalidUtf8(const std::string& s) {
  size_t i = 0;
  while (i < s.size()) {
    const unsigned c = uint8_t(s[i]);
    int len;
    uint32_t cp;
    if (c < 0x80) {
      len = 1, cp = c;
    } else if ((c >> 5) == 0x6) {
      len = 2, cp = c & 0x1F;
    } else if ((c >> 4) == 0xE) {
      len = 3, cp = c & 0x0F;
    } else if ((c >> 3) == 0x1E) {
      len = 4, cp = c & 0x07;
    } else {
      return int64_t(i);
    }
    if (i + len > s.size()) return int64_t(i);
    for (int k = 1; k < len; ++k) {
      const unsigned b = uint8_t(s[i + k]);
      if ((b >> 6) != 0x2) return int64_t(i);
      cp = cp << 6 | (b & 0x3F);
    }
    static const uint32_t kMin[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < kMin[len] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
      return int64_t(i);
    i += len;
  }
  return -1;
}

TEST(Utf8Test, MatchesANaiveDecoderOnRandomBytes) {
  for (uint64_t seed : featurebase::testing::TestSeeds(4)) {
    SCOPED_TRACE(featurebase::testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    // Bytes drawn from the interesting ranges: ASCII, continuations, every
    // lead byte, and the bounds of overlongs, surrogates and U+10FFFF.
    static const uint8_t kBytes[] = {'a',  0x00, 0x7F, 0x80, 0x8F, 0x90, 0x9F,
                                     0xA0, 0xBF, 0xC0, 0xC1, 0xC2, 0xDF, 0xE0,
                                     0xE1, 0xED, 0xEF, 0xF0, 0xF4, 0xF5, 0xFF};
    for (int iter = 0; iter < 200000; ++iter) {
      std::string s(rng() % 12, 'x');
      for (char& ch : s) {
        ch = rng() % 3 ? char(kBytes[rng() % std::size(kBytes)])
                       : char(rng() % 256);
      }
      if (rng() % 4 == 0) s = std::string(rng() % 17, 'q') + s;  // 8-byte path
      const std::optional<size_t> got =
          featurebase::internal::FirstInvalidUtf8(s);
      const int64_t want = NaiveFirstInvalidUtf8(s);
      ASSERT_EQ(got ? int64_t(*got) : -1, want) << "iteration " << iter;
    }
  }
}

TEST(Utf8Test, KnownSequences) {
  using featurebase::internal::FirstInvalidUtf8;
  EXPECT_EQ(FirstInvalidUtf8(""), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("plain ascii key, long enough"), std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("caf\xC3\xA9 \xE2\x82\xAC \xF0\x9F\x98\x80"),
            std::nullopt);
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x8F\xBF\xBF"), std::nullopt);  // U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("abc\xFF"), 3u);
  EXPECT_EQ(FirstInvalidUtf8("\xC0\xAF"), 0u);          // overlong '/'
  EXPECT_EQ(FirstInvalidUtf8("\xE0\x80\xAF"), 0u);      // overlong
  EXPECT_EQ(FirstInvalidUtf8("\xED\xA0\x80"), 0u);      // surrogate
  EXPECT_EQ(FirstInvalidUtf8("\xF4\x90\x80\x80"), 0u);  // above U+10FFFF
  EXPECT_EQ(FirstInvalidUtf8("12345678\xE2\x82"), 8u);  // truncated
}

TEST(TranslateTest, InvalidUtf8KeyIsRejectedAndNothingIsCreated) {
  auto t = KeyTranslator::NewColumnTranslator();
  const std::vector<std::string> keys = {"a", "b\xFF", "c"};
  std::vector<uint64_t> ids(3);
  std::string log;
  const Status s = t->CreateKeys(Views(keys), ids, &log);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "create keys: key at position 1 is not valid UTF-8 (byte 2 of 2)");
  EXPECT_EQ(t->size(), 0u);
  EXPECT_TRUE(log.empty());
  EXPECT_EQ(t->FindKeys(Views(keys), ids).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_NE(t->CreateKey("\xC3\xA9t\xC3\xA9").value(), 0u);
}

TEST(TranslateTest, SizeMismatchIsInvalidArgument) {
  auto t = KeyTranslator::NewColumnTranslator();
  const std::vector<std::string> keys = {"a", "b"};
  std::vector<uint64_t> ids(1);
  EXPECT_EQ(t->CreateKeys(Views(keys), ids).code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(t->FindKeys(Views(keys), ids).code(),
            absl::StatusCode::kInvalidArgument);
}

TEST(TranslateTest, MissingKeysFindZeroAndUnknownIdsAreNotFound) {
  auto t = KeyTranslator::NewColumnTranslator();
  Create(*t, {"a", "b"});
  EXPECT_EQ(Find(*t, {"c", "a", "d"})[0], 0u);
  EXPECT_EQ(t->size(), 2u);  // Find creates nothing
  const uint64_t a = t->FindKey("a").value();
  std::vector<std::string> keys;
  const Status s = t->TranslateIds(std::vector<uint64_t>{a, 0, 12345}, &keys);
  EXPECT_EQ(s.code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(std::string(s.message()),
            "translate ids: id 12345 has no key at position 2");
}

TEST(TranslateTest, DuplicatesInOneBatchShareAnId) {
  auto t = KeyTranslator::NewColumnTranslator();
  std::string log;
  const auto ids = Create(*t, {"x", "y", "x", "x"}, &log);
  EXPECT_EQ(ids[0], ids[2]);
  EXPECT_EQ(ids[0], ids[3]);
  EXPECT_NE(ids[0], ids[1]);
  EXPECT_EQ(t->size(), 2u);
  EXPECT_EQ(t->sequence(), 2u);
}

// ---------------------------------------------------------------- ids

TEST(TranslateTest, ColumnIdsLieInShardsOwnedByTheKeysPartition) {
  HashPartitioner p;
  auto t = KeyTranslator::NewColumnTranslator(p);
  const auto keys = NumberedKeys(50000, "user-");
  const auto ids = Create(*t, keys);
  std::map<uint32_t, std::vector<uint64_t>> by_partition;
  for (size_t i = 0; i < keys.size(); ++i) {
    const uint32_t part = p.KeyPartition(keys[i]);
    ASSERT_EQ(p.ShardPartition(ShardOf(ids[i])), part) << keys[i];
    by_partition[part].push_back(ids[i]);
  }
  // Each partition's ids are consecutive from the first column of its first
  // shard (1 if that shard is 0).
  for (const auto& [part, pids] : by_partition) {
    const uint64_t first_shard = p.NextShardOf(part, 0);
    uint64_t want = first_shard == 0 ? 1 : ShardStart(first_shard);
    for (uint64_t id : pids) ASSERT_EQ(id, want++) << "partition " << part;
  }
}

TEST(TranslateTest, FirstIdsMatchTheDocumentedExamples) {
  // docs/partitioner.md: partition 0 starts at shard 45, partition 152 owns
  // shard 0 and starts at id 1.
  HashPartitioner p;
  auto t = KeyTranslator::NewColumnTranslator(p);
  bool saw0 = false, saw152 = false;
  for (int i = 0; !(saw0 && saw152); ++i) {
    const std::string k = Cat("doc-", i);
    const uint32_t part = p.KeyPartition(k);
    if (part == 0 && !saw0) {
      EXPECT_EQ(t->CreateKey(k).value(), 45u * kShardWidth);
      saw0 = true;
    } else if (part == 152 && !saw152) {
      EXPECT_EQ(t->CreateKey(k).value(), 1u);
      saw152 = true;
    }
  }
}

TEST(TranslateTest, PartitionMovesToItsNextShardWhenOneIsFull) {
  // Two partitions, enough keys that both fill their first shard.
  HashPartitioner p = HashPartitioner::Create(2).value();
  auto t = KeyTranslator::NewColumnTranslator(p);
  const auto keys = NumberedKeys(2300000, "k");
  const auto ids = Create(*t, keys);
  for (uint32_t part = 0; part < 2; ++part) {
    // The id sequence of the partition: every column of its shards in order,
    // skipping column 0.
    uint64_t shard = p.NextShardOf(part, 0);
    uint64_t want = shard == 0 ? 1 : ShardStart(shard);
    size_t n = 0;
    for (size_t i = 0; i < keys.size(); ++i) {
      if (p.KeyPartition(keys[i]) != part) continue;
      ASSERT_EQ(ids[i], want) << "partition " << part << " key " << i;
      ++n;
      if (OffsetInShard(++want) == 0) {
        want = ShardStart(p.NextShardOf(part, shard + 1));
        shard = ShardOf(want);
      }
    }
    EXPECT_GT(n, size_t{kShardWidth});
  }
}

TEST(TranslateTest, FreedIdsAreReusedLowestFirst) {
  auto t = KeyTranslator::NewRowTranslator();
  Create(*t, NumberedKeys(10, "r"));  // ids 1..10
  std::string log;
  EXPECT_EQ(
      t->DeleteIds(std::vector<uint64_t>{7, 3, 9, 3, 0, 99}, &log).value(), 3u);
  EXPECT_EQ(t->size(), 7u);
  EXPECT_EQ(t->FindKey("r2").value(), 0u);  // r2 had id 3
  EXPECT_EQ(t->TranslateId(3).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(Create(*t, {"new1", "new2", "r2", "new3", "new4"}),
            (std::vector<uint64_t>{3, 7, 9, 11, 12}));
  EXPECT_EQ(t->TranslateId(9).value(), "r2");
}

TEST(TranslateTest, DeletedColumnIdIsReusedInItsPartition) {
  HashPartitioner p;
  auto t = KeyTranslator::NewColumnTranslator(p);
  const auto keys = NumberedKeys(2000, "c");
  const auto ids = Create(*t, keys);
  ASSERT_EQ(t->DeleteIds({&ids[5], 1}).value(), 1u);
  // The next new key of that partition gets the freed id.
  const uint32_t part = p.KeyPartition(keys[5]);
  for (int i = 0;; ++i) {
    const std::string k = Cat("fresh", i);
    if (p.KeyPartition(k) != part) continue;
    EXPECT_EQ(t->CreateKey(k).value(), ids[5]);
    break;
  }
}

TEST(TranslateTest, DeleteCreateChurnKeepsEveryKeyFindable) {
  // Many tombstones: the table is rebuilt in place (same capacity) and every
  // live key stays findable; ids stay within the first 1000 (reused).
  auto t = KeyTranslator::NewRowTranslator();
  std::vector<std::string> live = NumberedKeys(1000, "gen0-");
  std::vector<uint64_t> ids = Create(*t, live);
  for (int round = 1; round <= 60; ++round) {
    std::vector<uint64_t> drop(ids.begin(), ids.begin() + 500);
    ASSERT_EQ(t->DeleteIds(drop).value(), 500u);
    std::vector<std::string> fresh = NumberedKeys(500, Cat("gen", round) + "-");
    std::vector<uint64_t> fresh_ids = Create(*t, fresh);
    live.erase(live.begin(), live.begin() + 500);
    ids.erase(ids.begin(), ids.begin() + 500);
    live.insert(live.end(), fresh.begin(), fresh.end());
    ids.insert(ids.end(), fresh_ids.begin(), fresh_ids.end());
    ASSERT_EQ(Find(*t, live), ids) << "round " << round;
    for (uint64_t id : fresh_ids) ASSERT_LE(id, 1000u);
  }
  EXPECT_EQ(t->size(), 1000u);
}

// ---------------------------------------------------------------- model

// The documented allocation rule, computed from the partitioner alone.
class AllocModel {
 public:
  explicit AllocModel(const HashPartitioner& p) : p_(p) {}
  uint64_t Next(uint32_t part) {
    auto& st = state_[part];
    if (!st.free.empty()) {
      const uint64_t id = *st.free.begin();
      st.free.erase(st.free.begin());
      return id;
    }
    if (st.next == 0) {
      const uint64_t s = p_.NextShardOf(part, 0);
      st.next = s == 0 ? 1 : ShardStart(s);
    } else if (OffsetInShard(st.next) == 0) {
      st.next = ShardStart(p_.NextShardOf(part, ShardOf(st.next)));
    }
    return st.next++;
  }
  void Free(uint32_t part, uint64_t id) { state_[part].free.insert(id); }

 private:
  struct State {
    uint64_t next = 0;
    std::set<uint64_t> free;
  };
  HashPartitioner p_;
  std::map<uint32_t, State> state_;
};

class KeyGen {
 public:
  explicit KeyGen(uint64_t seed) : rng_(seed) {}
  std::string Next() {
    switch (rng_() % 8) {
      case 0:
        return "";
      case 1: {  // any code points (NUL included), up to 100 of them
        std::string k;
        for (int n = int(rng_() % 100) + 1; n > 0; --n) {
          uint32_t cp = uint32_t(rng_() % 0x110000);
          if (cp >= 0xD800 && cp <= 0xDFFF) cp -= 0x800;  // no surrogates
          if (cp < 0x80) {
            k += char(cp);
          } else if (cp < 0x800) {
            k += char(0xC0 | cp >> 6);
            k += char(0x80 | (cp & 0x3F));
          } else if (cp < 0x10000) {
            k += char(0xE0 | cp >> 12);
            k += char(0x80 | (cp >> 6 & 0x3F));
            k += char(0x80 | (cp & 0x3F));
          } else {
            k += char(0xF0 | cp >> 18);
            k += char(0x80 | (cp >> 12 & 0x3F));
            k += char(0x80 | (cp >> 6 & 0x3F));
            k += char(0x80 | (cp & 0x3F));
          }
        }
        return k;
      }
      case 2:  // long keys
        return std::string(rng_() % 3000 + 100, char('a' + rng_() % 26));
      default:  // a small space so that keys repeat
        return Cat("key-", rng_() % 3000);
    }
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

void CheckSame(const KeyTranslator& t,
               const std::unordered_map<std::string, uint64_t>& model) {
  ASSERT_EQ(t.size(), model.size());
  std::vector<std::string> keys;
  std::vector<uint64_t> want;
  for (const auto& [k, id] : model) {
    keys.push_back(k);
    want.push_back(id);
  }
  ASSERT_EQ(Find(t, keys), want);
  std::vector<std::string> back;
  FB_ASSERT_OK(t.TranslateIds(want, &back));
  ASSERT_EQ(back, keys);
}

TEST(TranslateTest, MatchesUnorderedMapUnderRandomOperations) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    KeyGen gen(seed);
    auto& rng = gen.rng();
    const uint32_t nparts = std::vector<uint32_t>{1, 2, 7, 256}[rng() % 4];
    HashPartitioner p = HashPartitioner::Create(nparts).value();
    auto t = KeyTranslator::NewColumnTranslator(p);
    std::unordered_map<std::string, uint64_t> model;
    std::unordered_map<uint64_t, std::string> by_id;
    AllocModel alloc(p);
    std::string log;
    std::string snap_at_half;
    for (int step = 0; step < 300; ++step) {
      const int op = rng() % 10;
      if (op < 5) {  // create a batch
        std::vector<std::string> keys(rng() % 200);
        for (auto& k : keys) k = gen.Next();
        const auto ids = Create(*t, keys, &log);
        for (size_t i = 0; i < keys.size(); ++i) {
          if (keys[i].empty()) {
            ASSERT_EQ(ids[i], 0u);
            continue;
          }
          auto [it, fresh] = model.try_emplace(keys[i], 0);
          if (fresh) {
            it->second = alloc.Next(p.KeyPartition(keys[i]));
            by_id[it->second] = keys[i];
          }
          ASSERT_EQ(ids[i], it->second) << "step " << step << " key " << i;
        }
      } else if (op < 7) {  // find a batch (some missing)
        std::vector<std::string> keys(rng() % 100);
        for (auto& k : keys) k = gen.Next();
        const auto ids = Find(*t, keys);
        for (size_t i = 0; i < keys.size(); ++i) {
          auto it = model.find(keys[i]);
          ASSERT_EQ(ids[i], it == model.end() ? 0 : it->second)
              << "step " << step;
        }
      } else if (op < 9) {  // delete some ids (some unknown)
        std::vector<uint64_t> ids;
        size_t want = 0;
        std::set<uint64_t> seen;
        for (int i = rng() % 30; i > 0 && !by_id.empty(); --i) {
          auto it = by_id.begin();
          std::advance(it, rng() % by_id.size());
          ids.push_back(it->first);
          if (rng() % 4 == 0) ids.push_back(rng() % 1000000 + 1);
        }
        for (uint64_t id : ids) {
          if (!seen.insert(id).second) continue;
          auto it = by_id.find(id);
          if (it == by_id.end()) continue;
          ++want;
          alloc.Free(p.KeyPartition(it->second), id);
          model.erase(it->second);
          by_id.erase(it);
        }
        ASSERT_EQ(t->DeleteIds(ids, &log).value(), want) << "step " << step;
      } else {  // snapshot round trip replaces the translator
        const std::string s = Snapshot(*t);
        auto decoded = KeyTranslator::DecodeSnapshot(s);
        FB_ASSERT_OK(decoded);
        ASSERT_EQ(Snapshot(**decoded), s);
        ASSERT_EQ((*decoded)->sequence(), t->sequence());
        t = std::move(decoded).value();
      }
      if (step == 150) snap_at_half = Snapshot(*t);
      if (step % 25 == 0) {
        ASSERT_NO_FATAL_FAILURE(CheckSame(*t, model));
      }
    }
    ASSERT_NO_FATAL_FAILURE(CheckSame(*t, model));
    // The whole log rebuilds the same state from nothing, and from the
    // mid-way snapshot (the log overlaps it).
    const std::string final_snapshot = Snapshot(*t);
    auto replay = KeyTranslator::NewColumnTranslator(p);
    FB_ASSERT_OK(replay->ApplyLog(log));
    EXPECT_EQ(replay->sequence(), t->sequence());
    ASSERT_NO_FATAL_FAILURE(CheckSame(*replay, model));
    auto from_half = KeyTranslator::DecodeSnapshot(snap_at_half).value();
    FB_ASSERT_OK(from_half->ApplyLog(log));
    ASSERT_NO_FATAL_FAILURE(CheckSame(*from_half, model));
    EXPECT_EQ(from_half->sequence(), t->sequence());
  }
}

// ---------------------------------------------------------------- persistence

TEST(TranslateTest, SnapshotRoundTripPreservesAllocationState) {
  auto t = KeyTranslator::NewColumnTranslator();
  const auto ids = Create(*t, NumberedKeys(5000, "s"));
  ASSERT_EQ(t->DeleteIds({ids.data(), 100}).value(), 100u);
  const std::string s = Snapshot(*t);
  auto d = KeyTranslator::DecodeSnapshot(s).value();
  EXPECT_EQ(d->size(), 4900u);
  EXPECT_EQ(d->sequence(), 5100u);
  EXPECT_EQ(d->partitioner(), t->partitioner());
  // Both give the same ids to the same new keys (freed ids first).
  const auto more = NumberedKeys(300, "more");
  EXPECT_EQ(Create(*d, more), Create(*t, more));
  EXPECT_EQ(Snapshot(*d), Snapshot(*t));
}

TEST(TranslateTest, EmptySnapshotRoundTrips) {
  auto t = KeyTranslator::NewRowTranslator();
  auto d = KeyTranslator::DecodeSnapshot(Snapshot(*t)).value();
  EXPECT_EQ(d->size(), 0u);
  EXPECT_EQ(d->partitioner().partitions(), 1u);
  EXPECT_EQ(d->CreateKey("a").value(), 1u);
}

TEST(TranslateTest, SnapshotIsReclaimingDeletedKeyBytes) {
  auto t = KeyTranslator::NewRowTranslator();
  const auto ids = Create(*t, NumberedKeys(20000, "long-key-padding-"));
  ASSERT_EQ(t->DeleteIds(ids).value(), ids.size());
  size_t dead_bytes = 0;
  for (const auto& k : NumberedKeys(20000, "long-key-padding-")) {
    dead_bytes += k.size();
  }
  EXPECT_EQ(t->KeyBytes(), 0u);
  auto d = KeyTranslator::DecodeSnapshot(Snapshot(*t)).value();
  EXPECT_GE(t->MemoryBytes() - d->MemoryBytes(), dead_bytes);
}

std::string SmallSnapshot() {
  auto t =
      KeyTranslator::NewColumnTranslator(HashPartitioner::Create(4).value());
  const auto ids = Create(*t, {"alpha", "beta", "gamma", "delta", "eps"});
  FB_EXPECT_OK(t->DeleteIds({&ids[1], 1}));
  return Snapshot(*t);
}

TEST(TranslateTest, TruncatedSnapshotIsDataLoss) {
  const std::string s = SmallSnapshot();
  for (size_t n = 0; n < s.size(); ++n) {
    auto d = KeyTranslator::DecodeSnapshot(std::string_view(s).substr(0, n));
    ASSERT_EQ(d.status().code(), absl::StatusCode::kDataLoss) << "length " << n;
  }
  EXPECT_EQ(KeyTranslator::DecodeSnapshot(s + "x").status().code(),
            absl::StatusCode::kDataLoss);
}

TEST(TranslateTest, FlippedSnapshotByteIsDataLoss) {
  const std::string s = SmallSnapshot();
  for (size_t i = 0; i < s.size(); ++i) {
    for (uint8_t mask : {0x01, 0x80, 0xFF}) {
      std::string c = s;
      c[i] = char(c[i] ^ mask);
      auto d = KeyTranslator::DecodeSnapshot(c);
      ASSERT_EQ(d.status().code(), absl::StatusCode::kDataLoss)
          << "byte " << i << " mask " << int(mask);
    }
  }
}

// Corrupt bodies with a valid checksum exercise the structural checks: each
// decode is DataLoss or a translator that re-encodes to exactly those bytes.
TEST(TranslateTest, ResealedCorruptSnapshotIsDataLossOrConsistent) {
  const std::string s = SmallSnapshot();
  // Frame rule (docs/format.md): XXH3-64 (seed 0) of the body at offset 16.
  auto reseal = [](std::string c) {
    const uint64_t sum = internal::Checksum64(std::string_view(c).substr(24));
    std::memcpy(c.data() + 16, &sum, 8);
    return c;
  };
  size_t ok = 0, loss = 0;
  for (size_t i = 24; i < s.size(); ++i) {
    for (uint8_t mask : {0x01, 0x02, 0x10, 0x80, 0xFF}) {
      std::string c = s;
      c[i] = char(c[i] ^ mask);
      c = reseal(c);
      auto d = KeyTranslator::DecodeSnapshot(c);
      if (d.ok()) {
        ++ok;
        ASSERT_EQ(Snapshot(**d), c) << "byte " << i;
      } else {
        ++loss;
        ASSERT_EQ(d.status().code(), absl::StatusCode::kDataLoss)
            << "byte " << i << ": " << d.status();
      }
    }
  }
  EXPECT_GT(loss, 0u);
}

TEST(TranslateTest, LogTruncatedAtEveryLengthIsDataLossOrAFramePrefix) {
  auto t = KeyTranslator::NewColumnTranslator();
  std::string log;
  std::vector<size_t> frame_ends;
  for (int b = 0; b < 3; ++b) {
    Create(*t, NumberedKeys(3, Cat("batch", b) + "-"), &log);
    frame_ends.push_back(log.size());
  }
  ASSERT_EQ(
      t->DeleteIds(std::vector<uint64_t>{t->FindKey("batch0-1").value()}, &log)
          .value(),
      1u);
  frame_ends.push_back(log.size());
  for (size_t n = 0; n <= log.size(); ++n) {
    auto r = KeyTranslator::NewColumnTranslator();
    const Status s = r->ApplyLog(std::string_view(log).substr(0, n));
    const bool boundary =
        n == 0 ||
        std::find(frame_ends.begin(), frame_ends.end(), n) != frame_ends.end();
    if (boundary) {
      FB_ASSERT_OK(s) << "length " << n << ": " << s;
    } else {
      ASSERT_EQ(s.code(), absl::StatusCode::kDataLoss) << "length " << n;
    }
  }
  for (size_t i = 0; i < log.size(); ++i) {
    std::string c = log;
    c[i] = char(c[i] ^ 0x20);
    auto r = KeyTranslator::NewColumnTranslator();
    ASSERT_EQ(r->ApplyLog(c).code(), absl::StatusCode::kDataLoss)
        << "byte " << i;
  }
}

TEST(TranslateTest, LogWithAGapIsDataLoss) {
  auto t = KeyTranslator::NewRowTranslator();
  std::string first, second;
  Create(*t, {"a", "b"}, &first);
  Create(*t, {"c"}, &second);
  auto r = KeyTranslator::NewRowTranslator();
  const Status s = r->ApplyLog(second);
  EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(s.message()).find("gap"), std::string::npos) << s;
  FB_ASSERT_OK(r->ApplyLog(first));
  FB_ASSERT_OK(r->ApplyLog(first));  // already applied: skipped
  FB_ASSERT_OK(r->ApplyLog(second));
  EXPECT_EQ(Snapshot(*r), Snapshot(*t));
}

TEST(TranslateTest, LogThatDoesNotReproduceIsDataLoss) {
  // A log written against one state applied to another.
  auto a = KeyTranslator::NewRowTranslator();
  std::string log;
  Create(*a, {"x"}, &log);
  auto b = KeyTranslator::NewRowTranslator();
  Create(*b, {"y"});
  // b is at sequence 1, so the frame is skipped: nothing to reproduce.
  FB_EXPECT_OK(b->ApplyLog(log));
  std::string log2;
  Create(*a, {"z"}, &log2);  // sequence 2, id 2 for "z"
  auto c = KeyTranslator::NewRowTranslator();
  Create(*c, {"z"});  // c gives "z" id 1 at sequence 1
  EXPECT_EQ(c->ApplyLog(log2).code(), absl::StatusCode::kDataLoss);
}

// ---------------------------------------------------------------- memory

TEST(TranslateTest, OverheadPerKeyIsAtMost32Bytes) {
  auto t = KeyTranslator::NewColumnTranslator();
  std::mt19937_64 rng(42);
  std::vector<std::string> keys(1000000);
  for (auto& k : keys) {
    k.resize(16);
    for (char& c : k) c = char('a' + rng() % 26);
  }
  Create(*t, keys);
  const double overhead =
      double(t->MemoryBytes() - t->KeyBytes()) / double(t->size());
  EXPECT_LE(overhead, 32.0);
  RecordProperty("overhead_bytes_per_key", std::to_string(overhead));
}

// ---------------------------------------------------------------- threads

TEST(TranslateTest, ReadersSeeStableIdsWhileAWriterCreates) {
  auto t = KeyTranslator::NewColumnTranslator();
  const auto keys = NumberedKeys(200000, "w");
  std::atomic<bool> done{false};
  std::atomic<size_t> checked{0};
  std::vector<std::thread> readers;
  for (int r = 0; r < 2; ++r) {
    readers.emplace_back([&, r] {
      std::mt19937_64 rng(r);
      std::vector<uint64_t> first_seen(keys.size(), 0);
      std::vector<std::string> back;
      while (!done.load()) {
        const size_t base = rng() % (keys.size() - 64);
        std::vector<std::string_view> batch(keys.begin() + base,
                                            keys.begin() + base + 64);
        std::vector<uint64_t> ids(64);
        FB_ASSERT_OK(t->FindKeys(batch, ids));
        for (size_t i = 0; i < 64; ++i) {
          if (ids[i] == 0) continue;
          uint64_t& seen = first_seen[base + i];
          if (seen == 0) seen = ids[i];
          ASSERT_EQ(seen, ids[i]);
          ASSERT_EQ(t->TranslateId(ids[i]).value(), keys[base + i]);
        }
        checked += 64;
      }
    });
  }
  // A snapshot reader too: every snapshot taken mid-way decodes.
  readers.emplace_back([&] {
    while (!done.load()) {
      std::string s;
      t->EncodeSnapshot(&s);
      auto d = KeyTranslator::DecodeSnapshot(s);
      FB_ASSERT_OK(d);
      ASSERT_LE((*d)->size(), keys.size());
    }
  });
  for (size_t base = 0; base < keys.size(); base += 10000) {
    std::vector<std::string_view> batch(keys.begin() + base,
                                        keys.begin() + base + 10000);
    std::vector<uint64_t> ids(batch.size());
    FB_ASSERT_OK(t->CreateKeys(batch, ids));
  }
  done = true;
  for (auto& th : readers) th.join();
  EXPECT_EQ(t->size(), keys.size());
  EXPECT_GT(checked.load(), 0u);
}

}  // namespace
}  // namespace featurebase
