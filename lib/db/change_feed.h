// The engine side of the change feed (featurebase/change_feed.h): the diff
// of two versions as a ChangeSet, and the per-index hub that hands each
// commit to every subscription's queue and thread.
//
// Locking: the writer (holding the index's writer lock) takes the hub's
// mutex, then each subscription's; a subscription's thread takes only its
// own and never holds it while diffing or calling the listener. So the
// writer waits at most for another writer's push or a queue pop, never for
// a diff or a listener.
#ifndef FEATUREBASE_LIB_DB_CHANGE_FEED_H_
#define FEATUREBASE_LIB_DB_CHANGE_FEED_H_

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "featurebase/change_feed.h"
#include "lib/core/index_state.h"

namespace featurebase {

// The change feed's access to the engine and to Subscription.
class ChangeFeedAccess {
 public:
  // Index::impl_'s feed (index.cc).
  static StatusOr<std::unique_ptr<Subscription>> Subscribe(
      Index& index, ChangeListener listener, const SubscribeOptions& options);
  static std::unique_ptr<Subscription> Wrap(
      std::shared_ptr<internal::FeedSubscription> sub);
};

namespace internal {

// What turns `before` into `after` (a descendant of it: same index, no
// field removed), without the snapshot. Walks only what the two versions
// do not share (PersistentMap::Diff), as the commit codec does. Exact: a
// record is listed for a field iff some row, existence bit or value of it
// differs.
ChangeSet DiffVersions(const IndexState& before, const IndexState& after);

using SnapshotFactory =
    std::shared_ptr<const Snapshot> (*)(std::shared_ptr<const IndexState>);

class ChangeFeed;

// One subscription: its queue of (previous, next) versions and its thread.
class FeedSubscription : public std::enable_shared_from_this<FeedSubscription> {
 public:
  FeedSubscription(ChangeListener listener, size_t max_pending,
                   uint64_t start_version, uint64_t published,
                   SnapshotFactory make_snapshot,
                   std::weak_ptr<ChangeFeed> feed);
  ~FeedSubscription();

  void Start();
  // A commit, in version order. Coalesces when the queue is full.
  void Push(const std::shared_ptr<const IndexState>& prev,
            const std::shared_ptr<const IndexState>& next);
  // Every version up to `version` is visible to readers.
  void Published(uint64_t version);
  // The index is going away: delivers what is published, then ends.
  void Close();
  void Cancel();

  uint64_t start_version() const { return start_version_; }
  uint64_t delivered_version() const;
  bool active() const;
  Status status() const;

 private:
  struct Pending {
    std::shared_ptr<const IndexState> prev;
    std::shared_ptr<const IndexState> next;
  };
  void Run();
  Status Deliver(const Pending& p);
  // Joins the thread unless called on it.
  void Join();

  ChangeListener listener_;  // used by the thread only
  const size_t max_pending_;
  const uint64_t start_version_;
  const SnapshotFactory make_snapshot_;
  const std::weak_ptr<ChangeFeed> feed_;

  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<Pending> queue_ ABSL_GUARDED_BY(mu_);
  uint64_t published_ ABSL_GUARDED_BY(mu_);
  uint64_t delivered_ ABSL_GUARDED_BY(mu_);
  bool cancelled_ ABSL_GUARDED_BY(mu_) = false;
  bool closing_ ABSL_GUARDED_BY(mu_) = false;
  bool ended_ ABSL_GUARDED_BY(mu_) = false;
  Status status_ ABSL_GUARDED_BY(mu_);
  std::thread::id thread_id_ ABSL_GUARDED_BY(mu_);

  std::mutex join_mu_;  // one joiner at a time
  std::thread thread_ ABSL_GUARDED_BY(join_mu_);
};

// One per index. Thread-safe.
class ChangeFeed : public std::enable_shared_from_this<ChangeFeed> {
 public:
  explicit ChangeFeed(SnapshotFactory make_snapshot)
      : make_snapshot_(make_snapshot) {}
  ~ChangeFeed();

  // The writer's fast path: false (one atomic load) while nobody listens.
  bool active() const {
    return subscribers_.load(std::memory_order_acquire) > 0;
  }
  // Under the writer lock, in version order, once the commit is final
  // (logged when durable), before it is published.
  void Enqueue(const std::shared_ptr<const IndexState>& prev,
               const std::shared_ptr<const IndexState>& next);
  // After a publish; `version` is the readers' version now.
  void Published(uint64_t version);

  // Under the writer lock: `latest` is the newest committed version,
  // `published` the readers' one.
  StatusOr<std::unique_ptr<Subscription>> Subscribe(
      ChangeListener listener, const SubscribeOptions& options, uint64_t latest,
      uint64_t published);
  void Remove(const FeedSubscription* sub);
  // Closes every subscription (FeedSubscription::Close) and refuses new
  // ones; called when the index is destroyed.
  void Shutdown();

 private:
  const SnapshotFactory make_snapshot_;
  std::atomic<int> subscribers_{0};
  std::mutex mu_;
  std::vector<std::shared_ptr<FeedSubscription>> subs_ ABSL_GUARDED_BY(mu_);
  bool shut_down_ ABSL_GUARDED_BY(mu_) = false;
};

}  // namespace internal
}  // namespace featurebase

#endif  // FEATUREBASE_LIB_DB_CHANGE_FEED_H_
