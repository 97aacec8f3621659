// The write-ahead log: files wal-<number>.log, each a 24-byte header
// ("FBWAL002", u64 number, u64 start version: the index version its first
// record continues from) followed by records
//   u32 payload length | u32 header check | u64 payload checksum | payload
// where the header check is the low 32 bits of XXH3-64 (seed kWalSeed) of
// the length bytes and the payload checksum XXH3-64 of the payload
// (docs/format.md, "Write-ahead log"). A record is written with one
// write(2); a crash can leave only the tail of the newest file torn. The
// start versions chain the files: each file starts at the version the one
// before it ends at, so a lost tail or a lost file of an older file is a
// version gap that recovery reports as DataLoss.
#ifndef FEATUREBASE_LIB_STORAGE_WAL_H_
#define FEATUREBASE_LIB_STORAGE_WAL_H_

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "lib/storage/env.h"

namespace featurebase::internal {

inline constexpr std::string_view kWalMagic = "FBWAL002";
inline constexpr size_t kWalFileHeaderBytes = 24;
inline constexpr size_t kWalRecordHeaderBytes = 16;
inline constexpr uint64_t kWalSeed = 0x46425741'4c524543;  // "FBWALREC"
// The largest payload a record may declare (a batch of 2^20 records with
// many fields stays far below).
inline constexpr uint32_t kWalMaxPayload = uint32_t{1} << 31;

std::string WalFileName(uint64_t number);

// Frames `payload` as one record.
void AppendWalRecord(std::string* out, std::string_view payload);

class WalWriter {
 public:
  // Creates wal-<number>.log in `dir` through `env` whose first record will
  // be the commit after `start_version` (header written and synced,
  // directory synced).
  static absl::StatusOr<std::unique_ptr<WalWriter>> Create(
      Env* env, const std::string& dir, uint64_t number,
      uint64_t start_version);
  // Appends one framed record (AppendWalRecord output or several of them).
  absl::Status Append(std::string_view framed) { return file_->Append(framed); }
  absl::Status Sync() { return file_->Sync(); }
  uint64_t number() const { return number_; }
  uint64_t size() const { return file_->size(); }

 private:
  WalWriter(std::unique_ptr<AppendFile> file, uint64_t number)
      : file_(std::move(file)), number_(number) {}
  std::unique_ptr<AppendFile> file_;
  uint64_t number_;
};

struct WalRecord {
  uint64_t offset = 0;  // of the record header in the file
  std::string_view payload;
};

// The records of one log file's `bytes`. `name` names it in errors and
// `number` is the number its name carries; *start_version gets the header's
// start version (0 for a newest file torn inside its header). A torn tail (a
// partial record at the end, or a last record whose bytes up to the end of file
// are zeros or fail their checksum with nothing intact after them) ends the
// records when `newest`, and sets *valid_end to where it starts; anywhere else,
// and in older files, damage is DataLoss naming the file and offset.
absl::Status ReadWal(std::string_view bytes, std::string_view name,
                     uint64_t number, bool newest, std::vector<WalRecord>* out,
                     uint64_t* valid_end, uint64_t* start_version);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_WAL_H_
