#include "lib/core/fragment.h"

#include <algorithm>
#include <vector>

namespace featurebase::internal {

const Roaring32* Fragment::Row(uint64_t row) const {
  const RowPtr* p = rows_.Find(row);
  return p == nullptr ? nullptr : &(*p)->bits;
}

bool Fragment::Contains(uint64_t row, uint32_t offset) const {
  const Roaring32* r = Row(row);
  return r != nullptr && r->Contains(offset);
}

std::optional<uint64_t> Fragment::RowOf(uint32_t offset) const {
  switch (mode_) {
    case Mode::kMutex:
      return column_rows_.Get(offset);
    case Mode::kBool:
      if (Contains(1, offset)) return 1;
      if (Contains(0, offset)) return 0;
      return std::nullopt;
    default:
      return std::nullopt;
  }
}

Roaring32* Fragment::MutableRow(OwnerToken owner, uint64_t row) {
  RowPtr* p = rows_.Mutate(owner, row);
  if (!*p) {
    *p = std::make_shared<RowBits>();
    (*p)->owner = owner;
  } else if ((*p)->owner != owner) {
    auto copy = std::make_shared<RowBits>();
    copy->owner = owner;
    copy->bits = (*p)->bits.Copy();
    *p = std::move(copy);
  }
  return &(*p)->bits;
}

uint64_t Fragment::AddToRowMany(OwnerToken owner, uint64_t row,
                                std::span<const uint32_t> offsets) {
  const Roaring32* existing = Row(row);
  if (existing == nullptr) {
    // A new row: build it directly instead of copying an empty one.
    auto fresh = std::make_shared<RowBits>();
    fresh->owner = owner;
    fresh->bits = Roaring32::FromValues(offsets);
    const uint64_t n = fresh->bits.Cardinality();
    rows_.Put(owner, row, std::move(fresh));
    return n;
  }
  const uint64_t before = existing->Cardinality();
  Roaring32* r = MutableRow(owner, row);
  r->AddMany(offsets);
  return r->Cardinality() - before;
}

void Fragment::DropIfEmpty(OwnerToken owner, uint64_t row) {
  const Roaring32* r = Row(row);
  if (r != nullptr && r->IsEmpty()) rows_.Erase(owner, row);
}

bool Fragment::Add(OwnerToken owner, uint64_t row, uint32_t offset) {
  if (mode_ != Mode::kMulti) {
    const std::optional<uint64_t> old = RowOf(offset);
    if (old == row) return false;
    if (old) {
      MutableRow(owner, *old)->Remove(offset);
      DropIfEmpty(owner, *old);
    }
    if (mode_ == Mode::kMutex) column_rows_.Set(owner, offset, row);
    MutableRow(owner, row)->Add(offset);
    return true;
  }
  if (Contains(row, offset)) return false;
  return MutableRow(owner, row)->Add(offset);
}

bool Fragment::Remove(OwnerToken owner, uint64_t row, uint32_t offset) {
  if (!Contains(row, offset)) return false;
  MutableRow(owner, row)->Remove(offset);
  DropIfEmpty(owner, row);
  if (mode_ == Mode::kMutex) column_rows_.Set(owner, offset, std::nullopt);
  return true;
}

bool Fragment::RemoveRow(OwnerToken owner, uint64_t row) {
  const Roaring32* r = Row(row);
  if (r == nullptr) return false;
  if (mode_ == Mode::kMutex) {
    r->ForEach([&](uint32_t offset) {
      column_rows_.Set(owner, offset, std::nullopt);
    });
  }
  rows_.Erase(owner, row);
  return true;
}

bool Fragment::ReplaceRow(OwnerToken owner, uint64_t row,
                          const Roaring32& bits) {
  const Roaring32* r = Row(row);
  if (r == nullptr ? bits.IsEmpty() : r->Equals(bits)) return false;
  if (bits.IsEmpty()) {
    rows_.Erase(owner, row);
  } else {
    auto fresh = std::make_shared<RowBits>();
    fresh->owner = owner;
    fresh->bits = bits.Copy();
    rows_.Put(owner, row, std::move(fresh));
  }
  return true;
}

bool Fragment::AddToRow(OwnerToken owner, uint64_t row, const Roaring32& bits) {
  const Roaring32* r = Row(row);
  if (bits.IsEmpty() || (r != nullptr && bits.IsSubsetOf(*r))) return false;
  MutableRow(owner, row)->OrInPlace(bits);
  return true;
}

namespace {

// Applies `f(row, offsets)` to each run of equal rows of sorted pairs.
template <typename F>
void ForEachRowRun(const std::vector<std::pair<uint64_t, uint32_t>>& sorted,
                   F&& f) {
  std::vector<uint32_t> offsets;
  for (size_t i = 0; i < sorted.size();) {
    size_t j = i;
    offsets.clear();
    while (j < sorted.size() && sorted[j].first == sorted[i].first) {
      offsets.push_back(sorted[j++].second);
    }
    f(sorted[i].first, offsets);
    i = j;
  }
}

}  // namespace

uint64_t Fragment::AddBulk(OwnerToken owner,
                           std::vector<std::pair<uint64_t, uint32_t>> bits) {
  uint64_t changed = 0;
  if (mode_ == Mode::kMulti) {
    std::sort(bits.begin(), bits.end());
    bits.erase(std::unique(bits.begin(), bits.end()), bits.end());
    ForEachRowRun(bits,
                  [&](uint64_t row, const std::vector<uint32_t>& offsets) {
                    changed += AddToRowMany(owner, row, offsets);
                  });
    return changed;
  }
  // Last write per offset wins: stable sort by offset, keep each run's last.
  std::stable_sort(bits.begin(), bits.end(), [](const auto& a, const auto& b) {
    return a.second < b.second;
  });
  std::vector<std::pair<uint64_t, uint32_t>> adds, removes;
  adds.reserve(bits.size());
  for (size_t i = 0; i < bits.size(); ++i) {
    if (i + 1 < bits.size() && bits[i + 1].second == bits[i].second) continue;
    const auto [row, offset] = bits[i];
    const std::optional<uint64_t> old = RowOf(offset);
    if (old == row) continue;
    if (old) removes.emplace_back(*old, offset);
    adds.emplace_back(row, offset);
    if (mode_ == Mode::kMutex) column_rows_.Set(owner, offset, row);
  }
  std::sort(removes.begin(), removes.end());
  std::sort(adds.begin(), adds.end());
  ForEachRowRun(removes,
                [&](uint64_t row, const std::vector<uint32_t>& offsets) {
                  // Every offset is in the row (it came from RowOf), so a
                  // removal that covers the whole row drops it without copying
                  // it first.
                  if (Row(row)->Cardinality() == offsets.size()) {
                    rows_.Erase(owner, row);
                    return;
                  }
                  MutableRow(owner, row)->RemoveMany(offsets);
                });
  ForEachRowRun(adds, [&](uint64_t row, const std::vector<uint32_t>& offsets) {
    AddToRowMany(owner, row, offsets);
  });
  return adds.size();
}

bool Fragment::RemoveColumns(OwnerToken owner, const Roaring32& cols) {
  std::vector<uint64_t> hit;
  rows_.ForEach([&](uint64_t row, const RowPtr& p) {
    if (Roaring32::Intersects(p->bits, cols)) hit.push_back(row);
    return true;
  });
  for (uint64_t row : hit) {
    MutableRow(owner, row)->AndNotInPlace(cols);
    DropIfEmpty(owner, row);
  }
  if (mode_ == Mode::kMutex && !hit.empty()) {
    cols.ForEach([&](uint32_t offset) {
      column_rows_.Set(owner, offset, std::nullopt);
    });
  }
  return !hit.empty();
}

size_t Fragment::MemoryBytes() const {
  size_t n = column_rows_.MemoryBytes();
  rows_.ForEach([&](uint64_t, const RowPtr& p) {
    n += sizeof(RowBits) + 32 + p->bits.MemoryBytes();
    return true;
  });
  return n;
}

}  // namespace featurebase::internal
