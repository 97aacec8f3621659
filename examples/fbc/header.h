// CSV header cells in the format of FeatureBase's ingest kit
// (idk/header.go): `source__Type_Arg1_Arg2` or
// `source___destination__Type_Arg1_Arg2`. The type is case-insensitive.
//
//   ID_[mutex T/F]_[quantum]_[ttl]      id rows: set, mutex or time field
//   String_[mutex T/F]_[quantum]_[ttl]  keyed rows: set, mutex or time field
//   StringArray_[quantum]_[ttl]         keyed set (or time) field; a cell is
//                                       "a,b,c" or "[a,b,c]"
//   IDArray_[quantum]_[ttl]             id set (or time) field, same cells
//   Int_[min]_[max]                     int field
//   Decimal_[scale]                     decimal field (default scale 0)
//   Bool                                bool field
//   Timestamp_[granularity]_[layout]_[epoch]_[unit]
//                                       timestamp field in `granularity`
//                                       (s, ms, us, ns); cells are times in
//                                       `layout` (RFC 3339 by default), or,
//                                       when an epoch or unit is given,
//                                       integers of `unit` since `epoch`
//   RecordTime_[layout]_[epoch]_[unit]  the record's time for quantum
//                                       fields (not a field)
//   DateInt_[layout]_[epoch]_[unit]_[custom unit]
//                                       int field: whole `unit`s from
//                                       `epoch` to the cell's time
//   Ignore                              skipped
//
// As in the ingest kit: a quantum makes a time field (the mutex flag is then
// not used); TTLs are Go durations ("24h"); layouts are Go reference
// layouts. Differences, each an error rather than a silent drop: extra
// arguments, LookupText/ForeignKey/SignedIntBoolKey and Int's foreign-index
// argument are rejected.
#ifndef FBC_HEADER_H_
#define FBC_HEADER_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "examples/fbc/time_layout.h"
#include "featurebase/field.h"
#include "featurebase/status.h"

namespace fbc {

enum class ColumnType {
  kId,
  kString,
  kStringArray,
  kIdArray,
  kInt,
  kDecimal,
  kBool,
  kTimestamp,
  kRecordTime,
  kDateInt,
  kIgnore,
};

// "ID", "String", ... as written in headers.
std::string_view ColumnTypeName(ColumnType type);

struct ColumnSpec {
  std::string cell;    // the header cell as written
  std::string source;  // source column name
  std::string field;   // destination field name
  ColumnType type = ColumnType::kIgnore;
  // ID / String: a mutex field (without quantum).
  bool mutex = false;
  // ID / String / StringArray / IDArray: a time field when non-empty.
  featurebase::TimeQuantum quantum;
  absl::Duration ttl = absl::ZeroDuration();
  // Int.
  std::optional<int64_t> min, max;
  // Decimal.
  int scale = 0;
  // Timestamp: the field's unit.
  std::string granularity = "s";
  // Timestamp / RecordTime / DateInt: how cells are read.
  TimeLayout layout;
  std::optional<absl::Time> epoch;
  // Timestamp / RecordTime / DateInt: the unit of numeric cells (Timestamp,
  // RecordTime: cells are numbers when an epoch or a unit is given) or of
  // the result (DateInt).
  std::optional<absl::Duration> unit;

  // Whether the column writes an index field.
  bool is_field() const {
    return type != ColumnType::kRecordTime && type != ColumnType::kIgnore;
  }
  // The options of the field this column creates.
  featurebase::FieldOptions FieldOptions() const;
};

// Parses one header cell; `column` (1-based) names it in errors, e.g.
// `header column 3 "fare__Int_x": parsing min: "x" is not an integer`.
featurebase::StatusOr<ColumnSpec> ParseHeaderCell(std::string_view cell,
                                                  size_t column);

// Parses a whole header: each cell, then the rules across cells (no two
// columns write the same field, at most one RecordTime).
featurebase::StatusOr<std::vector<ColumnSpec>> ParseHeader(
    const std::vector<std::string>& cells);

// Splits a --header value on commas ("a__ID,b__String").
std::vector<std::string> SplitHeaderFlag(std::string_view spec);

}  // namespace fbc

#endif  // FBC_HEADER_H_
