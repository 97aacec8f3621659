#include <dirent.h>
#include <fcntl.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "fmt/format.h"
#include "lib/storage/env.h"

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

MappedFile::~MappedFile() {
  if (size_ > 0) ::munmap(const_cast<char*>(data_), size_);
}

FileLock::~FileLock() { ::close(fd_); }

absl::Status WriteFileAtomically(Env* env, const std::string& dir,
                                 const std::string& name,
                                 std::string_view contents) {
  const std::string tmp = dir + "/" + name + ".tmp";
  {
    auto f = env->NewAppendFile(tmp);
    if (!f.ok()) return f.status();
    if (auto s = (*f)->Append(contents); !s.ok()) return s;
    if (auto s = (*f)->Sync(); !s.ok()) return s;
  }
  if (auto s = env->RenameFile(tmp, dir + "/" + name); !s.ok()) return s;
  return env->SyncDir(dir);
}

namespace {

class PosixAppendFile final : public AppendFile {
 public:
  PosixAppendFile(std::string path, int fd, uint64_t size)
      : AppendFile(std::move(path), size), fd_(fd) {}
  ~PosixAppendFile() override { ::close(fd_); }

  absl::Status Append(std::string_view bytes) override {
    while (!bytes.empty()) {
      const ssize_t n = ::write(fd_, bytes.data(), bytes.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return IoError("write", path(), errno);
      }
      bytes.remove_prefix(size_t(n));
      Advance(uint64_t(n));
    }
    return absl::OkStatus();
  }

  absl::Status Sync() override {
    if (::fdatasync(fd_) != 0) return IoError("sync", path(), errno);
    return absl::OkStatus();
  }

 private:
  int fd_;
};

class PosixEnv final : public Env {
 public:
  absl::StatusOr<std::unique_ptr<AppendFile>> NewAppendFile(
      const std::string& path) override {
    const int fd =
        ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0) return IoError("create", path, errno);
    return std::make_unique<PosixAppendFile>(path, fd, 0);
  }

  absl::StatusOr<std::unique_ptr<AppendFile>> ReopenAppendFile(
      const std::string& path) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return IoError("open", path, errno);
    const off_t end = ::lseek(fd, 0, SEEK_END);
    if (end < 0) {
      const int err = errno;
      ::close(fd);
      return IoError("seek", path, err);
    }
    return std::make_unique<PosixAppendFile>(path, fd, uint64_t(end));
  }

  absl::StatusOr<std::unique_ptr<MappedFile>> MapFile(
      const std::string& path) override {
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
      return std::make_unique<MappedFile>(nullptr, 0);
    }
    void* p = ::mmap(nullptr, size, PROT_READ, MAP_PRIVATE, fd, 0);
    const int err = errno;
    ::close(fd);
    if (p == MAP_FAILED) return IoError("map", path, err);
    return std::make_unique<MappedFile>(static_cast<const char*>(p), size);
  }

  absl::Status RenameFile(const std::string& from,
                          const std::string& to) override {
    if (::rename(from.c_str(), to.c_str()) != 0)
      return IoError("rename", from, errno);
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return IoError("open directory", dir, errno);
    const int rc = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return IoError("sync directory", dir, err);
    return absl::OkStatus();
  }

  absl::Status MakeDirs(const std::string& dir) override {
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

  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override {
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

  absl::Status RemoveFile(const std::string& path) override {
    if (::unlink(path.c_str()) != 0 && errno != ENOENT)
      return IoError("remove", path, errno);
    return absl::OkStatus();
  }

  absl::Status TruncateFile(const std::string& path, uint64_t size) override {
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return IoError("open", path, errno);
    int rc = ::ftruncate(fd, off_t(size));
    if (rc == 0) rc = ::fdatasync(fd);
    const int err = errno;
    ::close(fd);
    if (rc != 0) return IoError("truncate", path, err);
    return absl::OkStatus();
  }

  bool FileExists(const std::string& path) override {
    struct stat st;
    return ::stat(path.c_str(), &st) == 0;
  }

  absl::StatusOr<std::unique_ptr<FileLock>> LockFile(const std::string& path,
                                                     bool shared) override {
    const int fd =
        shared ? ::open(path.c_str(), O_RDONLY | O_CLOEXEC)
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
    return std::make_unique<FileLock>(fd);
  }
};

}  // namespace

Env* Env::Default() {
  static Env* const env = new PosixEnv;
  return env;
}

}  // namespace featurebase::internal
