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

// Runs one invocation; args exclude the program name.
int RunFbc(const std::vector<std::string>& args, std::FILE* out,
           std::FILE* err);

}  // namespace fbc

#endif  // FBC_COMMANDS_H_
