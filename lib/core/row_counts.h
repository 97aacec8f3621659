// The TopN kernel: how many of a shard's filtered records each row of a
// field holds. The executor's TopN/TopK and Snapshot::TopN both count with
// it, so the two read paths cannot disagree.
#ifndef FEATUREBASE_LIB_CORE_ROW_COUNTS_H_
#define FEATUREBASE_LIB_CORE_ROW_COUNTS_H_

#include <cstdint>
#include <set>
#include <span>

#include "absl/functional/function_ref.h"
#include "lib/bitmap/roaring32.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// For each row of `f` with bits in `shard` of any of `views` (a row present
// in several views counts its distinct columns once), calls
// emit(row, count, size): count is the number of its columns in `filter`
// (every column when `filter` is null), size its number of columns (0
// unless `sizes`). Rows with count 0 are skipped; with `ids`, only those
// rows are visited. Rows come in ascending order.
void CountRowsInShard(
    const FieldState& f, std::span<const uint64_t> views, uint64_t shard,
    const Roaring32* filter, const std::set<uint64_t>* ids, bool sizes,
    absl::FunctionRef<void(uint64_t row, uint64_t count, uint64_t size)> emit);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_ROW_COUNTS_H_
