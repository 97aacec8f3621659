// Batch, stage 2: translates the batch's keys to ids in bulk, each distinct
// key once and through the key caches, before the commit.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_TRANSLATE_H_
#define FEATUREBASE_LIB_INGEST_BATCH_TRANSLATE_H_

#include <cstdint>
#include <vector>

#include "absl/status/statusor.h"
#include "featurebase/key_cache.h"
#include "lib/ingest/batch_internal.h"

namespace featurebase::internal {

struct TranslatedKeys {
  // A keyed index: the id of each record (empty otherwise).
  std::vector<uint64_t> record_ids;
  // Per column: the row id of each of its distinct keys (keyed row columns
  // only; empty for the others).
  std::vector<std::vector<uint64_t>> row_ids;
  // The row id of each packed bool column's name, in column order, in
  // "bools" and "bools-exists" (the same id in both).
  std::vector<uint64_t> packed_rows;
};

// Creates the ids of every record key (through `column_cache`, which a
// keyed index needs), row key (through each column's cache) and packed bool
// name of `batch` in `state`'s translators. The translators' errors, as
// they give them; keys created before an error stay created (as with
// single writes, an unused key id is harmless).
absl::StatusOr<TranslatedKeys> TranslateKeys(const IndexState& state,
                                             StagedBatch& batch,
                                             KeyCache* column_cache);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_TRANSLATE_H_
