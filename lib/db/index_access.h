// The engine's access points for the layers above it: in-library writers
// (the batch ingester) commit through IndexWriter, and the query executor
// reads a Snapshot's state through SnapshotAccess.
#ifndef FEATUREBASE_LIB_DB_INDEX_ACCESS_H_
#define FEATUREBASE_LIB_DB_INDEX_ACCESS_H_

#include <functional>
#include <memory>

#include "absl/status/statusor.h"
#include "featurebase/index.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// Commits for in-library writers (the batch ingester).
class IndexWriter {
 public:
  static std::shared_ptr<const IndexState> Current(const Index& index);
  // Runs `f` on a transaction over the current version as one commit:
  // published if `f` succeeds, discarded otherwise. Writers serialize.
  static absl::StatusOr<uint64_t> Commit(
      Index& index, const std::function<absl::StatusOr<uint64_t>(Txn&)>& f);
  // Durable indexes: commits key changes made outside a commit (freed keys)
  // so that they are durable now. No-op in memory.
  static absl::Status FlushKeys(Index& index);
};

// The state behind a public Snapshot, for the query executor.
class SnapshotAccess {
 public:
  static const IndexState& State(const Snapshot& s) { return *s.state_; }
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_DB_INDEX_ACCESS_H_
