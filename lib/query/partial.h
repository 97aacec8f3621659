// Partial results: one read call's answer over a subset of shards, in a form
// that merges associatively with the answers over other shards (counts add,
// TopN counts add per row, GroupBy groups add per group, Min/Max keep the
// extreme and add tie counts, ...). The executor computes every read call as
// a partial and finishes it (limits, ranking, having, sort, JSON), so one
// process and many merged partials give the same answer by construction.
//
// A Partial is the call's canonical text, a cap and a body: one type per
// kind of answer. Each kind type has
//   kKind                       its byte in the encoding;
//   void Merge(const T&)        combines another part of the same call;
//   void Encode(std::string*)   appends its body bytes;
//   static Decode(PartialReader&, uint64_t cap) -> StatusOr<T>
//                               reads and fully validates them;
// and, when parts of one call can differ in shape or are capped,
//   bool Matches(const T&)      whether two parts can merge;
//   void Cap(uint64_t)          keeps the first `cap` entries in output order.
// Their merges and encodings live beside the calls that compute them, under
// lib/query/calls/; partial.cc frames, dispatches and checks the common part.
//
// Byte format: docs/format.md, "Partial query result".
#ifndef FEATUREBASE_LIB_QUERY_PARTIAL_H_
#define FEATUREBASE_LIB_QUERY_PARTIAL_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <variant>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "featurebase/bitmap.h"

namespace featurebase::internal {

class PartialReader;  // partial_codec.h

enum class PartialKind : uint8_t {
  kRow = 1,
  kCount = 2,
  kIncludes = 3,
  kSum = 4,
  kMin = 5,
  kMax = 6,
  kPairs = 7,
  kRowIds = 8,
  kGroups = 9,
  kSorted = 10,
  kTable = 11,
  kMinRow = 12,
  kMaxRow = 13,
  kFieldValue = 14,
  kValues = 15,
};

// ---- calls/rows.cc

// Row calls and Distinct on set fields: the records (or rows).
struct RowPart {
  static constexpr PartialKind kKind = PartialKind::kRow;
  Bitmap row;
  void Cap(uint64_t cap);
  void Merge(const RowPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<RowPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const RowPart&, const RowPart&) = default;
};

// Count.
struct CountPart {
  static constexpr PartialKind kKind = PartialKind::kCount;
  uint64_t n = 0;
  void Merge(const CountPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<CountPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const CountPart&, const CountPart&) = default;
};

// IncludesColumn.
struct IncludesPart {
  static constexpr PartialKind kKind = PartialKind::kIncludes;
  bool included = false;
  void Merge(const IncludesPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<IncludesPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const IncludesPart&, const IncludesPart&) = default;
};

// Rows: ascending row ids.
struct RowIdsPart {
  static constexpr PartialKind kKind = PartialKind::kRowIds;
  std::vector<uint64_t> ids;
  void Cap(uint64_t cap);
  void Merge(const RowIdsPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<RowIdsPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const RowIdsPart&, const RowIdsPart&) = default;
};

// Distinct on value fields: ascending raw values.
struct ValuesPart {
  static constexpr PartialKind kKind = PartialKind::kValues;
  std::vector<int64_t> values;
  void Merge(const ValuesPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<ValuesPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const ValuesPart&, const ValuesPart&) = default;
};

// ---- calls/top_rows.cc

struct PartialPair {
  uint64_t row = 0;
  uint64_t count = 0;  // records of the row (within the filter)
  uint64_t size = 0;   // records of the row, unfiltered (TopN tanimoto only)
  friend bool operator==(const PartialPair&, const PartialPair&) = default;
};

// TopN, TopK: counts by row.
struct PairsPart {
  static constexpr PartialKind kKind = PartialKind::kPairs;
  uint64_t filter_size = 0;        // records of the filter
  std::vector<PartialPair> pairs;  // by row
  void Merge(const PairsPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<PairsPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const PairsPart&, const PairsPart&) = default;
};

// MinRow (kMinRow) and MaxRow (kMaxRow): the extreme row that has records.
template <PartialKind K>
struct ExtremeRowPart {
  static constexpr PartialKind kKind = K;
  bool has = false;
  uint64_t id = 0;
  uint64_t count = 0;     // with a filter: its records in the row
  bool filtered = false;  // the call has a filter
  void Merge(const ExtremeRowPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<ExtremeRowPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const ExtremeRowPart&,
                         const ExtremeRowPart&) = default;
};
using MinRowPart = ExtremeRowPart<PartialKind::kMinRow>;
using MaxRowPart = ExtremeRowPart<PartialKind::kMaxRow>;

// ---- calls/group_by.cc

struct PartialGroup {
  std::vector<uint64_t> rows;  // one row per GroupBy child
  uint64_t count = 0;
  __int128 sum = 0;               // aggregate=Sum: raw sum
  std::vector<int64_t> distinct;  // aggregate=Count(Distinct): ascending
  friend bool operator==(const PartialGroup&, const PartialGroup&) = default;
};

// GroupBy: groups by rows.
struct GroupsPart {
  static constexpr PartialKind kKind = PartialKind::kGroups;
  uint32_t width = 0;  // rows per group
  std::vector<PartialGroup> groups;
  bool Matches(const GroupsPart& o) const { return width == o.width; }
  void Cap(uint64_t cap);
  void Merge(const GroupsPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<GroupsPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const GroupsPart&, const GroupsPart&) = default;
};

// ---- calls/values.cc

// Sum: the raw sum and the records summed.
struct SumPart {
  static constexpr PartialKind kKind = PartialKind::kSum;
  __int128 sum = 0;
  uint64_t count = 0;
  void Merge(const SumPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<SumPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const SumPart&, const SumPart&) = default;
};

// Min (kMin) and Max (kMax): the extreme raw value and its records.
template <PartialKind K>
struct ExtremeValuePart {
  static constexpr PartialKind kKind = K;
  bool has = false;
  int64_t value = 0;
  uint64_t count = 0;
  void Merge(const ExtremeValuePart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<ExtremeValuePart> Decode(PartialReader& r,
                                                 uint64_t cap);
  friend bool operator==(const ExtremeValuePart&,
                         const ExtremeValuePart&) = default;
};
using MinPart = ExtremeValuePart<PartialKind::kMin>;
using MaxPart = ExtremeValuePart<PartialKind::kMax>;

// FieldValue: the record's raw value, when it has one.
struct FieldValuePart {
  static constexpr PartialKind kKind = PartialKind::kFieldValue;
  bool has = false;
  int64_t value = 0;
  void Merge(const FieldValuePart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<FieldValuePart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const FieldValuePart&,
                         const FieldValuePart&) = default;
};

// Sort: (raw value, record) in output order.
struct SortedPart {
  static constexpr PartialKind kKind = PartialKind::kSorted;
  bool desc = false;
  std::vector<std::pair<int64_t, uint64_t>> sorted;
  bool Matches(const SortedPart& o) const { return desc == o.desc; }
  void Cap(uint64_t cap);
  void Merge(const SortedPart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<SortedPart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const SortedPart&, const SortedPart&) = default;
};

// ---- calls/extract.cc

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

// Extract: the table by record.
struct TablePart {
  static constexpr PartialKind kKind = PartialKind::kTable;
  uint32_t width = 0;  // cells per record
  std::vector<PartialColumn> table;
  bool Matches(const TablePart& o) const { return width == o.width; }
  void Merge(const TablePart& from);
  void Encode(std::string* out) const;
  static absl::StatusOr<TablePart> Decode(PartialReader& r, uint64_t cap);
  friend bool operator==(const TablePart&, const TablePart&) = default;
};

// ----

using PartialBody =
    std::variant<RowPart, CountPart, IncludesPart, SumPart, MinPart, MaxPart,
                 PairsPart, RowIdsPart, GroupsPart, SortedPart, TablePart,
                 MinRowPart, MaxRowPart, FieldValuePart, ValuesPart>;

struct Partial {
  Partial() = default;
  template <typename T>
  explicit Partial(T part, uint64_t cap = 0)
      : cap(cap), body(std::move(part)) {}

  // Canonical PQL of the call (the printer's text).
  std::string call;
  // Entries kept by capped kinds: 0 = all; otherwise only the first `cap`
  // in output order, which suffices for the limit the call asks (the first
  // k of a union are among the first k of each part).
  uint64_t cap = 0;
  PartialBody body;

  template <typename T>
  T* As() {
    return std::get_if<T>(&body);
  }
  template <typename T>
  const T* As() const {
    return std::get_if<T>(&body);
  }
  PartialKind kind() const;

  friend bool operator==(const Partial&, const Partial&) = default;
};

// Applies `cap` (keeps the first `cap` entries in output order).
void CapPartial(Partial* p);

// Merges `from` into `into`: InvalidArgument when they answer different
// calls (or are of different kinds or shapes).
absl::Status MergePartial(Partial* into, const Partial& from);

// The framed bytes of `p` (docs/format.md).
std::string EncodePartial(const Partial& p);
// Decodes and fully validates `bytes`: DataLoss naming the offset for a
// truncated, corrupt or malformed encoding.
absl::StatusOr<Partial> DecodePartial(std::string_view bytes);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_PARTIAL_H_
