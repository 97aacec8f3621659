// The fused kernels: Roaring32::AndCardinalityMatrix and
// Roaring32::SliceExtreme, which walk CRoaring's containers key by key and
// count or narrow them in L1-sized steps without materializing anything, and
// the word-level bodies they run per instruction set (chosen in
// simd_dispatch.h).
#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <memory>
#include <utility>
#include <vector>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "lib/bitmap/roaring32.h"
#include "lib/bitmap/roaring_kernels_internal.h"
#include "lib/bitmap/simd_dispatch.h"

namespace featurebase::internal {

#ifdef FB_ROARING_CONTAINER_KERNELS

// ---- Per-level word bodies (declared in simd_dispatch.h).

// out[j] += |f[j] ∩ row| over 1024 words, for j < F.
template <int F>
void AndCountScalar(const uint64_t* const* f, const uint64_t* row,
                    uint64_t* out) {
  uint64_t n[F] = {};
  for (int i = 0; i < kBitsetWords; ++i) {
    const uint64_t r = row[i];
    for (int j = 0; j < F; ++j) n[j] += std::popcount(f[j][i] & r);
  }
  for (int j = 0; j < F; ++j) out[j] += n[j];
}

uint64_t PopcountScalar(const uint64_t* w, size_t n) {
  uint64_t c = 0;
  for (size_t i = 0; i < n; ++i) c += std::popcount(w[i]);
  return c;
}

#if defined(__x86_64__)
namespace {

__attribute__((target("avx2"))) inline __m256i PopcountBytes(__m256i v) {
  const __m256i lookup =
      _mm256_setr_epi8(0, 1, 1, 2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4, 0, 1, 1,
                       2, 1, 2, 2, 3, 1, 2, 2, 3, 2, 3, 3, 4);
  const __m256i low = _mm256_set1_epi8(0x0f);
  const __m256i lo = _mm256_and_si256(v, low);
  const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
  return _mm256_add_epi8(_mm256_shuffle_epi8(lookup, lo),
                         _mm256_shuffle_epi8(lookup, hi));
}

__attribute__((target("avx2"))) inline uint64_t SumLanes(__m256i v) {
  return uint64_t(_mm256_extract_epi64(v, 0)) +
         uint64_t(_mm256_extract_epi64(v, 1)) +
         uint64_t(_mm256_extract_epi64(v, 2)) +
         uint64_t(_mm256_extract_epi64(v, 3));
}

}  // namespace

// Mula's nibble-lookup popcount; byte counts stay <= 32 over 4 vectors.
template <int F>
__attribute__((target("avx2"))) void AndCountAvx2(const uint64_t* const* f,
                                                  const uint64_t* row,
                                                  uint64_t* out) {
  __m256i total[F];
  for (int j = 0; j < F; ++j) total[j] = _mm256_setzero_si256();
  for (int i = 0; i < kBitsetWords; i += 16) {
    __m256i c[F];
    for (int j = 0; j < F; ++j) c[j] = _mm256_setzero_si256();
    for (int k = 0; k < 16; k += 4) {
      const __m256i rv =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i + k));
      for (int j = 0; j < F; ++j) {
        const __m256i fv =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f[j] + i + k));
        c[j] = _mm256_add_epi8(c[j], PopcountBytes(_mm256_and_si256(fv, rv)));
      }
    }
    for (int j = 0; j < F; ++j) {
      total[j] = _mm256_add_epi64(
          total[j], _mm256_sad_epu8(c[j], _mm256_setzero_si256()));
    }
  }
  for (int j = 0; j < F; ++j) out[j] += SumLanes(total[j]);
}

__attribute__((target("avx2"))) uint64_t PopcountAvx2(const uint64_t* w,
                                                      size_t n) {
  __m256i total = _mm256_setzero_si256();
  size_t i = 0;
  for (; i + 16 <= n; i += 16) {
    __m256i c = _mm256_setzero_si256();
    for (size_t k = 0; k < 16; k += 4) {
      c = _mm256_add_epi8(c, PopcountBytes(_mm256_loadu_si256(
                                 reinterpret_cast<const __m256i*>(w + i + k))));
    }
    total = _mm256_add_epi64(total, _mm256_sad_epu8(c, _mm256_setzero_si256()));
  }
  return SumLanes(total) + PopcountScalar(w + i, n - i);
}

// AVX-512 VPOPCNTDQ (Ice Lake, Zen 4 and later) on 256-bit vectors: over
// bsi_bench's packed planes on Zen 4 (which splits 512-bit operations in
// two), 512-bit loads streamed ~15% slower from memory than 256-bit ones
// doing the same work. Two accumulators per filter so the adds do not
// serialize.
template <int F>
__attribute__((target("avx512f,avx512vl,avx512vpopcntdq"))) void AndCountAvx512(
    const uint64_t* const* f, const uint64_t* row, uint64_t* out) {
  __m256i t0[F], t1[F];
  for (int j = 0; j < F; ++j) t0[j] = t1[j] = _mm256_setzero_si256();
  for (int i = 0; i < kBitsetWords; i += 8) {
    const __m256i r0 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i));
    const __m256i r1 =
        _mm256_loadu_si256(reinterpret_cast<const __m256i*>(row + i + 4));
    for (int j = 0; j < F; ++j) {
      t0[j] = _mm256_add_epi64(
          t0[j],
          _mm256_popcnt_epi64(_mm256_and_si256(
              _mm256_loadu_si256(reinterpret_cast<const __m256i*>(f[j] + i)),
              r0)));
      t1[j] = _mm256_add_epi64(
          t1[j], _mm256_popcnt_epi64(_mm256_and_si256(
                     _mm256_loadu_si256(
                         reinterpret_cast<const __m256i*>(f[j] + i + 4)),
                     r1)));
    }
  }
  alignas(32) uint64_t lanes[4];
  for (int j = 0; j < F; ++j) {
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes),
                       _mm256_add_epi64(t0[j], t1[j]));
    for (uint64_t lane : lanes) out[j] += lane;
  }
}

__attribute__((target("avx512f,avx512vpopcntdq"))) uint64_t PopcountAvx512(
    const uint64_t* w, size_t n) {
  __m512i total = _mm512_setzero_si512();
  size_t i = 0;
  for (; i + 8 <= n; i += 8) {
    total =
        _mm512_add_epi64(total, _mm512_popcnt_epi64(_mm512_loadu_si512(w + i)));
  }
  if (i < n) {
    const __mmask8 tail = __mmask8((1u << (n - i)) - 1);
    total = _mm512_add_epi64(
        total, _mm512_popcnt_epi64(_mm512_maskz_loadu_epi64(tail, w + i)));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, total);
  uint64_t c = 0;
  for (uint64_t lane : lanes) c += lane;
  return c;
}
#endif

// out = a & b (a & ~b if `invert`) over 1024 words; returns |out|.
uint64_t AndStoreScalar(const uint64_t* a, const uint64_t* b, bool invert,
                        uint64_t* out) {
  const uint64_t flip = invert ? ~uint64_t{0} : 0;
  uint64_t n = 0;
  for (int i = 0; i < kBitsetWords; ++i) {
    out[i] = a[i] & (b[i] ^ flip);
    n += std::popcount(out[i]);
  }
  return n;
}

#if defined(__x86_64__)
__attribute__((target("avx2"))) uint64_t AndStoreAvx2(const uint64_t* a,
                                                      const uint64_t* b,
                                                      bool invert,
                                                      uint64_t* out) {
  const __m256i flip = invert ? _mm256_set1_epi8(-1) : _mm256_setzero_si256();
  __m256i total = _mm256_setzero_si256();
  for (int i = 0; i < kBitsetWords; i += 16) {
    __m256i c = _mm256_setzero_si256();
    for (int k = 0; k < 16; k += 4) {
      const __m256i av =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(a + i + k));
      const __m256i bv =
          _mm256_loadu_si256(reinterpret_cast<const __m256i*>(b + i + k));
      const __m256i v = _mm256_and_si256(av, _mm256_xor_si256(bv, flip));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + i + k), v);
      c = _mm256_add_epi8(c, PopcountBytes(v));
    }
    total = _mm256_add_epi64(total, _mm256_sad_epu8(c, _mm256_setzero_si256()));
  }
  return SumLanes(total);
}

__attribute__((target("avx512f,avx512vpopcntdq"))) uint64_t AndStoreAvx512(
    const uint64_t* a, const uint64_t* b, bool invert, uint64_t* out) {
  const __m512i flip = _mm512_set1_epi64(invert ? -1 : 0);
  __m512i t0 = _mm512_setzero_si512(), t1 = t0;
  for (int i = 0; i < kBitsetWords; i += 16) {
    const __m512i v0 =
        _mm512_and_si512(_mm512_loadu_si512(a + i),
                         _mm512_xor_si512(_mm512_loadu_si512(b + i), flip));
    const __m512i v1 =
        _mm512_and_si512(_mm512_loadu_si512(a + i + 8),
                         _mm512_xor_si512(_mm512_loadu_si512(b + i + 8), flip));
    _mm512_storeu_si512(out + i, v0);
    _mm512_storeu_si512(out + i + 8, v1);
    t0 = _mm512_add_epi64(t0, _mm512_popcnt_epi64(v0));
    t1 = _mm512_add_epi64(t1, _mm512_popcnt_epi64(v1));
  }
  alignas(64) uint64_t lanes[8];
  _mm512_store_si512(lanes, _mm512_add_epi64(t0, t1));
  uint64_t n = 0;
  for (uint64_t lane : lanes) n += lane;
  return n;
}
#endif

template void AndCountScalar<1>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
template void AndCountScalar<2>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
template void AndCountScalar<3>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
template void AndCountScalar<4>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
#if defined(__x86_64__)
template void AndCountAvx2<1>(const uint64_t* const*, const uint64_t*,
                              uint64_t*);
template void AndCountAvx2<2>(const uint64_t* const*, const uint64_t*,
                              uint64_t*);
template void AndCountAvx2<3>(const uint64_t* const*, const uint64_t*,
                              uint64_t*);
template void AndCountAvx2<4>(const uint64_t* const*, const uint64_t*,
                              uint64_t*);
template void AndCountAvx512<1>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
template void AndCountAvx512<2>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
template void AndCountAvx512<3>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
template void AndCountAvx512<4>(const uint64_t* const*, const uint64_t*,
                                uint64_t*);
#endif

// ---- Container helpers shared by the two kernels.

namespace {

// Below this many values, an array filter container probes a bitset row
// container (touching at most that many cache lines) instead of AND-ing all
// 1024 words against its materialized bitset.
constexpr int32_t kProbeBelow = 512;

// One container, with CRoaring's shared (copy-on-write) wrapper removed.
struct Block {
  uint8_t type = 0;  // 0: absent, else a CRoaring typecode
  const void* c = nullptr;
};

Block BlockAt(const uint8_t* typecodes, void* const* containers, int32_t i) {
  uint8_t type = typecodes[i];
  const void* c = container_unwrap_shared(containers[i], &type);
  return {type, c};
}
Block BlockAt(const roaring_array_t& ra, int32_t i) {
  return BlockAt(ra.typecodes, ra.containers, i);
}

// A filter container as a 2^16-bit bitset, plus its values when it is an
// array (for probing).
struct FilterBlock {
  const uint64_t* bits = nullptr;  // null: the filter has no such container
  const uint16_t* values = nullptr;
  int32_t n = 0;
  int32_t card = -1;  // the container's cardinality when known, else -1

  bool Probes() const { return values != nullptr && n < kProbeBelow; }
};

// Sets bits [lo, hi] (inclusive) of `w`.
void SetRangeBits(uint64_t* w, uint32_t lo, uint32_t hi) {
  const uint32_t a = lo >> 6, b = hi >> 6;
  const uint64_t first = ~uint64_t{0} << (lo & 63);
  const uint64_t last = ~uint64_t{0} >> (63 - (hi & 63));
  if (a == b) {
    w[a] |= first & last;
    return;
  }
  w[a] |= first;
  for (uint32_t i = a + 1; i < b; ++i) w[i] = ~uint64_t{0};
  w[b] |= last;
}

// Filter container `b` as a bitset: in place for bitsets, else written into
// `scratch` (1024 words).
FilterBlock MakeFilterBlock(Block b, uint64_t* scratch) {
  FilterBlock f;
  switch (b.type) {
    case BITSET_CONTAINER_TYPE_CODE: {
      const auto* bs = static_cast<const bitset_container_t*>(b.c);
      f.bits = bs->array;
      f.card = bs->cardinality;  // -1 (unknown) only inside lazy CRoaring ops
      return f;
    }
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(b.c);
      f.card = a->cardinality;
      std::memset(scratch, 0, kBitsetWords * sizeof(uint64_t));
      for (int32_t i = 0; i < a->cardinality; ++i) {
        scratch[a->array[i] >> 6] |= uint64_t{1} << (a->array[i] & 63);
      }
      f.bits = scratch;
      f.values = a->array;
      f.n = a->cardinality;
      return f;
    }
    case RUN_CONTAINER_TYPE_CODE: {
      const auto* r = static_cast<const run_container_t*>(b.c);
      std::memset(scratch, 0, kBitsetWords * sizeof(uint64_t));
      for (int32_t i = 0; i < r->n_runs; ++i) {
        SetRangeBits(scratch, r->runs[i].value,
                     uint32_t(r->runs[i].value) + r->runs[i].length);
      }
      f.bits = scratch;
      return f;
    }
  }
  return f;
}

uint64_t ProbeCount(const uint16_t* values, int32_t n, const uint64_t* bits) {
  uint64_t count = 0;
  for (int32_t i = 0; i < n; ++i) {
    count += (bits[values[i] >> 6] >> (values[i] & 63)) & 1;
  }
  return count;
}

// Prefetches slice `i` of `n` equal slices of the `bytes` bytes at `p` (null:
// nothing), whole cache lines.
inline void PrefetchSlice(const char* p, size_t bytes, size_t i, size_t n) {
  if (p == nullptr) return;
  const size_t step = (bytes / n + 63) & ~size_t{63};
  for (size_t b = i * step; b < (i + 1) * step && b < bytes; b += 64) {
    __builtin_prefetch(p + b);
  }
}

// A run of bitset containers laid end to end (a key's planes in a
// PackedRoaring32), each counted against one filter container: out[c] +=
// |f ∩ container c| for c < n. Container c also prefetches slice
// `slice + c` of `slices` of `pf` (the next key's filter container, so
// that its first row does not read it from memory alongside its own
// stream). Together with gather's cursors (AndCardinalityMatrix), this took
// bsi_bench's filtered Sum from 1.34-1.41x to 1.23-1.29x the read floor in
// alternating runs.
struct Chain {
  const uint64_t* f;
  const uint64_t* words;
  size_t n;
  uint64_t* out;
  const char* pf;
  size_t pf_bytes;
  size_t slice;
  size_t slices;
};

void AndCountChain(Simd simd, const Chain& c) {
  const uint64_t* w = c.words;
  for (size_t i = 0; i < c.n; ++i, w += kBitsetWords) {
    PrefetchSlice(c.pf, c.pf_bytes, c.slice + i, c.slices);
    AndCountF<1>(simd, &c.f, w, c.out + i);
  }
}

// Number of set bits of `w` in [lo, hi] (inclusive).
uint64_t CountRangeBits(Simd simd, const uint64_t* w, uint32_t lo,
                        uint32_t hi) {
  const uint32_t a = lo >> 6, b = hi >> 6;
  const uint64_t first = ~uint64_t{0} << (lo & 63);
  const uint64_t last = ~uint64_t{0} >> (63 - (hi & 63));
  if (a == b) return std::popcount(w[a] & first & last);
  return std::popcount(w[a] & first) + std::popcount(w[b] & last) +
         PopcountWords(simd, w + a + 1, b - a - 1);
}

// Prefetches the first cache lines of a container's values.
void PrefetchStart(Block b) {
  constexpr int kLines = 4;
  const char* p = nullptr;
  switch (b.type) {
    case BITSET_CONTAINER_TYPE_CODE:
      p = reinterpret_cast<const char*>(
          static_cast<const bitset_container_t*>(b.c)->array);
      break;
    case ARRAY_CONTAINER_TYPE_CODE:
      p = reinterpret_cast<const char*>(
          static_cast<const array_container_t*>(b.c)->array);
      break;
    case RUN_CONTAINER_TYPE_CODE:
      p = reinterpret_cast<const char*>(
          static_cast<const run_container_t*>(b.c)->runs);
      break;
  }
  if (p == nullptr) return;
  for (int i = 0; i < kLines; ++i) __builtin_prefetch(p + 64 * i);
}

// Whether container `b`'s words start right where bitset `a`'s end.
bool Continues(Block a, Block b) {
  return a.type == BITSET_CONTAINER_TYPE_CODE &&
         b.type == BITSET_CONTAINER_TYPE_CODE &&
         static_cast<const bitset_container_t*>(b.c)->array ==
             static_cast<const bitset_container_t*>(a.c)->array + kBitsetWords;
}

// |filter ∩ row| for one container.
uint64_t CountBlock(Simd simd, const FilterBlock& f, Block row) {
  switch (row.type) {
    case BITSET_CONTAINER_TYPE_CODE: {
      const uint64_t* bits =
          static_cast<const bitset_container_t*>(row.c)->array;
      if (f.Probes()) return ProbeCount(f.values, f.n, bits);
      uint64_t n = 0;
      AndCountBitsets(simd, &f.bits, 1, bits, &n);
      return n;
    }
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(row.c);
      return ProbeCount(a->array, a->cardinality, f.bits);
    }
    case RUN_CONTAINER_TYPE_CODE: {
      const auto* r = static_cast<const run_container_t*>(row.c);
      // A full container (a dense BSI's exists row, or a plane every value
      // has) holds the whole filter container.
      if (f.card >= 0 && r->n_runs == 1 && r->runs[0].value == 0 &&
          r->runs[0].length == 0xFFFF) {
        return uint64_t(f.card);
      }
      uint64_t n = 0;
      for (int32_t i = 0; i < r->n_runs; ++i) {
        n += CountRangeBits(simd, f.bits, r->runs[i].value,
                            uint32_t(r->runs[i].value) + r->runs[i].length);
      }
      return n;
    }
  }
  return 0;
}

// ---- SliceExtreme: the candidate set of one container, narrowed slice by
// slice.

// Below this many candidates a container's candidates are kept as a list of
// values, each probed in the slice containers (touching at most that many
// cache lines of each), instead of a bitset AND-ed with every slice word.
constexpr int32_t kSparseBelow = 128;

// Container `b` as 1024 words: the bitset itself, or written into
// `scratch`; all zeros when absent.
const uint64_t* BitsOf(Block b, uint64_t* scratch) {
  if (b.type == BITSET_CONTAINER_TYPE_CODE) {
    return static_cast<const bitset_container_t*>(b.c)->array;
  }
  if (b.type == 0) {
    std::memset(scratch, 0, kBitsetWords * sizeof(uint64_t));
    return scratch;
  }
  return MakeFilterBlock(b, scratch).bits;
}

// The container for `key` in `ra`, advancing *pos past smaller keys; type 0
// when absent.
Block Seek(const roaring_array_t& ra, int32_t* pos, uint16_t key) {
  int32_t& p = *pos;
  while (p < ra.size && ra.keys[p] < key) ++p;
  if (p < ra.size && ra.keys[p] == key) return BlockAt(ra, p);
  return Block{};
}

// Splits sorted `vals` by membership in container `b` into `ones` and
// `zeros` (both sorted); returns |ones|.
int32_t SplitValues(const uint16_t* vals, int32_t n, Block b, uint16_t* ones,
                    uint16_t* zeros) {
  int32_t n1 = 0, n0 = 0;
  switch (b.type) {
    case BITSET_CONTAINER_TYPE_CODE: {
      const uint64_t* w = static_cast<const bitset_container_t*>(b.c)->array;
      for (int32_t i = 0; i < n; ++i) {
        if ((w[vals[i] >> 6] >> (vals[i] & 63)) & 1) {
          ones[n1++] = vals[i];
        } else {
          zeros[n0++] = vals[i];
        }
      }
      return n1;
    }
    case ARRAY_CONTAINER_TYPE_CODE: {
      const auto* a = static_cast<const array_container_t*>(b.c);
      const uint16_t* x = a->array;
      const uint16_t* end = x + a->cardinality;
      for (int32_t i = 0; i < n; ++i) {
        x = std::lower_bound(x, end, vals[i]);
        if (x != end && *x == vals[i]) {
          ones[n1++] = vals[i];
        } else {
          zeros[n0++] = vals[i];
        }
      }
      return n1;
    }
    case RUN_CONTAINER_TYPE_CODE: {
      const auto* r = static_cast<const run_container_t*>(b.c);
      int32_t k = 0;
      for (int32_t i = 0; i < n; ++i) {
        while (k < r->n_runs &&
               uint32_t(r->runs[k].value) + r->runs[k].length < vals[i]) {
          ++k;
        }
        if (k < r->n_runs && r->runs[k].value <= vals[i]) {
          ones[n1++] = vals[i];
        } else {
          zeros[n0++] = vals[i];
        }
      }
      return n1;
    }
  }
  std::copy(vals, vals + n, zeros);
  return 0;
}

}  // namespace

#endif  // FB_ROARING_CONTAINER_KERNELS

void Roaring32::AndCardinalityMatrix(std::span<const Roaring32* const> filters,
                                     std::span<const Roaring32* const> rows,
                                     std::span<uint64_t> out) {
  const size_t nf = filters.size(), nr = rows.size();
  assert(out.size() >= nf * nr);
  std::fill(out.begin(), out.begin() + nf * nr, uint64_t{0});
  if (nf == 0 || nr == 0) return;
#ifdef FB_ROARING_CONTAINER_KERNELS
  // Key by key: the filters' containers for the key are made bitsets (in
  // L1), then the rows' containers for the key stream through them one
  // after another, each read once from start to end (rows built block by
  // block, by BsiShard::Apply, lie in memory in this order). On the Zen 4
  // bench machine, over containers whose pages are physically contiguous,
  // one stream at a time reached ~1.25x the single-stream read floor where
  // eight rows in lock-step stayed at ~1.5x; over bsi_bench's containers
  // (physically scattered pages, ~1.3-1.5x either way) the two measured the
  // same within the machine's noise.
  //
  // CRoaring allocates each container's header apart from its values, so
  // the next key's containers are looked up, and their headers prefetched,
  // while the current key's stream: found one at a time, each would stall
  // the stream for a full memory latency.
  struct alignas(64) Words {
    uint64_t w[kBitsetWords];
  };
  struct KeyWork {
    std::vector<std::pair<size_t, Block>> filters;  // (filter, container)
    std::vector<std::pair<size_t, Block>> rows;     // (row, container)
  };
  const Simd simd = CurrentSimd();
  auto scratch = std::make_unique<Words[]>(nf);
  std::vector<FilterBlock> fb(nf);
  std::vector<size_t> dense, probing;
  std::vector<uint64_t> chain_counts(nr);
  // Each bitmap's arrays, read once here: gather then reads keys, typecodes
  // and container pointers straight from them, every row's independent of
  // the others', instead of through the Roaring32 and its roaring_bitmap_t
  // for every row and key (a chain of four loads that the key's stream
  // evicts from L1 each time). The arrays are prefetched the same way.
  struct Cursor {
    const uint16_t* keys;
    const uint8_t* types;
    void* const* containers;
    int32_t size;
    int32_t pos;
  };
  auto cursor = [](const Roaring32* b) {
    const roaring_array_t& ra = R(b->r_)->high_low_container;
    __builtin_prefetch(ra.keys);
    __builtin_prefetch(ra.typecodes);
    __builtin_prefetch(ra.containers);
    // A shard's row has at most 16 containers: two lines of pointers.
    if (ra.size > 8) __builtin_prefetch(ra.containers + 8);
    return Cursor{ra.keys, ra.typecodes, ra.containers, ra.size, 0};
  };
  for (const Roaring32* f : filters) __builtin_prefetch(R(f->r_));
  for (const Roaring32* r : rows) __builtin_prefetch(R(r->r_));
  std::vector<Cursor> fc(nf), rc(nr);
  for (size_t f = 0; f < nf; ++f) fc[f] = cursor(filters[f]);
  for (size_t j = 0; j < nr; ++j) rc[j] = cursor(rows[j]);
  auto block_at = [](const Cursor& c) {
    const Block b = BlockAt(c.types, c.containers, c.pos);
    __builtin_prefetch(b.c);
    return b;
  };
  // Fills *w for the next key any filter holds; false when there is none.
  auto gather = [&](KeyWork* w) {
    int32_t key = -1;
    for (const Cursor& c : fc) {
      if (c.pos < c.size && (key < 0 || c.keys[c.pos] < key)) {
        key = c.keys[c.pos];
      }
    }
    if (key < 0) return false;
    w->filters.clear();
    w->rows.clear();
    for (size_t f = 0; f < nf; ++f) {
      Cursor& c = fc[f];
      if (c.pos < c.size && c.keys[c.pos] == key) {
        w->filters.push_back({f, block_at(c)});
        ++c.pos;
      }
    }
    for (size_t j = 0; j < nr; ++j) {
      Cursor& c = rc[j];
      while (c.pos < c.size && c.keys[c.pos] < key) ++c.pos;
      if (c.pos < c.size && c.keys[c.pos] == key) {
        w->rows.push_back({j, block_at(c)});
      }
    }
    return true;
  };
  KeyWork cur, next;
  for (bool more = gather(&cur); more; std::swap(cur, next)) {
    more = gather(&next);
    // A run container's runs are one more allocation behind its header
    // (which the previous round's gather prefetched).
    for (const auto& [j, b] : cur.rows) {
      if (b.type == RUN_CONTAINER_TYPE_CODE) {
        __builtin_prefetch(static_cast<const run_container_t*>(b.c)->runs);
      }
    }
    if (cur.rows.empty()) continue;
    dense.clear();
    probing.clear();
    for (const auto& [f, b] : cur.filters) {
      fb[f] = MakeFilterBlock(b, scratch[f].w);
      (fb[f].Probes() ? probing : dense).push_back(f);
    }
    // The start of the container after cur.rows[h], so the stream does not
    // wait at the jump (the hardware prefetcher takes over from there). Not
    // when it continues this one (packed rows, PackedRoaring32): the stream
    // is already on it, and hits planted at the start of its pages measured
    // slower than none.
    auto prefetch_following = [&](size_t h) {
      const Block* following = nullptr;
      if (h + 1 < cur.rows.size()) {
        following = &cur.rows[h + 1].second;
      } else if (more && !next.rows.empty()) {
        following = &next.rows[0].second;
      }
      if (following != nullptr && !Continues(cur.rows[h].second, *following)) {
        PrefetchStart(*following);
      }
    };
    // One dense filter (a Sum's, or a Sum's over non-negative values): the
    // rows' bitsets go in runs of containers laid end to end, while the next
    // key's filter container is prefetched a slice per container.
    const bool chains = dense.size() == 1 && probing.empty();
    const char* next_filter = nullptr;
    if (chains && more && next.filters.size() == 1 &&
        next.filters[0].second.type == BITSET_CONTAINER_TYPE_CODE) {
      next_filter = reinterpret_cast<const char*>(
          static_cast<const bitset_container_t*>(next.filters[0].second.c)
              ->array);
    }
    for (size_t h = 0; h < cur.rows.size(); ++h) {
      const auto [j, rb] = cur.rows[h];
      if (chains && rb.type == BITSET_CONTAINER_TYPE_CODE) {
        size_t e = h + 1;
        while (e < cur.rows.size() &&
               Continues(cur.rows[e - 1].second, cur.rows[e].second)) {
          ++e;
        }
        prefetch_following(e - 1);
        std::fill(chain_counts.begin(), chain_counts.begin() + (e - h), 0);
        AndCountChain(
            simd,
            Chain{fb[dense[0]].bits,
                  static_cast<const bitset_container_t*>(rb.c)->array, e - h,
                  chain_counts.data(), next_filter,
                  next_filter != nullptr ? kBitsetWords * sizeof(uint64_t) : 0,
                  h, cur.rows.size()});
        for (size_t c = h; c < e; ++c) {
          out[dense[0] * nr + cur.rows[c].first] += chain_counts[c - h];
        }
        h = e - 1;
        continue;
      }
      prefetch_following(h);
      if (rb.type != BITSET_CONTAINER_TYPE_CODE) {
        for (const auto& [f, b] : cur.filters) {
          out[f * nr + j] += CountBlock(simd, fb[f], rb);
        }
        continue;
      }
      const uint64_t* bits =
          static_cast<const bitset_container_t*>(rb.c)->array;
      for (size_t f : probing) {
        out[f * nr + j] += ProbeCount(fb[f].values, fb[f].n, bits);
      }
      for (size_t d0 = 0; d0 < dense.size(); d0 += kFilterStep) {
        const int n = int(std::min<size_t>(kFilterStep, dense.size() - d0));
        const uint64_t* fbits[kFilterStep];
        uint64_t counts[kFilterStep] = {};
        for (int k = 0; k < n; ++k) fbits[k] = fb[dense[d0 + k]].bits;
        AndCountBitsets(simd, fbits, n, bits, counts);
        for (int k = 0; k < n; ++k) out[dense[d0 + k] * nr + j] += counts[k];
      }
    }
  }
#else
  for (size_t f = 0; f < nf; ++f) {
    for (size_t r = 0; r < nr; ++r) {
      out[f * nr + r] =
          roaring_bitmap_and_cardinality(R(filters[f]->r_), R(rows[r]->r_));
    }
  }
#endif
}

Roaring32::Extreme Roaring32::SliceExtreme(
    std::span<const Roaring32* const> include,
    std::span<const Roaring32* const> exclude,
    std::span<const Roaring32* const> slices, bool want_max) {
  assert(!include.empty() && slices.size() <= 64);
  Extreme best;
  const int d = int(slices.size());
#ifdef FB_ROARING_CONTAINER_KERNELS
  // Container by container (the extreme of the whole set is the extreme of
  // the containers' extremes): the container's candidates are built in L1,
  // then each slice's container for the key, from the top, either narrows
  // them or (none or all candidates have the bit) leaves them. Dense
  // candidates are narrowed by one pass over the slice's words, sparse ones
  // probe it value by value. A container whose leading bits fall behind the
  // best found so far stops there.
  struct alignas(64) Words {
    uint64_t w[kBitsetWords];
  };
  const Simd simd = CurrentSimd();
  auto words = std::make_unique<Words[]>(3);
  uint64_t* cand = words[0].w;
  uint64_t* next = words[1].w;
  uint64_t* mat = words[2].w;
  std::vector<uint16_t> vals(kSparseBelow), ones(kSparseBelow),
      zeros(kSparseBelow);
  std::vector<int32_t> ipos(include.size(), 0), epos(exclude.size(), 0),
      spos(slices.size(), 0);
  std::vector<Block> sb(slices.size());
  bool have_best = false;
  const roaring_array_t& lead = R(include[0]->r_)->high_low_container;
  for (int32_t li = 0; li < lead.size; ++li) {
    const uint16_t key = lead.keys[li];
    // The candidates: include[0] ∩ include[1..] − exclude.
    std::memcpy(cand, BitsOf(BlockAt(lead, li), mat),
                kBitsetWords * sizeof(uint64_t));
    uint64_t n = 1;  // not yet counted
    for (size_t k = 1; k < include.size() && n != 0; ++k) {
      const Block b =
          Seek(R(include[k]->r_)->high_low_container, &ipos[k], key);
      if (b.type == 0) {
        n = 0;
        break;
      }
      n = AndStore(simd, cand, BitsOf(b, mat), false, cand);
    }
    for (size_t k = 0; k < exclude.size() && n != 0; ++k) {
      const Block b =
          Seek(R(exclude[k]->r_)->high_low_container, &epos[k], key);
      if (b.type != 0) n = AndStore(simd, cand, BitsOf(b, mat), true, cand);
    }
    if (n == 0) continue;
    n = PopcountWords(simd, cand, kBitsetWords);
    if (n == 0) continue;
    for (int i = 0; i < d; ++i) {
      sb[i] = Seek(R(slices[i]->r_)->high_low_container, &spos[i], key);
      if (sb[i].type != 0) __builtin_prefetch(sb[i].c);
    }
    uint64_t value = 0;
    bool tied = have_best, behind = false;
    int32_t nv = -1;  // candidates as values once sparse, else -1
    for (int i = d - 1; i >= 0; --i) {
      if (nv < 0 && n < uint64_t(kSparseBelow)) {
        nv = 0;
        for (int w = 0; w < kBitsetWords; ++w) {
          for (uint64_t x = cand[w]; x != 0; x &= x - 1) {
            vals[nv++] = uint16_t(w * 64 + std::countr_zero(x));
          }
        }
      }
      // The bit this container's extreme has at slice i; the candidates
      // keep only the columns with that bit.
      bool bit;
      if (nv >= 0) {
        const int32_t n1 =
            SplitValues(vals.data(), nv, sb[i], ones.data(), zeros.data());
        const int32_t n0 = nv - n1;
        bit = want_max ? n1 > 0 : n0 == 0;
        if (bit && n0 > 0) {
          std::copy(ones.begin(), ones.begin() + n1, vals.begin());
          nv = n1;
        } else if (!bit && n1 > 0) {
          std::copy(zeros.begin(), zeros.begin() + n0, vals.begin());
          nv = n0;
        }
        n = uint64_t(nv);
      } else if (sb[i].type == 0) {
        bit = false;  // no candidate has it
      } else {
        const uint64_t* sbits = BitsOf(sb[i], mat);
        // Max keeps the ones unless there are none; Min keeps the zeros
        // unless there are none.
        const uint64_t kept = AndStore(simd, cand, sbits, !want_max, next);
        if (kept == 0) {
          bit = !want_max;
        } else {
          bit = want_max;
          if (kept != n) {
            std::swap(cand, next);
            n = kept;
          }
        }
      }
      if (bit) value |= uint64_t{1} << i;
      if (tied) {
        const bool best_bit = (best.value >> i) & 1;
        if (bit != best_bit) {
          tied = false;
          if (want_max ? best_bit : bit) {
            behind = true;
            break;
          }
        }
      }
    }
    if (behind) continue;
    if (!have_best || !tied) {
      best = {value, n};
      have_best = true;
    } else {
      best.count += n;
    }
  }
#else
  Roaring32 cand = include[0]->Copy();
  for (size_t k = 1; k < include.size(); ++k) cand.AndInPlace(*include[k]);
  for (const Roaring32* x : exclude) cand.AndNotInPlace(*x);
  uint64_t n = cand.Cardinality();
  if (n == 0) return best;
  for (int i = d - 1; i >= 0; --i) {
    const uint64_t ones = AndCardinality(cand, *slices[i]);
    if (want_max ? ones > 0 : ones == n) best.value |= uint64_t{1} << i;
    if (ones == 0 || ones == n) continue;
    if (want_max) {
      cand.AndInPlace(*slices[i]);
      n = ones;
    } else {
      cand.AndNotInPlace(*slices[i]);
      n -= ones;
    }
  }
  best.count = n;
#endif
  return best;
}

}  // namespace featurebase::internal
