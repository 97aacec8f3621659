// fbc: the featurebase_core command-line tool (examples/fbc/commands.h).
#include <cstdio>
#include <string>
#include <vector>

#include "examples/fbc/commands.h"

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  fbc::ProcessOptions process;
  process.exit_after_import = true;
  return fbc::RunFbc(args, stdout, stderr, process);
}
