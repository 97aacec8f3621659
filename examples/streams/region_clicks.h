// Example (b): a table user -> region, updated over time and with
// tombstones, and a stream of (user, clicks) events; the total clicks per
// region come from one query, GroupBy(Rows(region),
// aggregate=Sum(field=clicks)). Public headers only.
//
// In Kafka Streams' terms the table is a KTable (upserts with kLast, a
// tombstone deletes the key's value) and the clicks are a KStream reduced
// per user by addition (KGroupedStream#reduce, here Merge::kSum). Both live
// in the same records, so the query attributes each user's accumulated
// clicks to the user's CURRENT region. A KStream-KTable join instead
// attributes each click to the region the table held when the click
// happened; the two agree when each user's region was set before their
// clicks and never changed after (README, "Streams and tables").
#ifndef FEATUREBASE_EXAMPLES_STREAMS_REGION_CLICKS_H_
#define FEATUREBASE_EXAMPLES_STREAMS_REGION_CLICKS_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/status.h"

namespace featurebase::streams {

// The one query answering example (b).
inline constexpr std::string_view kRegionClicksPql =
    "GroupBy(Rows(region), aggregate=Sum(field=clicks))";

// One region's group in the answer: `users` is the number of users in the
// region that have clicks (GroupBy with Sum counts only records with a
// value), `clicks` their total.
struct RegionTotal {
  uint64_t users = 0;
  int64_t clicks = 0;
  friend bool operator==(const RegionTotal&, const RegionTotal&) = default;
};
using RegionTotals = std::map<std::string, RegionTotal, std::less<>>;

// Creates the fields of example (b) in `index`, which must be keyed (users
// are record keys): "region", a keyed mutex field, and "clicks", an int
// field of non-negative counts. FailedPrecondition for an index without
// keys; the errors of Index::CreateFields otherwise.
Status CreateRegionClickFields(Index& index);

// The table's writer: a Batch writing {"region"} with the default merge
// (kLast: within a batch and across batches the latest region wins).
// Thread-compatible.
class RegionTable {
 public:
  // `index` must outlive the table and hold the fields above.
  static StatusOr<std::unique_ptr<RegionTable>> Create(
      Index* index, const BatchOptions& options = {});

  // Sets `user`'s region. Returns true when the batch is full (flush it).
  // InvalidArgument for an empty user or region, or a region holding '"'
  // or '\' (the answer's JSON would escape it); the errors of Batch::Add.
  StatusOr<bool> Upsert(std::string_view user, std::string_view region);
  // The table's delete: clears `user`'s region and keeps their clicks
  // (Batch::DeleteFields(user, {"region"})).
  Status Tombstone(std::string_view user);
  // Commits the pending upserts and tombstones as one atomic commit.
  StatusOr<FlushResult> Flush();
  size_t pending() const { return batch_->size(); }

 private:
  explicit RegionTable(std::unique_ptr<Batch> batch)
      : batch_(std::move(batch)) {}
  std::unique_ptr<Batch> batch_;
};

// The stream's writer: a Batch writing {"clicks"} merged by kSum (each
// event adds to the user's stored total). Thread-compatible.
class ClickStream {
 public:
  // `index` must outlive the stream and hold the fields above.
  static StatusOr<std::unique_ptr<ClickStream>> Create(
      Index* index, const BatchOptions& options = {});

  // Adds `clicks` to `user`'s total. Returns true when the batch is full
  // (flush it); the errors of Batch::Add (OutOfRange for negative clicks).
  StatusOr<bool> Add(std::string_view user, int64_t clicks);
  StatusOr<FlushResult> Flush();
  size_t pending() const { return batch_->size(); }

 private:
  explicit ClickStream(std::unique_ptr<Batch> batch)
      : batch_(std::move(batch)) {}
  std::unique_ptr<Batch> batch_;
};

// Runs kRegionClicksPql on `index` and returns its result's JSON, e.g.
// [{"group":[{"field":"region","rowKey":"eu"}],"count":2,"sum":17}].
StatusOr<std::string> QueryRegionClicksJson(Index& index);

// Parses that JSON, strictly: InvalidArgument naming the offset for
// anything but a list of one-field "region" groups with a count and a sum,
// or a region given twice.
StatusOr<RegionTotals> ParseRegionTotals(std::string_view json);

// QueryRegionClicksJson, then ParseRegionTotals.
StatusOr<RegionTotals> QueryRegionTotals(Index& index);

}  // namespace featurebase::streams

#endif  // FEATUREBASE_EXAMPLES_STREAMS_REGION_CLICKS_H_
