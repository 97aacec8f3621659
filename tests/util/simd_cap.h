// Caps the bitmap kernels' instruction set for the object's lifetime (0
// scalar, 1 AVX2, 2 AVX-512; the CPU's own level still applies), so tests
// can run every kernel variant on one machine.
#ifndef FEATUREBASE_TESTS_UTIL_SIMD_CAP_H_
#define FEATUREBASE_TESTS_UTIL_SIMD_CAP_H_

#include "lib/bitmap/roaring32.h"

namespace featurebase::testing {

class SimdCap {
 public:
  explicit SimdCap(int level)
      : previous_(internal::Roaring32::CapSimdForTesting(level)) {}
  ~SimdCap() { internal::Roaring32::CapSimdForTesting(previous_); }
  SimdCap(const SimdCap&) = delete;
  SimdCap& operator=(const SimdCap&) = delete;

 private:
  int previous_;
};

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_UTIL_SIMD_CAP_H_
