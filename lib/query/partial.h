// Partial results: one read call's answer over a subset of shards, in a form
// that merges associatively with the answers over other shards (counts add,
// TopN counts add per row, GroupBy groups add per group, Min/Max keep the
// extreme and add tie counts, ...). The executor computes every read call as
// a partial and finishes it (limits, ranking, having, sort, JSON), so one
// process and many merged partials give the same answer by construction.
//
// Byte format: docs/format.md, "Partial query result".
#ifndef FEATUREBASE_LIB_QUERY_PARTIAL_H_
#define FEATUREBASE_LIB_QUERY_PARTIAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurebase/bitmap.h"

namespace featurebase::internal {

struct PartialGroup {
  std::vector<uint64_t> rows;  // one row per GroupBy child
  uint64_t count = 0;
  __int128 sum = 0;               // aggregate=Sum: raw sum
  std::vector<int64_t> distinct;  // aggregate=Count(Distinct): ascending
  friend bool operator==(const PartialGroup&, const PartialGroup&) = default;
};

// One Extract cell: null, a list of rows (set, time, mutex, bool fields) or a
// raw value (int, decimal, timestamp fields).
struct PartialCell {
  enum class Tag : uint8_t { kNull = 0, kRows = 1, kValue = 2 };
  Tag tag = Tag::kNull;
  std::vector<uint64_t> rows;
  int64_t value = 0;
  friend bool operator==(const PartialCell&, const PartialCell&) = default;
};

struct PartialColumn {
  uint64_t column = 0;
  std::vector<PartialCell> cells;  // one per extracted field
  friend bool operator==(const PartialColumn&, const PartialColumn&) = default;
};

struct PartialPair {
  uint64_t row = 0;
  uint64_t count = 0;  // records of the row (within the filter)
  uint64_t size = 0;   // records of the row, unfiltered (TopN tanimoto only)
  friend bool operator==(const PartialPair&, const PartialPair&) = default;
};

struct Partial {
  enum class Kind : uint8_t {
    kRow = 1,          // row calls, Distinct on set fields: `row`
    kCount = 2,        // Count: `n`
    kBool = 3,         // IncludesColumn: `n` (0 or 1)
    kSum = 4,          // Sum: raw `sum`, `count`
    kMin = 5,          // Min: `has`, raw `value`, `count`
    kMax = 6,          // Max: as kMin
    kPairs = 7,        // TopN, TopK: `pairs` by row, `n` = filter size
    kRowIds = 8,       // Rows: ascending `ids`
    kGroups = 9,       // GroupBy: `groups` by rows
    kSorted = 10,      // Sort: `sorted` (raw value, column) in output order
    kTable = 11,       // Extract: `table` by column
    kMinRow = 12,      // MinRow: `has`, `id`, `count`; `n` = 1 with a filter
    kMaxRow = 13,      // MaxRow: as kMinRow
    kFieldValue = 14,  // FieldValue: `has`, raw `value`
    kValues = 15,      // Distinct on value fields: ascending raw `values`
  };
  static constexpr uint8_t kMaxKind = 15;

  Kind kind = Kind::kCount;
  // Canonical PQL of the call (the printer's text).
  std::string call;
  // Entries kept by kRow, kRowIds, kGroups, kSorted: 0 = all; otherwise
  // only the first `cap` in output order, which suffices for the limit the
  // call asks (the first k of a union are among the first k of each part).
  uint64_t cap = 0;
  Bitmap row;
  uint64_t n = 0;
  __int128 sum = 0;
  uint64_t count = 0;
  bool has = false;
  int64_t value = 0;
  uint64_t id = 0;
  bool desc = false;   // kSorted: descending values
  uint32_t width = 0;  // kGroups: rows per group; kTable: cells per column
  std::vector<PartialPair> pairs;
  std::vector<uint64_t> ids;
  std::vector<int64_t> values;
  std::vector<PartialGroup> groups;
  std::vector<std::pair<int64_t, uint64_t>> sorted;
  std::vector<PartialColumn> table;

  friend bool operator==(const Partial&, const Partial&) = default;
};

// Applies `cap` (keeps the first `cap` entries in output order).
void CapPartial(Partial* p);

// Merges `from` into `into`: InvalidArgument when they answer different
// calls (or are of different kinds).
absl::Status MergePartial(Partial* into, const Partial& from);

// The framed bytes of `p` (docs/format.md).
std::string EncodePartial(const Partial& p);
// Decodes and fully validates `bytes`: DataLoss naming the offset for a
// truncated, corrupt or malformed encoding.
absl::StatusOr<Partial> DecodePartial(std::string_view bytes);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_PARTIAL_H_
