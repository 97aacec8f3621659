// The body of a write-ahead log record: the changes one commit made, found
// by a structural diff of two index versions (PersistentMap::Diff skips
// everything they share), so every writer (Set, Batch, Delete, schema
// changes, TTL) is logged the same way and replay needs no knowledge of
// the operation. Layout in docs/format.md, "Commit record".
#ifndef FEATUREBASE_LIB_STORAGE_COMMIT_CODEC_H_
#define FEATUREBASE_LIB_STORAGE_COMMIT_CODEC_H_

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "absl/status/status.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// Key translator journal frames a commit carries (TranslatorAccess).
struct KeyJournals {
  std::string columns;
  std::vector<std::pair<std::string, std::string>> rows;  // field, frames
  bool empty() const { return columns.empty() && rows.empty(); }
};

// Appends to `out` the record body turning `base` into `next` (which must
// descend from `base`: same index, no field removed). Internal on a field
// removal, which no operation does.
absl::Status EncodeCommit(const IndexState& base, const IndexState& next,
                          const KeyJournals& keys, std::string* out);

// Applies a record body to `txn` (key frames go straight to the shared
// translators). `file` and `offset` (of the body) name the place in
// DataLoss errors for malformed bodies.
absl::Status ApplyCommit(Txn& txn, std::string_view body, std::string_view file,
                         uint64_t offset);

// The version a record body commits (its first 8 bytes); DataLoss when
// shorter.
absl::StatusOr<uint64_t> CommitVersion(std::string_view body,
                                       std::string_view file, uint64_t offset);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_COMMIT_CODEC_H_
