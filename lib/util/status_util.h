// Small helpers around absl::Status. Debian's abseil has its own
// absl::string_view (not std::string_view), so messages cross over here.
#ifndef FEATUREBASE_LIB_UTIL_STATUS_UTIL_H_
#define FEATUREBASE_LIB_UTIL_STATUS_UTIL_H_

#include <string>
#include <string_view>

#include "absl/status/status.h"

namespace featurebase::internal {

// The message of `s` as a std::string_view (valid while `s` lives).
inline std::string_view Message(const absl::Status& s) {
  return std::string_view(s.message().data(), s.message().size());
}

// `s` with the same code and the message "context: <message>".
inline absl::Status Annotate(const absl::Status& s, std::string_view context) {
  if (s.ok()) return s;
  std::string msg(context);
  msg += ": ";
  msg += Message(s);
  return absl::Status(s.code(), msg);
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_UTIL_STATUS_UTIL_H_
