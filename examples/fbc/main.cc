// fbc: the featurebase_core command-line tool (examples/fbc/commands.h).
#include <cstdio>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "examples/fbc/bulk_malloc.h"
#include "examples/fbc/commands.h"

int main(int argc, char** argv) {
  // The commands that bulk-load run with malloc settings for it
  // (bulk_malloc.h); a stray argument of the same name only costs an exec.
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "import-csv") == 0 ||
        std::strcmp(argv[i], "demo") == 0) {
      fbc::ReexecWithBulkLoadMalloc(argv);
      break;
    }
  }
  // The last resort: the commands report errors as statuses, but nothing
  // (std::bad_alloc, a library throwing) may end the process unreported.
  try {
    std::vector<std::string> args(argv + 1, argv + argc);
    fbc::ProcessOptions process;
    process.exit_after_import = true;
    return fbc::RunFbc(args, stdout, stderr, process);
  } catch (const std::exception& e) {
    return fbc::FailUncaught(e.what(), stdout, stderr);
  } catch (...) {
    return fbc::FailUncaught("unknown exception", stdout, stderr);
  }
}
