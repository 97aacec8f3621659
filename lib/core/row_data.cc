#include "lib/core/row_data.h"

#include <algorithm>

namespace featurebase::internal {

void RowData::SetBig(OwnerToken owner, Roaring32 bits) {
  auto* shared = new Shared;
  shared->owner = owner;
  shared->bits = std::move(bits);
  Release();
  u_.big.n = kBig;
  u_.big.p = shared;
}

RowData RowData::FromRoaring(OwnerToken owner, Roaring32 bits) {
  RowData r;
  if (bits.Cardinality() <= kInlineMax) {
    bits.ForEach([&](uint32_t v) { r.u_.small.v[r.u_.small.n++] = v; });
  } else {
    r.SetBig(owner, std::move(bits));
  }
  return r;
}

RowData RowData::FromSorted(OwnerToken owner,
                            std::span<const uint32_t> offsets) {
  RowData r;
  if (offsets.size() > kInlineMax) {
    r.SetBig(owner, Roaring32::FromValues(offsets));
  } else {
    std::copy(offsets.begin(), offsets.end(), r.u_.small.v);
    r.u_.small.n = uint32_t(offsets.size());
  }
  return r;
}

bool RowData::Contains(uint32_t offset) const {
  if (is_big()) return u_.big.p->bits.Contains(offset);
  const uint32_t* v = u_.small.v;
  return std::find(v, v + u_.small.n, offset) != v + u_.small.n;
}

void RowData::AppendTo(std::vector<uint32_t>* out) const {
  if (is_big()) {
    u_.big.p->bits.AppendTo(out);
  } else {
    out->insert(out->end(), u_.small.v, u_.small.v + u_.small.n);
  }
}

bool RowData::Intersects(const Roaring32& b) const {
  if (is_big()) return Roaring32::Intersects(u_.big.p->bits, b);
  for (uint32_t i = 0; i < u_.small.n; ++i) {
    if (b.Contains(u_.small.v[i])) return true;
  }
  return false;
}

uint64_t RowData::AndCardinality(const Roaring32& b) const {
  if (is_big()) return Roaring32::AndCardinality(u_.big.p->bits, b);
  uint64_t n = 0;
  for (uint32_t i = 0; i < u_.small.n; ++i) n += b.Contains(u_.small.v[i]);
  return n;
}

Roaring32 RowData::ToRoaring() const {
  if (is_big()) return u_.big.p->bits.Copy();
  return Roaring32::FromValues({u_.small.v, u_.small.n});
}

void RowData::AppendPortable(std::string* out) const {
  if (is_big()) {
    u_.big.p->bits.AppendPortable(out);
  } else {
    Roaring32::AppendPortableSorted({u_.small.v, u_.small.n}, out);
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
    return std::equal(u_.small.v, u_.small.v + u_.small.n, o.u_.small.v,
                      o.u_.small.v + o.u_.small.n);
  }
  // The representation follows the size, so an inline row never equals a
  // large one; compare the bits anyway rather than rely on it.
  if (Cardinality() != o.Cardinality()) return false;
  return ToRoaring().Equals(o.ToRoaring());
}

size_t RowData::HeapBytes() const {
  return is_big() ? sizeof(Shared) + u_.big.p->bits.MemoryBytes() : 0;
}

Roaring32* RowData::MutableBits(OwnerToken owner) {
  if (!is_big()) {
    SetBig(owner, Roaring32::FromValues({u_.small.v, u_.small.n}));
  } else if (u_.big.p->owner != owner) {
    SetBig(owner, u_.big.p->bits.Copy());
  }
  return &u_.big.p->bits;
}

void RowData::ShrinkIfSmall() {
  if (!is_big() || u_.big.p->bits.Cardinality() > kInlineMax) return;
  uint32_t v[kInlineMax];
  uint32_t n = 0;
  u_.big.p->bits.ForEach([&](uint32_t x) { v[n++] = x; });
  Release();
  u_.small.n = n;
  std::copy(v, v + n, u_.small.v);
}

bool RowData::Add(OwnerToken owner, uint32_t offset) {
  if (is_big()) return MutableBits(owner)->Add(offset);
  uint32_t* v = u_.small.v;
  const uint32_t n = u_.small.n;
  uint32_t* at = std::lower_bound(v, v + n, offset);
  if (at != v + n && *at == offset) return false;
  if (n == kInlineMax) return MutableBits(owner)->Add(offset);
  std::copy_backward(at, v + n, v + n + 1);
  *at = offset;
  ++u_.small.n;
  return true;
}

bool RowData::Remove(OwnerToken owner, uint32_t offset) {
  if (is_big()) {
    if (!u_.big.p->bits.Contains(offset)) return false;
    MutableBits(owner)->Remove(offset);
    ShrinkIfSmall();
    return true;
  }
  uint32_t* v = u_.small.v;
  const uint32_t n = u_.small.n;
  uint32_t* at = std::lower_bound(v, v + n, offset);
  if (at == v + n || *at != offset) return false;
  std::copy(at + 1, v + n, at);
  --u_.small.n;
  return true;
}

uint64_t RowData::AddMany(OwnerToken owner, std::span<const uint32_t> offsets) {
  if (empty()) {
    *this = FromSorted(owner, offsets);
    return offsets.size();
  }
  if (!is_big() && offsets.size() <= kInlineMax) {
    uint32_t merged[2 * kInlineMax];
    const uint32_t n = u_.small.n;
    uint32_t* end = std::set_union(u_.small.v, u_.small.v + n, offsets.begin(),
                                   offsets.end(), merged);
    const uint32_t m = uint32_t(end - merged);
    if (m <= kInlineMax) {
      std::copy(merged, end, u_.small.v);
      u_.small.n = m;
      return m - n;
    }
  }
  const uint64_t before = Cardinality();
  Roaring32* bits = MutableBits(owner);
  bits->AddMany(offsets);
  return bits->Cardinality() - before;
}

uint64_t RowData::RemoveMany(OwnerToken owner,
                             std::span<const uint32_t> offsets) {
  if (!is_big()) {
    uint32_t kept[kInlineMax];
    const uint32_t n = u_.small.n;
    uint32_t* end = std::set_difference(u_.small.v, u_.small.v + n,
                                        offsets.begin(), offsets.end(), kept);
    const uint32_t m = uint32_t(end - kept);
    std::copy(kept, end, u_.small.v);
    u_.small.n = m;
    return n - m;
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
  if (!is_big() && bits.Cardinality() <= kInlineMax) {
    uint32_t v[kInlineMax];
    uint32_t n = 0;
    bits.ForEach([&](uint32_t x) { v[n++] = x; });
    AddMany(owner, {v, n});
    return;
  }
  MutableBits(owner)->OrInPlace(bits);
  ShrinkIfSmall();
}

void RowData::AndNotInPlace(OwnerToken owner, const Roaring32& bits) {
  if (bits.IsEmpty() || empty()) return;
  if (!is_big()) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < u_.small.n; ++i) {
      if (!bits.Contains(u_.small.v[i])) u_.small.v[n++] = u_.small.v[i];
    }
    u_.small.n = n;
    return;
  }
  MutableBits(owner)->AndNotInPlace(bits);
  ShrinkIfSmall();
}

}  // namespace featurebase::internal
