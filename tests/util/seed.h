// Seeds for randomized tests: a fixed list by default, or FB_TEST_SEED=<n> to
// replay one. Every randomized test prints its seed on failure (SCOPED_TRACE).
#ifndef FEATUREBASE_TESTS_UTIL_SEED_H_
#define FEATUREBASE_TESTS_UTIL_SEED_H_

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

namespace featurebase::testing {

inline std::vector<uint64_t> TestSeeds(int n_default = 8) {
  if (const char* s = std::getenv("FB_TEST_SEED"))
    return {std::strtoull(s, nullptr, 10)};
  std::vector<uint64_t> seeds;
  for (int i = 0; i < n_default; ++i)
    seeds.push_back(0x9E3779B97F4A7C15ull * (i + 1) >> 17);
  return seeds;
}

inline std::string SeedTrace(uint64_t seed) {
  return "seed " + std::to_string(seed) +
         " (replay with FB_TEST_SEED=" + std::to_string(seed) + ")";
}

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_UTIL_SEED_H_
