#include "examples/fbc/time_layout.h"

#include <cstdint>
#include <string>

#include "examples/fbc/message.h"

namespace fbc {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's
// days_from_civil).
int64_t DaysFromCivil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = unsigned(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + int64_t(doe) - 719468;
}

bool IsLeap(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

unsigned DaysInMonth(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30,
                                       31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeap(y) ? 29 : kDays[m - 1];
}

// Reads `n` digits at s[*i].
bool Digits(std::string_view s, size_t* i, int n, unsigned* out) {
  if (*i + n > s.size()) return false;
  unsigned v = 0;
  for (int k = 0; k < n; ++k) {
    const char c = s[*i + k];
    if (c < '0' || c > '9') return false;
    v = v * 10 + unsigned(c - '0');
  }
  *i += n;
  *out = v;
  return true;
}

bool Expect(std::string_view s, size_t* i, char c) {
  if (*i >= s.size() || s[*i] != c) return false;
  ++*i;
  return true;
}

bool ParseDate(std::string_view s, size_t* i, int64_t* days) {
  unsigned y, m, d;
  if (!Digits(s, i, 4, &y) || !Expect(s, i, '-') || !Digits(s, i, 2, &m) ||
      !Expect(s, i, '-') || !Digits(s, i, 2, &d))
    return false;
  if (m < 1 || m > 12 || d < 1 || d > DaysInMonth(y, m)) return false;
  *days = DaysFromCivil(y, m, d);
  return true;
}

}  // namespace

bool ParseRfc3339(std::string_view s, absl::Time* out) {
  size_t i = 0;
  int64_t days;
  unsigned h, mi, sec;
  if (!ParseDate(s, &i, &days) || !Expect(s, &i, 'T') ||
      !Digits(s, &i, 2, &h) || !Expect(s, &i, ':') || !Digits(s, &i, 2, &mi) ||
      !Expect(s, &i, ':') || !Digits(s, &i, 2, &sec))
    return false;
  if (h > 23 || mi > 59 || sec > 59) return false;
  int64_t nanos = 0;
  if (i < s.size() && s[i] == '.') {
    ++i;
    int n = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (n < 9) nanos = nanos * 10 + (s[i] - '0');
      ++n;
      ++i;
    }
    if (n == 0) return false;
    for (int k = n; k < 9; ++k) nanos *= 10;
  }
  int64_t offset = 0;
  if (i < s.size() && s[i] == 'Z') {
    ++i;
  } else if (i < s.size() && (s[i] == '+' || s[i] == '-')) {
    const bool neg = s[i] == '-';
    ++i;
    unsigned oh, om;
    if (!Digits(s, &i, 2, &oh) || !Expect(s, &i, ':') ||
        !Digits(s, &i, 2, &om) || oh > 23 || om > 59)
      return false;
    offset = (int64_t(oh) * 60 + om) * 60 * (neg ? -1 : 1);
  } else {
    return false;
  }
  if (i != s.size()) return false;
  const int64_t secs = days * 86400 + int64_t(h) * 3600 + int64_t(mi) * 60 +
                       int64_t(sec) - offset;
  *out = absl::FromUnixSeconds(secs) + absl::Nanoseconds(nanos);
  return true;
}

featurebase::StatusOr<TimeLayout> TimeLayout::Parse(std::string_view layout) {
  TimeLayout t;
  t.layout_ = std::string(layout);
  if (layout == kRfc3339 || layout == kRfc3339Nano) {
    t.kind_ = Kind::kRfc3339;
    return t;
  }
  if (layout == "2006-01-02") {
    t.kind_ = Kind::kDate;
    return t;
  }
  // Go's layout elements, longest first where one is a prefix of another.
  static constexpr std::pair<std::string_view, std::string_view> kElems[] = {
      {"January", "%B"},
      {"Jan", "%b"},
      {"Monday", "%A"},
      {"Mon", "%a"},
      {"2006", "%Y"},
      {"Z07:00", "%Ez"},
      {"-07:00", "%Ez"},
      {"Z0700", "%z"},
      {"-0700", "%z"},
      {"05.000000000", "%E*S"},
      {"05.999999999", "%E*S"},
      {"05.000000", "%E*S"},
      {"05.999999", "%E*S"},
      {"05.000", "%E*S"},
      {"05.999", "%E*S"},
      {"01", "%m"},
      {"02", "%d"},
      {"03", "%I"},
      {"04", "%M"},
      {"05", "%S"},
      {"06", "%y"},
      {"15", "%H"},
      {"PM", "%p"},
      {"pm", "%p"},
      {"1", "%m"},
      {"2", "%d"},
      {"3", "%I"},
      {"4", "%M"},
      {"5", "%S"},
  };
  std::string fmt;
  size_t i = 0;
  while (i < layout.size()) {
    bool matched = false;
    for (const auto& [elem, spec] : kElems) {
      if (layout.substr(i, elem.size()) == elem) {
        fmt += spec;
        i += elem.size();
        matched = true;
        break;
      }
    }
    if (matched) continue;
    if (layout.substr(i, 3) == "MST" || layout.substr(i, 2) == "_2" ||
        layout.substr(i, 3) == "002") {
      return absl::InvalidArgumentError(
          "time layout " + Excerpt(layout) + ": element at character " +
          std::to_string(i + 1) + " is not supported");
    }
    if (layout[i] == '%') fmt += '%';
    fmt += layout[i++];
  }
  t.kind_ = Kind::kAbsl;
  t.absl_format_ = std::move(fmt);
  return t;
}

featurebase::StatusOr<absl::Time> TimeLayout::ParseTime(
    std::string_view text) const {
  absl::Time t;
  switch (kind_) {
    case Kind::kRfc3339:
      if (ParseRfc3339(text, &t)) return t;
      break;
    case Kind::kDate: {
      size_t i = 0;
      int64_t days;
      if (ParseDate(text, &i, &days) && i == text.size())
        return absl::FromUnixSeconds(days * 86400);
      break;
    }
    case Kind::kAbsl: {
      std::string err;
      if (absl::ParseTime(absl_format_, std::string(text), absl::UTCTimeZone(),
                          &t, &err))
        return t;
      break;
    }
  }
  return absl::InvalidArgumentError(Excerpt(text) + " does not match layout " +
                                    layout_);
}

featurebase::StatusOr<absl::Duration> ParseUnit(std::string_view unit) {
  std::string u(unit);
  for (char& c : u)
    if (c >= 'A' && c <= 'Z') c = char(c - 'A' + 'a');
  if (u == "d") return absl::Hours(24);
  if (u == "h") return absl::Hours(1);
  if (u == "m") return absl::Minutes(1);
  if (u == "s" || u.empty()) return absl::Seconds(1);
  if (u == "ms") return absl::Milliseconds(1);
  if (u == "us") return absl::Microseconds(1);
  if (u == "ns") return absl::Nanoseconds(1);
  return absl::InvalidArgumentError("unknown unit " + Excerpt(unit) +
                                    ", please choose from d/h/m/s/ms/us/ns");
}

}  // namespace fbc
