// The fbc command line: `fbc [--data-dir DIR] COMMAND ...` (see Usage()).
// Every command writes its result to `out` and messages to `err`, and
// returns the process exit code: 0 success, 1 failure (with
// {"error":"..."} on `out` for JSON commands), 2 bad arguments.
#ifndef FBC_COMMANDS_H_
#define FBC_COMMANDS_H_

#include <cstdio>
#include <string>
#include <vector>

namespace fbc {

// The usage text.
const char* Usage();

// How the fbc binary runs commands; in-process callers (tests) keep the
// defaults.
struct ProcessOptions {
  // import-csv ends the process (std::_Exit) once the import is durable and
  // its summary printed, instead of freeing the index: the kernel takes a
  // process's memory back at once, while freeing millions of rows one by
  // one costs a third of a second per 5M records.
  bool exit_after_import = false;
};

// Runs one invocation; args exclude the program name.
int RunFbc(const std::vector<std::string>& args, std::FILE* out, std::FILE* err,
           const ProcessOptions& process = {});

// Reports an exception that reached main: {"error":"internal: uncaught
// exception: <what>"} on `out`, one line on `err`; returns 1.
int FailUncaught(const char* what, std::FILE* out, std::FILE* err);

}  // namespace fbc

#endif  // FBC_COMMANDS_H_
