// Fragment: the bits of one (field, view, shard): a map from row id to the
// row's column offsets (< 2^20) in the shard (RowData: inline when tiny, a
// sorted array while small, else a roaring bitmap).
//
// A Fragment is a value whose copies share everything (rows are
// copy-on-write under an owner token; see persistent_map.h). Single-valued
// fragments (mutex and bool fields) also keep which row each column holds,
// so that replacing a value is O(1) in the number of rows.
//
// Thread-safety: immutable once published; mutation by one writer holding
// the owner token.
#ifndef FEATUREBASE_LIB_CORE_FRAGMENT_H_
#define FEATUREBASE_LIB_CORE_FRAGMENT_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "lib/bitmap/roaring32.h"
#include "lib/core/column_rows.h"
#include "lib/core/persistent_map.h"
#include "lib/core/row_data.h"

namespace featurebase::internal {

class Fragment {
 public:
  enum class Mode : uint8_t {
    kMulti,  // set and time fields, existence: any number of rows per column
    kMutex,  // at most one row per column, tracked in ColumnRows
    kBool,   // rows 0 and 1 only, at most one per column
  };

  Fragment() = default;
  explicit Fragment(Mode mode) : mode_(mode) {}

  Mode mode() const { return mode_; }
  // Every stored row is non-empty.
  const PersistentMap<RowData>& rows() const { return rows_; }
  bool empty() const { return rows_.empty(); }
  // The bits of `row`, or null when the row is empty.
  const RowData* Row(uint64_t row) const { return rows_.Find(row); }
  bool Contains(uint64_t row, uint32_t offset) const;
  // Single-valued fragments: the row the column holds.
  std::optional<uint64_t> RowOf(uint32_t offset) const;
  // kMutex fragments: the column -> row side table, for bulk reads (null in
  // other modes).
  const ColumnRows* column_rows() const {
    return mode_ == Mode::kMutex ? &column_rows_ : nullptr;
  }

  // ---- mutation under `owner`; each returns whether the bits changed.

  // Adds a bit. In single-valued modes the column's previous row (if
  // different) is cleared first.
  bool Add(OwnerToken owner, uint64_t row, uint32_t offset);
  // Removes a bit.
  bool Remove(OwnerToken owner, uint64_t row, uint32_t offset);
  // Removes a whole row.
  bool RemoveRow(OwnerToken owner, uint64_t row);
  // Makes `row` exactly `bits` (kMulti only).
  bool ReplaceRow(OwnerToken owner, uint64_t row, const Roaring32& bits);
  // Unions `bits` into `row` (kMulti only).
  bool AddToRow(OwnerToken owner, uint64_t row, const Roaring32& bits);
  // Adds many bits at once: `bits` holds (row, offset) pairs in any order.
  // Single-valued modes keep the last pair per offset and clear each
  // offset's previous row. The pairs are grouped by row (counting or radix
  // sort) and every touched row is edited once, in one ordered pass over
  // the trie (PersistentMap::UpdateSorted) that copies each touched leaf
  // once. O(n + rows touched + touched leaves * 64). Returns the number of
  // bits that changed.
  uint64_t AddBulk(OwnerToken owner,
                   std::span<const std::pair<uint64_t, uint32_t>> bits);
  // Removes the columns in `cols` from every row.
  bool RemoveColumns(OwnerToken owner, const Roaring32& cols);

  // ---- storage (lib/storage): replay and load.

  // One row's change: the row becomes (row - removed) | added; `removed`
  // and `added` are disjoint.
  struct RowDiff {
    uint64_t row = 0;
    Roaring32 removed;
    Roaring32 added;
  };
  // Applies `diffs` (every removal first, then every addition, so a mutex
  // column moving between rows ends in its new row) and keeps the mutex
  // side table current. Rows left empty are dropped.
  void ApplyRowDiffs(OwnerToken owner, std::span<const RowDiff> diffs);
  // A fragment holding exactly `rows` (row id, non-empty bits), ascending by
  // row id. Mutex fragments take `column_rows` when given (it must describe
  // `rows`), else build it from the rows, stamped with `owner`.
  static Fragment FromRows(Mode mode, OwnerToken owner,
                           std::vector<std::pair<uint64_t, RowData>> rows,
                           std::optional<ColumnRows> column_rows = {});

  // Approximate heap bytes held (rows and side table; shared parts counted).
  size_t MemoryBytes() const;

 private:
  // The row's slot under `owner` (an absent row is created empty and must
  // be filled or erased before the mutation returns).
  RowData* MutableRow(OwnerToken owner, uint64_t row) {
    return rows_.Mutate(owner, row);
  }
  void DropIfEmpty(OwnerToken owner, uint64_t row);

  Mode mode_ = Mode::kMulti;
  PersistentMap<RowData> rows_;
  ColumnRows column_rows_;  // kMutex only
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_FRAGMENT_H_
