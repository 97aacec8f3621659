// The thin adapter from Roaring32 to CRoaring's C API: construction,
// single-value and range updates, set algebra and its counts, iteration and
// the portable format. The fused kernels are in fused_kernels.cc.
#include "lib/bitmap/roaring32.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cstring>
#include <functional>
#include <new>
#include <utility>

#include "absl/status/status.h"
#include "fmt/format.h"
#include "lib/bitmap/portable_validate.h"
#include "lib/bitmap/roaring_kernels_internal.h"

namespace featurebase::internal {

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
