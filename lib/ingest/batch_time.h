// Batch, stage 4: a time field's views for one shard. Records with a time
// write the views ViewsOfWrite gives for it (one per quantum unit), all
// records the standard view and existence as the field keeps them.
//
// The views of a time depend only on its unit in the finest quantum (its
// hour with H, else its UTC day: months and years start at midnight).
// The (row, offset) pairs of timed records are sorted by unit (a counting
// sort over the shard's distinct units, a few thousand at most), after
// which every view's pairs are one contiguous run: a day's, then its
// month's (the days of the month), then its year's. So each view's
// fragment gets a span of one array instead of a vector of its own.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_TIME_H_
#define FEATUREBASE_LIB_INGEST_BATCH_TIME_H_

#include <cstddef>
#include <cstdint>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "lib/ingest/batch_internal.h"

namespace featurebase::internal {

// The buffers of one time column's shard, kept between the shards of a
// flush.
struct TimeScratch {
  struct Unit {
    int64_t unit;  // hours or days since 1970
    size_t count;  // pairs in it
  };
  int64_t unit_seconds = 86400;                        // 3600 with H
  std::vector<std::pair<uint64_t, uint32_t>> pairs;    // record order
  std::vector<uint32_t> pair_units;                    // pairs' unit ids
  std::vector<std::pair<uint64_t, uint32_t>> by_time;  // timed, by unit
  std::vector<uint32_t> offs;                          // existence
  std::vector<Unit> units;                             // by first use
  absl::flat_hash_map<int64_t, uint32_t> unit_index;   // unit -> id
  std::vector<uint32_t> order;                         // ids by time
  std::vector<size_t> start;                           // per id

  size_t Bytes() const {
    return (pairs.capacity() + by_time.capacity()) * sizeof(pairs[0]) +
           (pair_units.capacity() + offs.capacity() + order.capacity()) * 4 +
           units.capacity() * sizeof(Unit) + start.capacity() * 8 +
           unit_index.capacity() * 16;
  }
};

// Collects time column `c` (of field `f`) of records [a, b) of `g` (one
// shard) into *t: every pair in record order, the timed ones sorted by
// unit, and the offsets of records with a value. `keys`: the column's
// translated row keys. Reads only the batch.
void GatherTimeColumn(const StagedBatch& batch, size_t c, const FieldState& f,
                      const Grouping& g, size_t a, size_t b,
                      const std::vector<uint64_t>& keys, TimeScratch* t);

// Writes what GatherTimeColumn collected into field `f`'s views of
// `shard`: the fragments are created serially (the transaction is
// single-threaded), then filled on the default thread pool.
void ApplyTimeColumn(Txn& txn, FieldState* f, uint64_t shard,
                     const TimeScratch& t);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_TIME_H_
