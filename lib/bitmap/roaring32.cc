#include "lib/bitmap/roaring32.h"

#include <roaring/roaring.h>

#include <new>

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
