#include "examples/fbc/bulk_malloc.h"

#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace fbc {

void ReexecWithBulkLoadMalloc(char** argv) {
#ifdef __GLIBC__
  if (std::getenv("GLIBC_TUNABLES") != nullptr ||
      std::getenv("FBC_DEFAULT_MALLOC") != nullptr) {
    return;
  }
  if (::setenv("GLIBC_TUNABLES", kBulkLoadTunables, 1) != 0) return;
  ::execv("/proc/self/exe", argv);
  ::unsetenv("GLIBC_TUNABLES");  // exec failed: run as we are
#else
  (void)argv;
#endif
}

bool HasBulkLoadMalloc() {
  const char* t = std::getenv("GLIBC_TUNABLES");
  return t != nullptr && std::strcmp(t, kBulkLoadTunables) == 0;
}

}  // namespace fbc
