#include "lib/bitmap/roaring32.h"

#include <roaring/roaring.h>
#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <bit>
#include <cassert>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <new>
#if defined(__x86_64__)
#include <immintrin.h>
#endif

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/bitmap/portable_validate.h"

namespace featurebase::internal {
namespace {

roaring_bitmap_t* R(RoaringOpaque* p) {
  return reinterpret_cast<roaring_bitmap_t*>(p);
}
RoaringOpaque* O(roaring_bitmap_t* p) {
  // CRoaring returns null only when allocation fails: treat that like the
  // standard library does.
  if (p == nullptr) throw std::bad_alloc();
  return reinterpret_cast<RoaringOpaque*>(p);
}

}  // namespace

Roaring32::Roaring32() : r_(O(roaring_bitmap_create())) {}

Roaring32::~Roaring32() {
  if (r_ != nullptr) roaring_bitmap_free(R(r_));
}

Roaring32& Roaring32::operator=(Roaring32&& other) noexcept {
  if (this != &other) {
    if (r_ != nullptr) roaring_bitmap_free(R(r_));
    r_ = other.r_;
    other.r_ = nullptr;
  }
  return *this;
}

Roaring32 Roaring32::Copy() const {
  return Roaring32(O(roaring_bitmap_copy(R(r_))));
}

Roaring32 Roaring32::FromValues(std::span<const uint32_t> values) {
  Roaring32 r;
#ifdef SHARED_CONTAINER_TYPE_CODE
  // Strictly ascending values (a row built from sorted offsets): each
  // container made at its final size, two allocations, rather than grown
  // value by value through roaring_bitmap_add_many.
  if (std::adjacent_find(values.begin(), values.end(),
                         std::greater_equal<uint32_t>()) == values.end()) {
    constexpr int32_t kMaxArray = 4096;
    roaring_array_t* ra = &R(r.r_)->high_low_container;
    for (size_t i = 0; i < values.size();) {
      const uint32_t key = values[i] >> 16;
      size_t j = i + 1;
      while (j < values.size() && values[j] >> 16 == key) ++j;
      const int32_t n = int32_t(j - i);
      if (n > kMaxArray) {
        bitset_container_t* b = bitset_container_create();
        if (b == nullptr) throw std::bad_alloc();
        for (size_t k = i; k < j; ++k) {
          b->array[(values[k] & 0xFFFF) >> 6] |= uint64_t{1}
                                                 << (values[k] & 63);
        }
        b->cardinality = n;
        ra_append(ra, uint16_t(key), b, BITSET_CONTAINER_TYPE_CODE);
      } else {
        array_container_t* a = array_container_create_given_capacity(n);
        if (a == nullptr) throw std::bad_alloc();
        for (int32_t k = 0; k < n; ++k) a->array[k] = uint16_t(values[i + k]);
        a->cardinality = n;
        ra_append(ra, uint16_t(key), a, ARRAY_CONTAINER_TYPE_CODE);
      }
      i = j;
    }
    return r;
  }
#endif
  r.AddMany(values);
  return r;
}

Roaring32 Roaring32::FromRange(uint64_t lo, uint64_t hi) {
  Roaring32 r;
  r.AddRange(lo, hi);
  return r;
}

bool Roaring32::Add(uint32_t v) { return roaring_bitmap_add_checked(R(r_), v); }
bool Roaring32::Remove(uint32_t v) {
  return roaring_bitmap_remove_checked(R(r_), v);
}
bool Roaring32::Contains(uint32_t v) const {
  return roaring_bitmap_contains(R(r_), v);
}

void Roaring32::AddMany(std::span<const uint32_t> values) {
  if (!values.empty())
    roaring_bitmap_add_many(R(r_), values.size(), values.data());
}

void Roaring32::RemoveMany(std::span<const uint32_t> values) {
  if (!values.empty())
    roaring_bitmap_remove_many(R(r_), values.size(), values.data());
}

void Roaring32::AppendBlock(uint16_t key, const uint64_t* words) {
  constexpr int kWords = 1024;
  constexpr int32_t kMaxArray = 4096;
  int32_t card = 0;
  for (int i = 0; i < kWords; ++i) card += std::popcount(words[i]);
  if (card == 0) return;
  assert(IsEmpty() || *Maximum() < (uint32_t{key} << 16));
#ifdef SHARED_CONTAINER_TYPE_CODE
  roaring_array_t* ra = &R(r_)->high_low_container;
  if (card > kMaxArray) {
    bitset_container_t* b = bitset_container_create();
    if (b == nullptr) throw std::bad_alloc();
    std::memcpy(b->array, words, kWords * sizeof(uint64_t));
    b->cardinality = card;
    ra_append(ra, key, b, BITSET_CONTAINER_TYPE_CODE);
    return;
  }
  array_container_t* a = array_container_create_given_capacity(card);
  if (a == nullptr) throw std::bad_alloc();
  int32_t n = 0;
  for (int i = 0; i < kWords; ++i) {
    for (uint64_t w = words[i]; w != 0; w &= w - 1) {
      a->array[n++] = uint16_t(i * 64 + std::countr_zero(w));
    }
  }
  a->cardinality = n;
  ra_append(ra, key, a, ARRAY_CONTAINER_TYPE_CODE);
#else
  std::vector<uint32_t> values;
  values.reserve(card);
  for (int i = 0; i < kWords; ++i) {
    for (uint64_t w = words[i]; w != 0; w &= w - 1) {
      values.push_back((uint32_t{key} << 16) |
                       uint32_t(i * 64 + std::countr_zero(w)));
    }
  }
  AddMany(values);
#endif
}

void Roaring32::AddRange(uint64_t lo, uint64_t hi) {
  if (hi > (uint64_t{1} << 32)) hi = uint64_t{1} << 32;
  if (lo < hi)
    roaring_bitmap_add_range_closed(R(r_), uint32_t(lo), uint32_t(hi - 1));
}

void Roaring32::RemoveRange(uint64_t lo, uint64_t hi) {
  if (hi > (uint64_t{1} << 32)) hi = uint64_t{1} << 32;
  if (lo < hi)
    roaring_bitmap_remove_range_closed(R(r_), uint32_t(lo), uint32_t(hi - 1));
}

uint64_t Roaring32::RangeCardinality(uint64_t lo, uint64_t hi) const {
  if (hi > (uint64_t{1} << 32)) hi = uint64_t{1} << 32;
  if (lo >= hi) return 0;
  return roaring_bitmap_range_cardinality(R(r_), lo, hi);
}

void Roaring32::Clear() { roaring_bitmap_clear(R(r_)); }

uint64_t Roaring32::Cardinality() const {
  return roaring_bitmap_get_cardinality(R(r_));
}
bool Roaring32::IsEmpty() const { return roaring_bitmap_is_empty(R(r_)); }

std::optional<uint32_t> Roaring32::Minimum() const {
  if (IsEmpty()) return std::nullopt;
  return roaring_bitmap_minimum(R(r_));
}

std::optional<uint32_t> Roaring32::Maximum() const {
  if (IsEmpty()) return std::nullopt;
  return roaring_bitmap_maximum(R(r_));
}

uint64_t Roaring32::Rank(uint32_t v) const {
  return roaring_bitmap_rank(R(r_), v);
}

std::optional<uint32_t> Roaring32::Select(uint64_t rank) const {
  if (rank >= UINT32_MAX) return std::nullopt;
  uint32_t v;
  if (!roaring_bitmap_select(R(r_), uint32_t(rank), &v)) return std::nullopt;
  return v;
}

Roaring32 Roaring32::And(const Roaring32& a, const Roaring32& b) {
  return Roaring32(O(roaring_bitmap_and(R(a.r_), R(b.r_))));
}
Roaring32 Roaring32::Or(const Roaring32& a, const Roaring32& b) {
  return Roaring32(O(roaring_bitmap_or(R(a.r_), R(b.r_))));
}
Roaring32 Roaring32::AndNot(const Roaring32& a, const Roaring32& b) {
  return Roaring32(O(roaring_bitmap_andnot(R(a.r_), R(b.r_))));
}
Roaring32 Roaring32::Xor(const Roaring32& a, const Roaring32& b) {
  return Roaring32(O(roaring_bitmap_xor(R(a.r_), R(b.r_))));
}

Roaring32 Roaring32::OrMany(std::span<const Roaring32* const> inputs) {
  if (inputs.empty()) return Roaring32();
  if (inputs.size() == 1) return inputs[0]->Copy();
  // roaring_bitmap_or_many's lazy unions turn every array container into an
  // 8 KiB bitset before repairing it: for small inputs (a value field's
  // planes of a few records, decoded on every checkpoint load) that zeroing
  // was most of the work. When the union cannot need a bitset container,
  // exact unions keep the arrays.
  uint64_t total = 0;
  for (const Roaring32* in : inputs) total += in->Cardinality();
  if (total <= 4096) {
    Roaring32 out = inputs[0]->Copy();
    for (size_t i = 1; i < inputs.size(); ++i) out.OrInPlace(*inputs[i]);
    return out;
  }
  std::vector<const roaring_bitmap_t*> raw(inputs.size());
  for (size_t i = 0; i < inputs.size(); ++i) raw[i] = R(inputs[i]->r_);
  return Roaring32(O(roaring_bitmap_or_many(raw.size(), raw.data())));
}

void Roaring32::AndInPlace(const Roaring32& b) {
  roaring_bitmap_and_inplace(R(r_), R(b.r_));
}
void Roaring32::OrInPlace(const Roaring32& b) {
  roaring_bitmap_or_inplace(R(r_), R(b.r_));
}
void Roaring32::AndNotInPlace(const Roaring32& b) {
  roaring_bitmap_andnot_inplace(R(r_), R(b.r_));
}
void Roaring32::XorInPlace(const Roaring32& b) {
  roaring_bitmap_xor_inplace(R(r_), R(b.r_));
}

Roaring32 Roaring32::Flip(uint64_t lo, uint64_t hi) const {
  if (hi > (uint64_t{1} << 32)) hi = uint64_t{1} << 32;
  if (lo >= hi) return Copy();
  return Roaring32(O(roaring_bitmap_flip(R(r_), lo, hi)));
}

uint64_t Roaring32::AndCardinality(const Roaring32& a, const Roaring32& b) {
  return roaring_bitmap_and_cardinality(R(a.r_), R(b.r_));
}
uint64_t Roaring32::OrCardinality(const Roaring32& a, const Roaring32& b) {
  return roaring_bitmap_or_cardinality(R(a.r_), R(b.r_));
}
uint64_t Roaring32::AndNotCardinality(const Roaring32& a, const Roaring32& b) {
  return roaring_bitmap_andnot_cardinality(R(a.r_), R(b.r_));
}
uint64_t Roaring32::XorCardinality(const Roaring32& a, const Roaring32& b) {
  return roaring_bitmap_xor_cardinality(R(a.r_), R(b.r_));
}
bool Roaring32::Intersects(const Roaring32& a, const Roaring32& b) {
  return roaring_bitmap_intersect(R(a.r_), R(b.r_));
}

namespace {

// Calls hit() for each value of `sorted` in `r` until it returns false.
template <typename Hit>
void ForEachContained(const roaring_bitmap_t* r,
                      std::span<const uint32_t> sorted, Hit&& hit) {
#ifdef SHARED_CONTAINER_TYPE_CODE
  const roaring_array_t& ra = r->high_low_container;
  int32_t pos = 0;
  for (size_t i = 0; i < sorted.size();) {
    const uint16_t key = uint16_t(sorted[i] >> 16);
    size_t j = i + 1;
    while (j < sorted.size() && sorted[j] >> 16 == key) ++j;
    while (pos < ra.size && ra.keys[pos] < key) ++pos;
    if (pos == ra.size) return;
    if (ra.keys[pos] == key) {
      for (size_t k = i; k < j; ++k) {
        if (container_contains(ra.containers[pos], uint16_t(sorted[k]),
                               ra.typecodes[pos]) &&
            !hit()) {
          return;
        }
      }
    }
    i = j;
  }
#else
  for (uint32_t v : sorted) {
    if (roaring_bitmap_contains(r, v) && !hit()) return;
  }
#endif
}

}  // namespace

uint64_t Roaring32::CountOf(std::span<const uint32_t> sorted) const {
  uint64_t n = 0;
  ForEachContained(R(r_), sorted, [&] { return ++n, true; });
  return n;
}

bool Roaring32::ContainsAnyOf(std::span<const uint32_t> sorted) const {
  bool any = false;
  ForEachContained(R(r_), sorted, [&] { return any = true, false; });
  return any;
}

namespace {

// Container-level kernels. CRoaring 0.2.x exposes its containers in its
// public headers (SHARED_CONTAINER_TYPE_CODE is one of their macros); other
// versions hide them, and there AndCardinalityMatrix falls back to one
// roaring_bitmap_and_cardinality per pair.
#ifdef SHARED_CONTAINER_TYPE_CODE
#define FB_ROARING_CONTAINER_KERNELS 1

constexpr int kBitsetWords = 1 << 10;  // 2^16 bits
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

// Up to this many filter containers (32 KiB, in L1) are counted against a
// row container in one pass over it.
constexpr int kFilterStep = 4;

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

enum class Simd { kScalar, kAvx2, kAvx512 };

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

// The instruction set the kernels use: the CPU's, capped for tests.
Simd CurrentSimd() {
  static const Simd detected = DetectSimd();
  return Simd(
      std::min(int(detected), simd_cap.load(std::memory_order_relaxed)));
}

template <int F>
void AndCountF(Simd simd, const uint64_t* const* f, const uint64_t* row,
               uint64_t* out) {
#if defined(__x86_64__)
  if (simd == Simd::kAvx512) return AndCountAvx512<F>(f, row, out);
  if (simd == Simd::kAvx2) return AndCountAvx2<F>(f, row, out);
#endif
  AndCountScalar<F>(f, row, out);
}

// out[j] += |f[j] ∩ row| for j < n <= kFilterStep, all bitsets.
void AndCountBitsets(Simd simd, const uint64_t* const* f, int n,
                     const uint64_t* row, uint64_t* out) {
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
static_assert(kFilterStep == 4);

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

// Set bits in words [0, n) of `w`.
uint64_t PopcountWords(Simd simd, const uint64_t* w, size_t n) {
#if defined(__x86_64__)
  if (simd == Simd::kAvx512) return PopcountAvx512(w, n);
  if (simd == Simd::kAvx2) return PopcountAvx2(w, n);
#endif
  return PopcountScalar(w, n);
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

uint64_t AndStore(Simd simd, const uint64_t* a, const uint64_t* b, bool invert,
                  uint64_t* out) {
#if defined(__x86_64__)
  if (simd == Simd::kAvx512) return AndStoreAvx512(a, b, invert, out);
  if (simd == Simd::kAvx2) return AndStoreAvx2(a, b, invert, out);
#endif
  return AndStoreScalar(a, b, invert, out);
}

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

#endif  // SHARED_CONTAINER_TYPE_CODE

}  // namespace

int Roaring32::CapSimdForTesting(int level) {
#ifdef FB_ROARING_CONTAINER_KERNELS
  return simd_cap.exchange(level);
#else
  return level;
#endif
}

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

std::shared_ptr<const PackedRoaring32> PackedRoaring32::Pack(
    std::vector<Roaring32> rows) {
  std::shared_ptr<PackedRoaring32> p(new PackedRoaring32);
  p->rows_ = std::move(rows);
#ifdef FB_ROARING_CONTAINER_KERNELS
  const size_t nr = p->rows_.size();
  size_t bitsets = 0;
  for (Roaring32& r : p->rows_) {
    const roaring_array_t& ra = R(r.raw())->high_low_container;
    for (int32_t i = 0; i < ra.size; ++i) {
      bitsets += ra.typecodes[i] == BITSET_CONTAINER_TYPE_CODE;
    }
  }
  if (bitsets == 0) return p;
  // The words first, page-aligned, so that every container is exactly two
  // whole pages (the hardware prefetchers stop at page boundaries); then the
  // containers' headers, adjacent in the same order, so that finding the
  // next key's containers touches a few cache lines instead of one
  // scattered allocation (and often one TLB miss) per row.
  constexpr size_t kBytes = kBitsetWords * sizeof(uint64_t);
  constexpr size_t kPage = 4096;
  const size_t words_bytes = bitsets * kBytes;
  const size_t total =
      (words_bytes + bitsets * sizeof(bitset_container_t) + kPage - 1) / kPage *
      kPage;
  // A fresh mapping rather than the heap: its pages are faulted in, in
  // order, by the copy below, so they tend to be physically contiguous
  // (like any large buffer read in one sweep), where heap memory reused
  // from freed containers is physically scattered. Measured on bsi_bench's
  // filtered Sum: ~1.2x the read floor from a fresh mapping, ~1.45x from
  // the heap, same bytes, same order.
  void* block = mmap(nullptr, total, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (block == MAP_FAILED) throw std::bad_alloc();
  p->block_bytes_ = total;
  p->block_ = static_cast<uint64_t*>(block);
  p->words_ = bitsets * kBitsetWords;
  p->headers_ = reinterpret_cast<char*>(block) + words_bytes;
  p->n_headers_ = bitsets;
  auto* headers = static_cast<bitset_container_t*>(p->headers_);
  uint64_t* at = p->block_;
  size_t h = 0;
  std::vector<int32_t> pos(nr, 0);
  for (;;) {
    int32_t key = -1;
    for (size_t j = 0; j < nr; ++j) {
      const roaring_array_t& ra = R(p->rows_[j].raw())->high_low_container;
      if (pos[j] < ra.size && (key < 0 || ra.keys[pos[j]] < key)) {
        key = ra.keys[pos[j]];
      }
    }
    if (key < 0) break;
    for (size_t j = 0; j < nr; ++j) {
      roaring_array_t& ra = R(p->rows_[j].raw())->high_low_container;
      if (pos[j] >= ra.size || ra.keys[pos[j]] != key) continue;
      if (ra.typecodes[pos[j]] == BITSET_CONTAINER_TYPE_CODE) {
        auto* b = static_cast<bitset_container_t*>(ra.containers[pos[j]]);
        std::memcpy(at, b->array, kBytes);
        headers[h] = {b->cardinality, at};
        bitset_container_free(b);
        ra.containers[pos[j]] = &headers[h];
        ++h;
        at += kBitsetWords;
      }
      ++pos[j];
    }
  }
  assert(h == bitsets && at == p->block_ + p->words_);
#endif
  return p;
}

PackedRoaring32::~PackedRoaring32() {
#ifdef FB_ROARING_CONTAINER_KERNELS
  if (block_ == nullptr) return;
  // The packed containers live in the block: take them out of the rows, so
  // that CRoaring frees only the containers it allocated.
  const auto* first = static_cast<const bitset_container_t*>(headers_);
  const auto* last = first + n_headers_;
  for (Roaring32& r : rows_) {
    roaring_array_t& ra = R(r.raw())->high_low_container;
    int32_t kept = 0;
    for (int32_t i = 0; i < ra.size; ++i) {
      const void* c = ra.containers[i];
      if (c >= first && c < last) continue;
      ra.keys[kept] = ra.keys[i];
      ra.typecodes[kept] = ra.typecodes[i];
      ra.containers[kept] = ra.containers[i];
      ++kept;
    }
    ra.size = kept;
  }
  munmap(block_, block_bytes_);
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

bool Roaring32::Equals(const Roaring32& b) const {
  return roaring_bitmap_equals(R(r_), R(b.r_));
}
bool Roaring32::IsSubsetOf(const Roaring32& b) const {
  return roaring_bitmap_is_subset(R(r_), R(b.r_));
}

void Roaring32::AppendTo(std::vector<uint32_t>* out) const {
  const size_t old = out->size();
  out->resize(old + Cardinality());
  roaring_bitmap_to_uint32_array(R(r_), out->data() + old);
}

Roaring32::Reader::Reader(const Roaring32& r)
    : it_(roaring_create_iterator(R(r.r_))) {
  if (it_ == nullptr) throw std::bad_alloc();
}

Roaring32::Reader::~Reader() {
  roaring_free_uint32_iterator(static_cast<roaring_uint32_iterator_t*>(it_));
}

size_t Roaring32::Reader::Next(uint32_t* buf, size_t cap) {
  if (cap > UINT32_MAX) cap = UINT32_MAX;
  return roaring_read_uint32_iterator(
      static_cast<roaring_uint32_iterator_t*>(it_), buf, uint32_t(cap));
}

void Roaring32::Reader::SeekGE(uint32_t v) {
  roaring_move_uint32_iterator_equalorlarger(
      static_cast<roaring_uint32_iterator_t*>(it_), v);
}

bool Roaring32::RunOptimize() { return roaring_bitmap_run_optimize(R(r_)); }
size_t Roaring32::ShrinkToFit() { return roaring_bitmap_shrink_to_fit(R(r_)); }

size_t Roaring32::MemoryBytes() const {
  roaring_statistics_t stats;
  roaring_bitmap_statistics(R(r_), &stats);
  return sizeof(roaring_bitmap_t) + stats.n_containers * (sizeof(void*) + 3) +
         stats.n_bytes_array_containers + stats.n_bytes_run_containers +
         stats.n_bytes_bitset_containers;
}

size_t Roaring32::PortableSize() const {
  return roaring_bitmap_portable_size_in_bytes(R(r_));
}

void Roaring32::AppendPortable(std::string* out) const {
  const size_t old = out->size();
  const size_t n = PortableSize();
  out->resize(old + n);
  roaring_bitmap_portable_serialize(R(r_), out->data() + old);
}

void Roaring32::AppendPortableSorted(std::span<const uint32_t> values,
                                     std::string* out) {
  // RoaringFormatSpec without run containers: cookie 12346, the container
  // count, (key, cardinality - 1) per container, each container's byte
  // offset, then the containers (arrays of 16-bit values, little-endian).
  // A block of more than 4096 values would be a bitset: defer to CRoaring.
  std::vector<std::pair<uint16_t, uint32_t>> blocks;  // (key, count)
  for (uint32_t v : values) {
    const uint16_t key = uint16_t(v >> 16);
    if (blocks.empty() || blocks.back().first != key)
      blocks.push_back({key, 0});
    if (++blocks.back().second > 4096) {
      FromValues(values).AppendPortable(out);
      return;
    }
  }
  const auto put16 = [&](uint16_t x) {
    const char b[2] = {char(x & 0xFF), char(x >> 8)};
    out->append(b, 2);
  };
  const auto put32 = [&](uint32_t x) {
    put16(uint16_t(x & 0xFFFF));
    put16(uint16_t(x >> 16));
  };
  put32(12346);
  put32(uint32_t(blocks.size()));
  for (const auto& [key, n] : blocks) {
    put16(key);
    put16(uint16_t(n - 1));
  }
  uint32_t offset = uint32_t(8 + 8 * blocks.size());
  for (const auto& [key, n] : blocks) {
    put32(offset);
    offset += 2 * n;
  }
  for (uint32_t v : values) put16(uint16_t(v & 0xFFFF));
}

absl::StatusOr<Roaring32> Roaring32::DecodePortable(std::string_view bytes,
                                                    uint32_t max_value) {
  auto size = ValidatePortable(bytes, max_value);
  if (!size.ok()) return size.status();
  if (*size != bytes.size()) {
    return absl::DataLossError(fmt::format(
        "decode roaring: {} trailing bytes after the bitmap at offset {}",
        bytes.size() - *size, *size));
  }
  roaring_bitmap_t* r =
      roaring_bitmap_portable_deserialize_safe(bytes.data(), bytes.size());
  if (r == nullptr) {
    return absl::DataLossError(fmt::format(
        "decode roaring: CRoaring rejected a {}-byte bitmap", bytes.size()));
  }
  return Roaring32(O(r));
}

}  // namespace featurebase::internal
