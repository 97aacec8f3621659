// The write-ahead log format on its own (docs/format.md, "Write-ahead log
// file"), in the manner of LevelDB's db/log_test.cc: records round-trip;
// a file cut at every byte reads as the records before the cut when it is
// the newest file and is DataLoss otherwise (unless cut at a record
// boundary); bad file headers and damaged records are DataLoss naming the
// file and offset, except the torn tail the format allows in the newest
// file. Expected outcomes come from the documented layout, built here by
// hand, not from the reader.
#include "lib/storage/wal.h"

#include <cerrno>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/util/checksum.h"
#include "tests/storage/fault_env.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

using internal::kWalFileHeaderBytes;
using internal::kWalRecordHeaderBytes;
using internal::ReadWal;
using internal::WalRecord;
using testing::SeedTrace;
using testing::TestSeeds;

constexpr uint64_t kNumber = 7;
constexpr uint64_t kStart = 41;

void Put64(std::string* out, uint64_t v) {
  out->append(reinterpret_cast<const char*>(&v), 8);
}
void Put32(std::string* out, uint32_t v) {
  out->append(reinterpret_cast<const char*>(&v), 4);
}

// The file header as docs/format.md lays it out.
std::string FileHeader(uint64_t number = kNumber, uint64_t start = kStart) {
  std::string h = "FBWAL002";
  Put64(&h, number);
  Put64(&h, start);
  return h;
}

// One record as docs/format.md lays it out.
std::string Record(std::string_view payload) {
  std::string r;
  const uint32_t n = uint32_t(payload.size());
  char len[4];
  std::memcpy(len, &n, 4);
  Put32(&r, uint32_t(internal::Hash64(std::string_view(len, 4),
                                      0x464257414C524543ull)));
  r.insert(0, len, 4);
  Put64(&r, internal::Checksum64(payload));
  r += payload;
  return r;
}

// Non-zero random bytes (so that no damage looks like zero fill).
std::string Payload(std::mt19937_64& rng, size_t n) {
  std::string p(n, '\0');
  for (char& c : p) c = char(1 + rng() % 255);
  return p;
}

struct Read {
  absl::Status status;
  std::vector<std::string> payloads;
  std::vector<uint64_t> offsets;
  uint64_t valid_end = 0;
  uint64_t start = 0;
};

Read ReadAll(std::string_view bytes, bool newest, uint64_t number = kNumber) {
  Read r;
  std::vector<WalRecord> records;
  r.status = ReadWal(bytes, "wal-000007.log", number, newest, &records,
                     &r.valid_end, &r.start);
  for (const WalRecord& rec : records) {
    r.payloads.emplace_back(rec.payload);
    r.offsets.push_back(rec.offset);
  }
  return r;
}

bool Names(const absl::Status& s, std::string_view part) {
  return std::string(s.message()).find(part) != std::string::npos;
}

TEST(WalTest, AppendWalRecordMatchesTheDocumentedFraming) {
  for (std::string_view p : {std::string_view(""), std::string_view("x"),
                             std::string_view("hello, log")}) {
    std::string framed;
    internal::AppendWalRecord(&framed, p);
    EXPECT_EQ(framed, Record(p));
  }
}

TEST(WalTest, RecordsRoundTrip) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    std::string file = FileHeader();
    std::vector<std::string> want;
    std::vector<uint64_t> offsets;
    const int n = int(rng() % 40);
    for (int i = 0; i < n; ++i) {
      // Sizes around the interesting edges: empty, tiny, one header, big.
      const size_t sizes[] = {0, 1, 15, 16, 17, 100, 4096, 70000};
      want.push_back(Payload(rng, sizes[rng() % 8]));
      offsets.push_back(file.size());
      internal::AppendWalRecord(&file, want.back());
    }
    for (bool newest : {false, true}) {
      const Read r = ReadAll(file, newest);
      FB_ASSERT_OK(r.status);
      EXPECT_EQ(r.payloads, want);
      EXPECT_EQ(r.offsets, offsets);
      EXPECT_EQ(r.valid_end, file.size());
      EXPECT_EQ(r.start, kStart);
    }
  }
}

TEST(WalTest, WriterWritesTheHeaderAndSyncsFileAndDirectory) {
  testing::TempDir dir("wal-writer");
  testing::FaultEnv env;
  auto w = internal::WalWriter::Create(&env, dir.path(), kNumber, kStart);
  FB_ASSERT_OK(w);
  EXPECT_EQ(env.calls(testing::FaultEnv::Op::kSync), 1);
  EXPECT_EQ(env.calls(testing::FaultEnv::Op::kSyncDir), 1);
  std::string framed;
  internal::AppendWalRecord(&framed, "one");
  internal::AppendWalRecord(&framed, "two");
  FB_ASSERT_OK((*w)->Append(framed));
  FB_ASSERT_OK((*w)->Sync());
  EXPECT_EQ((*w)->size(), kWalFileHeaderBytes + framed.size());
  auto m = env.MapFile(dir.path() + "/" + internal::WalFileName(kNumber));
  FB_ASSERT_OK(m);
  EXPECT_EQ((*m)->bytes(), FileHeader() + Record("one") + Record("two"));

  // A header that cannot be made durable is no log file.
  env.InjectFault(testing::FaultEnv::Op::kSyncDir, "", 1, EIO);
  auto bad = internal::WalWriter::Create(&env, dir.path(), 8, kStart);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), absl::StatusCode::kUnavailable)
      << bad.status();
  EXPECT_TRUE(Names(bad.status(), "sync directory " + dir.path()))
      << bad.status();
}

// Cut at every byte: the newest file reads as the records wholly before
// the cut (a cut inside the header, which is a prefix of a real header, is
// an empty file); an older file is intact only when cut at a record
// boundary.
TEST(WalTest, CutAtEveryByte) {
  std::mt19937_64 rng(3);
  std::string file = FileHeader();
  std::vector<uint64_t> ends = {file.size()};
  for (size_t n : {0, 5, 40, 16}) {
    internal::AppendWalRecord(&file, Payload(rng, n));
    ends.push_back(file.size());
  }
  for (size_t cut = 0; cut <= file.size(); ++cut) {
    SCOPED_TRACE(fmt::format("cut at {}", cut));
    const std::string_view bytes = std::string_view(file).substr(0, cut);
    size_t whole = 0;  // records ending at or before the cut
    while (whole + 1 < ends.size() && ends[whole + 1] <= cut) ++whole;
    const bool boundary =
        std::find(ends.begin(), ends.end(), cut) != ends.end();

    const Read newest = ReadAll(bytes, true);
    FB_ASSERT_OK(newest.status);
    EXPECT_EQ(newest.payloads.size(), cut < ends[0] ? 0 : whole);
    EXPECT_EQ(newest.valid_end, cut < ends[0] ? 0 : ends[whole]);

    const Read older = ReadAll(bytes, false);
    if (boundary) {
      FB_EXPECT_OK(older.status);
      EXPECT_EQ(older.payloads.size(), whole);
    } else {
      EXPECT_EQ(older.status.code(), absl::StatusCode::kDataLoss)
          << older.status;
      EXPECT_TRUE(Names(older.status, "wal-000007.log")) << older.status;
    }
  }
}

TEST(WalTest, ZeroFilledTailOfTheNewestFileIsATornTail) {
  std::string file = FileHeader() + Record("abc");
  const uint64_t end = file.size();
  for (size_t zeros : {1, 15, 16, 17, 4096}) {
    const std::string padded = file + std::string(zeros, '\0');
    const Read r = ReadAll(padded, true);
    FB_ASSERT_OK(r.status);
    EXPECT_EQ(r.payloads, std::vector<std::string>{"abc"});
    EXPECT_EQ(r.valid_end, end);
    const Read older = ReadAll(padded, false);
    EXPECT_EQ(older.status.code(), absl::StatusCode::kDataLoss);
  }
}

TEST(WalTest, BadFileHeadersAreDataLossAtTheirOffset) {
  const std::string body = Record("payload");
  struct Case {
    std::string file;
    std::string message;
  };
  std::string old_version = FileHeader() + body;
  std::memcpy(old_version.data(), "FBWAL001", 8);
  std::string bad_magic = FileHeader() + body;
  bad_magic[0] = 'X';
  const std::vector<Case> cases = {
      {old_version,
       "unsupported log file version \"FBWAL001\" (this library reads "
       "\"FBWAL002\") at offset 0"},
      {bad_magic, "bad log file magic at offset 0"},
      {FileHeader(kNumber + 1) + body,
       "log file number does not match its name at offset 8"},
      {std::string("FBWAX002") + std::string(4, 'x'),
       "truncated log file header at offset 0"},
  };
  for (const Case& c : cases) {
    for (bool newest : {false, true}) {
      SCOPED_TRACE(c.message);
      const Read r = ReadAll(c.file, newest);
      EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
      EXPECT_EQ(std::string(r.status.message()),
                "wal-000007.log: " + c.message);
    }
  }
}

// Every byte of every record flipped: a damaged length or header check is
// DataLoss wherever it is (intact bytes follow it); a damaged checksum or
// payload is a torn tail only in the newest file's last record.
TEST(WalTest, FlippedRecordBytesAreDataLossUnlessATornLastRecord) {
  std::mt19937_64 rng(11);
  std::string file = FileHeader();
  std::vector<uint64_t> starts;
  for (size_t n : {9, 30, 3}) {
    starts.push_back(file.size());
    internal::AppendWalRecord(&file, Payload(rng, n));
  }
  for (size_t at = kWalFileHeaderBytes; at < file.size(); ++at) {
    SCOPED_TRACE(fmt::format("byte {}", at));
    std::string bad = file;
    bad[at] ^= 0x01;
    const size_t rec =
        std::upper_bound(starts.begin(), starts.end(), at) - starts.begin() - 1;
    const bool last = rec + 1 == starts.size();
    const bool in_frame_check = at - starts[rec] < 8;
    for (bool newest : {false, true}) {
      const Read r = ReadAll(bad, newest);
      if (newest && last && !in_frame_check) {
        FB_ASSERT_OK(r.status);
        EXPECT_EQ(r.payloads.size(), starts.size() - 1);
        EXPECT_EQ(r.valid_end, starts.back());
      } else {
        EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
        EXPECT_TRUE(Names(r.status, fmt::format("at offset {}", starts[rec])))
            << r.status;
      }
    }
  }
}

TEST(WalTest, OversizedLengthIsABadHeader) {
  std::string file = FileHeader() + Record("ok");
  const uint64_t at = file.size();
  // A length over 2^31 with a matching header check is still refused.
  const uint32_t n = (uint32_t{1} << 31) + 1;
  char len[4];
  std::memcpy(len, &n, 4);
  file.append(len, 4);
  Put32(&file, uint32_t(internal::Hash64(std::string_view(len, 4),
                                         0x464257414C524543ull)));
  Put64(&file, 0);
  file += "tail";
  const Read r = ReadAll(file, true);
  EXPECT_EQ(r.status.code(), absl::StatusCode::kDataLoss) << r.status;
  EXPECT_EQ(std::string(r.status.message()),
            fmt::format("wal-000007.log: bad record header at offset {}", at));
}

}  // namespace
}  // namespace featurebase
