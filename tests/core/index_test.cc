// The index against a naive model (maps of sets) under seeded random
// streams of Set/Clear/ClearRow/Store/Delete over several shards, plus
// FeatureBase's documented semantics and every bad-input path.
#include "featurebase/index.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <map>
#include <random>
#include <set>
#include <thread>
#include <vector>

#include "absl/time/civil_time.h"
#include "featurebase/shard.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using featurebase::testing::StatusIs;

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

absl::Time At(absl::CivilSecond c) {
  return absl::FromCivil(c, absl::UTCTimeZone());
}

std::vector<uint64_t> Vec(const std::set<uint64_t>& s) {
  return {s.begin(), s.end()};
}

// ------------------------------------------------------------------ model

struct FieldModel {
  FieldOptions opts;
  std::map<uint64_t, std::set<uint64_t>> std_rows;  // standard view
  // Time fields: per (row, column) the timestamps written, truncated to the
  // quantum's finest unit.
  std::map<std::pair<uint64_t, uint64_t>, std::set<absl::CivilSecond>> times;
  std::set<uint64_t> existence;

  bool single() const {
    return opts.type == FieldType::kMutex || opts.type == FieldType::kBool;
  }
  bool has_std() const {
    return !(opts.type == FieldType::kTime && opts.no_standard_view);
  }
  bool tracks() const { return has_std(); }
  absl::CivilSecond Truncate(absl::CivilSecond t) const {
    const auto& q = opts.time_quantum;
    if (q.hour) return absl::CivilHour(t);
    if (q.day) return absl::CivilDay(t);
    if (q.month) return absl::CivilMonth(t);
    return absl::CivilYear(t);
  }
  // Rows with any bit (standard view, or any time view without one).
  std::set<uint64_t> Rows() const {
    std::set<uint64_t> out;
    if (has_std()) {
      for (const auto& [r, cols] : std_rows) {
        if (!cols.empty()) out.insert(r);
      }
    } else {
      for (const auto& [rc, ts] : times) {
        if (!ts.empty()) out.insert(rc.first);
      }
    }
    return out;
  }
  std::set<uint64_t> Row(uint64_t row) const {
    if (has_std()) {
      auto it = std_rows.find(row);
      return it == std_rows.end() ? std::set<uint64_t>{} : it->second;
    }
    std::set<uint64_t> out;
    for (const auto& [rc, ts] : times) {
      if (rc.first == row && !ts.empty()) out.insert(rc.second);
    }
    return out;
  }
  std::set<uint64_t> RowInRange(uint64_t row, absl::CivilSecond from,
                                absl::CivilSecond to) const {
    std::set<uint64_t> out;
    for (const auto& [rc, ts] : times) {
      if (rc.first != row) continue;
      for (const auto& t : ts) {
        if (t >= from && t < to) {
          out.insert(rc.second);
          break;
        }
      }
    }
    return out;
  }
};

struct Model {
  std::map<std::string, FieldModel> fields;
  std::set<uint64_t> exists;

  bool Set(uint64_t col, const std::string& name, uint64_t row,
           std::optional<absl::Time> ts) {
    FieldModel& f = fields.at(name);
    bool changed = false;
    if (f.single()) {
      for (auto& [r, cols] : f.std_rows) {
        if (r != row && cols.erase(col)) changed = true;
      }
    }
    if (f.has_std()) changed |= f.std_rows[row].insert(col).second;
    if (ts) {
      changed |=
          f.times[{row, col}]
              .insert(f.Truncate(absl::ToCivilSecond(*ts, absl::UTCTimeZone())))
              .second;
    }
    if (f.tracks()) f.existence.insert(col);
    exists.insert(col);
    return changed;
  }
  bool Clear(uint64_t col, const std::string& name, uint64_t row) {
    FieldModel& f = fields.at(name);
    bool changed = f.std_rows[row].erase(col) > 0;
    auto it = f.times.find({row, col});
    if (it != f.times.end() && !it->second.empty()) {
      changed = true;
      it->second.clear();
    }
    if (changed && f.single()) f.existence.erase(col);
    return changed;
  }
  bool ClearRow(const std::string& name, uint64_t row) {
    FieldModel& f = fields.at(name);
    bool changed = !f.std_rows[row].empty();
    f.std_rows[row].clear();
    for (auto& [rc, ts] : f.times) {
      if (rc.first == row && !ts.empty()) {
        changed = true;
        ts.clear();
      }
    }
    return changed;
  }
  void Store(const std::string& name, uint64_t row,
             const std::set<uint64_t>& cols) {
    FieldModel& f = fields.at(name);
    f.std_rows[row] = cols;
    f.existence.insert(cols.begin(), cols.end());
  }
  bool Delete(const std::set<uint64_t>& cols) {
    bool changed = false;
    for (auto& [name, f] : fields) {
      for (auto& [r, set] : f.std_rows) {
        for (uint64_t c : cols) changed |= set.erase(c) > 0;
      }
      for (auto& [rc, ts] : f.times) {
        if (cols.count(rc.second) && !ts.empty()) {
          changed = true;
          ts.clear();
        }
      }
      for (uint64_t c : cols) changed |= f.existence.erase(c) > 0;
    }
    for (uint64_t c : cols) changed |= exists.erase(c) > 0;
    return changed;
  }
};

// ------------------------------------------------------------------ checks

void ExpectIndexMatches(const Snapshot& snap, const Model& model,
                        std::mt19937_64& rng) {
  auto all = snap.All();
  FB_ASSERT_OK(all);
  ASSERT_EQ(all->ToVector(), Vec(model.exists));
  for (const auto& [name, f] : model.fields) {
    SCOPED_TRACE("field " + name);
    const std::set<uint64_t> rows = f.Rows();
    auto got_rows = snap.Rows(name);
    FB_ASSERT_OK(got_rows);
    ASSERT_EQ(*got_rows, Vec(rows));
    std::vector<RowCount> want_top;
    for (uint64_t r : rows) {
      Value v =
          f.opts.type == FieldType::kBool ? Value::Bool(r == 1) : Value::Id(r);
      auto got = snap.Row(name, v);
      FB_ASSERT_OK(got);
      const std::set<uint64_t> want = f.Row(r);
      ASSERT_EQ(got->ToVector(), Vec(want)) << "row " << r;
      want_top.push_back({r, want.size()});
    }
    std::sort(want_top.begin(), want_top.end(),
              [](const RowCount& a, const RowCount& b) {
                return a.count != b.count ? a.count > b.count : a.row < b.row;
              });
    auto top = snap.TopN(name, 0);
    FB_ASSERT_OK(top);
    ASSERT_EQ(*top, want_top);
    auto top2 = snap.TopN(name, 2);
    FB_ASSERT_OK(top2);
    ASSERT_EQ(*top2,
              std::vector<RowCount>(
                  want_top.begin(),
                  want_top.begin() + std::min<size_t>(2, want_top.size())));
    auto min = snap.MinRow(name);
    auto max = snap.MaxRow(name);
    ASSERT_TRUE(min.ok() && max.ok());
    if (rows.empty()) {
      ASSERT_FALSE(min->has_value());
    } else {
      ASSERT_EQ(**min, (RowCount{*rows.begin(), 1}));
      ASSERT_EQ(**max, (RowCount{*rows.rbegin(), 1}));
    }
    if (f.tracks()) {
      auto nn = snap.NotNull(name);
      FB_ASSERT_OK(nn);
      ASSERT_EQ(nn->ToVector(), Vec(f.existence));
    }
    if (f.opts.type == FieldType::kTime && !rows.empty()) {
      // A random range aligned to the quantum's finest unit.
      for (int i = 0; i < 3; ++i) {
        absl::CivilSecond a = f.Truncate(absl::CivilSecond(
            1999 + rng() % 5, 1 + rng() % 12, 1 + rng() % 28, rng() % 24));
        absl::CivilSecond b = f.Truncate(absl::CivilSecond(
            1999 + rng() % 5, 1 + rng() % 12, 1 + rng() % 28, rng() % 24));
        if (b < a) std::swap(a, b);
        const uint64_t r = *std::next(rows.begin(), rng() % rows.size());
        TimeRange range{At(a), At(b)};
        auto got = snap.Row(name, Value::Id(r), range);
        FB_ASSERT_OK(got);
        ASSERT_EQ(got->ToVector(), Vec(f.RowInRange(r, a, b)))
            << "row " << r << " range " << absl::FormatCivilTime(a) << " .. "
            << absl::FormatCivilTime(b);
      }
    }
  }
}

Model MakeModel(Index* index) {
  Model m;
  auto add = [&](const std::string& name, FieldOptions o) {
    FB_EXPECT_OK(index->CreateField(name, o));
    m.fields[name].opts = o;
  };
  add("s", FieldOptions::Set());
  add("m", FieldOptions::Mutex());
  add("b", FieldOptions::Bool());
  add("t", FieldOptions::Time(*TimeQuantum::Parse("YMDH")));
  add("u",
      FieldOptions::Time(*TimeQuantum::Parse("MD"), /*no_standard_view=*/true));
  return m;
}

TEST(IndexTest, MatchesNaiveModelUnderRandomWrites) {
  for (uint64_t seed : TestSeeds(6)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = *Index::Create("i");
    Model model = MakeModel(index.get());
    const std::vector<std::string> names = {"s", "m", "b", "t", "u"};
    auto column = [&] {
      return ShardStart(rng() % 3) +
             (rng() % 2 ? rng() % 40 : rng() % kShardWidth);
    };
    std::vector<uint64_t> recent;
    for (int step = 0; step < 400; ++step) {
      SCOPED_TRACE("step " + std::to_string(step));
      const std::string& name = names[rng() % names.size()];
      const FieldModel& f = model.fields.at(name);
      const bool is_bool = f.opts.type == FieldType::kBool;
      const uint64_t row = is_bool ? rng() % 2 : rng() % 6;
      const Value v = is_bool ? Value::Bool(row == 1) : Value::Id(row);
      uint64_t col = recent.empty() || rng() % 3
                         ? column()
                         : recent[rng() % recent.size()];
      const int op = int(rng() % 20);
      if (op < 12) {
        std::optional<absl::Time> ts;
        if (f.opts.type == FieldType::kTime && (!f.has_std() || rng() % 4)) {
          ts = At(absl::CivilSecond(2000 + rng() % 3, 1 + rng() % 12,
                                    1 + rng() % 28, rng() % 24, rng() % 60));
        }
        auto got = index->Set(col, name, v, ts);
        FB_ASSERT_OK(got);
        ASSERT_EQ(*got, model.Set(col, name, row, ts));
        recent.push_back(col);
      } else if (op < 16) {
        auto got = index->Clear(col, name, v);
        FB_ASSERT_OK(got);
        ASSERT_EQ(*got, model.Clear(col, name, row));
      } else if (op < 17) {
        auto got = index->ClearRow(name, v);
        FB_ASSERT_OK(got);
        ASSERT_EQ(*got, model.ClearRow(name, row));
      } else if (op < 18) {
        std::set<uint64_t> cols;
        for (int i = 0; i < 5; ++i) cols.insert(column());
        FB_ASSERT_OK(
            index->Store("s", Value::Id(row), Bitmap::FromValues(Vec(cols))));
        model.Store("s", row, cols);
      } else {
        std::set<uint64_t> cols;
        for (int i = 0; i < 3 && !recent.empty(); ++i)
          cols.insert(recent[rng() % recent.size()]);
        cols.insert(column());
        auto got = index->Delete(Bitmap::FromValues(Vec(cols)));
        FB_ASSERT_OK(got);
        ASSERT_EQ(*got, model.Delete(cols));
      }
      if (step % 10 == 9) ExpectIndexMatches(*index->GetSnapshot(), model, rng);
    }
    ExpectIndexMatches(*index->GetSnapshot(), model, rng);
  }
}

// ------------------------------------------------------------------ semantics

TEST(IndexTest, MutexReplacesAndClearDropsExistence) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  EXPECT_TRUE(*index->Set(7, "m", Value::Id(1)));
  EXPECT_TRUE(*index->Set(7, "m", Value::Id(2)));
  EXPECT_FALSE(*index->Set(7, "m", Value::Id(2)));
  auto snap = index->GetSnapshot();
  EXPECT_TRUE(snap->Row("m", Value::Id(1))->IsEmpty());
  EXPECT_EQ(snap->Row("m", Value::Id(2))->ToVector(), std::vector<uint64_t>{7});
  EXPECT_FALSE(*index->Clear(7, "m", Value::Id(1)));  // not its row
  EXPECT_TRUE(*index->Clear(7, "m", Value::Id(2)));
  EXPECT_TRUE(index->GetSnapshot()->NotNull("m")->IsEmpty());

  EXPECT_TRUE(*index->Set(7, "s", Value::Id(1)));
  EXPECT_TRUE(*index->Set(7, "s", Value::Id(2)));
  EXPECT_TRUE(*index->Clear(7, "s", Value::Id(1)));
  // Clearing a set bit keeps the field existence (FeatureBase's rule).
  EXPECT_EQ(index->GetSnapshot()->NotNull("s")->ToVector(),
            std::vector<uint64_t>{7});
  EXPECT_EQ(*index->GetSnapshot()->RowsOfColumn("s", 7),
            std::vector<uint64_t>{2});
}

TEST(IndexTest, BoolRowsAreFalseAndTrue) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("b", FieldOptions::Bool()));
  FB_ASSERT_OK(index->Set(3, "b", Value::Bool(true)));
  FB_ASSERT_OK(index->Set(4, "b", Value::Bool(false)));
  FB_ASSERT_OK(index->Set(3, "b", Value::Bool(false)));
  auto snap = index->GetSnapshot();
  EXPECT_EQ(snap->Row("b", Value::Bool(false))->ToVector(),
            (std::vector<uint64_t>{3, 4}));
  EXPECT_TRUE(snap->Row("b", Value::Bool(true))->IsEmpty());
  EXPECT_EQ(*snap->Rows("b"), std::vector<uint64_t>{0});
}

TEST(IndexTest, NotAndNullUseExistence) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->Set(1, "s", Value::Id(5)));
  FB_ASSERT_OK(index->Set(2, "m", Value::Id(5)));
  FB_ASSERT_OK(index->Set(kShardWidth * 3, "s", Value::Id(6)));
  auto snap = index->GetSnapshot();
  EXPECT_EQ(snap->Not(*snap->Row("s", Value::Id(5)))->ToVector(),
            (std::vector<uint64_t>{2, kShardWidth * 3}));
  EXPECT_EQ(snap->Null("m")->ToVector(),
            (std::vector<uint64_t>{1, kShardWidth * 3}));
  auto no_exist = *Index::Create("j", IndexOptions{.track_existence = false});
  auto st = no_exist->GetSnapshot()->All();
  EXPECT_EQ(st.status().code(), absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(st.status().message(), "index does not support existence tracking");
}

TEST(IndexTest, DeleteRemovesRecordsEverywhere) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_ASSERT_OK(
      index->CreateField("t", FieldOptions::Time(*TimeQuantum::Parse("YM"))));
  FB_ASSERT_OK(index->Set(1, "s", Value::Id(1)));
  FB_ASSERT_OK(index->Set(2, "s", Value::Id(1)));
  FB_ASSERT_OK(
      index->Set(1, "t", Value::Id(4), At(absl::CivilSecond(2010, 5, 1))));
  EXPECT_TRUE(*index->Delete(Bitmap::Of({1})));
  EXPECT_FALSE(*index->Delete(Bitmap::Of({1})));
  auto snap = index->GetSnapshot();
  EXPECT_EQ(snap->All()->ToVector(), std::vector<uint64_t>{2});
  EXPECT_EQ(snap->Row("s", Value::Id(1))->ToVector(), std::vector<uint64_t>{2});
  EXPECT_TRUE(snap->Row("t", Value::Id(4),
                        {At(absl::CivilSecond(2010, 1, 1)), std::nullopt})
                  ->IsEmpty());
  EXPECT_TRUE(snap->NotNull("t")->IsEmpty());
}

TEST(IndexTest, TimeViewsAndDefaultBounds) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(
      index->CreateField("t", FieldOptions::Time(*TimeQuantum::Parse("YMD"))));
  FB_ASSERT_OK(
      index->Set(1, "t", Value::Id(1), At(absl::CivilSecond(2017, 1, 2, 3))));
  FB_ASSERT_OK(
      index->Set(2, "t", Value::Id(1), At(absl::CivilSecond(2018, 3, 4))));
  FB_ASSERT_OK(index->Set(3, "t", Value::Id(1)));  // standard view only
  auto snap = index->GetSnapshot();
  EXPECT_EQ(*snap->ViewNames("t"),
            (std::vector<std::string>{"standard", "existence", "standard_2017",
                                      "standard_2018", "standard_201701",
                                      "standard_201803", "standard_20170102",
                                      "standard_20180304"}));
  EXPECT_EQ(snap->Row("t", Value::Id(1))->ToVector(),
            (std::vector<uint64_t>{1, 2, 3}));
  // Missing bounds default to the first / last time view.
  EXPECT_EQ(snap->Row("t", Value::Id(1),
                      {std::nullopt, At(absl::CivilSecond(2018, 1, 1))})
                ->ToVector(),
            std::vector<uint64_t>{1});
  EXPECT_EQ(snap->Row("t", Value::Id(1),
                      {At(absl::CivilSecond(2017, 1, 3)), std::nullopt})
                ->ToVector(),
            std::vector<uint64_t>{2});
  RowsOptions ro;
  ro.range = {At(absl::CivilSecond(2018, 1, 1)),
              At(absl::CivilSecond(2019, 1, 1))};
  EXPECT_EQ(*snap->Rows("t", ro), std::vector<uint64_t>{1});
}

TEST(IndexTest, TtlDropsOldViews) {
  auto index = *Index::Create("i");
  FieldOptions o = FieldOptions::Time(*TimeQuantum::Parse("YMD"));
  o.ttl = absl::Hours(24 * 30);
  FB_ASSERT_OK(index->CreateField("t", o));
  FB_ASSERT_OK(
      index->Set(1, "t", Value::Id(1), At(absl::CivilSecond(2020, 1, 5))));
  FB_ASSERT_OK(
      index->Set(2, "t", Value::Id(1), At(absl::CivilSecond(2020, 3, 20))));
  // now - ttl = 2020-03-02: the January day and month views ended before it.
  auto dropped = index->ApplyTtl(At(absl::CivilSecond(2020, 4, 1)));
  FB_ASSERT_OK(dropped);
  EXPECT_EQ(*dropped, 2u);
  EXPECT_EQ(*index->GetSnapshot()->ViewNames("t"),
            (std::vector<std::string>{"standard", "existence", "standard_2020",
                                      "standard_202003", "standard_20200320"}));
  EXPECT_EQ(index->GetSnapshot()->Row("t", Value::Id(1))->ToVector(),
            (std::vector<uint64_t>{1, 2}));  // the standard view keeps both
}

TEST(IndexTest, TopNIsExactAndFiltered) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  for (uint64_t c = 0; c < 10; ++c)
    FB_ASSERT_OK(index->Set(c * kShardWidth / 3, "s", Value::Id(1)));
  for (uint64_t c = 0; c < 6; ++c)
    FB_ASSERT_OK(index->Set(c, "s", Value::Id(2)));
  for (uint64_t c = 0; c < 6; ++c)
    FB_ASSERT_OK(index->Set(c + 100, "s", Value::Id(0)));
  auto snap = index->GetSnapshot();
  EXPECT_EQ(
      *snap->TopN("s", 0),
      (std::vector<RowCount>{{1, 10}, {0, 6}, {2, 6}}));  // ties by row id
  Bitmap filter = Bitmap::FromRange(0, 50);
  EXPECT_EQ(*snap->TopN("s", 5, &filter),
            (std::vector<RowCount>{{2, 6}, {1, 1}}));
  EXPECT_EQ(**snap->MinRow("s", &filter), (RowCount{1, 1}));
  EXPECT_EQ(**snap->MaxRow("s", &filter), (RowCount{2, 6}));
}

TEST(IndexTest, SnapshotsAreIsolatedFromLaterWrites) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->Set(1, "m", Value::Id(1)));
  auto before = index->GetSnapshot();
  FB_ASSERT_OK(index->Set(1, "m", Value::Id(2)));
  FB_ASSERT_OK(index->Set(2, "m", Value::Id(1)));
  EXPECT_EQ(before->Row("m", Value::Id(1))->ToVector(),
            std::vector<uint64_t>{1});
  EXPECT_TRUE(before->Row("m", Value::Id(2))->IsEmpty());
  EXPECT_EQ(index->GetSnapshot()->Row("m", Value::Id(1))->ToVector(),
            std::vector<uint64_t>{2});
  EXPECT_LT(before->version(), index->GetSnapshot()->version());
}

TEST(IndexTest, ReadersSeeWholeCommitsWhileWriting) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  std::atomic<bool> stop{false};
  std::atomic<int> violations{0};
  std::thread reader([&] {
    while (!stop) {
      auto snap = index->GetSnapshot();
      // Every record holds exactly one mutex row: the two rows partition
      // the records written so far.
      auto a = snap->Row("m", Value::Id(1));
      auto b = snap->Row("m", Value::Id(2));
      auto all = snap->All();
      if (!a.ok() || !b.ok() || !all.ok()) continue;
      if (Bitmap::IntersectCount(*a, *b) != 0 || (*a | *b) != *all)
        ++violations;
    }
  });
  std::mt19937_64 rng(1);
  for (int i = 0; i < 3000; ++i) {
    FB_ASSERT_OK(index->Set(rng() % 5000, "m", Value::Id(1 + rng() % 2)));
  }
  stop = true;
  reader.join();
  EXPECT_EQ(violations.load(), 0);
}

// ------------------------------------------------------------------ bad input

void ExpectUnchanged(Index* index, uint64_t version) {
  EXPECT_EQ(index->GetSnapshot()->version(), version);
}

TEST(IndexTest, BadNamesAreInvalidArgument) {
  for (const std::string& bad : std::vector<std::string>{
           "", "1abc", "Abc", "a b", "a.b", std::string(231, 'a'), "_exists"}) {
    auto idx = Index::Create(bad);
    ASSERT_FALSE(idx.ok()) << bad;
    EXPECT_EQ(idx.status().code(), absl::StatusCode::kInvalidArgument);
    EXPECT_NE(idx.status().message().find("invalid index name"),
              std::string::npos)
        << idx.status();
  }
  FB_EXPECT_OK(Index::Create(std::string(230, 'a')));
  auto index = *Index::Create("i");
  auto st = index->CreateField("Bad", FieldOptions::Set());
  EXPECT_EQ(st.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("\"Bad\""), std::string::npos) << st;
  FB_ASSERT_OK(index->CreateField("ok-name_1", FieldOptions::Set()));
  EXPECT_EQ(index->CreateField("ok-name_1", FieldOptions::Set()).code(),
            absl::StatusCode::kAlreadyExists);
}

TEST(IndexTest, BadFieldOptionsAreInvalidArgument) {
  auto index = *Index::Create("i");
  FieldOptions no_quantum;
  no_quantum.type = FieldType::kTime;
  EXPECT_EQ(index->CreateField("t", no_quantum).code(),
            absl::StatusCode::kInvalidArgument);
  FieldOptions quantum_on_set = FieldOptions::Set();
  quantum_on_set.time_quantum.year = true;
  EXPECT_EQ(index->CreateField("s", quantum_on_set).code(),
            absl::StatusCode::kInvalidArgument);
  FieldOptions keyed_bool = FieldOptions::Bool();
  keyed_bool.keys = true;
  EXPECT_EQ(index->CreateField("b", keyed_bool).code(),
            absl::StatusCode::kInvalidArgument);
  FieldOptions negative_ttl = FieldOptions::Time(*TimeQuantum::Parse("Y"));
  negative_ttl.ttl = -absl::Seconds(1);
  EXPECT_EQ(index->CreateField("t", negative_ttl).code(),
            absl::StatusCode::kInvalidArgument);
  FieldOptions bad_unit = FieldOptions::Timestamp(static_cast<TimeUnit>(9));
  EXPECT_THAT(index->CreateField("ts", bad_unit),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr(
                           "create field \"ts\": time unit 9 is not one of")));
  EXPECT_TRUE(index->GetSnapshot()->Fields().empty());
}

TEST(IndexTest, BadWritesAndReadsChangeNothing) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_ASSERT_OK(index->CreateField("b", FieldOptions::Bool()));
  FB_ASSERT_OK(index->CreateField(
      "nt", FieldOptions::Time(*TimeQuantum::Parse("Y"), true)));
  FB_ASSERT_OK(index->Set(1, "s", Value::Id(1)));
  const uint64_t v = index->GetSnapshot()->version();

  auto nf = index->Set(1, "nope", Value::Id(1));
  EXPECT_EQ(nf.status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(nf.status().message(), "set: field \"nope\" not found");
  auto num_for_bool = index->Set(1, "b", Value::Id(1));
  EXPECT_EQ(num_for_bool.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(num_for_bool.status().message(),
            "set: field \"b\" (bool) takes true or false, not id 1");
  auto bool_for_set = index->Set(1, "s", Value::Bool(true));
  EXPECT_EQ(bool_for_set.status().code(), absl::StatusCode::kInvalidArgument);
  auto huge_row = index->Set(1, "s", Value::Id(uint64_t{1} << 50));
  EXPECT_EQ(huge_row.status().code(), absl::StatusCode::kInvalidArgument);
  auto ts_on_set = index->Set(1, "s", Value::Id(1), absl::Now());
  EXPECT_EQ(ts_on_set.status().code(), absl::StatusCode::kInvalidArgument);
  auto no_ts = index->Set(1, "nt", Value::Id(1));
  EXPECT_EQ(no_ts.status().code(), absl::StatusCode::kInvalidArgument);
  auto year_10000 =
      index->Set(1, "nt", Value::Id(1), At(absl::CivilSecond(10000, 1, 1)));
  EXPECT_EQ(year_10000.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->Clear(1, "b", Value::Int(3)).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(index->ClearRow("nope", Value::Id(1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(index->Store("b", Value::Bool(true), Bitmap::Of({1})).code(),
            absl::StatusCode::kInvalidArgument);
  ExpectUnchanged(index.get(), v);

  auto snap = index->GetSnapshot();
  auto range_on_set = snap->Row(
      "s", Value::Id(1), {At(absl::CivilSecond(2000, 1, 1)), std::nullopt});
  EXPECT_EQ(range_on_set.status().code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(range_on_set.status().message(),
            "row: field \"s\" is not a time-field");
  EXPECT_EQ(snap->Row("zz", Value::Id(1)).status().code(),
            absl::StatusCode::kNotFound);
  EXPECT_EQ(snap->TopN("zz", 1).status().code(), absl::StatusCode::kNotFound);
  EXPECT_EQ(snap->Row("s", Value::Id(1))->ToVector(), std::vector<uint64_t>{1});
}

}  // namespace
}  // namespace featurebase

namespace featurebase {
namespace {

TEST(IndexKeysTest, KeyedFieldsTranslateRows) {
  auto index = *Index::Create("i");
  FieldOptions o = FieldOptions::Mutex();
  o.keys = true;
  FB_ASSERT_OK(index->CreateField("zone", o));
  FB_ASSERT_OK(index->Set(1, "zone", Value::Key("midtown")));
  FB_ASSERT_OK(index->Set(2, "zone", Value::Key("soho")));
  FB_ASSERT_OK(index->Set(1, "zone", Value::Key("soho")));
  auto snap = index->GetSnapshot();
  EXPECT_EQ(snap->Row("zone", Value::Key("soho"))->ToVector(),
            (std::vector<uint64_t>{1, 2}));
  EXPECT_TRUE(snap->Row("zone", Value::Key("midtown"))->IsEmpty());
  EXPECT_TRUE(snap->Row("zone", Value::Key("unknown"))->IsEmpty());
  // Row keys get ids 1, 2, ... in creation order (FeatureBase's rule).
  EXPECT_EQ(*(*snap->RowKeys("zone"))->FindKey("midtown"), 1u);
  EXPECT_EQ(*(*snap->RowKeys("zone"))->FindKey("soho"), 2u);
  EXPECT_FALSE(*index->Clear(1, "zone", Value::Key("unknown")));
  auto id_on_keyed = index->Set(3, "zone", Value::Id(1));
  EXPECT_EQ(id_on_keyed.status().code(), absl::StatusCode::kInvalidArgument);
  auto too_long = index->Set(3, "zone", Value::Key(std::string(70000, 'k')));
  EXPECT_EQ(too_long.status().code(), absl::StatusCode::kInvalidArgument);
}

TEST(IndexKeysTest, KeyedIndexAllocatesPartitionLocalIdsAndFreesOnDelete) {
  auto index = *Index::Create("i", IndexOptions{.keys = true});
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  auto a = index->ColumnId("alice");
  auto b = index->ColumnId("bob");
  ASSERT_TRUE(a.ok() && b.ok());
  EXPECT_EQ(*index->ColumnId("alice"), *a);
  const KeyTranslator* keys = index->GetSnapshot()->ColumnKeys();
  ASSERT_NE(keys, nullptr);
  const HashPartitioner& p = keys->partitioner();
  EXPECT_EQ(p.ShardPartition(ShardOf(*a)), p.KeyPartition("alice"));
  FB_ASSERT_OK(index->Set(*a, "s", Value::Id(1)));
  EXPECT_TRUE(*index->Delete(Bitmap::Of({*a})));
  EXPECT_EQ(*keys->FindKey("alice"), 0u);
  EXPECT_EQ(index->ColumnId("").status().code(),
            absl::StatusCode::kInvalidArgument);
  auto plain = *Index::Create("j");
  EXPECT_EQ(plain->ColumnId("x").status().code(),
            absl::StatusCode::kFailedPrecondition);
  EXPECT_EQ(Index::Create("k", IndexOptions{.keys = true, .partitions = 0})
                .status()
                .code(),
            absl::StatusCode::kInvalidArgument);
}

// CreateFields adds every field in one commit, or none on any error.
TEST(IndexTest, CreateFieldsIsOneCommitAndAllOrNothing) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("taken", FieldOptions::Set()));
  const uint64_t v0 = index->GetSnapshot()->version();
  std::vector<FieldInfo> many;
  for (int i = 0; i < 5000; ++i)
    many.push_back({"f" + std::to_string(i),
                    i % 2 ? FieldOptions::Int(-9, 9) : FieldOptions::Mutex()});
  FB_ASSERT_OK(index->CreateFields(many));
  EXPECT_EQ(index->GetSnapshot()->version(), v0 + 1);
  EXPECT_EQ(index->GetSnapshot()->Fields().size(), 5001u);
  EXPECT_EQ(index->GetSnapshot()->Field("f4999")->options.type,
            FieldType::kInt);

  const std::vector<FieldInfo> clash = {{"new1", FieldOptions::Set()},
                                        {"taken", FieldOptions::Set()}};
  Status s = index->CreateFields(clash);
  EXPECT_EQ(s.code(), absl::StatusCode::kAlreadyExists) << s;
  EXPECT_NE(s.message().find("\"taken\""), absl::string_view::npos) << s;
  const std::vector<FieldInfo> twice = {{"a", FieldOptions::Set()},
                                        {"b", FieldOptions::Set()},
                                        {"a", FieldOptions::Mutex()}};
  s = index->CreateFields(twice);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument) << s;
  EXPECT_EQ(s.message(), "create fields: field \"a\" is given twice");
  const std::vector<FieldInfo> bad = {{"ok", FieldOptions::Set()},
                                      {"", FieldOptions::Set()}};
  EXPECT_EQ(index->CreateFields(bad).code(),
            absl::StatusCode::kInvalidArgument);
  // Nothing of the refused calls was created.
  EXPECT_EQ(index->GetSnapshot()->Fields().size(), 5001u);
  EXPECT_EQ(index->GetSnapshot()->version(), v0 + 1);
  FB_EXPECT_OK(index->CreateFields({}));
}

TEST(IndexTest, BadNamesNameTheCharacterFromOneAndAreCut) {
  auto index = *Index::Create("i");
  Status s = index->CreateField("ab c", FieldOptions::Set());
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_NE(s.message().find("\"ab c\": character 3 not allowed"),
            absl::string_view::npos)
      << s;
  s = index->CreateField("a" + std::string(299, 'b') + "\x01",
                         FieldOptions::Set());
  EXPECT_NE(s.message().find("\"a" + std::string(63, 'b') +
                             "...\": 301 characters, over 230"),
            absl::string_view::npos)
      << s;
  s = index->CreateField("x\x01\"", FieldOptions::Set());
  EXPECT_NE(s.message().find("\"x\\x01\\x22\": character 2 not allowed"),
            absl::string_view::npos)
      << s;
}

}  // namespace
}  // namespace featurebase
