// Env: every filesystem call the storage layer makes goes through one, so
// that tests can substitute an Env that fails chosen calls, tears writes or
// forgets what was never synced (tests/storage/fault_env.h). Env::Default()
// is POSIX. The files' classes (AppendFile, MappedFile, FileLock) are the
// handles an Env hands out.
//
// Errors name the operation and the path with the errno text; ENOSPC and
// EDQUOT are ResourceExhausted, ENOENT NotFound, EACCES/EPERM
// PermissionDenied, other failures Unavailable (IoError).
//
// An Env is thread-safe; each handle is thread-compatible (used by one
// thread at a time) unless its comment says otherwise.
#ifndef FEATUREBASE_LIB_STORAGE_ENV_H_
#define FEATUREBASE_LIB_STORAGE_ENV_H_

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

// A file open for appending.
class AppendFile {
 public:
  virtual ~AppendFile() = default;
  AppendFile(const AppendFile&) = delete;
  AppendFile& operator=(const AppendFile&) = delete;

  // Writes all of `bytes`. On error some prefix of them may have been
  // written (size() counts it).
  virtual absl::Status Append(std::string_view bytes) = 0;
  // Makes everything appended so far durable (fdatasync).
  virtual absl::Status Sync() = 0;
  // Bytes in the file (may be read by other threads while one appends).
  uint64_t size() const { return size_.load(std::memory_order_relaxed); }
  const std::string& path() const { return path_; }

 protected:
  AppendFile(std::string path, uint64_t size)
      : path_(std::move(path)), size_(size) {}
  void Advance(uint64_t n) { size_.fetch_add(n, std::memory_order_relaxed); }

 private:
  std::string path_;
  std::atomic<uint64_t> size_;
};

// A whole file mapped read-only (an empty file maps to an empty view).
// Immutable.
class MappedFile {
 public:
  // Maps `size` bytes at `data` (nullptr when 0), unmapped on destruction.
  MappedFile(const char* data, size_t size) : data_(data), size_(size) {}
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  std::string_view bytes() const { return {data_, size_}; }

 private:
  const char* data_;
  size_t size_;
};

// An advisory lock, held until destruction.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

 private:
  int fd_;
};

class Env {
 public:
  virtual ~Env() = default;

  // The POSIX Env (never destroyed).
  static Env* Default();

  // Creates `path` (truncating it if it exists) for appending.
  virtual absl::StatusOr<std::unique_ptr<AppendFile>> NewAppendFile(
      const std::string& path) = 0;
  // Opens an existing `path` for appending at its end.
  virtual absl::StatusOr<std::unique_ptr<AppendFile>> ReopenAppendFile(
      const std::string& path) = 0;
  virtual absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(
      const std::string& path) = 0;
  // rename(2): replaces `to` atomically (durable once the directory is
  // synced).
  virtual absl::Status RenameFile(const std::string& from,
                                  const std::string& to) = 0;
  // fsync of the directory, making creates, renames and removes in it
  // durable.
  virtual absl::Status SyncDir(const std::string& dir) = 0;
  // Creates `dir` (and parents) if missing.
  virtual absl::Status MakeDirs(const std::string& dir) = 0;
  // Entry names in `dir` (no "." or "..").
  virtual absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) = 0;
  // Removes `path`; a missing file is not an error.
  virtual absl::Status RemoveFile(const std::string& path) = 0;
  // Truncates `path` to `size` bytes and syncs it.
  virtual absl::Status TruncateFile(const std::string& path, uint64_t size) = 0;
  virtual bool FileExists(const std::string& path) = 0;
  // flock on `path`: exclusive for a writer (creating the file), shared for
  // readers (which may coexist with each other, not with a writer; the file
  // is opened read-only and not created: a missing file gives a null lock).
  // FailedPrecondition when a conflicting lock is held by another open file
  // description (another process, or another Index in this one).
  virtual absl::StatusOr<std::unique_ptr<FileLock>> LockFile(
      const std::string& path, bool shared) = 0;
};

// Replaces `dir`/`name` with `contents` atomically through `env`: writes
// name.tmp, syncs it, renames it over `name` and syncs the directory.
absl::Status WriteFileAtomically(Env* env, const std::string& dir,
                                 const std::string& name,
                                 std::string_view contents);

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_STORAGE_ENV_H_
