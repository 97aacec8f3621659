// Status assertions that print the status when they fail, as abseil's
// status matchers do (Debian's abseil ships none):
//
//   FB_ASSERT_OK(index->CreateField("f", options));
//   FB_EXPECT_OK(Query(*index, "Count(All())"));
//   EXPECT_THAT(got, StatusIs(absl::StatusCode::kNotFound));
//   EXPECT_THAT(got, StatusIs(absl::StatusCode::kInvalidArgument,
//                             HasSubstr("unknown argument")));
//
// Each takes an absl::Status or an absl::StatusOr<T>. Under an `if`, brace
// FB_ASSERT_OK/FB_EXPECT_OK (GCC warns of an ambiguous else otherwise).
#ifndef FEATUREBASE_TESTS_UTIL_STATUS_MATCHERS_H_
#define FEATUREBASE_TESTS_UTIL_STATUS_MATCHERS_H_

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <ostream>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace featurebase::testing {

inline const absl::Status& GetStatus(const absl::Status& s) { return s; }
template <typename T>
const absl::Status& GetStatus(const absl::StatusOr<T>& s) {
  return s.status();
}

// The predicate formatter behind FB_ASSERT_OK / FB_EXPECT_OK.
template <typename T>
::testing::AssertionResult IsOkFormat(const char* text, const T& value) {
  const absl::Status& s = GetStatus(value);
  if (s.ok()) return ::testing::AssertionSuccess();
  return ::testing::AssertionFailure() << text << " is not OK: " << s;
}

MATCHER_P(StatusIs, code,
          std::string(negation ? "has a status code other than "
                               : "has status code ") +
              absl::StatusCodeToString(code)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "whose status is " << s;
  return s.code() == code;
}

MATCHER_P2(StatusIs, code, message_matcher,
           std::string(negation ? "does not have status code "
                                : "has status code ") +
               absl::StatusCodeToString(code) + " and a message that " +
               ::testing::DescribeMatcher<std::string>(message_matcher,
                                                       negation)) {
  const absl::Status& s = GetStatus(arg);
  *result_listener << "whose status is " << s;
  return s.code() == code &&
         ::testing::Matches(message_matcher)(std::string(s.message()));
}

}  // namespace featurebase::testing

#define FB_ASSERT_OK(expr) \
  ASSERT_PRED_FORMAT1(::featurebase::testing::IsOkFormat, expr)
#define FB_EXPECT_OK(expr) \
  EXPECT_PRED_FORMAT1(::featurebase::testing::IsOkFormat, expr)

#endif  // FEATUREBASE_TESTS_UTIL_STATUS_MATCHERS_H_
