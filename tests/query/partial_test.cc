// Partial results: merged partials over disjoint shard sets (serialized,
// deserialized, merged in random order) give exactly the single-process
// answer; the byte format rejects every truncation and flipped byte; calls
// that cannot run as partials are refused. Also brute-force checks of the
// calls whose merging is new (GroupBy Count(Distinct), TopN tanimoto,
// Distinct on value fields).
#include "featurebase/partial.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/query/partial.h"
#include "lib/util/checksum.h"
#include "lib/util/endian.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::StatusIs;
using featurebase::testing::TestSeeds;
using ::testing::HasSubstr;
using Set = std::set<uint64_t>;

constexpr int kShards = 6;

std::unique_ptr<Index> Schema(bool keyed_field = false) {
  auto index = *Index::Create("i");
  FB_EXPECT_OK(index->CreateField("s", FieldOptions::Set()));
  FieldOptions m = FieldOptions::Mutex();
  m.keys = keyed_field;
  FB_EXPECT_OK(index->CreateField("m", m));
  FB_EXPECT_OK(index->CreateField("b", FieldOptions::Bool()));
  FB_EXPECT_OK(index->CreateField("v", FieldOptions::Int(-40, 40)));
  FB_EXPECT_OK(index->CreateField("d", FieldOptions::Decimal(2, -9999, 9999)));
  FB_EXPECT_OK(
      index->CreateField("ts", FieldOptions::Timestamp(TimeUnit::kSecond)));
  return index;
}

// Random records over kShards shards, written to `all` and to the part
// index that owns the record's shard (shard % parts).
struct World {
  std::unique_ptr<Index> all;
  std::vector<std::unique_ptr<Index>> parts;
  std::vector<uint64_t> columns;
  // Naive model.
  std::map<std::string, std::map<uint64_t, Set>> rows;  // field -> row -> cols
  std::map<uint64_t, int64_t> v;                        // column -> value

  World(uint64_t seed, int n_parts, bool keyed_field = false) {
    std::mt19937_64 rng(seed);
    all = Schema(keyed_field);
    for (int i = 0; i < n_parts; ++i) parts.push_back(Schema(keyed_field));
    for (int i = 0; i < 500; ++i) {
      const uint64_t col = ShardStart(rng() % kShards) + rng() % 2000;
      Index& part = *parts[ShardOf(col) % n_parts];
      columns.push_back(col);
      auto set = [&](std::string_view f, const Value& val) {
        FB_ASSERT_OK(all->Set(col, f, val));
        FB_ASSERT_OK(part.Set(col, f, val));
      };
      for (int k = 0; k < 2; ++k) {
        const uint64_t r = rng() % 6;
        set("s", Value::Id(r));
        rows["s"][r].insert(col);
      }
      if (rng() % 4) {
        const uint64_t r = rng() % 4;
        for (auto& [row, cols] : rows["m"]) cols.erase(col);
        set("m",
            keyed_field ? Value::Key(fmt::format("k{}", r)) : Value::Id(r));
        rows["m"][r].insert(col);
      }
      if (rng() % 2) {
        const bool b = rng() % 2;
        rows["b"][!b].erase(col);
        set("b", Value::Bool(b));
        rows["b"][b].insert(col);
      }
      if (rng() % 3) {
        const int64_t x = int64_t(rng() % 81) - 40;
        set("v", Value::Int(x));
        v[col] = x;
      }
      if (rng() % 3) set("d", Value::Decimal(int64_t(rng() % 2001) - 1000, 2));
      if (rng() % 3) {
        set("ts", Value::Timestamp(absl::FromUnixSeconds(
                      1500000000 + int64_t(rng() % 50) * 86400)));
      }
    }
  }
};

std::string Json(const StatusOr<QueryResponse>& r) {
  return r.ok() ? r->ToJson() : ErrorJson(r.status());
}

// Runs `pql` as partials in `world.parts` (each over the shards it holds),
// sends each through bytes, merges in a random order and finishes with
// `finisher`.
std::string Merged(World& w, const std::string& pql, Index& finisher,
                   std::mt19937_64& rng) {
  std::vector<std::vector<PartialResult>> per_part;
  for (auto& part : w.parts) {
    auto got = QueryPartial(*part, pql);
    if (!got.ok()) return ErrorJson(got.status());
    per_part.push_back(std::move(*got));
  }
  std::shuffle(per_part.begin(), per_part.end(), rng);
  QueryResponse out;
  for (size_t c = 0; c < per_part[0].size(); ++c) {
    std::optional<PartialResult> total;
    for (auto& parts : per_part) {
      auto bytes = parts[c].Serialize();
      auto back = PartialResult::Deserialize(bytes);
      if (!back.ok()) return ErrorJson(back.status());
      EXPECT_TRUE(*back == parts[c]);
      if (!total) {
        total = std::move(*back);
      } else {
        Status s = total->Merge(*back);
        if (!s.ok()) return ErrorJson(s);
      }
    }
    auto r = FinishPartial(finisher, *total);
    if (!r.ok()) return ErrorJson(r.status());
    out.results.push_back(std::move(*r));
  }
  return out.ToJson();
}

std::vector<std::string> Queries(const World& w, std::mt19937_64& rng) {
  const uint64_t col = w.columns[rng() % w.columns.size()];
  const uint64_t col2 = w.columns[rng() % w.columns.size()];
  std::vector<std::string> q = {
      "Row(s=1)",
      "Count(Union(Row(s=1), Intersect(Row(m=2), Not(Row(b=true)))))",
      "Difference(Row(s=2), Row(s=3), Row(v > 3))",
      "Count(Xor(Row(s=4), Row(-5 <= v < 9)))",
      "Row(v == null) Row(d != null)",
      fmt::format("ConstRow(columns=[{}, {}, 7])", col, col2),
      "Limit(Row(s=1), limit=7, offset=3) All(limit=5, offset=2) "
      "Limit(Row(m=0), offset=4)",
      "TopN(s) TopN(s, n=2) TopN(s, Row(m=1), n=3) TopN(m, threshold=100)",
      "TopN(s, Row(m=1), tanimotoThreshold=30) TopN(s, Row(b=true), "
      "tanimotoThreshold=55, n=2) TopN(s, ids=[1, 3, 5], n=1)",
      "TopK(s, k=3) TopK(m, k=2, filter=Row(b=false))",
      "Rows(s) Rows(s, limit=2) Rows(s, previous=2, limit=2) Rows(m, in=[0, "
      "3])",
      fmt::format("Rows(s, column={}) IncludesColumn(Row(s=1), column={})", col,
                  col2),
      "GroupBy(Rows(m), Rows(b)) GroupBy(Rows(s), Rows(m), limit=4, offset=2)",
      "GroupBy(Rows(s), Rows(b), previous=[2, false], limit=3)",
      "GroupBy(Rows(m), Rows(s), filter=Row(v > 0), having=Condition(count > "
      "8), limit=5)",
      "GroupBy(Rows(m), Rows(b), sort=\"count asc\", limit=3, offset=1)",
      "GroupBy(Rows(s), Rows(m), aggregate=Sum(field=v), sort=\"aggregate "
      "desc, count\")",
      "GroupBy(Rows(s), aggregate=Sum(field=d), having=Condition(sum > 1.5))",
      "GroupBy(Rows(m), Rows(b), aggregate=Count(Distinct(field=s)))",
      "GroupBy(Rows(s), aggregate=Count(Distinct(Row(b=true), field=v)), "
      "sort=\"aggregate desc\", limit=3)",
      "GroupBy(Rows(m), Rows(s), Rows(b)) GroupBy(Rows(s), Rows(m), Rows(b), "
      "limit=5)",
      "GroupBy(Rows(v)) GroupBy(Rows(s), Rows(ts), aggregate=Sum(field=v), "
      "having=Condition(count > 1)) GroupBy(Rows(v), limit=3)",
      "Sum(field=v) Sum(v, Row(m=1)) Min(field=v) Max(v, Row(s=2)) "
      "Sum(field=d) Min(field=ts) Max(field=d)",
      fmt::format("FieldValue(field=v, column={}) FieldValue(field=ts, "
                  "column={}) FieldValue(field=v, column=3)",
                  col, col2),
      "MinRow(field=s) MaxRow(field=m) MinRow(Row(b=true), field=s) "
      "MaxRow(Row(v < 0), field=s)",
      "Sort(field=v, limit=5, offset=2) Sort(Row(m=1), field=v, "
      "sort-desc=true, limit=4) Sort(field=d, offset=490)",
      "Sort(field=b, sort-desc=true, limit=7) Sort(Row(s=1), field=m, "
      "offset=3, limit=5) Sort(field=m, sort-desc=true)",
      "Distinct(field=v) Distinct(Row(m=1), field=s) Distinct(field=ts) "
      "Count(Distinct(field=v)) Distinct(Row(s=1), field=d) "
      "Count(Distinct(field=m))",
      "Extract(Row(m=1), Rows(s), Rows(m), Rows(b), Rows(v), Rows(d), "
      "Rows(ts))",
      "Options(Count(Row(s=1)), shards=[0, 2, 5]) Options(TopN(s), "
      "shards=[1])",
  };
  return q;
}

TEST(PartialTest, MergedPartsEqualTheWholeIndex) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    for (int n_parts : {1, 2, 3}) {
      World w(seed, n_parts);
      std::mt19937_64 rng(seed + n_parts);
      auto empty = Schema();  // the coordinator: same fields, no records
      for (const std::string& q : Queries(w, rng)) {
        SCOPED_TRACE(fmt::format("{} parts: {}", n_parts, q));
        const std::string want = Json(Query(*w.all, q));
        ASSERT_EQ(want.find("\"error\""), std::string::npos) << want;
        ASSERT_EQ(Merged(w, q, *empty, rng), want);
      }
    }
  }
}

// The same index queried over shard subsets (PartialQueryOptions::shards)
// also merges to the whole answer, and a keyed field's rows come back as
// keys translated at finish.
TEST(PartialTest, ShardSubsetsOfOneIndexMerge) {
  for (uint64_t seed : TestSeeds(2)) {
    SCOPED_TRACE(SeedTrace(seed));
    World w(seed, 1, /*keyed_field=*/true);
    std::mt19937_64 rng(seed);
    for (const std::string& q :
         {std::string("TopN(m) GroupBy(Rows(m), Rows(b), limit=3) Rows(m)"),
          std::string("Count(Row(m=\"k1\")) MaxRow(field=m) "
                      "Extract(Row(s=2), Rows(m))")}) {
      SCOPED_TRACE(q);
      std::vector<uint64_t> shards(kShards);
      for (int i = 0; i < kShards; ++i) shards[i] = i;
      std::shuffle(shards.begin(), shards.end(), rng);
      const size_t cut = 1 + rng() % (kShards - 1);
      PartialQueryOptions a, b;
      a.shards.assign(shards.begin(), shards.begin() + cut);
      b.shards.assign(shards.begin() + cut, shards.end());
      auto pa = QueryPartial(*w.all, q, a);
      auto pb = QueryPartial(*w.all, q, b);
      ASSERT_TRUE(pa.ok() && pb.ok());
      QueryResponse out;
      for (size_t i = 0; i < pa->size(); ++i) {
        FB_ASSERT_OK((*pb)[i].Merge((*pa)[i]));
        auto r = FinishPartial(*w.all, (*pb)[i]);
        FB_ASSERT_OK(r);
        out.results.push_back(std::move(*r));
      }
      EXPECT_EQ(out.ToJson(), Json(Query(*w.all, q)));
    }
  }
}

TEST(PartialTest, EveryTruncationAndFlippedByteIsDataLoss) {
  World w(7, 1);
  auto parts = QueryPartial(
      *w.all,
      "Row(s=1) Count(Row(s=2)) TopN(s, Row(m=1), tanimotoThreshold=20) "
      "Rows(s) GroupBy(Rows(m), aggregate=Count(Distinct(field=v))) "
      "Sort(field=v, limit=3) Extract(Row(s=3), Rows(s), Rows(v)) "
      "MinRow(field=s) FieldValue(field=v, column=1) Distinct(field=v) "
      "Sum(field=d) Max(field=v) IncludesColumn(Row(s=1), column=2)");
  FB_ASSERT_OK(parts);
  for (const PartialResult& p : *parts) {
    SCOPED_TRACE(p.call());
    const std::string bytes = p.Serialize();
    for (size_t n = 0; n < bytes.size(); ++n) {
      auto r = PartialResult::Deserialize(std::string_view(bytes).substr(0, n));
      ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << n;
    }
    for (size_t i = 0; i < bytes.size(); ++i) {
      std::string bad = bytes;
      bad[i] = char(bad[i] ^ (1 + i % 255));
      auto r = PartialResult::Deserialize(bad);
      ASSERT_EQ(r.status().code(), absl::StatusCode::kDataLoss) << i;
    }
    auto extra = PartialResult::Deserialize(bytes + "x");
    EXPECT_EQ(extra.status().code(), absl::StatusCode::kDataLoss);
    FB_EXPECT_OK(PartialResult::Deserialize(bytes));
  }
}

// Well-checksummed bytes that break an invariant are DataLoss too.
TEST(PartialTest, MalformedBodiesWithGoodChecksumsAreDataLoss) {
  internal::Partial p(internal::RowIdsPart{{3, 2}});
  p.call = "Rows(s)";
  auto r = PartialResult::Deserialize(internal::EncodePartial(p));
  EXPECT_EQ(r.status().code(), absl::StatusCode::kDataLoss);
  EXPECT_NE(std::string(r.status().message()).find("not strictly increasing"),
            std::string::npos)
      << r.status();
  p.As<internal::RowIdsPart>()->ids = {1, 2, 3};
  p.cap = 2;  // more than the cap
  EXPECT_EQ(
      PartialResult::Deserialize(internal::EncodePartial(p)).status().code(),
      absl::StatusCode::kDataLoss);
  // IncludesColumn's body is a u64 that must be 0 or 1: a 2, with the
  // checksum recomputed over the edited body.
  internal::Partial b(internal::IncludesPart{true});
  b.call = "IncludesColumn(Row(s=1), column=1)";
  std::string bytes = internal::EncodePartial(b);
  ASSERT_EQ(bytes[bytes.size() - 8], 1);
  bytes[bytes.size() - 8] = 2;
  std::string sum;
  internal::PutFixed<uint64_t>(
      &sum, internal::Checksum64(std::string_view(bytes).substr(24)));
  bytes.replace(16, 8, sum);
  EXPECT_EQ(PartialResult::Deserialize(bytes).status().code(),
            absl::StatusCode::kDataLoss);
  internal::Partial g(internal::GroupsPart{1, {{{1}, 2, 0, {5, 4}}}});
  g.call = "GroupBy(Rows(s))";
  EXPECT_EQ(
      PartialResult::Deserialize(internal::EncodePartial(g)).status().code(),
      absl::StatusCode::kDataLoss);
}

// A well-formed partial whose shape does not fit its call's text (a
// GroupBy of two fields carrying one-row groups, an Extract of two fields
// carrying one cell per record) is refused when finishing, never read
// past its end.
TEST(PartialTest, FinishRefusesAPartialShapedForAnotherCall) {
  World w(5, 1);
  internal::Partial g(internal::GroupsPart{1, {{{1}, 2, 0, {}}}});
  g.call = "GroupBy(Rows(s), Rows(m))";
  auto part = PartialResult::Deserialize(internal::EncodePartial(g));
  FB_ASSERT_OK(part);
  auto r = FinishPartial(*w.all, *part);
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("groups by other")));
  internal::Partial t(internal::TablePart{1, {{7, {{}}}}});
  t.call = "Extract(All(), Rows(s), Rows(m))";
  part = PartialResult::Deserialize(internal::EncodePartial(t));
  FB_ASSERT_OK(part);
  r = FinishPartial(*w.all, *part);
  EXPECT_THAT(r.status(), StatusIs(absl::StatusCode::kInvalidArgument,
                                   HasSubstr("extracts other")));
}

TEST(PartialTest, RefusedCallsAndMismatchedMerges) {
  World w(3, 1);
  auto run = [&](const std::string& q) {
    auto r = QueryPartial(*w.all, q);
    return r.ok() ? std::string("ok") : std::string(r.status().message());
  };
  EXPECT_EQ(run("Percentile(field=v, nth=50)"),
            "Percentile(): cannot run as a partial result (writes and "
            "Percentile need the whole index)");
  EXPECT_EQ(run("Set(1, s=1)"),
            "Set(): cannot run as a partial result (writes and Percentile "
            "need the whole index)");
  EXPECT_EQ(run("Count(Shift(Row(s=1), n=3))"),
            "Shift(): cannot run inside another call of a partial result (its "
            "records depend on other shards)");
  EXPECT_EQ(run("Count(Limit(Row(s=1), limit=3))"),
            "Limit(): cannot run inside another call of a partial result (its "
            "records depend on other shards)");
  EXPECT_EQ(run("GroupBy(Rows(s, limit=2), Rows(m))"),
            "GroupBy(): Rows children with limit or column cannot run as a "
            "partial result (they depend on every shard)");
  EXPECT_EQ(run("Extract(Sort(field=v, limit=3), Rows(s))"),
            "Extract(): Sort inside Extract cannot run as a partial result "
            "(its order and slice span every shard)");
  EXPECT_EQ(run("GroupBy(Rows(v), previous=[3])"),
            "GroupBy(): previous is not supported with value field \"v\"");
  World keyed(3, 1, /*keyed_field=*/true);
  auto sorted = QueryPartial(*keyed.all, "Sort(field=m)");
  EXPECT_EQ(sorted.status().message(),
            "Sort(): sorting by keyed mutex field \"m\" cannot run as a "
            "partial result (key order spans every shard)");
  auto a = QueryPartial(*w.all, "Count(Row(s=1)) Count(Row(s=2))");
  FB_ASSERT_OK(a);
  Status s = (*a)[0].Merge((*a)[1]);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(std::string(s.message()),
            "merge partial results: they answer different calls "
            "(Count(Row(s=1)) and Count(Row(s=2)))");
  auto top = QueryPartial(*w.all, "TopN(s)");
  FB_ASSERT_OK(top);
  auto other = Index::Create("other");
  auto f = FinishPartial(**other, (*top)[0]);
  EXPECT_EQ(f.status().code(), absl::StatusCode::kNotFound);
}

// ---- brute force for the calls whose semantics are new

TEST(PartialTest, CountDistinctAggregateTanimotoAndDistinctMatchBruteForce) {
  for (uint64_t seed : TestSeeds(3)) {
    SCOPED_TRACE(SeedTrace(seed));
    World w(seed, 1);
    auto q = [&](const std::string& pql) { return Json(Query(*w.all, pql)); };
    auto inter = [](const Set& a, const Set& b) {
      Set out;
      std::set_intersection(a.begin(), a.end(), b.begin(), b.end(),
                            std::inserter(out, out.end()));
      return out;
    };
    // GroupBy(Rows(m), aggregate=Count(Distinct(Row(b=true), field=s))).
    std::string want = "[";
    for (const auto& [mr, mcols] : w.rows["m"]) {
      if (mcols.empty()) continue;
      const Set within = inter(mcols, w.rows["b"][1]);
      uint64_t distinct = 0;
      for (const auto& [sr, scols] : w.rows["s"]) {
        if (!inter(within, scols).empty()) ++distinct;
      }
      want += fmt::format(
          "{}{{\"group\":[{{\"field\":\"m\",\"rowID\":{}}}],\"count\":{},"
          "\"aggregate\":{}}}",
          want.size() > 1 ? "," : "", mr, mcols.size(), distinct);
    }
    want += "]";
    EXPECT_EQ(q("GroupBy(Rows(m), aggregate=Count(Distinct(Row(b=true), "
                "field=s)))"),
              "{\"results\":[" + want + "]}");
    // Count(Distinct) over an int field, per group, with having on it.
    want = "[";
    for (const auto& [sr, scols] : w.rows["s"]) {
      std::set<int64_t> vals;
      for (uint64_t c : scols) {
        if (w.v.count(c)) vals.insert(w.v[c]);
      }
      if (scols.empty() || vals.size() <= 30) continue;
      want += fmt::format(
          "{}{{\"group\":[{{\"field\":\"s\",\"rowID\":{}}}],\"count\":{},"
          "\"aggregate\":{}}}",
          want.size() > 1 ? "," : "", sr, scols.size(), vals.size());
    }
    want += "]";
    EXPECT_EQ(q("GroupBy(Rows(s), aggregate=Count(Distinct(field=v)), "
                "having=Condition(sum > 30))"),
              "{\"results\":[" + want + "]}");
    // TopN tanimoto: ceil(100·|r∩f| / |r∪f|) > t.
    for (uint64_t t : {10, 25, 40}) {
      const Set& f = w.rows["m"][1];
      std::vector<std::pair<uint64_t, uint64_t>> top;  // count, row
      for (const auto& [r, cols] : w.rows["s"]) {
        const uint64_t i = inter(cols, f).size();
        const uint64_t u = cols.size() + f.size() - i;
        if (i == 0) continue;
        const uint64_t tani = (100 * i + u - 1) / u;
        if (tani > t) top.emplace_back(i, r);
      }
      std::sort(top.begin(), top.end(), [](auto a, auto b) {
        return a.first != b.first ? a.first > b.first : a.second < b.second;
      });
      std::string pairs = "[";
      for (size_t k = 0; k < top.size(); ++k) {
        pairs += fmt::format("{}{{\"id\":{},\"count\":{}}}", k ? "," : "",
                             top[k].second, top[k].first);
      }
      EXPECT_EQ(q(fmt::format("TopN(s, Row(m=1), tanimotoThreshold={})", t)),
                "{\"results\":[" + pairs + "]]}");
    }
    // Distinct on an int field: FeatureBase's SignedRow.
    std::set<int64_t> vals;
    for (const auto& [c, x] : w.v) {
      if (w.rows["m"][2].count(c)) vals.insert(x);
    }
    std::string neg, pos;
    for (auto it = vals.rbegin(); it != vals.rend(); ++it) {
      if (*it < 0) neg += fmt::format("{}{}", neg.empty() ? "" : ",", -*it);
    }
    for (int64_t x : vals) {
      if (x >= 0) pos += fmt::format("{}{}", pos.empty() ? "" : ",", x);
    }
    EXPECT_EQ(q("Distinct(Row(m=2), field=v) Count(Distinct(Row(m=2), "
                "field=v))"),
              fmt::format("{{\"results\":[{{\"neg\":{{\"columns\":[{}]}},"
                          "\"pos\":{{\"columns\":[{}]}}}},{}]}}",
                          neg, pos, vals.size()));
  }
}

TEST(PartialTest, DistinctShapesOnDecimalAndTimestampFields) {
  auto index = Schema();
  FB_ASSERT_OK(index->Set(1, "d", Value::Decimal(-150, 2)));
  FB_ASSERT_OK(index->Set(2, "d", Value::Decimal(25, 2)));
  FB_ASSERT_OK(index->Set(3, "d", Value::Decimal(-150, 2)));
  FB_ASSERT_OK(
      index->Set(1, "ts", Value::Timestamp(absl::FromUnixSeconds(86400))));
  FB_ASSERT_OK(index->Set(5, "ts", Value::Timestamp(absl::FromUnixSeconds(0))));
  EXPECT_EQ(Json(Query(*index, "Distinct(field=d) Distinct(field=ts)")),
            "{\"results\":[{\"neg\":{\"columns\":[150]},\"pos\":{\"columns\":"
            "[25]}},{\"Values\":[\"1970-01-01T00:00:00Z\",\"1970-01-02T00:00:"
            "00Z\"],\"Name\":\"ts\"}]}");
  EXPECT_EQ(
      Json(Query(*index, "Intersect(Distinct(field=v))")),
      "{\"error\":\"Distinct(): the distinct values of int field \\\"v\\\" "
      "are not records: use Distinct at the top level or in Count\"}");
}

}  // namespace
}  // namespace featurebase
