// A stand-alone driver for LLVMFuzzerTestOneInput (pql_fuzz.cc) when libFuzzer
// is not available: runs every file of a corpus directory, then N seeded
// random mutations of corpus entries (byte flips, insertions of interesting
// bytes and tokens, deletions, truncations, splices of two entries,
// duplications that deepen nesting).
//
//   pql_fuzz_driver <corpus-dir> [iterations] [seed]
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <string>
#include <vector>

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size);

namespace {

void Run(const std::string& input) {
  LLVMFuzzerTestOneInput(reinterpret_cast<const uint8_t*>(input.data()),
                         input.size());
}

constexpr const char* kTokens[] = {"(",
                                   ")",
                                   ",",
                                   "=",
                                   "==",
                                   "!=",
                                   "<",
                                   "<=",
                                   ">",
                                   ">=",
                                   "><",
                                   "[",
                                   "]",
                                   "\"",
                                   "'",
                                   "\\",
                                   " ",
                                   "\n",
                                   "null",
                                   "true",
                                   "false",
                                   "-",
                                   ".",
                                   "_col",
                                   "_field",
                                   "field=",
                                   "Row(",
                                   "Set(",
                                   "TopN(",
                                   "Range(",
                                   "Count(",
                                   "2017-01-02T03:04",
                                   "2017-01-02T03:04:05Z",
                                   "2017-01-02T03:04:05.5+07:00",
                                   "9223372036854775807",
                                   "9223372036854775808",
                                   "18446744073709551615",
                                   "18446744073709551616",
                                   "-9223372036854775808",
                                   "1.5",
                                   ".5",
                                   "2.",
                                   "Θ",
                                   "$v",
                                   "\xff",
                                   ""};  // "" stands for a NUL byte

std::string Mutate(const std::vector<std::string>& corpus,
                   std::mt19937_64& rng) {
  auto pick = [&](size_t n) { return n == 0 ? 0 : size_t(rng() % n); };
  std::string s = corpus[pick(corpus.size())];
  int rounds = 1 + int(pick(4));
  for (int r = 0; r < rounds; ++r) {
    switch (pick(7)) {
      case 0:  // flip a byte
        if (!s.empty()) s[pick(s.size())] ^= char(1u << pick(8));
        break;
      case 1:  // insert a random byte
        s.insert(s.begin() + long(pick(s.size() + 1)), char(rng()));
        break;
      case 2: {  // insert a token
        std::string t = kTokens[pick(std::size(kTokens))];
        if (t.empty()) t.assign(1, '\0');
        s.insert(pick(s.size() + 1), t);
        break;
      }
      case 3:  // delete a range
        if (!s.empty()) {
          size_t at = pick(s.size());
          s.erase(at, 1 + pick(std::min<size_t>(8, s.size() - at)));
        }
        break;
      case 4:  // truncate
        s.resize(pick(s.size() + 1));
        break;
      case 5: {  // splice with another entry
        const std::string& o = corpus[pick(corpus.size())];
        s = s.substr(0, pick(s.size() + 1)) + o.substr(pick(o.size() + 1));
        break;
      }
      case 6: {  // duplicate a slice (deepens nesting when it holds "Row(")
        if (!s.empty()) {
          size_t at = pick(s.size());
          std::string slice = s.substr(at, 1 + pick(16));
          s.insert(at, slice);
        }
        break;
      }
    }
  }
  return s;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: %s <corpus-dir> [iterations] [seed]\n",
                 argv[0]);
    return 2;
  }
  long iterations = argc > 2 ? std::atol(argv[2]) : 100000;
  uint64_t seed = argc > 3 ? std::strtoull(argv[3], nullptr, 10) : 20240601;
  std::vector<std::string> corpus;
  for (const auto& entry : std::filesystem::directory_iterator(argv[1])) {
    if (!entry.is_regular_file()) continue;
    std::ifstream in(entry.path(), std::ios::binary);
    std::ostringstream buf;
    buf << in.rdbuf();
    corpus.push_back(buf.str());
  }
  if (corpus.empty()) {
    std::fprintf(stderr, "no corpus files in %s\n", argv[1]);
    return 2;
  }
  for (const std::string& input : corpus) Run(input);
  // Deep nesting: at and beyond the parser's limit.
  for (int depth : {999, 1000, 1001, 5000}) {
    std::string deep;
    for (int i = 0; i < depth; ++i) deep += "Count(";
    Run(deep);
    for (int i = 0; i < depth; ++i) deep += ")";
    Run(deep);
  }
  std::mt19937_64 rng(seed);
  for (long i = 0; i < iterations; ++i) Run(Mutate(corpus, rng));
  std::printf(
      "pql_fuzz_driver: %zu corpus entries, %ld mutations (seed %llu): ok\n",
      corpus.size(), iterations, static_cast<unsigned long long>(seed));
  return 0;
}
