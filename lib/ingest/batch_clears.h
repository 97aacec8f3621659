// Batch, stage 5: the batch's clears (AddClear), field deletes
// (DeleteFields) and record deletes (tombstones, full upserts), applied in
// the flush's transaction where batch_order places them.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_CLEARS_H_
#define FEATUREBASE_LIB_INGEST_BATCH_CLEARS_H_

#include <cstdint>
#include <span>

#include "absl/status/status.h"
#include "lib/ingest/batch_internal.h"
#include "lib/ingest/batch_order.h"

namespace featurebase::internal {

// Deletes the records `ids` (ascending) whole, shard by shard in bulk.
void ApplyRecordDeletes(Txn& txn, std::span<const uint64_t> ids);

// Applies one clear or field delete of `batch` to its record op.id. Keys
// are never created: a row key that does not exist has nothing to clear. A
// clear's row key that fails to resolve is ResolveRow's error ("batch
// clear: ...").
absl::Status ApplyOp(Txn& txn, const StagedBatch& batch,
                     const FlushOrder::Op& op);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_CLEARS_H_
