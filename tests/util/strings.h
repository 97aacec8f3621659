// String helpers shared by tests.
#ifndef FEATUREBASE_TESTS_UTIL_STRINGS_H_
#define FEATUREBASE_TESTS_UTIL_STRINGS_H_

#include <string>
#include <string_view>

namespace featurebase::testing {

// "prefix" + decimal n (GCC 12 warns falsely on operator+ of a literal and a
// temporary string).
template <typename N>
std::string Cat(std::string_view prefix, N n) {
  std::string s(prefix);
  s += std::to_string(n);
  return s;
}

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_UTIL_STRINGS_H_
