// Batch, stage 5: the batch's clears (AddClear) and deletes (DeleteFields,
// DeleteRecord), applied after its adds in the same transaction.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_CLEARS_H_
#define FEATUREBASE_LIB_INGEST_BATCH_CLEARS_H_

#include <cstdint>
#include <vector>

#include "absl/status/status.h"
#include "lib/ingest/batch_internal.h"

namespace featurebase::internal {

// Applies batch.clears, then batch.deletes, to `txn`. Records named by a
// key that does not exist are skipped (nothing to clear); keys are never
// created. Appends the id of every record deleted whole to *deleted_ids
// (the caller frees their keys). A clear's row key that fails to resolve
// is ResolveRow's error ("batch clear: ...").
absl::Status ApplyClearsAndDeletes(Txn& txn, const StagedBatch& batch,
                                   std::vector<uint64_t>* deleted_ids);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_CLEARS_H_
