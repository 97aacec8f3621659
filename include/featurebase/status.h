// featurebase_core reports every failure as an absl::Status value; no
// exception crosses the public API.
//
// Codes, as absl/status/status.h explains them:
//   InvalidArgument    a bad argument, name, value kind or query
//   NotFound           an index, field, row key or record that does not exist
//   AlreadyExists      creating something that exists
//   OutOfRange         a value outside a field's [min, max]
//   FailedPrecondition the object is in the wrong state for the call
//   DataLoss           corrupt or truncated persisted or serialized bytes
//   Internal           a bug in featurebase_core
// Messages are lower-case, name the operation, the value and where, e.g.
//   `decode bitmap: truncated chunk header at offset 24 (need 12, have 3)`.
#ifndef FEATUREBASE_STATUS_H_
#define FEATUREBASE_STATUS_H_

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace featurebase {

using Status = absl::Status;
template <typename T>
using StatusOr = absl::StatusOr<T>;

}  // namespace featurebase

#endif  // FEATUREBASE_STATUS_H_
