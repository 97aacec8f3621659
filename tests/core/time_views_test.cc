// FeatureBase's own expectations for view selection (time_internal_test.go:
// TestViewsByTime, TestViewsByTimeRange, TestTimeOfView), as data.
#include "lib/core/time_views.h"

#include <gtest/gtest.h>

#include <random>
#include <string>
#include <vector>

#include "absl/strings/str_format.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

absl::CivilSecond T(int y, int mo, int d, int h = 0) {
  return absl::CivilSecond(y, mo, d, h);
}

std::vector<std::string> Names(const std::vector<uint64_t>& keys) {
  std::vector<std::string> out;
  for (uint64_t k : keys)
    out.push_back(ViewName(k).substr(std::string("standard_").size()));
  return out;
}

TimeQuantum Q(std::string_view s) { return *TimeQuantum::Parse(s); }

TEST(TimeViewsTest, ViewsByTime) {
  EXPECT_EQ(
      Names(ViewsForTime(Q("YMDH"), absl::CivilSecond(2000, 1, 2, 3, 4, 5))),
      (std::vector<std::string>{"2000", "200001", "20000102", "2000010203"}));
  EXPECT_EQ(Names(ViewsForTime(Q("D"), absl::CivilSecond(2000, 1, 2, 3, 4, 5))),
            (std::vector<std::string>{"20000102"}));
  EXPECT_EQ(ViewName(TimeViewKey('Y', T(999, 1, 1))), "standard_0999");
}

struct RangeCase {
  const char* quantum;
  absl::CivilSecond from, to;
  std::vector<std::string> want;
};

TEST(TimeViewsTest, ViewsByTimeRangeMatchesFeatureBase) {
  const std::vector<RangeCase> cases = {
      {"Y", T(2000, 1, 1), T(2002, 1, 1), {"2000", "2001"}},
      {"YM",
       T(2000, 11, 1),
       T(2003, 3, 1),
       {"200011", "200012", "2001", "2002", "200301", "200302"}},
      {"YM",
       T(2001, 10, 31),
       T(2003, 4, 1),
       {"200110", "200111", "200112", "2002", "200301", "200302", "200303"}},
      {"YMD",
       T(2000, 11, 28),
       T(2003, 3, 2),
       {"20001128", "20001129", "20001130", "200012", "2001", "2002", "200301",
        "200302", "20030301"}},
      {"YMDH",
       T(2000, 11, 28, 22),
       T(2002, 3, 1, 3),
       {"2000112822", "2000112823", "20001129", "20001130", "200012", "2001",
        "200201", "200202", "2002030100", "2002030101", "2002030102"}},
      {"M", T(2000, 1, 1), T(2000, 3, 1), {"200001", "200002"}},
      {"MD",
       T(2000, 11, 29),
       T(2002, 2, 3),
       {"20001129", "20001130", "200012", "200101", "200102", "200103",
        "200104", "200105", "200106", "200107", "200108", "200109", "200110",
        "200111", "200112", "200201", "20020201", "20020202"}},
      {"MDH",
       T(2000, 11, 29, 22),
       T(2002, 3, 2, 3),
       {"2000112922", "2000112923", "20001130", "200012",   "200101",
        "200102",     "200103",     "200104",   "200105",   "200106",
        "200107",     "200108",     "200109",   "200110",   "200111",
        "200112",     "200201",     "200202",   "20020301", "2002030200",
        "2002030201", "2002030202"}},
      {"D", T(2000, 1, 1), T(2000, 1, 4), {"20000101", "20000102", "20000103"}},
      {"H", T(2000, 1, 1), T(2000, 1, 1, 2), {"2000010100", "2000010101"}},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.quantum);
    EXPECT_EQ(Names(ViewsByTimeRange(Q(c.quantum), c.from, c.to)), c.want);
  }
  // DH: two hours, the days of January and February, then two hours.
  std::vector<std::string> dh = {"2000010122", "2000010123"};
  for (int d = 2; d <= 31; ++d) dh.push_back(absl::StrFormat("200001%02d", d));
  for (int d = 1; d <= 29; ++d) dh.push_back(absl::StrFormat("200002%02d", d));
  dh.push_back("2000030100");
  dh.push_back("2000030101");
  EXPECT_EQ(
      Names(ViewsByTimeRange(Q("DH"), T(2000, 1, 1, 22), T(2000, 3, 1, 2))),
      dh);
}

TEST(TimeViewsTest, ViewBoundsMatchTimeOfView) {
  EXPECT_EQ(TimeViewStart(TimeViewKey('Y', T(2019, 5, 5))), T(2019, 1, 1));
  EXPECT_EQ(TimeViewEnd(TimeViewKey('Y', T(2019, 5, 5))), T(2020, 1, 1));
  EXPECT_EQ(TimeViewEnd(TimeViewKey('M', T(2019, 2, 5))), T(2019, 3, 1));
  EXPECT_EQ(TimeViewEnd(TimeViewKey('D', T(2019, 2, 3))), T(2019, 2, 4));
  EXPECT_EQ(TimeViewEnd(TimeViewKey('H', T(2019, 2, 3, 8))), T(2019, 2, 3, 9));
}

TEST(TimeViewsTest, QuantumParsing) {
  for (const char* ok :
       {"Y", "YM", "YMD", "YMDH", "M", "MD", "MDH", "D", "DH", "H"}) {
    auto q = TimeQuantum::Parse(ok);
    FB_ASSERT_OK(q) << ok;
    EXPECT_EQ(q->ToString(), ok);
  }
  for (const char* bad : {"", "YD", "HY", "X", "ymd", "YMDHH"}) {
    auto q = TimeQuantum::Parse(bad);
    ASSERT_FALSE(q.ok()) << bad;
    EXPECT_EQ(q.status().code(), absl::StatusCode::kInvalidArgument);
  }
}

TEST(TimeViewsTest, YearsOutsideFourDigitsAreRejected) {
  EXPECT_FALSE(ToCivil(absl::FromCivil(absl::CivilSecond(10000, 1, 1),
                                       absl::UTCTimeZone()))
                   .ok());
  EXPECT_FALSE(ToCivil(absl::FromCivil(absl::CivilSecond(0, 12, 31),
                                       absl::UTCTimeZone()))
                   .ok());
  FB_EXPECT_OK(ToCivil(
      absl::FromCivil(absl::CivilSecond(9999, 12, 31), absl::UTCTimeZone())));
}

}  // namespace
// ToCivil computes UTC dates by arithmetic; it must agree with absl's
// time-zone path everywhere in years 1..9999, fractional seconds included,
// and reject the rest.
TEST(TimeViewsTest, ToCivilMatchesAbslAcrossYears1To9999) {
  std::mt19937_64 rng(20261122);
  const int64_t lo = -62135596800, hi = 253402300800;  // year 1, year 10000
  std::vector<absl::Time> times = {
      absl::FromUnixSeconds(lo),
      absl::FromUnixSeconds(hi - 1),
      absl::FromUnixSeconds(0),
      absl::FromUnixSeconds(-1),
      absl::FromUnixSeconds(0) - absl::Nanoseconds(1),
      absl::FromUnixSeconds(951782400),    // 2000-02-29
      absl::FromUnixSeconds(4107542400)};  // 2100-03-01
  for (int i = 0; i < 200000; ++i) {
    times.push_back(
        absl::FromUnixSeconds(lo + int64_t(rng() % uint64_t(hi - lo))) +
        absl::Nanoseconds(int64_t(rng() % 1000000000)));
  }
  for (absl::Time t : times) {
    auto got = ToCivil(t);
    FB_ASSERT_OK(got) << absl::FormatTime(t);
    ASSERT_EQ(*got, absl::ToCivilSecond(t, absl::UTCTimeZone()))
        << absl::FormatTime(t);
  }
  EXPECT_FALSE(ToCivil(absl::FromUnixSeconds(lo) - absl::Nanoseconds(1)).ok());
  EXPECT_FALSE(ToCivil(absl::FromUnixSeconds(hi)).ok());
}

}  // namespace featurebase::internal
