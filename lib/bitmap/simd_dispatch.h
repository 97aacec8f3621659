// CPU dispatch for the fused kernels (fused_kernels.cc): which instruction
// set they may use, and for each word-level body the choice between its
// scalar, AVX2 and AVX-512 versions, in one place.
//
// The bodies are written once per level in fused_kernels.cc, each AVX one
// compiled for its own target (the rest of the library is built for the
// baseline x86-64), and chosen at run time: the CPU's level is detected
// once, and tests can cap it (Roaring32::CapSimdForTesting) to run every
// version on one machine. The choosers are inline so that a kernel's scalar
// path stays inlined into it; a target-specific body is never inlined into
// baseline code anyway.
#ifndef FEATUREBASE_LIB_BITMAP_SIMD_DISPATCH_H_
#define FEATUREBASE_LIB_BITMAP_SIMD_DISPATCH_H_

#include <cstddef>
#include <cstdint>

namespace featurebase::internal {

enum class Simd { kScalar, kAvx2, kAvx512 };

// The instruction set the kernels use: the CPU's, capped for tests.
// Thread-safe; a kernel reads it once per call.
Simd CurrentSimd();

// Caps CurrentSimd() at `level` (an int(Simd)); returns the previous cap.
int SetSimdCap(int level);

// ---- Per-level bodies (defined in fused_kernels.cc).

// out[j] += |f[j] ∩ row| over 1024 words, for j < F.
template <int F>
void AndCountScalar(const uint64_t* const* f, const uint64_t* row,
                    uint64_t* out);
// Set bits in words [0, n) of `w`.
uint64_t PopcountScalar(const uint64_t* w, size_t n);
// out = a & b (a & ~b if `invert`) over 1024 words; returns |out|.
uint64_t AndStoreScalar(const uint64_t* a, const uint64_t* b, bool invert,
                        uint64_t* out);

#if defined(__x86_64__)
template <int F>
__attribute__((target("avx2"))) void AndCountAvx2(const uint64_t* const* f,
                                                  const uint64_t* row,
                                                  uint64_t* out);
__attribute__((target("avx2"))) uint64_t PopcountAvx2(const uint64_t* w,
                                                      size_t n);
__attribute__((target("avx2"))) uint64_t AndStoreAvx2(const uint64_t* a,
                                                      const uint64_t* b,
                                                      bool invert,
                                                      uint64_t* out);

template <int F>
__attribute__((target("avx512f,avx512vl,avx512vpopcntdq"))) void AndCountAvx512(
    const uint64_t* const* f, const uint64_t* row, uint64_t* out);
__attribute__((target("avx512f,avx512vpopcntdq"))) uint64_t PopcountAvx512(
    const uint64_t* w, size_t n);
__attribute__((target("avx512f,avx512vpopcntdq"))) uint64_t AndStoreAvx512(
    const uint64_t* a, const uint64_t* b, bool invert, uint64_t* out);
#endif

// ---- The choice per level.

template <int F>
inline void AndCountF(Simd simd, const uint64_t* const* f, const uint64_t* row,
                      uint64_t* out) {
#if defined(__x86_64__)
  if (simd == Simd::kAvx512) return AndCountAvx512<F>(f, row, out);
  if (simd == Simd::kAvx2) return AndCountAvx2<F>(f, row, out);
#endif
  AndCountScalar<F>(f, row, out);
}

// Up to this many filter containers (32 KiB, in L1) are counted against a
// row container in one pass over it.
inline constexpr int kFilterStep = 4;

// out[j] += |f[j] ∩ row| for j < n <= kFilterStep, all bitsets.
inline void AndCountBitsets(Simd simd, const uint64_t* const* f, int n,
                            const uint64_t* row, uint64_t* out) {
  static_assert(kFilterStep == 4);
  switch (n) {
    case 1:
      return AndCountF<1>(simd, f, row, out);
    case 2:
      return AndCountF<2>(simd, f, row, out);
    case 3:
      return AndCountF<3>(simd, f, row, out);
    case 4:
      return AndCountF<4>(simd, f, row, out);
  }
}

// Set bits in words [0, n) of `w`.
inline uint64_t PopcountWords(Simd simd, const uint64_t* w, size_t n) {
#if defined(__x86_64__)
  if (simd == Simd::kAvx512) return PopcountAvx512(w, n);
  if (simd == Simd::kAvx2) return PopcountAvx2(w, n);
#endif
  return PopcountScalar(w, n);
}

// out = a & b (a & ~b if `invert`) over 1024 words; returns |out|.
inline uint64_t AndStore(Simd simd, const uint64_t* a, const uint64_t* b,
                         bool invert, uint64_t* out) {
#if defined(__x86_64__)
  if (simd == Simd::kAvx512) return AndStoreAvx512(a, b, invert, out);
  if (simd == Simd::kAvx2) return AndStoreAvx2(a, b, invert, out);
#endif
  return AndStoreScalar(a, b, invert, out);
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_BITMAP_SIMD_DISPATCH_H_
