// What a durable index promises when the filesystem fails, driven through
// FaultEnv (tests/storage/fault_env.h):
//  - a commit is acknowledged (its call returns OK) only once it is as
//    durable as its Durability mode says; a commit whose write or sync
//    failed is never acknowledged and never published to readers;
//  - the first failed log write or sync makes the store refuse every later
//    commit, Sync and Checkpoint with that same status, while reads go on
//    answering from the last published version;
//  - a failed commit survives a reopen exactly when its bytes reached the
//    log file intact (the write completed, only the sync failed, and no
//    crash dropped the bytes); a torn or unsynced-then-crashed record
//    never does;
//  - ENOSPC is ResourceExhausted naming the file;
//  - after a crash that loses every byte not synced, the index reopens at
//    the last durable commit: every acknowledged commit for kSync and
//    kGroup, the last Sync or Checkpoint for kNone and kCheckpoint.
#include <algorithm>
#include <cerrno>
#include <filesystem>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/query.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/db/index_access.h"
#include "tests/storage/dump.h"
#include "tests/storage/fault_env.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

namespace fs = std::filesystem;
using testing::DumpIndex;
using testing::FaultEnv;
using testing::SeedTrace;
using testing::TempDir;
using testing::TestSeeds;
using Op = FaultEnv::Op;

OpenOptions Opts(Durability d) {
  OpenOptions o;
  o.name = "faults";
  o.durability = d;
  o.checkpoint_log_bytes = 0;  // checkpoints only where a test asks
  return o;
}

const char* Name(Durability d) {
  switch (d) {
    case Durability::kSync:
      return "kSync";
    case Durability::kGroup:
      return "kGroup";
    case Durability::kNone:
      return "kNone";
    case Durability::kCheckpoint:
      return "kCheckpoint";
  }
  return "?";
}

std::unique_ptr<Index> OpenOrDie(const std::string& dir, Durability d,
                                 internal::Env* env) {
  auto idx = internal::OpenIndexWithEnv(Opts(d), dir, env);
  FB_EXPECT_OK(idx);
  return idx.ok() ? std::move(*idx) : nullptr;
}

std::string Dump(const Index& index) { return DumpIndex(*index.GetSnapshot()); }

int64_t CountRow(Index& index, uint64_t row) {
  auto res = Query(index, fmt::format("Count(Row(s={}))", row));
  FB_EXPECT_OK(res);
  if (!res.ok()) return -1;
  const std::string json = res->ToJson();
  return std::stoll(json.substr(json.find('[') + 1));
}

// The columns of row `row` of field "s".
std::set<uint64_t> Columns(Index& index, uint64_t row) {
  std::set<uint64_t> out;
  auto res = Query(index, fmt::format("Row(s={})", row));
  FB_EXPECT_OK(res);
  if (!res.ok()) return out;
  const std::string json = res->ToJson();
  size_t at = json.find("\"columns\":[");
  if (at == std::string::npos) return out;
  at += 11;
  while (at < json.size() && json[at] != ']') {
    size_t end = 0;
    out.insert(std::stoull(json.substr(at), &end));
    at += end;
    if (json[at] == ',') ++at;
  }
  return out;
}

// The newest log file in `dir` ("" if none).
std::string WalPath(const std::string& dir) {
  std::string newest;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().filename().string().starts_with("wal-"))
      newest = std::max(newest, e.path().string());
  }
  return newest;
}

bool Contains(const absl::Status& s, std::string_view part) {
  return std::string(s.message()).find(part) != std::string::npos;
}

// An index with field "s" and `n` commits, each setting column i of row 1.
std::unique_ptr<Index> WithCommits(const std::string& dir, Durability d,
                                   internal::Env* env, int n) {
  auto idx = OpenOrDie(dir, d, env);
  if (!idx) return nullptr;
  FB_EXPECT_OK(idx->CreateField("s", FieldOptions::Set()));
  for (int i = 0; i < n; ++i) FB_EXPECT_OK(idx->Set(i, "s", Value::Id(1)));
  return idx;
}

TEST(FaultInjectionTest, FailedSyncIsNeitherAcknowledgedNorPublished) {
  for (Durability d : {Durability::kSync, Durability::kGroup}) {
    for (bool crash : {false, true}) {
      SCOPED_TRACE(fmt::format("{} crash={}", Name(d), crash));
      TempDir dir("fault-sync");
      FaultEnv env;
      {
        auto idx = WithCommits(dir.path(), d, &env, 3);
        ASSERT_NE(idx, nullptr);
        env.InjectFault(Op::kSync, "wal-", 1, EIO);
        auto failed = idx->Set(3, "s", Value::Id(1));
        ASSERT_FALSE(failed.ok());
        EXPECT_EQ(failed.status().code(), absl::StatusCode::kUnavailable)
            << failed.status();
        EXPECT_TRUE(Contains(failed.status(), "sync " + WalPath(dir.path())))
            << failed.status();
        EXPECT_EQ(env.fired(), 1);
        // Readers never see the unacknowledged commit.
        EXPECT_EQ(CountRow(*idx, 1), 3);
        if (crash) env.Crash();
      }
      // Without a crash the record's bytes are in the file (only their sync
      // failed), so a reopen finds the commit; a crash drops them.
      auto idx = OpenOrDie(dir.path(), d, internal::Env::Default());
      ASSERT_NE(idx, nullptr);
      EXPECT_EQ(CountRow(*idx, 1), crash ? 3 : 4);
      FB_EXPECT_OK(idx->Set(10, "s", Value::Id(1)));
    }
  }
}

TEST(FaultInjectionTest, AfterAFailedWriteEveryCommitIsRefusedAndReadsWork) {
  for (Op op : {Op::kAppend, Op::kSync}) {
    SCOPED_TRACE(op == Op::kAppend ? "append" : "sync");
    TempDir dir("fault-sticky");
    FaultEnv env;
    auto idx = WithCommits(dir.path(), Durability::kSync, &env, 2);
    ASSERT_NE(idx, nullptr);
    const std::string before = Dump(*idx);
    env.InjectFault(op, "wal-", 1, EIO);
    auto first = idx->Set(2, "s", Value::Id(1));
    ASSERT_FALSE(first.ok());
    const absl::Status sticky = first.status();
    EXPECT_TRUE(Contains(sticky, "log commit") || Contains(sticky, "sync log"))
        << sticky;
    EXPECT_TRUE(Contains(sticky, WalPath(dir.path()))) << sticky;
    env.ClearFaults();  // the filesystem recovers; the store does not trust it
    auto again = idx->Set(3, "s", Value::Id(1));
    EXPECT_EQ(again.status(), sticky);
    EXPECT_EQ(idx->CreateField("t", FieldOptions::Set()), sticky);
    EXPECT_EQ(idx->Clear(0, "s", Value::Id(1)).status(), sticky);
    EXPECT_EQ(idx->Sync(), sticky);
    EXPECT_EQ(idx->Checkpoint(), sticky);
    EXPECT_EQ(Dump(*idx), before);
    EXPECT_EQ(CountRow(*idx, 1), 2);
  }
}

TEST(FaultInjectionTest, NoSpaceIsResourceExhaustedNamingTheFile) {
  TempDir dir("fault-enospc");
  FaultEnv env;
  auto idx = WithCommits(dir.path(), Durability::kSync, &env, 2);
  ASSERT_NE(idx, nullptr);
  const std::string wal = WalPath(dir.path());

  // A checkpoint that runs out of space fails, leaves the previous
  // checkpoint and the log in place, and commits go on.
  env.InjectFault(Op::kAppend, "data-", 1, ENOSPC);
  const absl::Status ck = idx->Checkpoint();
  EXPECT_EQ(ck.code(), absl::StatusCode::kResourceExhausted) << ck;
  EXPECT_TRUE(Contains(ck, "write " + dir.path() + "/data-")) << ck;
  EXPECT_TRUE(Contains(ck, ".fbd.tmp: No space left on device")) << ck;
  FB_ASSERT_OK(idx->Set(2, "s", Value::Id(1)));

  // A log write that runs out of space is sticky.
  env.InjectFault(Op::kAppend, "wal-", 1, ENOSPC, /*times=*/-1);
  auto s = idx->Set(3, "s", Value::Id(1));
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kResourceExhausted)
      << s.status();
  EXPECT_TRUE(Contains(s.status(), "log commit: write " + dir.path() + "/wal-"))
      << s.status();
  EXPECT_TRUE(Contains(s.status(), "No space left on device")) << s.status();
  idx.reset();
  auto reopened = OpenOrDie(dir.path(), Durability::kSync, &env);
  ASSERT_NE(reopened, nullptr);
  EXPECT_EQ(CountRow(*reopened, 1), 3);
  (void)wal;
}

// Every cut point of the last record: the bytes before the cut reach the
// file, the write fails, and a reopen shows the commit before it (the torn
// tail is cut off, and the next commit follows it). kNone: the sync that
// would follow the write is not what is under test, and is slow.
TEST(FaultInjectionTest, TornLastRecordAtEveryCutReopensToThePreviousCommit) {
  OpenOptions o = Opts(Durability::kNone);
  o.checkpoint_on_close = false;  // keep the log: it is what is under test
  auto open = [&](const std::string& dir, internal::Env* env) {
    auto idx = internal::OpenIndexWithEnv(o, dir, env);
    FB_EXPECT_OK(idx);
    return idx.ok() ? std::move(*idx) : nullptr;
  };
  TempDir base("fault-torn-base");
  {
    auto idx = open(base.path(), internal::Env::Default());
    ASSERT_NE(idx, nullptr);
    FB_ASSERT_OK(idx->CreateField("s", FieldOptions::Set()));
    for (int i = 0; i < 2; ++i) FB_ASSERT_OK(idx->Set(i, "s", Value::Id(1)));
  }
  auto copy = [&](const std::string& to) {
    for (const auto& e : fs::directory_iterator(base.path()))
      fs::copy_file(e.path(), fs::path(to) / e.path().filename());
  };
  // The record's size, from the same commit without the fault.
  uint64_t record = 0;
  {
    TempDir probe("fault-torn-probe");
    copy(probe.path());
    auto idx = open(probe.path(), internal::Env::Default());
    ASSERT_NE(idx, nullptr);
    FB_ASSERT_OK(idx->Set(2, "s", Value::Id(1)));
    record = fs::file_size(WalPath(probe.path()));
  }
  ASSERT_GT(record, 16u + 24u);
  record -= 24;  // the new log file's header
  for (uint64_t cut = 0; cut < record; ++cut) {
    SCOPED_TRACE(fmt::format("cut {} of {}", cut, record));
    TempDir dir("fault-torn");
    copy(dir.path());
    {
      FaultEnv env;
      auto idx = open(dir.path(), &env);
      ASSERT_NE(idx, nullptr);
      // The first append to the new log file is its header.
      env.InjectFault(Op::kAppend, "wal-", 2, EIO, 1, cut);
      ASSERT_FALSE(idx->Set(2, "s", Value::Id(1)).ok());
      ASSERT_EQ(fs::file_size(WalPath(dir.path())), 24 + cut);
    }
    for (int round = 0; round < 2; ++round) {
      auto idx = open(dir.path(), internal::Env::Default());
      ASSERT_NE(idx, nullptr);
      EXPECT_EQ(CountRow(*idx, 1), 2 + round);
      if (round == 0) {
        FB_ASSERT_OK(idx->Set(5, "s", Value::Id(1)));
      }
    }
  }
}

// One random operation on `index` (and the same on `model` if given).
absl::Status RandomOp(std::mt19937_64& rng, Index& index) {
  const uint64_t col = rng() % 3000;
  const uint64_t row = rng() % 4;
  switch (rng() % 4) {
    case 0:
      return index.Clear(col, "s", Value::Id(row)).status();
    case 1:
      return index.Set(col, "m", Value::Id(row)).status();
    default:
      return index.Set(col, "s", Value::Id(row)).status();
  }
}

// Seeded workloads of random commits, Syncs and Checkpoints, then a crash
// at a random point: the reopened index equals an in-memory model given
// the commits up to the last durable point of the mode.
TEST(FaultInjectionTest, CrashReopensAtTheLastDurableCommitInEveryMode) {
  for (Durability d : {Durability::kSync, Durability::kGroup, Durability::kNone,
                       Durability::kCheckpoint}) {
    for (uint64_t seed : TestSeeds(4)) {
      SCOPED_TRACE(fmt::format("{} {}", Name(d), SeedTrace(seed)));
      std::mt19937_64 rng(seed);
      TempDir dir("fault-crash");
      std::string durable;  // the model's dump at the last durable point
      {
        FaultEnv env;
        auto idx = OpenOrDie(dir.path(), d, &env);
        ASSERT_NE(idx, nullptr);
        auto model = Index::Create("faults");
        FB_ASSERT_OK(model);
        for (auto* i : {idx.get(), model->get()}) {
          FB_ASSERT_OK(i->CreateField("s", FieldOptions::Set()));
          FB_ASSERT_OK(i->CreateField("m", FieldOptions::Mutex()));
        }
        // Creating the fields is durable in kSync/kGroup; kNone and
        // kCheckpoint start from the empty index the open wrote.
        const bool acked_is_durable =
            d == Durability::kSync || d == Durability::kGroup;
        {
          auto empty = Index::Create("faults");
          durable = acked_is_durable ? Dump(**model) : Dump(**empty);
        }
        const int steps = 20 + int(rng() % 60);
        for (int step = 0; step < steps; ++step) {
          const uint64_t op_seed = rng();
          std::mt19937_64 a(op_seed), b(op_seed);
          FB_ASSERT_OK(RandomOp(a, *idx)) << "step " << step;
          FB_ASSERT_OK(RandomOp(b, **model));
          const int what = int(rng() % 16);
          if (what == 0) {
            FB_ASSERT_OK(idx->Sync());
            durable = Dump(**model);
          } else if (what == 1) {
            FB_ASSERT_OK(idx->Checkpoint());
            durable = Dump(**model);
          } else if (acked_is_durable) {
            durable = Dump(**model);
          }
        }
        env.Crash();
      }
      auto idx = OpenOrDie(dir.path(), d, internal::Env::Default());
      ASSERT_NE(idx, nullptr);
      EXPECT_EQ(Dump(*idx), durable);
    }
  }
}

// A crash at each step of a checkpoint (the nth file operation it makes
// fails, then the power goes) loses no acknowledged kSync commit.
TEST(FaultInjectionTest, CrashAtEveryStepOfACheckpointKeepsEveryCommit) {
  for (int nth = 1;; ++nth) {
    SCOPED_TRACE(fmt::format("file operation {} of the checkpoint", nth));
    TempDir dir("fault-ckpt");
    std::string want;
    bool fired;
    {
      FaultEnv env;
      auto idx = WithCommits(dir.path(), Durability::kSync, &env, 3);
      ASSERT_NE(idx, nullptr);
      FB_ASSERT_OK(idx->Checkpoint());  // a previous checkpoint to keep
      for (int i = 3; i < 6; ++i) FB_ASSERT_OK(idx->Set(i, "s", Value::Id(2)));
      want = Dump(*idx);
      env.InjectFault(Op::kAny, "", nth, EIO);
      const absl::Status s = idx->Checkpoint();
      fired = env.fired() > 0;
      // A fault may hit a clean-up whose failure the checkpoint ignores
      // (removing a leftover temporary file), so only this direction holds.
      if (!fired) {
        FB_EXPECT_OK(s);
      }
      env.Crash();
    }
    auto idx =
        OpenOrDie(dir.path(), Durability::kSync, internal::Env::Default());
    ASSERT_NE(idx, nullptr);
    EXPECT_EQ(Dump(*idx), want);
    if (!fired) break;  // the checkpoint has fewer than nth operations
    ASSERT_LT(nth, 100);
  }
}

// Group commit: threads commit concurrently while one sync fails. Every
// acknowledged commit survives the crash, and nothing that was never
// attempted appears.
TEST(FaultInjectionTest, GroupCommitSyncFailureLosesNoAcknowledgedCommit) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    TempDir dir("fault-group");
    constexpr int kThreads = 4, kPerThread = 40;
    std::vector<std::vector<bool>> acked(kThreads,
                                         std::vector<bool>(kPerThread));
    {
      FaultEnv env;
      auto idx = OpenOrDie(dir.path(), Durability::kGroup, &env);
      ASSERT_NE(idx, nullptr);
      FB_ASSERT_OK(idx->CreateField("s", FieldOptions::Set()));
      env.InjectFault(Op::kSync, "wal-", 5 + int(seed % 20), EIO);
      std::vector<std::thread> threads;
      for (int t = 0; t < kThreads; ++t) {
        threads.emplace_back([&, t] {
          for (int i = 0; i < kPerThread; ++i) {
            acked[t][i] = idx->Set(t * kPerThread + i, "s", Value::Id(1)).ok();
          }
        });
      }
      for (auto& th : threads) th.join();
      EXPECT_EQ(env.fired(), 1);
      env.Crash();
    }
    auto idx =
        OpenOrDie(dir.path(), Durability::kGroup, internal::Env::Default());
    ASSERT_NE(idx, nullptr);
    const std::set<uint64_t> found = Columns(*idx, 1);
    int acked_count = 0;
    for (int t = 0; t < kThreads; ++t) {
      for (int i = 0; i < kPerThread; ++i) {
        if (!acked[t][i]) continue;
        ++acked_count;
        EXPECT_TRUE(found.count(t * kPerThread + i))
            << "column " << t * kPerThread + i;
      }
    }
    EXPECT_GT(acked_count, 0);
    EXPECT_LT(acked_count, kThreads * kPerThread);
    EXPECT_GE(CountRow(*idx, 1), acked_count);
    EXPECT_LE(CountRow(*idx, 1), kThreads * kPerThread);
  }
}

}  // namespace
}  // namespace featurebase
