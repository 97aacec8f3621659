// Value codecs of BSI fields: decimals scaled to a field's scale, and
// timestamps as integer units since the Unix epoch (RFC3339 text).
//
// All functions are pure and thread-safe. Arithmetic is exact: anything that
// does not fit the target integer is an error, never a wrap.
#ifndef FEATUREBASE_LIB_BSI_VALUE_CODEC_H_
#define FEATUREBASE_LIB_BSI_VALUE_CODEC_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "featurebase/field.h"

namespace featurebase::internal {

// Largest decimal scale (FeatureBase's limit): values are stored as
// value * 10^scale in an int64.
inline constexpr int kMaxDecimalScale = 19;

// Parses a plain decimal ("-12.34", "+7", ".5", "3.") at `scale`: returns
// value * 10^scale. InvalidArgument for malformed text, a scale outside
// [0, 19] or more fractional digits than `scale`; OutOfRange when the scaled
// value does not fit in an int64.
absl::StatusOr<int64_t> ParseDecimal(std::string_view text, int scale);

// As ParseDecimal, but into an __int128 (up to 38 significant digits), for
// predicates whose value may lie far outside any field's range.
absl::StatusOr<__int128> ParseDecimalWide(std::string_view text, int scale);

// Formats value / 10^scale with exactly `scale` fractional digits
// ("12.30" for (1230, 2), "-0.05" for (-5, 2), "7" for (7, 0)).
// Precondition: 0 <= scale <= 19.
std::string FormatDecimal(__int128 scaled, int scale);

// Units of a timestamp field.
// The public enum (featurebase/field.h) and its names.
using ::featurebase::ParseTimeUnit;
using ::featurebase::TimeUnit;
using ::featurebase::TimeUnitName;
// Units per second: 1, 10^3, 10^6, 10^9.
int64_t UnitsPerSecond(TimeUnit unit);

// `t` as whole units since 1970-01-01T00:00:00Z, rounded toward negative
// infinity (as Go's time.Unix*). OutOfRange if the result does not fit in an
// int64 or `t` is infinite.
absl::StatusOr<int64_t> TimeToUnits(absl::Time t, TimeUnit unit);
// The instant `units` after the Unix epoch. Exact for every int64.
absl::Time UnitsToTime(int64_t units, TimeUnit unit);

// Parses an RFC3339 timestamp ("2024-05-06T07:08:09.123Z", any offset) into
// units since the Unix epoch. InvalidArgument for malformed text; OutOfRange
// as TimeToUnits.
absl::StatusOr<int64_t> ParseTimestamp(std::string_view text, TimeUnit unit);
// Formats units since the Unix epoch as RFC3339 in UTC with the fractional
// second trimmed of trailing zeros (Go's time.RFC3339Nano):
// "2024-05-06T07:08:09.123Z".
std::string FormatTimestamp(int64_t units, TimeUnit unit);

// `t` as RFC3339 in UTC, shortest exact fraction (Go's time.RFC3339Nano):
// the year always has four digits ("0050-01-01T00:00:00Z"), so every time
// of years 0..9999 round-trips through ParseTimestamp. Years outside that
// range, which RFC3339 cannot express, print with as many digits as they
// need and a sign when negative (ISO 8601's expanded form), for messages;
// infinite times print "infinite-future" / "infinite-past".
std::string FormatRfc3339(absl::Time t);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BSI_VALUE_CODEC_H_
