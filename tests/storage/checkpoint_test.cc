// Checkpoints on their own (docs/format.md, "Checkpoint manifest" and
// "Data file blocks"): WriteCheckpoint then LoadCheckpoint gives back the
// version and the catalog, on one thread or several, for seeded random
// indexes with every field kind and key stores; the manifest cut at every
// length or with any byte flipped, each section of its payload cut
// (re-framed so that only the parser sees it), and any data-file byte
// flipped or the file cut are DataLoss naming the file; a fragment block
// round-trips through the fragment codec, and damaged ones are DataLoss or
// a valid fragment, never a crash.
#include "lib/storage/checkpoint.h"

#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "featurebase/index.h"
#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/db/index_access.h"
#include "lib/storage/env.h"
#include "lib/storage/fragment_codec.h"
#include "lib/util/checksum.h"
#include "tests/storage/dump.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

namespace fs = std::filesystem;
using internal::Catalog;
using internal::Env;
using internal::IndexState;
using internal::IndexWriter;
using testing::DumpState;
using testing::SeedTrace;
using testing::TempDir;
using testing::TestSeeds;

std::string ReadFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}
void WriteFile(const std::string& path, std::string_view bytes) {
  std::ofstream(path, std::ios::binary | std::ios::trunc)
      .write(bytes.data(), std::streamsize(bytes.size()));
}

// A keyed index with set, keyed set, mutex, bool, time and int fields and
// random writes over a few shards.
std::unique_ptr<Index> RandomIndex(uint64_t seed, int writes) {
  IndexOptions io;
  io.keys = true;
  auto index = Index::Create("ckpt", io);
  FB_EXPECT_OK(index);
  Index& x = **index;
  FieldOptions keyed = FieldOptions::Set();
  keyed.keys = true;
  FB_EXPECT_OK(x.CreateField("s", FieldOptions::Set()));
  FB_EXPECT_OK(x.CreateField("k", keyed));
  FB_EXPECT_OK(x.CreateField("m", FieldOptions::Mutex()));
  FB_EXPECT_OK(x.CreateField("b", FieldOptions::Bool()));
  FB_EXPECT_OK(
      x.CreateField("t", FieldOptions::Time(TimeQuantum::Parse("YM").value())));
  FB_EXPECT_OK(x.CreateField("i", FieldOptions::Int(-500, 500)));
  std::mt19937_64 rng(seed);
  for (int w = 0; w < writes; ++w) {
    auto id = x.ColumnId(fmt::format("r{}", rng() % 3000));
    FB_EXPECT_OK(id);
    const uint64_t col = id.ok() ? *id : 0;
    const uint64_t row = rng() % 6;
    const absl::Time when = absl::FromCivil(
        absl::CivilMonth(2020, 1 + rng() % 12), absl::UTCTimeZone());
    absl::Status s;
    switch (rng() % 6) {
      case 0:
        s = x.Set(col, "s", Value::Id(row)).status();
        break;
      case 1:
        s = x.Set(col, "k", Value::Key(fmt::format("key{}", row))).status();
        break;
      case 2:
        s = x.Set(col, "m", Value::Id(row)).status();
        break;
      case 3:
        s = x.Set(col, "b", Value::Bool(row % 2)).status();
        break;
      case 4:
        s = x.Set(col, "t", Value::Id(row), when).status();
        break;
      default:
        s = x.Set(col, "i", Value::Int(int64_t(rng() % 1001) - 500)).status();
        break;
    }
    FB_EXPECT_OK(s);
  }
  return std::move(*index);
}

// A directory holding a checkpoint of a random index (and its catalog).
struct Written {
  std::unique_ptr<TempDir> dir;
  std::shared_ptr<const IndexState> state;
  Catalog catalog;
};
Written WriteRandom(uint64_t seed, int writes = 400) {
  Written w;
  w.dir = std::make_unique<TempDir>("ckpt");
  auto index = RandomIndex(seed, writes);
  w.state = IndexWriter::Current(*index);
  const absl::Status s = internal::WriteCheckpoint(
      Env::Default(), w.dir->path(), w.state, 3, &w.catalog);
  FB_EXPECT_OK(s);
  return w;
}

absl::StatusOr<Catalog> Load(const std::string& dir, int threads = 2) {
  return internal::LoadCheckpoint(Env::Default(), dir, 5, threads);
}

std::string DataFile(const Written& w) {
  return w.dir->path() + "/" + internal::DataFileName(w.catalog.number);
}

TEST(CheckpointTest, RoundTripsTheVersionAndTheCatalog) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    Written w = WriteRandom(seed);
    EXPECT_EQ(w.catalog.wal_start, 3u);
    EXPECT_EQ(w.catalog.version, w.state->version);
    for (int threads : {1, 3}) {
      auto c = Load(w.dir->path(), threads);
      FB_ASSERT_OK(c);
      EXPECT_EQ(DumpState(*c->state, true), DumpState(*w.state, true));
      EXPECT_EQ(c->number, w.catalog.number);
      EXPECT_EQ(c->wal_start, 3u);
      EXPECT_EQ(c->files, w.catalog.files);
      EXPECT_EQ(c->fragments.size(), w.catalog.fragments.size());
      EXPECT_EQ(c->bsi.size(), w.catalog.bsi.size());
      EXPECT_EQ(c->keys.size(), w.catalog.keys.size());
      for (const auto& [k, ref] : w.catalog.fragments) {
        ASSERT_TRUE(c->fragments.count(k));
        EXPECT_EQ(c->fragments.at(k).offset, ref.offset);
        EXPECT_EQ(c->fragments.at(k).length, ref.length);
      }
    }
  }
}

// An incremental checkpoint writes only what changed into a second data
// file, and the two files load to the newer version.
TEST(CheckpointTest, IncrementalCheckpointLoadsFromBothFiles) {
  TempDir dir("ckpt-incr");
  auto index = RandomIndex(21, 400);
  Catalog c;
  FB_ASSERT_OK(internal::WriteCheckpoint(Env::Default(), dir.path(),
                                         IndexWriter::Current(*index), 3, &c));
  const uint64_t first_size = c.files.at(c.number);
  FB_ASSERT_OK(index->Set(*index->ColumnId("r1"), "s", Value::Id(9)));
  const auto next = IndexWriter::Current(*index);
  FB_ASSERT_OK(
      internal::WriteCheckpoint(Env::Default(), dir.path(), next, 4, &c));
  ASSERT_EQ(c.files.size(), 2u);
  EXPECT_LT(c.files.at(c.number), first_size / 4);
  auto loaded = Load(dir.path());
  FB_ASSERT_OK(loaded);
  EXPECT_EQ(DumpState(*loaded->state, true), DumpState(*next, true));
  EXPECT_EQ(loaded->files, c.files);
}

void ExpectDataLoss(const absl::StatusOr<Catalog>& c, std::string_view file,
                    std::string_view what) {
  ASSERT_FALSE(c.ok()) << what;
  EXPECT_EQ(c.status().code(), absl::StatusCode::kDataLoss)
      << what << ": " << c.status();
  EXPECT_NE(std::string(c.status().message()).find(file), std::string::npos)
      << what << ": " << c.status();
}

TEST(CheckpointTest, DamagedManifestFrameIsDataLoss) {
  Written w = WriteRandom(5, 100);
  const std::string path = w.dir->path() + "/CHECKPOINT";
  const std::string good = ReadFile(path);
  for (size_t n = 0; n < good.size(); n += 1 + n / 50) {
    WriteFile(path, std::string_view(good).substr(0, n));
    ExpectDataLoss(Load(w.dir->path()), "CHECKPOINT", fmt::format("cut {}", n));
  }
  for (size_t i = 0; i < good.size(); i += 1 + i / 50) {
    std::string bad = good;
    bad[i] ^= 0x10;
    WriteFile(path, bad);
    ExpectDataLoss(Load(w.dir->path()), "CHECKPOINT",
                   fmt::format("flip {}", i));
  }
  WriteFile(path, good);
  FB_EXPECT_OK(Load(w.dir->path()));
}

// The manifest's payload cut at every length and framed again with a
// correct length and checksum: the parser, not the checksum, must refuse
// every one (each section ends with data the next needs).
TEST(CheckpointTest, EverySectionOfTheManifestCutIsDataLoss) {
  Written w = WriteRandom(6, 20);
  const std::string path = w.dir->path() + "/CHECKPOINT";
  const std::string good = ReadFile(path);
  const std::string payload = good.substr(24);
  // Every length through the fixed sections; then a stride co-prime to the
  // 36- and 32-byte fragment and value-shard entries, which still cuts each
  // entry at every position.
  for (size_t n = 0; n < payload.size(); n += n < 400 ? 1 : 7) {
    const std::string_view cut = std::string_view(payload).substr(0, n);
    std::string framed = good.substr(0, 8);
    const uint64_t len = cut.size(), sum = internal::Checksum64(cut);
    framed.append(reinterpret_cast<const char*>(&len), 8);
    framed.append(reinterpret_cast<const char*>(&sum), 8);
    framed += cut;
    WriteFile(path, framed);
    ExpectDataLoss(Load(w.dir->path()), "CHECKPOINT",
                   fmt::format("payload cut at {}", n));
  }
  // And with one byte too many.
  std::string longer = payload + "x";
  std::string framed = good.substr(0, 8);
  const uint64_t len = longer.size(), sum = internal::Checksum64(longer);
  framed.append(reinterpret_cast<const char*>(&len), 8);
  framed.append(reinterpret_cast<const char*>(&sum), 8);
  WriteFile(path, framed + longer);
  auto c = Load(w.dir->path());
  ExpectDataLoss(c, "trailing bytes", "trailing byte");
}

TEST(CheckpointTest, DamagedDataFileIsDataLossNamingIt) {
  Written w = WriteRandom(8, 100);
  const std::string path = DataFile(w);
  const std::string name = internal::DataFileName(w.catalog.number);
  const std::string good = ReadFile(path);
  ASSERT_GT(good.size(), 0u);
  for (size_t i = 0; i < good.size(); i += 1 + i / 40) {
    std::string bad = good;
    bad[i] ^= 0x04;
    WriteFile(path, bad);
    ExpectDataLoss(Load(w.dir->path()), name, fmt::format("flip {}", i));
  }
  for (size_t n : {size_t{0}, good.size() / 2, good.size() - 1}) {
    WriteFile(path, std::string_view(good).substr(0, n));
    ExpectDataLoss(Load(w.dir->path()), name, fmt::format("cut {}", n));
  }
  fs::remove(path);
  ExpectDataLoss(Load(w.dir->path()), name, "missing");
}

TEST(CheckpointTest, FragmentCodecRoundTripsAndRefusesDamage) {
  auto index = RandomIndex(9, 600);
  const auto s = IndexWriter::Current(*index);
  int fragments = 0;
  for (const auto& name : {"s", "m", "t"}) {
    const internal::FieldState* f = s->FindField(name);
    ASSERT_NE(f, nullptr);
    f->views.ForEach([&](uint64_t vk, const internal::View& view) {
      view.ForEach([&](uint64_t shard, const internal::Fragment& frag) {
        ++fragments;
        std::string bytes;
        internal::EncodeFragment(frag, &bytes);
        auto back = internal::DecodeFragment(bytes, frag.mode(), 7,
                                             "data-000001.fbd", 100);
        FB_EXPECT_OK(back);
        if (!back.ok()) return true;
        std::string again;
        internal::EncodeFragment(*back, &again);
        EXPECT_EQ(again, bytes) << name << " view " << vk << " shard " << shard;
        // The wrong mode for its field.
        auto wrong = internal::DecodeFragment(
            bytes,
            frag.mode() == internal::Fragment::Mode::kMutex
                ? internal::Fragment::Mode::kMulti
                : internal::Fragment::Mode::kMutex,
            7, "data-000001.fbd", 100);
        EXPECT_EQ(wrong.status().code(), absl::StatusCode::kDataLoss);
        // Cut or flipped: DataLoss naming the file, or a valid fragment.
        for (size_t i = 0; i < bytes.size(); i += 1 + i / 16) {
          std::string bad = bytes;
          bad[i] ^= 0x21;
          for (std::string_view b :
               {std::string_view(bad), std::string_view(bytes).substr(0, i)}) {
            auto d = internal::DecodeFragment(b, frag.mode(), 7,
                                              "data-000001.fbd", 100);
            if (d.ok()) continue;
            EXPECT_EQ(d.status().code(), absl::StatusCode::kDataLoss)
                << d.status();
            EXPECT_NE(std::string(d.status().message()).find("data-000001.fbd"),
                      std::string::npos)
                << d.status();
          }
        }
        return true;
      });
      return true;
    });
  }
  EXPECT_GT(fragments, 3);
}

}  // namespace
}  // namespace featurebase
