// Batch, stage 2b: the order of one flush's adds, tombstones, field deletes
// and clears. Those of one record apply in the order they were added (add
// then tombstone deletes, tombstone then add recreates); those of
// different records commute. The flush therefore runs:
//   1. the record deletes, in bulk, before any add: every tombstoned
//      record, and under a full upsert every added record (its last add
//      replaces it whole). An add that a later tombstone of its record
//      deletes, or (full upsert) that a later add of its record replaces,
//      is skipped instead of written and removed again;
//   2. the adds, in segments: a field delete or clear followed by a later
//      add of its record cuts the adds there and applies between them;
//   3. the other field deletes and clears, after the adds.
// Field deletes and clears that a later tombstone (or full upsert) of their
// record makes moot are dropped.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_ORDER_H_
#define FEATUREBASE_LIB_INGEST_BATCH_ORDER_H_

#include <cstdint>
#include <span>
#include <vector>

#include "lib/core/index_state.h"
#include "lib/ingest/batch_internal.h"

namespace featurebase::internal {

struct FlushOrder {
  // A field delete or a clear to apply, with its record's id.
  struct Op {
    bool clear = false;  // batch.clears[index], else batch.deletes[index]
    uint32_t index = 0;
    uint64_t id = 0;
  };
  // One byte per add, 1 to leave it out; empty when every add is written.
  std::vector<uint8_t> skip;
  // The records to delete before the adds, ascending.
  std::vector<uint64_t> record_deletes;
  // Of those, the ones no later add recreates (a keyed index frees their
  // keys after the commit).
  std::vector<uint64_t> gone;
  // Ascending add positions ending with n: the adds run in segments
  // [cuts[i-1], cuts[i]) (from 0), each followed by ops[i].
  std::vector<uint32_t> cuts;
  std::vector<std::vector<Op>> ops;
  // Tombstones that deleted a record, and those whose record did not exist
  // (keys never translated, or, with existence tracking, records not in the
  // index nor added earlier in the batch): no-ops.
  uint64_t deleted = 0;
  uint64_t unknown = 0;
};

// The order of `batch`'s n adds (add r has id ids[r]) and its deletes and
// clears, against `state` (the version the flush builds on, with this
// flush's keys already created). `full`: a full upsert. O(n) with a hash
// lookup per add when there are deletes, clears or a full upsert; O(1)
// otherwise.
FlushOrder PlanFlushOrder(const IndexState& state, const StagedBatch& batch,
                          std::span<const uint64_t> ids, bool full);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_ORDER_H_
