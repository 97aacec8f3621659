// FeatureBase v3's executePercentile written out plainly over sorted
// values: the model that the BSI percentile search and the executor's
// Percentile() are checked against.
#ifndef FEATUREBASE_TESTS_UTIL_PERCENTILE_MODEL_H_
#define FEATUREBASE_TESTS_UTIL_PERCENTILE_MODEL_H_

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <vector>

namespace featurebase::testing {

// `sorted` must be non-empty and ascending; 0 <= nth <= 100.
inline int64_t BrutePercentile(const std::vector<int64_t>& sorted, double nth) {
  int64_t min = sorted.front(), max = sorted.back();
  if (nth == 0) return min;
  const double k = (100 - nth) / nth;
  while (min < max) {
    const int64_t mid = ((max / 2) + (min / 2)) + (((max % 2) + (min % 2)) / 2);
    const int64_t left =
        std::lower_bound(sorted.begin(), sorted.end(), mid) - sorted.begin();
    const int64_t right =
        sorted.end() - std::upper_bound(sorted.begin(), sorted.end(), mid);
    const int64_t lw = int64_t(std::round(k * double(left)));
    if (lw > right) {
      max = mid - 1;
    } else if (lw < right) {
      min = mid + 1;
    } else {
      return mid;
    }
  }
  return min;
}

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_UTIL_PERCENTILE_MODEL_H_
