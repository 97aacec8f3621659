// A table-driven PQL case: a setup query, a query, and the expected JSON or
// the expected error code and a fragment of its message.
#ifndef FEATUREBASE_TESTS_QUERY_PQL_CASE_H_
#define FEATUREBASE_TESTS_QUERY_PQL_CASE_H_

#include <gtest/gtest.h>

#include <string>

#include "absl/status/status.h"
#include "featurebase/index.h"
#include "featurebase/query.h"

namespace featurebase::testing {

struct PqlCase {
  const char* name;
  const char* setup;  // run first; must succeed
  const char* query;
  const char* json;  // expected JSON, or null when an error is expected
  absl::StatusCode code = absl::StatusCode::kOk;
  const char* fragment = nullptr;  // expected in the error message
};

// Runs `tc` on `index` (fresh for each case) and reports any difference as
// a non-fatal failure traced with the case's name and queries.
inline void RunPqlCase(Index& index, const PqlCase& tc) {
  SCOPED_TRACE(std::string(tc.name) + ": " + tc.setup + " | " + tc.query);
  if (*tc.setup != '\0') {
    auto setup = Query(index, tc.setup);
    if (!setup.ok()) {
      ADD_FAILURE() << "setup: " << setup.status();
      return;
    }
  }
  auto got = Query(index, tc.query);
  if (tc.json != nullptr) {
    if (!got.ok()) {
      ADD_FAILURE() << got.status();
      return;
    }
    EXPECT_EQ(got->ToJson(), tc.json);
    return;
  }
  if (got.ok()) {
    ADD_FAILURE() << "want an error, got " << got->ToJson();
    return;
  }
  EXPECT_EQ(got.status().code(), tc.code) << got.status();
  EXPECT_NE(got.status().message().find(tc.fragment), std::string::npos)
      << got.status();
}

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_QUERY_PQL_CASE_H_
