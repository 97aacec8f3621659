// Aggregating writes (BatchOptions::merges, Index::Aggregate) against a
// naive model of the documented semantics: records in the order added, each
// merged field combined with the stored value, a record whose merged value
// leaves its field's range (or overflows) rejected whole.
#include <gtest/gtest.h>

#include <map>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::StatusIs;
using featurebase::testing::TestSeeds;
using ::testing::HasSubstr;

struct ModelField {
  std::string name;
  Merge merge;
  int64_t min, max;
};

// The batch's fields: merged value fields, an unmerged value field and a
// mutex field (a rejected record must write none of them).
const std::vector<ModelField>& Fields() {
  static const std::vector<ModelField> f = {
      {"clicks", Merge::kSum, 0, 1000},
      {"visits", Merge::kCount, 0, 50},
      {"lo", Merge::kMin, -100, 100},
      {"hi", Merge::kMax, -100, 100},
      {"spend", Merge::kSum, -1000000, 1000000},  // decimal, scale 2
      {"big", Merge::kSum, INT64_MIN, INT64_MAX},
      {"last", Merge::kLast, -5, 5},
  };
  return f;
}

std::unique_ptr<Index> MakeIndex(bool keyed) {
  IndexOptions io;
  io.keys = keyed;
  auto index = *Index::Create("m", io);
  for (const ModelField& f : Fields()) {
    FieldOptions o = f.name == "spend" ? FieldOptions::Decimal(2, f.min, f.max)
                                       : FieldOptions::Int(f.min, f.max);
    FB_EXPECT_OK(index->CreateField(f.name, o));
  }
  FB_EXPECT_OK(index->CreateField("tag", FieldOptions::Mutex()));
  return index;
}

// One record's input: a value per field (nullopt: null) and a tag.
struct Input {
  uint64_t id;
  std::vector<std::optional<int64_t>> values;
  std::optional<uint64_t> tag;
};

struct Model {
  std::map<uint64_t, std::vector<std::optional<int64_t>>> values;
  std::map<uint64_t, uint64_t> tag;
  std::set<uint64_t> exists;

  // Applies `in` as the documented semantics say; false if rejected.
  bool Apply(const Input& in) {
    auto& cur = values[in.id];
    cur.resize(Fields().size());
    std::vector<std::optional<int64_t>> next = cur;
    for (size_t i = 0; i < Fields().size(); ++i) {
      if (!in.values[i]) continue;
      const ModelField& f = Fields()[i];
      const __int128 v = *in.values[i];
      const std::optional<int64_t> s = cur[i];
      __int128 r = v;
      switch (f.merge) {
        case Merge::kLast:
          break;
        case Merge::kSum:
          r = s ? *s + v : v;
          break;
        case Merge::kCount:
          r = s ? *s + 1 : 1;
          break;
        case Merge::kMin:
          r = s && *s < v ? *s : v;
          break;
        case Merge::kMax:
          r = s && *s > v ? *s : v;
          break;
      }
      if (r < f.min || r > f.max) return false;
      next[i] = int64_t(r);
    }
    cur = next;
    if (in.tag) tag[in.id] = *in.tag;
    exists.insert(in.id);
    return true;
  }
};

std::string KeyOf(uint64_t id) { return fmt::format("user-{}", id); }

Record ToRecord(const Input& in, bool keyed) {
  Record r;
  if (keyed) {
    r.id = KeyOf(in.id);
  } else {
    r.id = in.id;
  }
  for (size_t i = 0; i < Fields().size(); ++i) {
    if (!in.values[i]) {
      r.values.push_back(Value());
    } else if (Fields()[i].name == "spend") {
      r.values.push_back(Value::Decimal(*in.values[i], 2));
    } else {
      r.values.push_back(Value::Int(*in.values[i]));
    }
  }
  r.values.push_back(in.tag ? Value::Id(*in.tag) : Value());
  return r;
}

Input RandomInput(std::mt19937_64& rng, const std::vector<uint64_t>& ids) {
  Input in;
  in.id = ids[rng() % ids.size()];
  for (const ModelField& f : Fields()) {
    if (rng() % 10 < 3) {
      in.values.push_back(std::nullopt);
      continue;
    }
    int64_t v = 0;
    if (f.name == "clicks") {
      v = int64_t(rng() % 300);
    } else if (f.name == "visits") {
      v = 1;
    } else if (f.name == "spend") {
      v = int64_t(rng() % 400001) - 150000;
    } else if (f.name == "big") {
      // Near the ends of int64, so that some sums overflow.
      v = rng() % 2 ? INT64_MAX - int64_t(rng() % 1000)
                    : INT64_MIN + int64_t(rng() % 1000);
      if (rng() % 3 == 0) v = int64_t(rng() % 1000);
    } else {
      v = int64_t(rng() % uint64_t(f.max - f.min + 1)) + f.min;
    }
    in.values.push_back(v);
  }
  if (rng() % 2) in.tag = rng() % 4;
  return in;
}

std::optional<int64_t> Stored(const Snapshot& s, std::string_view field,
                              uint64_t col) {
  auto v = s.FieldValue(field, col);
  EXPECT_TRUE(v.ok()) << v.status();
  if (!v.ok() || !v->has_value()) return std::nullopt;
  return (*v)->integer();
}

void ExpectMatches(Index& index, const Model& m, bool keyed) {
  auto snap = index.GetSnapshot();
  for (const auto& [id, vals] : m.values) {
    uint64_t col = id;
    if (keyed) {
      auto found = snap->ColumnKeys()->FindKey(KeyOf(id));
      ASSERT_TRUE(found.ok());
      if (*found == 0) {
        // Never translated, so never accepted.
        EXPECT_FALSE(m.exists.count(id)) << KeyOf(id);
        continue;
      }
      col = *found;
    }
    for (size_t i = 0; i < Fields().size(); ++i) {
      const std::optional<int64_t> want =
          i < vals.size() ? vals[i] : std::nullopt;
      EXPECT_EQ(Stored(*snap, Fields()[i].name, col), want)
          << "record " << id << " field " << Fields()[i].name;
    }
    auto rows = snap->RowsOfColumn("tag", col);
    ASSERT_TRUE(rows.ok());
    auto t = m.tag.find(id);
    EXPECT_EQ(*rows, t == m.tag.end() ? std::vector<uint64_t>{}
                                      : std::vector<uint64_t>{t->second})
        << "record " << id;
    auto all = snap->All();
    ASSERT_TRUE(all.ok());
    EXPECT_EQ(all->Contains(col), m.exists.count(id) == 1) << "record " << id;
  }
}

class BatchMergeTest : public ::testing::TestWithParam<bool> {};

TEST_P(BatchMergeTest, MatchesTheModelOverRandomBatches) {
  const bool keyed = GetParam();
  for (uint64_t seed : TestSeeds(6)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = MakeIndex(keyed);
    std::vector<std::string> names;
    BatchOptions o;
    for (const ModelField& f : Fields()) {
      names.push_back(f.name);
      if (f.merge != Merge::kLast || rng() % 2) o.merges[f.name] = f.merge;
    }
    names.push_back("tag");
    // Ids in three shards, few enough that records repeat in a batch.
    std::vector<uint64_t> ids;
    for (int i = 0; i < 30; ++i)
      ids.push_back(ShardStart(rng() % 3) + rng() % 5000);
    auto batch = Batch::Create(index.get(), names, o);
    FB_ASSERT_OK(batch);
    Model m;
    uint64_t total_rejected = 0;
    for (int flush = 0; flush < 4; ++flush) {
      const int n = int(rng() % 300) + 1;
      uint64_t want_rejected = 0;
      for (int k = 0; k < n; ++k) {
        const Input in = RandomInput(rng, ids);
        FB_ASSERT_OK((*batch)->Add(ToRecord(in, keyed)));
        if (!m.Apply(in)) ++want_rejected;
      }
      auto r = (*batch)->Flush();
      FB_ASSERT_OK(r);
      EXPECT_EQ(r->accepted, uint64_t(n) - want_rejected);
      EXPECT_EQ(r->rejected, want_rejected);
      total_rejected += want_rejected;
      ASSERT_EQ(r->rejections.size(), want_rejected);
      for (const Status& s : r->rejections) {
        EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange) << s;
        EXPECT_THAT(std::string(s.message()),
                    ::testing::ContainsRegex("^batch: added record [0-9]+ "
                                             "\\((id|key) .*\\): field \""));
      }
      ExpectMatches(*index, m, keyed);
    }
    // The inputs are drawn so that merges do leave the ranges.
    EXPECT_GT(total_rejected, 0u);
  }
}

INSTANTIATE_TEST_SUITE_P(Ids, BatchMergeTest, ::testing::Values(false, true),
                         [](const auto& info) {
                           return info.param ? "Keyed" : "Ids";
                         });

TEST(BatchMergeTest, RejectionNamesTheRecordFieldAndResult) {
  auto index = *Index::Create("m");
  FB_ASSERT_OK(index->CreateField("clicks", FieldOptions::Int(0, 120)));
  FB_ASSERT_OK(index->CreateField("big", FieldOptions::Int()));
  BatchOptions o;
  o.merges = {{"clicks", Merge::kSum}, {"big", Merge::kSum}};
  auto batch = *Batch::Create(index.get(), {"clicks", "big"}, o);
  FB_ASSERT_OK(
      batch->Add({.id = uint64_t{7}, .values = {Value::Int(100), Value()}}));
  FB_ASSERT_OK(
      batch->Add({.id = uint64_t{7}, .values = {Value::Int(30), Value()}}));
  FB_ASSERT_OK(
      batch->Add({.id = uint64_t{7}, .values = {Value::Int(20), Value()}}));
  FB_ASSERT_OK(batch->Add(
      {.id = uint64_t{9}, .values = {Value(), Value::Int(INT64_MAX)}}));
  FB_ASSERT_OK(batch->Add(
      {.id = uint64_t{9}, .values = {Value::Int(1), Value::Int(1)}}));
  auto r = batch->Flush();
  FB_ASSERT_OK(r);
  EXPECT_EQ(r->accepted, 3u);
  ASSERT_EQ(r->rejections.size(), 2u);
  EXPECT_EQ(r->rejections[0].message(),
            "batch: added record 1 (id 7): field \"clicks\": sum 130 out of "
            "range [0, 120]");
  EXPECT_EQ(r->rejections[1].message(),
            "batch: added record 4 (id 9): field \"big\": sum overflows a "
            "64-bit integer");
  auto snap = index->GetSnapshot();
  EXPECT_EQ((*snap->FieldValue("clicks", 7))->integer(), 120);
  // Record 4 was rejected whole: its clicks were not written either.
  EXPECT_FALSE(snap->FieldValue("clicks", 9)->has_value());
  EXPECT_EQ((*snap->FieldValue("big", 9))->integer(), INT64_MAX);
}

TEST(BatchMergeTest, CreateRefusesMergesAFieldCannotTake) {
  auto index = *Index::Create("m");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_ASSERT_OK(index->CreateField("d", FieldOptions::Decimal(2)));
  FB_ASSERT_OK(index->CreateField("t", FieldOptions::Timestamp()));
  FB_ASSERT_OK(index->CreateField("i", FieldOptions::Int()));
  auto refused = [&](std::vector<std::string> fields, std::string field,
                     Merge merge) {
    BatchOptions o;
    o.merges[field] = merge;
    o.packed_bools = {"p"};
    return Batch::Create(index.get(), fields, o).status();
  };
  EXPECT_THAT(refused({"s"}, "s", Merge::kSum),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("merge sum on set field \"s\": it takes int "
                                 "and decimal fields")));
  EXPECT_THAT(refused({"d"}, "d", Merge::kCount),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("merge count on decimal field \"d\"")));
  EXPECT_THAT(refused({"t"}, "t", Merge::kSum),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("merge sum on timestamp field \"t\"")));
  EXPECT_THAT(refused({"i"}, "d", Merge::kSum),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("which the batch does not write")));
  EXPECT_THAT(refused({"p"}, "p", Merge::kMax),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("merge max on bool field \"p\"")));
  FB_EXPECT_OK(refused({"t"}, "t", Merge::kMax));
  FB_EXPECT_OK(refused({"d"}, "d", Merge::kSum));
  EXPECT_THAT(ParseMerge("avg"), StatusIs(absl::StatusCode::kInvalidArgument,
                                          HasSubstr("\"avg\" is not one of")));
  for (Merge m :
       {Merge::kLast, Merge::kSum, Merge::kCount, Merge::kMin, Merge::kMax}) {
    EXPECT_EQ(*ParseMerge(MergeName(m)), m);
  }
}

// Timestamps keep their first and last sighting with kMin and kMax.
TEST(BatchMergeTest, TimestampsKeepFirstAndLastSeen) {
  auto index = *Index::Create("m");
  FB_ASSERT_OK(index->CreateField("first", FieldOptions::Timestamp()));
  FB_ASSERT_OK(index->CreateField("last", FieldOptions::Timestamp()));
  BatchOptions o;
  o.merges = {{"first", Merge::kMin}, {"last", Merge::kMax}};
  auto batch = *Batch::Create(index.get(), {"first", "last"}, o);
  for (int64_t t : {500, 100, 900, 300}) {
    const Value v = Value::Timestamp(absl::FromUnixSeconds(t));
    FB_ASSERT_OK(batch->Add({.id = uint64_t{1}, .values = {v, v}}));
    FB_ASSERT_OK(batch->Flush());
  }
  auto snap = index->GetSnapshot();
  EXPECT_EQ((*snap->FieldValue("first", 1))->timestamp(),
            absl::FromUnixSeconds(100));
  EXPECT_EQ((*snap->FieldValue("last", 1))->timestamp(),
            absl::FromUnixSeconds(900));
}

// With auto-generated ids every record is new: a sum is its value and a
// count is 1.
TEST(BatchMergeTest, AutoGeneratedRecordsStartFromNothing) {
  auto index = *Index::Create("m");
  FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(0, 10)));
  FB_ASSERT_OK(index->CreateField("c", FieldOptions::Int(0, 10)));
  BatchOptions o;
  o.id_mode = IdMode::kAutoGenerate;
  o.merges = {{"v", Merge::kSum}, {"c", Merge::kCount}};
  auto batch = *Batch::Create(index.get(), {"v", "c"}, o);
  for (int64_t v : {3, 4, 5})
    FB_ASSERT_OK(batch->Add({.values = {Value::Int(v), Value::Int(9)}}));
  FB_ASSERT_OK(batch->Flush());
  auto snap = index->GetSnapshot();
  for (uint64_t col = 0; col < 3; ++col) {
    EXPECT_EQ((*snap->FieldValue("v", col))->integer(), int64_t(col) + 3);
    EXPECT_EQ((*snap->FieldValue("c", col))->integer(), 1);
  }
}

TEST(IndexAggregateTest, MatchesTheModelAndRefusesBadInput) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = *Index::Create("m");
    FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(-50, 50)));
    std::map<uint64_t, int64_t> model;
    for (int i = 0; i < 400; ++i) {
      const uint64_t col = rng() % 20;
      const Merge merge =
          std::vector<Merge>{Merge::kLast, Merge::kSum, Merge::kCount,
                             Merge::kMin, Merge::kMax}[rng() % 5];
      const int64_t v = int64_t(rng() % 41) - 20;
      auto it = model.find(col);
      __int128 want = v;
      if (it != model.end()) {
        if (merge == Merge::kSum) want = it->second + v;
        if (merge == Merge::kCount) want = it->second + 1;
        if (merge == Merge::kMin) want = std::min(it->second, v);
        if (merge == Merge::kMax) want = std::max(it->second, v);
      } else if (merge == Merge::kCount) {
        want = 1;
      }
      auto r = index->Aggregate(col, "v", merge, Value::Int(v));
      if (want < -50 || want > 50) {
        EXPECT_THAT(r.status(),
                    StatusIs(absl::StatusCode::kOutOfRange,
                             HasSubstr(fmt::format(
                                 "aggregate: record {}: field \"v\": {} ", col,
                                 MergeName(merge)))));
      } else {
        FB_EXPECT_OK(r);
        model[col] = int64_t(want);
      }
    }
    auto snap = index->GetSnapshot();
    for (uint64_t col = 0; col < 20; ++col) {
      auto it = model.find(col);
      EXPECT_EQ(
          Stored(*snap, "v", col),
          it == model.end() ? std::nullopt : std::optional<int64_t>(it->second))
          << col;
    }
  }
  auto index = *Index::Create("m");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  EXPECT_THAT(index->Aggregate(1, "s", Merge::kSum, Value::Int(1)).status(),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       HasSubstr("aggregate: merge sum on set field \"s\"")));
  EXPECT_THAT(index->Aggregate(1, "x", Merge::kSum, Value::Int(1)).status(),
              StatusIs(absl::StatusCode::kNotFound));
}

}  // namespace
}  // namespace featurebase
