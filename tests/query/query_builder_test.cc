// The C++ query builder against PQL text: every builder function makes the
// tree the parser makes for its ToPql() text (and for the hand-written
// equivalent), and runs to the same JSON as that text on random indexes.
#include "featurebase/query_builder.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/pql/parser.h"
#include "lib/pql/printer.h"
#include "lib/query/builder_access.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;
using internal::BuilderAccess;
namespace q = featurebase::pql;

absl::Time Day(int y, int m, int d) {
  return absl::FromCivil(absl::CivilDay(y, m, d), absl::UTCTimeZone());
}

std::string Json(const StatusOr<QueryResponse>& r) {
  return r.ok() ? r->ToJson() : ErrorJson(r.status());
}

// Fields: s (set), m (mutex), k (keyed set), b (bool), t (time, YMD),
// v (int), d (decimal, scale 2), ts (timestamp, s), over three shards.
std::unique_ptr<Index> RandomIndex(uint64_t seed) {
  std::mt19937_64 rng(seed);
  auto index = *Index::Create("i");
  FB_EXPECT_OK(index->CreateField("s", FieldOptions::Set()));
  FB_EXPECT_OK(index->CreateField("m", FieldOptions::Mutex()));
  FieldOptions keyed;
  keyed.keys = true;
  FB_EXPECT_OK(index->CreateField("k", keyed));
  FB_EXPECT_OK(index->CreateField("b", FieldOptions::Bool()));
  FB_EXPECT_OK(
      index->CreateField("t", FieldOptions::Time(*TimeQuantum::Parse("YMD"))));
  FB_EXPECT_OK(index->CreateField("v", FieldOptions::Int(-100, 100)));
  FB_EXPECT_OK(index->CreateField("d", FieldOptions::Decimal(2)));
  FB_EXPECT_OK(index->CreateField("ts", FieldOptions::Timestamp()));
  const std::vector<std::string> keys = {"red", "green", "blue", "x y"};
  for (int i = 0; i < 300; ++i) {
    const uint64_t col = ShardStart(rng() % 3) + rng() % 400;
    auto set = [&](std::string_view f, const Value& val,
                   std::optional<absl::Time> t = std::nullopt) {
      auto r = index->Set(col, f, val, t);
      FB_EXPECT_OK(r) << f << ": " << r.status();
    };
    set("s", Value::Id(rng() % 6));
    if (rng() % 2) set("s", Value::Id(rng() % 6));
    if (rng() % 4) set("m", Value::Id(rng() % 4));
    if (rng() % 2) set("k", Value::Key(keys[rng() % keys.size()]));
    if (rng() % 3) set("b", Value::Bool(rng() % 2));
    if (rng() % 2)
      set("t", Value::Id(rng() % 3), Day(2017, 1 + rng() % 3, 1 + rng() % 28));
    if (rng() % 4) set("v", Value::Int(int64_t(rng() % 201) - 100));
    if (rng() % 4) set("d", Value::Decimal(int64_t(rng() % 2001) - 1000, 2));
    if (rng() % 4)
      set("ts", Value::Timestamp(Day(2019 + rng() % 3, 1 + rng() % 12, 1)));
  }
  return index;
}

struct Case {
  q::Call call;
  // The equivalent PQL as a user would type it.
  std::string text;
};

std::vector<Case> Cases() {
  const q::Call s1 = q::Row("s", 1);
  const q::Call s2 = q::Row("s", uint64_t{2});
  const q::Call m0 = q::Row("m", 0);
  const q::Call v_pos = q::Row(q::Field("v") > 0);
  const TimeRange feb{Day(2017, 2, 1), Day(2017, 3, 1)};
  return {
      {s1, "Row(s=1)"},
      {q::Row("k", "green"), "Row(k=\"green\")"},
      {q::Row("k", std::string("x y")), "Row(k='x y')"},
      {q::Row("k", "nope"), "Row(k=nope)"},
      {q::Row("b", true), "Row(b=true)"},
      {q::Row("b", false), "Row(b=false)"},
      {q::Row("t", 1, feb),
       "Row(t=1, from=2017-02-01T00:00:00Z, to=2017-03-01T00:00:00Z)"},
      {q::Row("t", 2, TimeRange{Day(2017, 2, 10), std::nullopt}),
       "Row(t=2, from='2017-02-10T00:00:00Z')"},
      {q::Row(q::Field("v") > 5), "Row(v > 5)"},
      {q::Row(q::Field("v") >= -5), "Row(v >= -5)"},
      {q::Row(q::Field("v") < 7), "Row(v < 7)"},
      {q::Row(q::Field("v") <= 7), "Row(v <= 7)"},
      {q::Row(q::Field("v") == 3), "Row(v == 3)"},
      {q::Row(q::Field("v") != 3), "Row(v != 3)"},
      {q::Row(q::Field("v") == nullptr), "Row(v == null)"},
      {q::Row(q::Field("v") != nullptr), "Row(v != null)"},
      {q::Row(q::Field("m") == nullptr), "Row(m == null)"},
      {q::Row(q::Field("s") == 2), "Row(s == 2)"},
      {q::Row(q::Field("v").Between(-10, 10)), "Row(-10 <= v <= 10)"},
      {q::Row(q::Field("v").Between(-10, 10, q::Bounds::kOpen)),
       "Row(-10 < v < 10)"},
      {q::Row(q::Field("v").Between(-10, 10, q::Bounds::kClosedOpen)),
       "Row(-10 <= v < 10)"},
      {q::Row(q::Field("v").Between(-10, 10, q::Bounds::kOpenClosed)),
       "Row(-10 < v <= 10)"},
      {q::Row(q::Field("d") > Value::Decimal(150, 2)), "Row(d > 1.50)"},
      {q::Row(q::Field("d") <= Value::Decimal(-25, 1)), "Row(d <= -2.5)"},
      {q::Row(q::Field("d") > 2), "Row(d > 2)"},
      {q::Row(q::Field("d").Between(Value::Decimal(-1, 0), Value::Decimal(3, 1),
                                    q::Bounds::kOpenClosed)),
       "Row(-1. < d <= 0.3)"},
      {q::Row(q::Field("ts") >= Day(2020, 1, 1)),
       "Row(ts >= 2020-01-01T00:00:00Z)"},
      {q::Row(q::Field("ts") <
              absl::FromUnixMillis(1580515200500)),  // 2020-02-01 +0.5s
       "Row(ts < 2020-02-01T00:00:00.5Z)"},
      {q::Row(q::Field("ts").Between(Day(2019, 6, 1), Day(2020, 6, 1),
                                     q::Bounds::kClosedOpen)),
       "Row(2019-06-01T00:00:00Z <= ts < 2020-06-01T00:00:00Z)"},
      {q::Row(q::Field("ts") == nullptr), "Row(ts == null)"},
      {q::Union(s1, m0, v_pos), "Union(Row(s=1), Row(m=0), Row(v > 0))"},
      {q::Union(std::vector<q::Call>{}), "Union()"},
      {q::Intersect(s1, s2), "Intersect(Row(s=1), Row(s=2))"},
      {q::Difference({s1, s2, m0}), "Difference(Row(s=1), Row(s=2), Row(m=0))"},
      {q::Xor(s1, m0), "Xor(Row(s=1), Row(m=0))"},
      {q::Not(s1), "Not(Row(s=1))"},
      {q::All(), "All()"},
      {q::Shift(s1, 3), "Shift(Row(s=1), n=3)"},
      {q::Limit(q::All(), 5, 2), "Limit(All(), limit=5, offset=2)"},
      {q::Limit(s1, 4), "Limit(Row(s=1), limit=4)"},
      {q::ConstRow({1, 2, 3, ShardStart(1) + 7}),
       fmt::format("ConstRow(columns=[1, 2, 3, {}])", ShardStart(1) + 7)},
      {q::Count(q::Intersect(s1, v_pos)),
       "Count(Intersect(Row(s=1), Row(v > 0)))"},
      {q::Count(q::All()), "Count(All())"},
      {q::TopN("s"), "TopN(s)"},
      {q::TopN("s", {.n = 2}), "TopN(s, n=2)"},
      {q::TopN("k", {.n = 3, .filter = v_pos}), "TopN(k, Row(v > 0), n=3)"},
      {q::TopN("m", {.filter = s1}), "TopN(field=m, Row(s=1))"},
      {q::Rows("s"), "Rows(s)"},
      {q::Rows("k"), "Rows(k)"},
      {q::Rows("s", {.previous = 1, .limit = 2}),
       "Rows(s, previous=1, limit=2)"},
      {q::Rows("m", {.column = 5}), "Rows(m, column=5)"},
      {q::Rows("k", {.like = "gr%"}), "Rows(k, like=\"gr%\")"},
      {q::Rows("k", {.like = "_e%"}), "Rows(k, like='_e%')"},
      {q::Rows("s", {.in = std::vector<q::RowRef>{1, 3}}),
       "Rows(s, in=[1, 3])"},
      {q::Rows("k", {.in = std::vector<q::RowRef>{"green", "nope"}}),
       "Rows(k, in=[\"green\", nope])"},
      {q::Rows("t", {.range = feb}),
       "Rows(t, from=2017-02-01T00:00:00Z, to=2017-03-01T00:00:00Z)"},
      {q::Sum("v"), "Sum(v)"},
      {q::Sum("d", s1), "Sum(field=d, Row(s=1))"},
      {q::Min("v", m0), "Min(v, Row(m=0))"},
      {q::Max("d"), "Max(d)"},
      {q::Min("ts"), "Min(ts)"},
      {q::Max("ts", s1), "Max(ts, Row(s=1))"},
      {q::GroupBy({q::Rows("m")}), "GroupBy(Rows(m))"},
      {q::GroupBy({q::Rows("m"), q::Rows("s")}, {.filter = v_pos}),
       "GroupBy(Rows(m), Rows(s), filter=Row(v > 0))"},
      {q::GroupBy({q::Rows("k"), q::Rows("b")}, {.limit = 3, .offset = 1}),
       "GroupBy(Rows(k), Rows(b), limit=3, offset=1)"},
      {q::GroupBy({q::Rows("m"), q::Rows("s"), q::Rows("b")},
                  {.filter = s1, .aggregate = q::Sum("v")}),
       "GroupBy(Rows(m), Rows(s), Rows(b), filter=Row(s=1), "
       "aggregate=Sum(field=v))"},
      {q::GroupBy({q::Rows("m")}, {.aggregate = q::Sum("d")}),
       "GroupBy(Rows(m), aggregate=Sum(d))"},
      {q::Extract(q::Limit(q::All(), 20),
                  {q::Rows("s"), q::Rows("k"), q::Rows("v"), q::Rows("d"),
                   q::Rows("ts"), q::Rows("b")}),
       "Extract(Limit(All(), limit=20), Rows(s), Rows(k), Rows(v), Rows(d), "
       "Rows(ts), Rows(b))"},
      {q::Distinct("v"), "Distinct(field=v)"},
      {q::Distinct("s", s1), "Distinct(Row(s=1), field=s)"},
      {q::Distinct("ts", m0), "Distinct(Row(m=0), field=ts)"},
      {q::CountDistinct("m"), "Count(Distinct(field=m))"},
      {q::TopN("s", {.n = 2, .threshold = 3}), "TopN(s, n=2, threshold=3)"},
      {q::TopN("s", {.filter = m0, .tanimoto_threshold = 20}),
       "TopN(s, Row(m=0), tanimotoThreshold=20)"},
      {q::TopN("k", {.ids = {"red", "blue"}}),
       "TopN(k, ids=[\"red\", \"blue\"])"},
      {q::TopK("s"), "TopK(s)"},
      {q::TopK("t", {.k = 2, .filter = s1, .range = feb}),
       "TopK(t, k=2, filter=Row(s=1), from=2017-02-01T00:00:00Z, "
       "to=2017-03-01T00:00:00Z)"},
      {q::Percentile("v", 50), "Percentile(v, nth=50)"},
      {q::Percentile("d", Value::Decimal(995, 1), s1),
       "Percentile(d, nth=99.5, filter=Row(s=1))"},
      {q::FieldValue("v", 5), "FieldValue(field=v, column=5)"},
      {q::MinRow("s"), "MinRow(s)"},
      {q::MaxRow("m", s1), "MaxRow(m, Row(s=1))"},
      {q::IncludesColumn(s1, 5), "IncludesColumn(Row(s=1), column=5)"},
      {q::Sort("v", {.desc = true, .limit = 3}),
       "Sort(field=v, sort-desc=true, limit=3)"},
      {q::Sort("d", {.filter = s1, .limit = 5, .offset = 1}),
       "Sort(Row(s=1), field=d, limit=5, offset=1)"},
      {q::Options(q::Count(s1), {0, 2}),
       "Options(Count(Row(s=1)), shards=[0, 2])"},
      {q::GroupBy({q::Rows("m"), q::Rows("b")},
                  {.having = q::Field("count") > 2,
                   .sort = "count desc",
                   .previous = {1, false}}),
       "GroupBy(Rows(m), Rows(b), having=Condition(count > 2), sort=\"count "
       "desc\", previous=[1, false])"},
      {q::GroupBy({q::Rows("m")}, {.aggregate = q::CountDistinct("s"),
                                   .having = q::Field("sum") >= 2,
                                   .sort = "aggregate asc, count"}),
       "GroupBy(Rows(m), aggregate=Count(Distinct(field=s)), "
       "having=Condition(sum >= 2), sort=\"aggregate asc, count\")"},
      {q::GroupBy({q::Rows("s"), q::Rows("m")},
                  {.aggregate = q::CountDistinct("v", q::Row("b", true))}),
       "GroupBy(Rows(s), Rows(m), aggregate=Count(Distinct(Row(b=true), "
       "field=v)))"},
      // Errors come out the same way too.
      {q::Row("nope", 1), "Row(nope=1)"},
      // Row(v=1) on an int field is Row(v == 1); a key is no int.
      {q::Row("v", "x"), "Row(v=\"x\")"},
      {q::Row(q::Field("s") > 1), "Row(s > 1)"},
      {q::Row(q::Field("ts") > Value::Decimal(5, 1)), "Row(ts > 0.5)"},
      {q::Row("s", -1), "Row(s=-1)"},
      {q::Intersect(std::vector<q::Call>{}), "Intersect()"},
      {q::Sum("s"), "Sum(s)"},
  };
}

TEST(QueryBuilderTest, ToPqlParsesToTheBuilderTree) {
  for (const Case& c : Cases()) {
    SCOPED_TRACE(c.text);
    const internal::pql::Call& built = BuilderAccess::Node(c.call);
    const std::string printed = c.call.ToPql();
    auto reparsed = internal::pql::Parse(printed);
    FB_ASSERT_OK(reparsed) << printed << ": " << reparsed.status();
    ASSERT_EQ(reparsed->calls.size(), 1u);
    EXPECT_TRUE(internal::pql::Equal(reparsed->calls[0], built)) << printed;
    auto typed = internal::pql::Parse(c.text);
    FB_ASSERT_OK(typed);
    ASSERT_EQ(typed->calls.size(), 1u);
    EXPECT_TRUE(internal::pql::Equal(typed->calls[0], built))
        << "builder prints " << printed;
    EXPECT_EQ(c.call.name(), built.name);
  }
}

TEST(QueryBuilderTest, BuilderAndTextGiveTheSameJson) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    auto index = RandomIndex(seed);
    int ok = 0;
    for (const Case& c : Cases()) {
      SCOPED_TRACE(c.text);
      const std::string from_builder = Json(Query(*index, c.call));
      EXPECT_EQ(from_builder, Json(Query(*index, c.text)));
      EXPECT_EQ(from_builder, Json(Query(*index, c.call.ToPql())));
      if (from_builder.find("\"error\"") == std::string::npos) ++ok;
    }
    // Only the error cases at the end of the table fail.
    EXPECT_EQ(ok, int(Cases().size()) - 7);
  }
}

TEST(QueryBuilderTest, SeveralCallsGiveOneResultEach) {
  auto index = RandomIndex(1);
  const std::vector<q::Call> calls = {q::Count(q::Row("s", 1)),
                                      q::Count(q::All()), q::TopN("s")};
  auto r = Query(*index, calls);
  FB_ASSERT_OK(r);
  EXPECT_EQ(r->results.size(), 3u);
  EXPECT_EQ(r->ToJson(), Json(Query(*index,
                                    "Count(Row(s=1)) Count(All()) "
                                    "TopN(s)")));
}

// Random row trees of every row-call kind, as builder calls and as their
// text, give the same records.
TEST(QueryBuilderTest, RandomRowTreesMatchText) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    auto index = RandomIndex(seed);
    std::mt19937_64 rng(seed ^ 0x5eed);
    std::function<q::Call(int)> gen = [&](int depth) -> q::Call {
      const int leaf_kinds = 6;
      const int kind =
          depth <= 0 ? int(rng() % leaf_kinds) : int(rng() % (leaf_kinds + 7));
      auto kids = [&] {
        std::vector<q::Call> out;
        for (int i = 0, n = 1 + int(rng() % 3); i < n; ++i)
          out.push_back(gen(depth - 1));
        return out;
      };
      switch (kind) {
        case 0:
          return q::Row("s", rng() % 6);
        case 1:
          return q::Row("m", rng() % 4);
        case 2:
          return q::Row(q::Field("v") > int64_t(rng() % 200) - 100);
        case 3:
          return q::Row(q::Field("d").Between(
              Value::Decimal(int64_t(rng() % 1000) - 500, 2),
              Value::Decimal(int64_t(rng() % 1000), 2), q::Bounds(rng() % 4)));
        case 4:
          return q::Row(
              "k", std::vector<std::string>{"red", "blue", "none"}[rng() % 3]);
        case 5:
          return q::Row(q::Field("ts") < Day(2019 + rng() % 3, 6, 1));
        case 6:
          return q::Union(kids());
        case 7:
          return q::Intersect(kids());
        case 8:
          return q::Difference(kids());
        case 9:
          return q::Xor(kids());
        case 10:
          return q::Not(gen(depth - 1));
        case 11:
          return q::Limit(gen(depth - 1), rng() % 50, rng() % 5);
        default:
          return q::Shift(gen(depth - 1), rng() % 3);
      }
    };
    for (int i = 0; i < 200; ++i) {
      q::Call row = gen(3);
      q::Call call = rng() % 2 ? q::Count(row) : row;
      SCOPED_TRACE(call.ToPql());
      const std::string a = Json(Query(*index, call));
      EXPECT_EQ(a, Json(Query(*index, call.ToPql())));
      EXPECT_EQ(a.find("\"error\""), std::string::npos) << a;
    }
  }
}

// Writes: the builder and the text change two copies of an index the same
// way, and the builder's tree is the parsed text's.
TEST(QueryBuilderTest, WritesMatchText) {
  for (uint64_t seed : TestSeeds(2)) {
    SCOPED_TRACE(SeedTrace(seed));
    auto a = RandomIndex(seed), b = RandomIndex(seed);
    const std::vector<Case> writes = {
        {q::Set(5, "s", Value::Id(3)), "Set(5, s=3)"},
        {q::Set(7, "t", Value::Id(1), Day(2017, 2, 3)),
         "Set(7, t=1, 2017-02-03T00:00:00Z)"},
        {q::Set(9, "v", Value::Int(-5)), "Set(9, v=-5)"},
        {q::Set(10, "d", Value::Decimal(125, 2)), "Set(10, d=1.25)"},
        {q::Set(11, "k", Value::Key("red")), "Set(11, k=\"red\")"},
        {q::Set(12, "b", Value::Bool(true)), "Set(12, b=true)"},
        {q::Clear(5, "s", Value::Id(3)), "Clear(5, s=3)"},
        {q::ClearRow("s", 2), "ClearRow(s=2)"},
        {q::Store(q::Row("s", 1), "s", 9), "Store(Row(s=1), s=9)"},
        {q::Store(q::Row("m", 1), "fresh", "x"), "Store(Row(m=1), fresh=x)"},
        {q::Delete(q::Row("m", 3)), "Delete(Row(m=3))"},
        {q::Set(13, "v", Value::Int(1000)), "Set(13, v=1000)"},  // error
    };
    for (const Case& c : writes) {
      SCOPED_TRACE(c.text);
      auto typed = internal::pql::Parse(c.text);
      FB_ASSERT_OK(typed);
      EXPECT_TRUE(
          internal::pql::Equal(typed->calls[0], BuilderAccess::Node(c.call)))
          << "builder prints " << c.call.ToPql();
      EXPECT_EQ(Json(Query(*a, c.call)), Json(Query(*b, c.text)));
    }
    const std::string check =
        "Row(s=3) Row(s=2) Row(s=9) Row(fresh=x) Count(All()) Row(v < 0) "
        "Row(t=1, from=2017-02-03T00:00, to=2017-02-04T00:00) Sum(field=d)";
    EXPECT_EQ(Json(Query(*a, check)), Json(Query(*b, check)));
  }
}

}  // namespace
}  // namespace featurebase
