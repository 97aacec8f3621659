// Field types and options, with FeatureBase's semantics (the field types
// and options of FeatureBase's field.go).
#ifndef FEATUREBASE_FIELD_H_
#define FEATUREBASE_FIELD_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"
#include "featurebase/status.h"

namespace featurebase {

enum class FieldType {
  // Many rows per record; accepts Value::Id (or Value::Key with keys).
  kSet,
  // At most one row per record: writing a row replaces the record's old row.
  kMutex,
  // Row 0 = false, row 1 = true; accepts Value::Bool only.
  kBool,
  // A set field plus one view per time-quantum unit; Set takes a timestamp.
  kTime,
  // Bit-sliced integer (Value::Int), within [min, max].
  kInt,
  // Bit-sliced fixed-point decimal at `scale`.
  kDecimal,
  // Bit-sliced time since `epoch` in `time_unit` units.
  kTimestamp,
};

// The unit of a timestamp field's stored values.
enum class TimeUnit { kSecond, kMillisecond, kMicrosecond, kNanosecond };
// "s", "ms", "us", "ns".
std::string_view TimeUnitName(TimeUnit unit);
// Parses "s", "ms", "us" (or "µs"), "ns"; InvalidArgument naming the text
// otherwise.
StatusOr<TimeUnit> ParseTimeUnit(std::string_view name);

// How a write to an int, decimal or timestamp field combines with the value
// already stored for the record (and with earlier writes of the same record
// in one Batch, in the order they were added). Kafka Streams' terms beside
// ours: kLast is a KTable upsert (the latest value per key); kSum and
// kCount are KGroupedStream#reduce with addition and #count; kMin and kMax
// are #reduce with min and max.
enum class Merge {
  kLast,   // the new value replaces the stored one (FeatureBase's write)
  kSum,    // stored + value (int and decimal fields)
  kCount,  // stored + 1 per write, the value ignored (int fields)
  kMin,    // the smaller of stored and value
  kMax,    // the larger of stored and value
};
// "last", "sum", "count", "min", "max".
std::string_view MergeName(Merge merge);
// Parses a name as above; InvalidArgument naming the text otherwise.
StatusOr<Merge> ParseMerge(std::string_view name);

// "set", "mutex", "bool", "time", "int", "decimal", "timestamp".
std::string_view FieldTypeName(FieldType type);
// Parses a name as above; InvalidArgument otherwise.
StatusOr<FieldType> ParseFieldType(std::string_view name);

// Which time-quantum views a time field keeps: FeatureBase's valid quanta
// are "Y", "YM", "YMD", "YMDH", "M", "MD", "MDH", "D", "DH", "H".
struct TimeQuantum {
  bool year = false, month = false, day = false, hour = false;
  // Parses one of the valid quanta; InvalidArgument naming the text otherwise.
  static StatusOr<TimeQuantum> Parse(std::string_view text);
  std::string ToString() const;
  bool empty() const { return !year && !month && !day && !hour; }
  friend bool operator==(const TimeQuantum&, const TimeQuantum&) = default;
};

struct FieldOptions {
  // ---- behaviour
  FieldType type = FieldType::kSet;
  // Rows are named by strings (set, mutex, time). Default false.
  bool keys = false;
  // Time fields: the quantum (required, non-empty).
  TimeQuantum time_quantum;
  // Time fields: skip the `standard` view (queries without a range then
  // union the time views). Default false.
  bool no_standard_view = false;
  // Time fields: ApplyTtl drops time views that ended before now - ttl.
  // Zero (default) keeps everything.
  absl::Duration ttl = absl::ZeroDuration();
  // Int/decimal/timestamp: the accepted range (decimal: unscaled at `scale`).
  int64_t min = INT64_MIN;
  int64_t max = INT64_MAX;
  // Decimal fields: digits after the point, 0..19.
  int scale = 0;
  // Timestamp fields: the zero point and the unit. Default seconds since
  // the Unix epoch.
  absl::Time epoch = absl::UnixEpoch();
  TimeUnit time_unit = TimeUnit::kSecond;

  // Convenience constructors.
  static FieldOptions Set() { return {}; }
  static FieldOptions Mutex() {
    FieldOptions o;
    o.type = FieldType::kMutex;
    return o;
  }
  static FieldOptions Bool() {
    FieldOptions o;
    o.type = FieldType::kBool;
    return o;
  }
  static FieldOptions Time(TimeQuantum q, bool no_standard_view = false) {
    FieldOptions o;
    o.type = FieldType::kTime;
    o.time_quantum = q;
    o.no_standard_view = no_standard_view;
    return o;
  }
  // An int field accepting [min, max].
  static FieldOptions Int(int64_t min = INT64_MIN, int64_t max = INT64_MAX) {
    FieldOptions o;
    o.type = FieldType::kInt;
    o.min = min;
    o.max = max;
    return o;
  }
  // A decimal field with `scale` digits after the point, accepting unscaled
  // values in [min, max].
  static FieldOptions Decimal(int scale, int64_t min = INT64_MIN,
                              int64_t max = INT64_MAX) {
    FieldOptions o = Int(min, max);
    o.type = FieldType::kDecimal;
    o.scale = scale;
    return o;
  }
  // A timestamp field in `time_unit` units since `epoch`.
  static FieldOptions Timestamp(TimeUnit time_unit = TimeUnit::kSecond,
                                absl::Time epoch = absl::UnixEpoch()) {
    FieldOptions o;
    o.type = FieldType::kTimestamp;
    o.time_unit = time_unit;
    o.epoch = epoch;
    return o;
  }
};

// Index, field and view names follow FeatureBase's rule: a lower-case letter,
// then up to 229 of [a-z0-9_-]. Returns InvalidArgument naming `what`
// ("index", "field") and the name otherwise.
Status ValidateName(std::string_view what, std::string_view name);

}  // namespace featurebase

#endif  // FEATUREBASE_FIELD_H_
