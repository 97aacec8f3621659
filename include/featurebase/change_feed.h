// The change feed: every index has its own stream of committed changes.
//
// A subscriber's listener is called once per published commit, in version
// order, with the commit's ChangeSet: its version, the stream positions it
// committed, and for every field the records whose value changed, plus the
// records it deleted, as bitmaps, and the new version as a Snapshot to read
// the new values from. In Kafka Streams terms an index is a KTable and this
// is its changelog stream (KTable#toStream()): each change set is the
// update records of one commit, keyed by record id, with the snapshot
// holding the new values. Unlike a KTable's stream, a change set names the
// changed records, not their old values.
//
// Exact: replaying the change sets in order over a copy of the index at
// version subscription->start_version(), by giving every listed record of
// every listed field its value in the change set's snapshot (each view,
// field existence, value), adding the added records to and removing the
// deleted ones from the index existence row, yields the index at each
// set's version().
//
// Cost: with no subscription a commit pays one atomic load. With
// subscriptions, the writer copies two version pointers per subscription
// under its lock and wakes the subscription's thread; the diff, which reads
// only what the two versions do not share (copy-on-write, see index.h), and
// the listener run on that thread, never on the writer's.
#ifndef FEATUREBASE_CHANGE_FEED_H_
#define FEATUREBASE_CHANGE_FEED_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "featurebase/bitmap.h"
#include "featurebase/index.h"
#include "featurebase/status.h"

namespace featurebase {

namespace internal {
class FeedSubscription;
}  // namespace internal

// The records of one field whose value changed.
struct FieldChange {
  std::string field;
  // Records whose bits differ between the two versions in any view of the
  // field (set, mutex, bool and time rows, field existence) or in its
  // values (int, decimal, timestamp). Not empty.
  Bitmap records;
};

// What one commit (or, after coalescing, a run of consecutive commits)
// changed. A value; cheap to move.
struct ChangeSet {
  // The version before the change (version() of the previous change set, or
  // the subscription's start_version() for the first).
  uint64_t from_version = 0;
  // The version after it: the commit's version.
  uint64_t version = 0;
  // Commits this set covers: version - from_version. 1 unless the
  // subscription fell behind and pending commits were coalesced.
  uint64_t commits = 0;
  // Stream positions (Index::CommitStreamOffset, Batch::SetStreamOffset)
  // that differ from the previous version, by source name, with their new
  // value. A commit that records a position equal to the one already held
  // changes nothing and is not listed.
  std::vector<std::pair<std::string, int64_t>> stream_offsets;
  // Fields created by the change, by name (CreateField, CreateFields).
  std::vector<std::string> created_fields;
  // Fields whose records changed, by name; fields without changes are not
  // listed.
  std::vector<FieldChange> fields;
  // Records added to the index's existence row (written for the first time,
  // or again after a Delete), and records removed from it (Index::Delete).
  // Both empty on an index without existence tracking, where a Delete
  // shows only as field changes.
  Bitmap added;
  Bitmap deleted;
  // The index at `version`, to read the new values of the changed records.
  std::shared_ptr<const Snapshot> snapshot;
};

// Called on the subscription's own thread, never concurrently with itself.
// A non-OK status ends the subscription with that status (see
// Subscription::status()). A listener should not throw; if it does, the
// exception is caught, the subscription ends with Unknown, and the process
// and the index go on. A listener may read the index and take snapshots; it
// must not write to the index it follows nor destroy it.
using ChangeListener = std::function<Status(const ChangeSet&)>;

struct SubscribeOptions {
  // Performance: the most commits that wait for the listener. When a slow
  // listener lets more pile up, the newest pending change set absorbs each
  // new commit (its `commits` grows): the writer never waits, memory stays
  // bounded by this many pinned versions, and the coalesced set is still
  // exact (the diff of its first and last version). 1 coalesces everything
  // pending into one set. Default 1024; 0 is InvalidArgument.
  size_t max_pending_commits = 1024;
};

// A live subscription. Thread-safe. Destroying it cancels it.
class Subscription {
 public:
  ~Subscription();
  Subscription(const Subscription&) = delete;
  Subscription& operator=(const Subscription&) = delete;

  // The version the subscription started after: the first change set
  // delivered has from_version == start_version().
  uint64_t start_version() const;
  // The version of the last change set delivered (start_version() before
  // the first).
  uint64_t delivered_version() const;
  // True until cancelled, ended by its listener's error, or its index is
  // destroyed.
  bool active() const;
  // OK unless the listener failed: then its status, prefixed with
  // "change feed: listener failed at version <v>: ", or Unknown
  // "change feed: listener threw at version <v>: <what>" when it threw.
  Status status() const;

  // Stops delivery; idempotent. From another thread it waits for a listener
  // call in flight to return, so that the listener is never called once
  // Cancel returns. From inside the listener it returns at once (no
  // deadlock) and the current call is the last. Pending change sets are
  // dropped. Cancelling another subscription from inside a listener waits
  // for that one's call in flight: two listeners cancelling each other at
  // the same time wait for each other forever, so a listener that cancels
  // others must be the only one that does.
  void Cancel();

 private:
  friend class ChangeFeedAccess;
  explicit Subscription(std::shared_ptr<internal::FeedSubscription> sub);
  std::shared_ptr<internal::FeedSubscription> sub_;
};

// Follows the committed changes of `index` from now on: `listener` gets a
// change set for every commit whose version is above the latest version
// committed when Subscribe returns (start_version()), once that commit is
// published (readers can see it; with Durability::kGroup, once it is
// durable), in version order, each exactly once, on a thread of the
// subscription's own (started here, stopped by Cancel). Subscriptions are
// independent: a slow listener delays only itself.
//
// Destroying the index first delivers every change set already published
// and pending, then ends every subscription (active() turns false; their
// Subscription objects stay valid). InvalidArgument for an empty listener
// or max_pending_commits == 0.
//
// The subscription may outlive the index. Thread-safe.
StatusOr<std::unique_ptr<Subscription>> Subscribe(
    Index& index, ChangeListener listener,
    const SubscribeOptions& options = {});

}  // namespace featurebase

#endif  // FEATUREBASE_CHANGE_FEED_H_
