// Durable index: a durable index and an in-memory one given the same
// seeded random writes must hold the same data after every reopen and
// checkpoint; plus the directory lock, options on reopen, corruption and
// concurrency.
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <map>
#include <random>
#include <thread>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "gtest/gtest.h"
#include "tests/storage/dump.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

namespace fs = std::filesystem;
using testing::DumpIndex;
using testing::SeedTrace;
using testing::TestSeeds;

// kNone unless a test is about syncing: a process crash cannot lose what
// write(2) accepted, and fsync per commit makes tests slow.
OpenOptions Opts(std::string name, bool keys = false,
                 Durability d = Durability::kNone) {
  OpenOptions o;
  o.name = std::move(name);
  o.index.keys = keys;
  o.durability = d;
  o.checkpoint_log_bytes = 0;  // tests checkpoint explicitly
  return o;
}

std::string Dump(const Index& index, bool with_version = false) {
  return DumpIndex(*index.GetSnapshot(), with_version);
}

// The fields every random test uses, one per kind and option that changes
// the persisted layout.
std::vector<std::pair<std::string, FieldOptions>> TestFields() {
  FieldOptions keyed_set;
  keyed_set.keys = true;
  FieldOptions keyed_mutex = FieldOptions::Mutex();
  keyed_mutex.keys = true;
  FieldOptions ttl_time =
      FieldOptions::Time(TimeQuantum::Parse("MDH").value(), true);
  ttl_time.ttl = absl::Hours(24 * 40);
  FieldOptions ts;
  ts.type = FieldType::kTimestamp;
  ts.time_unit = TimeUnit::kMillisecond;
  return {{"s", FieldOptions::Set()},
          {"k", keyed_set},
          {"m", FieldOptions::Mutex()},
          {"mk", keyed_mutex},
          {"b", FieldOptions::Bool()},
          {"t", FieldOptions::Time(TimeQuantum::Parse("YMD").value())},
          {"tn", ttl_time},
          {"i", FieldOptions::Int(-1000, 1000)},
          {"d", FieldOptions::Decimal(2)},
          {"ts", ts}};
}

// Applies the same random writes to several indexes.
class Driver {
 public:
  explicit Driver(uint64_t seed) : rng_(seed) {}

  uint64_t Col() {
    // Three shards, dense at the start of each so rows get containers of
    // every kind.
    const uint64_t shard = rng_() % 3;
    const uint64_t span = rng_() % 4 == 0 ? (1u << 20) : 5000;
    return (shard << 20) | (rng_() % span);
  }
  Value RowOf(const std::string& f) {
    if (f == "b") return Value::Bool(rng_() % 2);
    if (f == "k" || f == "mk")
      return Value::Key(fmt::format("key{}", rng_() % 30));
    return Value::Id(rng_() % 40);
  }
  absl::Time Time() {
    return absl::FromUnixSeconds(1500000000 + int64_t(rng_() % 200) * 86400 +
                                 int64_t(rng_() % 24) * 3600);
  }

  // One random write on every index in `all`; the statuses must agree.
  void Step(std::vector<Index*> all) {
    static const std::vector<std::string> row_fields = {"s", "k", "m", "mk",
                                                        "b", "t", "tn"};
    const int op = int(rng_() % 100);
    std::vector<std::string> results;
    if (op < 45) {
      const std::string f = row_fields[rng_() % row_fields.size()];
      const uint64_t col = Col();
      const Value v = RowOf(f);
      std::optional<absl::Time> t;
      if (f == "t" || f == "tn") t = Time();
      for (Index* x : all)
        results.push_back(x->Set(col, f, v, t).status().ToString());
    } else if (op < 60) {
      static const std::vector<std::string> vf = {"i", "d", "ts"};
      const std::string f = vf[rng_() % 3];
      const uint64_t col = Col();
      Value v = f == "i"   ? Value::Int(int64_t(rng_() % 2001) - 1000)
                : f == "d" ? Value::Decimal(int64_t(rng_() % 100000) - 50000, 2)
                           : Value::Timestamp(Time());
      for (Index* x : all)
        results.push_back(x->Set(col, f, v).status().ToString());
    } else if (op < 72) {
      const std::string f = row_fields[rng_() % row_fields.size()];
      const uint64_t col = Col();
      const Value v = RowOf(f);
      for (Index* x : all)
        results.push_back(x->Clear(col, f, v).status().ToString());
    } else if (op < 75) {
      const std::string f = row_fields[rng_() % 3];
      const Value v = RowOf(f);
      for (Index* x : all)
        results.push_back(x->ClearRow(f, v).status().ToString());
    } else if (op < 78) {
      std::vector<uint64_t> cols;
      for (int i = 0; i < 20; ++i) cols.push_back(Col());
      const Bitmap bits = Bitmap::FromValues(cols);
      const Value v = RowOf("s");
      for (Index* x : all) results.push_back(x->Store("s", v, bits).ToString());
    } else if (op < 81) {
      std::vector<uint64_t> cols;
      for (int i = 0; i < 5; ++i) cols.push_back(Col());
      const Bitmap bits = Bitmap::FromValues(cols);
      for (Index* x : all)
        results.push_back(x->Delete(bits).status().ToString());
    } else if (op < 83) {
      const absl::Time now = Time() + absl::Hours(24 * 60);
      for (Index* x : all)
        results.push_back(x->ApplyTtl(now).status().ToString());
    } else if (op < 85) {
      const std::string src = fmt::format("topic/{}", rng_() % 3);
      const int64_t off = int64_t(rng_() % 100000);
      for (Index* x : all)
        results.push_back(x->CommitStreamOffset(src, off).ToString());
    } else if (op < 87) {
      const std::string name = fmt::format("new{}", rng_() % 6);
      for (Index* x : all)
        results.push_back(x->CreateField(name, FieldOptions::Set()).ToString());
    } else {
      // A batch with auto ids: set, mutex, int, keyed set, a time.
      std::vector<Record> recs;
      const int n = 1 + int(rng_() % 300);
      for (int i = 0; i < n; ++i) {
        Record r;
        r.values.push_back(Value::Id(rng_() % 40));
        r.values.push_back(rng_() % 5 == 0 ? Value::Null()
                                           : Value::Id(rng_() % 40));
        r.values.push_back(Value::Int(int64_t(rng_() % 2001) - 1000));
        r.values.push_back(
            std::vector<std::string>{fmt::format("key{}", rng_() % 30),
                                     fmt::format("key{}", rng_() % 50)});
        r.values.push_back(Value::Id(rng_() % 10));
        r.time = Time();
        recs.push_back(std::move(r));
      }
      const int64_t off = int64_t(rng_() % 1000);
      for (Index* x : all) {
        BatchOptions bo;
        bo.id_mode = IdMode::kAutoGenerate;
        auto batch = Batch::Create(x, {"s", "m", "i", "k", "t"}, bo);
        FB_ASSERT_OK(batch);
        for (const Record& r : recs) FB_ASSERT_OK((*batch)->Add(r));
        FB_ASSERT_OK((*batch)->SetStreamOffset("batch", off));
        results.push_back((*batch)->Flush().status().ToString());
      }
    }
    for (const std::string& r : results) ASSERT_EQ(r, results.front()) << op;
  }

  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
};

void CreateFields(Index& index) {
  for (const auto& [name, o] : TestFields())
    FB_ASSERT_OK(index.CreateField(name, o)) << name;
}

TEST(StorageTest, CreateReopenEmptyIndex) {
  testing::TempDir dir("empty");
  {
    auto idx = Index::Open(Opts("trips", true), dir.path());
    FB_ASSERT_OK(idx);
    EXPECT_TRUE((*idx)->durable());
    EXPECT_EQ((*idx)->name(), "trips");
  }
  OpenOptions o;  // no name: accept the stored one, options come from disk
  auto idx = Index::Open(o, dir.path());
  FB_ASSERT_OK(idx);
  EXPECT_EQ((*idx)->name(), "trips");
  EXPECT_TRUE((*idx)->options().keys);
  EXPECT_EQ((*idx)->GetSnapshot()->Fields().size(), 0u);
}

TEST(StorageTest, BadOpens) {
  testing::TempDir dir("bad");
  OpenOptions o = Opts("trips");
  o.create_if_missing = false;
  EXPECT_EQ(Index::Open(o, dir.path()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Index::Open(Opts("Bad Name"), dir.path()).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(Index::Open(Opts("trips"), "").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto first = Index::Open(Opts("trips"), dir.path());
  FB_ASSERT_OK(first);
  // A second writer on the same directory, in this process.
  auto second = Index::Open(Opts("trips"), dir.path());
  EXPECT_EQ(second.status().code(), absl::StatusCode::kFailedPrecondition)
      << second.status();
  first->reset();
  EXPECT_EQ(Index::Open(Opts("other"), dir.path()).status().code(),
            absl::StatusCode::kFailedPrecondition);
  // A file where the directory should be.
  const std::string file = dir.path() + "/plain";
  std::ofstream(file) << "x";
  EXPECT_FALSE(Index::Open(Opts("trips"), file).ok());
}

TEST(StorageTest, SecondProcessGetsFailedPrecondition) {
  testing::TempDir dir("lock");
  auto first = Index::Open(Opts("trips"), dir.path());
  FB_ASSERT_OK(first);
  const pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto second = Index::Open(Opts("trips"), dir.path());
    ::_exit(second.status().code() == absl::StatusCode::kFailedPrecondition
                ? 0
                : 1);
  }
  int status = 0;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
}

// The heart of it: random writes to a durable and an in-memory index,
// with checkpoints and reopens at random points, must agree throughout.
TEST(StorageTest, MatchesInMemoryIndexAcrossReopensAndCheckpoints) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    testing::TempDir dir("diff");
    auto mem = Index::Create("trips");
    FB_ASSERT_OK(mem);
    auto dur = Index::Open(Opts("trips"), dir.path());
    FB_ASSERT_OK(dur);
    CreateFields(**mem);
    CreateFields(**dur);
    Driver drv(seed);
    for (int step = 0; step < 400; ++step) {
      ASSERT_NO_FATAL_FAILURE(drv.Step({mem->get(), dur->get()}));
      const int r = int(drv.rng()() % 100);
      if (r < 4) {
        FB_ASSERT_OK((*dur)->Checkpoint());
      } else if (r < 8) {
        dur->reset();
        dur = Index::Open(Opts("trips"), dir.path());
        FB_ASSERT_OK(dur);
        ASSERT_EQ(Dump(**mem), Dump(**dur)) << "after reopen at step " << step;
      }
    }
    dur->reset();
    dur = Index::Open(Opts("trips"), dir.path());
    FB_ASSERT_OK(dur);
    ASSERT_EQ(Dump(**mem), Dump(**dur));
  }
}

// Durability::kCheckpoint: commits are never logged; what a crash leaves on
// disk (a copy of the directory taken while the index is open) is exactly
// the state of the last Sync, and closing checkpoints even when told not to.
TEST(StorageTest, UnloggedCommitsAreDurableAtCheckpointsOnly) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    testing::TempDir dir("bulk");
    testing::TempDir crash("bulk_crash");
    OpenOptions o = Opts("trips", false, Durability::kCheckpoint);
    o.checkpoint_on_close = false;
    auto mem = Index::Create("trips");
    FB_ASSERT_OK(mem);
    auto dur = Index::Open(o, dir.path());
    FB_ASSERT_OK(dur);
    CreateFields(**mem);
    CreateFields(**dur);
    std::string durable = Dump(**Index::Create("trips"));  // the empty index
    auto log_bytes = [&] {
      uint64_t n = 0;
      for (const auto& e : fs::directory_iterator(dir.path()))
        if (e.path().filename().string().starts_with("wal-"))
          n = std::max<uint64_t>(n, e.file_size());
      return n;
    };
    Driver drv(seed);
    for (int step = 0; step < 300; ++step) {
      ASSERT_NO_FATAL_FAILURE(drv.Step({mem->get(), dur->get()}));
      const int r = int(drv.rng()() % 100);
      if (r < 5) {
        FB_ASSERT_OK((*dur)->Sync());
        durable = Dump(**mem);
      } else if (r < 10) {
        // A crash now: the files as they are, opened by another process.
        for (const auto& e : fs::directory_iterator(crash.path()))
          fs::remove_all(e.path());
        for (const auto& e : fs::directory_iterator(dir.path()))
          if (e.path().filename() != "LOCK")
            fs::copy(e.path(), fs::path(crash.path()) / e.path().filename());
        auto after = Index::Open(Opts("trips"), crash.path());
        FB_ASSERT_OK(after);
        ASSERT_EQ(durable, Dump(**after)) << "crash image at step " << step;
      } else if (r < 13) {
        dur->reset();
        dur = Index::Open(o, dir.path());
        FB_ASSERT_OK(dur);
        ASSERT_EQ(Dump(**mem), Dump(**dur)) << "after reopen at step " << step;
        durable = Dump(**mem);
      }
      ASSERT_LE(log_bytes(), 16u) << "a commit was logged at step " << step;
    }
  }
}

TEST(StorageTest, KeyedIndexKeepsKeysAndFreedIds) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    testing::TempDir dir("keys");
    IndexOptions io;
    io.keys = true;
    auto mem = Index::Create("people", io);
    auto dur = Index::Open(Opts("people", true), dir.path());
    FB_ASSERT_OK(dur);
    for (Index* x : {mem->get(), dur->get()})
      FB_ASSERT_OK(x->CreateField("m", FieldOptions::Mutex()));
    std::mt19937_64 rng(seed);
    for (int step = 0; step < 300; ++step) {
      const std::string key = fmt::format("person{}", rng() % 200);
      const int op = int(rng() % 10);
      const uint64_t row = rng() % 5;
      std::vector<uint64_t> ids;
      for (Index* x : {mem->get(), dur->get()}) {
        auto id = x->ColumnId(key);
        FB_ASSERT_OK(id);
        ids.push_back(*id);
        if (op < 7) {
          FB_ASSERT_OK(x->Set(*id, "m", Value::Id(row)));
        } else {
          FB_ASSERT_OK(
              x->Delete(Bitmap::FromValues(std::vector<uint64_t>{*id})));
        }
      }
      ASSERT_EQ(ids[0], ids[1]);
      if (rng() % 40 == 0) {
        FB_ASSERT_OK((*dur)->Checkpoint());
      }
      if (rng() % 40 == 0) {
        dur->reset();
        dur = Index::Open(Opts("people", true), dir.path());
        FB_ASSERT_OK(dur);
      }
    }
    dur->reset();
    dur = Index::Open(Opts("people", true), dir.path());
    FB_ASSERT_OK(dur);
    EXPECT_EQ(Dump(**mem), Dump(**dur));
    // Freed ids are reused identically after recovery.
    for (int i = 0; i < 50; ++i) {
      const std::string key = fmt::format("late{}", i);
      EXPECT_EQ(*(*mem)->ColumnId(key), *(*dur)->ColumnId(key));
    }
  }
}

TEST(StorageTest, AutoIdsAreNeverReusedAfterReopen) {
  testing::TempDir dir("autoid");
  uint64_t last = 0;
  for (int round = 0; round < 3; ++round) {
    auto idx = Index::Open(Opts("ev"), dir.path());
    FB_ASSERT_OK(idx);
    if (round == 0) {
      FB_ASSERT_OK((*idx)->CreateField("m", FieldOptions::Mutex()));
    }
    BatchOptions bo;
    bo.id_mode = IdMode::kAutoGenerate;
    auto batch = Batch::Create(idx->get(), {"m"}, bo);
    FB_ASSERT_OK(batch);
    for (int i = 0; i < 10; ++i) {
      Record r;
      r.values.push_back(Value::Id(round));
      FB_ASSERT_OK((*batch)->Add(r));
    }
    FB_ASSERT_OK((*batch)->Flush());
    auto row = (*idx)->GetSnapshot()->Row("m", Value::Id(round));
    FB_ASSERT_OK(row);
    EXPECT_EQ(row->Cardinality(), 10u);
    EXPECT_GE(*row->Minimum(), last);
    last = *row->Maximum() + 1;
    if (round == 1) {
      FB_ASSERT_OK((*idx)->Checkpoint());
    }
  }
}

TEST(StorageTest, StreamOffsetsCommitWithData) {
  testing::TempDir dir("offsets");
  {
    auto idx = Index::Open(Opts("ev"), dir.path());
    FB_ASSERT_OK(idx);
    FB_ASSERT_OK((*idx)->CreateField("s", FieldOptions::Set()));
    auto batch = Batch::Create(idx->get(), {"s"});
    Record r;
    r.id = uint64_t{7};
    r.values.push_back(Value::Id(1));
    FB_ASSERT_OK((*batch)->Add(r));
    FB_ASSERT_OK((*batch)->SetStreamOffset("orders/3", 41));
    FB_ASSERT_OK((*batch)->SetStreamOffset("orders/3", 42));
    EXPECT_EQ((*batch)->SetStreamOffset("", 1).code(),
              absl::StatusCode::kInvalidArgument);
    FB_ASSERT_OK((*batch)->Flush());
    FB_ASSERT_OK((*idx)->CommitStreamOffset("orders/4", -1));
  }
  auto idx = Index::Open(Opts("ev"), dir.path());
  FB_ASSERT_OK(idx);
  auto snap = (*idx)->GetSnapshot();
  EXPECT_EQ(snap->StreamOffset("orders/3"), 42);
  EXPECT_EQ(snap->StreamOffset("orders/4"), -1);
  EXPECT_EQ(snap->StreamOffset("orders/5"), std::nullopt);
  EXPECT_EQ(snap->Row("s", Value::Id(1))->ToVector(), std::vector<uint64_t>{7});
}

TEST(StorageTest, GroupCommitKeepsEveryAcknowledgedCommit) {
  for (Durability d : {Durability::kGroup, Durability::kNone}) {
    testing::TempDir dir("group");
    {
      auto idx = Index::Open(Opts("g", false, d), dir.path());
      FB_ASSERT_OK(idx);
      FB_ASSERT_OK((*idx)->CreateField("s", FieldOptions::Set()));
      std::vector<std::thread> threads;
      for (int t = 0; t < 4; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < 100; ++i)
            FB_EXPECT_OK((*idx)->Set(uint64_t(t * 1000 + i), "s",
                                     Value::Id(uint64_t(t))));
        });
      }
      for (auto& th : threads) th.join();
      if (d == Durability::kNone) {
        FB_ASSERT_OK((*idx)->Sync());
      }
    }
    auto idx = Index::Open(Opts("g"), dir.path());
    FB_ASSERT_OK(idx);
    for (int t = 0; t < 4; ++t) {
      auto row = (*idx)->GetSnapshot()->Row("s", Value::Id(uint64_t(t)));
      ASSERT_EQ(row->Cardinality(), 100u);
      EXPECT_EQ(*row->Minimum(), uint64_t(t * 1000));
    }
  }
}

TEST(StorageTest, CheckpointTruncatesTheLogAndRewritesOnlyChanges) {
  testing::TempDir dir("ckpt");
  auto idx = Index::Open(Opts("c"), dir.path());
  FB_ASSERT_OK(idx);
  FB_ASSERT_OK((*idx)->CreateField("s", FieldOptions::Set()));
  for (uint64_t shard = 0; shard < 4; ++shard) {
    for (uint64_t i = 0; i < 2000; ++i)
      FB_ASSERT_OK((*idx)->Set((shard << 20) + i * 7, "s", Value::Id(i % 3)));
  }
  FB_ASSERT_OK((*idx)->Checkpoint());
  auto data_bytes = [&] {
    uint64_t n = 0, wal = 0;
    for (const auto& e : fs::directory_iterator(dir.path())) {
      const std::string name = e.path().filename();
      if (name.starts_with("data-")) n += e.file_size();
      if (name.starts_with("wal-")) wal += e.file_size();
    }
    return std::make_pair(n, wal);
  };
  const auto [full, wal_after] = data_bytes();
  EXPECT_GT(full, 0u);
  EXPECT_LE(wal_after, 16u);  // only the new log file's header
  // One more bit in one shard: the next checkpoint adds about a quarter.
  FB_ASSERT_OK((*idx)->Set(5, "s", Value::Id(0)));
  FB_ASSERT_OK((*idx)->Checkpoint());
  const auto [after, wal2] = data_bytes();
  EXPECT_LT(after, full + full / 2) << "rewrote more than the changed shard";
  EXPECT_GT(after, full);
  const std::string before_dump = Dump(**idx);
  idx->reset();
  idx = Index::Open(Opts("c"), dir.path());
  FB_ASSERT_OK(idx);
  EXPECT_EQ(before_dump, Dump(**idx));
}

// Readers run queries while a writer commits and checkpoints run: every
// read sees a whole commit (each commit adds one record to two rows).
TEST(StorageTest, ReadersSeeWholeCommitsDuringCheckpoints) {
  testing::TempDir dir("conc");
  OpenOptions o = Opts("c", false, Durability::kNone);
  o.checkpoint_log_bytes = 4096;  // background checkpoints as well
  auto idx = Index::Open(o, dir.path());
  FB_ASSERT_OK(idx);
  FB_ASSERT_OK((*idx)->CreateField("a", FieldOptions::Set()));
  FB_ASSERT_OK((*idx)->CreateField("b", FieldOptions::Set()));
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 2; ++t) {
    readers.emplace_back([&] {
      while (!done) {
        auto res = Query(**idx, "Count(Row(a=1)) Count(Row(b=1))");
        if (!res.ok() || res->ToJson().find("[") == std::string::npos) {
          ++bad;
          continue;
        }
        auto snap = (*idx)->GetSnapshot();
        if (snap->Row("a", Value::Id(1))->Cardinality() !=
            snap->Row("b", Value::Id(1))->Cardinality())
          ++bad;
      }
    });
  }
  std::thread checkpointer([&] {
    while (!done) FB_EXPECT_OK((*idx)->Checkpoint());
  });
  for (uint64_t i = 0; i < 1500; ++i) {
    auto batch = Batch::Create(idx->get(), {"a", "b"});
    Record r;
    r.id = i * 977;
    r.values = {Value::Id(1), Value::Id(1)};
    FB_ASSERT_OK((*batch)->Add(r));
    FB_ASSERT_OK((*batch)->Flush());
  }
  done = true;
  for (auto& th : readers) th.join();
  checkpointer.join();
  EXPECT_EQ(bad.load(), 0);
  const std::string before = Dump(**idx);
  idx->reset();
  idx = Index::Open(Opts("c"), dir.path());
  FB_ASSERT_OK(idx);
  EXPECT_EQ(before, Dump(**idx));
}

}  // namespace
}  // namespace featurebase
