// Crash safety and corruption: a child process ingests seeded batches and
// is killed with SIGKILL at random moments; every reopen must show exactly
// the acknowledged commits (or the next durable point in flight when it
// died) and no partial commit. Truncated or flipped bytes in any persisted file
// give DataLoss or the state of an earlier commit, never a crash.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <map>
#include <random>
#include <set>

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

constexpr char kSource[] = "orders/0";

// The naive model: what commits 1..n hold.
struct Model {
  std::map<uint64_t, std::set<uint64_t>> set_rows;  // s: row -> columns
  std::map<uint64_t, uint64_t> mutex;               // m: column -> row
  std::map<uint64_t, int64_t> values;               // v: column -> value
  std::map<std::string, std::set<uint64_t>> extra;  // x<i>: row 1 columns
  uint64_t commits = 0;
};

bool HasSchemaChange(uint64_t i) { return i % 20 == 0; }
std::string ExtraField(uint64_t i) { return fmt::format("x{}", i); }

// Commit i's records: (column, set row, mutex row or none, value or none).
struct Rec {
  uint64_t col;
  uint64_t s;
  std::optional<uint64_t> m;
  std::optional<int64_t> v;
};

std::vector<Rec> CommitRecords(uint64_t seed, uint64_t i) {
  std::mt19937_64 rng(seed * 0x9E3779B97F4A7C15ull + i);
  std::vector<Rec> out(1 + rng() % 150);
  for (Rec& r : out) {
    r.col = ((rng() % 3) << 20) | (rng() % 3000);
    r.s = rng() % 8;
    if (rng() % 4) r.m = rng() % 6;
    if (rng() % 3) r.v = int64_t(rng() % 20001) - 10000;
  }
  return out;
}

void ApplyToModel(uint64_t seed, uint64_t i, Model* m) {
  for (const Rec& r : CommitRecords(seed, i)) {
    m->set_rows[r.s].insert(r.col);
    if (r.m) m->mutex[r.col] = *r.m;
    if (r.v) m->values[r.col] = *r.v;
    if (HasSchemaChange(i)) m->extra[ExtraField(i)].insert(r.col);
  }
  m->commits = i;
}

// Children run in durability modes 0..3 in turn; mode 3 (kCheckpoint)
// syncs, i.e. checkpoints, after every third commit and acknowledges only
// those.
constexpr int kModes = 4;
constexpr int kUnloggedMode = 3;
bool IsUnloggedSync(uint64_t i) { return i % 3 == 0; }
// Whether a child in `mode` that acknowledged `acked` commits may leave
// `recovered` durable: the acknowledged ones, or one more in flight (logged
// modes); in mode 3, the point of any checkpoint (explicit ones at i % 7,
// syncs at IsUnloggedSync) up to the next, unacknowledged, Sync.
bool MayRecover(int mode, uint64_t acked, uint64_t recovered) {
  if (recovered == acked) return true;
  if (mode != kUnloggedMode) return recovered == acked + 1;
  for (uint64_t i = acked + 1; i <= recovered; ++i) {
    const bool checkpointed = IsUnloggedSync(i) || i % 7 == 0;
    if (i == recovered) return checkpointed;
    if (IsUnloggedSync(i)) return false;  // would have been acknowledged
  }
  return false;
}

OpenOptions ChildOptions(int mode) {
  OpenOptions o;
  o.name = "crash";
  o.durability = mode == 0   ? Durability::kSync
                 : mode == 1 ? Durability::kGroup
                 : mode == 2 ? Durability::kNone
                             : Durability::kCheckpoint;
  o.checkpoint_log_bytes = 16 << 10;  // background checkpoints mid-run
  return o;
}

absl::Status RunCommit(Index& index, uint64_t seed, uint64_t i) {
  std::vector<std::string> fields = {"s", "m", "v"};
  if (HasSchemaChange(i)) {
    // A schema change while ingesting: durable and immediate.
    if (auto s = index.CreateField(ExtraField(i), FieldOptions::Set());
        !s.ok() && s.code() != absl::StatusCode::kAlreadyExists)
      return s;
    fields.push_back(ExtraField(i));
  }
  auto batch = Batch::Create(&index, fields);
  if (!batch.ok()) return batch.status();
  for (const Rec& r : CommitRecords(seed, i)) {
    Record rec;
    rec.id = r.col;
    rec.values.push_back(Value::Id(r.s));
    rec.values.push_back(r.m ? Value::Id(*r.m) : Value::Null());
    rec.values.push_back(r.v ? Value::Int(*r.v) : Value::Null());
    if (HasSchemaChange(i)) rec.values.push_back(Value::Id(1));
    if (auto s = (*batch)->Add(rec); !s.ok()) return s.status();
  }
  if (auto s = (*batch)->SetStreamOffset(kSource, int64_t(i)); !s.ok())
    return s;
  return (*batch)->Flush().status();
}

// The child: continues from the recovered commit count forever, reporting
// each acknowledged commit on `fd`.
[[noreturn]] void Child(const std::string& dir, uint64_t seed, int mode,
                        int fd) {
  auto fail = [&](const absl::Status& s) {
    std::string msg = "E " + s.ToString() + " files:";
    for (const auto& e : fs::directory_iterator(dir))
      msg += fmt::format(" {}={}", e.path().filename().string(),
                         fs::file_size(e.path()));
    msg += "\n";
    (void)!::write(fd, msg.data(), msg.size());
    ::_exit(1);
  };
  auto index = Index::Open(ChildOptions(mode), dir);
  if (!index.ok()) fail(index.status());
  auto snap = (*index)->GetSnapshot();
  uint64_t i = uint64_t(snap->StreamOffset(kSource).value_or(0));
  for (;;) {
    ++i;
    if (auto s = RunCommit(**index, seed, i); !s.ok()) fail(s);
    // kCheckpoint: a commit is acknowledged as durable only by a Sync.
    const bool ack = mode != kUnloggedMode || IsUnloggedSync(i);
    if (mode == kUnloggedMode && ack) {
      if (auto s = (*index)->Sync(); !s.ok()) fail(s);
    }
    const std::string line = fmt::format("{}\n", i);
    if (ack && ::write(fd, line.data(), line.size()) < 0) ::_exit(2);
    if (i % 7 == 0) {
      if (auto s = (*index)->Checkpoint(); !s.ok()) fail(s);
    }
  }
}

// Compares the reopened index with the model.
void Verify(const Snapshot& snap, const Model& m) {
  auto rows = snap.Rows("s");
  FB_ASSERT_OK(rows);
  std::vector<uint64_t> want_rows;
  for (const auto& [row, cols] : m.set_rows) want_rows.push_back(row);
  ASSERT_EQ(*rows, want_rows);
  for (const auto& [row, cols] : m.set_rows) {
    ASSERT_EQ(snap.Row("s", Value::Id(row))->ToVector(),
              std::vector<uint64_t>(cols.begin(), cols.end()))
        << "row " << row;
  }
  std::map<uint64_t, std::vector<uint64_t>> by_row;
  for (const auto& [col, row] : m.mutex) by_row[row].push_back(col);
  for (uint64_t row = 0; row < 6; ++row) {
    ASSERT_EQ(snap.Row("m", Value::Id(row))->ToVector(), by_row[row])
        << "mutex row " << row;
  }
  ASSERT_EQ(snap.NotNull("v")->Cardinality(), m.values.size());
  for (const auto& [col, v] : m.values) {
    auto got = snap.FieldValue("v", col);
    ASSERT_TRUE(got.ok() && got->has_value()) << "column " << col;
    ASSERT_EQ(**got, Value::Int(v)) << "column " << col;
  }
  for (const auto& [name, cols] : m.extra) {
    ASSERT_EQ(snap.Row(name, Value::Id(1))->ToVector(),
              std::vector<uint64_t>(cols.begin(), cols.end()));
  }
  // Fields: the model's, plus possibly the next commit's new field (its
  // CreateField commit may be durable without the batch).
  for (const FieldInfo& f : snap.Fields()) {
    if (f.name == "s" || f.name == "m" || f.name == "v" ||
        m.extra.count(f.name))
      continue;
    ASSERT_EQ(f.name, ExtraField(m.commits + 1)) << "unexpected field";
    ASSERT_TRUE(snap.Row(f.name, Value::Id(1))->IsEmpty());
  }
}

int CrashIterations() {
  if (const char* s = std::getenv("FB_CRASH_ITERATIONS")) return std::atoi(s);
  return 50;
}

TEST(RecoveryTest, SigkillAtRandomMomentsLosesNoAcknowledgedCommit) {
  const uint64_t seed = testing::TestSeeds(1)[0];
  SCOPED_TRACE(testing::SeedTrace(seed));
  testing::TempDir dir("crash");
  std::mt19937_64 rng(seed);
  Model model;
  uint64_t acked = 0;
  const int iterations = CrashIterations();
  {
    // The base schema exists before the first child (a child killed while
    // creating it would leave some of it, which Verify does not model).
    auto index = Index::Open(ChildOptions(0), dir.path());
    FB_ASSERT_OK(index);
    for (auto [name, o] : std::vector<std::pair<std::string, FieldOptions>>{
             {"s", FieldOptions::Set()},
             {"m", FieldOptions::Mutex()},
             {"v", FieldOptions::Int(-10000, 10000)}}) {
      FB_ASSERT_OK((*index)->CreateField(name, o));
    }
  }
  for (int it = 0; it < iterations; ++it) {
    SCOPED_TRACE(fmt::format("iteration {}", it));
    int fds[2];
    ASSERT_EQ(::pipe(fds), 0);
    const int mode = it % kModes;
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      Child(dir.path(), seed, mode, fds[1]);
    }
    ::close(fds[1]);
    std::string out;
    char buf[4096];
    // Every fourth child is killed only after its first acknowledged
    // commit (or 20 s): the others' random moments can all fall in
    // recovery on a slow machine (sanitizers, slow fsync), and the run must
    // still make progress. The rest are killed at any moment.
    if (it % 4 == 0) {
      pollfd pfd{fds[0], POLLIN, 0};
      if (::poll(&pfd, 1, 20000) > 0) {
        const ssize_t n = ::read(fds[0], buf, sizeof(buf));
        if (n > 0) out.append(buf, size_t(n));
      }
    }
    ::usleep(useconds_t(2000 + rng() % 60000));
    ::kill(pid, SIGKILL);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    for (ssize_t n; (n = ::read(fds[0], buf, sizeof(buf))) > 0;)
      out.append(buf, size_t(n));
    ::close(fds[0]);
    ASSERT_EQ(out.find("E "), std::string::npos) << out;
    // The last complete line is the last acknowledged commit.
    size_t end = out.rfind('\n');
    if (end != std::string::npos) {
      const size_t start = out.rfind('\n', end - 1);
      const uint64_t last =
          std::stoull(out.substr(start == std::string::npos ? 0 : start + 1));
      ASSERT_GE(last, acked);
      acked = last;
    }
    OpenOptions o = ChildOptions(2);
    o.checkpoint_log_bytes = 0;
    auto index = Index::Open(o, dir.path());
    FB_ASSERT_OK(index);
    auto snap = (*index)->GetSnapshot();
    const uint64_t recovered =
        uint64_t(snap->StreamOffset(kSource).value_or(0));
    ASSERT_TRUE(MayRecover(mode, acked, recovered))
        << "recovered " << recovered << " commits, acknowledged " << acked
        << ", mode " << mode;
    while (model.commits < recovered)
      ApplyToModel(seed, model.commits + 1, &model);
    ASSERT_NO_FATAL_FAILURE(Verify(*snap, model));
    acked = recovered;
  }
  EXPECT_GT(acked, uint64_t(iterations / 4)) << "children made no progress";
}

// ---- corruption

// Builds an index with a checkpoint and a log tail; returns the dump of
// every version it went through.
std::map<uint64_t, std::string> BuildCorpus(const std::string& dir) {
  std::map<uint64_t, std::string> dumps;
  OpenOptions o = ChildOptions(2);
  o.checkpoint_log_bytes = 0;
  o.checkpoint_on_close = false;  // keep the log tail: it is corrupted too
  o.index.keys = true;
  auto index = Index::Open(o, dir);
  FB_EXPECT_OK(index);
  auto snap_dump = [&] {
    auto snap = (*index)->GetSnapshot();
    dumps[snap->version()] = testing::DumpIndex(*snap, true);
  };
  snap_dump();
  FB_EXPECT_OK((*index)->CreateField("s", FieldOptions::Set()));
  FieldOptions keyed = FieldOptions::Mutex();
  keyed.keys = true;
  FB_EXPECT_OK((*index)->CreateField("m", keyed));
  FB_EXPECT_OK((*index)->CreateField("v", FieldOptions::Decimal(2)));
  snap_dump();
  std::mt19937_64 rng(7);
  for (int i = 0; i < 12; ++i) {
    auto batch = Batch::Create(index->get(), {"s", "m", "v"});
    for (int r = 0; r < 300; ++r) {
      Record rec;
      rec.id = fmt::format("rec{}", rng() % 2000);
      rec.values = {Value::Id(rng() % 5),
                    Value::Key(fmt::format("k{}", rng() % 9)),
                    Value::Decimal(int64_t(rng() % 100000), 2)};
      FB_EXPECT_OK((*batch)->Add(rec));
    }
    FB_EXPECT_OK((*batch)->Flush());
    snap_dump();
    if (i == 5) {
      FB_EXPECT_OK((*index)->Checkpoint());
    }
  }
  return dumps;
}

void CheckOpen(const std::string& dir,
               const std::map<uint64_t, std::string>& dumps,
               const std::string& what) {
  OpenOptions o;
  o.checkpoint_log_bytes = 0;
  o.create_if_missing = false;
  auto index = Index::Open(o, dir);
  if (!index.ok()) {
    EXPECT_EQ(index.status().code(), absl::StatusCode::kDataLoss)
        << what << ": " << index.status();
    return;
  }
  auto snap = (*index)->GetSnapshot();
  auto it = dumps.find(snap->version());
  ASSERT_NE(it, dumps.end()) << what << ": unknown version " << snap->version();
  EXPECT_EQ(testing::DumpIndex(*snap, true), it->second) << what;
  // And it answers queries.
  FB_EXPECT_OK(Query(**index, "Count(Row(s=1))")) << what;
}

TEST(RecoveryTest, TruncatedOrFlippedFilesGiveDataLossOrAnEarlierCommit) {
  testing::TempDir base("corpus");
  const auto dumps = BuildCorpus(base.path());
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(base.path())) {
    const std::string name = e.path().filename();
    if (name != "LOCK") files.push_back(name);
  }
  std::sort(files.begin(), files.end());
  ASSERT_GE(files.size(), 3u);  // CHECKPOINT, a data file, a log file
  // The untouched directory recovers the last version.
  {
    testing::TempDir copy("copy");
    fs::copy(
        base.path(), copy.path(),
        fs::copy_options::recursive | fs::copy_options::overwrite_existing);
    CheckOpen(copy.path(), dumps, "untouched");
  }
  std::mt19937_64 rng(11);
  for (const std::string& name : files) {
    const uint64_t size = fs::file_size(base.path() + "/" + name);
    std::set<uint64_t> lengths = {0, 1, 8, 15, 16, 17, 24, 31, 32};
    for (int i = 0; i < 24; ++i) lengths.insert(rng() % (size + 1));
    lengths.insert(size - 1);
    for (uint64_t len : lengths) {
      if (len >= size) continue;
      testing::TempDir copy("copy");
      fs::copy(
          base.path(), copy.path(),
          fs::copy_options::recursive | fs::copy_options::overwrite_existing);
      fs::resize_file(copy.path() + "/" + name, len);
      CheckOpen(copy.path(), dumps,
                fmt::format("{} truncated to {}", name, len));
    }
    for (int i = 0; i < 24; ++i) {
      const uint64_t at = rng() % size;
      testing::TempDir copy("copy");
      fs::copy(
          base.path(), copy.path(),
          fs::copy_options::recursive | fs::copy_options::overwrite_existing);
      const std::string path = copy.path() + "/" + name;
      std::string bytes(size, '\0');
      {
        FILE* f = std::fopen(path.c_str(), "r+b");
        ASSERT_NE(f, nullptr);
        ASSERT_EQ(std::fread(bytes.data(), 1, size, f), size);
        bytes[at] = char(bytes[at] ^ (1 + rng() % 255));
        std::rewind(f);
        ASSERT_EQ(std::fwrite(bytes.data(), 1, size, f), size);
        std::fclose(f);
      }
      CheckOpen(copy.path(), dumps,
                fmt::format("{} byte {} flipped", name, at));
    }
  }
}

}  // namespace
}  // namespace featurebase
