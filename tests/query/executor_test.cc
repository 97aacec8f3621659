// The executor against a brute-force evaluator over a naive model: random
// data over several shards, random query trees written as PQL.
#include <gtest/gtest.h>

#include <algorithm>
#include <functional>
#include <iterator>
#include <map>
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

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;
using Set = std::set<uint64_t>;

std::string ColumnsJson(const Set& s) {
  std::string out = "{\"columns\":[";
  bool first = true;
  for (uint64_t v : s) {
    out += (first ? "" : ",") + std::to_string(v);
    first = false;
  }
  return out + "]}";
}

Set Op(const Set& a, const Set& b, char op) {
  Set out;
  if (op == '&')
    std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                          std::inserter(out, out.end()));
  if (op == '|')
    std::set_union(a.begin(), a.end(), b.begin(), b.end(),
                   std::inserter(out, out.end()));
  if (op == '-')
    std::set_difference(a.begin(), a.end(), b.begin(), b.end(),
                        std::inserter(out, out.end()));
  if (op == '^') {
    std::set_symmetric_difference(a.begin(), a.end(), b.begin(), b.end(),
                                  std::inserter(out, out.end()));
  }
  return out;
}

struct World {
  std::unique_ptr<Index> index;
  std::map<std::string, std::map<uint64_t, Set>>
      rows;  // field -> row -> columns
  Set exists;
  std::vector<uint64_t> columns;

  explicit World(uint64_t seed) {
    std::mt19937_64 rng(seed);
    index = *Index::Create("i");
    FB_EXPECT_OK(index->CreateField("s", FieldOptions::Set()));
    FB_EXPECT_OK(index->CreateField("m", FieldOptions::Mutex()));
    FB_EXPECT_OK(index->CreateField("b", FieldOptions::Bool()));
    for (int i = 0; i < 600; ++i) {
      const uint64_t col = ShardStart(rng() % 4) + rng() % 3000;
      columns.push_back(col);
      exists.insert(col);
      for (int k = 0; k < 2; ++k) {
        const uint64_t r = rng() % 5;
        FB_EXPECT_OK(index->Set(col, "s", Value::Id(r)));
        rows["s"][r].insert(col);
      }
      const uint64_t m = rng() % 4;
      for (auto& [r, cols] : rows["m"]) cols.erase(col);
      FB_EXPECT_OK(index->Set(col, "m", Value::Id(m)));
      rows["m"][m].insert(col);
      if (rng() % 2) {
        const bool b = rng() % 2;
        rows["b"][!b].erase(col);
        FB_EXPECT_OK(index->Set(col, "b", Value::Bool(b)));
        rows["b"][b].insert(col);
      }
    }
  }

  // A random row-call tree as PQL, with its brute-force value.
  std::pair<std::string, Set> RandomTree(std::mt19937_64& rng, int depth) {
    const int pick = depth <= 0 ? int(rng() % 3) : int(rng() % 11);
    switch (pick) {
      case 0: {
        const uint64_t r = rng() % 6;
        return {fmt::format("Row(s={})", r), rows["s"][r]};
      }
      case 1: {
        const uint64_t r = rng() % 5;
        return {fmt::format("Row(m={})", r), rows["m"][r]};
      }
      case 2: {
        const bool b = rng() % 2;
        return {fmt::format("Row(b={})", b ? "true" : "false"), rows["b"][b]};
      }
      case 3:
      case 4:
      case 5:
      case 6: {
        const char* names[] = {"Union", "Intersect", "Difference", "Xor"};
        const char ops[] = {'|', '&', '-', '^'};
        const int k = pick - 3;
        auto [ta, sa] = RandomTree(rng, depth - 1);
        auto [tb, sb] = RandomTree(rng, depth - 1);
        std::string text = fmt::format("{}({}, {}", names[k], ta, tb);
        Set acc = Op(sa, sb, ops[k]);
        if (rng() % 3 == 0) {
          auto [tc, sc] = RandomTree(rng, depth - 1);
          text += ", " + tc;
          acc = Op(acc, sc, ops[k]);
        }
        return {text + ")", acc};
      }
      case 7: {
        auto [t, s] = RandomTree(rng, depth - 1);
        return {fmt::format("Not({})", t), Op(exists, s, '-')};
      }
      case 8: {
        auto [t, s] = RandomTree(rng, depth - 1);
        const uint64_t n = rng() % 3 == 0 ? kShardWidth : rng() % 5000;
        Set out;
        for (uint64_t v : s) out.insert(v + n);
        return {fmt::format("Shift({}, n={})", t, n), out};
      }
      case 9: {
        auto [t, s] = RandomTree(rng, depth - 1);
        const uint64_t off = rng() % 50, lim = rng() % 200;
        Set out;
        auto it = s.begin();
        for (uint64_t i = 0; i < off && it != s.end(); ++i) ++it;
        for (uint64_t i = 0; i < lim && it != s.end(); ++i) out.insert(*it++);
        return {fmt::format("Limit({}, limit={}, offset={})", t, lim, off),
                out};
      }
      default: {
        Set picked;
        std::string list;
        for (int i = 0; i < 4; ++i) {
          const uint64_t c =
              rng() % 2 ? columns[rng() % columns.size()] : rng() % 100000;
          list += (i ? "," : "") + std::to_string(c);
          if (exists.count(c)) picked.insert(c);
        }
        return {fmt::format("ConstRow(columns=[{}])", list), picked};
      }
    }
  }
};

std::string RunPql(Index& index, const std::string& pql) {
  auto r = Query(index, pql);
  if (!r.ok()) return ErrorJson(r.status());
  return r->ToJson();
}

TEST(ExecutorTest, RowTreesAndCountsMatchBruteForce) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    World w(seed);
    std::mt19937_64 rng(seed + 1);
    for (int q = 0; q < 150; ++q) {
      auto [text, want] = w.RandomTree(rng, 3);
      SCOPED_TRACE(text);
      ASSERT_EQ(RunPql(*w.index, text),
                "{\"results\":[" + ColumnsJson(want) + "]}");
      ASSERT_EQ(RunPql(*w.index, "Count(" + text + ")"),
                fmt::format("{{\"results\":[{}]}}", want.size()));
      QueryOptions one_thread;
      one_thread.threads = 1;
      auto single = Query(*w.index, "Count(" + text + ")", one_thread);
      FB_ASSERT_OK(single);
      ASSERT_EQ(single->results[0].count(), want.size());
    }
  }
}

TEST(ExecutorTest, TopNRowsAndGroupByMatchBruteForce) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    World w(seed);
    std::mt19937_64 rng(seed + 2);
    for (int q = 0; q < 20; ++q) {
      auto [ftext, filter] = w.RandomTree(rng, 1);
      SCOPED_TRACE(ftext);
      // TopN with a filter: exact counts, ties by row id.
      std::vector<std::pair<uint64_t, uint64_t>> top;  // (count, row)
      for (const auto& [r, cols] : w.rows["s"]) {
        const uint64_t n = Op(cols, filter, '&').size();
        if (n > 0) top.emplace_back(n, r);
      }
      std::sort(top.begin(), top.end(), [](auto a, auto b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      if (top.size() > 3) top.resize(3);
      std::string want = "[";
      for (size_t i = 0; i < top.size(); ++i) {
        want += fmt::format("{}{{\"id\":{},\"count\":{}}}", i ? "," : "",
                            top[i].second, top[i].first);
      }
      want += "]";
      ASSERT_EQ(RunPql(*w.index, fmt::format("TopN(s, {}, n=3)", ftext)),
                "{\"results\":[" + want + "]}");
      // GroupBy over m and b with the filter, with a having clause.
      std::string groups = "[";
      bool first = true;
      for (const auto& [mr, mcols] : w.rows["m"]) {
        for (const auto& [br, bcols] : w.rows["b"]) {
          const uint64_t n = Op(Op(mcols, bcols, '&'), filter, '&').size();
          if (n <= 1) continue;
          groups += fmt::format(
              "{}{{\"group\":[{{\"field\":\"m\",\"rowID\":{}}},{{\"field\":"
              "\"b\",\"rowID\":{}}}],"
              "\"count\":{}}}",
              first ? "" : ",", mr, br, n);
          first = false;
        }
      }
      groups += "]";
      ASSERT_EQ(
          RunPql(*w.index, fmt::format("GroupBy(Rows(m), Rows(b), filter={}, "
                                       "having=Condition(count > 1))",
                                       ftext)),
          "{\"results\":[" + groups + "]}");
    }
    // Rows with previous / limit / column.
    const uint64_t col = w.columns[0];
    std::string want_rows;
    for (const auto& [r, cols] : w.rows["s"]) {
      if (cols.count(col) && r > 0)
        want_rows += (want_rows.empty() ? "" : ",") + std::to_string(r);
    }
    ASSERT_EQ(
        RunPql(*w.index, fmt::format("Rows(s, previous=0, column={})", col)),
        "{\"results\":[{\"rows\":[" + want_rows + "]}]}");
  }
}

TEST(ExecutorTest, ShapesOfResults) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  FieldOptions keyed = FieldOptions::Mutex();
  keyed.keys = true;
  FB_ASSERT_OK(index->CreateField("zone", keyed));
  EXPECT_EQ(
      RunPql(*index,
             "Set(1, s=10) Set(2, s=10) Set(2, s=11) Set(3, zone=\"soho\")"),
      "{\"results\":[true,true,true,true]}");
  EXPECT_EQ(RunPql(*index, "Set(1, s=10)"), "{\"results\":[false]}");
  EXPECT_EQ(
      RunPql(*index,
             "Row(s=10) Count(All()) IncludesColumn(Row(s=11), column=2)"),
      "{\"results\":[{\"columns\":[1,2]},3,true]}");
  EXPECT_EQ(
      RunPql(*index, "TopN(zone) Rows(zone) MinRow(field=s) MaxRow(s)"),
      "{\"results\":[[{\"key\":\"soho\",\"count\":1}],{\"keys\":[\"soho\"]},"
      "{\"id\":10,\"count\":1},{\"id\":11,\"count\":1}]}");
  EXPECT_EQ(RunPql(*index, "GroupBy(Rows(zone), Rows(s))"),
            "{\"results\":[[]]}");
  EXPECT_EQ(
      RunPql(*index, "Extract(All(), Rows(s), Rows(zone))"),
      "{\"results\":[{\"fields\":[{\"name\":\"s\",\"type\":\"set\"},{\"name\":"
      "\"zone\","
      "\"type\":\"mutex\"}],\"columns\":[{\"column\":1,\"rows\":[[10],null]},{"
      "\"column\":2,"
      "\"rows\":[[10,11],null]},{\"column\":3,\"rows\":[[],\"soho\"]}]}]}");
  EXPECT_EQ(
      RunPql(*index,
             "Store(Row(s=11), t=1) Row(t=1) Clear(2, s=11) ClearRow(s=10) "
             "Row(s=10)"),
      "{\"results\":[true,{\"columns\":[2]},true,true,{\"columns\":[]}]}");
  EXPECT_EQ(RunPql(*index, "Delete(Row(t=1)) Count(All())"),
            "{\"results\":[true,2]}");
  EXPECT_EQ(RunPql(*index, "Options(Row(zone=\"soho\"), shards=[1])"),
            "{\"results\":[{\"columns\":[]}]}");
}

TEST(ExecutorTest, KeyedIndexReturnsKeys) {
  auto index = *Index::Create("people", IndexOptions{.keys = true});
  FB_ASSERT_OK(index->CreateField("likes", FieldOptions::Set()));
  // Keys come back in record-id order; ids are partition-local.
  const uint64_t ann = *index->ColumnId("ann"), bob = *index->ColumnId("bob");
  const std::string both = ann < bob ? "\"ann\",\"bob\"" : "\"bob\",\"ann\"";
  EXPECT_EQ(RunPql(*index,
                   "Set(\"ann\", likes=1) Set(\"bob\", likes=1) Row(likes=1)"),
            "{\"results\":[true,true,{\"keys\":[" + both + "]}]}");
  EXPECT_EQ(RunPql(*index, "ConstRow(columns=[\"bob\", \"nobody\"])"),
            "{\"results\":[{\"keys\":[\"bob\"]}]}");
  EXPECT_EQ(RunPql(*index, "Set(1, likes=1)"),
            "{\"error\":\"Set(): a keyed index takes string columns\"}");
}

TEST(ExecutorTest, SemanticErrorsNameCallFieldAndReason) {
  auto index = *Index::Create("i");
  FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
  EXPECT_EQ(RunPql(*index, "Row(nope=1)"),
            "{\"error\":\"Row(): field \\\"nope\\\" not found\"}");
  EXPECT_EQ(RunPql(*index, "Row(s=1, from=2017-01-01T00:00)"),
            "{\"error\":\"Row(): field \\\"s\\\" is not a time-field\"}");
  EXPECT_EQ(RunPql(*index, "Row(s != 1)"),
            "{\"error\":\"Row(): only support != for null\"}");
  EXPECT_EQ(RunPql(*index, "Intersect()"),
            "{\"error\":\"Intersect(): empty Intersect query is currently not "
            "supported\"}");
  EXPECT_EQ(RunPql(*index, "Count(Row(s=1), Row(s=2))"),
            "{\"error\":\"Count(): expects exactly one call\"}");
  EXPECT_EQ(RunPql(*index, "TopN()"), "{\"error\":\"TopN(): field required\"}");
  EXPECT_EQ(RunPql(*index, "Shift(Row(s=1), n=-1)"),
            "{\"error\":\"Shift(): negative shift not supported\"}");
  auto no_exist = *Index::Create("j", IndexOptions{.track_existence = false});
  EXPECT_EQ(RunPql(*no_exist, "Not(All())"),
            "{\"error\":\"Not(): index does not support existence tracking\"}");
}

}  // namespace
}  // namespace featurebase

namespace featurebase {
namespace {

// GroupBy over three or more fields walks the fields in its own order
// (fewest rows last) when every group is wanted; the groups, their order,
// counts, aggregates, having and sort must not change, and limits (which
// keep the requested order) must agree too.
TEST(ExecutorTest, GroupByThreeFieldsMatchesBruteForceInAnyWalkOrder) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = *Index::Create("i");
    const std::vector<std::pair<std::string, uint64_t>> fields = {
        {"a", 2}, {"b", 5}, {"c", 12}, {"s", 4}};
    for (const auto& [name, n] : fields) {
      ASSERT_TRUE(index
                      ->CreateField(name, name == "s" ? FieldOptions::Set()
                                                      : FieldOptions::Mutex())
                      .ok());
    }
    FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(-50, 50)));
    // field -> column -> rows; column -> value
    std::map<std::string, std::map<uint64_t, std::set<uint64_t>>> model;
    std::map<uint64_t, int64_t> values;
    for (int i = 0; i < 700; ++i) {
      const uint64_t col = ShardStart(rng() % 3) + rng() % 300;
      for (const auto& [name, n] : fields) {
        if (rng() % 5 == 0) continue;
        const uint64_t row = rng() % n;
        FB_ASSERT_OK(index->Set(col, name, Value::Id(row)));
        if (name == "s") {
          model[name][col].insert(row);
        } else {
          model[name][col] = {row};
        }
      }
      if (rng() % 3) {
        const int64_t x = int64_t(rng() % 101) - 50;
        FB_ASSERT_OK(index->Set(col, "v", Value::Int(x)));
        values[col] = x;
      }
    }
    struct Agg {
      uint64_t count = 0;
      int64_t sum = 0;
      uint64_t valued = 0;
    };
    auto expect = [&](const std::vector<std::string>& by,
                      std::optional<uint64_t> filter_s, bool aggregate,
                      std::optional<uint64_t> min_count, bool sort_desc,
                      std::optional<uint64_t> limit) {
      std::map<std::vector<uint64_t>, Agg> groups;
      std::set<uint64_t> cols;
      for (const auto& [f, m] : model)
        for (const auto& [col, rows] : m) cols.insert(col);
      for (uint64_t col : cols) {
        if (filter_s && !model["s"][col].count(*filter_s)) continue;
        std::vector<std::vector<uint64_t>> keys = {{}};
        for (const std::string& f : by) {
          std::vector<std::vector<uint64_t>> next;
          for (const auto& k : keys) {
            for (uint64_t r : model[f][col]) {
              next.push_back(k);
              next.back().push_back(r);
            }
          }
          keys = std::move(next);
        }
        for (const auto& k : keys) {
          Agg& g = groups[k];
          ++g.count;
          if (values.count(col)) {
            ++g.valued;
            g.sum += values[col];
          }
        }
      }
      std::vector<std::pair<std::vector<uint64_t>, Agg>> out;
      for (auto& [k, g] : groups) {
        if (aggregate) {
          if (g.valued == 0) continue;
          g.count = g.valued;
        }
        if (min_count && g.count < *min_count) continue;
        out.push_back({k, g});
      }
      if (sort_desc) {
        std::stable_sort(out.begin(), out.end(),
                         [](const auto& x, const auto& y) {
                           return x.second.count > y.second.count;
                         });
      }
      if (limit && out.size() > *limit) out.resize(*limit);
      std::string json = "[";
      for (size_t i = 0; i < out.size(); ++i) {
        json += i ? ",{\"group\":[" : "{\"group\":[";
        for (size_t k = 0; k < by.size(); ++k) {
          json += fmt::format("{}{{\"field\":\"{}\",\"rowID\":{}}}",
                              k ? "," : "", by[k], out[i].first[k]);
        }
        json += fmt::format("],\"count\":{}", out[i].second.count);
        if (aggregate) json += fmt::format(",\"sum\":{}", out[i].second.sum);
        json += "}";
      }
      return "{\"results\":[" + json + "]]}";
    };
    auto run = [&](const std::string& pql) {
      auto r = Query(*index, pql);
      return r.ok() ? r->ToJson() : ErrorJson(r.status());
    };
    EXPECT_EQ(run("GroupBy(Rows(a), Rows(b), Rows(c))"),
              expect({"a", "b", "c"}, {}, false, {}, false, {}));
    EXPECT_EQ(run("GroupBy(Rows(c), Rows(a), Rows(b))"),
              expect({"c", "a", "b"}, {}, false, {}, false, {}));
    EXPECT_EQ(run("GroupBy(Rows(b), Rows(s), Rows(a), Rows(c))"),
              expect({"b", "s", "a", "c"}, {}, false, {}, false, {}));
    EXPECT_EQ(run("GroupBy(Rows(a), Rows(s), Rows(c), filter=Row(s=1))"),
              expect({"a", "s", "c"}, 1, false, {}, false, {}));
    EXPECT_EQ(run("GroupBy(Rows(a), Rows(b), Rows(c), aggregate=Sum(field=v))"),
              expect({"a", "b", "c"}, {}, true, {}, false, {}));
    EXPECT_EQ(run("GroupBy(Rows(a), Rows(b), Rows(c), "
                  "having=Condition(count >= 3), sort=\"count desc\")"),
              expect({"a", "b", "c"}, {}, false, 3, true, {}));
    EXPECT_EQ(run("GroupBy(Rows(a), Rows(b), Rows(c), limit=7)"),
              expect({"a", "b", "c"}, {}, false, {}, false, 7));
  }
}

// GroupBy over an int field groups by each distinct value, ascending, and
// nests with set rows in the order of the Rows calls; checked against a
// model over records spread across shards (so groups merge across them).
TEST(ExecutorTest, GroupByValueFieldMatchesBruteForce) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = *Index::Create("i");
    FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
    FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(-20, 20)));
    std::map<uint64_t, std::set<uint64_t>> rows;  // column -> s rows
    std::map<uint64_t, int64_t> values;           // column -> v
    for (int i = 0; i < 500; ++i) {
      const uint64_t col = ShardStart(rng() % 3) + rng() % 400;
      if (rng() % 4) {
        const uint64_t r = rng() % 4;
        FB_ASSERT_OK(index->Set(col, "s", Value::Id(r)));
        rows[col].insert(r);
      }
      if (rng() % 4) {
        const int64_t x = int64_t(rng() % 41) - 20;
        FB_ASSERT_OK(index->Set(col, "v", Value::Int(x)));
        values[col] = x;
      }
    }
    // (v) and (s, v) and (v, s) groups: count and sum of v.
    std::map<int64_t, std::pair<uint64_t, int64_t>> by_v;
    std::map<std::pair<uint64_t, int64_t>, uint64_t> by_sv;
    for (const auto& [col, x] : values) {
      by_v[x].first++;
      by_v[x].second += x;
      for (uint64_t r : rows[col]) by_sv[{r, x}]++;
    }
    std::string want_v = "[", want_having = "[";
    for (const auto& [x, g] : by_v) {
      want_v += fmt::format(
          "{}{{\"group\":[{{\"field\":\"v\",\"value\":{}}}],"
          "\"count\":{}}}",
          want_v.size() > 1 ? "," : "", x, g.first);
      if (g.first > 2) {
        want_having += fmt::format(
            "{}{{\"group\":[{{\"field\":\"v\",\"value\":{}}}],\"count\":{},"
            "\"sum\":{}}}",
            want_having.size() > 1 ? "," : "", x, g.first, g.second);
      }
    }
    std::string want_sv = "[";
    for (const auto& [k, n] : by_sv) {
      want_sv += fmt::format(
          "{}{{\"group\":[{{\"field\":\"s\",\"rowID\":{}}},{{\"field\":\"v\","
          "\"value\":{}}}],\"count\":{}}}",
          want_sv.size() > 1 ? "," : "", k.first, k.second, n);
    }
    std::map<std::pair<int64_t, uint64_t>, uint64_t> by_vs;
    for (const auto& [k, n] : by_sv) by_vs[{k.second, k.first}] = n;
    std::string want_vs = "[";
    int kept = 0;
    for (const auto& [k, n] : by_vs) {
      if (kept == 7) break;
      ++kept;
      want_vs += fmt::format(
          "{}{{\"group\":[{{\"field\":\"v\",\"value\":{}}},{{\"field\":\"s\","
          "\"rowID\":{}}}],\"count\":{}}}",
          want_vs.size() > 1 ? "," : "", k.first, k.second, n);
    }
    ASSERT_EQ(
        RunPql(*index,
               "GroupBy(Rows(v)) GroupBy(Rows(v), aggregate=Sum(field=v), "
               "having=Condition(count > 2)) GroupBy(Rows(s), Rows(v)) "
               "GroupBy(Rows(v), Rows(s), limit=7)"),
        "{\"results\":[" + want_v + "]," + want_having + "]," + want_sv + "]," +
            want_vs + "]]}");
  }
}

}  // namespace
}  // namespace featurebase
