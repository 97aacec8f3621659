#include "lib/core/row_counts.h"

#include <map>
#include <type_traits>
#include <vector>

namespace featurebase::internal {

void CountRowsInShard(
    const FieldState& f, std::span<const uint64_t> views, uint64_t shard,
    const Roaring32* filter, const std::set<uint64_t>* ids, bool sizes,
    absl::FunctionRef<void(uint64_t row, uint64_t count, uint64_t size)> emit) {
  // `bits` is a RowData or a Roaring32.
  auto add = [&](uint64_t row, const auto& bits) {
    uint64_t count;
    if constexpr (std::is_same_v<std::decay_t<decltype(bits)>, Roaring32>) {
      count = filter ? Roaring32::AndCardinality(bits, *filter)
                     : bits.Cardinality();
    } else {
      count = filter ? bits.AndCardinality(*filter) : bits.Cardinality();
    }
    if (count > 0) emit(row, count, sizes ? bits.Cardinality() : 0);
  };
  if (views.size() == 1) {
    const Fragment* frag = f.FindFragment(views[0], shard);
    if (frag == nullptr) return;
    frag->rows().ForEach([&](uint64_t row, const RowData& r) {
      if (ids == nullptr || ids->count(row)) add(row, r);
      return true;
    });
    return;
  }
  // Several views (a time field without a standard view): a row's columns
  // may repeat across them, so count its union.
  std::map<uint64_t, std::vector<const RowData*>> parts;
  for (uint64_t vk : views) {
    const Fragment* frag = f.FindFragment(vk, shard);
    if (frag == nullptr) continue;
    frag->rows().ForEach([&](uint64_t row, const RowData& r) {
      if (ids == nullptr || ids->count(row)) parts[row].push_back(&r);
      return true;
    });
  }
  for (const auto& [row, rows] : parts) {
    if (rows.size() == 1) {
      add(row, *rows[0]);
    } else {
      add(row, RowData::Union(rows));
    }
  }
}

}  // namespace featurebase::internal
