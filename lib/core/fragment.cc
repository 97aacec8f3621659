#include "lib/core/fragment.h"

#include <algorithm>
#include <vector>

#include "absl/container/flat_hash_map.h"

namespace featurebase::internal {
namespace {

bool IsSubset(const Roaring32& a, const RowData& b) {
  if (const Roaring32* big = b.roaring()) return a.IsSubsetOf(*big);
  return a.Cardinality() <= b.Cardinality() &&
         b.AndCardinality(a) == a.Cardinality();
}

bool SameBits(const RowData& a, const Roaring32& b) {
  if (const Roaring32* big = a.roaring()) return big->Equals(b);
  return a.Cardinality() == b.Cardinality() && IsSubset(b, a);
}

}  // namespace

bool Fragment::Contains(uint64_t row, uint32_t offset) const {
  const RowData* r = Row(row);
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

void Fragment::DropIfEmpty(OwnerToken owner, uint64_t row) {
  const RowData* r = Row(row);
  if (r != nullptr && r->empty()) rows_.Erase(owner, row);
}

bool Fragment::Add(OwnerToken owner, uint64_t row, uint32_t offset) {
  if (mode_ != Mode::kMulti) {
    const std::optional<uint64_t> old = RowOf(offset);
    if (old == row) return false;
    if (old) {
      MutableRow(owner, *old)->Remove(owner, offset);
      DropIfEmpty(owner, *old);
    }
    if (mode_ == Mode::kMutex) column_rows_.Set(owner, offset, row);
    MutableRow(owner, row)->Add(owner, offset);
    return true;
  }
  if (Contains(row, offset)) return false;
  return MutableRow(owner, row)->Add(owner, offset);
}

bool Fragment::Remove(OwnerToken owner, uint64_t row, uint32_t offset) {
  if (!Contains(row, offset)) return false;
  MutableRow(owner, row)->Remove(owner, offset);
  DropIfEmpty(owner, row);
  if (mode_ == Mode::kMutex) column_rows_.Set(owner, offset, std::nullopt);
  return true;
}

bool Fragment::RemoveRow(OwnerToken owner, uint64_t row) {
  const RowData* r = Row(row);
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
    MutableRow(owner, d.row)->AndNotInPlace(owner, d.removed);
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
    MutableRow(owner, d.row)->OrInPlace(owner, d.added);
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
  for (auto& [row, bits] : rows)
    f.rows_.Put(owner, row, RowData::FromRoaring(owner, std::move(bits)));
  return f;
}

bool Fragment::ReplaceRow(OwnerToken owner, uint64_t row,
                          const Roaring32& bits) {
  const RowData* r = Row(row);
  if (r == nullptr ? bits.IsEmpty() : SameBits(*r, bits)) return false;
  if (bits.IsEmpty()) {
    rows_.Erase(owner, row);
  } else {
    rows_.Put(owner, row, RowData::FromRoaring(owner, bits.Copy()));
  }
  return true;
}

bool Fragment::AddToRow(OwnerToken owner, uint64_t row, const Roaring32& bits) {
  const RowData* r = Row(row);
  if (bits.IsEmpty() || (r != nullptr && IsSubset(bits, *r))) return false;
  MutableRow(owner, row)->OrInPlace(owner, bits);
  return true;
}

namespace {

// (row, offset) pairs grouped by row: rows ascending, each row's offsets
// sorted and unique, all in one flat array (no allocation per row, which
// dominated bulk updates spread over many rows).
struct RowGroups {
  std::vector<uint64_t> rows;
  std::vector<uint32_t> begin, end;  // the offsets of rows[i]
  std::vector<uint32_t> offsets;

  std::span<const uint32_t> of(size_t i) const {
    return {offsets.data() + begin[i], offsets.data() + end[i]};
  }
};

// One hash lookup per change of row between consecutive pairs, then a
// counting scatter; the O(n log n) pair sort the naive way needs dominated
// ingest profiles. Offsets usually arrive sorted (records in id order), so
// the per-row sorts are no-ops.
RowGroups GroupByRow(const std::vector<std::pair<uint64_t, uint32_t>>& pairs) {
  RowGroups g;
  std::vector<uint32_t> group_of(pairs.size());
  std::vector<uint32_t> counts;
  absl::flat_hash_map<uint64_t, uint32_t> index;
  uint64_t last_row = 0;
  uint32_t last_group = UINT32_MAX;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const uint64_t row = pairs[i].first;
    if (row != last_row || last_group == UINT32_MAX) {
      auto [it, fresh] = index.try_emplace(row, uint32_t(g.rows.size()));
      if (fresh) {
        g.rows.push_back(row);
        counts.push_back(0);
      }
      last_row = row;
      last_group = it->second;
    }
    group_of[i] = last_group;
    ++counts[last_group];
  }
  // Order groups by row id; rank[group] is its position.
  std::vector<uint32_t> order(g.rows.size());
  for (uint32_t i = 0; i < order.size(); ++i) order[i] = i;
  if (!std::is_sorted(g.rows.begin(), g.rows.end())) {
    std::sort(order.begin(), order.end(),
              [&](uint32_t a, uint32_t b) { return g.rows[a] < g.rows[b]; });
  }
  std::vector<uint32_t> rank(order.size());
  std::vector<uint64_t> sorted_rows(order.size());
  g.begin.resize(order.size());
  uint32_t at = 0;
  for (uint32_t pos = 0; pos < order.size(); ++pos) {
    rank[order[pos]] = pos;
    sorted_rows[pos] = g.rows[order[pos]];
    g.begin[pos] = at;
    at += counts[order[pos]];
  }
  g.rows = std::move(sorted_rows);
  g.end = g.begin;  // fill cursors, then the ends
  g.offsets.resize(pairs.size());
  for (size_t i = 0; i < pairs.size(); ++i)
    g.offsets[g.end[rank[group_of[i]]]++] = pairs[i].second;
  for (size_t i = 0; i < g.rows.size(); ++i) {
    uint32_t* first = g.offsets.data() + g.begin[i];
    uint32_t* last = g.offsets.data() + g.end[i];
    if (!std::is_sorted(first, last)) std::sort(first, last);
    g.end[i] = uint32_t(std::unique(first, last) - g.offsets.data());
  }
  return g;
}

}  // namespace

uint64_t Fragment::AddBulk(
    OwnerToken owner, const std::vector<std::pair<uint64_t, uint32_t>>& input) {
  uint64_t changed = 0;
  if (mode_ == Mode::kMulti) {
    const RowGroups g = GroupByRow(input);
    for (size_t i = 0; i < g.rows.size(); ++i) {
      bool inserted = false;
      RowData* r = rows_.Mutate(owner, g.rows[i], &inserted);
      changed += inserted ? (*r = RowData::FromSorted(owner, g.of(i)),
                             r->Cardinality())
                          : r->AddMany(owner, g.of(i));
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
  const RowGroups gone = GroupByRow(removes);
  for (size_t i = 0; i < gone.rows.size(); ++i) {
    // Every offset is in the row (it came from RowOf), so a removal that
    // covers the whole row drops it without copying it first.
    const std::span<const uint32_t> offs = gone.of(i);
    if (Row(gone.rows[i])->Cardinality() == offs.size()) {
      rows_.Erase(owner, gone.rows[i]);
    } else {
      MutableRow(owner, gone.rows[i])->RemoveMany(owner, offs);
    }
  }
  const RowGroups added = GroupByRow(adds);
  for (size_t i = 0; i < added.rows.size(); ++i) {
    bool inserted = false;
    RowData* r = rows_.Mutate(owner, added.rows[i], &inserted);
    if (inserted) {
      *r = RowData::FromSorted(owner, added.of(i));
    } else {
      r->AddMany(owner, added.of(i));
    }
  }
  return adds.size();
}

bool Fragment::RemoveColumns(OwnerToken owner, const Roaring32& cols) {
  std::vector<uint64_t> hit;
  rows_.ForEach([&](uint64_t row, const RowData& r) {
    if (r.Intersects(cols)) hit.push_back(row);
    return true;
  });
  for (uint64_t row : hit) {
    MutableRow(owner, row)->AndNotInPlace(owner, cols);
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
  rows_.ForEach([&](uint64_t, const RowData& r) {
    n += sizeof(RowData) + r.HeapBytes();
    return true;
  });
  return n;
}

}  // namespace featurebase::internal
