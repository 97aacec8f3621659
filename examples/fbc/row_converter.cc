#include "examples/fbc/row_converter.h"

#include <algorithm>
#include <charconv>
#include <string>
#include <utility>

#include "examples/fbc/message.h"

namespace fbc {
namespace {

using featurebase::FieldInput;
using featurebase::Value;

std::string_view Trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return s;
}

std::string_view StripBrackets(std::string_view s) {
  if (s.size() >= 2 && s.front() == '[' && s.back() == ']')
    return s.substr(1, s.size() - 2);
  return s;
}

}  // namespace

bool ParseUint64Cell(std::string_view s, uint64_t* out) {
  s = Trim(s);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParseInt64Cell(std::string_view s, int64_t* out) {
  s = Trim(s);
  if (!s.empty() && s[0] == '+') s.remove_prefix(1);
  if (s.empty()) return false;
  auto r = std::from_chars(s.data(), s.data() + s.size(), *out);
  return r.ec == std::errc() && r.ptr == s.data() + s.size();
}

bool ParseDecimalCell(std::string_view s, int scale, int64_t* out,
                      bool* overflow) {
  bool ignored;
  if (overflow == nullptr) overflow = &ignored;
  *overflow = false;
  s = Trim(s);
  bool neg = false;
  if (!s.empty() && (s[0] == '-' || s[0] == '+')) {
    neg = s[0] == '-';
    s.remove_prefix(1);
  }
  // The syntax first (digits, at most one point, at most `scale` places),
  // so that a value that does not fit is told apart from a malformed one.
  const size_t point = s.find('.');
  if (s.empty() || s == ".") return false;
  for (size_t i = 0; i < s.size(); ++i)
    if ((s[i] < '0' || s[i] > '9') && i != point) return false;
  const int frac =
      point == std::string_view::npos ? 0 : int(s.size() - point - 1);
  if (frac > scale) return false;
  // Accumulate as a negative number so that INT64_MIN fits.
  int64_t v = 0;
  *overflow = true;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == point) continue;
    if (__builtin_mul_overflow(v, int64_t{10}, &v) ||
        __builtin_sub_overflow(v, int64_t(s[i] - '0'), &v))
      return false;
  }
  for (int k = frac; k < scale; ++k)
    if (__builtin_mul_overflow(v, int64_t{10}, &v)) return false;
  if (!neg) {
    if (v == INT64_MIN) return false;
    v = -v;
  }
  *overflow = false;
  *out = v;
  return true;
}

std::string DecimalCellError(std::string_view cell, int scale) {
  int64_t ignored;
  bool overflow = false;
  ParseDecimalCell(cell, scale, &ignored, &overflow);
  if (overflow) {
    return "overflows a decimal of scale " + std::to_string(scale) +
           " (unscaled value outside [-9223372036854775808, "
           "9223372036854775807])";
  }
  return "is not a decimal with at most " + std::to_string(scale) +
         " fraction digits";
}

bool ParseBoolCell(std::string_view s, bool* out) {
  s = Trim(s);
  char buf[8];
  if (s.size() > 5) return false;
  for (size_t i = 0; i < s.size(); ++i)
    buf[i] = char(s[i] >= 'A' && s[i] <= 'Z' ? s[i] - 'A' + 'a' : s[i]);
  const std::string_view l(buf, s.size());
  if (l == "1" || l == "t" || l == "true") {
    *out = true;
    return true;
  }
  if (l == "0" || l == "f" || l == "false") {
    *out = false;
    return true;
  }
  return false;
}

featurebase::StatusOr<RowConverter> RowConverter::Create(
    std::vector<ColumnSpec> columns, const IdOptions& ids) {
  RowConverter c;
  c.columns_ = std::move(columns);
  c.ids_ = ids;
  // Per column: its slot in Record::values, or -1.
  std::vector<int> slot(c.columns_.size(), -1);
  std::vector<int> pk_columns;
  int record_time_column = -1;
  auto find = [&](const std::string& name) -> int {
    for (size_t i = 0; i < c.columns_.size(); ++i)
      if (c.columns_[i].is_field() && c.columns_[i].field == name)
        return int(i);
    return -1;
  };
  bool skip_single_pk = false;
  if (ids.mode == IdOptions::Mode::kIdField) {
    c.id_column_ = find(ids.id_field);
    if (c.id_column_ < 0)
      return absl::InvalidArgumentError(
          "--id-field: no header column writes \"" + ids.id_field + "\"");
    const ColumnType t = c.columns_[c.id_column_].type;
    if (t != ColumnType::kId && t != ColumnType::kInt)
      return absl::InvalidArgumentError(
          "--id-field: column \"" + ids.id_field + "\" is " +
          std::string(ColumnTypeName(t)) + ", want ID or Int");
  } else if (ids.mode == IdOptions::Mode::kPrimaryKey) {
    if (ids.primary_key_fields.empty())
      return absl::InvalidArgumentError("--primary-key-fields: no fields");
    for (size_t k = 0; k < ids.primary_key_fields.size(); ++k) {
      const std::string& f = ids.primary_key_fields[k];
      for (size_t j = 0; j < k; ++j)
        if (ids.primary_key_fields[j] == f)
          return absl::InvalidArgumentError(
              "--primary-key-fields: \"" + f + "\" given twice (parts " +
              std::to_string(j + 1) + " and " + std::to_string(k + 1) + ")");
      const int col = find(f);
      if (col < 0)
        return absl::InvalidArgumentError(
            "--primary-key-fields: no header column writes \"" + f + "\"");
      const ColumnType t = c.columns_[col].type;
      if (t == ColumnType::kStringArray || t == ColumnType::kIdArray)
        return absl::InvalidArgumentError("--primary-key-fields: \"" + f +
                                          "\" is an array column");
      pk_columns.push_back(col);
    }
    // One String primary key is the record key only, not also a field.
    skip_single_pk = pk_columns.size() == 1 &&
                     c.columns_[pk_columns[0]].type == ColumnType::kString;
    c.pk_values_.resize(pk_columns.size());
    c.pk_columns_ = pk_columns;
  }
  c.pk_slot_.assign(c.columns_.size(), -1);
  for (size_t k = 0; k < pk_columns.size(); ++k)
    c.pk_slot_[pk_columns[k]] = int(k);
  for (size_t i = 0; i < c.columns_.size(); ++i) {
    const ColumnSpec& col = c.columns_[i];
    if (col.type == ColumnType::kRecordTime) {
      record_time_column = int(i);
      continue;
    }
    if (!col.is_field()) continue;
    if (int(i) == c.id_column_) continue;
    if (skip_single_pk && int(i) == pk_columns[0]) continue;
    slot[i] = int(c.fields_.size());
    c.fields_.push_back(col.field);
    c.field_columns_.push_back(int(i));
  }
  for (size_t i = 0; i < c.columns_.size(); ++i) {
    const bool special = int(i) == c.id_column_ || c.pk_slot_[i] >= 0 ||
                         int(i) == record_time_column;
    if (slot[i] < 0 && !special) continue;
    c.plan_.push_back({uint32_t(i), slot[i], c.columns_[i].type, special});
  }
  return c;
}

bool RowConverter::Convert(const RowBlock& block, const CsvRow& row,
                           featurebase::Record* record, std::string* error) {
  if (!row.error.empty()) {
    *error = row.error;
    return false;
  }
  if (row.count != columns_.size()) {
    *error = std::to_string(row.count) + " fields, header has " +
             std::to_string(columns_.size());
    return false;
  }
  if (record->values.size() != fields_.size())
    record->values.resize(fields_.size());
  record->time.reset();
  auto bad = [&](size_t i, std::string_view cell, std::string_view what) {
    *error = "column " + std::to_string(i + 1) + " " +
             Excerpt(columns_[i].source) + ": " + Excerpt(cell) + " " +
             std::string(what);
    return false;
  };
  // Keys must be UTF-8 (the index refuses others): a row with a bad one is
  // rejected here rather than failing the batch.
  auto valid_utf8 = [&](size_t i, std::string_view cell) {
    const auto at = featurebase::FirstInvalidUtf8(cell);
    if (!at) return true;
    return bad(i, cell,
               "is not valid UTF-8 (byte " + std::to_string(*at + 1) + ")");
  };
  // Time cells: numbers of `unit` since `epoch` when either is given, else
  // text in the layout.
  auto parse_time = [&](size_t i, std::string_view cell,
                        absl::Time* t) -> bool {
    const ColumnSpec& c = columns_[i];
    if (c.epoch || c.unit) {
      int64_t n;
      if (!ParseInt64Cell(cell, &n)) return bad(i, cell, "is not an integer");
      *t = c.epoch.value_or(absl::UnixEpoch()) +
           n * c.unit.value_or(absl::Seconds(1));
      return true;
    }
    auto parsed = c.layout.ParseTime(cell);
    if (!parsed.ok()) {
      *error = "column " + std::to_string(i + 1) + " " + Excerpt(c.source) +
               ": " + std::string(parsed.status().message());
      return false;
    }
    *t = *parsed;
    return true;
  };
  const std::string_view* cells = &block.fields[row.first];
  // Only the columns that write something (plan_), each straight into the
  // record's slot: the record is reused row after row, so its vectors and
  // strings keep their storage.
  for (const Step& step : plan_) {
    const size_t i = step.column;
    const std::string_view cell = cells[i];
    const ColumnSpec& c = columns_[i];
    // Arrays (never ids, keys or times) are written into the vector the
    // record already holds.
    if (step.type == ColumnType::kStringArray ||
        step.type == ColumnType::kIdArray) {
      FieldInput& out = record->values[step.slot];
      if (cell.empty()) {
        out = Value();
        continue;
      }
      const std::string_view s = StripBrackets(cell);
      size_t start = 0, n = 0;
      if (step.type == ColumnType::kStringArray) {
        if (!valid_utf8(i, cell)) return false;
        auto* keys = std::get_if<std::vector<std::string>>(&out);
        if (keys == nullptr) keys = &out.emplace<std::vector<std::string>>();
        while (!s.empty()) {
          const size_t comma = s.find(',', start);
          const std::string_view key = s.substr(start, comma - start);
          if (n < keys->size()) {
            (*keys)[n].assign(key);
          } else {
            keys->emplace_back(key);
          }
          ++n;
          if (comma == std::string_view::npos) break;
          start = comma + 1;
        }
        keys->resize(n);
      } else {
        auto* ids = std::get_if<std::vector<uint64_t>>(&out);
        if (ids == nullptr) ids = &out.emplace<std::vector<uint64_t>>();
        ids->clear();
        while (!Trim(s).empty()) {
          const size_t comma = s.find(',', start);
          uint64_t id;
          if (!ParseUint64Cell(s.substr(start, comma - start), &id))
            return bad(i, cell, "is not a list of unsigned integers");
          ids->push_back(id);
          if (comma == std::string_view::npos) break;
          start = comma + 1;
        }
      }
      continue;
    }
    // A scalar: written into the slot's Value directly unless it also (or
    // only) gives the record id, a primary key part or the record time.
    Value scratch;
    Value* v = &scratch;
    if (step.slot >= 0 && !step.special) {
      FieldInput& out = record->values[step.slot];
      v = std::get_if<Value>(&out);
      if (v == nullptr) v = &out.emplace<Value>();
    }
    if (cell.empty()) {
      v->SetNull();
    } else {
      switch (step.type) {
        case ColumnType::kId: {
          uint64_t id;
          if (!ParseUint64Cell(cell, &id))
            return bad(i, cell, "is not an unsigned integer");
          v->SetId(id);
          break;
        }
        case ColumnType::kString:
          if (!valid_utf8(i, cell)) return false;
          v->SetKey(cell);
          break;
        case ColumnType::kStringArray:
        case ColumnType::kIdArray:
          break;  // written above
        case ColumnType::kInt: {
          int64_t n;
          if (!ParseInt64Cell(cell, &n))
            return bad(i, cell, "is not an integer");
          if ((c.min && n < *c.min) || (c.max && n > *c.max))
            return bad(i, cell,
                       "is out of range [" +
                           (c.min ? std::to_string(*c.min) : "-inf") + ", " +
                           (c.max ? std::to_string(*c.max) : "inf") + "]");
          v->SetInt(n);
          break;
        }
        case ColumnType::kDecimal: {
          int64_t n;
          if (!ParseDecimalCell(cell, c.scale, &n))
            return bad(i, cell, DecimalCellError(cell, c.scale));
          v->SetDecimal(n, c.scale);
          break;
        }
        case ColumnType::kBool: {
          bool b;
          if (!ParseBoolCell(cell, &b))
            return bad(i, cell, "is not a bool (1/t/true or 0/f/false)");
          v->SetBool(b);
          break;
        }
        case ColumnType::kTimestamp: {
          absl::Time t;
          if (!parse_time(i, cell, &t)) return false;
          v->SetTimestamp(t);
          break;
        }
        case ColumnType::kRecordTime: {
          absl::Time t;
          if (!parse_time(i, cell, &t)) return false;
          record->time = t;
          break;
        }
        case ColumnType::kDateInt: {
          auto t = c.layout.ParseTime(cell);
          if (!t.ok()) {
            *error = "column " + std::to_string(i + 1) + " " +
                     Excerpt(c.source) + ": " +
                     std::string(t.status().message());
            return false;
          }
          absl::Duration rem;
          v->SetInt(absl::IDivDuration(*t - c.epoch.value_or(absl::UnixEpoch()),
                                       c.unit.value_or(absl::Seconds(1)),
                                       &rem));
          break;
        }
        case ColumnType::kIgnore:
          break;
      }
    }
    if (!step.special) continue;
    if (int(i) == id_column_) {
      if (v->is_null()) return bad(i, cell, "is not a record id (empty)");
      if (v->kind() == Value::Kind::kInt && v->integer() < 0)
        return bad(i, cell, "is a negative record id");
      record->id =
          v->kind() == Value::Kind::kId ? v->id() : uint64_t(v->integer());
      continue;
    }
    if (pk_slot_[i] >= 0) {
      if (v->is_null()) return bad(i, cell, "is an empty primary key value");
      pk_values_[size_t(pk_slot_[i])] = *v;
    }
    if (step.slot >= 0) {
      FieldInput& out = record->values[step.slot];
      if (auto* value = std::get_if<Value>(&out)) {
        *value = std::move(*v);
      } else {
        out = std::move(*v);
      }
    }
  }
  if (!pk_values_.empty()) {
    // FeatureBase joins the parts with '|': a part holding one would make
    // ("a|b", "c") and ("a", "b|c") the same record. One part is never
    // ambiguous.
    if (pk_values_.size() > 1) {
      for (size_t k = 0; k < pk_values_.size(); ++k) {
        const Value& part = pk_values_[k];
        if (part.kind() != Value::Kind::kKey) continue;
        const size_t at = part.key().find(kPrimaryKeySeparator);
        if (at == std::string::npos) continue;
        return bad(size_t(pk_columns_[k]), part.key(),
                   "contains the primary key separator '|' at byte " +
                       std::to_string(at + 1));
      }
    }
    auto key = featurebase::JoinPrimaryKey(pk_values_);
    if (!key.ok()) {
      *error = std::string(key.status().message());
      return false;
    }
    record->id = *std::move(key);
  }
  return true;
}

}  // namespace fbc
