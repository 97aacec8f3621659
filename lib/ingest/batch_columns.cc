// Batch, stage 1: validation and staging (batch_columns.h).
#include "lib/ingest/batch_columns.h"

#include <string>
#include <variant>

#include "fmt/format.h"
#include "lib/core/write_views.h"
#include "lib/db/index_access.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"
#include "lib/util/utf8.h"

namespace featurebase::internal {
namespace {

std::string IdText(
    const std::variant<std::monostate, uint64_t, std::string>& id) {
  if (std::holds_alternative<uint64_t>(id))
    return fmt::format("id {}", std::get<uint64_t>(id));
  if (std::holds_alternative<std::string>(id)) {
    const std::string& k = std::get<std::string>(id);
    return fmt::format("key \"{}\"",
                       k.size() > 64 ? k.substr(0, 64) + "..." : k);
  }
  return "no id";
}

absl::Status RowIdTooBig(uint64_t id) {
  return absl::InvalidArgumentError(
      fmt::format("row id {} over the maximum {}", id, kMaxRowId));
}
absl::Status KeyNotUtf8(std::string_view k) {
  return absl::InvalidArgumentError(
      fmt::format("key is not valid UTF-8 (byte {} of {})",
                  *FirstInvalidUtf8(k) + 1, k.size()));
}
absl::Status KeyTooLong(std::string_view k) {
  return absl::InvalidArgumentError(
      fmt::format("key of {} bytes over the {}-byte limit", k.size(),
                  KeyTranslator::kMaxKeyBytes));
}

// RowRef's common case without a StatusOr: a valid id or key. False
// when RowRef has an error to report.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool FastRowRef(BatchColumn& col,
                                                    const Value& v,
                                                    uint64_t* ref) {
  if (v.kind() == Value::Kind::kId && !col.keyed && v.id() <= kMaxRowId) {
    *ref = v.id();
    return true;
  }
  if (v.kind() == Value::Kind::kKey && col.keyed &&
      v.key().size() <= KeyTranslator::kMaxKeyBytes &&
      !FirstInvalidUtf8(v.key())) {
    *ref = col.AddKey(v.key());
    return true;
  }
  return false;
}

// The stored value of `v` in the common exact cases (an int for an int
// field, a decimal of the field's scale, a timestamp), in range: the same
// value BsiRawValue and ToStored give. False otherwise (StoredValue then
// decides, and words any error).
template <typename Plan>
ABSL_ATTRIBUTE_ALWAYS_INLINE inline bool FastStoredValue(const Plan& p,
                                                         const Value& v,
                                                         int64_t* stored) {
  int64_t raw = 0;
  switch (v.kind()) {
    case Value::Kind::kInt:
      if (p.type != FieldType::kInt) return false;
      raw = v.integer();
      break;
    case Value::Kind::kDecimal:
      if (p.type != FieldType::kDecimal || v.scale() != p.scale) return false;
      raw = v.unscaled();
      break;
    case Value::Kind::kTimestamp: {
      if (p.type != FieldType::kTimestamp) return false;
      const absl::Time t = v.timestamp();
      if (p.unit == TimeUnit::kSecond) {
        // Whole seconds, rounded down, as TimeToUnits; infinite times
        // are its errors.
        if (t == absl::InfiniteFuture() || t == absl::InfinitePast())
          return false;
        raw = absl::ToUnixSeconds(t);
      } else {
        auto units = TimeToUnits(t, p.unit);
        if (!units.ok()) return false;
        raw = *units;
      }
      break;
    }
    default:
      return false;
  }
  if (raw < p.min || raw > p.max) return false;
  *stored = int64_t(__int128(raw) - p.base);
  return true;
}

}  // namespace

absl::Status RecordStager::RecordError(size_t pos, const Record& r,
                                       std::string_view field,
                                       const absl::Status& why) const {
  const std::string where =
      field.empty() ? fmt::format("batch: record {} ({})", pos, IdText(r.id))
                    : fmt::format("batch: record {} ({}): field \"{}\"", pos,
                                  IdText(r.id), field);
  return Annotate(why, where);
}

absl::Status RecordStager::ValidateId(const Record& r, size_t pos) const {
  auto bad = [&](std::string_view why) {
    return RecordError(pos, r, "",
                       absl::InvalidArgumentError(std::string(why)));
  };
  switch (options_.id_mode) {
    case IdMode::kExplicit:
      if (batch_->keyed_index) {
        if (!std::holds_alternative<std::string>(r.id))
          return bad("a keyed index needs a record key");
        const std::string& k = std::get<std::string>(r.id);
        if (k.empty()) return bad("empty record key");
        if (k.size() > KeyTranslator::kMaxKeyBytes) {
          return bad(
              fmt::format("record key of {} bytes over the {}-byte limit",
                          k.size(), KeyTranslator::kMaxKeyBytes));
        }
        if (const std::optional<size_t> at = FirstInvalidUtf8(k)) {
          return bad(
              fmt::format("record key is not valid UTF-8 (byte {} of {})",
                          *at + 1, k.size()));
        }
      } else if (!std::holds_alternative<uint64_t>(r.id)) {
        return bad("needs an integer record id");
      }
      return absl::OkStatus();
    case IdMode::kAutoGenerate:
      if (!std::holds_alternative<std::monostate>(r.id))
        return bad("ids are auto-generated");
      return absl::OkStatus();
    case IdMode::kOffset:
      if (!std::holds_alternative<std::monostate>(r.id))
        return bad("ids come from the offset");
      if (r.stream_offset >= (uint64_t{1} << 40))
        return bad("stream offset over 2^40");
      if (r.stream_partition >= (uint32_t{1} << 23))
        return bad("stream partition over 2^23");
      return absl::OkStatus();
  }
  return absl::OkStatus();
}

// Validates `r` and appends it to the columns in one pass over its values
// (each value is read once). On a bad value, undoes what this record
// appended (rows, values, new keys) and returns the error: the batch is
// exactly as before.
absl::Status RecordStager::Stage(const Record& r, size_t pos) {
  StagedBatch& batch = *batch_;
  FB_RETURN_IF_ERROR(ValidateId(r, pos));
  if (r.values.size() != batch.columns.size()) {
    return RecordError(
        pos, r, "",
        absl::InvalidArgumentError(fmt::format(
            "{} values for {} fields", r.values.size(), batch.columns.size())));
  }
  RefreshState();
  bool has_time = false;
  int64_t time = kNoTime;
  if (r.time) {
    if (!HasCivilYear(*r.time)) {
      return RecordError(pos, r, "", ToCivil(*r.time).status());
    }
    has_time = true;
    time = absl::ToUnixSeconds(*r.time);
  }
  for (size_t i = 0; i < batch.columns.size(); ++i) {
    absl::Status st = StageValue(i, r.values[i], has_time);
    if (!st.ok()) {
      Unstage(i + 1);
      return RecordError(pos, r, batch.columns[i].name, st);
    }
  }
  switch (options_.id_mode) {
    case IdMode::kExplicit:
      if (batch.keyed_index) {
        batch.col_keys.push_back(std::get<std::string>(r.id));
      } else {
        batch.ids.push_back(std::get<uint64_t>(r.id));
      }
      break;
    case IdMode::kAutoGenerate:
      break;  // ids are base + position, assigned at flush
    case IdMode::kOffset:
      batch.ids.push_back((uint64_t{r.stream_partition} << 40) |
                          r.stream_offset);
      break;
  }
  if (batch.any_time) batch.times.push_back(time);
  ++batch.n;
  return absl::OkStatus();
}

// Undoes what Stage appended for the record at position batch->n in columns
// [0, end).
void RecordStager::Unstage(size_t end) {
  const size_t n = batch_->n;
  for (size_t i = 0; i < end; ++i) {
    BatchColumn& col = batch_->columns[i];
    switch (col.kind) {
      case BatchColumn::Kind::kPackedBool:
      case BatchColumn::Kind::kBool:
        col.bools.truncate(n);
        break;
      case BatchColumn::Kind::kValue:
        col.stored.truncate(n);
        col.present.truncate(n);
        break;
      case BatchColumn::Kind::kRows:
        if (col.multi) {
          col.refs.truncate(col.starts[n]);
          col.starts.truncate(n + 1);
        } else {
          col.singles.truncate(n);
        }
        for (size_t k = col.key_mark; k < col.keys.size(); ++k)
          col.key_index.erase(col.keys[k]);
        col.keys.resize(col.key_mark);
        break;
    }
  }
}

// Checks value `in` for column `i` and appends it; on error the caller
// unstages column i too (key_mark is set before any key is added). Errors
// name the problem only (the caller adds the record and field).
absl::Status RecordStager::StageValue(size_t i, const FieldInput& in,
                                      bool has_time) {
  BatchColumn& col = batch_->columns[i];
  const Value* v = std::get_if<Value>(&in);
  const bool null = v != nullptr && v->is_null();
  switch (col.kind) {
    case BatchColumn::Kind::kPackedBool:
    case BatchColumn::Kind::kBool:
      if (null) {
        col.bools.push_back(-1);
        return absl::OkStatus();
      }
      if (v == nullptr || v->kind() != Value::Kind::kBool)
        return absl::InvalidArgumentError("takes true, false or null");
      col.bools.push_back(v->boolean() ? 1 : 0);
      return absl::OkStatus();
    case BatchColumn::Kind::kValue: {
      if (null) {
        col.stored.push_back(0);
        col.present.push_back(0);
        return absl::OkStatus();
      }
      if (v == nullptr)
        return absl::InvalidArgumentError("takes one value, not a list");
      int64_t stored;
      if (!FastStoredValue(plans_[i], *v, &stored)) {
        FB_ASSIGN_OR_RETURN(stored, StoredValue(i, *v));
      }
      col.stored.push_back(stored);
      col.present.push_back(1);
      return absl::OkStatus();
    }
    case BatchColumn::Kind::kRows:
      break;
  }
  col.key_mark = col.keys.size();
  if (!col.multi) {
    if (null) {
      col.singles.push_back(kNullRef);
      return absl::OkStatus();
    }
    if (v == nullptr)
      return absl::InvalidArgumentError("takes one row, not a list");
    uint64_t ref;
    if (!FastRowRef(col, *v, &ref)) {
      FB_ASSIGN_OR_RETURN(ref, RowRef(col, *v));
    }
    col.singles.push_back(ref);
    return absl::OkStatus();
  }
  if (null) {
    col.starts.push_back(uint32_t(col.refs.size()));
    return absl::OkStatus();
  }
  // Appended refs are kept by starts only when the record is complete;
  // on error the caller truncates refs back to starts[batch->n].
  if (v != nullptr) {
    uint64_t ref;
    if (!FastRowRef(col, *v, &ref)) {
      FB_ASSIGN_OR_RETURN(ref, RowRef(col, *v));
    }
    col.refs.push_back(ref);
  } else if (const auto* ids = std::get_if<std::vector<uint64_t>>(&in)) {
    // An empty list is valid for any multi field, keyed or not.
    if (ids->empty()) col.refs.push_back(kExistOnly);
    for (uint64_t id : *ids) {
      if (col.keyed)
        return absl::InvalidArgumentError("is keyed: give row keys");
      if (id > kMaxRowId) return RowIdTooBig(id);
      col.refs.push_back(id);
    }
  } else {
    const auto& keys = std::get<std::vector<std::string>>(in);
    if (keys.empty()) col.refs.push_back(kExistOnly);
    for (const std::string& k : keys) {
      if (k.empty()) return absl::InvalidArgumentError("empty key in a list");
      if (!col.keyed)
        return absl::InvalidArgumentError("is not keyed: give row ids");
      if (k.size() > KeyTranslator::kMaxKeyBytes) return KeyTooLong(k);
      if (FirstInvalidUtf8(k)) return KeyNotUtf8(k);
      col.refs.push_back(col.AddKey(k));
    }
  }
  if (!has_time && plans_[i].needs_time) {
    return absl::InvalidArgumentError(
        "has no standard view and needs a record time");
  }
  col.starts.push_back(uint32_t(col.refs.size()));
  return absl::OkStatus();
}

// The ref of a single row value: an id, or the index of a key.
absl::StatusOr<uint64_t> RecordStager::RowRef(BatchColumn& col,
                                              const Value& v) {
  if (v.kind() == Value::Kind::kId) {
    if (col.keyed) return absl::InvalidArgumentError("is keyed: give row keys");
    if (v.id() > kMaxRowId) return RowIdTooBig(v.id());
    return v.id();
  }
  if (v.kind() == Value::Kind::kKey) {
    if (!col.keyed)
      return absl::InvalidArgumentError("is not keyed: give row ids");
    if (v.key().size() > KeyTranslator::kMaxKeyBytes)
      return KeyTooLong(v.key());
    if (FirstInvalidUtf8(v.key())) return KeyNotUtf8(v.key());
    return col.AddKey(v.key());
  }
  return absl::InvalidArgumentError(fmt::format(
      "takes a row {}, not {}", col.keyed ? "key" : "id", v.DebugString()));
}

// The stored value of `v` for value column `i` through BsiRawValue and
// ToStored, so values and messages match single writes.
absl::StatusOr<int64_t> RecordStager::StoredValue(size_t i,
                                                  const Value& v) const {
  const FieldState& f = *plans_[i].field;
  FB_ASSIGN_OR_RETURN(const int64_t raw, BsiRawValue(f, v, "value"));
  return f.bsi->ToStored(raw);
}

// The index version used to validate values; refreshed after each flush
// (and when fields are added), so Add never takes the index's lock.
void RecordStager::RefreshState() {
  const std::vector<BatchColumn>& columns = batch_->columns;
  if (!state_) {
    state_ = IndexWriter::Current(*index_);
    plans_.assign(columns.size(), ValuePlan{});
    for (size_t i = 0; i < columns.size(); ++i) {
      if (columns[i].kind == BatchColumn::Kind::kPackedBool) continue;
      const FieldState* f = state_->FindField(columns[i].name);
      ValuePlan& p = plans_[i];
      p.field = f;
      // A time field whose untimed writes would touch no view (no
      // standard view) refuses records without a time.
      const WriteViews untimed = ViewsOfWrite(*f, std::nullopt);
      p.needs_time = f->options.type == FieldType::kTime && !untimed.standard;
      if (f->bsi) {
        p.type = f->options.type;
        p.scale = f->bsi->scale();
        p.unit = f->bsi->unit();
        p.min = f->bsi->min();
        p.max = f->bsi->max();
        p.base = f->bsi->base();
      }
    }
  }
}

size_t StagedBatch::RecordBytes() const {
  size_t bytes = ids.capacity() * 8 + times.capacity() * 8 +
                 col_keys.capacity() * sizeof(std::string);
  for (const std::string& k : col_keys) {
    if (k.capacity() > 15) bytes += k.capacity() + 1;
  }
  for (const BatchColumn& c : columns) {
    bytes += c.starts.capacity() * 4 + c.refs.capacity() * 8 +
             c.singles.capacity() * 8 + c.bools.capacity() +
             c.stored.capacity() * 8 + c.present.capacity();
    bytes += c.key_index.capacity() * (sizeof(std::string) + 8) +
             c.keys.capacity() * sizeof(std::string);
  }
  return bytes;
}

void StagedBatch::Clear() {
  n = 0;
  ids.clear();
  col_keys.clear();
  times.clear();
  clears.clear();
  deletes.clear();
  for (BatchColumn& col : columns) {
    col.starts.clear();
    col.starts.push_back(0);
    col.refs.clear();
    col.singles.clear();
    col.key_index.clear();
    col.keys.clear();
    col.bools.clear();
    col.stored.clear();
    col.present.clear();
  }
}

}  // namespace featurebase::internal
