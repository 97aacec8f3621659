#include "lib/pql/parser.h"

#include <cctype>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "gtest/gtest.h"
#include "lib/pql/printer.h"
#include "tests/pql/pql_test_util.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal::pql {
namespace {

using namespace featurebase::internal::pql::testing;  // NOLINT

Query MustParse(std::string_view text) {
  absl::StatusOr<Query> q = Parse(text);
  FB_EXPECT_OK(q) << q.status().message() << "\nfor: " << text;
  return q.ok() ? *std::move(q) : Query{};
}

// The error message of parsing text, or "OK: <printed>" when it parses.
std::string ErrorOf(std::string_view text) {
  absl::StatusOr<Query> q = Parse(text);
  if (q.ok()) return "OK: " + Print(*q);
  EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(q.status().message());
}

void ExpectCalls(std::string_view text, const std::vector<Call>& want) {
  Query got = MustParse(text);
  Query want_q;
  want_q.calls = want;
  EXPECT_TRUE(Equal(got, want_q))
      << "text: " << text << "\ngot:  " << Print(got)
      << "\nwant: " << Print(want_q);
}

void ExpectCall(std::string_view text, const Call& want) {
  ExpectCalls(text, {want});
}

// ------------------------------------------------------------- structure

TEST(PqlParserTest, EmptyInputIsAnEmptyQuery) {
  EXPECT_TRUE(MustParse("").calls.empty());
  EXPECT_TRUE(MustParse(" \n\t\r ").calls.empty());
}

TEST(PqlParserTest, ParsesSeveralCallsWithAnySpacing) {
  ExpectCalls("Count(Row(a=1)) TopN(b, n=2)",
              {C("Count", {C("Row", {A("a", Int(1))})}),
               C("TopN", {A("_field", Str("b")), A("n", Int(2))})});
  ExpectCalls("Set(1, a=4)Set(2, a=4)",
              {C("Set", {A("_col", Int(1)), A("a", Int(4))}),
               C("Set", {A("_col", Int(2)), A("a", Int(4))})});
  ExpectCalls(
      "\n  Row ( a = 1 , b\n=\n2 )\n\nCount(\tRow(\n) )  ",
      {C("Row", {A("a", Int(1)), A("b", Int(2))}), C("Count", {C("Row")})});
  ExpectCall("Set(\n1,\nmy-frame\n=9)",
             C("Set", {A("_col", Int(1)), A("my-frame", Int(9))}));
}

TEST(PqlParserTest, CallNamesAreCaseInsensitiveAndCanonicalized) {
  ExpectCalls(
      "roW(x=3) tOpN(f) COUNT(ROW(a=1)) groupby(rows(f)) "
      "includescolumn(all(), column=1) constrow(columns=[1]) "
      "minrow(f) maxrow(f) unionrows(rows(f)) fieldvalue(field=v, "
      "column=1) clearrow(f=1) topk(f) setbit(f=1, col=1)",
      {C("Row", {A("x", Int(3))}), C("TopN", {A("_field", Str("f"))}),
       C("Count", {C("Row", {A("a", Int(1))})}),
       C("GroupBy", {C("Rows", {A("_field", Str("f"))})}),
       C("IncludesColumn", {C("All")}, {A("column", Int(1))}),
       C("ConstRow", {A("columns", List({Int(1)}))}),
       C("MinRow", {A("_field", Str("f"))}),
       C("MaxRow", {A("_field", Str("f"))}),
       C("UnionRows", {C("Rows", {A("_field", Str("f"))})}),
       C("FieldValue", {A("field", Str("v")), A("column", Int(1))}),
       C("ClearRow", {A("f", Int(1))}), C("TopK", {A("_field", Str("f"))}),
       C("SetBit", {A("f", Int(1)), A("col", Int(1))})});
}

TEST(PqlParserTest, EveryCanonicalNameResolves) {
  for (std::string_view name : {"Set",
                                "Clear",
                                "ClearRow",
                                "Store",
                                "Delete",
                                "Row",
                                "Range",
                                "Union",
                                "Intersect",
                                "Difference",
                                "Xor",
                                "Not",
                                "All",
                                "Shift",
                                "Limit",
                                "ConstRow",
                                "Distinct",
                                "UnionRows",
                                "Count",
                                "IncludesColumn",
                                "Sum",
                                "Min",
                                "Max",
                                "MinRow",
                                "MaxRow",
                                "Percentile",
                                "FieldValue",
                                "TopN",
                                "TopK",
                                "Rows",
                                "GroupBy",
                                "Extract",
                                "Sort",
                                "Options",
                                "Condition",
                                "Precomputed",
                                "Bitmap",
                                "SetBit",
                                "InnerUnionRows",
                                "ExternalLookup",
                                "Arrow"}) {
    EXPECT_EQ(CanonicalCallName(name), name);
    std::string lower(name);
    for (char& c : lower) c = static_cast<char>(std::tolower(c));
    EXPECT_EQ(CanonicalCallName(lower), name);
    ExpectCall(lower + "()", C(std::string(name)));
  }
  EXPECT_EQ(CanonicalCallName("Apply"), "");
  EXPECT_EQ(CanonicalCallName("Rowx"), "");
}

TEST(PqlParserTest, ChildCallsAndArgumentsMixInAnyOrder) {
  ExpectCall(
      "Union(Row(a=1), Row(b=2))",
      C("Union", {C("Row", {A("a", Int(1))}), C("Row", {A("b", Int(2))})}));
  ExpectCall(
      "Union(Intersect(Row(), Union(Row(), Row())), Row())",
      C("Union", {C("Intersect", {C("Row"), C("Union", {C("Row"), C("Row")})}),
                  C("Row")}));
  ExpectCall("Options(Row(f1=123), shards=[1,2,3])",
             C("Options", {C("Row", {A("f1", Int(123))})},
               {A("shards", List({Int(1), Int(2), Int(3)}))}));
  ExpectCall(
      "Distinct(field=b, Row(a=1))",
      C("Distinct", {C("Row", {A("a", Int(1))})}, {A("field", Str("b"))}));
}

TEST(PqlParserTest, TrailingCommaAfterAnItemIsAllowed) {
  ExpectCall("Count(Row(a=1),)", C("Count", {C("Row", {A("a", Int(1))})}));
  ExpectCall("Row(a=1 , )", C("Row", {A("a", Int(1))}));
}

// ---------------------------------------------------------------- values

TEST(PqlParserTest, PlainKeyValueArguments) {
  ExpectCall(
      R"(Row( key= value, foo='bar', age = 12 , bool0=true, bool1=false, x=null, escape="\" \\escape\n\\\\"  ))",
      C("Row", {A("key", Str("value")), A("foo", Str("bar")), A("age", Int(12)),
                A("bool0", Bool(true)), A("bool1", Bool(false)), A("x", Null()),
                A("escape", Str("\" \\escape\n\\\\"))}));
}

TEST(PqlParserTest, Integers) {
  ExpectCall(
      "Row(a=0, b=-13, c=9223372036854775807, d=-9223372036854775808, "
      "e=9223372036854775808, f=18446744073709551615, g=-0, h=007)",
      C("Row", {A("a", Int(0)), A("b", Int(-13)), A("c", Int(INT64_MAX)),
                A("d", Int(INT64_MIN)), A("e", Uint(uint64_t{1} << 63)),
                A("f", Uint(UINT64_MAX)), A("g", Int(0)), A("h", Int(7))}));
}

TEST(PqlParserTest, Decimals) {
  ExpectCall(
      "Row( key=12.25, foo= 13.167, bar=2., baz=0.9, t=12.340, "
      "h=.5, n=-.5, m=-12.25, z=0.0)",
      C("Row",
        {A("key", Dec(1225, 2)), A("foo", Dec(13167, 3)), A("bar", Dec(2, 0)),
         A("baz", Dec(9, 1)), A("t", Dec(12340, 3)), A("h", Dec(5, 1)),
         A("n", Dec(-5, 1)), A("m", Dec(-1225, 2)), A("z", Dec(0, 1))}));
  ExpectCall("Row(a=-922337203685477580.8, b=922337203685477580.7)",
             C("Row", {A("a", Dec(INT64_MIN, 1)), A("b", Dec(INT64_MAX, 1))}));
}

TEST(PqlParserTest, Strings) {
  ExpectCall(
      R"(Row(a="zm''e", b='zm""e', c='he\'llo', d='he\\\'llo', e="t\tx", f=""))",
      C("Row",
        {A("a", Str("zm''e")), A("b", Str("zm\"\"e")), A("c", Str("he'llo")),
         A("d", Str("he\\'llo")), A("e", Str("t\tx")), A("f", Str(""))}));
  ExpectCall(R"(Row(unicode="Æ漢д ☮♬ ♞🜻💣"))",
             C("Row", {A("unicode", Str("Æ漢д ☮♬ ♞🜻💣"))}));
  // Raw bytes, including NUL, newline and invalid UTF-8, are kept.
  ExpectCall(std::string_view("Row(a=\"x\0y\n\xff\")", 14),
             C("Row", {A("a", Str(std::string("x\0y\n\xff", 5)))}));
}

TEST(PqlParserTest, BareWordsAreStrings) {
  ExpectCall(
      "Row(a=zoom, row=ag-bee, b=falsen0, c=_x, d=-abc, e=a:b, f=Row, "
      "g=True, h=NULL)",
      C("Row",
        {A("a", Str("zoom")), A("row", Str("ag-bee")), A("b", Str("falsen0")),
         A("c", Str("_x")), A("d", Str("-abc")), A("e", Str("a:b")),
         A("f", Str("Row")), A("g", Str("True")), A("h", Str("NULL"))}));
  ExpectCall("Row(fldΘname=fldΘval)",
             C("Row", {A("fldΘname", Str("fldΘval"))}));
}

TEST(PqlParserTest, Timestamps) {
  ExpectCall("Row(a=4, from=2010-07-04T00:00, to=2010-08-04T00:00)",
             C("Row", {A("a", Int(4)), A("from", Ts("2010-07-04T00:00")),
                       A("to", Ts("2010-08-04T00:00"))}));
  // Quoted short timestamps stay strings, as in FeatureBase.
  ExpectCall(R"(Row(a=4, from='2010-07-04T00:00', to="2010-08-04T00:00"))",
             C("Row", {A("a", Int(4)), A("from", Str("2010-07-04T00:00")),
                       A("to", Str("2010-08-04T00:00"))}));
  // RFC3339, quoted or not, with Z, offsets and fractions.
  ExpectCall(
      "Set(1, a='2017-04-03T19:34:00Z', b=2017-04-03T19:34:00-07:00, "
      "c=\"2017-04-03T19:34:00+07:00\", d=2017-04-03T19:34:00.000000Z, "
      "e=2016-02-29T23:59:59.5+14:00)",
      C("Set", {A("_col", Int(1)), A("a", Ts("2017-04-03T19:34:00Z")),
                A("b", Ts("2017-04-03T19:34:00-07:00")),
                A("c", Ts("2017-04-03T19:34:00+07:00")),
                A("d", Ts("2017-04-03T19:34:00.000000Z")),
                A("e", Ts("2016-02-29T23:59:59.5+14:00"))}));
}

TEST(PqlParserTest, Lists) {
  ExpectCall(
      R"(TopN(f, ids=[0,10,30], fields=["hello", 'goodbye', zero], e=[], m=[ null , true, 1.5, -2, Row(a=1), 2017-01-02T03:04 ]))",
      C("TopN",
        {A("_field", Str("f")), A("ids", List({Int(0), Int(10), Int(30)})),
         A("fields", List({Str("hello"), Str("goodbye"), Str("zero")})),
         A("e", List({})),
         A("m", List({Null(), Bool(true), Dec(15, 1), Int(-2),
                      CallV(C("Row", {A("a", Int(1))})),
                      Ts("2017-01-02T03:04")}))}));
}

TEST(PqlParserTest, CallsAsValues) {
  ExpectCall(
      "GroupBy(Rows(a), Rows(b), filter=Row(x=1), aggregate=Sum(field=v), "
      "having=Condition(count > 10), sort=\"count desc\", limit=5, "
      "previous=[\"a\", 2])",
      C("GroupBy",
        {C("Rows", {A("_field", Str("a"))}),
         C("Rows", {A("_field", Str("b"))})},
        {A("filter", CallV(C("Row", {A("x", Int(1))}))),
         A("aggregate", CallV(C("Sum", {A("_field", Str("v"))}))),
         A("having",
           CallV(C("Condition", {A("count", Cond(Op::kGt, Int(10)))}))),
         A("sort", Str("count desc")), A("limit", Int(5)),
         A("previous", List({Str("a"), Int(2)}))}));
  ExpectCalls(
      "Count(Distinct(Row(a=1), field=b)) GroupBy(Rows(a), "
      "aggregate=Count(Distinct(field=b)))",
      {C("Count",
         {C("Distinct", {C("Row", {A("a", Int(1))})}, {A("field", Str("b"))})}),
       C("GroupBy", {C("Rows", {A("_field", Str("a"))})},
         {A("aggregate",
            CallV(C("Count", {C("Distinct", {A("field", Str("b"))})})))})});
}

// ----------------------------------------------------------- comparisons

TEST(PqlParserTest, EqualsSignIsAPlainArgumentDoubleEqualsIsACondition) {
  ExpectCall("Row(f=5, g==5, h=null, i==null, j!=null)",
             C("Row", {A("f", Int(5)), A("g", Cond(Op::kEq, Int(5))),
                       A("h", Null()), A("i", Cond(Op::kEq, Null())),
                       A("j", Cond(Op::kNeq, Null()))}));
}

TEST(PqlParserTest, Comparisons) {
  ExpectCall(
      "Row(a < 4, b<=4, c >4, d>= -4, e == 1.5, f != 7, g==other, "
      "x>'2022-02-22T22:22:22Z')",
      C("Row",
        {A("a", Cond(Op::kLt, Int(4))), A("b", Cond(Op::kLte, Int(4))),
         A("c", Cond(Op::kGt, Int(4))), A("d", Cond(Op::kGte, Int(-4))),
         A("e", Cond(Op::kEq, Dec(15, 1))), A("f", Cond(Op::kNeq, Int(7))),
         A("g", Cond(Op::kEq, Str("other"))),
         A("x", Cond(Op::kGt, Ts("2022-02-22T22:22:22Z")))}));
}

TEST(PqlParserTest, ChainedComparisons) {
  ExpectCall(
      "Row(4 < a < 9, 4 <= b < 9, 4 < c <= 9, 4<=d<=9, -1.5 < e <= 2.25, "
      "2022-01-01T00:00:00Z <= t < '2023-01-01T00:00:00Z')",
      C("Row", {A("a", Cond(Op::kBetweenLtLt, Int(4), Int(9))),
                A("b", Cond(Op::kBetweenLteLt, Int(4), Int(9))),
                A("c", Cond(Op::kBetweenLtLte, Int(4), Int(9))),
                A("d", Cond(Op::kBetweenLteLte, Int(4), Int(9))),
                A("e", Cond(Op::kBetweenLtLte, Dec(-15, 1), Dec(225, 2))),
                A("t", Cond(Op::kBetweenLteLt, Ts("2022-01-01T00:00:00Z"),
                            Ts("2023-01-01T00:00:00Z")))}));
}

TEST(PqlParserTest, OldBetweenSyntax) {
  ExpectCall(
      "Row(zztop><[2, 9], b >< [ -1.5 , x ])",
      C("Row", {A("zztop", Cond(Op::kBetweenLteLte, Int(2), Int(9))),
                A("b", Cond(Op::kBetweenLteLte, Dec(-15, 1), Str("x")))}));
}

// ------------------------------------------------------------ positional

TEST(PqlParserTest, PositionalField) {
  ExpectCall("TopN(f, n=3)",
             C("TopN", {A("_field", Str("f")), A("n", Int(3))}));
  ExpectCall("TopN( x )", C("TopN", {A("_field", Str("x"))}));
  ExpectCall("Rows(f)", C("Rows", {A("_field", Str("f"))}));
  ExpectCall("Sum(f)", C("Sum", {A("_field", Str("f"))}));
  ExpectCall("Sum(f, Row(x=1))",
             C("Sum", {C("Row", {A("x", Int(1))})}, {A("_field", Str("f"))}));
  ExpectCall("MinRow(f)", C("MinRow", {A("_field", Str("f"))}));
  ExpectCall("TopN(myfield, Row(a=47), n=10)",
             C("TopN", {C("Row", {A("a", Int(47))})},
               {A("_field", Str("myfield")), A("n", Int(10))}));
  // FeatureBase's posfield also takes "field=name" first.
  ExpectCall(
      "TopK(field=myfield, Row(), k=7)",
      C("TopK", {C("Row")}, {A("_field", Str("myfield")), A("k", Int(7))}));
  ExpectCall("Sum(field=f)", C("Sum", {A("_field", Str("f"))}));
  // ... but not later, quoted, or as a keyword.
  ExpectCall("Sum(Row(), field=f)",
             C("Sum", {C("Row")}, {A("field", Str("f"))}));
  ExpectCall("Sum(field=\"f\")", C("Sum", {A("field", Str("f"))}));
  ExpectCall("Rows(field=true)", C("Rows", {A("field", Bool(true))}));
  ExpectCall("Percentile(v, nth=99.5, filter=Row(a=1))",
             C("Percentile", {A("_field", Str("v")), A("nth", Dec(995, 1)),
                              A("filter", CallV(C("Row", {A("a", Int(1))})))}));
  // An explicit reserved key where FeatureBase's prototypes allow it.
  ExpectCall("Sort(Row(a=1), _field=v, sort-desc=true)",
             C("Sort", {C("Row", {A("a", Int(1))})},
               {A("_field", Str("v")), A("sort-desc", Bool(true))}));
}

TEST(PqlParserTest, PositionalColumnAndTimestamp) {
  ExpectCall("Set(10, f=1)", C("Set", {A("_col", Int(10)), A("f", Int(1))}));
  ExpectCall("Set(\"key\", f=\"x\")",
             C("Set", {A("_col", Str("key")), A("f", Str("x"))}));
  ExpectCall("Set('foo', f=10)",
             C("Set", {A("_col", Str("foo")), A("f", Int(10))}));
  ExpectCall("Set(10, f=1, 2017-01-02T03:04)",
             C("Set", {A("_col", Int(10)), A("f", Int(1)),
                       A("_timestamp", Ts("2017-01-02T03:04"))}));
  ExpectCall("Set(10, f=1, '2017-01-02T03:04')",
             C("Set", {A("_col", Int(10)), A("f", Int(1)),
                       A("_timestamp", Ts("2017-01-02T03:04"))}));
  ExpectCall("Set(18446744073709551615, f=1)",
             C("Set", {A("_col", Uint(UINT64_MAX)), A("f", Int(1))}));
  ExpectCall("Clear(10, f=1)",
             C("Clear", {A("_col", Int(10)), A("f", Int(1))}));
  ExpectCall("Clear(1, a=53, b=33)",
             C("Clear", {A("_col", Int(1)), A("a", Int(53)), A("b", Int(33))}));
  // FeatureBase's generic form: no positional column.
  ExpectCall("Set(f=1, _col=3)", C("Set", {A("f", Int(1)), A("_col", Int(3))}));
}

TEST(PqlParserTest, OldRangeForm) {
  ExpectCall("Range(blah=1, 2019-04-07T00:00, 2019-08-07T00:00)",
             C("Range", {A("blah", Int(1)), A("from", Ts("2019-04-07T00:00")),
                         A("to", Ts("2019-08-07T00:00"))}));
  ExpectCall("Range(f=1, from=2019-04-07T00:00, to=2019-08-07T00:00)",
             C("Range", {A("f", Int(1)), A("from", Ts("2019-04-07T00:00")),
                         A("to", Ts("2019-08-07T00:00"))}));
}

TEST(PqlParserTest, KeysMayContainDashesAndUnderscores) {
  ExpectCall("Count(dashy-=f, a_b-c=1, sort-desc=true)",
             C("Count", {A("dashy-", Str("f")), A("a_b-c", Int(1)),
                         A("sort-desc", Bool(true))}));
}

TEST(PqlParserTest, RecordsByteOffsets) {
  Query q = MustParse("Count( Row(f = 1), x < 5)\n Union(a=[2])");
  ASSERT_EQ(q.calls.size(), 2u);
  EXPECT_EQ(q.calls[0].pos, 0u);
  EXPECT_EQ(q.calls[0].children[0].pos, 7u);
  EXPECT_EQ(q.calls[0].children[0].args[0].pos, 11u);
  EXPECT_EQ(q.calls[0].children[0].args[0].value.pos, 15u);
  EXPECT_EQ(q.calls[0].args[0].pos, 19u);
  EXPECT_EQ(q.calls[0].args[0].value.pos, 21u);
  EXPECT_EQ(q.calls[0].args[0].value.cond->value.pos, 23u);
  EXPECT_EQ(q.calls[1].pos, 27u);
  EXPECT_EQ(q.calls[1].args[0].value.pos, 35u);
  EXPECT_EQ(q.calls[1].args[0].value.list[0].pos, 36u);
}

TEST(PqlParserTest, NestingUpToTheLimit) {
  std::string deep;
  for (int i = 0; i < kMaxNesting; ++i) deep += "Count(";
  deep += std::string(kMaxNesting, ')');
  Query q = MustParse(deep);
  ASSERT_EQ(q.calls.size(), 1u);
  const Call* c = &q.calls[0];
  int depth = 1;
  while (!c->children.empty()) {
    c = &c->children[0];
    ++depth;
  }
  EXPECT_EQ(depth, kMaxNesting);
  EXPECT_TRUE(Equal(MustParse(Print(q)), q));
  // Calls as values and lists of calls count the same way.
  std::string values;
  for (int i = 0; i < kMaxNesting; ++i) values += "Row(f=";
  values += "1" + std::string(kMaxNesting, ')');
  EXPECT_EQ(MustParse(values).calls.size(), 1u);
  std::string lists;
  for (int i = 0; i < kMaxNesting / 2; ++i) lists += "Row(f=[";
  lists += "1";
  for (int i = 0; i < kMaxNesting / 2; ++i) lists += "])";
  EXPECT_EQ(MustParse(lists).calls.size(), 1u);
}

// ---------------------------------------------------------------- errors

struct ErrorCase {
  std::string input;
  std::string message;
};

TEST(PqlParserTest, ErrorsNameOffsetLineColumnAndExpectation) {
  const std::vector<ErrorCase> cases = {
      {"Set",
       "parse: at offset 3 (line 1, column 4): expected '(' after "
       "'Set', found end of input"},
      {"Count(Row(a=1)) x",
       "parse: at offset 17 (line 1, column 18): expected "
       "'(' after 'x', found end of input"},
      {"Row(a=1 x)",
       "parse: at offset 8 (line 1, column 9): expected ')' or "
       "',' after an argument, found 'x'"},
      {"Count(Row(a=1)\n",
       "parse: at offset 15 (line 2, column 1): expected "
       "')' or ',' after an argument, found end of input"},
      {"Row(a=1)\n  Row(b=2 c=3)",
       "parse: at offset 19 (line 2, column 11): "
       "expected ')' or ',' after an argument, "
       "found 'c'"},
      {"Foo(a=1)", "parse: at offset 0 (line 1, column 1): unknown call 'Foo'"},
      {"Count(Rowz(a=1))",
       "parse: at offset 6 (line 1, column 7): unknown "
       "call 'Rowz'"},
      {"Apply(\"x\")",
       "parse: at offset 0 (line 1, column 1): unknown call "
       "'Apply'"},
      {"1",
       "parse: at offset 0 (line 1, column 1): expected a call name, "
       "found '1'"},
      {"Row(a=1))",
       "parse: at offset 8 (line 1, column 9): expected a call "
       "name, found ')'"},
      {"Row(, a=4)",
       "parse: at offset 4 (line 1, column 5): expected a call "
       "or an argument, found ','"},
      {"Row(,)",
       "parse: at offset 4 (line 1, column 5): expected a call or "
       "an argument, found ','"},
      {"Set(, 1, a=4)",
       "parse: at offset 4 (line 1, column 5): expected a "
       "call or an argument, found ','"},
      {"Clear(9)",
       "parse: at offset 6 (line 1, column 7): expected a call or "
       "an argument, found '9'"},
      {"Set(1, 2017-04-03T19:34)",
       "parse: at offset 7 (line 1, column 8): "
       "expected a call or an argument, found '2'"},
      {"Set(1, a=4, 2017-94-03T19:34)",
       "parse: at offset 12 (line 1, column "
       "13): invalid timestamp: "
       "2017-94-03T19:34"},
      {"Set(1, a=4, 2017-04-03T19:34, b=1)",
       "parse: at offset 28 (line 1, "
       "column 29): expected ')' after "
       "the timestamp, found ','"},
      {"Row(a>4, 2010-07-04T00:00, 2010-08-04T00:00)",
       "parse: at offset 9 (line 1, column 10): expected a call or an "
       "argument, found '2'"},
      {"Row(a=4, 2010-07-04T00:00)",
       "parse: at offset 9 (line 1, column 10): "
       "expected a call or an argument, found "
       "'2'"},
      {"Row(a=9223372036854775808000)",
       "parse: at offset 6 (line 1, column "
       "7): integer out of range: "
       "9223372036854775808000"},
      {"Row(a=18446744073709551616)",
       "parse: at offset 6 (line 1, column 7): "
       "integer out of range: "
       "18446744073709551616"},
      {"Row(a=-9223372036854775809)",
       "parse: at offset 6 (line 1, column 7): "
       "integer out of range: "
       "-9223372036854775809"},
      {"Row(a=9223372036854775808.0)",
       "parse: at offset 6 (line 1, column "
       "7): decimal 9223372036854775808.0 overflows (unscaled digits in "
       "[-9223372036854775808, 9223372036854775807], at most 1000 decimal "
       "places)"},
      {"Row(a=12abc)",
       "parse: at offset 6 (line 1, column 7): invalid number "
       "or timestamp: 12abc"},
      {"Row(a=1.2.3)",
       "parse: at offset 6 (line 1, column 7): invalid number "
       "or timestamp: 1.2.3"},
      {"Row(a=.)",
       "parse: at offset 6 (line 1, column 7): invalid number or "
       "timestamp: ."},
      {"Row(a=2017-01-02)",
       "parse: at offset 6 (line 1, column 7): invalid "
       "number or timestamp: 2017-01-02"},
      {"Row(a=2017-01-02T03:04:05)",
       "parse: at offset 6 (line 1, column 7): "
       "invalid number or timestamp: "
       "2017-01-02T03:04:05"},
      {"Row(x>'2024-04-24T24:24:24Z')",
       "parse: at offset 6 (line 1, column "
       "7): invalid timestamp: "
       "2024-04-24T24:24:24Z"},
      {"Row(x=2023-02-29T00:00)",
       "parse: at offset 6 (line 1, column 7): "
       "invalid timestamp: 2023-02-29T00:00"},
      {"Row(a=\"abc)",
       "parse: at offset 6 (line 1, column 7): unterminated "
       "string"},
      {"Row(a='abc\\')",
       "parse: at offset 6 (line 1, column 7): unterminated "
       "string"},
      {"Row(a=\"a\\qb\")",
       "parse: at offset 9 (line 1, column 10): expected "
       "an escape (\\\\ \\\" \\' \\n \\t) after '\\', found "
       "'q'"},
      {"Row(a=)",
       "parse: at offset 6 (line 1, column 7): expected a value, "
       "found ')'"},
      {"Row(a=[1,)",
       "parse: at offset 9 (line 1, column 10): expected a "
       "value, found ')'"},
      {"Row(a=[1 2])",
       "parse: at offset 9 (line 1, column 10): expected ']' "
       "or ',' in a list, found '2'"},
      {"Row(a=[[1]])",
       "parse: at offset 7 (line 1, column 8): nested lists "
       "are not supported"},
      {"Row(a)",
       "parse: at offset 5 (line 1, column 6): expected '=' or a "
       "comparison after 'a', found ')'"},
      {"Row(a ! 1)",
       "parse: at offset 6 (line 1, column 7): expected '=' or a "
       "comparison after 'a', found '!'"},
      {"Row(a >< 5)",
       "parse: at offset 9 (line 1, column 10): '><' needs a "
       "list of two values"},
      {"Row(a >< [1, 2, 3])",
       "parse: at offset 9 (line 1, column 10): '><' "
       "needs a list of two values"},
      {"Row(9 > a > 4)",
       "parse: at offset 6 (line 1, column 7): expected '<' "
       "or '<=' in a range comparison, found '>'"},
      {"Row(4 < a > 9)",
       "parse: at offset 10 (line 1, column 11): expected "
       "'<' or '<=' after 'a' in a range comparison, found "
       "'>'"},
      {"Row(4 < a)",
       "parse: at offset 9 (line 1, column 10): expected '<' or "
       "'<=' after 'a' in a range comparison, found ')'"},
      {"Row(4 < 5 < 6)",
       "parse: at offset 8 (line 1, column 9): expected a "
       "field name in a range comparison, found '5'"},
      {"Row(4 < a < x)",
       "parse: at offset 12 (line 1, column 13): expected a "
       "number or timestamp as the upper bound, found 'x'"},
      {"Row('x' < a < 5)",
       "parse: at offset 4 (line 1, column 5): expected a "
       "number or timestamp as the lower bound of a range "
       "comparison"},
      {"Row(a=1, a=2)",
       "parse: at offset 9 (line 1, column 10): duplicate "
       "argument 'a'"},
      {"Row(a==foo, a==bar)",
       "parse: at offset 12 (line 1, column 13): "
       "duplicate argument 'a'"},
      {"Row(a=[7], a=[7,8])",
       "parse: at offset 11 (line 1, column 12): "
       "duplicate argument 'a'"},
      {"TopN(f, _field=g)",
       "parse: at offset 8 (line 1, column 9): duplicate "
       "argument '_field'"},
      {"Row(_row=1)",
       "parse: at offset 4 (line 1, column 5): reserved "
       "argument '_row' not allowed in Row"},
      {"Count(_field=f)",
       "parse: at offset 6 (line 1, column 7): reserved "
       "argument '_field' not allowed in Count"},
      {"Clear(1, f=1, _timestamp=2017-01-01T00:00)",
       "parse: at offset 14 (line 1, column 15): reserved argument "
       "'_timestamp' not allowed in Clear"},
      {"Row(f=$var)",
       "parse: at offset 6 (line 1, column 7): variables "
       "($name) are not supported"},
      {"Rows($var)",
       "parse: at offset 5 (line 1, column 6): variables "
       "($name) are not supported"},
      {std::string("Row(a=1)\0", 9),
       "parse: at offset 8 (line 1, column 9): "
       "expected a call name, found byte 0x00"},
      {"Row(a=\xff)",
       "parse: at offset 6 (line 1, column 7): expected a "
       "value, found byte 0xff"},
      {"Row(a='x')'",
       "parse: at offset 10 (line 1, column 11): expected a "
       "call name, found \"'\""},
  };
  for (const ErrorCase& c : cases) {
    EXPECT_EQ(ErrorOf(c.input), c.message) << "input: " << c.input;
  }
}

TEST(PqlParserTest, NestingBeyondTheLimitIsAnError) {
  std::string deep;
  for (int i = 0; i <= kMaxNesting; ++i) deep += "Count(";
  deep += std::string(kMaxNesting + 1, ')');
  size_t at = 6 * kMaxNesting;
  EXPECT_EQ(ErrorOf(deep), "parse: at offset " + std::to_string(at) +
                               " (line 1, column " + std::to_string(at + 1) +
                               "): nesting deeper than 1000");
  // Far deeper input, and deep lists of calls, fail the same way.
  std::string deeper(200000, '(');
  for (size_t i = 0; i < deeper.size(); i += 4) deeper.replace(i, 4, "Not(");
  EXPECT_NE(ErrorOf(deeper).find("nesting deeper than 1000"),
            std::string::npos);
  std::string lists;
  for (int i = 0; i < 2000; ++i) lists += "Row(f=[";
  EXPECT_NE(ErrorOf(lists).find("nesting deeper than 1000"), std::string::npos);
}

TEST(PqlParserTest, NeverCrashesOnPrefixesOrSingleByteChanges) {
  const std::string text =
      "GroupBy(Rows(a), filter=Row(4 <= x < 9.5), aggregate=Sum(field=v), "
      "having=Condition(count > 10), sort=\"count desc\") Set(1, f=\"k\\n\", "
      "2017-01-02T03:04) Row(t > 2017-01-02T03:04:05Z, z >< [1, 2])";
  FB_ASSERT_OK(Parse(text));
  for (size_t n = 0; n <= text.size(); ++n) {
    absl::StatusOr<Query> q = Parse(text.substr(0, n));
    if (!q.ok()) {
      EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
    }
  }
  const int kBytes[] = {0, '(', ')', ',', '"', '\'', '=', '<', '[', 0xff};
  for (size_t i = 0; i < text.size(); ++i) {
    for (int b : kBytes) {
      std::string t = text;
      t[i] = static_cast<char>(b);
      absl::StatusOr<Query> q = Parse(t);
      if (q.ok()) {
        EXPECT_TRUE(Equal(*Parse(Print(*q)), *q)) << t;
      }
    }
  }
}

TEST(PqlParserTest, LargeInputsParseInLinearTime) {
  // 200k arguments, a 1 MB string and 100k calls: quadratic work would time
  // out here.
  std::string wide = "Row(";
  for (int i = 0; i < 200000; ++i) wide += fmt::format("k{}=1,", i);
  wide += ")";
  absl::StatusOr<Query> q = Parse(wide);
  FB_ASSERT_OK(q) << q.status().message();
  EXPECT_EQ(q->calls[0].args.size(), 200000u);
  std::string dup = wide;
  dup.insert(dup.size() - 1, "k0=2");
  EXPECT_NE(ErrorOf(dup).find("duplicate argument 'k0'"), std::string::npos);
  std::string big = "Row(s=\"" + std::string(1 << 20, 'x') + "\")";
  q = Parse(big);
  FB_ASSERT_OK(q);
  EXPECT_EQ(q->calls[0].args[0].value.s.size(), size_t{1} << 20);
  std::string many;
  for (int i = 0; i < 100000; ++i) many += "Count(Row(a=1))\n";
  q = Parse(many);
  FB_ASSERT_OK(q);
  EXPECT_EQ(q->calls.size(), 100000u);
  // A long unterminated string and a long bad token fail with short messages.
  std::string open = "Row(s=\"" + std::string(1 << 20, 'x');
  EXPECT_EQ(ErrorOf(open),
            "parse: at offset 6 (line 1, column 7): unterminated string");
  EXPECT_LT(ErrorOf("Row(a=1" + std::string(100000, 'z') + ")").size(), 200u);
}

// Queries from FeatureBase's pql tests and docs (pql/pqlpeg_test.go,
// pql/parser_test.go, featurebase-model.md section 7) all parse.
TEST(PqlParserTest, FeatureBaseQueriesParse) {
  const char* queries[] = {
      "Set(2, f=10)",
      "Set('foo', f=10)",
      "Set(\"foo\", f=10)",
      "Set(2, f=1, 1999-12-31T00:00)",
      "Set(1, a=4)Row(z=ha)Set(2, z=99)",
      "Row(q=1, a=4)Set(1, z=9)Row(z=99)",
      "Set(1, a=zoom)",
      "Set(1, a=4, bsd=haha)",
      "Set(1, a=4, 2017-04-03T19:34)",
      "Set(1, a='2017-04-03T19:34:00.000000Z')",
      "Union()",
      "TopN(boondoggle)",
      "TopN(boon, doggle=9)",
      "Row(a < 4)",
      "Row(a == null)",
      "Row(a != 4)",
      "Row(4 <= a <= 9)",
      "Row(a=4, from=2010-07-04T00:00, to=2010-08-04T00:00)",
      "Row(a=4, from='2010-07-04T00:00')",
      "Set(1, my-frame=9)",
      "SetBit(f=11, col=1)",
      "TopN(blah, Bitmap(id==other), field=f, n=0)",
      "Bitmap(row=4, did==other)",
      "Union(  Bitmap()  , Count()  )",
      "Count( Bitmap( id=100))",
      "TopN(f, Bitmap(id=100, field=other), n=3)",
      "Row(key=foo, x == 12.25, y >= 100, z >< [4,8], m != null, n == null)",
      "Row(x>'2022-02-22T22:22:22Z')",
      "TopK(myfield, Row(), k=7)",
      "Rows(job, previous=\"💣\")",
      "TopN(stargazer, Row(unicode=\"Æ漢д ☮♬ ♞🜻💣\"), a=\"∑\")",
      "Max(field=f)",
      "Min(Row(), field=f)",
      "GroupBy(Rows(), filter=Row(4 < a < 9))",
      "SetBit(Union(Row(row==4)), a=\"4z\", b=5)",
      "Count(Union(Row(row=5.73, frame=.10), Row(zztop><[2, 9]))) "
      "TopN(blah, fields=[\"hello\", \"goodbye\", \"zero\"])",
      "Row(field=\"http://zoo9.com=\\'hello' and \\\"hello\\\"\")",
      "ClearRow(stargazer=5)",
      "Store(Row(stargazer=5), stargazer=6)",
      "Delete(Row(a=1))",
      "Intersect(Row(a=1), Row(b=2))",
      "Difference(Row(a=1), Row(b=2), Row(c=3))",
      "Xor(Row(a=1), Row(b=2))",
      "Not(Row(a=1))",
      "All()",
      "All(limit=10, offset=2)",
      "Shift(Row(a=1), n=2)",
      "Limit(Row(a=1), limit=10, offset=5)",
      "ConstRow(columns=[1, 5, 10])",
      "ConstRow(columns=[\"a\", \"b\"])",
      "Distinct(Row(a=1), field=b)",
      "UnionRows(Rows(a), Rows(b, limit=2))",
      "IncludesColumn(Row(a=1), column=10)",
      "Sum(Row(a=1), field=v)",
      "Min(v)",
      "MinRow(field=f)",
      "MaxRow(field=f, filter=Row(a=1))",
      "Percentile(field=v, nth=50, filter=Row(a=1))",
      "FieldValue(field=v, column=10)",
      "TopN(f, Row(a=1), n=5, threshold=2, tanimotoThreshold=50, ids=[1,2])",
      "TopK(f, k=5, filter=Row(a=1), from=2010-01-01T00:00, "
      "to=2011-01-01T00:00)",
      "Rows(f, previous=10, limit=5, column=3, from=2010-01-01T00:00, "
      "like=\"a%\", in=[1,2])",
      "GroupBy(Rows(a), Rows(b), limit=10, offset=2, filter=Row(c=1), "
      "aggregate=Count(Distinct(field=d)), having=Condition(count > 5), "
      "sort=\"count desc, sum asc\", previous=[1, 2])",
      "GroupBy(Rows(a), aggregate=Sum(field=v), having=Condition(1 < sum < 9))",
      "Extract(Row(a=1), Rows(f1), Rows(f2))",
      "Sort(Row(a=1), field=v, sort-desc=true, limit=10, offset=5)",
      "Options(Row(a=1), shards=[0, 2])",
      "Row(f > 5) Row(f <= -3) Row(f == 7) Row(f != 7) Row(1 < f < 10) "
      "Row(1 <= f <= 10) Row(f == null) Row(f != null)",
      "Row(bool=true)",
      "Row(f=\"key\")",
  };
  for (const char* q : queries) {
    absl::StatusOr<Query> parsed = Parse(q);
    FB_EXPECT_OK(parsed) << q << ": " << parsed.status().message();
  }
}

}  // namespace
}  // namespace featurebase::internal::pql
