#include "lib/core/row_data.h"

#include <algorithm>
#include <new>
#include <utility>

#include "lib/bitmap/portable_validate.h"

namespace featurebase::internal {
namespace {

// Offsets of an inline or array row, or the result of an edit of one:
// on the stack up to kArrayMax + 1, else on the heap.
class OffsetBuffer {
 public:
  explicit OffsetBuffer(size_t max) {
    if (max > kStack) {
      heap_.resize(max);
      data_ = heap_.data();
    }
  }
  uint32_t* data() { return data_; }

 private:
  static constexpr size_t kStack = RowData::kArrayMax + 1;
  uint32_t stack_[kStack];
  uint32_t* data_ = stack_;
  std::vector<uint32_t> heap_;
};

}  // namespace

RowData::Array* RowData::Array::New(OwnerToken owner, uint32_t capacity) {
  void* mem = ::operator new (sizeof(Array) + size_t{capacity} * 4);
  Array* a = new (mem) Array;
  a->capacity = capacity;
  a->owner = owner;
  return a;
}

void RowData::Array::Delete(Array* a) {
  a->~Array();
  ::operator delete(a);
}

bool RowData::ArrayFits(std::span<const uint32_t> offsets) {
  if (offsets.size() <= kArraySure) return true;
  if (offsets.size() > kArrayMax) return false;
  // A bitmap costs about 64 bytes per 2^16-value block besides 2 bytes per
  // offset, an array 4 bytes per offset: keep the array while it is no
  // larger, at most 32 offsets per block touched (plus 16).
  size_t blocks = 1;
  for (size_t i = 1; i < offsets.size(); ++i)
    blocks += (offsets[i] >> 16) != (offsets[i - 1] >> 16);
  return offsets.size() <= 32 * blocks + 16;
}

void RowData::SetBig(OwnerToken owner, Roaring32 bits) {
  auto* shared = new Shared;
  shared->owner = owner;
  shared->bits = std::move(bits);
  Release();
  u_.big.n = kBig;
  u_.big.p = shared;
}

RowData RowData::FromRoaring(OwnerToken owner, Roaring32 bits) {
  const uint64_t n = bits.Cardinality();
  if (n > kArrayMax) {
    RowData r;
    r.SetBig(owner, std::move(bits));
    return r;
  }
  OffsetBuffer buf(n);
  uint32_t* v = buf.data();
  size_t i = 0;
  bits.ForEach([&](uint32_t x) { v[i++] = x; });
  if (n > kInlineMax && !ArrayFits({v, n})) {
    RowData r;
    r.SetBig(owner, std::move(bits));
    return r;
  }
  return FromSorted(owner, {v, n});
}

RowData RowData::FromSorted(OwnerToken owner,
                            std::span<const uint32_t> offsets) {
  RowData r;
  if (offsets.size() <= kInlineMax) {
    std::copy(offsets.begin(), offsets.end(), r.u_.small.v);
    r.u_.small.n = uint32_t(offsets.size());
  } else if (ArrayFits(offsets)) {
    Array* a = Array::New(owner, uint32_t(offsets.size()));
    std::copy(offsets.begin(), offsets.end(), a->data());
    a->size = uint32_t(offsets.size());
    r.u_.array.n = kArray;
    r.u_.array.p = a;
  } else {
    r.SetBig(owner, Roaring32::FromValues(offsets));
  }
  return r;
}

absl::StatusOr<RowData> RowData::DecodePortable(OwnerToken owner,
                                                std::string_view bytes) {
  // Each value costs at most 10 bytes (2 of data, 8 of container header
  // and offset), so longer bytes hold more than kArrayMax values.
  std::vector<uint32_t> values;
  if (bytes.size() <= 16 * kArrayMax) {
    auto small = DecodeSmallPortable(bytes, kArrayMax);
    if (!small.ok()) return small.status();
    if (small->has_value() && (*small)->size == bytes.size()) {
      values = std::move((*small)->values);
    }
  }
  // Bitmap rows (too many values, or values that fit no array) come from
  // CRoaring's decoding, which keeps their containers as written.
  if (values.empty() || (values.size() > kInlineMax && !ArrayFits(values))) {
    // Trailing bytes (an error, worded by Roaring32), an empty bitmap, or
    // more values than an array holds.
    auto bits = Roaring32::DecodePortable(bytes);
    if (!bits.ok()) return bits.status();
    return FromRoaring(owner, *std::move(bits));
  }
  return FromSorted(owner, values);
}

Roaring32 RowData::Union(std::span<const RowData* const> rows) {
  std::vector<const Roaring32*> bitmaps;
  std::vector<uint32_t> offsets;
  for (const RowData* r : rows) {
    if (const Roaring32* b = r->roaring()) {
      bitmaps.push_back(b);
    } else {
      const std::span<const uint32_t> v = r->sorted();
      offsets.insert(offsets.end(), v.begin(), v.end());
    }
  }
  Roaring32 merged;
  if (!offsets.empty()) {
    std::sort(offsets.begin(), offsets.end());
    offsets.erase(std::unique(offsets.begin(), offsets.end()), offsets.end());
    merged = Roaring32::FromValues(offsets);
    if (bitmaps.empty()) return merged;
    bitmaps.push_back(&merged);
  }
  if (bitmaps.empty()) return Roaring32();
  if (bitmaps.size() == 1) return bitmaps[0]->Copy();
  return Roaring32::OrMany(bitmaps);
}

template <typename Edit>
size_t RowData::Rewrite(OwnerToken owner, size_t max, Edit&& edit) {
  const std::span<const uint32_t> v = sorted();
  OffsetBuffer buf(max);
  const size_t m = size_t(edit(v, buf.data()) - buf.data());
  if (m != v.size()) Assign(owner, {buf.data(), m});
  return m;
}

void RowData::Assign(OwnerToken owner, std::span<const uint32_t> offsets) {
  *this = FromSorted(owner, offsets);  // copies before releasing the old
}

bool RowData::Contains(uint32_t offset) const {
  if (is_big()) return u_.big.p->bits.Contains(offset);
  const std::span<const uint32_t> v = sorted();
  return std::binary_search(v.begin(), v.end(), offset);
}

void RowData::AppendTo(std::vector<uint32_t>* out) const {
  if (is_big()) {
    u_.big.p->bits.AppendTo(out);
  } else {
    const std::span<const uint32_t> v = sorted();
    out->insert(out->end(), v.begin(), v.end());
  }
}

bool RowData::Intersects(const Roaring32& b) const {
  if (is_big()) return Roaring32::Intersects(u_.big.p->bits, b);
  return b.ContainsAnyOf(sorted());
}

uint64_t RowData::AndCardinality(const Roaring32& b) const {
  if (is_big()) return Roaring32::AndCardinality(u_.big.p->bits, b);
  return b.CountOf(sorted());
}

Roaring32 RowData::ToRoaring() const {
  if (is_big()) return u_.big.p->bits.Copy();
  return Roaring32::FromValues(sorted());
}

void RowData::AppendPortable(std::string* out) const {
  if (is_big()) {
    u_.big.p->bits.AppendPortable(out);
  } else {
    Roaring32::AppendPortableSorted(sorted(), out);
  }
}

const Roaring32* RowData::AsRoaring(std::deque<Roaring32>* scratch) const {
  if (is_big()) return &u_.big.p->bits;
  scratch->push_back(ToRoaring());
  return &scratch->back();
}

bool RowData::Equals(const RowData& o) const {
  if (SharesBitsWith(o)) return true;
  if (!is_big() && !o.is_big()) {
    const std::span<const uint32_t> a = sorted(), b = o.sorted();
    return std::equal(a.begin(), a.end(), b.begin(), b.end());
  }
  if (Cardinality() != o.Cardinality()) return false;
  if (is_big() && o.is_big()) return u_.big.p->bits.Equals(o.u_.big.p->bits);
  // One bitmap, one array (a bitmap row may hold as few bits as an array).
  const RowData& small = is_big() ? o : *this;
  const RowData& big = is_big() ? *this : o;
  return big.u_.big.p->bits.CountOf(small.sorted()) == small.Cardinality();
}

size_t RowData::HeapBytes() const {
  if (is_big()) return sizeof(Shared) + u_.big.p->bits.MemoryBytes();
  if (is_array()) return sizeof(Array) + size_t{u_.array.p->capacity} * 4;
  return 0;
}

Roaring32* RowData::MutableBits(OwnerToken owner) {
  if (!is_big()) {
    SetBig(owner, Roaring32::FromValues(sorted()));
  } else if (u_.big.p->owner != owner) {
    SetBig(owner, u_.big.p->bits.Copy());
  }
  return &u_.big.p->bits;
}

RowData::Array* RowData::MutableArray(OwnerToken owner, uint32_t need) {
  Array* a = u_.array.p;
  if (a->owner == owner && a->capacity >= need) return a;
  const uint32_t cap =
      a->owner == owner
          ? std::min(std::max(need, a->capacity * 3 / 2), kArrayMax + 1)
          : need;
  Array* b = Array::New(owner, std::max(cap, need));
  std::copy(a->data(), a->data() + a->size, b->data());
  b->size = a->size;
  Release();
  u_.array.p = b;
  return b;
}

void RowData::ShrinkIfSmall() {
  if (!is_big()) return;
  const Roaring32& bits = u_.big.p->bits;
  const uint64_t n = bits.Cardinality();
  if (n > kArraySure) return;
  uint32_t v[kArraySure];
  size_t i = 0;
  bits.ForEach([&](uint32_t x) { v[i++] = x; });
  Assign(u_.big.p->owner, {v, n});
}

bool RowData::Add(OwnerToken owner, uint32_t offset) {
  if (is_big()) return MutableBits(owner)->Add(offset);
  const std::span<const uint32_t> v = sorted();
  const size_t at = std::lower_bound(v.begin(), v.end(), offset) - v.begin();
  if (at < v.size() && v[at] == offset) return false;
  const uint32_t n = uint32_t(v.size());
  if (n < kInlineMax) {
    uint32_t* s = u_.small.v;
    std::copy_backward(s + at, s + n, s + n + 1);
    s[at] = offset;
    ++u_.small.n;
    return true;
  }
  if (is_array() && n + 1 <= kArraySure) {
    uint32_t* d = MutableArray(owner, n + 1)->data();
    std::copy_backward(d + at, d + n, d + n + 1);
    d[at] = offset;
    ++u_.array.p->size;
    return true;
  }
  OffsetBuffer buf(n + 1);
  uint32_t* m = buf.data();
  std::copy(v.begin(), v.begin() + at, m);
  m[at] = offset;
  std::copy(v.begin() + at, v.end(), m + at + 1);
  Assign(owner, {m, n + 1});
  return true;
}

bool RowData::Remove(OwnerToken owner, uint32_t offset) {
  if (is_big()) {
    if (!u_.big.p->bits.Contains(offset)) return false;
    MutableBits(owner)->Remove(offset);
    ShrinkIfSmall();
    return true;
  }
  const std::span<const uint32_t> v = sorted();
  const size_t at = std::lower_bound(v.begin(), v.end(), offset) - v.begin();
  if (at == v.size() || v[at] != offset) return false;
  const uint32_t n = uint32_t(v.size());
  // In place while the array surely stays one; otherwise rebuilt (it may
  // go inline, or become a bitmap when it loses its last offset in a
  // block).
  if (is_array() && n - 1 > kInlineMax && n - 1 <= kArraySure) {
    uint32_t* d = MutableArray(owner, n)->data();
    std::copy(d + at + 1, d + n, d + at);
    --u_.array.p->size;
    return true;
  }
  OffsetBuffer buf(n);
  uint32_t* kept = buf.data();
  std::copy(v.begin(), v.begin() + at, kept);
  std::copy(v.begin() + at + 1, v.end(), kept + at);
  Assign(owner, {kept, n - 1});
  return true;
}

uint64_t RowData::AddMany(OwnerToken owner, std::span<const uint32_t> offsets) {
  if (empty()) {
    *this = FromSorted(owner, offsets);
    return offsets.size();
  }
  if (!is_big()) {
    const size_t before = sorted().size();
    return Rewrite(owner, before + offsets.size(),
                   [&](std::span<const uint32_t> v, uint32_t* out) {
                     return std::set_union(v.begin(), v.end(), offsets.begin(),
                                           offsets.end(), out);
                   }) -
           before;
  }
  const uint64_t before = Cardinality();
  Roaring32* bits = MutableBits(owner);
  bits->AddMany(offsets);
  return bits->Cardinality() - before;
}

uint64_t RowData::RemoveMany(OwnerToken owner,
                             std::span<const uint32_t> offsets) {
  if (!is_big()) {
    const size_t before = sorted().size();
    return before - Rewrite(owner, before,
                            [&](std::span<const uint32_t> v, uint32_t* out) {
                              return std::set_difference(v.begin(), v.end(),
                                                         offsets.begin(),
                                                         offsets.end(), out);
                            });
  }
  const uint64_t before = Cardinality();
  Roaring32* bits = MutableBits(owner);
  bits->RemoveMany(offsets);
  const uint64_t removed = before - bits->Cardinality();
  ShrinkIfSmall();
  return removed;
}

void RowData::OrInPlace(OwnerToken owner, const Roaring32& bits) {
  if (bits.IsEmpty()) return;
  const uint64_t n = bits.Cardinality();
  if (!is_big() && n <= kArrayMax) {
    OffsetBuffer buf(n);
    size_t i = 0;
    bits.ForEach([&](uint32_t x) { buf.data()[i++] = x; });
    AddMany(owner, {buf.data(), n});
    return;
  }
  MutableBits(owner)->OrInPlace(bits);
}

void RowData::AndNotInPlace(OwnerToken owner, const Roaring32& bits) {
  if (bits.IsEmpty() || empty()) return;
  if (!is_big()) {
    Rewrite(owner, sorted().size(),
            [&](std::span<const uint32_t> v, uint32_t* out) {
              for (uint32_t x : v) {
                if (!bits.Contains(x)) *out++ = x;
              }
              return out;
            });
    return;
  }
  MutableBits(owner)->AndNotInPlace(bits);
  ShrinkIfSmall();
}

}  // namespace featurebase::internal
