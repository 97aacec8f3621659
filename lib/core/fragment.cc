#include "lib/core/fragment.h"

#include <algorithm>
#include <bit>
#include <utility>
#include <vector>

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
                            std::vector<std::pair<uint64_t, RowData>> rows,
                            std::optional<ColumnRows> column_rows) {
  Fragment f(mode);
  if (mode == Mode::kMutex) {
    f.column_rows_ =
        column_rows ? std::move(*column_rows) : ColumnRows::Build(owner, rows);
  }
  for (auto& [row, bits] : rows) f.rows_.Put(owner, row, std::move(bits));
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

// Sorts `items` stably by key(item), an integer below 2^key_bits: LSD radix
// sort on 8-bit digits (256 buckets keep the scatter's write streams within
// the cache and TLB even for millions of items), with every digit's
// histogram counted in one pass and digits that all keys share skipped.
// O(n) per digit; hand-written because neither the standard library nor
// abseil has a radix sort, and comparison sorts of (row, offset) pairs
// dominated bulk updates.
template <typename T, typename Key>
void RadixSortBy(std::vector<T>* items, int key_bits, Key key) {
  constexpr int kDigitBits = 8, kBuckets = 1 << kDigitBits;
  const size_t n = items->size();
  const int digits = (key_bits + kDigitBits - 1) / kDigitBits;
  if (n < 64) {
    std::stable_sort(items->begin(), items->end(),
                     [&](const T& a, const T& b) { return key(a) < key(b); });
    return;
  }
  std::vector<uint32_t> counts(size_t(digits) * kBuckets);
  for (const T& item : *items) {
    const uint64_t k = key(item);
    for (int d = 0; d < digits; ++d)
      ++counts[d * kBuckets + ((k >> (d * kDigitBits)) & (kBuckets - 1))];
  }
  std::vector<T> tmp(n);
  for (int d = 0; d < digits; ++d) {
    uint32_t* c = counts.data() + d * kBuckets;
    const auto digit = [&](const T& item) {
      return (key(item) >> (d * kDigitBits)) & (kBuckets - 1);
    };
    if (c[digit((*items)[0])] == n) continue;
    uint32_t at = 0;
    for (int b = 0; b < kBuckets; ++b) at += std::exchange(c[b], at);
    for (const T& item : *items) tmp[c[digit(item)]++] = item;
    items->swap(tmp);
  }
}

int BitWidth(uint64_t x) { return 64 - std::countl_zero(x); }

// Groups by packing each pair into one key, row << 20 | offset, and sorting
// the keys. Fragments hold offsets below 2^20 and the index rows up to
// 2^44 - 1, so keys never collide; pairs outside that (not made by the
// library) are grouped by a comparison sort instead.
RowGroups GroupByRow(std::span<const std::pair<uint64_t, uint32_t>> pairs) {
  constexpr int kOffsetBits = 20;
  RowGroups g;
  uint64_t max_row = 0;
  uint32_t max_off = 0;
  for (const auto& [row, off] : pairs) {
    max_row = std::max(max_row, row);
    max_off = std::max(max_off, off);
  }
  if (max_row < (uint64_t{1} << 16) && max_row <= pairs.size()) {
    // Few row ids (a mutex or set field of up to 2^16 values): a stable
    // counting sort by row keeps each row's offsets in input order, which
    // is usually ascending already.
    std::vector<uint32_t> cursor(max_row + 1);  // counts, then positions
    for (const auto& p : pairs) ++cursor[p.first];
    uint32_t total = 0;
    for (uint64_t r = 0; r <= max_row; ++r) {
      if (cursor[r] == 0) continue;
      g.rows.push_back(r);
      g.begin.push_back(total);
      total += std::exchange(cursor[r], total);
    }
    g.offsets.resize(pairs.size());
    for (const auto& p : pairs) g.offsets[cursor[p.first]++] = p.second;
    g.end.resize(g.rows.size());
    for (size_t i = 0; i < g.rows.size(); ++i) {
      uint32_t* first = g.offsets.data() + g.begin[i];
      uint32_t* last = g.offsets.data() + cursor[g.rows[i]];
      if (!std::is_sorted(first, last)) std::sort(first, last);
      g.end[i] = uint32_t(std::unique(first, last) - g.offsets.data());
    }
    return g;
  }
  const auto add = [&](size_t i, uint64_t row, uint32_t off) {
    if (g.rows.empty() || g.rows.back() != row) {
      if (!g.rows.empty()) g.end.push_back(uint32_t(i));
      g.rows.push_back(row);
      g.begin.push_back(uint32_t(i));
    }
    g.offsets[i] = off;
  };
  if (max_row >> (64 - kOffsetBits) != 0 || max_off >> kOffsetBits != 0) {
    std::vector<std::pair<uint64_t, uint32_t>> sorted(pairs.begin(),
                                                      pairs.end());
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    g.offsets.resize(sorted.size());
    for (size_t i = 0; i < sorted.size(); ++i)
      add(i, sorted[i].first, sorted[i].second);
  } else {
    std::vector<uint64_t> keys(pairs.size());
    for (size_t i = 0; i < pairs.size(); ++i)
      keys[i] = pairs[i].first << kOffsetBits | pairs[i].second;
    RadixSortBy(&keys, kOffsetBits + BitWidth(max_row),
                [](uint64_t k) { return k; });
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    g.offsets.resize(keys.size());
    for (size_t i = 0; i < keys.size(); ++i) {
      add(i, keys[i] >> kOffsetBits,
          uint32_t(keys[i] & ((1u << kOffsetBits) - 1)));
    }
  }
  if (!g.rows.empty()) g.end.push_back(uint32_t(g.offsets.size()));
  return g;
}

}  // namespace

uint64_t Fragment::AddBulk(
    OwnerToken owner, std::span<const std::pair<uint64_t, uint32_t>> input) {
  uint64_t changed = 0;
  if (mode_ == Mode::kMulti) {
    const RowGroups g = GroupByRow(input);
    rows_.UpdateSorted(owner, g.rows, [&](size_t i, RowData& r, bool) {
      changed += r.AddMany(owner, g.of(i));
      return true;
    });
    return changed;
  }
  // Last write per offset wins: order by offset (stable), keep each run's
  // last. Records usually arrive in offset order already.
  const auto by_offset = [](const auto& a, const auto& b) {
    return a.second < b.second;
  };
  std::vector<std::pair<uint64_t, uint32_t>> sorted;
  std::span<const std::pair<uint64_t, uint32_t>> bits = input;
  if (!std::is_sorted(input.begin(), input.end(), by_offset)) {
    sorted.assign(input.begin(), input.end());
    uint32_t max_off = 0;
    for (const auto& p : sorted) max_off = std::max(max_off, p.second);
    RadixSortBy(&sorted, BitWidth(max_off),
                [](const auto& p) { return uint64_t{p.second}; });
    bits = sorted;
  }
  std::vector<std::pair<uint64_t, uint32_t>> adds, removes;
  adds.reserve(bits.size());
  const auto move = [&](std::optional<uint64_t> old, uint64_t row,
                        uint32_t offset) {
    if (old) removes.emplace_back(*old, offset);
    adds.emplace_back(row, offset);
  };
  if (mode_ == Mode::kMutex) {
    column_rows_.SetMany(owner, bits, move);
  } else {
    for (size_t i = 0; i < bits.size(); ++i) {
      if (i + 1 < bits.size() && bits[i + 1].second == bits[i].second) continue;
      const auto [row, offset] = bits[i];
      const std::optional<uint64_t> old = RowOf(offset);
      if (old != row) move(old, row, offset);
    }
  }
  // One ordered pass over the rows losing or gaining columns, visiting
  // each trie leaf once.
  const RowGroups gone = GroupByRow(removes), added = GroupByRow(adds);
  constexpr size_t kNone = SIZE_MAX;
  std::vector<uint64_t> keys;
  std::vector<std::pair<size_t, size_t>> which;  // (gone index, added index)
  keys.reserve(gone.rows.size() + added.rows.size());
  which.reserve(keys.capacity());
  for (size_t i = 0, j = 0; i < gone.rows.size() || j < added.rows.size();) {
    const bool take_gone =
        i < gone.rows.size() &&
        (j == added.rows.size() || gone.rows[i] <= added.rows[j]);
    const bool take_added =
        j < added.rows.size() &&
        (i == gone.rows.size() || added.rows[j] <= gone.rows[i]);
    keys.push_back(take_gone ? gone.rows[i] : added.rows[j]);
    which.emplace_back(take_gone ? i++ : kNone, take_added ? j++ : kNone);
  }
  rows_.UpdateSorted(owner, keys, [&](size_t k, RowData& r, bool) {
    const auto [i, j] = which[k];
    if (i != kNone) {
      // Every offset is in the row (it came from RowOf).
      if (j == kNone && r.Cardinality() == gone.of(i).size()) return false;
      r.RemoveMany(owner, gone.of(i));
    }
    if (j != kNone) r.AddMany(owner, added.of(j));
    return !r.empty();
  });
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
