#include "lib/core/time_views.h"

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/bsi/value_codec.h"

namespace featurebase::internal {
namespace {

using absl::CivilSecond;

// Go's time.AddDate: add to the fields, then normalize (Jan 31 + 1 month is
// March 2 or 3), which absl's civil-time constructor does the same way.
CivilSecond AddDate(CivilSecond t, int y, int m, int d) {
  return CivilSecond(t.year() + y, t.month() + m, t.day() + d, t.hour(),
                     t.minute(), t.second());
}

// FeatureBase's addMonth: late days first snap to the 1st (and minute 0).
CivilSecond AddMonth(CivilSecond t) {
  if (t.day() > 28) t = CivilSecond(t.year(), t.month(), 1, t.hour(), 0, 0);
  return AddDate(t, 0, 1, 0);
}

bool NextYearGTE(CivilSecond t, CivilSecond end) {
  const CivilSecond next = AddDate(t, 1, 0, 0);
  if (next.year() == end.year()) return true;
  return end > next;
}

bool NextMonthGTE(CivilSecond t, CivilSecond end) {
  const CivilSecond next = AddDate(t, 0, 1, 0);
  if (next.year() == end.year() && next.month() == end.month()) return true;
  return end > next;
}

bool NextDayGTE(CivilSecond t, CivilSecond end) {
  const CivilSecond next = AddDate(t, 0, 0, 1);
  if (next.year() == end.year() && next.month() == end.month() &&
      next.day() == end.day()) {
    return true;
  }
  return end > next;
}

}  // namespace

uint64_t TimeViewKey(char unit, CivilSecond t) {
  const uint64_t y = uint64_t(t.year()), m = uint64_t(t.month()),
                 d = uint64_t(t.day()), h = uint64_t(t.hour());
  switch (unit) {
    case 'Y':
      return (uint64_t{4} << 40) | y;
    case 'M':
      return (uint64_t{6} << 40) | (y * 100 + m);
    case 'D':
      return (uint64_t{8} << 40) | (y * 10000 + m * 100 + d);
    default:
      return (uint64_t{10} << 40) | (y * 1000000 + m * 10000 + d * 100 + h);
  }
}

std::string ViewName(uint64_t key) {
  if (key == kStandardView) return "standard";
  if (key == kExistenceView) return "existence";
  const int digits = TimeViewDigits(key);
  const uint64_t number = key & ((uint64_t{1} << 40) - 1);
  return fmt::format("standard_{:0{}}", number, digits);
}

CivilSecond TimeViewStart(uint64_t key) {
  const uint64_t n = key & ((uint64_t{1} << 40) - 1);
  switch (TimeViewDigits(key)) {
    case 4:
      return CivilSecond(int64_t(n), 1, 1);
    case 6:
      return CivilSecond(int64_t(n / 100), int(n % 100), 1);
    case 8:
      return CivilSecond(int64_t(n / 10000), int(n / 100 % 100), int(n % 100));
    default:
      return CivilSecond(int64_t(n / 1000000), int(n / 10000 % 100),
                         int(n / 100 % 100), int(n % 100));
  }
}

CivilSecond TimeViewEnd(uint64_t key) {
  const CivilSecond s = TimeViewStart(key);
  switch (TimeViewDigits(key)) {
    case 4:
      return AddDate(s, 1, 0, 0);
    case 6:
      return AddMonth(s);
    case 8:
      return AddDate(s, 0, 0, 1);
    default:
      return s + 3600;
  }
}

namespace {

// UTC civil time by arithmetic (days-from-civil inverted, proleptic
// Gregorian), for times within years 1..9999. absl::ToCivilSecond goes
// through cctz's general time-zone lookup, which is 5-7% of CSV ingest CPU
// (every record's time is converted once to validate and once to pick its
// views); this is the same answer without the lookup, checked against absl
// in time_views_test.
CivilSecond UtcCivil(int64_t secs) {
  int64_t days = secs / 86400;
  int64_t rem = secs % 86400;
  if (rem < 0) {
    rem += 86400;
    --days;
  }
  const int64_t z = days + 719468;  // days since 0000-03-01
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const int64_t mp = (5 * doy + 2) / 153;
  const int64_t d = doy - (153 * mp + 2) / 5 + 1;
  const int64_t m = mp < 10 ? mp + 3 : mp - 9;
  const int64_t y = yoe + era * 400 + (m <= 2);
  return CivilSecond(y, int(m), int(d), int(rem / 3600), int(rem / 60 % 60),
                     int(rem % 60));
}

}  // namespace

absl::StatusOr<CivilSecond> ToCivil(absl::Time t) {
  if (HasCivilYear(t)) {
    // Floor to whole seconds, as ToCivilSecond does.
    return UtcCivil(absl::ToUnixSeconds(t));
  }
  const CivilSecond c = absl::ToCivilSecond(t, absl::UTCTimeZone());
  if (c.year() < 1 || c.year() > 9999) {
    return absl::InvalidArgumentError(
        fmt::format("timestamp {} outside years 1..9999", FormatRfc3339(t)));
  }
  return c;
}

std::vector<uint64_t> ViewsForTime(const TimeQuantum& q, CivilSecond t) {
  std::vector<uint64_t> out;
  if (q.year) out.push_back(TimeViewKey('Y', t));
  if (q.month) out.push_back(TimeViewKey('M', t));
  if (q.day) out.push_back(TimeViewKey('D', t));
  if (q.hour) out.push_back(TimeViewKey('H', t));
  return out;
}

std::vector<uint64_t> ViewsByTimeRange(const TimeQuantum& q, CivilSecond start,
                                       CivilSecond end) {
  std::vector<uint64_t> out;
  CivilSecond t = start;
  // Walk up from the smallest units to the largest.
  if (q.hour || q.day || q.month) {
    while (t < end) {
      if (q.hour) {
        if (!NextDayGTE(t, end)) break;
        if (t.hour() != 0) {
          out.push_back(TimeViewKey('H', t));
          t += 3600;
          continue;
        }
      }
      if (q.day) {
        if (!NextMonthGTE(t, end)) break;
        if (t.day() != 1) {
          out.push_back(TimeViewKey('D', t));
          t = AddDate(t, 0, 0, 1);
          continue;
        }
      }
      if (q.month) {
        if (!NextYearGTE(t, end)) break;
        if (t.month() != 1) {
          out.push_back(TimeViewKey('M', t));
          t = AddMonth(t);
          continue;
        }
      }
      break;  // no larger unit available: no more progress this way
    }
  }
  // Walk back down from the largest units to the smallest.
  while (t < end) {
    if (q.year && NextYearGTE(t, end)) {
      out.push_back(TimeViewKey('Y', t));
      t = AddDate(t, 1, 0, 0);
    } else if (q.month && NextMonthGTE(t, end)) {
      out.push_back(TimeViewKey('M', t));
      t = AddMonth(t);
    } else if (q.day && NextDayGTE(t, end)) {
      out.push_back(TimeViewKey('D', t));
      t = AddDate(t, 0, 0, 1);
    } else if (q.hour) {
      out.push_back(TimeViewKey('H', t));
      t += 3600;
    } else {
      break;
    }
  }
  return out;
}

}  // namespace featurebase::internal
