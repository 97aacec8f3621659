// CSV reading for fbc: RFC 4180 records (quoted fields with "" escapes,
// embedded commas and newlines, CRLF or LF line ends) from plain or gzipped
// files, parsed a large buffer at a time.
//
// CsvParser is a pure function over a byte range (testable without files);
// CsvReader owns the input and its buffers and hands out blocks of rows whose
// fields point into those buffers; ReadAheadCsvReader runs a CsvReader on a
// thread of its own.
//
// CsvReader is thread-compatible; ReadAheadCsvReader has one caller thread.
#ifndef FBC_CSV_READER_H_
#define FBC_CSV_READER_H_

#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "featurebase/status.h"

namespace fbc {

// One parsed row: `count` fields starting at `first` in RowBlock::fields.
struct CsvRow {
  uint32_t first = 0;
  uint32_t count = 0;
  // The physical line the row starts on (1-based).
  uint64_t line = 0;
  // Non-empty when the row is malformed (then its fields are unreliable):
  // e.g. `bare quote in unquoted field 2`.
  std::string error;
};

// Rows parsed from one buffer; string_views point into that buffer.
struct RowBlock {
  std::vector<std::string_view> fields;
  std::vector<CsvRow> rows;
  // Bytes of input these rows came from.
  uint64_t bytes = 0;
  void clear() {
    fields.clear();
    rows.clear();
    bytes = 0;
  }
  std::string_view field(const CsvRow& row, size_t i) const {
    return fields[row.first + i];
  }
};

// Parses complete records from data[0, size). `data` must have 64 readable
// bytes after `size` (any values). Records that may continue past `size` are
// left unparsed unless `eof`; the return value is the number of bytes
// consumed. Quoted fields with "" escapes are unescaped in place (so `data`
// is modified). Lines are counted from `*line` (the line of data[0]), which
// is advanced past the consumed bytes. Empty lines are skipped. A quoted
// field still open at eof makes a row with error `unterminated quoted field`.
size_t ParseCsv(char* data, size_t size, bool eof, uint64_t* line,
                RowBlock* out);

// A byte source: a plain file or a gzip stream (detected by its magic
// bytes, so `.gz` files and gzipped files with other names both work).
class ByteSource {
 public:
  virtual ~ByteSource() = default;
  // Reads up to `n` bytes; 0 at the end. DataLoss / an errno message on
  // failure, naming the file.
  virtual featurebase::StatusOr<size_t> Read(char* buf, size_t n) = 0;
  // Bytes of the underlying file consumed so far (compressed for gzip).
  virtual uint64_t file_offset() const = 0;
  // The file's size in bytes, 0 if unknown.
  virtual uint64_t file_size() const = 0;
};

// Opens `path` ("-" is standard input). NotFound / PermissionDenied /
// InvalidArgument naming the path.
featurebase::StatusOr<std::unique_ptr<ByteSource>> OpenByteSource(
    const std::string& path);

// Reads a CSV file block by block.
class CsvReader {
 public:
  // A block's fields stay valid for this many calls of Next after the one
  // that filled it (kBuffers - 1): Next parses into a ring of buffers.
  static constexpr int kBuffers = 3;

  // `buffer_bytes`: the read size (records longer than it grow the buffer).
  explicit CsvReader(std::unique_ptr<ByteSource> source,
                     size_t buffer_bytes = size_t{4} << 20);

  // Fills `block` with the next rows (at least one unless at the end).
  // Returns false at the end of input. Read errors are returned as status.
  // A UTF-8 byte order mark (EF BB BF) at the start of the input is
  // skipped.
  featurebase::StatusOr<bool> Next(RowBlock* block);

  const ByteSource& source() const { return *source_; }

 private:
  struct Buffer {
    std::vector<char> bytes;
    size_t begin = 0, end = 0;
  };
  std::unique_ptr<ByteSource> source_;
  Buffer bufs_[kBuffers];
  int cur_ = 0;
  size_t read_size_;
  uint64_t line_ = 1;
  bool eof_ = false;
  bool bom_checked_ = false;  // a leading UTF-8 BOM was looked for
};

// A CsvReader that (when `threaded`) reads and parses on its own thread, up
// to two blocks ahead of the caller, so that the caller's work on a block
// overlaps the reading and parsing of the next ones. Not threaded, it is
// the CsvReader itself. One caller thread.
class ReadAheadCsvReader {
 public:
  ReadAheadCsvReader(std::unique_ptr<ByteSource> source, size_t buffer_bytes,
                     bool threaded);
  // Stops the reading thread (after the block it is parsing, if any).
  ~ReadAheadCsvReader();
  ReadAheadCsvReader(const ReadAheadCsvReader&) = delete;
  ReadAheadCsvReader& operator=(const ReadAheadCsvReader&) = delete;

  // The next block of rows (at least one), valid until the next call; null
  // at the end of input, and on every call after it. Read errors are
  // returned as status, as from CsvReader::Next.
  featurebase::StatusOr<const RowBlock*> Next();

  // The source's offset (ByteSource::file_offset) after the block returned
  // last was read.
  uint64_t file_offset() const { return offset_; }

 private:
  struct Slot {
    RowBlock block;
    featurebase::StatusOr<bool> more = false;
    uint64_t offset = 0;
  };
  // Reads the next block into *s, with its status and source offset.
  void Fill(Slot* s);
  void Run();

  CsvReader reader_;
  // Block m goes to slot m % kSlots; the reader may fill block m while the
  // caller holds block m - 2 (CsvReader keeps it valid that long).
  static constexpr int kSlots = CsvReader::kBuffers;
  Slot slots_[kSlots];
  uint64_t offset_ = 0;
  bool done_ = false;  // the caller has seen the end or an error
  std::mutex mu_;
  std::condition_variable cv_;
  uint64_t produced_ = 0, consumed_ = 0;  // blocks
  bool stop_ = false;
  std::thread thread_;
};

}  // namespace fbc

#endif  // FBC_CSV_READER_H_
