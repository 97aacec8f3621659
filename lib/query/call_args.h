// The arguments of PQL calls: the table of the arguments each call takes
// (so that a misspelt or unknown argument is refused instead of silently
// ignored), and the helpers that read one argument, each failing with
// InvalidArgument naming the call ("TopN(): n must be a non-negative
// integer").
#ifndef FEATUREBASE_LIB_QUERY_CALL_ARGS_H_
#define FEATUREBASE_LIB_QUERY_CALL_ARGS_H_

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"
#include "absl/time/time.h"
#include "featurebase/index.h"
#include "lib/core/index_state.h"
#include "lib/pql/ast.h"

namespace featurebase::internal {

// OK when every call in `c` (children and calls given as argument values
// included) names only arguments it takes: the keyword arguments of
// FeatureBase's executor for that call, plus `field=value` for the calls
// that write or read one row (Row, Range, Set, Clear, ClearRow, Store),
// whose field is checked by the executor. Else InvalidArgument naming the
// argument and the call ("TopN(): unknown argument \"bogus\" (takes _field,
// field, n, ...)"). Calls missing from the table are left to the executor.
absl::Status CheckCallArgs(const pql::Call& c);

// The calls the argument table lists, in its order (for the test that it
// and the call table name the same calls).
std::vector<std::string_view> CallsWithArgs();

// InvalidArgument "<call>(): <msg>".
absl::Status CallError(const pql::Call& c, std::string_view msg);

// A time argument: seconds since the epoch, or a timestamp/string in one of
// FeatureBase's layouts (2017-01-02T15:04, RFC3339, dates, ...).
absl::StatusOr<absl::Time> ParseTimeArg(const pql::Call& c,
                                        std::string_view key,
                                        const pql::Value& v);

// The row Value that a PQL literal names in `f`.
absl::StatusOr<Value> RowValue(const pql::Call& c, const FieldState& f,
                               const pql::Value& v);

// A non-negative integer argument, `dflt` when absent.
absl::StatusOr<uint64_t> UintArg(const pql::Call& c, std::string_view key,
                                 uint64_t dflt);
absl::StatusOr<std::optional<uint64_t>> OptUintArg(const pql::Call& c,
                                                   std::string_view key);

// The field named by `field=` or the first positional name (`_field`).
absl::StatusOr<std::string> FieldArg(const pql::Call& c);

// A record argument: an id, or a key on keyed indexes (looked up in `st`;
// created in `create_in` when not null).
absl::StatusOr<uint64_t> ColumnArg(const pql::Call& c, std::string_view key,
                                   const IndexState& st,
                                   Index* create_in = nullptr);

// A literal as the query wrote it, for messages.
std::string LiteralText(const pql::Value& v);

// A literal in raw units of a value field: `raw` is the literal itself
// when `exact`, else (a decimal finer than the field's scale) the largest
// raw value below it.
struct PredicateRaw {
  __int128 raw = 0;
  bool exact = true;
};

// A comparison or write value in raw units of value field `f`; may lie
// beyond int64 (the spec clamps comparisons with FeatureBase's rules).
absl::StatusOr<PredicateRaw> PredicateValue(const pql::Call& c,
                                            const FieldState& f,
                                            const pql::Value& v);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_QUERY_CALL_ARGS_H_
