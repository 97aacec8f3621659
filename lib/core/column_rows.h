// ColumnRows: the row each column of a shard currently holds in a mutex
// field, so that writing a mutex value costs O(1) whatever the number of
// distinct rows (FeatureBase rescans every row of the fragment instead).
//
// 2^20 entries in 256 pages of 4096; a page exists only once a column in it
// has a value, and stores row + 1 (0 = none) in the narrowest width that
// fits its rows (1, 2, 4 or 8 bytes), so a field of under 255 rows costs one
// byte per column. Pages and the page table are copy-on-write under an
// owner token, like PersistentMap.
//
// Thread-safety: as PersistentMap (immutable once published, one writer).
#ifndef FEATUREBASE_LIB_CORE_COLUMN_ROWS_H_
#define FEATUREBASE_LIB_CORE_COLUMN_ROWS_H_

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "lib/bitmap/roaring32.h"
#include "lib/core/persistent_map.h"

namespace featurebase::internal {

class ColumnRows {
 public:
  // The row of the column at `offset` (< 2^20), if any.
  std::optional<uint64_t> Get(uint32_t offset) const;
  // Sets (or with nullopt, clears) the row of `offset`. Rows must be
  // < 2^64 - 1.
  void Set(OwnerToken owner, uint32_t offset, std::optional<uint64_t> row);
  // The table of a fragment holding `rows` (row id, its column offsets;
  // each offset in at most one row), stamped with `owner`. Fills pages
  // directly: O(bits), no per-bit copy-on-write checks (storage load).
  static ColumnRows Build(OwnerToken owner,
                          std::span<const std::pair<uint64_t, Roaring32>> rows);
  // Approximate heap bytes held.
  size_t MemoryBytes() const;

  // ---- read-only bulk access (scans such as GroupBy over mutex fields)

  static constexpr int kPageBits = 12;
  static constexpr uint32_t kPageSize = 1u << kPageBits;  // entries per page
  static constexpr int kPages = 1 << (20 - kPageBits);

  // The entries of one page: `kPageSize` little-endian values of `width`
  // bytes (1, 2, 4 or 8) at `data`, each row + 1 (0 = no row). `data` is
  // null when the page is absent (no column in it has a row). Valid while
  // this ColumnRows (or a copy sharing its pages) lives.
  struct PageView {
    int width = 0;
    const uint8_t* data = nullptr;
  };
  // Page `page` (< kPages): offsets [page·kPageSize, (page+1)·kPageSize).
  PageView PageAt(int page) const {
    if (!table_) return {};
    const Page* p = table_->pages[page].get();
    if (p == nullptr) return {};
    return {p->width, p->data.data()};
  }

 private:
  struct Page {
    OwnerToken owner = 0;
    int width = 1;  // bytes per entry
    std::vector<uint8_t> data;
    uint64_t Load(uint32_t i) const;
    void Store(uint32_t i, uint64_t v);
    void Widen(int width);
  };
  struct Table {
    OwnerToken owner = 0;
    std::array<std::shared_ptr<Page>, kPages> pages;
  };
  std::shared_ptr<Table> table_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_COLUMN_ROWS_H_
