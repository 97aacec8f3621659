// The change feed against a replay: random commits on index A, every change
// set replayed over index B (a copy of A at the subscription's start) by
// copying the listed records' bits and values from the change set's
// snapshot, and B compared with that snapshot view by view after every set.
#include "featurebase/change_feed.h"

#include <dirent.h>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "lib/core/index_state.h"
#include "lib/db/index_access.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

using internal::BsiShard;
using internal::FieldState;
using internal::Fragment;
using internal::IndexState;
using internal::IndexWriter;
using internal::RowData;
using internal::SnapshotAccess;
using internal::Txn;
using std::chrono::milliseconds;

constexpr uint64_t kShardWidth = uint64_t{1} << 20;

// Collects change sets; WaitFor blocks until one reaches a version.
class Collector {
 public:
  ChangeListener Listener() {
    return [this](const ChangeSet& cs) -> Status {
      if (gate_) gate_();
      std::lock_guard<std::mutex> l(mu_);
      sets_.push_back(cs);
      cv_.notify_all();
      return absl::OkStatus();
    };
  }
  // Called at the start of every delivery (e.g. to hold the feed back).
  void SetGate(std::function<void()> gate) { gate_ = std::move(gate); }
  bool WaitFor(uint64_t version) {
    std::unique_lock<std::mutex> l(mu_);
    return cv_.wait_for(l, std::chrono::seconds(30), [&] {
      return !sets_.empty() && sets_.back().version >= version;
    });
  }
  std::vector<ChangeSet> Take() {
    std::lock_guard<std::mutex> l(mu_);
    return std::move(sets_);
  }

 private:
  std::function<void()> gate_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::vector<ChangeSet> sets_;
};

// A gate that holds every delivery until opened.
class Gate {
 public:
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return open_; });
  }
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// ---- the state model: every (field, view, shard) as row -> offsets

using Rows = std::map<uint64_t, std::vector<uint32_t>>;

Rows RowsOf(const Fragment* f) {
  Rows out;
  if (f == nullptr) return out;
  f->rows().ForEach([&](uint64_t row, const RowData& r) {
    std::vector<uint32_t> v;
    r.AppendTo(&v);
    if (!v.empty()) out[row] = std::move(v);
    return true;
  });
  return out;
}

std::set<uint64_t> ViewKeys(const FieldState* f) {
  std::set<uint64_t> keys;
  if (f == nullptr) return keys;
  f->views.ForEach([&](uint64_t vk, const internal::View&) {
    keys.insert(vk);
    return true;
  });
  return keys;
}

std::set<uint64_t> Shards(const internal::View* v) {
  std::set<uint64_t> shards;
  if (v == nullptr) return shards;
  v->ForEach([&](uint64_t s, const Fragment&) {
    shards.insert(s);
    return true;
  });
  return shards;
}

// Empty fragments, views and value shards count as absent.
void ExpectSameState(const IndexState& want, const IndexState& got,
                     const std::string& where) {
  for (const auto& [name, wf] : want.fields) {
    const FieldState* gf = got.FindField(name);
    ASSERT_NE(gf, nullptr) << where << ": field " << name;
    std::set<uint64_t> views = ViewKeys(wf.get());
    for (uint64_t vk : ViewKeys(gf)) views.insert(vk);
    for (uint64_t vk : views) {
      std::set<uint64_t> shards = Shards(wf->views.Find(vk));
      for (uint64_t s : Shards(gf->views.Find(vk))) shards.insert(s);
      for (uint64_t s : shards) {
        EXPECT_EQ(RowsOf(wf->FindFragment(vk, s)),
                  RowsOf(gf->FindFragment(vk, s)))
            << where << ": field " << name << " view " << vk << " shard " << s;
      }
    }
    std::set<uint64_t> shards;
    wf->bsi_shards.ForEach([&](uint64_t s, const BsiShard&) {
      shards.insert(s);
      return true;
    });
    gf->bsi_shards.ForEach([&](uint64_t s, const BsiShard&) {
      shards.insert(s);
      return true;
    });
    for (uint64_t s : shards) {
      const BsiShard* a = wf->bsi_shards.Find(s);
      const BsiShard* b = gf->bsi_shards.Find(s);
      EXPECT_EQ(a ? a->Values(nullptr) : decltype(a->Values(nullptr)){},
                b ? b->Values(nullptr) : decltype(b->Values(nullptr)){})
          << where << ": values of field " << name << " shard " << s;
    }
  }
  std::set<uint64_t> shards = Shards(&want.exists);
  for (uint64_t s : Shards(&got.exists)) shards.insert(s);
  for (uint64_t s : shards) {
    EXPECT_EQ(RowsOf(want.exists.Find(s)), RowsOf(got.exists.Find(s)))
        << where << ": index existence shard " << s;
  }
}

std::set<uint64_t> RowsHolding(const Fragment* f, uint32_t off) {
  std::set<uint64_t> out;
  if (f == nullptr) return out;
  f->rows().ForEach([&](uint64_t row, const RowData& r) {
    if (r.Contains(off)) out.insert(row);
    return true;
  });
  return out;
}

// Replays `cs` over `b`: each listed record of each listed field takes its
// bits (every view) and value from the snapshot; added / deleted records
// enter / leave index existence.
void Replay(Index& b, const ChangeSet& cs) {
  const IndexState& a = SnapshotAccess::State(*cs.snapshot);
  auto done = IndexWriter::Commit(b, [&](Txn& txn) -> StatusOr<uint64_t> {
    const internal::OwnerToken owner = txn.owner();
    for (const FieldChange& fc : cs.fields) {
      const FieldState* af = a.FindField(fc.field);
      FieldState* bf = txn.MutableField(fc.field);
      if (af == nullptr || bf == nullptr)
        return absl::InternalError("replay: unknown field " + fc.field);
      for (uint64_t col : fc.records.ToVector()) {
        const uint64_t shard = col / kShardWidth;
        const uint32_t off = uint32_t(col % kShardWidth);
        if (af->bsi) {
          const BsiShard* as = af->bsi_shards.Find(shard);
          std::pair<uint32_t, int64_t> one{off, 0};
          bool has = false;
          if (as != nullptr) {
            if (std::optional<int64_t> v = as->Value(off)) {
              one.second = *v;
              has = true;
            }
          }
          BsiShard* bs = bf->bsi_shards.Mutate(owner, shard);
          if (has) {
            *bs = BsiShard::Apply(*bs, std::span(&one, 1), nullptr);
            bf->bsi->GrowBitDepth(internal::BsiDepthOf(one.second));
          } else {
            const auto clears =
                internal::Roaring32::FromValues(std::vector<uint32_t>{off});
            *bs = BsiShard::Apply(*bs, {}, &clears);
          }
          continue;
        }
        std::set<uint64_t> views = ViewKeys(af);
        for (uint64_t vk : ViewKeys(bf)) views.insert(vk);
        for (uint64_t vk : views) {
          const std::set<uint64_t> want =
              RowsHolding(af->FindFragment(vk, shard), off);
          const std::set<uint64_t> have =
              RowsHolding(bf->FindFragment(vk, shard), off);
          if (want == have) continue;
          Fragment* f = txn.MutableFragment(bf, vk, shard);
          for (uint64_t r : have)
            if (!want.count(r)) f->Remove(owner, r, off);
          for (uint64_t r : want)
            if (!have.count(r)) f->Add(owner, r, off);
        }
      }
    }
    for (uint64_t col : cs.added.ToVector())
      txn.MutableExists(col / kShardWidth)
          ->Add(owner, 0, uint32_t(col % kShardWidth));
    for (uint64_t col : cs.deleted.ToVector())
      txn.MutableExists(col / kShardWidth)
          ->Remove(owner, 0, uint32_t(col % kShardWidth));
    return 0;
  });
  ASSERT_TRUE(done.ok()) << done.status();
}

// ---- random commits

std::vector<FieldInfo> Schema(bool keyed) {
  FieldOptions set = FieldOptions::Set();
  set.keys = keyed;
  TimeQuantum ymd;
  ymd.year = ymd.month = ymd.day = true;
  return {{"s", set},
          {"m", FieldOptions::Mutex()},
          {"b", FieldOptions::Bool()},
          {"t", FieldOptions::Time(ymd)},
          {"i", FieldOptions::Int(-1000, 1000)},
          {"d", FieldOptions::Decimal(2, -100000, 100000)},
          {"ts", FieldOptions::Timestamp()}};
}

std::unique_ptr<Index> NewIndex(const std::string& name, bool keyed) {
  IndexOptions o;
  o.keys = keyed;
  auto index = Index::Create(name, o);
  EXPECT_TRUE(index.ok()) << index.status();
  const std::vector<FieldInfo> schema = Schema(keyed);
  EXPECT_TRUE((*index)->CreateFields(schema).ok());
  return std::move(*index);
}

class Driver {
 public:
  Driver(Index* index, uint64_t seed, bool keyed)
      : index_(index), rng_(seed), keyed_(keyed) {}

  uint64_t Column() {
    // Few columns over three shards, so that commits overwrite each other.
    const uint64_t c =
        Pick(3) * kShardWidth + Pick(40) + (Pick(8) == 0 ? 70000 : 0);
    if (!keyed_) return c;
    auto id = index_->ColumnId("k" + std::to_string(c));
    EXPECT_TRUE(id.ok()) << id.status();
    return id.ok() ? *id : 0;
  }
  Value Row(const std::string& field) {
    if (field == "s" && keyed_)
      return Value::Key("r" + std::to_string(Pick(6)));
    if (field == "b") return Value::Bool(Pick(2) == 1);
    return Value::Id(Pick(6));
  }
  Value Number(const std::string& field) {
    const int64_t v = int64_t(Pick(2001)) - 1000;
    if (field == "d") return Value::Decimal(v * 7, 2);
    if (field == "ts") return Value::Timestamp(absl::FromUnixSeconds(v * 997));
    return Value::Int(v);
  }
  absl::Time Day() {
    return absl::FromCivil(absl::CivilDay(2020, 1 + Pick(3), 1 + Pick(5)),
                           absl::UTCTimeZone());
  }

  // One random commit (or a batch flush, a few commits).
  void Step() {
    static const std::vector<std::string> kFields = {"s", "m", "b", "t",
                                                     "i", "d", "ts"};
    const std::string& f = kFields[Pick(kFields.size())];
    const bool bsi = f == "i" || f == "d" || f == "ts";
    switch (Pick(10)) {
      case 0:
      case 1:
      case 2: {
        std::optional<absl::Time> ts;
        if (f == "t" && Pick(4) != 0) ts = Day();
        auto r = index_->Set(Column(), f, bsi ? Number(f) : Row(f), ts);
        EXPECT_TRUE(r.ok()) << r.status();
        break;
      }
      case 3: {
        auto r = index_->Clear(Column(), f, bsi ? Number(f) : Row(f));
        EXPECT_TRUE(r.ok()) << r.status();
        break;
      }
      case 4: {
        if (bsi) break;
        auto r = index_->ClearRow(f, Row(f));
        EXPECT_TRUE(r.ok()) << r.status();
        break;
      }
      case 5: {
        Bitmap cols;
        for (int i = 0, n = int(Pick(4)); i < n; ++i) cols.Add(Column());
        EXPECT_TRUE(index_->Store("s", Row("s"), cols).ok());
        break;
      }
      case 6: {
        Bitmap cols;
        for (int i = 0, n = 1 + int(Pick(2)); i < n; ++i) cols.Add(Column());
        auto r = index_->Delete(cols);
        EXPECT_TRUE(r.ok()) << r.status();
        break;
      }
      case 7: {
        EXPECT_TRUE(index_
                        ->CommitStreamOffset("topic/" + std::to_string(Pick(2)),
                                             int64_t(Pick(5)))
                        .ok());
        break;
      }
      default:
        Flush();
        break;
    }
  }

  void Flush() {
    const std::vector<std::string> fields = {"s", "m", "b", "t",
                                             "i", "d", "ts"};
    auto batch = Batch::Create(index_, fields);
    ASSERT_TRUE(batch.ok()) << batch.status();
    for (int k = 0, n = 1 + int(Pick(12)); k < n; ++k) {
      Record r;
      if (keyed_) {
        r.id = "k" + std::to_string(Pick(3) * kShardWidth + Pick(40));
      } else {
        r.id = Column();
      }
      for (const std::string& f : fields) {
        const bool bsi = f == "i" || f == "d" || f == "ts";
        if (Pick(3) == 0) {
          r.values.push_back(Value());
        } else if (f == "s" && keyed_) {
          r.values.push_back(std::vector<std::string>{
              "r" + std::to_string(Pick(6)), "r" + std::to_string(Pick(6))});
        } else if (f == "s") {
          r.values.push_back(std::vector<uint64_t>{Pick(6), Pick(6)});
        } else {
          r.values.push_back(bsi ? Number(f) : Row(f));
        }
      }
      r.time = Day();
      auto added = (*batch)->Add(r);
      ASSERT_TRUE(added.ok()) << added.status();
    }
    if (Pick(2) == 0) {
      ASSERT_TRUE((*batch)->SetStreamOffset("batch", int64_t(Pick(100))).ok());
    }
    auto flushed = (*batch)->Flush();
    ASSERT_TRUE(flushed.ok()) << flushed.status();
  }

  uint64_t Pick(uint64_t n) { return rng_() % n; }

 private:
  Index* index_;
  std::mt19937_64 rng_;
  bool keyed_;
};

// Polls `pred` for up to 30 s.
template <typename F>
bool Eventually(F pred) {
  for (int i = 0; i < 3000; ++i) {
    if (pred()) return true;
    std::this_thread::sleep_for(milliseconds(10));
  }
  return pred();
}

// Checks the chain of versions and replays every set over `b`, comparing
// with the set's snapshot each time.
void ReplayAll(Index& b, const std::vector<ChangeSet>& sets, uint64_t start,
               uint64_t last) {
  ASSERT_FALSE(sets.empty());
  uint64_t from = start;
  for (size_t i = 0; i < sets.size(); ++i) {
    const ChangeSet& cs = sets[i];
    SCOPED_TRACE("change set " + std::to_string(i) + " at version " +
                 std::to_string(cs.version));
    ASSERT_EQ(cs.from_version, from);
    ASSERT_GT(cs.version, cs.from_version);
    ASSERT_EQ(cs.commits, cs.version - cs.from_version);
    ASSERT_EQ(cs.snapshot->version(), cs.version);
    for (size_t k = 1; k < cs.fields.size(); ++k)
      ASSERT_LT(cs.fields[k - 1].field, cs.fields[k].field);
    for (const FieldChange& fc : cs.fields) ASSERT_FALSE(fc.records.IsEmpty());
    Replay(b, cs);
    ExpectSameState(SnapshotAccess::State(*cs.snapshot),
                    *IndexWriter::Current(b), "after the change set");
    if (::testing::Test::HasFailure()) return;
    from = cs.version;
  }
  EXPECT_EQ(from, last);
}

void RunReplay(uint64_t seed, bool keyed, size_t max_pending, bool hold) {
  SCOPED_TRACE(testing::SeedTrace(seed));
  auto a = NewIndex("a", keyed);
  auto b = NewIndex("b", keyed);
  Collector got;
  Gate gate;
  if (hold) got.SetGate([&] { gate.Wait(); });
  SubscribeOptions o;
  o.max_pending_commits = max_pending;
  auto sub = Subscribe(*a, got.Listener(), o);
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_EQ((*sub)->start_version(), a->GetSnapshot()->version());
  ExpectSameState(*IndexWriter::Current(*a), *IndexWriter::Current(*b),
                  "at the start");
  Driver d(a.get(), seed, keyed);
  for (int step = 0; step < 300; ++step) {
    d.Step();
    if (::testing::Test::HasFailure()) return;
  }
  const uint64_t last = a->GetSnapshot()->version();
  gate.Open();
  ASSERT_TRUE(got.WaitFor(last));
  // delivered_version() moves once the listener has returned.
  EXPECT_TRUE(Eventually([&] { return (*sub)->delivered_version() == last; }));
  EXPECT_TRUE((*sub)->status().ok()) << (*sub)->status();
  const std::vector<ChangeSet> sets = got.Take();
  if (hold) {
    // Coalesced: the first set held the feed while the rest piled up.
    EXPECT_LE(sets.size(), max_pending + 1);
    uint64_t most = 0;
    for (const ChangeSet& cs : sets) most = std::max(most, cs.commits);
    EXPECT_GT(most, 1u);
  } else {
    for (const ChangeSet& cs : sets) EXPECT_EQ(cs.commits, 1u);
  }
  ReplayAll(*b, sets, (*sub)->start_version(), last);
  ExpectSameState(*IndexWriter::Current(*a), *IndexWriter::Current(*b),
                  "at the end");
}

TEST(ChangeFeedTest, ReplayOverACopyGivesTheSameIndex) {
  for (uint64_t seed : testing::TestSeeds(6))
    RunReplay(seed, false, 1024, false);
}

TEST(ChangeFeedTest, ReplayOverACopyGivesTheSameIndexKeyed) {
  for (uint64_t seed : testing::TestSeeds(4))
    RunReplay(seed, true, 1024, false);
}

TEST(ChangeFeedTest, CoalescedChangeSetsReplayExactly) {
  for (uint64_t seed : testing::TestSeeds(4)) {
    RunReplay(seed, false, 3, true);
    RunReplay(seed, true, 1, true);
  }
}

// ---- the contract, case by case

TEST(ChangeFeedTest, EachSetNamesItsCommitsRecordsAndOffsets) {
  auto index = NewIndex("x", false);
  Collector got;
  auto sub = Subscribe(*index, got.Listener());
  ASSERT_TRUE(sub.ok()) << sub.status();
  const uint64_t v0 = (*sub)->start_version();
  ASSERT_TRUE(index->Set(5, "s", Value::Id(1)).ok());
  ASSERT_TRUE(index->Set(kShardWidth + 7, "i", Value::Int(-3)).ok());
  ASSERT_TRUE(index->CommitStreamOffset("t/0", 42).ok());
  ASSERT_TRUE(index->CommitStreamOffset("t/0", 42).ok());  // no change
  ASSERT_TRUE(index->Set(5, "s", Value::Id(1)).ok());      // no change
  ASSERT_TRUE(index->Delete(Bitmap::Of({5})).ok());
  ASSERT_TRUE(got.WaitFor(v0 + 6));
  const std::vector<ChangeSet> sets = got.Take();
  ASSERT_EQ(sets.size(), 6u);
  for (size_t i = 0; i < sets.size(); ++i) {
    EXPECT_EQ(sets[i].version, v0 + 1 + i);
    EXPECT_EQ(sets[i].commits, 1u);
  }
  ASSERT_EQ(sets[0].fields.size(), 1u);
  EXPECT_EQ(sets[0].fields[0].field, "s");
  EXPECT_EQ(sets[0].fields[0].records, Bitmap::Of({5}));
  EXPECT_EQ(sets[0].added, Bitmap::Of({5}));
  EXPECT_TRUE(sets[0].stream_offsets.empty());
  ASSERT_EQ(sets[1].fields.size(), 1u);
  EXPECT_EQ(sets[1].fields[0].field, "i");
  EXPECT_EQ(sets[1].fields[0].records, Bitmap::Of({kShardWidth + 7}));
  auto v = sets[1].snapshot->FieldValue("i", kShardWidth + 7);
  ASSERT_TRUE(v.ok() && v->has_value());
  EXPECT_EQ(**v, Value::Int(-3));
  ASSERT_EQ(sets[2].stream_offsets.size(), 1u);
  EXPECT_EQ(sets[2].stream_offsets[0],
            (std::pair<std::string, int64_t>("t/0", 42)));
  EXPECT_TRUE(sets[2].fields.empty());
  EXPECT_TRUE(sets[3].stream_offsets.empty());
  EXPECT_TRUE(sets[4].fields.empty());
  EXPECT_TRUE(sets[4].added.IsEmpty());
  ASSERT_EQ(sets[5].fields.size(), 1u);
  EXPECT_EQ(sets[5].fields[0].records, Bitmap::Of({5}));
  EXPECT_EQ(sets[5].deleted, Bitmap::Of({5}));
}

TEST(ChangeFeedTest, BatchStreamOffsetArrivesWithItsData) {
  auto index = NewIndex("x", false);
  Collector got;
  auto sub = Subscribe(*index, got.Listener());
  ASSERT_TRUE(sub.ok()) << sub.status();
  auto batch = Batch::Create(index.get(), {"m"});
  ASSERT_TRUE(batch.ok());
  Record r;
  r.id = uint64_t{9};
  r.values = {Value::Id(2)};
  ASSERT_TRUE((*batch)->Add(r).ok());
  ASSERT_TRUE((*batch)->SetStreamOffset("p/1", 17).ok());
  ASSERT_TRUE((*batch)->Flush().ok());
  const uint64_t last = index->GetSnapshot()->version();
  ASSERT_TRUE(got.WaitFor(last));
  const std::vector<ChangeSet> sets = got.Take();
  int with_offset = 0;
  for (const ChangeSet& cs : sets) {
    if (cs.stream_offsets.empty()) continue;
    ++with_offset;
    EXPECT_EQ(cs.stream_offsets[0],
              (std::pair<std::string, int64_t>("p/1", 17)));
    ASSERT_EQ(cs.fields.size(), 1u);
    EXPECT_EQ(cs.fields[0].records, Bitmap::Of({9}));
  }
  EXPECT_EQ(with_offset, 1);
}

TEST(ChangeFeedTest, CreatedFieldsAreListed) {
  auto index = *Index::Create("x");
  Collector got;
  auto sub = Subscribe(*index, got.Listener());
  ASSERT_TRUE(sub.ok()) << sub.status();
  ASSERT_TRUE(index->CreateField("f", FieldOptions::Set()).ok());
  ASSERT_TRUE(got.WaitFor(1));
  const std::vector<ChangeSet> sets = got.Take();
  ASSERT_EQ(sets.size(), 1u);
  EXPECT_EQ(sets[0].created_fields, std::vector<std::string>{"f"});
  EXPECT_TRUE(sets[0].fields.empty());
}

// The process's change-feed threads (named "fb-change-feed"): counting
// every thread would count the sanitizers' own, which start lazily.
int ThreadCount() {
  int n = 0;
  if (DIR* d = opendir("/proc/self/task")) {
    while (dirent* e = readdir(d)) {
      if (e->d_name[0] == '.') continue;
      std::ifstream comm(std::string("/proc/self/task/") + e->d_name + "/comm");
      std::string name;
      std::getline(comm, name);
      if (name == "fb-change-feed") ++n;
    }
    closedir(d);
  }
  return n;
}

TEST(ChangeFeedTest, NoSubscriberStartsNoThread) {
  auto index = NewIndex("x", false);
  const int before = ThreadCount();
  ASSERT_EQ(before, 0);
  for (uint64_t c = 0; c < 100; ++c)
    ASSERT_TRUE(index->Set(c, "m", Value::Id(c % 3)).ok());
  EXPECT_EQ(ThreadCount(), before);
  Collector got;
  auto sub = Subscribe(*index, got.Listener());
  ASSERT_TRUE(sub.ok());
  EXPECT_EQ(ThreadCount(), before + 1);
  (*sub)->Cancel();
  EXPECT_FALSE((*sub)->active());
  EXPECT_EQ(ThreadCount(), before);
  for (uint64_t c = 0; c < 10; ++c)
    ASSERT_TRUE(index->Set(c, "m", Value::Id(4)).ok());
  EXPECT_TRUE(got.Take().empty());
}

TEST(ChangeFeedTest, BadSubscriptionsAreInvalidArgument) {
  auto index = NewIndex("x", false);
  auto empty = Subscribe(*index, ChangeListener());
  EXPECT_EQ(empty.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(empty.status().message(), "subscribe: empty listener");
  SubscribeOptions o;
  o.max_pending_commits = 0;
  auto zero = Subscribe(
      *index, [](const ChangeSet&) { return absl::OkStatus(); }, o);
  EXPECT_EQ(zero.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(zero.status().message(),
            "subscribe: max_pending_commits 0 (must be at least 1)");
}

TEST(ChangeFeedTest, ListenerThatThrowsEndsItsSubscriptionOnly) {
  auto index = NewIndex("x", false);
  std::atomic<int> calls{0};
  const uint64_t v0 = index->GetSnapshot()->version();
  auto bad = Subscribe(*index, [&](const ChangeSet& cs) -> Status {
    ++calls;
    if (cs.version == v0 + 2) throw std::runtime_error("boom");
    return absl::OkStatus();
  });
  ASSERT_TRUE(bad.ok());
  ASSERT_EQ((*bad)->start_version(), v0);
  Collector good;
  auto ok = Subscribe(*index, good.Listener());
  ASSERT_TRUE(ok.ok());
  for (uint64_t c = 0; c < 5; ++c)
    ASSERT_TRUE(index->Set(c, "s", Value::Id(1)).ok());
  ASSERT_TRUE(good.WaitFor(v0 + 5));
  ASSERT_TRUE(Eventually([&] { return !(*bad)->active(); }));
  EXPECT_EQ((*bad)->status().code(), absl::StatusCode::kUnknown);
  EXPECT_EQ((*bad)->status().message(),
            "change feed: listener threw at version " + std::to_string(v0 + 2) +
                ": boom");
  EXPECT_EQ(calls.load(), 2);
  EXPECT_EQ((*bad)->delivered_version(), v0 + 1);
  EXPECT_TRUE((*ok)->active());
  EXPECT_EQ(good.Take().size(), 5u);
}

TEST(ChangeFeedTest, ListenerErrorEndsTheSubscriptionWithIt) {
  auto index = NewIndex("x", false);
  auto sub = Subscribe(*index, [&](const ChangeSet&) -> Status {
    return absl::FailedPreconditionError("sink \"q\" is full");
  });
  ASSERT_TRUE(sub.ok());
  const uint64_t v0 = (*sub)->start_version();
  ASSERT_TRUE(index->Set(1, "s", Value::Id(1)).ok());
  ASSERT_TRUE(index->Set(2, "s", Value::Id(1)).ok());
  ASSERT_TRUE(Eventually([&] { return !(*sub)->active(); }));
  EXPECT_EQ((*sub)->status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ((*sub)->status().message(),
            "change feed: listener failed at version " +
                std::to_string(v0 + 1) + ": sink \"q\" is full");
  EXPECT_EQ((*sub)->delivered_version(), v0);
}

TEST(ChangeFeedTest, CancelInsideTheListenerEndsAfterThatCall) {
  auto index = NewIndex("x", false);
  std::atomic<int> calls{0};
  std::unique_ptr<Subscription> sub;
  std::mutex mu;
  std::unique_lock<std::mutex> hold(mu);  // until `sub` is set
  auto made = Subscribe(*index, [&](const ChangeSet&) -> Status {
    std::lock_guard<std::mutex> l(mu);
    ++calls;
    sub->Cancel();
    return absl::OkStatus();
  });
  ASSERT_TRUE(made.ok());
  sub = std::move(*made);
  hold.unlock();
  for (uint64_t c = 0; c < 5; ++c)
    ASSERT_TRUE(index->Set(c, "s", Value::Id(1)).ok());
  ASSERT_TRUE(Eventually([&] { return !sub->active(); }));
  EXPECT_TRUE(sub->status().ok());
  for (uint64_t c = 0; c < 5; ++c)
    ASSERT_TRUE(index->Set(c, "s", Value::Id(2)).ok());
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
}

TEST(ChangeFeedTest, DestroyingTheSubscriptionInsideTheListener) {
  auto index = NewIndex("x", false);
  std::atomic<int> calls{0};
  std::unique_ptr<Subscription> sub;
  std::mutex mu;
  std::unique_lock<std::mutex> hold(mu);
  auto made = Subscribe(*index, [&](const ChangeSet&) -> Status {
    std::lock_guard<std::mutex> l(mu);
    ++calls;
    sub.reset();
    return absl::OkStatus();
  });
  ASSERT_TRUE(made.ok());
  sub = std::move(*made);
  hold.unlock();
  for (uint64_t c = 0; c < 5; ++c)
    ASSERT_TRUE(index->Set(c, "s", Value::Id(1)).ok());
  ASSERT_TRUE(Eventually([&] {
    std::lock_guard<std::mutex> l(mu);
    return sub == nullptr;
  }));
  std::this_thread::sleep_for(milliseconds(50));
  EXPECT_EQ(calls.load(), 1);
}

TEST(ChangeFeedTest, CancelFromAnotherThreadWaitsForTheCallInFlight) {
  auto index = NewIndex("x", false);
  std::atomic<bool> in_call{false}, returned{false};
  std::atomic<int> calls{0};
  Gate release;
  auto sub = Subscribe(*index, [&](const ChangeSet&) -> Status {
    ++calls;
    in_call = true;
    release.Wait();
    std::this_thread::sleep_for(milliseconds(20));
    returned = true;
    return absl::OkStatus();
  });
  ASSERT_TRUE(sub.ok());
  ASSERT_TRUE(index->Set(1, "s", Value::Id(1)).ok());
  ASSERT_TRUE(index->Set(2, "s", Value::Id(1)).ok());
  ASSERT_TRUE(Eventually([&] { return in_call.load(); }));
  std::thread opener([&] {
    std::this_thread::sleep_for(milliseconds(30));
    release.Open();
  });
  (*sub)->Cancel();
  EXPECT_TRUE(returned.load());  // Cancel returned after the call did
  opener.join();
  EXPECT_FALSE((*sub)->active());
  std::this_thread::sleep_for(milliseconds(30));
  EXPECT_EQ(calls.load(), 1);  // the second commit was dropped
}

TEST(ChangeFeedTest, DestroyingTheIndexDeliversWhatIsPublished) {
  auto index = NewIndex("x", false);
  Collector got;
  Gate gate;
  got.SetGate([&] { gate.Wait(); });
  auto sub = Subscribe(*index, got.Listener());
  ASSERT_TRUE(sub.ok());
  for (uint64_t c = 0; c < 20; ++c)
    ASSERT_TRUE(index->Set(c, "s", Value::Id(1)).ok());
  const uint64_t last = index->GetSnapshot()->version();
  std::thread opener([&] {
    std::this_thread::sleep_for(milliseconds(20));
    gate.Open();
  });
  index.reset();
  opener.join();
  EXPECT_FALSE((*sub)->active());
  EXPECT_EQ((*sub)->delivered_version(), last);
  EXPECT_EQ(got.Take().size(), 20u);
  (*sub)->Cancel();  // after the index: harmless
}

// Group commit from two threads: sets arrive in version order, each once,
// only after their commit is visible, and replay exactly.
TEST(ChangeFeedTest, GroupCommitFromTwoThreadsArrivesInOrder) {
  testing::TempDir dir("change_feed");
  OpenOptions o;
  o.name = "g";
  o.durability = Durability::kGroup;
  auto a = Index::Open(o, dir.path());
  ASSERT_TRUE(a.ok()) << a.status();
  const std::vector<FieldInfo> schema = Schema(false);
  ASSERT_TRUE((*a)->CreateFields(schema).ok());
  auto b = NewIndex("b", false);
  Collector got;
  std::atomic<bool> unpublished_seen{false};
  Index* ap = a->get();
  auto sub = Subscribe(*ap, [&](const ChangeSet& cs) -> Status {
    if (ap->GetSnapshot()->version() < cs.version) unpublished_seen = true;
    return got.Listener()(cs);
  });
  ASSERT_TRUE(sub.ok()) << sub.status();
  std::vector<std::thread> writers;
  for (int t = 0; t < 2; ++t) {
    writers.emplace_back([&, t] {
      std::mt19937_64 rng(t + 1);
      for (int i = 0; i < 150; ++i) {
        const uint64_t col = t * kShardWidth + rng() % 50;
        auto r = i % 3 == 0
                     ? ap->Set(col, "i", Value::Int(int64_t(rng() % 900)))
                     : ap->Set(col, "m", Value::Id(rng() % 4));
        EXPECT_TRUE(r.ok()) << r.status();
        if (i % 25 == 0) {
          EXPECT_TRUE(ap->CommitStreamOffset("w/" + std::to_string(t), i).ok());
        }
      }
    });
  }
  for (auto& w : writers) w.join();
  const uint64_t last = ap->GetSnapshot()->version();
  ASSERT_TRUE(got.WaitFor(last));
  EXPECT_FALSE(unpublished_seen.load());
  const std::vector<ChangeSet> sets = got.Take();
  EXPECT_EQ(sets.size(), last - (*sub)->start_version());
  ReplayAll(*b, sets, (*sub)->start_version(), last);
  ExpectSameState(*IndexWriter::Current(*ap), *IndexWriter::Current(*b),
                  "at the end");
}

}  // namespace
}  // namespace featurebase
