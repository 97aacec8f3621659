// Time-quantum views: naming, keys, and FeatureBase's choice of views for a
// timestamp (viewsByTime) and for a [from, to) range (viewsByTimeRange).
//
// Views of a field are kept in a PersistentMap keyed by a 64-bit view key:
// 0 = "standard", 1 = "existence", and for time views
// (digits << 40) | number, where digits is 4, 6, 8 or 10 and number the
// UTC date as YYYY, YYYYMM, YYYYMMDD or YYYYMMDDHH. Keys therefore sort by
// granularity, then by time.
#ifndef FEATUREBASE_LIB_CORE_TIME_VIEWS_H_
#define FEATUREBASE_LIB_CORE_TIME_VIEWS_H_

#include <cstdint>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "absl/time/civil_time.h"
#include "absl/time/time.h"
#include "featurebase/field.h"

namespace featurebase::internal {

inline constexpr uint64_t kStandardView = 0;
inline constexpr uint64_t kExistenceView = 1;

inline bool IsTimeView(uint64_t key) { return key >= (uint64_t{4} << 40); }
inline int TimeViewDigits(uint64_t key) { return int(key >> 40); }

// "standard", "existence", or "standard_" + the zero-padded date digits.
std::string ViewName(uint64_t key);

// The time view of `unit` ('Y', 'M', 'D', 'H') containing civil time t.
uint64_t TimeViewKey(char unit, absl::CivilSecond t);

// First second of a time view, and the first second after it.
absl::CivilSecond TimeViewStart(uint64_t key);
absl::CivilSecond TimeViewEnd(uint64_t key);

// The UTC civil time of `t`, or InvalidArgument when its year is outside
// 1..9999 (the years a 4-digit view name can hold).
absl::StatusOr<absl::CivilSecond> ToCivil(absl::Time t);

// Whether ToCivil(t) succeeds, without converting: 0001-01-01T00:00:00Z <=
// t < 10000-01-01T00:00:00Z.
inline bool HasCivilYear(absl::Time t) {
  return t >= absl::FromUnixSeconds(-62135596800) &&
         t < absl::FromUnixSeconds(253402300800);
}

// One view per unit of `q` for time `t` (FeatureBase's viewsByTime).
std::vector<uint64_t> ViewsForTime(const TimeQuantum& q, absl::CivilSecond t);

// The views covering [start, end) exactly as FeatureBase's viewsByTimeRange
// picks them: finer units up to the first boundary of a coarser unit, then
// the coarsest units that fit, then finer ones down to the end.
std::vector<uint64_t> ViewsByTimeRange(const TimeQuantum& q,
                                       absl::CivilSecond start,
                                       absl::CivilSecond end);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_TIME_VIEWS_H_
