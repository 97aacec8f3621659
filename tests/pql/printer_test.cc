#include "lib/pql/printer.h"

#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/pql/parser.h"
#include "tests/pql/pql_test_util.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal::pql {
namespace {

using namespace featurebase::internal::pql::testing;  // NOLINT

void ExpectRoundTrip(const Query& q) {
  std::string printed = Print(q);
  absl::StatusOr<Query> again = Parse(printed);
  FB_ASSERT_OK(again) << again.status().message() << "\nprinted: " << printed;
  EXPECT_TRUE(Equal(*again, q))
      << "printed: " << printed << "\nreprinted: " << Print(*again);
  EXPECT_EQ(Print(*again), printed);
}

TEST(PqlPrinterTest, PrintsCanonicalText) {
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"count(row(a=1))  topn(b,n=2)", "Count(Row(a=1))\nTopN(b, n=2)"},
      {"Set(10,f=1,2017-01-02T03:04)", "Set(10, f=1, 2017-01-02T03:04)"},
      {"Set('k', f='x\"y')", "Set(\"k\", f=\"x\\\"y\")"},
      {"Clear(1, a=53)", "Clear(1, a=53)"},
      {"Row(a<4,b>=-2,c==null,d!=x,e=null)",
       "Row(a < 4, b >= -2, c == null, d != \"x\", e=null)"},
      {"Row(4<a<9, 4<=b<9, 4<c<=9, 4<=d<=9, z><[2,9], y><[a,b])",
       "Row(4 < a < 9, 4 <= b < 9, 4 < c <= 9, 4 <= d <= 9, 2 <= z <= 9, "
       "y >< [\"a\", \"b\"])"},
      {"Row(a=12.340, b=2., c=.5, d=-.5, e=-0.05, f=0.0)",
       "Row(a=12.340, b=2., c=0.5, d=-0.5, e=-0.05, f=0.0)"},
      {"Row(a=18446744073709551615, b=-9223372036854775808)",
       "Row(a=18446744073709551615, b=-9223372036854775808)"},
      {"Row(a=\"l1\nl2\tx\\\\\", b='2017-01-02T03:04:05Z', c=[], d=[1, 'x', "
       "null])",
       "Row(a=\"l1\\nl2\\tx\\\\\", b=2017-01-02T03:04:05Z, c=[], d=[1, \"x\", "
       "null])"},
      {"Sum(field=f) Sum(Row(), field=f) TopK(field=\"a b\")",
       "Sum(f)\nSum(Row(), field=\"f\")\nTopK(field=\"a b\")"},
      {"TopN(f, Row(a=1), n=2)", "TopN(f, Row(a=1), n=2)"},
      {"GroupBy(Rows(a), aggregate=Sum(field=v), having=Condition(count>1))",
       "GroupBy(Rows(a), aggregate=Sum(v), having=Condition(count > 1))"},
      {"Range(f=1, 2019-04-07T00:00, 2019-08-07T00:00)",
       "Range(f=1, from=2019-04-07T00:00, to=2019-08-07T00:00)"},
  };
  for (const auto& [text, want] : cases) {
    absl::StatusOr<Query> q = Parse(text);
    FB_ASSERT_OK(q) << text << ": " << q.status().message();
    EXPECT_EQ(Print(*q), want) << text;
    ExpectRoundTrip(*q);
  }
}

TEST(PqlPrinterTest, PositionalFormsFallBackToExplicitKeys) {
  // _col not first, negative, or alone; _timestamp without a positional
  // column; _field that is not a field name.
  std::vector<Call> calls = {
      C("Set", {A("f", Int(1)), A("_col", Int(3))}),
      C("Set", {A("_col", Int(-3)), A("f", Int(1))}),
      C("Set", {A("_col", Int(3))}),
      C("Set", {A("_col", Int(-3)), A("f", Int(1)),
                A("_timestamp", Ts("2017-01-02T03:04"))}),
      C("Set", {A("_col", Int(3)), A("_timestamp", Ts("2017-01-02T03:04"))}),
      C("TopN", {A("_field", Str("a b")), A("n", Int(1))}),
      C("TopN", {A("n", Int(1)), A("_field", Str("f"))}),
  };
  std::vector<std::string> want = {
      "Set(f=1, _col=3)",
      "Set(_col=-3, f=1)",
      "Set(_col=3)",
      "Set(_col=-3, f=1, _timestamp=2017-01-02T03:04)",
      "Set(3, _timestamp=2017-01-02T03:04)",
      "TopN(_field=\"a b\", n=1)",
      "TopN(n=1, _field=\"f\")",
  };
  for (size_t i = 0; i < calls.size(); ++i) {
    EXPECT_EQ(Print(calls[i]), want[i]);
    Query q;
    q.calls = {calls[i]};
    ExpectRoundTrip(q);
  }
}

TEST(PqlPrinterTest, EqualIgnoresPositionsButNotPayload) {
  Query a = *Parse("Row(a=1, b=[1, 2], c > 3)");
  Query b = *Parse("Row( a = 1 ,b=[1,2],    c>3 )");
  EXPECT_TRUE(Equal(a, b));
  EXPECT_FALSE(Equal(a, *Parse("Row(a=1, b=[1, 2], c >= 3)")));
  EXPECT_FALSE(Equal(a, *Parse("Row(a=1, b=[1, 3], c > 3)")));
  EXPECT_FALSE(Equal(a, *Parse("Row(b=[1, 2], a=1, c > 3)")));
  EXPECT_FALSE(Equal(a, *Parse("Row(a=1, b=[1, 2], c > 3) Row()")));
  EXPECT_FALSE(Equal(*Parse("Row(a=1)"), *Parse("Row(a=\"1\")")));
  EXPECT_FALSE(Equal(*Parse("Row(a=1.0)"), *Parse("Row(a=1.00)")));
  EXPECT_FALSE(Equal(*Parse("Count(Row())"), *Parse("Count(All())")));
}

// Every query of the parser tests (a representative subset) round-trips.
TEST(PqlPrinterTest, ParsedQueriesRoundTrip) {
  const char* queries[] = {
      "Count(Row(a=1)) TopN(b, n=2)",
      "Set(10, f=1, 2017-01-02T03:04) Set(\"key\", f=\"x\") Clear(10, f=1)",
      "Row( key= value, foo='bar', age = 12 , bool0=true, bool1=false, x=null, "
      "escape=\"\\\" \\\\escape\\n\\\\\\\\\"  )",
      "Row(a=0, b=-13, c=9223372036854775807, d=-9223372036854775808, "
      "e=9223372036854775808, f=18446744073709551615)",
      "Row( key=12.25, foo= 13.167, bar=2., baz=0.9, t=12.340, h=.5, n=-.5)",
      "Row(a=\"zm''e\", b='zm\"\"e', c='he\\'llo', unicode=\"Æ漢д ☮♬ ♞🜻💣\")",
      "Row(a=zoom, row=ag-bee, b=falsen0, c=_x, d=-abc, e=a:b, "
      "fldΘname=fldΘval)",
      "Set(1, a='2017-04-03T19:34:00Z', b=2017-04-03T19:34:00-07:00, "
      "d=2017-04-03T19:34:00.000000Z)",
      "TopN(f, ids=[0,10,30], fields=[\"hello\", 'goodbye', zero], e=[], "
      "m=[null, true, 1.5, -2, Row(a=1), 2017-01-02T03:04])",
      "GroupBy(Rows(a), Rows(b), filter=Row(x=1), aggregate=Sum(field=v), "
      "having=Condition(count > 10), sort=\"count desc\", limit=5)",
      "Row(f=5, g==5, h=null, i==null, j!=null, k<1, l<=2, m>3, n>=4)",
      "Row(4 < a < 9, 4 <= b < 9, 4 < c <= 9, 4<=d<=9, -1.5 < e <= 2.25, "
      "2022-01-01T00:00:00Z <= t < '2023-01-01T00:00:00Z')",
      "Row(zztop><[2, 9], b >< [ -1.5 , x ], c >< [Row(), null])",
      "TopK(field=myfield, Row(), k=7) Sum(f, Row(x=1)) MinRow(f) Rows(f)",
      "Sort(Row(a=1), _field=v, sort-desc=true) Count(dashy-=f, a_b-c=1)",
      "Range(blah=1, 2019-04-07T00:00, 2019-08-07T00:00)",
      "Options(Row(f1=123), shards=[1,2,3]) Count(Row(a=1),)",
  };
  for (const char* text : queries) {
    absl::StatusOr<Query> q = Parse(text);
    FB_ASSERT_OK(q) << text << ": " << q.status().message();
    ExpectRoundTrip(*q);
  }
}

// A random generator of ASTs in the parser's image: print -> parse -> equal.
class AstGenerator {
 public:
  explicit AstGenerator(uint64_t seed) : rng_(seed) {}

  Query RandomQuery() {
    Query q;
    int n = int(Pick(4));
    for (int i = 0; i < n; ++i) q.calls.push_back(RandomCall(0));
    return q;
  }

 private:
  static constexpr std::string_view kNames[] = {
      "Set",       "Clear",          "ClearRow",   "Store",     "Delete",
      "Row",       "Range",          "Union",      "Intersect", "Not",
      "All",       "Shift",          "Limit",      "ConstRow",  "Distinct",
      "Count",     "IncludesColumn", "Sum",        "Min",       "Max",
      "MinRow",    "MaxRow",         "Percentile", "TopN",      "TopK",
      "Rows",      "GroupBy",        "Extract",    "Sort",      "Options",
      "Condition", "UnionRows",      "FieldValue", "Xor"};

  uint64_t Pick(uint64_t n) { return n == 0 ? 0 : rng_() % n; }
  bool Coin(int percent) { return int(Pick(100)) < percent; }

  static bool PositionalField(std::string_view name) {
    return name == "TopN" || name == "TopK" || name == "Percentile" ||
           name == "Rows" || name == "Min" || name == "Max" || name == "Sum" ||
           name == "MinRow" || name == "MaxRow";
  }

  std::string FieldName() {
    static constexpr std::string_view kStart = "abcxyzABCZ_";
    static constexpr std::string_view kRest = "abz09_-Q";
    std::string s(1, kStart[Pick(kStart.size())]);
    if (s == "_") s = "f_";  // keys starting with _ are reserved
    int n = int(Pick(6));
    for (int i = 0; i < n; ++i) {
      if (Coin(5)) {
        s += "Θ";
      } else {
        s += kRest[Pick(kRest.size())];
      }
    }
    return s;
  }

  std::string RandomString() {
    static constexpr std::string_view kBytes[] = {"a",
                                                  "Z",
                                                  "0",
                                                  " ",
                                                  "\"",
                                                  "'",
                                                  "\\",
                                                  "\n",
                                                  "\t",
                                                  "\r",
                                                  ",",
                                                  ")",
                                                  "(",
                                                  "=",
                                                  "<",
                                                  "[",
                                                  "]",
                                                  "Θ",
                                                  "💣",
                                                  "\xff",
                                                  "\x80",
                                                  std::string_view("\0", 1),
                                                  "null",
                                                  "true",
                                                  "2017-01-02T03:04",
                                                  "-",
                                                  "."};
    std::string s;
    int n = int(Pick(8));
    for (int i = 0; i < n; ++i) s += kBytes[Pick(std::size(kBytes))];
    return s;
  }

  std::string Timestamp() {
    int year = int(Pick(10000)), month = 1 + int(Pick(12));
    int day = 1 + int(Pick(28)), hour = int(Pick(24)), minute = int(Pick(60));
    std::string s = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}", year, month,
                                day, hour, minute);
    if (Coin(50)) {
      s += fmt::format(":{:02}", Pick(60));
      if (Coin(30)) s += fmt::format(".{}", Pick(1000000));
      if (Coin(50)) {
        s += "Z";
      } else {
        s += fmt::format("{}{:02}:{:02}", Coin(50) ? '+' : '-', Pick(24),
                         Pick(60));
      }
    }
    return s;
  }

  Value Bound() {
    switch (Pick(4)) {
      case 0:
        return Int(int64_t(rng_()));
      case 1:
        return Uint((uint64_t{1} << 63) + Pick(uint64_t{1} << 62));
      case 2:
        return Dec(int64_t(rng_()) >> Pick(64), int(Pick(25)));
      default:
        return Ts(Timestamp());
    }
  }

  Value Scalar(int depth) {
    switch (Pick(depth < 3 ? 9 : 8)) {
      case 0:
        return Null();
      case 1:
        return Bool(Coin(50));
      case 2: {
        int64_t extremes[] = {0, -1, INT64_MAX, INT64_MIN, 7};
        return Coin(30) ? Int(extremes[Pick(5)])
                        : Int(int64_t(rng_()) >> Pick(64));
      }
      case 3:
        return Coin(20) ? Uint(UINT64_MAX) : Bound();
      case 4:
        return Dec(int64_t(rng_()) >> Pick(64), int(Pick(30)));
      case 5:
      case 6:
        return Str(RandomString());
      case 7:
        return Ts(Timestamp());
      default:
        return CallV(RandomCall(depth + 1));
    }
  }

  Value ArgValue(int depth) {
    int r = int(Pick(10));
    if (r == 0) {
      std::vector<Value> items;
      int n = int(Pick(4));
      for (int i = 0; i < n; ++i) items.push_back(Scalar(depth));
      return List(std::move(items));
    }
    if (r == 1) {
      static constexpr Op kSimple[] = {Op::kEq,  Op::kNeq, Op::kLt,
                                       Op::kLte, Op::kGt,  Op::kGte};
      return Cond(kSimple[Pick(6)], Scalar(depth));
    }
    if (r == 2) {
      static constexpr Op kBetween[] = {Op::kBetweenLtLt, Op::kBetweenLteLt,
                                        Op::kBetweenLtLte, Op::kBetweenLteLte};
      return Cond(kBetween[Pick(4)], Bound(), Bound());
    }
    if (r == 3) return Cond(Op::kBetweenLteLte, Scalar(depth), Scalar(depth));
    return Scalar(depth);
  }

  Call RandomCall(int depth) {
    Call call;
    call.name = std::string(kNames[Pick(std::size(kNames))]);
    std::vector<std::string> used;
    auto add = [&](std::string key, Value v) {
      for (const std::string& u : used) {
        if (u == key) return;
      }
      used.push_back(key);
      call.args.push_back(A(std::move(key), std::move(v)));
    };
    if (PositionalField(call.name) && Coin(60)) {
      add("_field", Str(Coin(80) ? FieldName() : RandomString()));
    }
    bool set_clear = call.name == "Set" || call.name == "Clear";
    if (set_clear && Coin(70)) {
      switch (Pick(3)) {
        case 0:
          add("_col", Int(int64_t(Pick(INT64_MAX))));
          break;
        case 1:
          add("_col", Uint(UINT64_MAX - Pick(100)));
          break;
        default:
          add("_col", Str(RandomString()));
          break;
      }
    }
    if (depth < 4) {
      int n = int(Pick(3));
      for (int i = 0; i < n; ++i)
        call.children.push_back(RandomCall(depth + 1));
    }
    int n = int(Pick(5));
    for (int i = 0; i < n; ++i) {
      std::string key = Coin(10) ? "field" : FieldName();
      add(std::move(key), ArgValue(depth));
    }
    if (call.name == "Set" && Coin(40)) add("_timestamp", Ts(Timestamp()));
    if (PositionalField(call.name) && Coin(10)) {
      add("_field", Str(FieldName()));
    }
    return call;
  }

  std::mt19937_64 rng_;
};

TEST(PqlPrinterTest, RandomAstsRoundTrip) {
  for (uint64_t seed : featurebase::testing::TestSeeds(8)) {
    SCOPED_TRACE(featurebase::testing::SeedTrace(seed));
    AstGenerator gen(seed);
    for (int i = 0; i < 2000; ++i) {
      Query q = gen.RandomQuery();
      std::string printed = Print(q);
      absl::StatusOr<Query> again = Parse(printed);
      FB_ASSERT_OK(again) << again.status().message()
                          << "\nprinted: " << printed;
      ASSERT_TRUE(Equal(*again, q))
          << "printed: " << printed << "\nreprinted: " << Print(*again);
    }
  }
}

}  // namespace
}  // namespace featurebase::internal::pql
