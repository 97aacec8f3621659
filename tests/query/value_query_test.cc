// Value fields (int, decimal, timestamp) through PQL against a brute-force
// model: every predicate shape, aggregates with and without filters, ties,
// FieldValue, Sort, GroupBy aggregate=Sum and Extract.
#include <gtest/gtest.h>

#include <algorithm>
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
#include "tests/util/percentile_model.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using featurebase::testing::BrutePercentile;
using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

std::string RunPql(Index& index, const std::string& pql) {
  auto r = Query(index, pql);
  if (!r.ok()) return ErrorJson(r.status());
  return r->ToJson();
}

std::string Columns(const std::set<uint64_t>& s) {
  std::string out = "{\"columns\":[";
  bool first = true;
  for (uint64_t v : s) {
    out += fmt::format("{}{}", first ? "" : ",", v);
    first = false;
  }
  return out + "]}";
}

struct Case {
  int64_t min, max;
};

TEST(ValueQueryTest, IntPredicatesAndAggregatesMatchModel) {
  // Negative base (max < 0), positive base (min > 0), zero base, extremes.
  const std::vector<Case> cases = {{-1000, 1000},
                                   {100, 5000},
                                   {-5000, -100},
                                   {INT64_MIN, INT64_MAX},
                                   {-3, 3}};
  for (uint64_t seed : TestSeeds(3)) {
    for (const Case& range : cases) {
      SCOPED_TRACE(SeedTrace(seed) +
                   fmt::format(" range [{}, {}]", range.min, range.max));
      std::mt19937_64 rng(seed);
      auto index = *Index::Create("i");
      FB_ASSERT_OK(
          index->CreateField("v", FieldOptions::Int(range.min, range.max)));
      FB_ASSERT_OK(index->CreateField("g", FieldOptions::Mutex()));
      std::map<uint64_t, int64_t> model;
      std::map<uint64_t, uint64_t> group;
      auto random_value = [&]() -> int64_t {
        // Small values first, so the bit depth grows mid-stream.
        const uint64_t span = uint64_t(range.max) - uint64_t(range.min);
        if (rng() % 4 == 0) return rng() % 2 ? range.min : range.max;
        const uint64_t small =
            std::min<uint64_t>(span, rng() % 3 == 0 ? span : 50);
        return int64_t(uint64_t(range.min) +
                       (small == UINT64_MAX ? rng() : rng() % (small + 1)));
      };
      for (int i = 0; i < 400; ++i) {
        const uint64_t col = ShardStart(rng() % 3) + rng() % 500;
        if (rng() % 8 == 0 && model.count(col)) {
          ASSERT_EQ(RunPql(*index, fmt::format("Clear({}, v=0)", col)),
                    "{\"results\":[true]}");
          model.erase(col);
          continue;
        }
        const int64_t v = random_value();
        auto set = index->Set(col, "v", Value::Int(v));
        FB_ASSERT_OK(set);
        model[col] = v;
        const uint64_t g = rng() % 3;
        FB_ASSERT_OK(index->Set(col, "g", Value::Id(g)));
        group[col] = g;
      }
      // Out-of-range writes are OutOfRange and change nothing.
      if (range.max < INT64_MAX) {
        auto bad = index->Set(1, "v", Value::Int(range.max + 1));
        ASSERT_EQ(bad.status().code(), absl::StatusCode::kOutOfRange)
            << bad.status();
        ASSERT_NE(bad.status().message().find("out of range"),
                  std::string::npos)
            << bad.status();
      }
      const std::vector<
          std::pair<std::string, std::function<bool(int64_t, int64_t)>>>
          ops = {
              {"==", [](int64_t a, int64_t b) { return a == b; }},
              {"!=", [](int64_t a, int64_t b) { return a != b; }},
              {"<", [](int64_t a, int64_t b) { return a < b; }},
              {"<=", [](int64_t a, int64_t b) { return a <= b; }},
              {">", [](int64_t a, int64_t b) { return a > b; }},
              {">=", [](int64_t a, int64_t b) { return a >= b; }},
          };
      for (int q = 0; q < 40; ++q) {
        // Predicate values inside, at and beyond the field's range.
        int64_t c = random_value();
        if (q % 5 == 0 && range.max < INT64_MAX - 10)
          c = range.max + int64_t(rng() % 10);
        if (q % 7 == 0 && range.min > INT64_MIN + 10)
          c = range.min - int64_t(rng() % 10);
        for (const auto& [name, op] : ops) {
          std::set<uint64_t> want;
          for (auto [col, v] : model) {
            if (op(v, c)) want.insert(col);
          }
          const std::string pql = fmt::format("Row(v {} {})", name, c);
          SCOPED_TRACE(pql);
          ASSERT_EQ(RunPql(*index, pql),
                    "{\"results\":[" + Columns(want) + "]}");
          ASSERT_EQ(RunPql(*index, "Count(" + pql + ")"),
                    fmt::format("{{\"results\":[{}]}}", want.size()));
        }
        int64_t d = random_value();
        int64_t lo = std::min(c, d), hi = std::max(c, d);
        for (const char* lop : {"<", "<="}) {
          for (const char* hop : {"<", "<="}) {
            std::set<uint64_t> want;
            for (auto [col, v] : model) {
              const bool a = lop[1] ? lo <= v : lo < v;
              const bool b = hop[1] ? v <= hi : v < hi;
              if (a && b) want.insert(col);
            }
            const std::string pql =
                fmt::format("Row({} {} v {} {})", lo, lop, hop, hi);
            SCOPED_TRACE(pql);
            ASSERT_EQ(RunPql(*index, pql),
                      "{\"results\":[" + Columns(want) + "]}");
          }
        }
      }
      // Null predicates.
      std::set<uint64_t> has;
      for (auto [col, v] : model) has.insert(col);
      ASSERT_EQ(RunPql(*index, "Row(v != null)"),
                "{\"results\":[" + Columns(has) + "]}");
      // Aggregates, with and without a filter (group 1).
      for (int filtered = 0; filtered < 2; ++filtered) {
        __int128 sum = 0;
        uint64_t count = 0;
        std::optional<int64_t> mn, mx;
        for (auto [col, v] : model) {
          if (filtered && group[col] != 1) continue;
          sum += v;
          ++count;
          mn = mn ? std::min(*mn, v) : v;
          mx = mx ? std::max(*mx, v) : v;
        }
        uint64_t nmin = 0, nmax = 0;
        for (auto [col, v] : model) {
          if (filtered && group[col] != 1) continue;
          nmin += v == mn;
          nmax += v == mx;
        }
        const std::string f = filtered ? "Row(g=1), " : "";
        std::string sum_text;
        {
          const bool neg = sum < 0;
          unsigned __int128 m =
              neg ? -(unsigned __int128)sum : (unsigned __int128)sum;
          do {
            sum_text.insert(sum_text.begin(), char('0' + int(m % 10)));
            m /= 10;
          } while (m != 0);
          if (neg) sum_text.insert(sum_text.begin(), '-');
        }
        ASSERT_EQ(RunPql(*index, fmt::format("Sum({}field=v)", f)),
                  fmt::format("{{\"results\":[{{\"value\":{},\"count\":{}}}]}}",
                              sum_text, count));
        if (mn) {
          ASSERT_EQ(
              RunPql(*index, fmt::format("Min({}field=v)", f)),
              fmt::format("{{\"results\":[{{\"value\":{},\"count\":{}}}]}}",
                          *mn, nmin));
          ASSERT_EQ(
              RunPql(*index, fmt::format("Max({}field=v)", f)),
              fmt::format("{{\"results\":[{{\"value\":{},\"count\":{}}}]}}",
                          *mx, nmax));
        }
        // Percentile (FeatureBase's search) and Distinct (a SignedRow of
        // magnitudes: negatives ascending by |v|, then non-negatives).
        std::vector<int64_t> values;
        for (auto [col, v] : model) {
          if (!filtered || group[col] == 1) values.push_back(v);
        }
        std::sort(values.begin(), values.end());
        for (double nth : {0.0, 10.0, 50.0, 99.0, 100.0}) {
          const std::string pql =
              fmt::format("Percentile({}field=v, nth={})", f, nth);
          ASSERT_EQ(RunPql(*index, pql),
                    values.empty()
                        ? std::string("{\"results\":[null]}")
                        : fmt::format(
                              "{{\"results\":[{{\"value\":{},\"count\":1}}]}}",
                              BrutePercentile(values, nth)))
              << pql;
        }
        values.erase(std::unique(values.begin(), values.end()), values.end());
        std::string neg, pos;
        for (auto it = values.rbegin(); it != values.rend(); ++it) {
          if (*it < 0)
            neg += fmt::format("{}{}", neg.empty() ? "" : ",",
                               uint64_t(0) - uint64_t(*it));
        }
        for (int64_t v : values) {
          if (v >= 0) pos += fmt::format("{}{}", pos.empty() ? "" : ",", v);
        }
        ASSERT_EQ(RunPql(*index, fmt::format("Distinct({}field=v)", f)),
                  fmt::format("{{\"results\":[{{\"neg\":{{\"columns\":[{}]}},"
                              "\"pos\":{{\"columns\":[{}]}}}}]}}",
                              neg, pos));
      }
      // FieldValue and Sort.
      const uint64_t some = model.begin()->first;
      ASSERT_EQ(
          RunPql(*index, fmt::format("FieldValue(field=v, column={})", some)),
          fmt::format("{{\"results\":[{{\"value\":{},\"count\":1}}]}}",
                      model[some]));
      std::vector<std::pair<int64_t, uint64_t>> order;
      for (auto [col, v] : model) order.emplace_back(v, col);
      std::sort(order.begin(), order.end(), [](auto a, auto b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      std::string want_sort = "{\"columns\":[";
      for (size_t i = 0; i < std::min<size_t>(5, order.size()); ++i) {
        want_sort += fmt::format("{}{}", i ? "," : "", order[i].second);
      }
      want_sort += "]}";
      ASSERT_EQ(RunPql(*index, "Sort(field=v, sort-desc=true, limit=5)"),
                "{\"results\":[" + want_sort + "]}");
      // GroupBy with aggregate=Sum.
      std::map<uint64_t, std::pair<uint64_t, __int128>> per;
      for (auto [col, v] : model) {
        per[group[col]].first++;
        per[group[col]].second += v;
      }
      std::string want_groups = "[";
      bool first = true;
      for (auto& [g, cs] : per) {
        std::string s;
        const bool neg = cs.second < 0;
        unsigned __int128 m =
            neg ? -(unsigned __int128)cs.second : (unsigned __int128)cs.second;
        do {
          s.insert(s.begin(), char('0' + int(m % 10)));
          m /= 10;
        } while (m != 0);
        if (neg) s.insert(s.begin(), '-');
        want_groups += fmt::format(
            "{}{{\"group\":[{{\"field\":\"g\",\"rowID\":{}}}],\"count\":{},"
            "\"sum\":{}}}",
            first ? "" : ",", g, cs.first, s);
        first = false;
      }
      want_groups += "]";
      ASSERT_EQ(RunPql(*index, "GroupBy(Rows(g), aggregate=Sum(field=v))"),
                "{\"results\":[" + want_groups + "]}");
    }
  }
}

TEST(ValueQueryTest, DecimalAndTimestampShapes) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("amount", FieldOptions::Decimal(2)));
  FB_ASSERT_OK(
      index->CreateField("at", FieldOptions::Timestamp(TimeUnit::kSecond)));
  FB_ASSERT_OK(index->Set(1, "amount", Value::Decimal(1234, 2)));
  FB_ASSERT_OK(index->Set(2, "amount", Value::Decimal(5, 1)));      // 0.5
  FB_ASSERT_OK(index->Set(3, "amount", Value::Int(-2)));            // -2.00
  auto places = index->Set(4, "amount", Value::Decimal(12345, 3));  // 12.345
  EXPECT_EQ(places.status().code(), absl::StatusCode::kInvalidArgument)
      << places.status();
  FB_ASSERT_OK(
      index->Set(1, "at", Value::Timestamp(absl::FromUnixSeconds(1700000000))));
  EXPECT_EQ(RunPql(*index, "Sum(field=amount) Min(field=amount) Max(amount)"),
            "{\"results\":[{\"value\":10.84,\"count\":3},{\"value\":-2.00,"
            "\"count\":1},"
            "{\"value\":12.34,\"count\":1}]}");
  EXPECT_EQ(
      RunPql(*index,
             "Row(amount > 0.5) Row(amount <= 0.50) Row(-2 <= amount < 1)"),
      "{\"results\":[{\"columns\":[1]},{\"columns\":[2,3]},{\"columns\":[2,3]}]"
      "}");
  EXPECT_EQ(
      RunPql(*index,
             "FieldValue(field=at, column=1) Row(at > 2023-01-01T00:00:00Z)"),
      "{\"results\":[{\"value\":\"2023-11-14T22:13:20Z\",\"count\":1},{"
      "\"columns\":[1]}]}");
  EXPECT_EQ(RunPql(*index, "Extract(All(), Rows(amount), Rows(at))"),
            "{\"results\":[{\"fields\":[{\"name\":\"amount\",\"type\":"
            "\"decimal\"},{\"name\":"
            "\"at\",\"type\":\"timestamp\"}],\"columns\":[{\"column\":1,"
            "\"rows\":[12.34,"
            "\"2023-11-14T22:13:20Z\"]},{\"column\":2,\"rows\":[0.50,null]},{"
            "\"column\":3,"
            "\"rows\":[-2.00,null]}]}]}");
  EXPECT_EQ(RunPql(*index, "Sum(field=at)"),
            "{\"error\":\"Sum(): cannot sum timestamp field \\\"at\\\"\"}");
  EXPECT_EQ(RunPql(*index, "Percentile(field=amount, nth=50)"),
            "{\"results\":[{\"value\":0.50,\"count\":1}]}");
  EXPECT_EQ(RunPql(*index, "Sum(field=nope)"),
            "{\"error\":\"Sum(): field \\\"nope\\\" not found\"}");
  // FeatureBase reads Row(f=v) on a value field as Row(f == v).
  EXPECT_EQ(RunPql(*index, "Row(amount = 0.5)"),
            "{\"results\":[{\"columns\":[2]}]}");
}

}  // namespace
}  // namespace featurebase

namespace featurebase {
namespace {

// PQL writes integer values as ids; FeatureBase accepts them for int,
// decimal and timestamp fields alike.
TEST(ValueQueryTest, PqlSetWritesIntegersToValueFields) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("age", FieldOptions::Int(0, 120)));
  FB_ASSERT_OK(index->CreateField("price", FieldOptions::Decimal(2)));
  EXPECT_EQ(RunPql(*index, "Set(1, age=30) Set(2, price=7)"),
            R"({"results":[true,true]})");
  EXPECT_EQ(RunPql(*index, "Count(Row(age==30)) Sum(field=price)"),
            R"({"results":[1,{"value":7.00,"count":1}]})");
  EXPECT_EQ(
      RunPql(*index, "Set(3, age=130)"),
      R"({"error":"set: value 130 out of range [0, 120] for field \"age\""})");
}

}  // namespace
}  // namespace featurebase
