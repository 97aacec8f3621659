// DurableStore: the durable half of an Index opened on a directory. It owns the
// directory lock, the write-ahead log and the checkpoint catalog; the index
// calls it at its single commit point (IndexImpl::Write).
//
// Directory (docs/format.md, "Durable index"): LOCK, CHECKPOINT,
// data-<n>.fbd, wal-<n>.log. Open loads the checkpoint and replays the log
// files from the checkpoint's wal_start, in order, skipping records it
// already covers and checking that each file starts at the version the one
// before it ends at; a torn tail of the newest log file is cut off (only
// ignored, in memory, by a read-only open). A log file is created by the
// first commit that needs it, so opens that only read write nothing.
//
// A read-only store (OpenOptions::read_only) holds a shared lock, writes,
// creates and deletes nothing, and its health() is FailedPrecondition
// naming the index, which every commit, sync and checkpoint returns.
//
// Thread-safety: Log and RotateLog require the index's writer lock;
// SyncTo may run on many threads at once (group commit); WriteCheckpoint
// runs on one thread at a time, concurrently with the others.
#ifndef FEATUREBASE_LIB_STORAGE_STORE_H_
#define FEATUREBASE_LIB_STORAGE_STORE_H_

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "featurebase/index.h"
#include "lib/core/index_state.h"
#include "lib/storage/checkpoint.h"
#include "lib/storage/env.h"
#include "lib/storage/wal.h"

namespace featurebase::internal {

class DurableStore {
 public:
  struct Opened {
    std::unique_ptr<DurableStore> store;
    std::shared_ptr<const IndexState> state;
    OwnerToken last_owner = 0;  // tokens used while loading
  };
  // Every file access goes through `env` (not owned; it must outlive the
  // store). The second form uses Env::Default().
  static absl::StatusOr<Opened> Open(const OpenOptions& options,
                                     std::string dir, Env* env);
  static absl::StatusOr<Opened> Open(const OpenOptions& options,
                                     std::string dir) {
    return Open(options, std::move(dir), Env::Default());
  }
  ~DurableStore();

  Durability durability() const { return durability_; }
  const std::string& dir() const { return dir_; }

  // Appends the commit `base` -> `next` (with the key translators' journals)
  // to the log; returns its log sequence number for SyncTo. After a failed
  // write the store refuses every later commit (the log may hold a partial
  // record) with the same error. Requires the writer lock.
  absl::StatusOr<uint64_t> Log(const IndexState& base, const IndexState& next);
  // Returns once every record up to `lsn` is on stable storage; concurrent
  // callers share one fdatasync.
  absl::Status SyncTo(uint64_t lsn);
  // Syncs everything logged so far.
  absl::Status SyncAll();
  // Bytes in the current log file.
  uint64_t log_bytes() const;
  absl::Status health() const;

  // Checkpoint, step 0 (no lock): health(), so that a failed or read-only
  // store writes no checkpoint.
  absl::Status PrepareLog() const { return health(); }
  // Step 1 (writer lock held, no I/O): switches later commits to the next
  // log file (created by the first of them), so that the next step's state
  // covers exactly the older files.
  void RotateLog();
  // Step 2 (no lock): writes a checkpoint of `state` (the version current
  // at RotateLog) and deletes the log files it covers.
  absl::Status WriteCheckpoint(std::shared_ptr<const IndexState> state);

 private:
  DurableStore(Env* env, std::string dir, Durability durability,
               std::unique_ptr<FileLock> lock)
      : env_(env),
        dir_(std::move(dir)),
        durability_(durability),
        lock_(std::move(lock)) {}
  static absl::Status CheckNoOrphans(const std::string& dir,
                                     const std::vector<std::string>& names);
  absl::Status Fail(absl::Status s);

  Env* const env_;
  const std::string dir_;
  const Durability durability_;
  std::unique_ptr<FileLock> lock_;
  Catalog catalog_;         // guarded by the caller's checkpoint lock
  uint64_t wal_start_ = 0;  // first log file the next checkpoint covers
  std::string record_;      // scratch, writer lock

  mutable std::mutex sync_mu_;
  std::condition_variable synced_cv_;
  // The current log file, null until the first commit after open or after
  // RotateLog creates wal_number_ (changed under writer lock + sync_mu_).
  std::shared_ptr<WalWriter> wal_;
  uint64_t wal_number_ = 0;
  // Rotated-out log files with records not yet synced (sync_mu_); a sync
  // covers them before the current file, so the durable records are always
  // a prefix of the log.
  std::vector<std::shared_ptr<WalWriter>> unsynced_;
  uint64_t appended_ = 0;  // records written (sync_mu_)
  uint64_t synced_ = 0;    // records on stable storage (sync_mu_)
  bool syncing_ = false;   // an fdatasync is running (sync_mu_)
  absl::Status failed_;    // sticky error (sync_mu_)
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_STORE_H_
