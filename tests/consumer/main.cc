// Uses only installed public headers; exits 0 when the library answers right.
#include <cstdio>

#include "featurebase/bitmap.h"
#include "featurebase/version.h"

int main() {
  featurebase::Bitmap a = featurebase::Bitmap::Of({1, 2, 3, 1u << 21});
  featurebase::Bitmap b = featurebase::Bitmap::Of({2, 3, 4});
  const auto n = featurebase::Bitmap::IntersectCount(a, b);
  auto round = featurebase::Bitmap::Deserialize(a.Serialize());
  std::printf("featurebase_core %s: intersect count %llu\n",
              FEATUREBASE_VERSION_STRING, static_cast<unsigned long long>(n));
  return (n == 2 && round.ok() && *round == a) ? 0 : 1;
}
