#include "lib/bsi/value_codec.h"

#include <gtest/gtest.h>

#include <limits>
#include <random>

#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

TEST(ValueCodecTest, ParsesDecimalsAtScale) {
  EXPECT_EQ(*ParseDecimal("12.34", 2), 1234);
  EXPECT_EQ(*ParseDecimal("12.3", 2), 1230);
  EXPECT_EQ(*ParseDecimal("12", 2), 1200);
  EXPECT_EQ(*ParseDecimal("-0.05", 2), -5);
  EXPECT_EQ(*ParseDecimal("+7", 0), 7);
  EXPECT_EQ(*ParseDecimal(".5", 1), 5);
  EXPECT_EQ(*ParseDecimal("3.", 0), 3);
  EXPECT_EQ(*ParseDecimal("-0", 3), 0);
  EXPECT_EQ(*ParseDecimal("9223372036854775807", 0),
            std::numeric_limits<int64_t>::max());
  EXPECT_EQ(*ParseDecimal("-9223372036854775808", 0),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*ParseDecimal("-0.9223372036854775808", 19),
            std::numeric_limits<int64_t>::min());
  EXPECT_EQ(*ParseDecimal("000000000000000000000000000000000000000001", 0), 1);
}

TEST(ValueCodecTest, RejectsBadDecimalsPrecisely) {
  for (const char* bad :
       {"", "-", ".", "1.2.3", "1e5", " 1", "1 ", "0x10", "--1", "1,5"}) {
    EXPECT_EQ(ParseDecimal(bad, 2).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  EXPECT_EQ(ParseDecimal("1.234", 2).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDecimal("1", 20).status().code(),
            absl::StatusCode::kInvalidArgument);
  EXPECT_EQ(ParseDecimal("9223372036854775808", 0).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDecimal("-9223372036854775809", 0).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDecimal("92233720368547758.08", 2).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDecimal("1", 19).status().code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseDecimal(std::string(60, '9'), 0).status().code(),
            absl::StatusCode::kOutOfRange);
  // Wide decimals hold up to 38 digits.
  auto wide = ParseDecimalWide("123456789012345678901234567890", 2);
  FB_ASSERT_OK(wide);
  EXPECT_EQ(FormatDecimal(*wide, 2), "123456789012345678901234567890.00");
  EXPECT_EQ(ParseDecimalWide(std::string(39, '9'), 0).status().code(),
            absl::StatusCode::kOutOfRange);
}

TEST(ValueCodecTest, DecimalRoundTripsRandomValues) {
  for (uint64_t seed : testing::TestSeeds()) {
    SCOPED_TRACE(testing::SeedTrace(seed));
    std::mt19937_64 rng(seed);
    for (int i = 0; i < 2000; ++i) {
      const int scale = int(rng() % 20);
      int64_t v = int64_t(rng());
      if (i % 3 == 0) v %= 100000;
      const std::string text = FormatDecimal(v, scale);
      auto back = ParseDecimal(text, scale);
      FB_ASSERT_OK(back) << text << " " << back.status();
      ASSERT_EQ(*back, v) << text;
    }
  }
  EXPECT_EQ(FormatDecimal(1230, 2), "12.30");
  EXPECT_EQ(FormatDecimal(-5, 2), "-0.05");
  EXPECT_EQ(FormatDecimal(7, 0), "7");
  EXPECT_EQ(FormatDecimal(std::numeric_limits<int64_t>::min(), 19),
            "-0.9223372036854775808");
}

TEST(ValueCodecTest, TimestampsRoundTripInEveryUnit) {
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:01Z", TimeUnit::kSecond), 1);
  EXPECT_EQ(*ParseTimestamp("1970-01-01T00:00:01.5Z", TimeUnit::kMillisecond),
            1500);
  EXPECT_EQ(*ParseTimestamp("1970-01-01T01:00:00+01:00", TimeUnit::kSecond), 0);
  // Rounds toward negative infinity like Go's time.Unix*.
  EXPECT_EQ(*ParseTimestamp("1969-12-31T23:59:59.5Z", TimeUnit::kSecond), -1);
  EXPECT_EQ(FormatTimestamp(-1, TimeUnit::kMillisecond),
            "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatTimestamp(1500, TimeUnit::kMillisecond),
            "1970-01-01T00:00:01.5Z");
  EXPECT_EQ(FormatTimestamp(0, TimeUnit::kNanosecond), "1970-01-01T00:00:00Z");
  for (TimeUnit unit : {TimeUnit::kSecond, TimeUnit::kMillisecond,
                        TimeUnit::kMicrosecond, TimeUnit::kNanosecond}) {
    for (const char* t : {"2024-05-06T07:08:09Z", "1999-12-31T23:59:59Z",
                          "2262-04-11T00:00:00Z", "1678-01-01T00:00:00Z"}) {
      auto units = ParseTimestamp(t, unit);
      FB_ASSERT_OK(units) << t << " " << units.status();
      EXPECT_EQ(FormatTimestamp(*units, unit), t);
    }
    std::mt19937_64 rng(uint64_t(unit) + 1);
    for (int i = 0; i < 500; ++i) {
      const int64_t v =
          int64_t(rng()) >> (unit == TimeUnit::kNanosecond ? 0 : 30);
      auto back = ParseTimestamp(FormatTimestamp(v, unit), unit);
      if (unit == TimeUnit::kNanosecond) {
        FB_ASSERT_OK(back) << FormatTimestamp(v, unit);
      }
      if (back.ok()) {
        ASSERT_EQ(*back, v) << FormatTimestamp(v, unit);
      }
    }
  }
}

TEST(ValueCodecTest, EarlyYearsPrintWithFourDigitsAndRoundTrip) {
  EXPECT_EQ(FormatRfc3339(absl::FromCivil(absl::CivilSecond(50, 1, 1, 0, 0, 0),
                                          absl::UTCTimeZone())),
            "0050-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromCivil(absl::CivilSecond(1, 1, 1, 0, 0, 0),
                                          absl::UTCTimeZone())),
            "0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromCivil(absl::CivilSecond(0, 12, 31, 1, 2, 3),
                                          absl::UTCTimeZone()) +
                          absl::Milliseconds(250)),
            "0000-12-31T01:02:03.25Z");
  EXPECT_EQ(FormatRfc3339(absl::FromCivil(
                absl::CivilSecond(10000, 1, 1, 0, 0, 0), absl::UTCTimeZone())),
            "+10000-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::FromCivil(absl::CivilSecond(-1, 1, 1, 0, 0, 0),
                                          absl::UTCTimeZone())),
            "-0001-01-01T00:00:00Z");
  EXPECT_EQ(FormatRfc3339(absl::InfiniteFuture()), "infinite-future");
  for (TimeUnit unit :
       {TimeUnit::kSecond, TimeUnit::kMillisecond, TimeUnit::kMicrosecond}) {
    for (const char* t : {"0001-01-01T00:00:00Z", "0050-01-01T00:00:00Z",
                          "0999-12-31T23:59:59Z", "1000-01-01T00:00:00Z",
                          "9999-12-31T23:59:59Z", "0123-04-05T06:07:08Z"}) {
      auto units = ParseTimestamp(t, unit);
      FB_ASSERT_OK(units) << t << " " << units.status();
      EXPECT_EQ(FormatTimestamp(*units, unit), t);
    }
  }
}

TEST(ValueCodecTest, TimestampOverflowIsAnError) {
  EXPECT_EQ(ParseTimestamp("2263-01-01T00:00:00Z", TimeUnit::kNanosecond)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  EXPECT_EQ(ParseTimestamp("1677-01-01T00:00:00Z", TimeUnit::kNanosecond)
                .status()
                .code(),
            absl::StatusCode::kOutOfRange);
  FB_EXPECT_OK(ParseTimestamp("2263-01-01T00:00:00Z", TimeUnit::kMicrosecond));
  EXPECT_EQ(
      TimeToUnits(absl::InfiniteFuture(), TimeUnit::kSecond).status().code(),
      absl::StatusCode::kOutOfRange);
  for (const char* bad : {"", "2024-05-06", "2024-05-06 07:08:09Z",
                          "2024-13-01T00:00:00Z", "yesterday"}) {
    EXPECT_EQ(ParseTimestamp(bad, TimeUnit::kSecond).status().code(),
              absl::StatusCode::kInvalidArgument)
        << bad;
  }
  const int64_t max = std::numeric_limits<int64_t>::max();
  const int64_t min = std::numeric_limits<int64_t>::min();
  EXPECT_EQ(*ParseTimestamp(FormatTimestamp(max, TimeUnit::kNanosecond),
                            TimeUnit::kNanosecond),
            max);
  EXPECT_EQ(*ParseTimestamp(FormatTimestamp(min, TimeUnit::kNanosecond),
                            TimeUnit::kNanosecond),
            min);
}

TEST(ValueCodecTest, TimeUnits) {
  EXPECT_EQ(*ParseTimeUnit("s"), TimeUnit::kSecond);
  EXPECT_EQ(*ParseTimeUnit("ms"), TimeUnit::kMillisecond);
  EXPECT_EQ(*ParseTimeUnit("us"), TimeUnit::kMicrosecond);
  EXPECT_EQ(*ParseTimeUnit("\xC2\xB5s"), TimeUnit::kMicrosecond);
  EXPECT_EQ(*ParseTimeUnit("ns"), TimeUnit::kNanosecond);
  EXPECT_FALSE(ParseTimeUnit("m").ok());
}

}  // namespace
}  // namespace featurebase::internal
