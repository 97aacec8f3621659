// Ingest-kit header cells: every type and argument, the resulting field
// options, and exact messages for bad cells.
#include "examples/fbc/header.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "tests/util/status_matchers.h"

namespace fbc {
namespace {

using featurebase::FieldType;

ColumnSpec Parse(const std::string& cell) {
  auto s = ParseHeaderCell(cell, 1);
  FB_EXPECT_OK(s);
  return s.ok() ? *s : ColumnSpec();
}

std::string Error(const std::string& cell) {
  auto s = ParseHeaderCell(cell, 3);
  EXPECT_FALSE(s.ok()) << cell;
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  return std::string(s.status().message());
}

TEST(HeaderTest, IdDefaultsToASetFieldOfIds) {
  const ColumnSpec c = Parse("vendor__ID");
  EXPECT_EQ(c.source, "vendor");
  EXPECT_EQ(c.field, "vendor");
  EXPECT_EQ(c.type, ColumnType::kId);
  const auto o = c.FieldOptions();
  EXPECT_EQ(o.type, FieldType::kSet);
  EXPECT_FALSE(o.keys);
}

TEST(HeaderTest, MutexFlagAndQuantumAndTtl) {
  EXPECT_EQ(Parse("a__ID_T").FieldOptions().type, FieldType::kMutex);
  EXPECT_EQ(Parse("a__ID_F").FieldOptions().type, FieldType::kSet);
  const auto s = Parse("a__String_T").FieldOptions();
  EXPECT_EQ(s.type, FieldType::kMutex);
  EXPECT_TRUE(s.keys);
  // A quantum makes a time field, as in the ingest kit (mutex unused).
  const ColumnSpec t = Parse("zone__String_F_YMD_720h");
  const auto o = t.FieldOptions();
  EXPECT_EQ(o.type, FieldType::kTime);
  EXPECT_TRUE(o.keys);
  EXPECT_EQ(o.time_quantum.ToString(), "YMD");
  EXPECT_EQ(o.ttl, absl::Hours(720));
  EXPECT_EQ(Parse("a__ID_T_YM").FieldOptions().type, FieldType::kTime);
}

TEST(HeaderTest, ArraysAreSetOrTimeFields) {
  const auto sa = Parse("tags__StringArray").FieldOptions();
  EXPECT_EQ(sa.type, FieldType::kSet);
  EXPECT_TRUE(sa.keys);
  const auto ia = Parse("ids__IDArray_YMDH_24h").FieldOptions();
  EXPECT_EQ(ia.type, FieldType::kTime);
  EXPECT_FALSE(ia.keys);
  EXPECT_EQ(ia.time_quantum.ToString(), "YMDH");
  EXPECT_EQ(ia.ttl, absl::Hours(24));
}

TEST(HeaderTest, IntMinMax) {
  const auto o = Parse("fare__Int_-5_100").FieldOptions();
  EXPECT_EQ(o.type, FieldType::kInt);
  EXPECT_EQ(o.min, -5);
  EXPECT_EQ(o.max, 100);
  const auto d = Parse("fare__Int").FieldOptions();
  EXPECT_EQ(d.min, INT64_MIN);
  EXPECT_EQ(d.max, INT64_MAX);
  EXPECT_EQ(Parse("fare__Int_7").FieldOptions().min, 7);
}

TEST(HeaderTest, DecimalScale) {
  const auto o = Parse("amount__Decimal_2").FieldOptions();
  EXPECT_EQ(o.type, FieldType::kDecimal);
  EXPECT_EQ(o.scale, 2);
  EXPECT_EQ(Parse("amount__Decimal").FieldOptions().scale, 0);
}

TEST(HeaderTest, BoolAndTypesAreCaseInsensitive) {
  EXPECT_EQ(Parse("airport__Bool").FieldOptions().type, FieldType::kBool);
  EXPECT_EQ(Parse("airport__bool").type, ColumnType::kBool);
  EXPECT_EQ(Parse("x__STRINGARRAY").type, ColumnType::kStringArray);
}

TEST(HeaderTest, TimestampGranularityLayoutEpochUnit) {
  const ColumnSpec d = Parse("at__Timestamp");
  EXPECT_EQ(d.FieldOptions().type, FieldType::kTimestamp);
  EXPECT_EQ(d.FieldOptions().time_unit, featurebase::TimeUnit::kSecond);
  EXPECT_FALSE(d.epoch);
  const ColumnSpec c = Parse("at__Timestamp_ms_2006-01-02_2020-01-01_us");
  EXPECT_EQ(c.FieldOptions().time_unit, featurebase::TimeUnit::kMillisecond);
  EXPECT_EQ(c.layout.layout(), "2006-01-02");
  ASSERT_TRUE(c.epoch);
  EXPECT_EQ(*c.epoch, absl::FromUnixSeconds(1577836800));
  EXPECT_EQ(c.FieldOptions().epoch, absl::FromUnixSeconds(1577836800));
  ASSERT_TRUE(c.unit);
  EXPECT_EQ(*c.unit, absl::Microseconds(1));
}

TEST(HeaderTest, RecordTimeIsNotAField) {
  const ColumnSpec c = Parse("pickup_time__RecordTime");
  EXPECT_EQ(c.type, ColumnType::kRecordTime);
  EXPECT_FALSE(c.is_field());
  // No source name is allowed for RecordTime only.
  EXPECT_EQ(Parse("__RecordTime").type, ColumnType::kRecordTime);
  const ColumnSpec e = Parse("t__RecordTime_2006-01-02_2000-01-01_d");
  EXPECT_EQ(*e.epoch, absl::FromUnixSeconds(946684800));
  EXPECT_EQ(*e.unit, absl::Hours(24));
}

TEST(HeaderTest, DateIntLayoutEpochUnitAndCustomUnit) {
  const ColumnSpec c = Parse("day__DateInt_2006-01-02_2020-01-01_d");
  EXPECT_EQ(c.FieldOptions().type, FieldType::kInt);
  EXPECT_EQ(*c.unit, absl::Hours(24));
  const ColumnSpec q = Parse("slot__DateInt_2006-01-02_2020-01-01_c_15m");
  EXPECT_EQ(*q.unit, absl::Minutes(15));
}

TEST(HeaderTest, IgnoreAndDestinationRenaming) {
  EXPECT_FALSE(Parse("Trip Id__Ignore").is_field());
  const ColumnSpec r = Parse("Cab Type___cab_type__String_T");
  EXPECT_EQ(r.source, "Cab Type");
  EXPECT_EQ(r.field, "cab_type");
  EXPECT_EQ(r.FieldOptions().type, FieldType::kMutex);
  // The last "___" splits; names may hold "__" before it.
  const ColumnSpec d = Parse("a__b___c__Int");
  EXPECT_EQ(d.source, "a__b");
  EXPECT_EQ(d.field, "c");
}

TEST(HeaderTest, BadCellsNameTheColumnAndTheProblem) {
  EXPECT_EQ(Error("fare"),
            "header column 3 \"fare\": no field spec (expected name__Type)");
  EXPECT_EQ(Error("fare__Money"),
            "header column 3 \"fare__Money\": unknown type \"Money\"");
  EXPECT_EQ(
      Error("fare__Int_x"),
      "header column 3 \"fare__Int_x\": parsing min: \"x\" is not an integer");
  EXPECT_EQ(Error("fare__Int_1_y"),
            "header column 3 \"fare__Int_1_y\": parsing max: \"y\" is not an "
            "integer");
  EXPECT_EQ(Error("fare__Int_5_1"),
            "header column 3 \"fare__Int_5_1\": min 5 is greater than max 1");
  EXPECT_EQ(Error("a__Decimal_20"),
            "header column 3 \"a__Decimal_20\": parsing scale: \"20\" is not "
            "an integer in [0, 19]");
  EXPECT_EQ(Error("a__String_Y"),
            "header column 3 \"a__String_Y\": mutex argument must be T or F, "
            "got \"Y\"");
  EXPECT_EQ(Error("a__String_F_YQ").substr(0, 32),
            "header column 3 \"a__String_F_YQ\"");
  EXPECT_EQ(Error("a__String_F_YMD_soon"),
            "header column 3 \"a__String_F_YMD_soon\": bad TTL \"soon\" (a "
            "duration like 24h)");
  // An empty quantum before a TTL reads as "__": the last "__" starts the
  // type, as in the ingest kit.
  EXPECT_EQ(Error("a__String_F__24h"),
            "header column 3 \"a__String_F__24h\": unknown type \"24h\"");
  EXPECT_EQ(Error("a__Bool_x"),
            "header column 3 \"a__Bool_x\": too many arguments for Bool (takes "
            "at most 0, got 1)");
  EXPECT_EQ(Error("Fare__Int"),
            "header column 3 \"Fare__Int\": invalid field name \"Fare\": "
            "must start with a lower-case letter (want a lower-case letter, "
            "then up to 229 of a-z 0-9 _ -)");
  EXPECT_EQ(Error("__Int"), "header column 3 \"__Int\": no source name");
  EXPECT_EQ(Error("a__LookupText"),
            "header column 3 \"a__LookupText\": type LookupText is not "
            "supported by fbc");
  EXPECT_EQ(Error("a__Timestamp_m"),
            "header column 3 \"a__Timestamp_m\": granularity must be s, ms, us "
            "or ns, got \"m\"");
  EXPECT_EQ(Error("a__Timestamp_s_2006-01-02_yesterday"),
            "header column 3 \"a__Timestamp_s_2006-01-02_yesterday\": parsing "
            "epoch: \"yesterday\" does not match layout 2006-01-02");
  EXPECT_EQ(Error("a__RecordTime_2006-01-02_2000-01-01_w"),
            "header column 3 \"a__RecordTime_2006-01-02_2000-01-01_w\": "
            "unknown unit \"w\", please choose from d/h/m/s/ms/us/ns");
  EXPECT_EQ(Error("a__DateInt_2006-01-02_2000-01-01_c"),
            "header column 3 \"a__DateInt_2006-01-02_2000-01-01_c\": custom "
            "unit c needs a duration argument");
}

TEST(HeaderTest, LongCellsAreCutInMessages) {
  const std::string type(100, 'M');
  EXPECT_EQ(Error("fare__" + type),
            "header column 3 \"fare__" + std::string(58, 'M') +
                "...\": unknown type \"" + std::string(64, 'M') + "...\"");
  // Cut before a UTF-8 sequence that would cross the bound; bytes that are
  // not UTF-8 and control bytes are shown as \xNN.
  EXPECT_EQ(Error(std::string(63, 'a') + "\xC3\xA9__Int_x"),
            "header column 3 \"" + std::string(63, 'a') +
                "...\": invalid field name \"" + std::string(63, 'a') +
                "...\": character 64 \"\\xc3\" not allowed (want a "
                "lower-case letter, then up to 229 of a-z 0-9 _ -)");
  EXPECT_EQ(Error("a" + std::string(99, 'b') + "C__Int"),
            "header column 3 \"a" + std::string(63, 'b') +
                "...\": invalid field name \"a" + std::string(63, 'b') +
                "...\": character 101 \"C\" not allowed (want a "
                "lower-case letter, then up to 229 of a-z 0-9 _ -)");
  EXPECT_EQ(Error("a__Int_\xFF\x01"),
            "header column 3 \"a__Int_\\xff\\x01\": parsing min: "
            "\"\\xff\\x01\" is not an integer");
}

TEST(HeaderTest, PositionsInLayoutMessagesAreOneBased) {
  // "MST" starts at the 12th character of the layout.
  const std::string e = Error("a__RecordTime_2006-01-02 MST");
  EXPECT_NE(e.find("time layout \"2006-01-02 MST\": element at character 12 "
                   "is not supported"),
            std::string::npos)
      << e;
}

TEST(HeaderTest, WholeHeaderRules) {
  auto dup = ParseHeader({"a__ID", "b___a__Int"});
  ASSERT_FALSE(dup.ok());
  EXPECT_EQ(std::string(dup.status().message()),
            "header column 2 \"b___a__Int\": field \"a\" is written by an "
            "earlier column");
  auto two = ParseHeader({"t__RecordTime", "u__RecordTime"});
  ASSERT_FALSE(two.ok());
  EXPECT_EQ(std::string(two.status().message()),
            "header column 2 \"u__RecordTime\": a second RecordTime column");
  EXPECT_EQ(SplitHeaderFlag("a__ID,b__Int"),
            (std::vector<std::string>{"a__ID", "b__Int"}));
}

TEST(TimeLayoutTest, Rfc3339AndGoLayouts) {
  TimeLayout rfc;
  auto t = rfc.ParseTime("2013-03-05T14:22:10Z");
  FB_ASSERT_OK(t);
  EXPECT_EQ(*t, absl::FromUnixSeconds(1362493330));
  EXPECT_EQ(*rfc.ParseTime("2013-03-05T16:22:10.5+02:00"),
            absl::FromUnixSeconds(1362493330) + absl::Milliseconds(500));
  EXPECT_FALSE(rfc.ParseTime("2013-02-29T00:00:00Z").ok());
  EXPECT_FALSE(rfc.ParseTime("2013-03-05 14:22:10Z").ok());
  EXPECT_EQ(std::string(rfc.ParseTime("x").status().message()),
            "\"x\" does not match layout 2006-01-02T15:04:05Z07:00");
  auto us = TimeLayout::Parse("01/02/2006 15:04");
  FB_ASSERT_OK(us);
  EXPECT_EQ(*us->ParseTime("03/05/2013 14:22"),
            absl::FromUnixSeconds(1362493320));
  EXPECT_FALSE(TimeLayout::Parse("Jan 2 15:04 MST").ok());
}

}  // namespace
}  // namespace fbc
