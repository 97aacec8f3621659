// import-csv: reads CSV files with ingest-kit headers into an index through
// featurebase::Batch, creating missing fields from the header.
//
// Pipeline (concurrency >= 2): a thread reads and parses each file
// (ReadAheadCsvReader); the calling thread converts and adds records to one
// of two batches while another thread flushes the other, so parsing
// overlaps the bitmap work of Flush (and one more writes checkpoints, with
// checkpoint_each_flush). The first batch flushed is an eighth of
// batch_size, the second the other seven eighths (so that later batches of
// sequential ids each fill one shard), and about the last is an eighth too
// (estimated from the bytes per row), so that little flushing happens with
// no parsing beside it.
#ifndef FBC_IMPORTER_H_
#define FBC_IMPORTER_H_

#include <cstdint>
#include <cstdio>
#include <optional>
#include <string>
#include <vector>

#include "examples/fbc/progress.h"
#include "examples/fbc/row_converter.h"
#include "featurebase/index.h"
#include "featurebase/status.h"

namespace fbc {

struct ImportOptions {
  std::vector<std::string> files;
  // --header: the header cells; the files then have no header row unless
  // ignore_header (the first row is skipped).
  std::optional<std::vector<std::string>> header;
  bool ignore_header = false;
  IdOptions ids;
  // Records per batch (one commit each).
  size_t batch_size = size_t{1} << 20;
  // 1: parse and flush on one thread; 2 or more: pipelined.
  int concurrency = 2;
  // Rejected rows, one `file:line: reason` per line, to this file; empty:
  // the first few to `log` and a count.
  std::string rejects_path;
  // Read buffer size (tests use small buffers to cross record boundaries).
  size_t read_buffer_bytes = size_t{4} << 20;
  // Checkpoint a durable index after a flush once the records committed
  // since the last checkpoint are at least half of those before it (so
  // every flush at first, then less often: the bytes written stay
  // proportional to the import even when every batch touches every shard).
  // Pipelined, the checkpoints run on a thread of their own, so flushing
  // goes on while one writes. For an index opened with
  // Durability::kCheckpoint (fbc import-csv) batches become durable as they
  // land, and the final Sync has little left to write.
  bool checkpoint_each_flush = false;
};

struct ImportResult {
  uint64_t records = 0;   // records committed
  uint64_t rejected = 0;  // rows rejected
  double seconds = 0;
  // The file and line of the last row committed ("" and 0: none).
  std::string last_file;
  uint64_t last_line = 0;
  // {"records":N,"rejected":N,"seconds":S}
  std::string ToJson() const;
  // {"records":N,"file":"F","line":L}: what a failed import committed.
  std::string CommittedJson() const;
};

// Imports into `index` (whose keys option must match the id mode: keyed
// for --primary-key-fields, not keyed otherwise). Errors: bad header
// (InvalidArgument naming the column), unreadable file, a field that exists
// with other options (FailedPrecondition), a failed flush. Rows with bad
// values are rejected, not errors. `log` gets reject summaries; `progress`
// may be null. On an error, `committed` (when not null) gets what was
// committed before it: records, rows rejected so far, and the file and line
// of the last committed row; no flush starts after the error.
featurebase::StatusOr<ImportResult> ImportCsv(
    featurebase::Index& index, const ImportOptions& options, Progress* progress,
    std::FILE* log, ImportResult* committed = nullptr);

// The fields of `converter` that `index` lacks, created; FailedPrecondition
// for an existing field of another type or keys setting, e.g.
// `field "fare" exists as mutex, header column 3 "fare__Int" wants int`.
featurebase::Status EnsureFields(featurebase::Index& index,
                                 const RowConverter& converter);

}  // namespace fbc

#endif  // FBC_IMPORTER_H_
