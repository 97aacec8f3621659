#include "lib/core/fragment.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"

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

void Fragment::ApplyRowDiffs(OwnerToken owner, std::span<const RowDiff> diffs) {
  for (const RowDiff& d : diffs) {
    if (d.removed.IsEmpty() || Row(d.row) == nullptr) continue;
    MutableRow(owner, d.row)->AndNotInPlace(d.removed);
    if (mode_ == Mode::kMutex) {
      d.removed.ForEach([&](uint32_t offset) {
        if (column_rows_.Get(offset) == d.row)
          column_rows_.Set(owner, offset, std::nullopt);
      });
    }
    DropIfEmpty(owner, d.row);
  }
  for (const RowDiff& d : diffs) {
    if (d.added.IsEmpty()) continue;
    MutableRow(owner, d.row)->OrInPlace(d.added);
    if (mode_ == Mode::kMutex) {
      d.added.ForEach(
          [&](uint32_t offset) { column_rows_.Set(owner, offset, d.row); });
    }
  }
}

Fragment Fragment::FromRows(Mode mode, OwnerToken owner,
                            std::vector<std::pair<uint64_t, Roaring32>> rows,
                            std::optional<ColumnRows> column_rows) {
  Fragment f(mode);
  if (mode == Mode::kMutex) {
    f.column_rows_ =
        column_rows ? std::move(*column_rows) : ColumnRows::Build(owner, rows);
  }
  for (auto& [row, bits] : rows) {
    auto p = std::make_shared<RowBits>();
    p->owner = owner;
    p->bits = std::move(bits);
    f.rows_.Put(owner, row, std::move(p));
  }
  return f;
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

// Groups (row, offset) pairs by row: rows ascending, each row's offsets
// sorted and unique. One hash lookup per pair; the pair sort the naive way
// needs is O(n log n) and dominated ingest profiles. Offsets usually arrive
// sorted (records in id order), so the per-row sorts are no-ops.
std::vector<std::pair<uint64_t, std::vector<uint32_t>>> GroupByRow(
    const std::vector<std::pair<uint64_t, uint32_t>>& pairs) {
  std::vector<std::pair<uint64_t, std::vector<uint32_t>>> groups;
  absl::flat_hash_map<uint64_t, uint32_t> index;
  uint64_t last_row = UINT64_MAX;
  uint32_t last_group = 0;
  for (const auto& [row, off] : pairs) {
    if (row != last_row || groups.empty()) {
      auto [it, fresh] = index.try_emplace(row, uint32_t(groups.size()));
      if (fresh) groups.emplace_back(row, std::vector<uint32_t>());
      last_row = row;
      last_group = it->second;
    }
    groups[last_group].second.push_back(off);
  }
  std::sort(groups.begin(), groups.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& [row, offs] : groups) {
    if (!std::is_sorted(offs.begin(), offs.end()))
      std::sort(offs.begin(), offs.end());
    offs.erase(std::unique(offs.begin(), offs.end()), offs.end());
  }
  return groups;
}

}  // namespace

uint64_t Fragment::AddBulk(
    OwnerToken owner, const std::vector<std::pair<uint64_t, uint32_t>>& input) {
  uint64_t changed = 0;
  if (mode_ == Mode::kMulti) {
    for (const auto& [row, offsets] : GroupByRow(input)) {
      changed += AddToRowMany(owner, row, offsets);
    }
    return changed;
  }
  // Last write per offset wins: order by offset (stable), keep each run's
  // last. Records usually arrive in offset order already.
  const auto by_offset = [](const auto& a, const auto& b) {
    return a.second < b.second;
  };
  std::vector<std::pair<uint64_t, uint32_t>> sorted;
  const std::vector<std::pair<uint64_t, uint32_t>>* in = &input;
  if (!std::is_sorted(input.begin(), input.end(), by_offset)) {
    sorted = input;
    std::stable_sort(sorted.begin(), sorted.end(), by_offset);
    in = &sorted;
  }
  const auto& bits = *in;
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
  for (const auto& [row, offsets] : GroupByRow(removes)) {
    // Every offset is in the row (it came from RowOf), so a removal that
    // covers the whole row drops it without copying it first.
    if (Row(row)->Cardinality() == offsets.size()) {
      rows_.Erase(owner, row);
      continue;
    }
    MutableRow(owner, row)->RemoveMany(offsets);
  }
  for (const auto& [row, offsets] : GroupByRow(adds))
    AddToRowMany(owner, row, offsets);
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
