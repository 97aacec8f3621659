#include "lib/storage/fragment_codec.h"

#include <algorithm>
#include <bit>
#include <cstring>
#include <optional>
#include <utility>
#include <vector>

#include "fmt/format.h"
#include "lib/core/index_state.h"
#include "lib/storage/codec.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

namespace {

// Entries holding a row in a page of `width`-byte entries.
uint64_t CountEntries(std::string_view bytes, int width) {
  uint64_t n = 0;
  if (width == 1) {
    // Eight entries per word: a byte's high bit in `zero` is set iff the
    // byte is zero (pages are kPageSize bytes, a multiple of 8).
    constexpr uint64_t kLow7 = 0x7F7F7F7F7F7F7F7Full;
    for (size_t i = 0; i + 8 <= bytes.size(); i += 8) {
      uint64_t w;
      std::memcpy(&w, bytes.data() + i, 8);
      const uint64_t zero = ~(((w & kLow7) + kLow7) | w | kLow7);
      n += 8 - uint64_t(std::popcount(zero));
    }
    return n;
  }
  auto count = [&](auto zero) {
    using T = decltype(zero);
    for (size_t i = 0; i + sizeof(T) <= bytes.size(); i += sizeof(T)) {
      T v;
      std::memcpy(&v, bytes.data() + i, sizeof(T));
      n += v != 0;
    }
  };
  if (width == 2) {
    count(uint16_t{0});
  } else if (width == 4) {
    count(uint32_t{0});
  } else {
    count(uint64_t{0});
  }
  return n;
}

}  // namespace

void EncodeFragment(const Fragment& f, std::string* out) {
  PutU8(out, uint8_t(f.mode()));
  PutU64(out, f.rows().size());
  f.rows().ForEach([&](uint64_t row, const RowData& r) {
    PutU64(out, row);
    PutRow(out, r);
    return true;
  });
  if (const ColumnRows* cr = f.column_rows()) {
    const size_t at = out->size();
    PutU32(out, 0);
    uint32_t n = 0;
    for (int i = 0; i < ColumnRows::kPages; ++i) {
      const ColumnRows::PageView page = cr->PageAt(i);
      if (page.data == nullptr) continue;
      PutU8(out, uint8_t(i));
      PutU8(out, uint8_t(page.width));
      out->append(reinterpret_cast<const char*>(page.data),
                  size_t(page.width) * ColumnRows::kPageSize);
      ++n;
    }
    std::memcpy(out->data() + at, &n, 4);
  }
}

absl::StatusOr<Fragment> DecodeFragment(std::string_view body,
                                        Fragment::Mode want, OwnerToken owner,
                                        std::string_view file,
                                        uint64_t offset) {
  ByteReader br(body, file, offset);
  FB_ASSIGN_OR_RETURN(const uint8_t mode, br.U8("fragment mode"));
  if (mode != uint8_t(want))
    return br.Corrupt("fragment mode does not match its field");
  FB_ASSIGN_OR_RETURN(const uint64_t n, br.U64("row count"));
  std::vector<std::pair<uint64_t, RowData>> rows;
  rows.reserve(std::min<uint64_t>(n, 1 << 16));
  uint64_t last = 0;
  for (uint64_t k = 0; k < n; ++k) {
    FB_ASSIGN_OR_RETURN(const uint64_t row, br.U64("row id"));
    if (row > kMaxRowId || (k > 0 && row <= last))
      return br.Corrupt("row ids out of order or range");
    last = row;
    FB_ASSIGN_OR_RETURN(RowData bits, br.Row(owner, "row bits"));
    const std::optional<uint32_t> max = bits.Maximum();
    if (!max) return br.Corrupt("empty row");
    if (*max >= (uint32_t{1} << 20))
      return br.Corrupt("column offset beyond the shard");
    rows.emplace_back(row, std::move(bits));
  }
  std::optional<ColumnRows> table;
  if (want == Fragment::Mode::kMutex) {
    // The column -> row table must cover exactly the rows' bits.
    uint64_t bits = 0;
    for (const auto& [row, b] : rows) bits += b.Cardinality();
    FB_ASSIGN_OR_RETURN(const uint32_t pages, br.U32("page count"));
    if (pages > uint32_t(ColumnRows::kPages))
      return br.Corrupt("too many column pages");
    std::vector<ColumnRows::PageData> data(pages);
    uint64_t entries = 0;
    for (uint32_t k = 0; k < pages; ++k) {
      FB_ASSIGN_OR_RETURN(const uint8_t index, br.U8("page index"));
      FB_ASSIGN_OR_RETURN(const uint8_t width, br.U8("page width"));
      if ((k > 0 && index <= data[k - 1].index) ||
          (width != 1 && width != 2 && width != 4 && width != 8))
        return br.Corrupt("bad column page");
      FB_ASSIGN_OR_RETURN(
          std::string_view bytes,
          br.Raw(size_t(width) * ColumnRows::kPageSize, "column page"));
      data[k] = {index, width, bytes};
      entries += CountEntries(bytes, width);
    }
    if (entries != bits) {
      return br.Corrupt(fmt::format(
          "column table holds {} columns, the rows {}", entries, bits));
    }
    table = ColumnRows::FromPages(owner, data);
  }
  if (!br.done()) return br.Corrupt("trailing bytes in fragment");
  return Fragment::FromRows(Fragment::Mode(mode), owner, std::move(rows),
                            std::move(table));
}

}  // namespace featurebase::internal
