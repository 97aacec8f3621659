// How fbc's messages show text from the input (header cells, values, keys):
// one helper, so that every message is bounded and printable whatever the
// input holds.
#ifndef FBC_MESSAGE_H_
#define FBC_MESSAGE_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "featurebase/field.h"
#include "featurebase/translate.h"

namespace fbc {

// At most this many bytes of an input text appear in a message.
inline constexpr size_t kMessageExcerptBytes = 64;

// `s` in double quotes for a message: at most kMessageExcerptBytes bytes of
// it (cut before a UTF-8 sequence that would not fit) followed by "..."
// when cut; quotes and backslashes escaped, newlines as \n, other control
// bytes and bytes of invalid UTF-8 as \xNN.
inline std::string Excerpt(std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  std::string out = "\"";
  size_t i = 0;
  while (i < s.size()) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    size_t len = 1;
    bool valid = true;
    if (c >= 0x80) {
      const auto bad = featurebase::FirstInvalidUtf8(s.substr(i, 4));
      len = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : 2;
      valid = !bad.has_value() || *bad >= len;
      if (!valid) len = 1;
    }
    if (i + len > kMessageExcerptBytes) break;
    if (!valid || c < 0x20 || c == 0x7F) {
      if (c == '\n') {
        out += "\\n";
      } else {
        out += "\\x";
        out += kHex[c >> 4];
        out += kHex[c & 15];
      }
    } else {
      if (c == '"' || c == '\\') out += '\\';
      out.append(s.substr(i, len));
    }
    i += len;
  }
  if (i < s.size()) out += "...";
  return out + "\"";
}

// featurebase::ValidateName with the message in fbc's terms: the name cut
// by Excerpt and a 1-based character position, e.g. `invalid field name
// "aB": character 2 'B' not allowed (want a lower-case letter, then up to
// 229 of a-z 0-9 _ -)`. The library decides what is valid.
inline featurebase::Status ValidateNameForMessage(std::string_view what,
                                                  std::string_view name) {
  featurebase::Status s = featurebase::ValidateName(what, name);
  if (s.ok()) return s;
  std::string why;
  if (name.empty()) {
    why = "empty";
  } else if (name.size() > 230) {
    why = std::to_string(name.size()) + " characters, over 230";
  } else if (!(name[0] >= 'a' && name[0] <= 'z')) {
    why = "must start with a lower-case letter";
  } else {
    for (size_t i = 1; i < name.size() && why.empty(); ++i) {
      const char c = name[i];
      if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' ||
            c == '-'))
        why = "character " + std::to_string(i + 1) + " " +
              Excerpt(name.substr(i, 1)) + " not allowed";
    }
  }
  if (why.empty()) return s;  // a rule of the library's we do not spell
  return featurebase::Status(
      s.code(), "invalid " + std::string(what) + " name " + Excerpt(name) +
                    ": " + why +
                    " (want a lower-case letter, then up to 229 of a-z 0-9 "
                    "_ -)");
}

}  // namespace fbc

#endif  // FBC_MESSAGE_H_
