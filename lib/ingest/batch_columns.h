// Batch, stage 1: validates a record and appends it to the staged columns
// in one pass over its values, or leaves the batch exactly as it was.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_COLUMNS_H_
#define FEATUREBASE_LIB_INGEST_BATCH_COLUMNS_H_

#include <memory>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "lib/ingest/batch_internal.h"

namespace featurebase::internal {

// Thread-compatible; reads the index's current version, never its lock,
// except to refresh that version after Invalidate.
class RecordStager {
 public:
  // `index`, `options` and `batch` outlive the stager.
  RecordStager(Index* index, const BatchOptions& options, StagedBatch* batch)
      : index_(index), options_(options), batch_(batch) {}

  // Validates `r` (position `pos` of the batch, for messages) and appends
  // it: batch->n grows by one. On a bad id or value, InvalidArgument
  // "batch: record <pos> (<id>)[: field "<f>"]: <why>" and the batch is
  // unchanged (rows, values and new keys of `r` taken back out).
  absl::Status Stage(const Record& r, size_t pos);
  // Undoes what Stage appended for the record at position batch->n in
  // columns [0, end) (ids and times are the caller's).
  void Unstage(size_t end);
  // Checks the id of `r` against the batch's id mode.
  absl::Status ValidateId(const Record& r, size_t pos) const;
  // Makes the next Stage read the index's version again (after a flush,
  // or when fields changed).
  void Invalidate() { state_.reset(); }

 private:
  // What Stage needs of a column's field, from the index version state_.
  struct ValuePlan {
    const FieldState* field = nullptr;
    bool needs_time = false;  // a time field without standard view
    // Value fields.
    FieldType type = FieldType::kInt;
    int scale = 0;
    TimeUnit unit = TimeUnit::kSecond;
    int64_t min = 0, max = 0, base = 0;
  };

  absl::Status RecordError(size_t pos, const Record& r, std::string_view field,
                           const absl::Status& why) const;
  absl::Status StageValue(size_t i, const FieldInput& in, bool has_time);
  absl::StatusOr<uint64_t> RowRef(BatchColumn& col, const Value& v);
  absl::StatusOr<int64_t> StoredValue(size_t i, const Value& v) const;
  void RefreshState();

  Index* index_;
  const BatchOptions& options_;
  StagedBatch* batch_;
  std::shared_ptr<const IndexState> state_;
  std::vector<ValuePlan> plans_;  // per column, from state_
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_COLUMNS_H_
