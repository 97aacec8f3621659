// The engine's access points for the layers above it: in-library writers
// (the batch ingester) commit through IndexWriter, and the query executor
// reads a Snapshot's state through SnapshotAccess.
#ifndef FEATUREBASE_LIB_DB_INDEX_ACCESS_H_
#define FEATUREBASE_LIB_DB_INDEX_ACCESS_H_

#include <functional>
#include <memory>
#include <string_view>

#include "absl/status/statusor.h"
#include "featurebase/index.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

class Env;

// Index::Open with every file access of the index's store going through
// `env` (not owned; it must outlive the index), so that tests can inject
// filesystem faults. Index::Open is this with Env::Default().
absl::StatusOr<std::unique_ptr<Index>> OpenIndexWithEnv(
    const OpenOptions& options, std::string_view dir, Env* env);

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

 private:
  friend absl::StatusOr<std::unique_ptr<Index>> OpenIndexWithEnv(
      const OpenOptions& options, std::string_view dir, Env* env);
  // Index's constructor is private to this class.
  static std::unique_ptr<Index> Wrap(std::unique_ptr<IndexImpl> impl);
};

// The state behind a public Snapshot, for the query executor.
class SnapshotAccess {
 public:
  static const IndexState& State(const Snapshot& s) { return *s.state_; }
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_DB_INDEX_ACCESS_H_
