// The typed C++ query builder: PQL calls as C++ values, in namespace
// featurebase::pql. A builder call is the same query tree the PQL parser
// produces for the equivalent text (ToPql() prints that text), and
// Query(index, call) runs it without printing or parsing:
//
//   using namespace featurebase;
//   pql::Call q = pql::Count(pql::Intersect(pql::Row("cab_type", "yellow"),
//                                           pql::Row(pql::Field("fare") >
//                                           500)));
//   StatusOr<QueryResponse> r = Query(index, q);
//
// Building never fails: arguments are checked when the call runs, with the
// same errors as the PQL text would give (an unknown field is NotFound, a
// value of the wrong kind InvalidArgument naming the call and the field).
//
// Calls, fields, operands and conditions are immutable values, cheap to copy
// (calls share their subtrees) and thread-safe to share.
#ifndef FEATUREBASE_QUERY_BUILDER_H_
#define FEATUREBASE_QUERY_BUILDER_H_

#include <concepts>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include "absl/time/time.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/status.h"
#include "featurebase/value.h"

namespace featurebase {

namespace internal::pql {
struct Call;
struct Value;
}  // namespace internal::pql

namespace internal {
struct BuilderAccess;
}  // namespace internal

namespace pql {

// One PQL call (a row call such as Row or Intersect, or a top-level call
// such as Count, TopN or GroupBy).
class Call {
 public:
  // Canonical PQL text of this call, e.g. `Count(Row(f=1))`; parsing it
  // gives the same tree. Linear time.
  std::string ToPql() const;
  // The call's name in FeatureBase's capitalization, e.g. "TopN".
  const std::string& name() const;

 private:
  friend struct internal::BuilderAccess;
  explicit Call(std::shared_ptr<const internal::pql::Call> node)
      : node_(std::move(node)) {}
  std::shared_ptr<const internal::pql::Call> node_;
};

// A literal: an integer (any integral type but bool; ids above INT64_MAX
// stay unsigned), a featurebase::Value (Int, Decimal, Timestamp, Id, Key,
// Bool, Null), an absl::Time (printed as RFC3339 in UTC; years 1..9999), or
// nullptr for null.
class Operand {
 public:
  template <std::integral T>
  requires(!std::same_as<T, bool>)
      Operand(T v) {  // NOLINT(google-explicit-constructor)
    if constexpr (std::is_signed_v<T>) {
      value_ = Value::Int(int64_t(v));
    } else if (uint64_t(v) > uint64_t(INT64_MAX)) {
      value_ = Value::Id(uint64_t(v));
    } else {
      value_ = Value::Int(int64_t(v));
    }
  }
  Operand(const Value& v) : value_(v) {}                  // NOLINT
  Operand(absl::Time t) : value_(Value::Timestamp(t)) {}  // NOLINT
  Operand(std::nullptr_t) {}                              // NOLINT
  const Value& value() const { return value_; }

 private:
  Value value_;
};

// A row of a set, mutex, bool or time field: an id (any integral type but
// bool), a key (string), a bool, or a featurebase::Value.
class RowRef {
 public:
  template <std::integral T>
  requires(!std::same_as<T, bool>)
      RowRef(T v) {  // NOLINT(google-explicit-constructor)
    // A negative id stays negative, so that running it is an error.
    if constexpr (std::is_signed_v<T>) {
      value_ = v < 0 ? Value::Int(int64_t(v)) : Value::Id(uint64_t(v));
    } else {
      value_ = Value::Id(uint64_t(v));
    }
  }
  template <typename B>
  requires std::same_as<B, bool> RowRef(B b)
      : value_(Value::Bool(b)) {}                       // NOLINT
  RowRef(const char* key) : value_(Value::Key(key)) {}  // NOLINT
  RowRef(std::string_view key)
      : value_(Value::Key(std::string(key))) {}                // NOLINT
  RowRef(const std::string& key) : value_(Value::Key(key)) {}  // NOLINT
  RowRef(const Value& v) : value_(v) {}                        // NOLINT
  const Value& value() const { return value_; }

 private:
  Value value_;
};

// Which bounds a Between includes.
enum class Bounds {
  kClosed,      // lo <= f <= hi (FeatureBase's f >< [lo, hi])
  kOpen,        // lo <  f <  hi
  kClosedOpen,  // lo <= f <  hi
  kOpenClosed,  // lo <  f <= hi
};

// A comparison on a field, for Row(condition): `Field("f") > 5`,
// `Field("f") == nullptr`, `Field("f").Between(1, 9, Bounds::kClosedOpen)`.
// Int fields compare with integers, decimal fields with integers and
// decimals, timestamp fields with times (or integers, counted in the field's
// unit from its epoch); == and != also take null on any field, and == a row
// on set/mutex/bool fields means Row(f=row).
class Condition {
 public:
  enum class Op { kEq, kNeq, kLt, kLte, kGt, kGte, kBetween };
  const std::string& field() const { return field_; }
  Op op() const { return op_; }
  const Value& value() const { return value_; }
  const Value& upper() const { return upper_; }  // kBetween only
  Bounds bounds() const { return bounds_; }      // kBetween only

 private:
  friend class Field;
  friend struct internal::BuilderAccess;
  Condition(std::string field, Op op, Value value, Value upper = {},
            Bounds bounds = Bounds::kClosed)
      : field_(std::move(field)),
        op_(op),
        value_(std::move(value)),
        upper_(std::move(upper)),
        bounds_(bounds) {}
  std::string field_;
  Op op_;
  Value value_;
  Value upper_;
  Bounds bounds_;
};

// A field named in a comparison.
class Field {
 public:
  explicit Field(std::string name) : name_(std::move(name)) {}
  const std::string& name() const { return name_; }
  Condition operator==(const Operand& v) const {
    return Make(Condition::Op::kEq, v);
  }
  Condition operator!=(const Operand& v) const {
    return Make(Condition::Op::kNeq, v);
  }
  Condition operator<(const Operand& v) const {
    return Make(Condition::Op::kLt, v);
  }
  Condition operator<=(const Operand& v) const {
    return Make(Condition::Op::kLte, v);
  }
  Condition operator>(const Operand& v) const {
    return Make(Condition::Op::kGt, v);
  }
  Condition operator>=(const Operand& v) const {
    return Make(Condition::Op::kGte, v);
  }
  // lo <[=] f <[=] hi.
  Condition Between(const Operand& lo, const Operand& hi,
                    Bounds bounds = Bounds::kClosed) const {
    return Condition(name_, Condition::Op::kBetween, lo.value(), hi.value(),
                     bounds);
  }

 private:
  Condition Make(Condition::Op op, const Operand& v) const {
    return Condition(name_, op, v.value());
  }
  std::string name_;
};

// ---- row calls

// Row(field=row): records holding `row`. With a non-empty `range` (time
// fields only), Row(field=row, from=..., to=...).
Call Row(std::string field, const RowRef& row, const TimeRange& range = {});
// Row(f > v), Row(lo <= f < hi), Row(f == null), ...
Call Row(const Condition& condition);
Call Union(std::vector<Call> rows);
Call Intersect(std::vector<Call> rows);   // at least one row to run
Call Difference(std::vector<Call> rows);  // at least one row to run
Call Xor(std::vector<Call> rows);
// Variadic forms: Union(a, b, c).
template <typename... C>
requires(std::same_as<C, Call>&&...) Call Union(const C&... rows) {
  return Union(std::vector<Call>{rows...});
}
template <typename... C>
requires(std::same_as<C, Call>&&...) Call Intersect(const C&... rows) {
  return Intersect(std::vector<Call>{rows...});
}
template <typename... C>
requires(std::same_as<C, Call>&&...) Call Difference(const C&... rows) {
  return Difference(std::vector<Call>{rows...});
}
template <typename... C>
requires(std::same_as<C, Call>&&...) Call Xor(const C&... rows) {
  return Xor(std::vector<Call>{rows...});
}
// Existing records not in `row`; All records. Both need existence tracking
// (FailedPrecondition when run otherwise).
Call Not(const Call& row);
Call All();
// Shift(row, n=by): every record id + by.
Call Shift(const Call& row, uint64_t by);
// Limit(row, limit=, offset=): at most `limit` records after skipping
// `offset`, in id order (limit or offset omitted when nullopt).
Call Limit(const Call& row, std::optional<uint64_t> limit,
           std::optional<uint64_t> offset = std::nullopt);
// ConstRow(columns=[...]): the given records (ids, or keys on keyed
// indexes) that exist.
Call ConstRow(std::vector<uint64_t> columns);
Call ConstRow(std::vector<std::string> keys);

// ---- top-level calls

// Count(row): the number of records.
Call Count(const Call& row);

struct TopNArgs {
  // n=: at most this many rows (omitted: all).
  std::optional<uint64_t> n{};
  // A row call: count only its records.
  std::optional<Call> filter{};
  // threshold=: only rows with at least this many records (default 1).
  std::optional<uint64_t> threshold{};
  // tanimotoThreshold= (1..100, with a filter): only rows r whose Tanimoto
  // similarity with the filter f, ceil(100·|r∩f| / |r∪f|), exceeds it.
  std::optional<uint64_t> tanimoto_threshold{};
  // ids=[...]: only these rows (then n is ignored, as in FeatureBase).
  std::vector<RowRef> ids{};
};
// TopN(field, [filter], n=...): rows by count descending, ties by id.
Call TopN(std::string field, const TopNArgs& args = {});

struct RowsArgs {
  std::optional<uint64_t> previous{};  // previous=: rows after this id
  std::optional<uint64_t> limit{};     // limit=
  std::optional<uint64_t> column{};    // column=: rows of this record
  TimeRange range{};                   // from=, to= (time fields)
  // like="pat": keyed fields, row keys matching an SQL LIKE pattern (%
  // any run, _ one character).
  std::optional<std::string> like{};
  // in=[...]: only these rows (ids, or keys on keyed fields).
  std::optional<std::vector<RowRef>> in{};
};
// Rows(field, ...): row ids (or keys) having any record.
Call Rows(std::string field, const RowsArgs& args = {});

// Sum(field, [filter]), Min(...), Max(...) of an int, decimal or timestamp
// field: {"value":V,"count":N}.
Call Sum(std::string field, std::optional<Call> filter = std::nullopt);
Call Min(std::string field, std::optional<Call> filter = std::nullopt);
Call Max(std::string field, std::optional<Call> filter = std::nullopt);

struct GroupByArgs {
  std::optional<Call> filter{};      // filter=<row call>
  std::optional<uint64_t> limit{};   // limit=
  std::optional<uint64_t> offset{};  // offset=
  // aggregate=Sum(field) or Count(Distinct(field)) (CountDistinct below).
  std::optional<Call> aggregate{};
  // having=Condition(...): Field("count") > 5, or Field("sum") (the
  // aggregate) compared with a value.
  std::optional<Condition> having{};
  // sort="count desc, aggregate asc" (keys count, aggregate or sum;
  // direction asc or desc, default desc).
  std::optional<std::string> sort{};
  // previous=[...]: only groups after this one (one row per Rows call).
  std::vector<RowRef> previous{};
};
// GroupBy(Rows(a), Rows(b), ..., filter=, limit=, offset=, aggregate=).
// `rows` are Rows calls.
Call GroupBy(std::vector<Call> rows, const GroupByArgs& args = {});

// Extract(filter, Rows(a), Rows(b), ...): the value of each field for each
// record of `filter`.
Call Extract(const Call& filter, std::vector<Call> fields);

// Distinct(filter?, field=f): the rows of a set/mutex field holding any
// (filtered) record, or the distinct values of an int/decimal/timestamp
// field (FeatureBase's SignedRow / DistinctTimestamp shapes).
Call Distinct(std::string field, std::optional<Call> filter = std::nullopt);
// Count(Distinct(filter?, field=f)): as GroupByArgs::aggregate, the number
// of distinct values among each group's records.
Call CountDistinct(std::string field,
                   std::optional<Call> filter = std::nullopt);

struct TopKArgs {
  std::optional<uint64_t> k{};   // k=: at most this many rows
  std::optional<Call> filter{};  // filter=<row call>
  TimeRange range{};             // from=, to= (time fields)
};
// TopK(field, k=, filter=, from=, to=): exact top rows by count.
Call TopK(std::string field, const TopKArgs& args = {});

// Percentile(field, nth=, filter=): the nth percentile (0..100; an integer
// or a Value::Decimal) of an int, decimal or timestamp field.
Call Percentile(std::string field, const Operand& nth,
                std::optional<Call> filter = std::nullopt);
// FieldValue(field=f, column=c): one record's value (an id, or a key on
// keyed indexes).
Call FieldValue(std::string field, const RowRef& column);
// MinRow(field, filter?) / MaxRow(...): the smallest/largest row holding a
// (filtered) record.
Call MinRow(std::string field, std::optional<Call> filter = std::nullopt);
Call MaxRow(std::string field, std::optional<Call> filter = std::nullopt);
// IncludesColumn(row, column=c): whether `row` holds the record.
Call IncludesColumn(const Call& row, const RowRef& column);

struct SortArgs {
  std::optional<Call> filter{};      // a row call: only its records
  std::optional<bool> desc{};        // sort-desc=
  std::optional<uint64_t> limit{};   // limit=
  std::optional<uint64_t> offset{};  // offset=
};
// Sort(filter?, field=f, sort-desc=, limit=, offset=): records ordered by a
// value field.
Call Sort(std::string field, const SortArgs& args = {});
// Options(call, shards=[...]): runs `call` over these shards only.
Call Options(const Call& call, std::vector<uint64_t> shards);

// ---- writes (each returns whether anything changed)

// Set(column, field=value[, timestamp]): a row id/key/bool for set, mutex,
// bool and time fields, an Int/Decimal/Timestamp Value for value fields;
// the column is an id, or a key on keyed indexes (created if new).
Call Set(const RowRef& column, std::string field, const Value& value,
         std::optional<absl::Time> timestamp = std::nullopt);
// Clear(column, field=value).
Call Clear(const RowRef& column, std::string field, const Value& value);
// ClearRow(field=row): the row in every shard.
Call ClearRow(std::string field, const RowRef& row);
// Store(row, field=row): makes the destination row exactly `row`'s records.
Call Store(const Call& row, std::string field, const RowRef& dest);
// Delete(row): deletes the records.
Call Delete(const Call& row);

}  // namespace pql

// Runs one builder call (one result), or several in order, exactly as
// Query(index, text) runs the equivalent PQL text (same results, same
// errors), without printing or parsing it.
StatusOr<QueryResponse> Query(Index& index, const pql::Call& call,
                              const QueryOptions& options = {});
StatusOr<QueryResponse> Query(Index& index, const std::vector<pql::Call>& calls,
                              const QueryOptions& options = {});

}  // namespace featurebase

#endif  // FEATUREBASE_QUERY_BUILDER_H_
