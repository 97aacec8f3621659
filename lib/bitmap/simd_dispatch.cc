#include "lib/bitmap/simd_dispatch.h"

#include <algorithm>
#include <atomic>

#include "lib/bitmap/roaring32.h"
#include "lib/bitmap/roaring_kernels_internal.h"

namespace featurebase::internal {
namespace {

Simd DetectSimd() {
#if defined(__x86_64__)
  __builtin_cpu_init();
  if (__builtin_cpu_supports("avx512f") &&
      __builtin_cpu_supports("avx512vpopcntdq")) {
    return Simd::kAvx512;
  }
  if (__builtin_cpu_supports("avx2")) return Simd::kAvx2;
#endif
  return Simd::kScalar;
}

std::atomic<int> simd_cap{int(Simd::kAvx512)};

}  // namespace

Simd CurrentSimd() {
  static const Simd detected = DetectSimd();
  return Simd(
      std::min(int(detected), simd_cap.load(std::memory_order_relaxed)));
}

int SetSimdCap(int level) { return simd_cap.exchange(level); }

int Roaring32::CapSimdForTesting(int level) {
#ifdef FB_ROARING_CONTAINER_KERNELS
  return SetSimdCap(level);
#else
  return level;
#endif
}

}  // namespace featurebase::internal
