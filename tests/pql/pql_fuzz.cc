// Fuzz target for the PQL parser and printer: any input that parses must
// print to text that parses back to an equal query, and printing must be a
// fixed point after one round. Built as a libFuzzer binary (pql_fuzzer) when
// the compiler supports it, and always as pql_fuzz_driver (fuzz_driver.cc).
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "lib/pql/parser.h"
#include "lib/pql/printer.h"

namespace {

[[noreturn]] void Fail(const char* what, std::string_view input,
                       const std::string& printed) {
  std::fprintf(stderr, "pql_fuzz: %s\ninput (%zu bytes): %.*s\nprinted: %s\n",
               what, input.size(), static_cast<int>(input.size()), input.data(),
               printed.c_str());
  std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto query = featurebase::internal::pql::Parse(input);
  if (!query.ok()) {
    if (query.status().code() != absl::StatusCode::kInvalidArgument) {
      Fail("parse failed with a code other than InvalidArgument", input, "");
    }
    return 0;
  }
  std::string printed = featurebase::internal::pql::Print(*query);
  auto again = featurebase::internal::pql::Parse(printed);
  if (!again.ok()) {
    Fail(std::string(again.status().message()).c_str(), input, printed);
  }
  if (!featurebase::internal::pql::Equal(*query, *again)) {
    Fail("re-parsed query differs", input, printed);
  }
  if (featurebase::internal::pql::Print(*again) != printed) {
    Fail("printing is not a fixed point", input, printed);
  }
  return 0;
}
