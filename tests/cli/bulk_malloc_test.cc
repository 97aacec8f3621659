// fbc's bulk-load malloc settings (examples/fbc/bulk_malloc.h): the probe
// re-executes itself with them unless the user set GLIBC_TUNABLES or
// FBC_DEFAULT_MALLOC, and keeps its arguments.
#include "examples/fbc/bulk_malloc.h"

#include <gtest/gtest.h>
#include <stdio.h>

#include <string>

namespace {

// Runs the probe under `env` (a prefix for env(1)) and returns its stdout.
std::string Probe(const std::string& env) {
  const std::string cmd = "env -u GLIBC_TUNABLES -u FBC_DEFAULT_MALLOC " + env +
                          " " + BULK_MALLOC_PROBE + " first-arg";
  FILE* p = ::popen(cmd.c_str(), "r");
  if (p == nullptr) return "popen failed";
  std::string out;
  char buf[512];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0) out.append(buf, n);
  const int st = ::pclose(p);
  if (st != 0) out += " (exit status " + std::to_string(st) + ")";
  return out;
}

TEST(BulkMallocTest, ReexecutesWithTheTunablesKeepingItsArguments) {
  EXPECT_EQ(Probe(""),
            std::string("1 ") + fbc::kBulkLoadTunables + " first-arg\n");
}

TEST(BulkMallocTest, LeavesTheUsersChoiceAlone) {
  EXPECT_EQ(Probe("FBC_DEFAULT_MALLOC=1"), "0 - first-arg\n");
  EXPECT_EQ(Probe("GLIBC_TUNABLES=glibc.malloc.arena_max=2"),
            "0 glibc.malloc.arena_max=2 first-arg\n");
}

}  // namespace
