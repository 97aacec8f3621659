// The status assertions fail on a non-OK status and print it.
#include "tests/util/status_matchers.h"

#include <gtest/gtest-spi.h>

namespace featurebase::testing {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

absl::StatusOr<int> NotFound() { return absl::NotFoundError("no field \"x\""); }

TEST(StatusMatchersTest, OkPassesAndAFailurePrintsTheStatus) {
  FB_EXPECT_OK(absl::OkStatus());
  FB_ASSERT_OK(absl::StatusOr<int>(7));
  EXPECT_NONFATAL_FAILURE(FB_EXPECT_OK(NotFound()),
                          "NotFound() is not OK: NOT_FOUND: no field \"x\"");
  EXPECT_FATAL_FAILURE(FB_ASSERT_OK(absl::InternalError("boom")),
                       "is not OK: INTERNAL: boom");
}

TEST(StatusMatchersTest, StatusIsMatchesTheCodeAndTheMessage) {
  EXPECT_THAT(NotFound(), StatusIs(absl::StatusCode::kNotFound));
  EXPECT_THAT(NotFound(), Not(StatusIs(absl::StatusCode::kInternal)));
  EXPECT_THAT(NotFound(),
              StatusIs(absl::StatusCode::kNotFound, HasSubstr("field \"x\"")));
  EXPECT_THAT(NotFound(), Not(StatusIs(absl::StatusCode::kNotFound,
                                       HasSubstr("field \"y\""))));
  EXPECT_NONFATAL_FAILURE(
      EXPECT_THAT(absl::OkStatus(), StatusIs(absl::StatusCode::kNotFound)),
      "whose status is OK");
}

}  // namespace
}  // namespace featurebase::testing
