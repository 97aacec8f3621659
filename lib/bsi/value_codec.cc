#include "lib/bsi/value_codec.h"

#include <iterator>
#include <string>

#include "absl/status/status.h"
#include "fmt/format.h"

namespace featurebase {
namespace internal {
namespace {

using int128 = __int128;
using uint128 = unsigned __int128;

constexpr int128 kInt64Min = INT64_MIN;
constexpr int128 kInt64Max = INT64_MAX;

uint128 Pow10(int n) {
  uint128 p = 1;
  for (int i = 0; i < n; ++i) p *= 10;
  return p;
}

std::string U128ToString(uint128 v) {
  char buf[48];
  int n = 0;
  do {
    buf[n++] = char('0' + int(v % 10));
    v /= 10;
  } while (v != 0);
  std::string s(buf, n);
  return std::string(s.rbegin(), s.rend());
}

// Parses `text` as a decimal at `scale` into a sign and a magnitude below
// `limit` (an exclusive bound on the magnitude of the scaled value).
absl::StatusOr<int128> ParseScaled(std::string_view text, int scale,
                                   uint128 pos_limit, uint128 neg_limit,
                                   std::string_view what) {
  if (scale < 0 || scale > kMaxDecimalScale) {
    return absl::InvalidArgumentError(fmt::format(
        "parse decimal: scale {} outside [0, {}]", scale, kMaxDecimalScale));
  }
  const std::string_view orig = text;
  bool negative = false;
  if (!text.empty() && (text[0] == '-' || text[0] == '+')) {
    negative = text[0] == '-';
    text.remove_prefix(1);
  }
  uint128 mag = 0;
  int digits = 0, frac_digits = 0;
  bool seen_point = false, too_big = false;
  // 10^38 < 2^127: any magnitude below it fits an __int128 with room to spare.
  const uint128 kCap = Pow10(38);
  for (char c : text) {
    if (c == '.') {
      if (seen_point) {
        return absl::InvalidArgumentError(fmt::format(
            "parse decimal: \"{}\" has more than one decimal point", orig));
      }
      seen_point = true;
      continue;
    }
    if (c < '0' || c > '9') {
      return absl::InvalidArgumentError(
          fmt::format("parse decimal: \"{}\" is not a decimal number", orig));
    }
    ++digits;
    if (seen_point) ++frac_digits;
    if (frac_digits > scale) {
      return absl::InvalidArgumentError(fmt::format(
          "parse decimal: \"{}\" has more than {} fractional digits", orig,
          scale));
    }
    if (!too_big) {
      mag = mag * 10 + uint128(c - '0');
      if (mag >= kCap) too_big = true;
    }
  }
  if (digits == 0) {
    return absl::InvalidArgumentError(
        fmt::format("parse decimal: \"{}\" is not a decimal number", orig));
  }
  if (!too_big) {
    const uint128 factor = Pow10(scale - frac_digits);
    if (mag != 0 && factor > (kCap - 1) / mag) {
      too_big = true;
    } else {
      mag *= factor;
    }
  }
  if (too_big || mag > (negative ? neg_limit : pos_limit)) {
    return absl::OutOfRangeError(
        fmt::format("parse decimal: \"{}\" does not fit {} at scale {}", orig,
                    what, scale));
  }
  return negative ? -int128(mag) : int128(mag);
}

}  // namespace

absl::StatusOr<int64_t> ParseDecimal(std::string_view text, int scale) {
  auto v = ParseScaled(text, scale, uint128(INT64_MAX), uint128(INT64_MAX) + 1,
                       "in an int64");
  if (!v.ok()) return v.status();
  return int64_t(*v);
}

absl::StatusOr<__int128> ParseDecimalWide(std::string_view text, int scale) {
  const uint128 limit = Pow10(38) - 1;
  return ParseScaled(text, scale, limit, limit, "in 38 digits");
}

std::string FormatDecimal(__int128 scaled, int scale) {
  const bool negative = scaled < 0;
  const uint128 mag = negative ? uint128(0) - uint128(scaled) : uint128(scaled);
  std::string out = negative ? "-" : "";
  if (scale <= 0) return out + U128ToString(mag);
  const uint128 p = Pow10(scale);
  std::string frac = U128ToString(mag % p);
  out += U128ToString(mag / p);
  out += '.';
  out.append(size_t(scale) - frac.size(), '0');
  out += frac;
  return out;
}

}  // namespace internal

absl::StatusOr<TimeUnit> ParseTimeUnit(std::string_view name) {
  if (name == "s") return TimeUnit::kSecond;
  if (name == "ms") return TimeUnit::kMillisecond;
  if (name == "us" || name == "\xC2\xB5s") return TimeUnit::kMicrosecond;
  if (name == "ns") return TimeUnit::kNanosecond;
  return absl::InvalidArgumentError(
      fmt::format("time unit: \"{}\" is not one of s, ms, us, ns", name));
}

std::string_view TimeUnitName(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond:
      return "s";
    case TimeUnit::kMillisecond:
      return "ms";
    case TimeUnit::kMicrosecond:
      return "us";
    case TimeUnit::kNanosecond:
      return "ns";
  }
  return "?";
}

namespace internal {

int64_t UnitsPerSecond(TimeUnit unit) {
  switch (unit) {
    case TimeUnit::kSecond:
      return 1;
    case TimeUnit::kMillisecond:
      return 1000;
    case TimeUnit::kMicrosecond:
      return 1000000;
    case TimeUnit::kNanosecond:
      return 1000000000;
  }
  return 1;
}

absl::StatusOr<int64_t> TimeToUnits(absl::Time t, TimeUnit unit) {
  if (t == absl::InfiniteFuture() || t == absl::InfinitePast()) {
    return absl::OutOfRangeError("timestamp: infinite time has no units");
  }
  // ToUnixSeconds rounds toward negative infinity, so the remainder lies in
  // [0s, 1s) and the split is exact.
  const int64_t secs = absl::ToUnixSeconds(t);
  const int64_t nanos =
      absl::ToInt64Nanoseconds(t - absl::FromUnixSeconds(secs));
  const int64_t per_sec = UnitsPerSecond(unit);
  const int128 units =
      int128(secs) * per_sec + nanos / (int64_t{1000000000} / per_sec);
  if (units < kInt64Min || units > kInt64Max) {
    return absl::OutOfRangeError(
        fmt::format("timestamp: {} is outside the int64 range of unit {}",
                    FormatRfc3339(t), TimeUnitName(unit)));
  }
  return int64_t(units);
}

absl::Time UnitsToTime(int64_t units, TimeUnit unit) {
  const int64_t per_sec = UnitsPerSecond(unit);
  int64_t secs = units / per_sec;
  int64_t rem = units % per_sec;
  if (rem < 0) {
    rem += per_sec;
    --secs;
  }
  return absl::FromUnixSeconds(secs) +
         absl::Nanoseconds(rem * (int64_t{1000000000} / per_sec));
}

absl::StatusOr<int64_t> ParseTimestamp(std::string_view text, TimeUnit unit) {
  absl::Time t;
  std::string err;
  if (!absl::ParseTime(absl::RFC3339_full,
                       absl::string_view(text.data(), text.size()), &t, &err)) {
    return absl::InvalidArgumentError(
        fmt::format("parse timestamp: \"{}\" is not RFC3339 ({})", text, err));
  }
  return TimeToUnits(t, unit);
}

std::string FormatTimestamp(int64_t units, TimeUnit unit) {
  return FormatRfc3339(UnitsToTime(units, unit));
}

std::string FormatRfc3339(absl::Time t) {
  if (t == absl::InfiniteFuture()) return "infinite-future";
  if (t == absl::InfinitePast()) return "infinite-past";
  const absl::TimeZone utc = absl::UTCTimeZone();
  const absl::CivilSecond cs = absl::ToCivilSecond(t, utc);
  // absl's %Y prints the year without padding ("50-01-01"), which is not
  // RFC3339; the fields are formatted here instead.
  const int64_t year = cs.year();
  std::string out =
      year >= 0 && year <= 9999
          ? fmt::format("{:04}", year)
          : fmt::format("{}{:04}", year < 0 ? "-" : "+",
                        year < 0 ? -uint64_t(year) : uint64_t(year));
  fmt::format_to(std::back_inserter(out), "-{:02}-{:02}T{:02}:{:02}:{:02}",
                 cs.month(), cs.day(), cs.hour(), cs.minute(), cs.second());
  const int64_t nanos = absl::ToInt64Nanoseconds(t - absl::FromCivil(cs, utc));
  if (nanos > 0) {
    std::string frac = fmt::format("{:09}", nanos);
    while (frac.back() == '0') frac.pop_back();
    out += '.';
    out += frac;
  }
  out += 'Z';
  return out;
}

}  // namespace internal
}  // namespace featurebase
