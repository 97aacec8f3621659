// Value: one typed value written to, or used to address, a field: a row id, a
// row key, a bool, an integer, a decimal, a timestamp, or null.
//
// Each field type accepts some kinds (see field.h); a value of another kind is
// InvalidArgument naming the field. A Value is a small value type, built by
// the factories below (the Set* methods reassign one in place);
// thread-compatible.
#ifndef FEATUREBASE_VALUE_H_
#define FEATUREBASE_VALUE_H_

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>

#include "absl/time/time.h"

namespace featurebase {

class Value {
 public:
  enum class Kind { kNull, kId, kKey, kBool, kInt, kDecimal, kTimestamp };

  // Null: "no value" (ingest ignores it; queries use it for `== null`).
  Value() = default;
  static Value Null() { return Value(); }
  // A row id (set, mutex, time fields without keys).
  static Value Id(uint64_t id) { return Value(Kind::kId, int64_t(id)); }
  // A row key (set, mutex, time fields with keys). An empty key is null.
  static Value Key(std::string key) {
    if (key.empty()) return Value();
    Value v(Kind::kKey, 0);
    v.key_ = std::move(key);
    return v;
  }
  static Value Bool(bool b) { return Value(Kind::kBool, b ? 1 : 0); }
  // An integer (int fields, or a decimal field taking a whole number).
  static Value Int(int64_t v) { return Value(Kind::kInt, v); }
  // unscaled · 10^-scale, e.g. Decimal(1234, 2) is 12.34; scale in [0, 19].
  static Value Decimal(int64_t unscaled, int scale) {
    Value v(Kind::kDecimal, unscaled);
    v.scale_ = scale;
    return v;
  }
  static Value Timestamp(absl::Time t) {
    Value v(Kind::kTimestamp, 0);
    v.time_ = t;
    return v;
  }

  // In-place forms of the factories, equal to assigning them, for a loop
  // that refills one Value per row (a CSV or JSON decoder): they keep the
  // key string's storage instead of building and moving a temporary.
  void SetNull() { Set(Kind::kNull, 0); }
  void SetId(uint64_t id) { Set(Kind::kId, int64_t(id)); }
  void SetKey(std::string_view key) {
    if (key.empty()) return SetNull();
    Set(Kind::kKey, 0);
    key_.assign(key.data(), key.size());
  }
  void SetBool(bool b) { Set(Kind::kBool, b ? 1 : 0); }
  void SetInt(int64_t v) { Set(Kind::kInt, v); }
  void SetDecimal(int64_t unscaled, int scale) {
    Set(Kind::kDecimal, unscaled);
    scale_ = scale;
  }
  void SetTimestamp(absl::Time t) {
    Set(Kind::kTimestamp, 0);
    time_ = t;
  }

  Kind kind() const { return kind_; }
  bool is_null() const { return kind_ == Kind::kNull; }
  // Accessors; each requires the matching kind.
  uint64_t id() const { return uint64_t(int_); }
  const std::string& key() const { return key_; }
  bool boolean() const { return int_ != 0; }
  int64_t integer() const { return int_; }
  int64_t unscaled() const { return int_; }
  int scale() const { return scale_; }
  absl::Time timestamp() const { return time_; }

  // A short description for error messages, e.g. `id 7`, `key "x"`, `bool
  // true`.
  std::string DebugString() const;

  friend bool operator==(const Value& a, const Value& b) {
    return a.kind_ == b.kind_ && a.int_ == b.int_ && a.scale_ == b.scale_ &&
           a.key_ == b.key_ && a.time_ == b.time_;
  }

 private:
  Value(Kind k, int64_t i) : kind_(k), int_(i) {}
  void Set(Kind k, int64_t i) {
    kind_ = k;
    int_ = i;
    scale_ = 0;
    key_.clear();
    time_ = absl::Time();
  }
  Kind kind_ = Kind::kNull;
  int64_t int_ = 0;
  int scale_ = 0;
  std::string key_;
  absl::Time time_;
};

// The name of a kind: "null", "id", "key", "bool", "int", "decimal",
// "timestamp".
std::string_view KindName(Value::Kind kind);

// `t` as results print timestamps: RFC3339 in UTC with a four-digit year
// and the shortest exact fraction ("0050-01-01T00:00:00Z",
// "2024-05-06T07:08:09.123Z"). Years outside 0..9999 print in ISO 8601's
// expanded form ("+10000-01-01T00:00:00Z"). Thread-safe.
std::string FormatRfc3339(absl::Time t);

}  // namespace featurebase

#endif  // FEATUREBASE_VALUE_H_
