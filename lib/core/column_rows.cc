#include "lib/core/column_rows.h"

#include <algorithm>
#include <cstring>

namespace featurebase::internal {

uint64_t ColumnRows::Page::Load(uint32_t i) const {
  switch (width) {
    case 1:
      return data[i];
    case 2: {
      uint16_t v;
      std::memcpy(&v, &data[size_t{2} * i], 2);
      return v;
    }
    case 4: {
      uint32_t v;
      std::memcpy(&v, &data[size_t{4} * i], 4);
      return v;
    }
    default: {
      uint64_t v;
      std::memcpy(&v, &data[size_t{8} * i], 8);
      return v;
    }
  }
}

void ColumnRows::Page::Store(uint32_t i, uint64_t v) {
  std::memcpy(&data[size_t(width) * i], &v, size_t(width));  // little-endian
}

void ColumnRows::Page::Widen(int new_width) {
  Page wider;
  wider.width = new_width;
  wider.data.assign(size_t(new_width) * kPageSize, 0);
  for (uint32_t i = 0; i < kPageSize; ++i) wider.Store(i, Load(i));
  width = new_width;
  data = std::move(wider.data);
}

std::optional<uint64_t> ColumnRows::Get(uint32_t offset) const {
  if (!table_) return std::nullopt;
  const Page* page = table_->pages[offset >> kPageBits].get();
  if (page == nullptr) return std::nullopt;
  const uint64_t v = page->Load(offset & (kPageSize - 1));
  if (v == 0) return std::nullopt;
  return v - 1;
}

ColumnRows::Page* ColumnRows::MutablePage(OwnerToken owner, int index,
                                          int width) {
  if (!table_) {
    table_ = std::make_shared<Table>();
    table_->owner = owner;
  } else if (table_->owner != owner) {
    table_ = std::make_shared<Table>(*table_);
    table_->owner = owner;
  }
  std::shared_ptr<Page>& page = table_->pages[index];
  if (!page) {
    page = std::make_shared<Page>();
    page->owner = owner;
    page->data.assign(kPageSize, 0);
  } else if (page->owner != owner) {
    page = std::make_shared<Page>(*page);
    page->owner = owner;
  }
  if (width > page->width) page->Widen(width);
  return page.get();
}

void ColumnRows::Set(OwnerToken owner, uint32_t offset,
                     std::optional<uint64_t> row) {
  // Clearing an absent table or page changes nothing.
  if (!row && (!table_ || !table_->pages[offset >> kPageBits])) return;
  const uint64_t stored = row ? *row + 1 : 0;
  Page* page = MutablePage(owner, int(offset >> kPageBits), WidthFor(stored));
  page->Store(offset & (kPageSize - 1), stored);
}

ColumnRows ColumnRows::Build(
    OwnerToken owner, std::span<const std::pair<uint64_t, RowData>> rows) {
  ColumnRows out;
  if (rows.empty()) return out;
  uint64_t max_row = 0;
  for (const auto& [row, bits] : rows) max_row = std::max(max_row, row);
  const uint64_t top = max_row + 1;
  const int width = top <= 0xFF         ? 1
                    : top <= 0xFFFF     ? 2
                    : top <= 0xFFFFFFFF ? 4
                                        : 8;
  out.table_ = std::make_shared<Table>();
  out.table_->owner = owner;
  // Offsets in bulk (roaring_bitmap_to_uint32_array per container) rather
  // than through the per-value iterator: this loop runs for every bit of
  // every mutex fragment when a checkpoint loads.
  std::vector<uint32_t> offsets;
  for (const auto& [row, bits] : rows) {
    const uint64_t stored = row + 1;
    offsets.clear();
    bits.AppendTo(&offsets);
    Page* page = nullptr;
    uint32_t page_no = UINT32_MAX;
    for (const uint32_t offset : offsets) {
      if (offset >> kPageBits != page_no) {
        page_no = offset >> kPageBits;
        std::shared_ptr<Page>& p = out.table_->pages[page_no];
        if (!p) {
          p = std::make_shared<Page>();
          p->owner = owner;
          p->width = width;
          p->data.assign(size_t(width) * kPageSize, 0);
        }
        page = p.get();
      }
      if (width == 1) {  // fields of under 255 rows: one byte, no memcpy
        page->data[offset & (kPageSize - 1)] = uint8_t(stored);
      } else {
        page->Store(offset & (kPageSize - 1), stored);
      }
    }
  }
  return out;
}

ColumnRows ColumnRows::FromPages(OwnerToken owner,
                                 std::span<const PageData> pages) {
  ColumnRows out;
  if (pages.empty()) return out;
  out.table_ = std::make_shared<Table>();
  out.table_->owner = owner;
  for (const PageData& pd : pages) {
    auto p = std::make_shared<Page>();
    p->owner = owner;
    p->width = pd.width;
    p->data.assign(pd.bytes.begin(), pd.bytes.end());
    out.table_->pages[pd.index] = std::move(p);
  }
  return out;
}

size_t ColumnRows::MemoryBytes() const {
  if (!table_) return 0;
  size_t n = sizeof(Table);
  for (const auto& p : table_->pages) {
    if (p) n += sizeof(Page) + p->data.size();
  }
  return n;
}

}  // namespace featurebase::internal
