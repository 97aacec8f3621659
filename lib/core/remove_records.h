// Removing whole records from a shard: every view of every field, every
// bit-sliced value and the index's existence. Index::Delete and Batch's
// tombstones and full upserts share it, so the two cannot drift apart.
#ifndef FEATUREBASE_LIB_CORE_REMOVE_RECORDS_H_
#define FEATUREBASE_LIB_CORE_REMOVE_RECORDS_H_

#include <cstdint>

#include "lib/bitmap/roaring32.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// Removes records `offsets` of shard `shard` from everything `txn` holds.
// Copies into the transaction only the fragments and BSI shards that have
// that shard (a BSI shard only when it holds one of the records). Returns
// whether any bit changed.
bool RemoveRecords(Txn& txn, uint64_t shard, const Roaring32& offsets);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_REMOVE_RECORDS_H_
