// The commit record codec on its own, without files: EncodeCommit(base,
// next) applied to a replica of `base` with ApplyCommit gives `next`, over
// seeded random commits of every kind of write (the writes run on an
// in-memory index, which is the direct application the replica must match);
// and malformed bodies are DataLoss naming the place, never a crash.
#include "lib/storage/commit_codec.h"

#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "featurebase/bitmap.h"
#include "featurebase/index.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/core/index_state.h"
#include "lib/db/index_access.h"
#include "tests/storage/dump.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using internal::ApplyCommit;
using internal::CommitVersion;
using internal::EncodeCommit;
using internal::IndexState;
using internal::IndexWriter;
using internal::KeyJournals;
using internal::Txn;
using testing::DumpState;
using testing::SeedTrace;
using testing::TestSeeds;

std::vector<std::pair<std::string, FieldOptions>> Fields() {
  FieldOptions ttl_time =
      FieldOptions::Time(TimeQuantum::Parse("YMD").value(), true);
  ttl_time.ttl = absl::Hours(24 * 40);
  return {{"s", FieldOptions::Set()},
          {"m", FieldOptions::Mutex()},
          {"b", FieldOptions::Bool()},
          {"t", ttl_time},
          {"i", FieldOptions::Int(-1000, 1000)},
          {"d", FieldOptions::Decimal(2, -100000, 100000)}};
}

// One random write (an error, e.g. a field not created yet, is a commit
// that did not happen, which is fine).
void RandomWrite(std::mt19937_64& rng, Index& index) {
  const auto fields = Fields();
  // Columns over three shards, so that commits touch several fragments.
  const uint64_t col = (rng() % 3) << 20 | (rng() % 5000);
  const uint64_t row = rng() % 5;
  const absl::Time day =
      absl::FromCivil(absl::CivilDay(2024, 1, 1), absl::UTCTimeZone()) +
      absl::Hours(24 * int64_t(rng() % 90));
  switch (rng() % 12) {
    case 0: {
      const auto& [name, o] = fields[rng() % fields.size()];
      (void)index.CreateField(name, o);
      break;
    }
    case 1:
      (void)index.Clear(col, "s", Value::Id(row));
      break;
    case 2:
      (void)index.Set(col, "m", Value::Id(row));
      break;
    case 3:
      (void)index.Set(col, "b", Value::Bool(rng() % 2));
      break;
    case 4:
      (void)index.Set(col, "t", Value::Id(row), day);
      break;
    case 5:
      (void)index.Set(col, "i", Value::Int(int64_t(rng() % 2001) - 1000));
      break;
    case 6:
      (void)index.Set(col, "d", Value::Decimal(int64_t(rng() % 20001), 2));
      break;
    case 7:
      (void)index.ApplyTtl(day + absl::Hours(24 * 30));
      break;
    case 8: {
      Bitmap cols;
      for (int k = 0; k < 5; ++k) cols.Add((rng() % 3) << 20 | (rng() % 5000));
      (void)index.Delete(cols);
      break;
    }
    case 9:
      (void)index.CommitStreamOffset(fmt::format("topic/{}", rng() % 3),
                                     int64_t(rng() % 1000));
      break;
    case 10:
      (void)index.ClearRow("s", Value::Id(row));
      break;
    default:
      (void)index.Set(col, "s", Value::Id(row));
      break;
  }
}

TEST(CommitCodecTest, ApplyingTheEncodedCommitReproducesTheNextVersion) {
  for (uint64_t seed : TestSeeds()) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = Index::Create("codec");
    FB_ASSERT_OK(index);
    // The replica starts as the index's first version and only ever sees
    // record bodies.
    std::shared_ptr<const IndexState> replica = IndexWriter::Current(**index);
    int commits = 0;
    for (int step = 0; step < 300; ++step) {
      const std::shared_ptr<const IndexState> base =
          IndexWriter::Current(**index);
      RandomWrite(rng, **index);
      const std::shared_ptr<const IndexState> next =
          IndexWriter::Current(**index);
      if (next == base) continue;
      ++commits;
      std::string body;
      FB_ASSERT_OK(EncodeCommit(*base, *next, KeyJournals{}, &body));
      auto v = CommitVersion(body, "test", 0);
      FB_ASSERT_OK(v);
      EXPECT_EQ(*v, next->version) << "step " << step;
      Txn txn(*replica, internal::OwnerToken(1000 + step));
      const absl::Status s = ApplyCommit(txn, body, "test", 0);
      FB_ASSERT_OK(s) << "step " << step << ": " << s;
      replica = txn.FinishAt(*v);
      ASSERT_EQ(DumpState(*replica, true), DumpState(*next, true))
          << "step " << step;
    }
    EXPECT_GT(commits, 100);
  }
}

TEST(CommitCodecTest, UnchangedVersionEncodesOnlyItsVersion) {
  auto index = Index::Create("codec");
  FB_ASSERT_OK(index);
  FB_ASSERT_OK((*index)->CreateField("s", FieldOptions::Set()));
  const auto s = IndexWriter::Current(**index);
  std::string body;
  FB_ASSERT_OK(EncodeCommit(*s, *s, KeyJournals{}, &body));
  EXPECT_EQ(body.size(), 8u);
}

TEST(CommitCodecTest, MalformedBodiesAreDataLossNamingThePlace) {
  auto index = Index::Create("codec");
  FB_ASSERT_OK(index);
  const auto empty = IndexWriter::Current(**index);
  for (const auto& [name, o] : Fields())
    FB_ASSERT_OK((*index)->CreateField(name, o));
  std::mt19937_64 rng(7);
  for (int i = 0; i < 200; ++i) RandomWrite(rng, **index);
  const auto full = IndexWriter::Current(**index);
  std::string body;
  FB_ASSERT_OK(EncodeCommit(*empty, *full, KeyJournals{}, &body));

  for (size_t n = 0; n < 8; ++n) {
    auto v = CommitVersion(body.substr(0, n), "wal-000007.log", 100);
    ASSERT_FALSE(v.ok());
    EXPECT_EQ(v.status().code(), absl::StatusCode::kDataLoss) << v.status();
    EXPECT_NE(std::string(v.status().message()).find("wal-000007.log"),
              std::string::npos)
        << v.status();
  }
  // Cut anywhere, a body is DataLoss or a shorter valid body (a cut
  // between two ops); a flipped byte is DataLoss or some valid body. Never
  // a crash; DataLoss names the file.
  auto check = [&](std::string_view bad, std::string_view what) {
    Txn txn(*empty, 99);
    const absl::Status s = ApplyCommit(txn, bad, "wal-000007.log", 100);
    if (s.ok()) return;
    EXPECT_EQ(s.code(), absl::StatusCode::kDataLoss) << what << ": " << s;
    EXPECT_NE(std::string(s.message()).find("wal-000007.log"),
              std::string::npos)
        << what << ": " << s;
  };
  int data_loss = 0;
  for (size_t n = 8; n < body.size(); ++n) {
    check(std::string_view(body).substr(0, n), fmt::format("cut at {}", n));
    Txn txn(*empty, 99);
    data_loss += !ApplyCommit(txn, body.substr(0, n), "w", 0).ok();
  }
  EXPECT_GT(data_loss, int(body.size()) / 2);
  for (size_t i = 8; i < body.size(); i += 1 + i / 64) {
    std::string bad = body;
    bad[i] ^= 0x5A;
    check(bad, fmt::format("flip at {}", i));
  }
}

}  // namespace
}  // namespace featurebase
