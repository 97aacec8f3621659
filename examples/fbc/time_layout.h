// Time parsing with Go reference layouts ("2006-01-02T15:04:05Z07:00"), the
// way FeatureBase's ingest kit spells them in CSV headers. RFC 3339 (with or
// without fractional seconds) and plain dates have hand-written fast paths;
// other layouts are translated to absl::ParseTime formats.
//
// Immutable after Parse; thread-safe.
#ifndef FBC_TIME_LAYOUT_H_
#define FBC_TIME_LAYOUT_H_

#include <string>
#include <string_view>

#include "absl/time/time.h"
#include "featurebase/status.h"

namespace fbc {

inline constexpr std::string_view kRfc3339 = "2006-01-02T15:04:05Z07:00";
inline constexpr std::string_view kRfc3339Nano =
    "2006-01-02T15:04:05.999999999Z07:00";

class TimeLayout {
 public:
  // RFC 3339.
  TimeLayout() = default;
  // InvalidArgument naming the element for layouts with elements absl
  // cannot parse (zone abbreviations such as MST, "_2").
  static featurebase::StatusOr<TimeLayout> Parse(std::string_view layout);

  // Parses `text` (UTC unless it carries an offset). InvalidArgument:
  // `"x" does not match layout 2006-01-02`.
  featurebase::StatusOr<absl::Time> ParseTime(std::string_view text) const;

  const std::string& layout() const { return layout_; }

 private:
  enum class Kind { kRfc3339, kDate, kAbsl };
  Kind kind_ = Kind::kRfc3339;
  std::string layout_{kRfc3339};
  std::string absl_format_;
};

// Parses "YYYY-MM-DDTHH:MM:SS[.fraction](Z|+hh:mm|-hh:mm)"; false otherwise.
bool ParseRfc3339(std::string_view s, absl::Time* out);

// A Go-style unit: "d", "h", "m", "s", "ms", "us", "ns" (case-insensitive).
// InvalidArgument `unknown unit "x", please choose from d/h/m/s/ms/us/ns`.
featurebase::StatusOr<absl::Duration> ParseUnit(std::string_view unit);

}  // namespace fbc

#endif  // FBC_TIME_LAYOUT_H_
