// Little-endian fixed-width encoding helpers for persisted formats. Every
// persisted integer in featurebase_core is little-endian (docs/format.md).
#ifndef FEATUREBASE_LIB_UTIL_ENDIAN_H_
#define FEATUREBASE_LIB_UTIL_ENDIAN_H_

#include <bit>
#include <cstdint>
#include <cstring>
#include <string>

namespace featurebase::internal {

static_assert(
    std::endian::native == std::endian::little,
    "featurebase_core's persisted formats assume a little-endian host");

template <typename T>
inline void PutFixed(std::string* out, T v) {
  char buf[sizeof(T)];
  std::memcpy(buf, &v, sizeof(T));
  out->append(buf, sizeof(T));
}

template <typename T>
inline T LoadFixed(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_UTIL_ENDIAN_H_
