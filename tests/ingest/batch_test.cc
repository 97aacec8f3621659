// Batch against single writes: the same records applied through a Batch and
// through Index::Set/Clear/Delete must give identical indexes.
#include "featurebase/batch.h"

#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"
#include "tests/util/temp_dir.h"

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

const std::vector<std::string> kFields = {"s", "m", "zone", "b",   "t",
                                          "v", "d", "ts",   "flag"};

void MakeFields(Index* index) {
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FieldOptions zone = FieldOptions::Mutex();
  zone.keys = true;
  FB_ASSERT_OK(index->CreateField("zone", zone));
  FB_ASSERT_OK(index->CreateField("b", FieldOptions::Bool()));
  FB_ASSERT_OK(
      index->CreateField("t", FieldOptions::Time(*TimeQuantum::Parse("YMD"))));
  FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(-500, 500)));
  FB_ASSERT_OK(index->CreateField("d", FieldOptions::Decimal(2)));
  FB_ASSERT_OK(index->CreateField("ts", FieldOptions::Timestamp()));
  FieldOptions keyed_set = FieldOptions::Set();
  keyed_set.keys = true;
  FB_ASSERT_OK(index->CreateField("bools", keyed_set));
  FB_ASSERT_OK(index->CreateField("bools-exists", keyed_set));
}

// A random record; `bad` makes one value invalid.
Record RandomRecord(std::mt19937_64& rng, bool bad) {
  Record r;
  auto maybe_null = [&](Value v) { return rng() % 6 == 0 ? Value() : v; };
  // s: an id, a list, an empty list or null.
  switch (rng() % 4) {
    case 0:
      r.values.push_back(Value::Id(rng() % 5));
      break;
    case 1:
      r.values.push_back(std::vector<uint64_t>{rng() % 5, rng() % 5});
      break;
    case 2:
      r.values.push_back(std::vector<uint64_t>{});
      break;
    default:
      r.values.push_back(Value());
  }
  r.values.push_back(maybe_null(Value::Id(rng() % 4)));
  static const char* zones[] = {"midtown", "soho", "harlem"};
  r.values.push_back(maybe_null(Value::Key(zones[rng() % 3])));
  r.values.push_back(maybe_null(Value::Bool(rng() % 2)));
  r.values.push_back(maybe_null(Value::Id(rng() % 3)));
  r.values.push_back(maybe_null(Value::Int(int64_t(rng() % 1001) - 500)));
  r.values.push_back(
      maybe_null(Value::Decimal(int64_t(rng() % 100000) - 50000, 2)));
  r.values.push_back(maybe_null(
      Value::Timestamp(absl::FromUnixSeconds(1600000000 + rng() % 100000))));
  r.values.push_back(maybe_null(Value::Bool(rng() % 2)));  // packed bool "flag"
  // Record times from 1906 to 2033, half of them within four days of the
  // epoch: days before 1970 (negative seconds) next to days after it, which
  // the batch's per-day view cache must keep apart (it rounds down).
  if (rng() % 3) {
    r.time =
        rng() % 2
            ? absl::FromUnixSeconds(int64_t(rng() % 4000000000) - 2000000000)
            : absl::FromUnixSeconds(int64_t(rng() % 691200) - 345600);
  }
  if (bad) {
    switch (rng() % 4) {
      case 0:
        r.values[5] = Value::Int(501);  // out of range
        break;
      case 1:
        r.values[3] = Value::Id(1);  // a number for a bool field
        break;
      case 2:
        r.values[2] = Value::Id(7);  // an id for a keyed field
        break;
      default:
        r.values.pop_back();  // wrong arity
    }
  }
  return r;
}

// Applies a record with single writes (the reference).
void ApplySingly(Index* index, uint64_t col, const Record& r) {
  for (size_t i = 0; i + 1 < kFields.size(); ++i) {
    const FieldInput& in = r.values[i];
    if (std::holds_alternative<std::vector<uint64_t>>(in)) {
      const auto& list = std::get<std::vector<uint64_t>>(in);
      if (list.empty()) {
        // An empty list marks the field present without rows; a cleared set
        // bit keeps field existence (FeatureBase), so set and clear an
        // otherwise unused row.
        FB_ASSERT_OK(index->Set(col, kFields[i], Value::Id(999)));
        FB_ASSERT_OK(index->Clear(col, kFields[i], Value::Id(999)));
      }
      for (uint64_t id : list)
        FB_ASSERT_OK(index->Set(col, kFields[i], Value::Id(id)));
      continue;
    }
    const Value& v = std::get<Value>(in);
    if (v.is_null()) continue;
    std::optional<absl::Time> ts;
    if (kFields[i] == "t") ts = r.time;
    auto st = index->Set(col, kFields[i], v, ts);
    FB_ASSERT_OK(st);
  }
  const Value& flag = std::get<Value>(r.values.back());
  if (!flag.is_null()) {
    FB_ASSERT_OK(index->Set(col, "bools-exists", Value::Key("flag")));
    if (flag.boolean()) {
      FB_ASSERT_OK(index->Set(col, "bools", Value::Key("flag")));
    } else {
      FB_ASSERT_OK(index->Clear(col, "bools", Value::Key("flag")));
    }
  }
}

std::string RunPqlForTest(Index& index, const std::string& pql) {
  auto got = Query(index, pql);
  return got.ok() ? got->ToJson() : ErrorJson(got.status());
}

std::string Dump(Index& index) {
  std::string pql = "Extract(All()";
  for (const char* f :
       {"s", "m", "zone", "b", "t", "v", "d", "ts", "bools", "bools-exists"}) {
    pql += fmt::format(", Rows({})", f);
  }
  pql +=
      ") Rows(t, from=2017-01-01T00:00, to=2017-06-01T00:00) Count(Row(s != "
      "null))";
  pql +=
      " Count(Row(b != null)) Count(Row(zone != null)) Sum(field=d) "
      "Min(field=v) Max(field=ts)";
  for (int r = 0; r < 3; ++r) {
    pql += fmt::format(" Row(t={}, from=2017-03-01T00:00, to=2018-01-01T00:00)",
                       r);
    // Days, months and whole years (every view level) across decades.
    pql += fmt::format(" Row(t={}, from=1950-06-17T00:00, to=2030-02-03T00:00)",
                       r);
    // Single days on both sides of the epoch, and a span across it.
    const char* days[] = {"1969-12-30", "1969-12-31", "1970-01-01",
                          "1970-01-02"};
    for (int d = 0; d < 3; ++d) {
      pql += fmt::format(" Row(t={}, from={}T00:00, to={}T00:00)", r, days[d],
                         days[d + 1]);
    }
    pql += fmt::format(" Row(t={}, from=1969-12-28T00:00, to=1970-01-05T00:00)",
                       r);
  }
  auto got = Query(index, pql);
  FB_EXPECT_OK(got);
  return got.ok() ? got->ToJson() : "";
}

// Value's in-place setters (for decoders that refill one Value per row)
// equal the factories, whatever the Value held before: one reused Value
// takes a seeded random sequence of kinds.
TEST(ValueTest, InPlaceSettersEqualFactories) {
  for (uint64_t seed : testing::TestSeeds(2)) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    Value reused;
    for (int step = 0; step < 2000; ++step) {
      const int64_t n = int64_t(rng()) >> (rng() % 64);
      const std::string key(rng() % 40, char('a' + rng() % 26));
      Value want;
      switch (rng() % 7) {
        case 0:
          reused.SetNull();
          want = Value::Null();
          break;
        case 1:
          reused.SetId(uint64_t(n));
          want = Value::Id(uint64_t(n));
          break;
        case 2:
          reused.SetKey(key);  // empty keys are null, as Value::Key("")
          want = Value::Key(key);
          break;
        case 3:
          reused.SetBool(n & 1);
          want = Value::Bool(n & 1);
          break;
        case 4:
          reused.SetInt(n);
          want = Value::Int(n);
          break;
        case 5: {
          const int scale = 1 + int(rng() % 19);
          reused.SetDecimal(n, scale);
          want = Value::Decimal(n, scale);
          break;
        }
        default:
          reused.SetTimestamp(absl::FromUnixNanos(n));
          want = Value::Timestamp(absl::FromUnixNanos(n));
          break;
      }
      ASSERT_EQ(reused, want) << "step " << step << ": " << reused.DebugString()
                              << " vs " << want.DebugString();
      ASSERT_EQ(reused.DebugString(), want.DebugString());
    }
  }
}

TEST(BatchTest, MatchesSingleWritesInEveryIdMode) {
  for (uint64_t seed : TestSeeds(3)) {
    for (IdMode mode :
         {IdMode::kExplicit, IdMode::kAutoGenerate, IdMode::kOffset}) {
      SCOPED_TRACE(SeedTrace(seed) + " mode " + std::to_string(int(mode)));
      std::mt19937_64 rng(seed);
      auto batched = *Index::Create("i");
      auto single = *Index::Create("i");
      MakeFields(batched.get());
      MakeFields(single.get());
      BatchOptions o;
      o.id_mode = mode;
      o.capacity = 300;
      o.packed_bools = {"flag"};
      auto batch = Batch::Create(batched.get(), kFields, o);
      FB_ASSERT_OK(batch);
      uint64_t next_auto = 0;
      for (int round = 0; round < 4; ++round) {
        std::vector<std::pair<uint64_t, Record>> good;
        uint64_t rejected = 0;
        for (int i = 0; i < 250; ++i) {
          const bool bad = rng() % 10 == 0;
          Record r = RandomRecord(rng, bad);
          uint64_t col = 0;
          if (mode == IdMode::kExplicit) {
            // Duplicates within the batch: the last value wins.
            col = ShardStart(rng() % 3) + rng() % 60;
            r.id = col;
          } else if (mode == IdMode::kOffset) {
            r.stream_partition = uint32_t(rng() % 2);
            r.stream_offset = rng() % 100;
            col = (uint64_t{r.stream_partition} << 40) | r.stream_offset;
          }
          auto added = (*batch)->Add(r);
          if (bad) {
            ASSERT_FALSE(added.ok()) << "record " << i << " should be rejected";
            ASSERT_NE(added.status().message().find("batch: record"),
                      std::string::npos)
                << added.status();
            ++rejected;
            continue;
          }
          FB_ASSERT_OK(added);
          if (mode == IdMode::kAutoGenerate) col = next_auto++;
          good.emplace_back(col, r);
        }
        // Clears and deletes, applied after the adds in both indexes.
        std::vector<uint64_t> deleted;
        if (mode == IdMode::kExplicit && !good.empty()) {
          Record clear;
          const uint64_t col = good[rng() % good.size()].first;
          clear.id = col;
          clear.values.assign(kFields.size(), Value());
          clear.values[0] = Value::Id(rng() % 5);
          clear.values[1] = Value::Id(rng() % 4);
          clear.values[5] = Value::Int(0);
          FB_ASSERT_OK((*batch)->AddClear(clear));
          const uint64_t del = good[rng() % good.size()].first;
          FB_ASSERT_OK((*batch)->DeleteRecord(del));
          for (const auto& [c, r] : good) ApplySingly(single.get(), c, r);
          FB_ASSERT_OK(
              single->Clear(col, "s", std::get<Value>(clear.values[0])));
          FB_ASSERT_OK(
              single->Clear(col, "m", std::get<Value>(clear.values[1])));
          FB_ASSERT_OK(single->Clear(col, "v", Value::Int(0)));
          FB_ASSERT_OK(single->Delete(Bitmap::Of({del})));
        } else {
          for (const auto& [c, r] : good) ApplySingly(single.get(), c, r);
        }
        auto flushed = (*batch)->Flush();
        FB_ASSERT_OK(flushed);
        EXPECT_EQ(flushed->accepted, good.size());
        EXPECT_EQ(flushed->rejected, rejected);
        const std::string got = Dump(*batched), want = Dump(*single);
        if (got != want) {
          size_t at = 0;
          while (at < got.size() && at < want.size() && got[at] == want[at])
            ++at;
          const size_t from = at > 300 ? at - 300 : 0;
          FAIL() << "round " << round << ": dumps differ at byte " << at
                 << "\nbatch:  ..." << got.substr(from, 400) << "\nsingle: ..."
                 << want.substr(from, 400);
        }
      }
    }
  }
}

// The auto-generate id allocator hands out ids past every record the index
// holds, whichever write path made it: two explicit ids, then 200,000
// generated ones, are 200,002 records.
TEST(BatchTest, AutoGeneratedIdsStartPastExplicitIds) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  auto explicit_batch = *Batch::Create(index.get(), {"m"});
  for (uint64_t id : {1, 2})
    FB_ASSERT_OK(
        explicit_batch->Add(Record{.id = id, .values = {Value::Id(7)}}));
  FB_ASSERT_OK(explicit_batch->Flush());
  auto gen = *Batch::Create(index.get(), {"m"},
                            BatchOptions{.id_mode = IdMode::kAutoGenerate});
  for (int i = 0; i < 200000; ++i)
    FB_ASSERT_OK(gen->Add(Record{.values = {Value::Id(3)}}));
  FB_ASSERT_OK(gen->Flush());
  EXPECT_EQ(index->GetSnapshot()->All()->Cardinality(), 200002u);
  EXPECT_EQ(index->GetSnapshot()->Row("m", Value::Id(7))->Cardinality(), 2u);
}

// Against a model of the ids written: explicit writes of every kind (set,
// int, a time field without a standard view, with and without index
// existence) at random columns, then generated ids, which must all be new.
TEST(BatchTest, AutoGeneratedIdsNeverHitAnExistingRecordAgainstModel) {
  for (uint64_t seed : TestSeeds(6)) {
    for (bool existence : {true, false}) {
      SCOPED_TRACE(SeedTrace(seed) + (existence ? " existence" : " none"));
      std::mt19937_64 rng(seed);
      auto index =
          *Index::Create("i", IndexOptions{.track_existence = existence});
      FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
      FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(-10, 10)));
      FieldOptions t = FieldOptions::Time(*TimeQuantum::Parse("YM"));
      t.no_standard_view = true;
      FB_ASSERT_OK(index->CreateField("t", t));
      std::set<uint64_t> model, generated_ids;
      for (int round = 0; round < 4; ++round) {
        const int n = 1 + int(rng() % 20);
        for (int i = 0; i < n; ++i) {
          const uint64_t col = ShardStart(rng() % 4) + rng() % 5000;
          switch (rng() % 3) {
            case 0:
              FB_ASSERT_OK(index->Set(col, "s", Value::Id(1)));
              break;
            case 1:
              FB_ASSERT_OK(index->Set(col, "v", Value::Int(5)));
              break;
            default:
              FB_ASSERT_OK(index->Set(col, "t", Value::Id(1),
                                      absl::FromUnixSeconds(1600000000)));
          }
          model.insert(col);
        }
        auto gen = *Batch::Create(
            index.get(), {"s"}, BatchOptions{.id_mode = IdMode::kAutoGenerate});
        const int k = 1 + int(rng() % 3000);
        for (int i = 0; i < k; ++i)
          FB_ASSERT_OK(gen->Add(Record{.values = {Value::Id(9)}}));
        FB_ASSERT_OK(gen->Flush());
        const Bitmap got = *index->GetSnapshot()->Row("s", Value::Id(9));
        std::vector<uint64_t> fresh;  // this round's generated ids
        for (uint64_t c : got.ToVector())
          if (!generated_ids.contains(c)) fresh.push_back(c);
        ASSERT_EQ(fresh.size(), uint64_t(k)) << "round " << round;
        for (uint64_t c : fresh) {
          ASSERT_FALSE(model.contains(c)) << "round " << round << ": id " << c
                                          << " was generated over a record";
          model.insert(c);
          generated_ids.insert(c);
        }
      }
    }
  }
}

// Generated ids are never handed out twice, even after the records holding
// them were deleted and the index reopened.
TEST(BatchTest, AutoGeneratedIdsAreNotReusedAfterDeleteAndReopen) {
  testing::TempDir dir("autoid");
  OpenOptions o;
  o.name = "i";
  {
    auto index = *Index::Open(o, dir.path());
    FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
    auto gen = *Batch::Create(index.get(), {"m"},
                              BatchOptions{.id_mode = IdMode::kAutoGenerate});
    for (int i = 0; i < 10; ++i)
      FB_ASSERT_OK(gen->Add(Record{.values = {Value::Id(1)}}));
    FB_ASSERT_OK(gen->Flush());
    FB_ASSERT_OK(index->Delete(Bitmap::Of({7, 8, 9})));
  }
  auto index = *Index::Open(o, dir.path());
  auto gen = *Batch::Create(index.get(), {"m"},
                            BatchOptions{.id_mode = IdMode::kAutoGenerate});
  FB_ASSERT_OK(gen->Add(Record{.values = {Value::Id(2)}}));
  FB_ASSERT_OK(gen->Flush());
  EXPECT_EQ(index->GetSnapshot()->Row("m", Value::Id(2))->ToVector(),
            std::vector<uint64_t>{10});
}

// Keys that are not valid UTF-8 reject their record, not the batch; primary
// key parts that contain the separator cannot merge two records.
TEST(BatchTest, InvalidUtf8KeysRejectTheirRecordOnly) {
  auto index = *Index::Create("i", IndexOptions{.keys = true});
  FieldOptions keyed = FieldOptions::Set();
  keyed.keys = true;
  FB_ASSERT_OK(index->CreateField("tags", keyed));
  auto batch = *Batch::Create(index.get(), {"tags"});
  FB_ASSERT_OK(batch->Add(
      Record{.id = std::string("ok"), .values = {Value::Key("caf\xC3\xA9")}}));
  auto bad_row = batch->Add(
      Record{.id = std::string("r1"), .values = {Value::Key("x\xC3")}});
  EXPECT_EQ(bad_row.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(
      bad_row.status().message().find("key is not valid UTF-8 (byte 2 of 2)"),
      absl::string_view::npos)
      << bad_row.status();
  auto bad_list =
      batch->Add(Record{.id = std::string("r2"),
                        .values = {std::vector<std::string>{"fine", "\xFF"}}});
  EXPECT_EQ(bad_list.status().code(), absl::StatusCode::kInvalidArgument);
  auto bad_id = batch->Add(
      Record{.id = std::string("\xE2\x82"), .values = {Value::Key("t")}});
  EXPECT_NE(bad_id.status().message().find(
                "record key is not valid UTF-8 (byte 1 of 2)"),
            absl::string_view::npos)
      << bad_id.status();
  auto flushed = batch->Flush();
  FB_ASSERT_OK(flushed);
  EXPECT_EQ(flushed->accepted, 1u);
  EXPECT_EQ(flushed->rejected, 3u);
  EXPECT_EQ(index->ColumnId("\xFF").status().code(),
            absl::StatusCode::kInvalidArgument);

  const std::vector<Value> ab_c = {Value::Key("a|b"), Value::Key("c")};
  const std::vector<Value> a_bc = {Value::Key("a"), Value::Key("b|c")};
  EXPECT_EQ(JoinPrimaryKey(ab_c).status().message(),
            "primary key: value 0 contains the separator '|'");
  EXPECT_EQ(JoinPrimaryKey(a_bc).status().message(),
            "primary key: value 1 contains the separator '|'");
  const std::vector<Value> single = {Value::Key("a|b")};
  EXPECT_EQ(*JoinPrimaryKey(single), "a|b");
  const std::vector<Value> mixed = {Value::Key("a"), Value::Id(7),
                                    Value::Bool(true)};
  EXPECT_EQ(*JoinPrimaryKey(mixed), "a|7|true");
}

TEST(BatchTest, FlushIsOneAtomicCommit) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  auto batch =
      *Batch::Create(index.get(), {"m"}, BatchOptions{.capacity = 10000});
  for (uint64_t c = 0; c < 5000; ++c) {
    FB_ASSERT_OK(
        batch->Add(Record{.id = c * 997, .values = {Value::Id(c % 7)}}));
  }
  const uint64_t before = index->GetSnapshot()->version();
  FB_ASSERT_OK(batch->Flush());
  EXPECT_EQ(index->GetSnapshot()->version(), before + 1);
  EXPECT_EQ(index->GetSnapshot()->All()->Cardinality(), 5000u);
}

// PeakMemoryBytes covers what Flush holds on top of the records: with one
// shard of 5000 records in a mutex and an int column it must count at least
// the records (8 bytes of row id, 9 of value each) and the gather buffers
// (16 bytes per pair or value), and never fall.
TEST(BatchTest, PeakMemoryCountsFlushBuffers) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(0, 1000)));
  auto batch =
      *Batch::Create(index.get(), {"m", "v"}, BatchOptions{.capacity = 5000});
  for (uint64_t c = 0; c < 5000; ++c) {
    FB_ASSERT_OK(batch->Add(Record{
        .id = c, .values = {Value::Id(c % 7), Value::Int(int64_t(c % 1000))}}));
  }
  const size_t added = batch->MemoryBytes();
  EXPECT_GE(added, 5000u * (8 + 9));
  EXPECT_GE(batch->PeakMemoryBytes(), added);
  FB_ASSERT_OK(batch->Flush());
  EXPECT_GE(batch->PeakMemoryBytes(), added + 5000u * 16);
  const size_t peak = batch->PeakMemoryBytes();
  FB_ASSERT_OK(batch->Add(
      Record{.id = uint64_t{1}, .values = {Value::Id(1), Value::Int(1)}}));
  EXPECT_GE(batch->PeakMemoryBytes(), peak);
}

TEST(BatchTest, FullAndStaleAndBadOptions) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  auto batch = *Batch::Create(index.get(), {"s"}, BatchOptions{.capacity = 2});
  EXPECT_FALSE(
      *batch->Add(Record{.id = uint64_t{1}, .values = {Value::Id(1)}}));
  EXPECT_TRUE(*batch->Add(Record{.id = uint64_t{2}, .values = {Value::Id(1)}}));
  EXPECT_EQ(batch->Add(Record{.id = uint64_t{3}, .values = {Value::Id(1)}})
                .status()
                .code(),
            absl::StatusCode::kFailedPrecondition);
  FB_ASSERT_OK(batch->Flush());
  auto stale = *Batch::Create(
      index.get(), {"s"}, BatchOptions{.stale_after = absl::ZeroDuration()});
  EXPECT_TRUE(*stale->Add(Record{.id = uint64_t{1}, .values = {Value::Id(1)}}));
  EXPECT_EQ(Batch::Create(index.get(), {"nope"}).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(Batch::Create(index.get(), {"s", "s"}).status().code(),
            absl::StatusCode::kInvalidArgument);
  auto keyed = *Index::Create("k", IndexOptions{.keys = true});
  EXPECT_EQ(Batch::Create(keyed.get(), {},
                          BatchOptions{.id_mode = IdMode::kAutoGenerate})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
  auto bad =
      batch->Add(Record{.id = uint64_t{9}, .values = {Value::Bool(true)}});
  EXPECT_EQ(
      bad.status().message(),
      "batch: record 0 (id 9): field \"s\": takes a row id, not bool true");
}

// Record times must fall in years 1..9999 (a time view's name has four
// digits): the first and last second are taken, one second outside is an
// error naming the record, and the rejected record leaves nothing behind.
TEST(BatchTest, RecordTimesOutsideYears1To9999AreRejected) {
  auto index = *Index::Create("t");
  FB_ASSERT_OK(
      index->CreateField("t", FieldOptions::Time(*TimeQuantum::Parse("Y"))));
  auto batch = *Batch::Create(index.get(), {"t"});
  const absl::Time first =
      absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  const absl::Time end = absl::FromCivil(
      absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone());
  auto add = [&](uint64_t id, absl::Time t) {
    return batch->Add(Record{.id = id, .values = {Value::Id(1)}, .time = t});
  };
  FB_EXPECT_OK(add(1, first));
  FB_EXPECT_OK(add(2, end - absl::Nanoseconds(1)));
  auto late = add(3, end);
  EXPECT_EQ(std::string(late.status().message()),
            "batch: record 2 (id 3): timestamp +10000-01-01T00:00:00Z "
            "outside "
            "years 1..9999");
  auto early = add(4, first - absl::Nanoseconds(1));
  EXPECT_EQ(early.status().code(), absl::StatusCode::kInvalidArgument);
  FB_ASSERT_OK(batch->Flush());
  EXPECT_EQ(index->GetSnapshot()->Row("t", Value::Id(1))->ToVector(),
            (std::vector<uint64_t>{1, 2}));
}

TEST(BatchTest, KeyedIndexTranslatesRecordKeysWithTheCache) {
  auto index = *Index::Create("k", IndexOptions{.keys = true});
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  auto batch = *Batch::Create(index.get(), {"s"});
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < 100; ++i) {
      FB_ASSERT_OK(batch->Add(
          Record{.id = fmt::format("user-{}", i), .values = {Value::Id(1)}}));
    }
    auto r = batch->Flush();
    FB_ASSERT_OK(r);
    // The second round finds every key in the cache.
    EXPECT_EQ(r->key_cache_hits, round == 0 ? 0u : 100u);
  }
  EXPECT_EQ(index->GetSnapshot()->All()->Cardinality(), 100u);
  EXPECT_EQ(*JoinPrimaryKey(std::vector<Value>{Value::Key("a"), Value::Int(-3),
                                               Value::Id(7)}),
            "a|-3|7");
  EXPECT_FALSE(
      JoinPrimaryKey(std::vector<Value>{Value::Key("a"), Value()}).ok());
}

}  // namespace
}  // namespace featurebase

namespace featurebase {
namespace {

// A deleted record's id is freed and may be reused by a new key: a batch
// must not keep translating the deleted key to that id.
TEST(BatchTest, DeletedKeysAreNotServedFromTheCache) {
  auto index = *Index::Create("k", IndexOptions{.keys = true, .partitions = 1});
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  auto batch = *Batch::Create(index.get(), {"s"});
  FB_ASSERT_OK(
      batch->Add(Record{.id = std::string("ann"), .values = {Value::Id(1)}}));
  FB_ASSERT_OK(batch->Flush());
  const uint64_t ann = *index->GetSnapshot()->ColumnKeys()->FindKey("ann");
  FB_ASSERT_OK(index->Delete(Bitmap::Of({ann})));
  // "bob" takes the freed id; "ann" must get a new one.
  ASSERT_EQ(*index->ColumnId("bob"), ann);
  FB_ASSERT_OK(
      batch->Add(Record{.id = std::string("ann"), .values = {Value::Id(2)}}));
  FB_ASSERT_OK(batch->Flush());
  const uint64_t ann2 = *index->GetSnapshot()->ColumnKeys()->FindKey("ann");
  EXPECT_NE(ann2, ann);
  EXPECT_EQ(RunPqlForTest(*index, "Row(s=2)"),
            "{\"results\":[{\"keys\":[\"ann\"]}]}");
  // Batch deletes free keys too.
  FB_ASSERT_OK(batch->DeleteRecord(std::string("ann")));
  FB_ASSERT_OK(batch->Flush());
  EXPECT_EQ(*index->GetSnapshot()->ColumnKeys()->FindKey("ann"), 0u);
}

}  // namespace
}  // namespace featurebase

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

// What one record holds, in the naive model.
struct ModelRecord {
  bool has_ks = false;  // an empty list marks the field present
  std::set<std::string> ks;
  std::optional<std::string> km;
  std::optional<uint64_t> m;
  std::optional<int64_t> v;
  std::optional<bool> b;
};

// A set field's key: 1 to 50 bytes, some sharing prefixes and lengths.
std::string TagKey(uint64_t t) {
  switch (t % 4) {
    case 0:
      return std::string(1 + t % 3, char('a' + t % 26));
    case 1:  // the same first 8 bytes and length, differing at the end
      return fmt::format("tagname-{:02d}", t);
    case 2:
      return std::string(40, 'x') + std::to_string(t);
    default:
      return "tag-" + std::to_string(t) + "-" + std::string(t % 13, 'y');
  }
}

// Random records over a few shards (dense runs of ids and scattered ids,
// repeated ids), a tenth of them rejected by a bad value in a random later
// field after earlier fields were staged (new keys included): after every
// flush each record matches a naive model, and keys named only by rejected
// records or clears were never created.
TEST(BatchTest, RejectedRecordsLeaveNoTraceAgainstModel) {
  const std::vector<std::string> fields = {"ks", "km", "m", "v", "b"};
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = *Index::Create("i");
    FieldOptions ks = FieldOptions::Set();
    ks.keys = true;
    FieldOptions km = FieldOptions::Mutex();
    km.keys = true;
    FB_ASSERT_OK(index->CreateField("ks", ks));
    FB_ASSERT_OK(index->CreateField("km", km));
    FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
    FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(-100, 100)));
    FB_ASSERT_OK(index->CreateField("b", FieldOptions::Bool()));
    auto batch =
        *Batch::Create(index.get(), fields, BatchOptions{.capacity = 20000});
    std::map<uint64_t, ModelRecord> model;
    std::vector<std::string> never;  // keys no valid record named
    uint64_t bad_keys = 0;
    for (int round = 0; round < 4; ++round) {
      SCOPED_TRACE("round " + std::to_string(round));
      const bool dense = round % 2 == 0;
      const uint64_t shard = rng() % 3;
      uint64_t next = ShardStart(shard) + rng() % 1000;
      // Dense rounds fill over 4096 offsets of a shard (bitset-built rows);
      // scattered ones leave shards sparse.
      const int n = dense ? 4100 + int(rng() % 3000) : 500 + int(rng() % 3000);
      uint64_t rejected = 0;
      for (int i = 0; i < n; ++i) {
        uint64_t col = dense ? next++ : ShardStart(rng() % 3) + rng() % 20000;
        if (dense && rng() % 50 == 0) col -= 1 + rng() % 10;  // a repeat
        Record r;
        r.id = col;
        ModelRecord m;
        std::vector<std::string> tags;
        switch (rng() % 5) {
          case 0:
            r.values.push_back(Value());
            break;
          case 1:
            r.values.push_back(std::vector<std::string>{});
            m.has_ks = true;
            break;
          default:
            for (int k = int(rng() % 3); k >= 0; --k)
              tags.push_back(TagKey(rng() % 40));
            m.has_ks = true;
            m.ks.insert(tags.begin(), tags.end());
            r.values.push_back(tags);
        }
        if (rng() % 5 == 0) {
          r.values.push_back(Value());
        } else {
          m.km = "z" + std::to_string(rng() % 30);
          r.values.push_back(Value::Key(*m.km));
        }
        if (rng() % 5) m.m = rng() % 9;
        r.values.push_back(m.m ? Value::Id(*m.m) : Value());
        if (rng() % 5) m.v = int64_t(rng() % 201) - 100;
        r.values.push_back(m.v ? Value::Int(*m.v) : Value());
        if (rng() % 5) m.b = rng() % 2 == 0;
        r.values.push_back(m.b ? Value::Bool(*m.b) : Value());
        const bool bad = rng() % 10 == 0;
        if (bad) {
          // Keys only this rejected record names, then a bad later field.
          const std::string k = "bad" + std::to_string(bad_keys++);
          never.push_back(k);
          r.values[0] = std::vector<std::string>{"t1", k};
          const size_t at = 1 + rng() % 4;
          if (at > 1) {
            never.push_back(k + "m");
            r.values[1] = Value::Key(k + "m");
          }
          switch (at) {
            case 1:
              r.values[1] = Value::Id(3);  // an id for a keyed field
              break;
            case 2:
              r.values[2] = Value::Key("x");  // a key for an unkeyed field
              break;
            case 3:
              r.values[3] = Value::Int(101);  // out of range
              break;
            default:
              r.values[4] = std::vector<uint64_t>{1};  // a list for a bool
          }
        }
        auto added = batch->Add(r);
        if (bad) {
          ASSERT_FALSE(added.ok()) << "record " << i;
          ++rejected;
          continue;
        }
        FB_ASSERT_OK(added);
        // Set fields accumulate; single values: the last non-null wins.
        ModelRecord& have = model[col];
        have.has_ks |= m.has_ks;
        have.ks.insert(m.ks.begin(), m.ks.end());
        if (m.km) have.km = m.km;
        if (m.m) have.m = m.m;
        if (m.v) have.v = m.v;
        if (m.b) have.b = m.b;
      }
      // A clear naming a key nobody set creates nothing and changes nothing;
      // a clear of a set key removes it.
      if (!model.empty()) {
        auto it = model.begin();
        std::advance(it, rng() % model.size());
        const std::string k = "clear" + std::to_string(round);
        never.push_back(k);
        Record clear;
        clear.id = it->first;
        clear.values.assign(fields.size(), Value());
        std::vector<std::string> keys = {k};
        if (!it->second.ks.empty()) {
          keys.push_back(*it->second.ks.begin());
          it->second.ks.erase(it->second.ks.begin());
        }
        clear.values[0] = keys;
        FB_ASSERT_OK(batch->AddClear(clear));
      }
      auto flushed = batch->Flush();
      FB_ASSERT_OK(flushed);
      EXPECT_EQ(flushed->rejected, rejected);
      auto snap = index->GetSnapshot();
      const KeyTranslator* ks_keys = *snap->RowKeys("ks");
      const KeyTranslator* km_keys = *snap->RowKeys("km");
      for (const std::string& k : never) {
        ASSERT_EQ(*ks_keys->FindKey(k), 0u) << "key " << k << " was created";
        ASSERT_EQ(*km_keys->FindKey(k), 0u) << "key " << k << " was created";
      }
      const Bitmap ks_present = *snap->NotNull("ks");
      for (const auto& [col, want] : model) {
        SCOPED_TRACE("column " + std::to_string(col));
        ASSERT_EQ(ks_present.Contains(col), want.has_ks);
        std::vector<uint64_t> want_ks;
        for (const std::string& k : want.ks)
          want_ks.push_back(*ks_keys->FindKey(k));
        std::sort(want_ks.begin(), want_ks.end());
        std::vector<uint64_t> got_ks = *snap->RowsOfColumn("ks", col);
        std::sort(got_ks.begin(), got_ks.end());
        ASSERT_EQ(got_ks, want_ks);
        ASSERT_EQ(*snap->RowsOfColumn("km", col),
                  want.km ? std::vector<uint64_t>{*km_keys->FindKey(*want.km)}
                          : std::vector<uint64_t>{});
        ASSERT_EQ(
            *snap->RowsOfColumn("m", col),
            want.m ? std::vector<uint64_t>{*want.m} : std::vector<uint64_t>{});
        const std::optional<Value> v = *snap->FieldValue("v", col);
        ASSERT_EQ(v.has_value(), want.v.has_value());
        if (v) {
          ASSERT_EQ(v->integer(), *want.v);
        }
        ASSERT_EQ(*snap->RowsOfColumn("b", col),
                  want.b ? std::vector<uint64_t>{*want.b ? 1u : 0u}
                         : std::vector<uint64_t>{});
      }
      ASSERT_EQ(snap->All()->Cardinality(), model.size());
    }
  }
}

}  // namespace
}  // namespace featurebase
