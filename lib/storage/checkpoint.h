// Checkpoints: the CHECKPOINT manifest (replaced atomically) and the data
// files data-<n>.fbd it points into (docs/format.md, "Durable index").
//
// A checkpoint writes only what changed since the previous one: fragments,
// value shards and key translators whose versions differ (found by the same
// structural diff as the log) go to one new data file; everything else
// keeps its place in older files. A data file whose live blocks fall under
// half its size is compacted: its live blocks are rewritten into the new
// file and it is deleted once the manifest no longer names it.
#ifndef FEATUREBASE_LIB_STORAGE_CHECKPOINT_H_
#define FEATUREBASE_LIB_STORAGE_CHECKPOINT_H_

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <tuple>
#include <utility>

#include "absl/status/statusor.h"
#include "lib/core/index_state.h"
#include "lib/storage/env.h"

namespace featurebase::internal {

inline constexpr std::string_view kCheckpointName = "CHECKPOINT";

std::string DataFileName(uint64_t number);

// Where a block lives: data file number, offset and length (the body and
// its 8-byte checksum).
struct BlockRef {
  uint64_t file = 0;
  uint64_t offset = 0;
  uint64_t length = 0;
};

// What the last checkpoint holds and where. Field "" is the index
// (existence fragments, record keys).
struct Catalog {
  uint64_t number = 0;  // of the checkpoint; its data file has this number
  uint64_t version = 0;
  uint64_t wal_start = 0;              // first log file to replay
  std::map<uint64_t, uint64_t> files;  // data file number -> size
  std::map<std::tuple<std::string, uint64_t, uint64_t>, BlockRef>
      fragments;  // (field, view, shard)
  std::map<std::pair<std::string, uint64_t>, BlockRef> bsi;   // (field, shard)
  std::map<std::string, std::pair<uint64_t, BlockRef>> keys;  // seq, block
  // The version written (shares structure with the live index, so keeping
  // it costs only what changed since).
  std::shared_ptr<const IndexState> state;
};

// Writes a checkpoint of `state` into `dir` through `env`, given the previous
// one in `catalog` (empty for a new index), naming `wal_start` as the first log
// file to replay. On success `catalog` describes the new checkpoint; data
// files it no longer names are deleted. On error nothing the previous
// checkpoint needs is touched.
absl::Status WriteCheckpoint(Env* env, const std::string& dir,
                             std::shared_ptr<const IndexState> state,
                             uint64_t wal_start, Catalog* catalog);

// Loads the checkpoint in `dir` through `env`: the index version it holds
// (stamped with `owner`) and its catalog. Three steps: parse the manifest,
// decode the blocks it names (on `threads` threads), install them into the
// version. DataLoss naming the file and offset for any corrupt or truncated
// byte; nothing is installed unless every block decodes.
absl::StatusOr<Catalog> LoadCheckpoint(Env* env, const std::string& dir,
                                       OwnerToken owner, int threads);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_CHECKPOINT_H_
