// FB_RETURN_IF_ERROR / FB_ASSIGN_OR_RETURN: Debian's abseil (20220623) ships
// no status_macros.h, so these two live here, once.
#ifndef FEATUREBASE_LIB_UTIL_STATUS_MACROS_H_
#define FEATUREBASE_LIB_UTIL_STATUS_MACROS_H_

#include <utility>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

// Evaluates `expr` (an absl::Status) and returns it from the enclosing
// function when it is not OK.
#define FB_RETURN_IF_ERROR(expr)             \
  do {                                       \
    ::absl::Status fb_status_ = (expr);      \
    if (!fb_status_.ok()) return fb_status_; \
  } while (false)

#define FB_STATUS_CONCAT_INNER_(a, b) a##b
#define FB_STATUS_CONCAT_(a, b) FB_STATUS_CONCAT_INNER_(a, b)

// Evaluates `rexpr` (an absl::StatusOr<T>); on error returns its status from
// the enclosing function, otherwise move-assigns the value to `lhs`, which may
// be a declaration (`auto x`) or an existing variable.
#define FB_ASSIGN_OR_RETURN(lhs, rexpr)                                     \
  FB_ASSIGN_OR_RETURN_IMPL_(FB_STATUS_CONCAT_(fb_statusor_, __LINE__), lhs, \
                            rexpr)

#define FB_ASSIGN_OR_RETURN_IMPL_(statusor, lhs, rexpr)    \
  auto statusor = (rexpr);                                 \
  if (!statusor.ok()) return std::move(statusor).status(); \
  lhs = std::move(statusor).value()

#endif  // FEATUREBASE_LIB_UTIL_STATUS_MACROS_H_
