// Batch, stage 3a: merged value columns (BatchOptions::merges). Per shard,
// before anything of the shard is written, each record's merged values are
// computed in the order records were added, against the values stored in
// the version the flush builds on, read in bulk per (field, shard). A
// record with a merged value that overflows or leaves its field's range is
// skipped whole (every column, existence included) and its error kept for
// FlushResult; the records after it merge as if it had never been added.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_MERGE_H_
#define FEATUREBASE_LIB_INGEST_BATCH_MERGE_H_

#include <cstddef>
#include <cstdint>
#include <memory>
#include <vector>

#include "absl/status/status.h"
#include "lib/bitmap/shard_bits.h"
#include "lib/core/index_state.h"
#include "lib/ingest/batch_internal.h"

namespace featurebase::internal {

// Thread-compatible. Keeps its per-shard scratch (9 MiB per merged column:
// a value and a flag per offset of a shard, touched only where records
// are) between flushes.
class MergeResolver {
 public:
  // Prepares a flush of `batch`'s n records, of which those with
  // pre_skip[r] set (null: none) are left out: true when it has merged
  // columns (otherwise nothing else need be called).
  bool Start(const StagedBatch& batch, const uint8_t* pre_skip);
  // Merges records [a, b) of `g`, all in `shard`, against the stored
  // values of `state`: fills values(c) for them and marks rejected
  // records in skip(). Records already marked there are passed over.
  void ResolveShard(const IndexState& state, uint64_t shard, const Grouping& g,
                    size_t a, size_t b);
  // Column c's merged stored values by record (null: not a merged column,
  // the staged values apply).
  const int64_t* values(size_t c) const {
    return c < merged_.size() && !merged_[c].empty() ? merged_[c].data()
                                                     : nullptr;
  }
  // One byte per record, 1 for a rejected or left out one.
  const uint8_t* skip() const { return skip_.data(); }
  uint64_t rejected() const { return errors_.size(); }
  std::vector<absl::Status> TakeErrors() { return std::move(errors_); }
  size_t WorkBytes() const;

 private:
  struct Scratch {
    std::unique_ptr<int64_t[]> value;  // stored running value by offset
    std::unique_ptr<uint8_t[]> has;    // 1 where value holds one
  };

  const StagedBatch* batch_ = nullptr;
  std::vector<size_t> cols_;                  // the merged columns
  std::vector<std::vector<int64_t>> merged_;  // by column, by record
  std::vector<uint8_t> skip_;
  std::vector<Scratch> scratch_;  // by merged column
  ShardBitsBuilder filter_;
  std::vector<int64_t> candidate_;  // by merged column, one record
  std::vector<absl::Status> errors_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_MERGE_H_
