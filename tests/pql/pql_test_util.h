// Builders for expected PQL ASTs in tests.
#ifndef FEATUREBASE_TESTS_PQL_PQL_TEST_UTIL_H_
#define FEATUREBASE_TESTS_PQL_PQL_TEST_UTIL_H_

#include <cstdint>
#include <initializer_list>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "lib/pql/ast.h"

namespace featurebase::internal::pql::testing {

inline Value Null() { return Value{}; }
inline Value Bool(bool b) {
  Value v;
  v.kind = Value::Kind::kBool;
  v.b = b;
  return v;
}
inline Value Int(int64_t i) {
  Value v;
  v.kind = Value::Kind::kInt;
  v.i = i;
  return v;
}
inline Value Uint(uint64_t u) {
  Value v;
  v.kind = Value::Kind::kUint;
  v.u = u;
  return v;
}
inline Value Dec(int64_t unscaled, int scale) {
  Value v;
  v.kind = Value::Kind::kDecimal;
  v.d = Decimal{unscaled, scale};
  return v;
}
inline Value Str(std::string s) {
  Value v;
  v.kind = Value::Kind::kString;
  v.s = std::move(s);
  return v;
}
inline Value Ts(std::string s) {
  Value v;
  v.kind = Value::Kind::kTimestamp;
  v.s = std::move(s);
  return v;
}
inline Value List(std::vector<Value> items) {
  Value v;
  v.kind = Value::Kind::kList;
  v.list = std::move(items);
  return v;
}
inline Value CallV(Call c) {
  Value v;
  v.kind = Value::Kind::kCall;
  v.call = std::make_shared<Call>(std::move(c));
  return v;
}
inline Value Cond(Op op, Value value, Value value2 = Value{}) {
  Value v;
  v.kind = Value::Kind::kCondition;
  v.cond = std::make_shared<Condition>();
  v.cond->op = op;
  v.cond->value = std::move(value);
  v.cond->value2 = std::move(value2);
  return v;
}
inline Arg A(std::string key, Value value) {
  Arg a;
  a.key = std::move(key);
  a.value = std::move(value);
  return a;
}
inline Call C(std::string name, std::vector<Call> children = {},
              std::vector<Arg> args = {}) {
  Call c;
  c.name = std::move(name);
  c.children = std::move(children);
  c.args = std::move(args);
  return c;
}
inline Call C(std::string name, std::vector<Arg> args) {
  return C(std::move(name), {}, std::move(args));
}

}  // namespace featurebase::internal::pql::testing

#endif  // FEATUREBASE_TESTS_PQL_PQL_TEST_UTIL_H_
