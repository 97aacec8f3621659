// Test helper for bulk_malloc_test: calls ReexecWithBulkLoadMalloc as fbc's
// bulk-load commands do, then prints whether it runs with the tunables,
// what GLIBC_TUNABLES holds ("-" when unset) and its first argument.
#include <cstdio>
#include <cstdlib>

#include "examples/fbc/bulk_malloc.h"

int main(int argc, char** argv) {
  fbc::ReexecWithBulkLoadMalloc(argv);
  const char* t = std::getenv("GLIBC_TUNABLES");
  std::printf("%d %s %s\n", fbc::HasBulkLoadMalloc() ? 1 : 0,
              t != nullptr ? t : "-", argc > 1 ? argv[1] : "-");
  return 0;
}
