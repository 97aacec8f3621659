// Turns parsed CSV rows into featurebase::Records for a Batch, column by
// column according to the header (header.h), with the ingest kit's value
// rules: an empty cell is null (nothing written), ids are unsigned
// integers, bools are 1/t/true or 0/f/false (any case), arrays are "a,b" or
// "[a,b]", decimals are written with at most `scale` fraction digits.
//
// Thread-compatible.
#ifndef FBC_ROW_CONVERTER_H_
#define FBC_ROW_CONVERTER_H_

#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "examples/fbc/csv_reader.h"
#include "examples/fbc/header.h"
#include "featurebase/batch.h"
#include "featurebase/status.h"

namespace fbc {

// How records get their ids (exactly one, as in the ingest kit).
struct IdOptions {
  enum class Mode { kAutoGenerate, kIdField, kPrimaryKey };
  Mode mode = Mode::kAutoGenerate;
  // kIdField: the field (header destination name) holding the record id.
  std::string id_field;
  // kPrimaryKey: fields whose values, joined by '|', are the record key
  // (distinct names; with two or more, a part containing '|' rejects the
  // row).
  std::vector<std::string> primary_key_fields;
};

// Joins the parts of a primary key (featurebase::JoinPrimaryKey). With two
// or more parts, a row whose key part contains it is rejected.
inline constexpr char kPrimaryKeySeparator = '|';

class RowConverter {
 public:
  // Plans the conversion: which columns feed which batch field, which give
  // the id or the record time. InvalidArgument naming the flag and field
  // for an id option the header cannot satisfy.
  static featurebase::StatusOr<RowConverter> Create(
      std::vector<ColumnSpec> columns, const IdOptions& ids);

  // The index fields the batch writes, in Record::values order.
  const std::vector<std::string>& batch_fields() const { return fields_; }
  // The column that creates batch field `i`.
  const ColumnSpec& field_column(size_t i) const {
    return columns_[field_columns_[i]];
  }
  const std::vector<ColumnSpec>& columns() const { return columns_; }
  const IdOptions& ids() const { return ids_; }
  // Whether the index must have record keys.
  bool keyed_index() const { return ids_.mode == IdOptions::Mode::kPrimaryKey; }

  // Fills `record` from `row`, overwriting every value it holds (pass the
  // same record for every row: its vectors and strings are reused). On a
  // bad value returns false with `error` naming the column and the value,
  // e.g. `column 8 "total_amount": "12.3x" is not a decimal` (`record` is
  // then unspecified).
  bool Convert(const RowBlock& block, const CsvRow& row,
               featurebase::Record* record, std::string* error);

 private:
  RowConverter() = default;
  std::vector<ColumnSpec> columns_;
  IdOptions ids_;
  std::vector<std::string> fields_;
  std::vector<int> field_columns_;
  int id_column_ = -1;
  // Per column: its index among the primary key fields (pk_values_), or -1.
  std::vector<int> pk_slot_;
  // The column of each primary key part.
  std::vector<int> pk_columns_;
  // The columns Convert reads, in order: the field slot each writes (or -1),
  // and whether it gives the id, a primary key part or the record time.
  struct Step {
    uint32_t column;
    int slot;
    ColumnType type;
    bool special;
  };
  std::vector<Step> plan_;
  std::vector<featurebase::Value> pk_values_;
};

// Cell parsers (exposed for tests). Each returns false on a bad cell.
bool ParseUint64Cell(std::string_view s, uint64_t* out);
bool ParseInt64Cell(std::string_view s, int64_t* out);
// "12.34" at scale 2 → 1234; false for more than `scale` fraction digits or
// a value outside int64, and then *overflow (when given) tells the second
// case from a malformed cell.
bool ParseDecimalCell(std::string_view s, int scale, int64_t* out,
                      bool* overflow = nullptr);
// Why ParseDecimalCell refused `cell` at `scale`, for messages: "overflows
// ..." or "is not a decimal with at most N fraction digits".
std::string DecimalCellError(std::string_view cell, int scale);
// 1/t/true → true, 0/f/false → false (case-insensitive, spaces trimmed).
bool ParseBoolCell(std::string_view s, bool* out);

}  // namespace fbc

#endif  // FBC_ROW_CONVERTER_H_
