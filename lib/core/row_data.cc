#include "lib/core/row_data.h"

#include <algorithm>

namespace featurebase::internal {

RowData RowData::FromRoaring(OwnerToken owner, Roaring32 bits) {
  RowData r;
  if (bits.Cardinality() <= kInlineMax) {
    bits.ForEach([&](uint32_t v) { r.small_[r.n_++] = v; });
    return r;
  }
  r.big_ = std::make_shared<Shared>();
  r.big_->owner = owner;
  r.big_->bits = std::move(bits);
  return r;
}

RowData RowData::FromSorted(OwnerToken owner,
                            std::span<const uint32_t> offsets) {
  if (offsets.size() > kInlineMax)
    return FromRoaring(owner, Roaring32::FromValues(offsets));
  RowData r;
  std::copy(offsets.begin(), offsets.end(), r.small_);
  r.n_ = uint32_t(offsets.size());
  return r;
}

bool RowData::Contains(uint32_t offset) const {
  if (big_) return big_->bits.Contains(offset);
  return std::find(small_, small_ + n_, offset) != small_ + n_;
}

void RowData::AppendTo(std::vector<uint32_t>* out) const {
  if (big_) {
    big_->bits.AppendTo(out);
  } else {
    out->insert(out->end(), small_, small_ + n_);
  }
}

bool RowData::Intersects(const Roaring32& b) const {
  if (big_) return Roaring32::Intersects(big_->bits, b);
  for (uint32_t i = 0; i < n_; ++i) {
    if (b.Contains(small_[i])) return true;
  }
  return false;
}

uint64_t RowData::AndCardinality(const Roaring32& b) const {
  if (big_) return Roaring32::AndCardinality(big_->bits, b);
  uint64_t n = 0;
  for (uint32_t i = 0; i < n_; ++i) n += b.Contains(small_[i]);
  return n;
}

Roaring32 RowData::ToRoaring() const {
  if (big_) return big_->bits.Copy();
  return Roaring32::FromValues({small_, n_});
}

const Roaring32* RowData::AsRoaring(std::deque<Roaring32>* scratch) const {
  if (big_) return &big_->bits;
  scratch->push_back(ToRoaring());
  return &scratch->back();
}

bool RowData::Equals(const RowData& o) const {
  if (SharesBitsWith(o)) return true;
  if (!big_ && !o.big_)
    return std::equal(small_, small_ + n_, o.small_, o.small_ + o.n_);
  // Representations follow the size, so a bitmap row and an inline row
  // differ in size; compare anyway rather than rely on it.
  if (Cardinality() != o.Cardinality()) return false;
  return ToRoaring().Equals(o.ToRoaring());
}

size_t RowData::HeapBytes() const {
  // The control block and Shared header, plus the bitmap's own bytes.
  return big_ ? sizeof(Shared) + 32 + big_->bits.MemoryBytes() : 0;
}

Roaring32* RowData::MutableBits(OwnerToken owner) {
  if (!big_) {
    auto fresh = std::make_shared<Shared>();
    fresh->owner = owner;
    fresh->bits = Roaring32::FromValues({small_, n_});
    n_ = 0;
    big_ = std::move(fresh);
  } else if (big_->owner != owner) {
    auto copy = std::make_shared<Shared>();
    copy->owner = owner;
    copy->bits = big_->bits.Copy();
    big_ = std::move(copy);
  }
  return &big_->bits;
}

void RowData::ShrinkIfSmall() {
  if (!big_ || big_->bits.Cardinality() > kInlineMax) return;
  uint32_t n = 0;
  big_->bits.ForEach([&](uint32_t v) { small_[n++] = v; });
  big_.reset();
  n_ = n;
}

bool RowData::Add(OwnerToken owner, uint32_t offset) {
  if (big_) return MutableBits(owner)->Add(offset);
  uint32_t* at = std::lower_bound(small_, small_ + n_, offset);
  if (at != small_ + n_ && *at == offset) return false;
  if (n_ == kInlineMax) return MutableBits(owner)->Add(offset);
  std::copy_backward(at, small_ + n_, small_ + n_ + 1);
  *at = offset;
  ++n_;
  return true;
}

bool RowData::Remove(OwnerToken owner, uint32_t offset) {
  if (big_) {
    if (!big_->bits.Contains(offset)) return false;
    MutableBits(owner)->Remove(offset);
    ShrinkIfSmall();
    return true;
  }
  uint32_t* at = std::lower_bound(small_, small_ + n_, offset);
  if (at == small_ + n_ || *at != offset) return false;
  std::copy(at + 1, small_ + n_, at);
  --n_;
  return true;
}

uint64_t RowData::AddMany(OwnerToken owner, std::span<const uint32_t> offsets) {
  if (!big_) {
    uint32_t merged[2 * kInlineMax];
    if (offsets.size() <= kInlineMax) {
      uint32_t* end = std::set_union(small_, small_ + n_, offsets.begin(),
                                     offsets.end(), merged);
      const uint32_t n = uint32_t(end - merged);
      if (n <= kInlineMax) {
        const uint64_t added = n - n_;
        std::copy(merged, end, small_);
        n_ = n;
        return added;
      }
    }
  }
  const uint64_t before = Cardinality();
  Roaring32* bits = MutableBits(owner);
  bits->AddMany(offsets);
  return bits->Cardinality() - before;
}

uint64_t RowData::RemoveMany(OwnerToken owner,
                             std::span<const uint32_t> offsets) {
  if (!big_) {
    uint32_t kept[kInlineMax];
    uint32_t* end = std::set_difference(small_, small_ + n_, offsets.begin(),
                                        offsets.end(), kept);
    const uint32_t n = uint32_t(end - kept);
    const uint64_t removed = n_ - n;
    std::copy(kept, end, small_);
    n_ = n;
    return removed;
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
  if (!big_ && bits.Cardinality() <= kInlineMax) {
    uint32_t values[kInlineMax];
    uint32_t n = 0;
    bits.ForEach([&](uint32_t v) { values[n++] = v; });
    AddMany(owner, {values, n});
    return;
  }
  MutableBits(owner)->OrInPlace(bits);
  ShrinkIfSmall();
}

void RowData::AndNotInPlace(OwnerToken owner, const Roaring32& bits) {
  if (bits.IsEmpty() || empty()) return;
  if (!big_) {
    uint32_t n = 0;
    for (uint32_t i = 0; i < n_; ++i) {
      if (!bits.Contains(small_[i])) small_[n++] = small_[i];
    }
    n_ = n;
    return;
  }
  MutableBits(owner)->AndNotInPlace(bits);
  ShrinkIfSmall();
}

}  // namespace featurebase::internal
