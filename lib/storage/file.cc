#include "lib/storage/file.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"

namespace featurebase::internal {

absl::Status IoError(std::string_view op, std::string_view path, int err) {
  const std::string msg =
      fmt::format("{} {}: {}", op, path, std::strerror(err));
  switch (err) {
    case ENOENT:
      return absl::NotFoundError(msg);
    case ENOSPC:
    case EDQUOT:
      return absl::ResourceExhaustedError(msg);
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(msg);
    default:
      return absl::UnavailableError(msg);
  }
}

absl::StatusOr<std::unique_ptr<AppendFile>> AppendFile::Create(
    std::string path) {
  const int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return IoError("create", path, errno);
  return std::unique_ptr<AppendFile>(new AppendFile(std::move(path), fd, 0));
}

absl::StatusOr<std::unique_ptr<AppendFile>> AppendFile::OpenForAppend(
    std::string path) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return IoError("open", path, errno);
  const off_t end = ::lseek(fd, 0, SEEK_END);
  if (end < 0) {
    const int err = errno;
    ::close(fd);
    return IoError("seek", path, err);
  }
  return std::unique_ptr<AppendFile>(
      new AppendFile(std::move(path), fd, uint64_t(end)));
}

AppendFile::~AppendFile() { ::close(fd_); }

absl::Status AppendFile::Append(std::string_view bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return IoError("write", path_, errno);
    }
    bytes.remove_prefix(size_t(n));
    size_.fetch_add(uint64_t(n), std::memory_order_relaxed);
  }
  return absl::OkStatus();
}

absl::Status AppendFile::Sync() {
  if (::fdatasync(fd_) != 0) return IoError("sync", path_, errno);
  return absl::OkStatus();
}

absl::StatusOr<std::unique_ptr<MappedFile>> MappedFile::Open(
    const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return IoError("open", path, errno);
  struct stat st;
  if (::fstat(fd, &st) != 0) {
    const int err = errno;
    ::close(fd);
    return IoError("stat", path, err);
  }
  const size_t size = size_t(st.st_size);
  if (size == 0) {
    ::close(fd);
    return std::unique_ptr<MappedFile>(new MappedFile(nullptr, 0));
  }
  void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
  const int err = errno;
  ::close(fd);
  if (p == MAP_FAILED) return IoError("map", path, err);
  return std::unique_ptr<MappedFile>(
      new MappedFile(static_cast<const char*>(p), size));
}

MappedFile::~MappedFile() {
  if (size_ > 0) ::munmap(const_cast<char*>(data_), size_);
}

absl::Status SyncDir(const std::string& dir) {
  const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return IoError("open directory", dir, errno);
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("sync directory", dir, err);
  return absl::OkStatus();
}

absl::Status WriteFileAtomically(const std::string& dir,
                                 const std::string& name,
                                 std::string_view contents) {
  const std::string tmp = dir + "/" + name + ".tmp";
  {
    auto f = AppendFile::Create(tmp);
    if (!f.ok()) return f.status();
    if (auto s = (*f)->Append(contents); !s.ok()) return s;
    if (auto s = (*f)->Sync(); !s.ok()) return s;
  }
  const std::string path = dir + "/" + name;
  if (::rename(tmp.c_str(), path.c_str()) != 0)
    return IoError("rename", tmp, errno);
  return SyncDir(dir);
}

absl::Status MakeDirs(const std::string& dir) {
  std::string at;
  size_t pos = 0;
  while (pos <= dir.size()) {
    const size_t next = dir.find('/', pos);
    at = dir.substr(0, next == std::string::npos ? dir.size() : next);
    pos = next == std::string::npos ? dir.size() + 1 : next + 1;
    if (at.empty()) continue;
    if (::mkdir(at.c_str(), 0755) != 0 && errno != EEXIST)
      return IoError("create directory", at, errno);
  }
  struct stat st;
  if (::stat(dir.c_str(), &st) != 0) return IoError("stat", dir, errno);
  if (!S_ISDIR(st.st_mode)) return IoError("open directory", dir, ENOTDIR);
  return absl::OkStatus();
}

absl::StatusOr<std::vector<std::string>> ListDir(const std::string& dir) {
  DIR* d = ::opendir(dir.c_str());
  if (d == nullptr) return IoError("list", dir, errno);
  std::vector<std::string> out;
  while (const dirent* e = ::readdir(d)) {
    const std::string_view name = e->d_name;
    if (name != "." && name != "..") out.emplace_back(name);
  }
  ::closedir(d);
  return out;
}

absl::Status RemoveFile(const std::string& path) {
  if (::unlink(path.c_str()) != 0 && errno != ENOENT)
    return IoError("remove", path, errno);
  return absl::OkStatus();
}

absl::Status TruncateFile(const std::string& path, uint64_t size) {
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return IoError("open", path, errno);
  int rc = ::ftruncate(fd, off_t(size));
  if (rc == 0) rc = ::fdatasync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return IoError("truncate", path, err);
  return absl::OkStatus();
}

bool FileExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0;
}

absl::StatusOr<std::unique_ptr<FileLock>> FileLock::Acquire(
    const std::string& path, bool shared) {
  const int fd = shared
                     ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC)
                     : ::open(path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (fd < 0) {
    if (shared && errno == ENOENT) return std::unique_ptr<FileLock>();
    return IoError("open lock file", path, errno);
  }
  if (::flock(fd, (shared ? LOCK_SH : LOCK_EX) | LOCK_NB) != 0) {
    const int err = errno;
    ::close(fd);
    if (err == EWOULDBLOCK) {
      return absl::FailedPreconditionError(
          shared ? fmt::format("lock {}: the index is open for writing "
                               "elsewhere (another process or Index holds "
                               "the lock)",
                               path)
                 : fmt::format("lock {}: the index is open elsewhere "
                               "(another process or Index holds the lock)",
                               path));
    }
    return IoError("lock", path, err);
  }
  return std::unique_ptr<FileLock>(new FileLock(fd));
}

FileLock::~FileLock() { ::close(fd_); }

}  // namespace featurebase::internal
