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

#include <algorithm>
#include <array>
#include <bit>
#include <cstdint>
#include <cstring>
#include <memory>
#include <optional>
#include <span>
#include <string_view>
#include <utility>
#include <vector>

#include "lib/bitmap/roaring32.h"
#include "lib/core/persistent_map.h"
#include "lib/core/row_data.h"

namespace featurebase::internal {

class ColumnRows {
 public:
  // The row of the column at `offset` (< 2^20), if any.
  std::optional<uint64_t> Get(uint32_t offset) const;
  // Sets (or with nullopt, clears) the row of `offset`. Rows must be
  // < 2^64 - 1.
  void Set(OwnerToken owner, uint32_t offset, std::optional<uint64_t> row);
  // Set(owner, offset, row) for each (row, offset) of `bits`, whose offsets
  // ascend (of equal offsets the last counts), calling changed(old, row,
  // offset) for each offset whose row differs from its previous one `old`
  // (nullopt: none). The page table and each page are made the owner's,
  // and widened, once per run of offsets in the page, not per offset.
  template <typename F>
  void SetMany(OwnerToken owner,
               std::span<const std::pair<uint64_t, uint32_t>> bits,
               F&& changed);
  // The table of a fragment holding `rows` (row id, its column offsets;
  // each offset in at most one row), stamped with `owner`. Fills pages
  // directly: O(bits), no per-bit copy-on-write checks (storage load).
  static ColumnRows Build(OwnerToken owner,
                          std::span<const std::pair<uint64_t, RowData>> rows);
  // Storage load: the table whose present pages are `pages` (page index
  // < kPages, ascending; width 1, 2, 4 or 8; kPageSize·width bytes, entries
  // as PageAt describes), stamped with `owner`. The caller validates them.
  struct PageData {
    int index = 0;
    int width = 1;
    std::string_view bytes;
  };
  static ColumnRows FromPages(OwnerToken owner,
                              std::span<const PageData> pages);
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

  // The owner's page `index` of the owner's table, created if absent, at
  // least `width` bytes wide.
  Page* MutablePage(OwnerToken owner, int index, int width);
  static int WidthFor(uint64_t stored) {
    return stored <= 0xFF         ? 1
           : stored <= 0xFFFF     ? 2
           : stored <= 0xFFFFFFFF ? 4
                                  : 8;
  }
  template <typename T, typename F>
  static void SetRun(uint8_t* data, const std::pair<uint64_t, uint32_t>* b,
                     const std::pair<uint64_t, uint32_t>* e, F& changed);
};

template <typename T, typename F>
void ColumnRows::SetRun(uint8_t* data, const std::pair<uint64_t, uint32_t>* b,
                        const std::pair<uint64_t, uint32_t>* e, F& changed) {
  for (const auto* p = b; p != e; ++p) {
    if (p + 1 != e && p[1].second == p->second) continue;
    const auto [row, offset] = *p;
    uint8_t* at = data + sizeof(T) * (offset & (kPageSize - 1));
    T old;
    std::memcpy(&old, at, sizeof(T));  // little-endian, as Page::Load
    const uint64_t stored = row + 1;
    if (old == stored) continue;
    const T v = T(stored);
    std::memcpy(at, &v, sizeof(T));
    changed(old == 0 ? std::nullopt : std::optional<uint64_t>(old - 1), row,
            offset);
  }
}

template <typename F>
void ColumnRows::SetMany(OwnerToken owner,
                         std::span<const std::pair<uint64_t, uint32_t>> bits,
                         F&& changed) {
  static_assert(std::endian::native == std::endian::little);
  for (size_t i = 0; i < bits.size();) {
    const int index = int(bits[i].second >> kPageBits);
    size_t j = i;
    uint64_t max_row = 0;
    for (; j < bits.size() && int(bits[j].second >> kPageBits) == index; ++j)
      max_row = std::max(max_row, bits[j].first);
    Page* page = MutablePage(owner, index, WidthFor(max_row + 1));
    const auto* b = bits.data() + i;
    const auto* e = bits.data() + j;
    switch (page->width) {
      case 1:
        SetRun<uint8_t>(page->data.data(), b, e, changed);
        break;
      case 2:
        SetRun<uint16_t>(page->data.data(), b, e, changed);
        break;
      case 4:
        SetRun<uint32_t>(page->data.data(), b, e, changed);
        break;
      default:
        SetRun<uint64_t>(page->data.data(), b, e, changed);
        break;
    }
    i = j;
  }
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_COLUMN_ROWS_H_
