// UTF-8 validation for keys. Keys are printed in FeatureBase's JSON, which
// must be valid UTF-8: a key with invalid bytes would print as U+FFFD and
// two distinct keys as the same text, so keys are refused at the door
// instead. Hand-written (30 lines, no dependency of the core library on a
// SIMD JSON library): keys are short, and ASCII, the common case, is checked
// eight bytes at a time.
#ifndef FEATUREBASE_LIB_UTIL_UTF8_H_
#define FEATUREBASE_LIB_UTIL_UTF8_H_

#include <cstdint>
#include <cstring>
#include <optional>
#include <string_view>

namespace featurebase::internal {

// The offset of the first byte of `s` that does not start a well-formed
// UTF-8 sequence (RFC 3629: no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequence), or nullopt when all of `s` is valid.
inline std::optional<size_t> FirstInvalidUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      uint64_t w;
      std::memcpy(&w, p + i, 8);
      if ((w & 0x8080808080808080ull) == 0) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    unsigned char lo = 0x80, hi = 0xBF;  // bounds of the second byte
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // overlong
      if (c == 0xED) hi = 0x9F;  // surrogates
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // overlong
      if (c == 0xF4) hi = 0x8F;  // above U+10FFFF
    } else {
      return i;
    }
    if (n - i < len || p[i + 1] < lo || p[i + 1] > hi) return i;
    for (size_t k = 2; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return i;
    }
    i += len;
  }
  return std::nullopt;
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_UTIL_UTF8_H_
