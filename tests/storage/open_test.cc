// Opening a durable index: the log files chain by version (a lost file or
// a lost tail of an older file is DataLoss), read-only opens and opens that
// only read write nothing, files without a manifest are refused rather
// than deleted, and filesystem failures are statuses naming the path.
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/query.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/storage/env.h"
#include "lib/storage/wal.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

namespace fs = std::filesystem;

OpenOptions Opts(bool read_only = false) {
  OpenOptions o;
  o.name = "chain";
  o.durability = Durability::kNone;
  o.checkpoint_log_bytes = 0;
  o.checkpoint_on_close = false;  // keep the log files
  o.read_only = read_only;
  return o;
}

// Records in row 1 of field "s": one per commit the tests make.
int64_t Commits(Index& index) {
  auto res = Query(index, "Count(Row(s=1))");
  FB_EXPECT_OK(res);
  if (!res.ok()) return -1;
  const std::string json = res->ToJson();
  const size_t at = json.find('[');
  return std::stoll(json.substr(at + 1));
}

std::vector<std::string> WalFiles(const std::string& dir) {
  std::vector<std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    const std::string n = e.path().filename().string();
    if (n.starts_with("wal-")) out.push_back(n);
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string ReadAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

// Offsets at which a log file's records end, read from the framing that
// docs/format.md describes (u32 length, u32 check, u64 checksum, body).
std::vector<uint64_t> RecordEnds(const std::string& bytes) {
  std::vector<uint64_t> ends;
  uint64_t pos = internal::kWalFileHeaderBytes;
  while (pos + 16 <= bytes.size()) {
    uint32_t n;
    std::memcpy(&n, bytes.data() + pos, 4);
    pos += 16 + n;
    ends.push_back(pos);
  }
  return ends;
}

// Every file, its size, mtime (ns) and bytes.
std::map<std::string, std::string> Fingerprint(const std::string& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::directory_iterator(dir)) {
    struct stat st;
    EXPECT_EQ(::lstat(e.path().c_str(), &st), 0);
    out[e.path().filename().string()] =
        std::to_string(st.st_size) + "/" + std::to_string(st.st_mtim.tv_sec) +
        "." + std::to_string(st.st_mtim.tv_nsec) + "/" +
        ReadAll(e.path().string());
  }
  return out;
}

// Three sessions of two commits, then one of one commit: four log files
// holding commits 1-2, 3-4, 5-6 and 7.
void MakeChain(const std::string& dir) {
  int col = 0;
  for (int session = 0; session < 4; ++session) {
    auto idx = Index::Open(Opts(), dir);
    FB_ASSERT_OK(idx);
    if (session == 0) {
      FB_ASSERT_OK((*idx)->CreateField("s", FieldOptions::Set()));
    }
    for (int i = 0; i < (session == 3 ? 1 : 2); ++i) {
      auto s = (*idx)->Set(col++, "s", Value::Id(1));
      FB_ASSERT_OK(s);
    }
  }
}

void CopyDir(const std::string& from, const std::string& to) {
  for (const auto& e : fs::directory_iterator(from))
    fs::copy_file(e.path(), to + "/" + e.path().filename().string());
}

// The case's damage applied to a copy of `base`; the status of reopening it
// and, if it opens, the commits it holds.
struct Outcome {
  absl::Status status;
  int64_t commits = -1;
};
Outcome Reopen(const std::string& base, const std::string& file,
               std::optional<uint64_t> cut_to) {
  testing::TempDir copy("chain-case");
  CopyDir(base, copy.path());
  const std::string path = copy.path() + "/" + file;
  if (cut_to) {
    fs::resize_file(path, *cut_to);
  } else {
    fs::remove(path);
  }
  auto idx = Index::Open(Opts(), copy.path());
  if (!idx.ok()) return {idx.status()};
  return {absl::OkStatus(), Commits(**idx)};
}

TEST(OpenTest, LostTailOrFileOfAnOlderLogFileIsDataLoss) {
  testing::TempDir dir("chain");
  MakeChain(dir.path());
  const std::vector<std::string> files = WalFiles(dir.path());
  ASSERT_EQ(files.size(), 4u);
  // A crash right after the last session's commit created its file: the
  // newest file holds only its header.
  fs::resize_file(dir.path() + "/" + files[3], internal::kWalFileHeaderBytes);
  for (int newest_with_records = 0; newest_with_records < 2;
       ++newest_with_records) {
    testing::TempDir base("chain-base");
    CopyDir(dir.path(), base.path());
    if (newest_with_records) fs::remove(base.path() + "/" + files[3]);
    const size_t n = newest_with_records ? 3 : 4;
    for (size_t f = 0; f < n; ++f) {
      const bool newest = f + 1 == n;
      const std::string bytes = ReadAll(base.path() + "/" + files[f]);
      // Commits in the files before this one, and at each cut of it.
      const int64_t before = int64_t(2 * f);
      std::vector<std::pair<std::optional<uint64_t>, int64_t>> cases;
      cases.push_back({std::nullopt, before});
      cases.push_back({internal::kWalFileHeaderBytes, before});
      const std::vector<uint64_t> ends = RecordEnds(bytes);
      for (size_t r = 0; r + 1 < ends.size(); ++r)
        cases.push_back({ends[r], before + int64_t(r) + 1});
      for (const auto& [cut, commits] : cases) {
        SCOPED_TRACE(fmt::format(
            "file {} ({}), {}", files[f], newest ? "newest" : "older",
            cut ? fmt::format("cut to {}", *cut) : std::string("deleted")));
        if (cut && *cut >= bytes.size()) continue;  // no damage
        const Outcome o = Reopen(base.path(), files[f], cut);
        if (newest) {
          // Indistinguishable from a crash before the lost records.
          FB_ASSERT_OK(o.status);
          EXPECT_EQ(o.commits, commits);
        } else {
          EXPECT_EQ(o.status.code(), absl::StatusCode::kDataLoss) << o.status;
          EXPECT_NE(std::string(o.status.message()).find("wal-"),
                    std::string::npos)
              << o.status;
        }
      }
    }
  }
}

TEST(OpenTest, ReopensCreateNoFiles) {
  testing::TempDir dir("reopen");
  MakeChain(dir.path());
  const auto before = Fingerprint(dir.path());
  for (int i = 0; i < 1000; ++i) {
    auto idx = Index::Open(Opts(i % 2 == 1), dir.path());
    FB_ASSERT_OK(idx);
    if (i % 100 == 0) {
      EXPECT_EQ(Commits(**idx), 7);
    }
  }
  EXPECT_EQ(Fingerprint(dir.path()), before);
}

TEST(OpenTest, ReadOnlyOpenWritesNothingAndRefusesWrites) {
  testing::TempDir dir("ro");
  MakeChain(dir.path());
  const std::vector<std::string> files = WalFiles(dir.path());
  // A torn tail in the newest file and a leftover temporary file.
  { std::ofstream(dir.path() + "/" + files.back(), std::ios::app) << "torn"; }
  { std::ofstream(dir.path() + "/CHECKPOINT.tmp") << "left over"; }
  const auto before = Fingerprint(dir.path());
  {
    auto ro = Index::Open(Opts(true), dir.path());
    FB_ASSERT_OK(ro);
    EXPECT_EQ(Commits(**ro), 7);
    // Readers share the lock; a writer cannot take it.
    auto ro2 = Index::Open(Opts(true), dir.path());
    FB_EXPECT_OK(ro2);
    auto rw = Index::Open(Opts(), dir.path());
    EXPECT_EQ(rw.status().code(), absl::StatusCode::kFailedPrecondition)
        << rw.status();
    auto set = (*ro)->Set(100, "s", Value::Id(1));
    EXPECT_EQ(set.status().code(), absl::StatusCode::kFailedPrecondition);
    EXPECT_NE(std::string(set.status().message()).find("\"chain\""),
              std::string::npos)
        << set.status();
    EXPECT_EQ((*ro)->CreateField("x", FieldOptions::Set()).code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ((*ro)->Checkpoint().code(),
              absl::StatusCode::kFailedPrecondition);
    EXPECT_EQ(Commits(**ro), 7);
  }
  EXPECT_EQ(Fingerprint(dir.path()), before);
  {
    // A reader cannot open while a writer holds the directory.
    auto rw = Index::Open(Opts(), dir.path());
    FB_ASSERT_OK(rw);
    auto ro = Index::Open(Opts(true), dir.path());
    EXPECT_EQ(ro.status().code(), absl::StatusCode::kFailedPrecondition)
        << ro.status();
  }
  // A missing index is NotFound and creates nothing.
  testing::TempDir empty("ro-empty");
  const std::string missing = empty.path() + "/none";
  EXPECT_EQ(Index::Open(Opts(true), missing).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Index::Open(Opts(true), empty.path()).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_FALSE(fs::exists(missing));
  EXPECT_TRUE(fs::is_empty(empty.path()));
}

TEST(OpenTest, DataFileWithoutManifestIsDataLossAndKept) {
  testing::TempDir dir("orphan");
  {
    auto idx = Index::Open(Opts(), dir.path());
    FB_ASSERT_OK(idx);
    FB_ASSERT_OK((*idx)->CreateField("s", FieldOptions::Set()));
    FB_ASSERT_OK((*idx)->Set(1, "s", Value::Id(1)));
    FB_ASSERT_OK((*idx)->Checkpoint());
  }
  std::string data;
  for (const auto& e : fs::directory_iterator(dir.path())) {
    const std::string n = e.path().filename().string();
    if (n.starts_with("data-")) data = n;
    if (n == "CHECKPOINT" || n.starts_with("wal-")) fs::remove(e.path());
  }
  ASSERT_FALSE(data.empty());
  const std::string before = ReadAll(dir.path() + "/" + data);
  for (bool create : {false, true}) {
    OpenOptions o = Opts();
    o.create_if_missing = create;
    auto idx = Index::Open(o, dir.path());
    EXPECT_EQ(idx.status().code(), absl::StatusCode::kDataLoss) << idx.status();
    EXPECT_NE(std::string(idx.status().message()).find(data), std::string::npos)
        << idx.status();
  }
  EXPECT_EQ(ReadAll(dir.path() + "/" + data), before);
}

TEST(OpenTest, FilesystemFailuresNameThePath) {
  testing::TempDir dir("fs");
  MakeChain(dir.path());
  // A log file that is a symlink loop.
  const std::string loop = dir.path() + "/wal-000099.log";
  ASSERT_EQ(::symlink(loop.c_str(), loop.c_str()), 0);
  for (bool ro : {false, true}) {
    auto idx = Index::Open(Opts(ro), dir.path());
    EXPECT_FALSE(idx.ok());
    EXPECT_NE(std::string(idx.status().message()).find(loop), std::string::npos)
        << idx.status();
  }
  // A data directory that is a regular file.
  const std::string file = dir.path() + "/plain";
  std::ofstream(file) << "x";
  for (bool ro : {false, true}) {
    auto idx = Index::Open(Opts(ro), file);
    EXPECT_FALSE(idx.ok());
    EXPECT_NE(std::string(idx.status().message()).find(file), std::string::npos)
        << idx.status();
  }
}

TEST(OpenTest, FullDiskOnAppendIsResourceExhaustedNamingTheFile) {
  if (!fs::exists("/dev/full")) GTEST_SKIP() << "no /dev/full";
  auto f = internal::Env::Default()->ReopenAppendFile("/dev/full");
  FB_ASSERT_OK(f);
  const absl::Status s = (*f)->Append(std::string(4096, 'x'));
  EXPECT_EQ(s.code(), absl::StatusCode::kResourceExhausted) << s;
  EXPECT_NE(std::string(s.message()).find("write /dev/full"), std::string::npos)
      << s;
}

}  // namespace
}  // namespace featurebase
