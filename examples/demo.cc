// Placeholder main job until the index and the fbc tool land: builds two
// row-like bitmaps over 10M columns and prints a few query-shaped results.
#include <chrono>
#include <cstdio>
#include <random>
#include <vector>

#include "featurebase/bitmap.h"
#include "featurebase/version.h"

int main() {
  using featurebase::Bitmap;
  std::mt19937_64 rng(42);
  std::vector<uint64_t> a_vals, b_vals;
  for (uint64_t c = 0; c < 10'000'000; ++c) {
    if (rng() % 4 == 0) a_vals.push_back(c);
    if (rng() % 10 == 0) b_vals.push_back(c);
  }
  Bitmap a = Bitmap::FromValues(a_vals), b = Bitmap::FromValues(b_vals);
  auto t0 = std::chrono::steady_clock::now();
  const uint64_t both = Bitmap::IntersectCount(a, b);
  auto t1 = std::chrono::steady_clock::now();
  std::printf("featurebase_core %s demo\n", FEATUREBASE_VERSION_STRING);
  std::printf("{\"results\":[%llu]}  Count(Intersect(a, b)) in %.3f ms\n",
              static_cast<unsigned long long>(both),
              std::chrono::duration<double, std::milli>(t1 - t0).count());
  std::printf("{\"results\":[%llu]}  Count(Union(a, b))\n",
              static_cast<unsigned long long>(Bitmap::UnionCount(a, b)));
  std::printf("{\"results\":[%llu]}  Count(Difference(a, b))\n",
              static_cast<unsigned long long>(Bitmap::DifferenceCount(a, b)));
  return 0;
}
