// POSIX file access for the storage layer: appendable files with fsync,
// read-only memory maps, atomic replacement, directory sync and the
// directory lock. Errors name the operation and the path; ENOSPC is
// ResourceExhausted, ENOENT NotFound, other failures Unavailable.
//
// Thread-compatible (each object is used by one thread at a time).
#ifndef FEATUREBASE_LIB_STORAGE_FILE_H_
#define FEATUREBASE_LIB_STORAGE_FILE_H_

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace featurebase::internal {

// The status for a failed system call `op` on `path` with `err` (errno).
absl::Status IoError(std::string_view op, std::string_view path, int err);

// A file opened for appending (created or truncated by Create, reopened at
// its end by OpenForAppend).
class AppendFile {
 public:
  static absl::StatusOr<std::unique_ptr<AppendFile>> Create(std::string path);
  static absl::StatusOr<std::unique_ptr<AppendFile>> OpenForAppend(
      std::string path);
  ~AppendFile();
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Writes all of `bytes` (retrying short writes and EINTR).
  absl::Status Append(std::string_view bytes);
  // fdatasync.
  absl::Status Sync();
  // Bytes written (may be read by other threads while one appends).
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }

 private:
  AppendFile(std::string path, int fd, uint64_t size)
      : path_(std::move(path)), fd_(fd), size_(size) {}
  std::string path_;
  int fd_;
  std::atomic<uint64_t> size_;
};

// A whole file mapped read-only (empty files map to an empty view).
class MappedFile {
 public:
  static absl::StatusOr<std::unique_ptr<MappedFile>> Open(
      const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const { return {data_, size_}; }

 private:
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  const char* data_;
  size_t size_;
};

// Replaces `dir`/`name` with `contents` atomically: writes name.tmp, syncs
// it, renames it over `name` and syncs the directory.
absl::Status WriteFileAtomically(const std::string& dir,
                                 const std::string& name,
                                 std::string_view contents);
absl::Status SyncDir(const std::string& dir);
// Creates `dir` (and parents) if missing.
absl::Status MakeDirs(const std::string& dir);
// Entry names in `dir` (no "." or "..").
absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir);
absl::Status RemoveFile(const std::string& path);
// Truncates `path` to `size` bytes and syncs it.
absl::Status TruncateFile(const std::string& path, uint64_t size);
bool FileExists(const std::string& path);

// An advisory lock (flock) on `path`, held until destruction: exclusive for
// a writer (creating the file), shared for readers (which may coexist with
// each other, not with a writer; the file is opened read-only and not
// created: a missing file gives a null lock). FailedPrecondition when a
// conflicting lock is held by another open file description (another
// process, or another Index in this one).
class FileLock {
 public:
  static absl::StatusOr<std::unique_ptr<FileLock>> Acquire(
      const std::string& path, bool shared = false);
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  explicit FileLock(int fd) : fd_(fd) {}
  int fd_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_FILE_H_
