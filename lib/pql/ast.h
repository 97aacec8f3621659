// PQL abstract syntax tree: what the parser produces, the printer prints,
// the C++ query builder builds and the executor runs.
#ifndef FEATUREBASE_LIB_PQL_AST_H_
#define FEATUREBASE_LIB_PQL_AST_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace featurebase::internal::pql {

struct Call;
struct Condition;

// A decimal literal: unscaled · 10^-scale ("12.340" is {12340, 3}).
struct Decimal {
  int64_t unscaled = 0;
  int scale = 0;
  friend bool operator==(const Decimal&, const Decimal&) = default;
};

// One argument value.
struct Value {
  enum class Kind {
    kNull,       // null
    kBool,       // true / false
    kInt,        // an integer in int64 range (negative allowed)
    kUint,       // an integer above INT64_MAX (up to UINT64_MAX), in `u`
    kDecimal,    // 1.5, -0.25
    kString,     // 'x' or "x" (escapes resolved), or a bare identifier used as a value
    kTimestamp,  // an unquoted timestamp such as 2017-01-02T12:34 or RFC3339; text in `s`
    kList,       // [v, v, ...]
    kCall,       // a call used as a value: filter=Row(f=1), aggregate=Sum(field=x)
    kCondition,  // a comparison: f > 5, 1 < f <= 9 (see Condition)
  };
  Kind kind = Kind::kNull;
  bool b = false;
  int64_t i = 0;
  uint64_t u = 0;
  Decimal d;
  std::string s;
  std::vector<Value> list;
  std::shared_ptr<Call> call;
  std::shared_ptr<Condition> cond;
  size_t pos = 0;  // byte offset in the query text
};

enum class Op {
  kEq,   // f == v (also f = v when v is null; see the parser notes)
  kNeq,  // f != v
  kLt,
  kLte,
  kGt,
  kGte,
  // Chained comparisons lo <[=] f <[=] hi: value = lo, value2 = hi.
  kBetweenLtLt,
  kBetweenLteLt,
  kBetweenLtLte,
  kBetweenLteLte,
};

struct Condition {
  Op op = Op::kEq;
  Value value;
  Value value2;  // between only
};

// key=value, or field <op> value (then value.kind == kCondition and key is
// the field name). Positional non-call arguments get reserved keys:
// "_col" (Set/Clear record), "_field" (TopN(f), Rows(f), Sum(f), ...),
// "_timestamp" (Set's timestamp), "_row" where FeatureBase uses it.
struct Arg {
  std::string key;
  Value value;
  size_t pos = 0;
};

struct Call {
  // FeatureBase's canonical capitalization ("Row", "TopN", "GroupBy",
  // "ConstRow", "IncludesColumn", "MinRow", ...), whatever case was typed.
  std::string name;
  std::vector<Call> children;  // positional child calls, in order
  std::vector<Arg> args;       // all other arguments, in source order
  size_t pos = 0;

  // The argument named `key`, or null.
  const Arg* Find(std::string_view key) const {
    for (const Arg& a : args) {
      if (a.key == key) return &a;
    }
    return nullptr;
  }
};

struct Query {
  std::vector<Call> calls;
};

}  // namespace featurebase::internal::pql

#endif  // FEATUREBASE_LIB_PQL_AST_H_
