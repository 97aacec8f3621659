// Batch, stage 3: groups the staged records by shard and writes each
// (field, view, shard) one bulk update inside the flush's transaction,
// building independent fragments and BSI shards in parallel.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_APPLY_H_
#define FEATUREBASE_LIB_INGEST_BATCH_APPLY_H_

#include <cstddef>
#include <cstdint>
#include <span>
#include <utility>
#include <vector>

#include "lib/bitmap/shard_bits.h"
#include "lib/ingest/batch_internal.h"
#include "lib/ingest/batch_merge.h"
#include "lib/ingest/batch_time.h"
#include "lib/ingest/batch_translate.h"

namespace featurebase::internal {

// Keeps its buffers between flushes (the time scratch until
// FreeTimeScratch). Thread-compatible; uses the default thread pool inside
// ApplyAdds.
class ShardApplier {
 public:
  // Starts a flush of `batch`, leaving out the records with skip[r] set
  // (null: none).
  void Begin(const StagedBatch& batch, const uint8_t* skip);
  // Writes records [lo, hi) of the batch Begin started, record i with id
  // ids[i], into `txn`: index existence, then per shard every column's
  // views or BSI shard as ViewsOfWrite decides (the last write per record
  // wins). `keys` holds the batch's translated row keys; `held_bytes` what
  // the flush holds besides this applier's buffers, for peak_bytes().
  void ApplyAdds(Txn& txn, std::span<const uint64_t> ids,
                 const TranslatedKeys& keys, size_t held_bytes, size_t lo,
                 size_t hi);
  // The gather buffers (kept between flushes) and the time views' buffers.
  size_t WorkBytes() const;
  // The most held_bytes + WorkBytes() seen during ApplyAdds calls.
  size_t peak_bytes() const { return peak_bytes_; }
  // The time views' buffers and the grouping's permutation are per flush:
  // two batches flushing in turn (the importer's pipeline) then share the
  // memory instead of each keeping its own.
  void EndFlush() {
    time_scratch_ = TimeScratch();
    std::vector<uint32_t>().swap(order_);
  }
  // Records the last ApplyAdds left out, and why (merged values out of
  // range or overflowing), each naming the record and the field.
  uint64_t rejected() const { return merges_.rejected(); }
  std::vector<absl::Status> TakeRejections() { return merges_.TakeErrors(); }

 private:
  // One column's share of one shard; buffers kept across shards and
  // flushes.
  struct ColumnWork {
    FieldState* f = nullptr;
    std::vector<std::pair<uint64_t, uint32_t>> pairs;  // (row, offset)
    ShardBitsBuilder exists;                           // existence
    std::vector<std::pair<uint32_t, int64_t>> values;  // (offset, stored)
    int depth = 0;
    // Created (serially) before the parallel build; null when untouched.
    Fragment* standard = nullptr;
    Fragment* existence = nullptr;
    BsiShard* bsi = nullptr;
  };

  void ApplyParallel(Txn& txn, std::span<const size_t> cols, uint64_t shard,
                     const Grouping& g, size_t a, size_t b,
                     const std::vector<std::vector<uint64_t>>& key_ids);
  template <bool kInOrder>
  void Gather(size_t c, ColumnWork* work, const Grouping& g, size_t a, size_t b,
              const std::vector<uint64_t>& keys);
  void NotePeak() {
    peak_bytes_ = std::max(peak_bytes_, flush_bytes_ + WorkBytes());
  }

  const StagedBatch* batch_ = nullptr;  // from Begin
  bool merging_ = false;
  const uint8_t* skip_ = nullptr;
  std::vector<uint32_t> order_;   // by record: the grouping's permutation
  std::vector<ColumnWork> work_;  // per wave slot
  TimeScratch time_scratch_;
  MergeResolver merges_;
  ShardBitsBuilder records_exist_;
  size_t flush_bytes_ = 0;  // during ApplyAdds: held_bytes and the order
  size_t peak_bytes_ = 0;
  std::vector<size_t> serial_, parallel_;  // column indexes
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_APPLY_H_
