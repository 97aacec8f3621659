// Example (a): a stream of (user, location) events aggregated into a table
// of, per user, the number of distinct locations visited and the number of
// visits. Public headers only.
//
// In Kafka Streams' terms the stream is a KStream keyed by user; the table
// is two aggregates of its KGroupedStream: an aggregate into the set of
// locations (a keyed set field accumulates rows, so the record's rows are
// the set) and #count (an int field merged with Merge::kCount).
#ifndef FEATUREBASE_EXAMPLES_STREAMS_LOCATION_VISITS_H_
#define FEATUREBASE_EXAMPLES_STREAMS_LOCATION_VISITS_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/status.h"

namespace featurebase::streams {

// One event of the stream: `user` was seen at `location`.
struct LocationVisit {
  std::string user;
  std::string location;
};

// One user's row of the table.
struct UserVisits {
  uint64_t distinct_locations = 0;
  int64_t visits = 0;
  friend bool operator==(const UserVisits&, const UserVisits&) = default;
};

// Creates the fields of example (a) in `index`, which must be keyed (users
// are record keys): "locations", a keyed set field, and "visits", an int
// field. FailedPrecondition for an index without keys; the errors of
// Index::CreateFields otherwise.
Status CreateLocationVisitFields(Index& index);

// Feeds visits into `index` through one Batch writing {"locations",
// "visits"} with visits merged by kCount. Thread-compatible.
class LocationVisitWriter {
 public:
  // `index` must outlive the writer and hold the fields above.
  static StatusOr<std::unique_ptr<LocationVisitWriter>> Create(
      Index* index, const BatchOptions& options = {});

  // Adds one event to the pending batch. Returns true when the batch is
  // full (flush it); the errors of Batch::Add (e.g. InvalidArgument for an
  // empty user or location).
  StatusOr<bool> Add(const LocationVisit& visit);
  // Commits the pending events as one atomic commit.
  StatusOr<FlushResult> Flush();
  size_t pending() const { return batch_->size(); }

 private:
  explicit LocationVisitWriter(std::unique_ptr<Batch> batch)
      : batch_(std::move(batch)) {}
  std::unique_ptr<Batch> batch_;
};

// The PQL answering one user's row: Count(Distinct(ConstRow(...),
// field=locations)) then Sum(ConstRow(...), field=visits). A user the index
// does not hold counts 0 distinct locations and 0 visits. InvalidArgument
// for a user key that PQL cannot quote (empty, or holding '"' or '\').
StatusOr<std::string> UserVisitsPql(std::string_view user);

// Answers the rows of `users` with one query (two calls per user), in the
// order given. The errors of Query, and Internal when a result has an
// unexpected shape.
StatusOr<std::vector<UserVisits>> QueryUserVisits(
    Index& index, const std::vector<std::string>& users);

}  // namespace featurebase::streams

#endif  // FEATUREBASE_EXAMPLES_STREAMS_LOCATION_VISITS_H_
