// FaultEnv: an Env over the POSIX one (or any other) that makes chosen
// calls fail, tears appends and simulates a crash that loses everything
// not yet durable, for tests of the storage layer's error paths.
//
// What "durable" means here, as on a POSIX filesystem:
//  - bytes appended to a file are durable once the file is synced (Sync,
//    or TruncateFile, which syncs); files the Env never opened are durable
//    as they are;
//  - a created file, and the target of a rename, exists durably once its
//    directory is synced.
// Crash() first makes every later mutating call fail (the process is dead:
// an Index destroyed afterwards writes nothing), then puts the directory
// tree in the state a power loss could leave: renames not followed by a
// directory sync are undone (the old target comes back with the bytes it
// had), files created since their directory's last sync disappear, and
// every other file it wrote is cut to its synced length. Removals are not
// undone (a removed file stays removed), which is one of the states a crash
// may leave.
//
// Thread-safe.
#ifndef FEATUREBASE_TESTS_STORAGE_FAULT_ENV_H_
#define FEATUREBASE_TESTS_STORAGE_FAULT_ENV_H_

#include <cerrno>
#include <cstdint>
#include <filesystem>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "fmt/format.h"
#include "lib/storage/env.h"

namespace featurebase::testing {

class FaultEnv final : public internal::Env {
 public:
  // The calls faults apply to; kAny matches each of the others.
  enum class Op { kAppend, kSync, kCreate, kRename, kSyncDir, kRemove, kAny };

  explicit FaultEnv(internal::Env* base = internal::Env::Default())
      : base_(base) {}

  // From now on, the `nth` (from 1) call of `op` whose path contains
  // `path_part` fails with `err` (the errno the status is made from), and so
  // do the `times - 1` matching calls after it (times < 0: every one). A
  // failing append first writes the first `keep` bytes it was given (a torn
  // write; keep is capped at the input's size).
  void InjectFault(Op op, std::string path_part, int nth, int err,
                   int times = 1, size_t keep = 0) {
    std::lock_guard<std::mutex> l(mu_);
    faults_.push_back({op, std::move(path_part), nth, err, times, keep});
  }
  void ClearFaults() {
    std::lock_guard<std::mutex> l(mu_);
    faults_.clear();
  }
  // Injected faults that have fired.
  int fired() const {
    std::lock_guard<std::mutex> l(mu_);
    return fired_;
  }
  // Calls of `op` so far (all paths; kAny: of every kind).
  int calls(Op op) const {
    std::lock_guard<std::mutex> l(mu_);
    int n = 0;
    for (const auto& [o, count] : calls_) {
      if (o == op || op == Op::kAny) n += count;
    }
    return n;
  }

  // Simulates a power loss (see the file comment). Every mutating call
  // afterwards fails with Unavailable "simulated crash".
  void Crash() {
    std::lock_guard<std::mutex> l(mu_);
    dead_ = true;
    namespace fs = std::filesystem;
    for (auto it = renames_.rbegin(); it != renames_.rend(); ++it) {
      std::error_code ec;
      fs::rename(it->to, it->from, ec);
      if (auto s = synced_.find(it->to); s != synced_.end()) {
        synced_[it->from] = s->second;
        synced_.erase(s);
      }
      if (it->old_contents) WriteWhole(it->to, *it->old_contents);
    }
    renames_.clear();
    for (const std::string& p : created_) {
      std::error_code ec;
      fs::remove(p, ec);
      synced_.erase(p);
    }
    created_.clear();
    for (const auto& [path, size] : synced_) {
      std::error_code ec;
      const auto now = fs::file_size(path, ec);
      if (!ec && now > size) fs::resize_file(path, size, ec);
    }
    synced_.clear();
  }

  absl::StatusOr<std::unique_ptr<internal::AppendFile>> NewAppendFile(
      const std::string& path) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (auto s = Check(Op::kCreate, "create", path); !s.ok()) return s;
    }
    auto f = base_->NewAppendFile(path);
    if (!f.ok()) return f.status();
    std::lock_guard<std::mutex> l(mu_);
    synced_[path] = 0;
    created_.insert(path);
    return std::unique_ptr<internal::AppendFile>(new File(this, std::move(*f)));
  }

  absl::StatusOr<std::unique_ptr<internal::AppendFile>> ReopenAppendFile(
      const std::string& path) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (dead_) return Dead("open", path);
    }
    auto f = base_->ReopenAppendFile(path);
    if (!f.ok()) return f.status();
    std::lock_guard<std::mutex> l(mu_);
    if (!synced_.count(path)) synced_[path] = (*f)->size();
    return std::unique_ptr<internal::AppendFile>(new File(this, std::move(*f)));
  }

  absl::StatusOr<std::unique_ptr<internal::MappedFile>> MapFile(
      const std::string& path) override {
    return base_->MapFile(path);
  }

  absl::Status RenameFile(const std::string& from,
                          const std::string& to) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = Check(Op::kRename, "rename", from); !s.ok()) return s;
    Rename r{from, to, std::nullopt};
    if (!created_.count(to) && std::filesystem::exists(to)) {
      auto old = base_->MapFile(to);
      if (old.ok()) r.old_contents = std::string((*old)->bytes());
    }
    if (auto s = base_->RenameFile(from, to); !s.ok()) return s;
    if (auto it = synced_.find(from); it != synced_.end()) {
      synced_[to] = it->second;
      synced_.erase(it);
    } else {
      synced_.erase(to);
    }
    // The rename's undo brings `from` back; whether it survives is then up
    // to `from` itself.
    created_.erase(to);
    renames_.push_back(std::move(r));
    return absl::OkStatus();
  }

  absl::Status SyncDir(const std::string& dir) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = Check(Op::kSyncDir, "sync directory", dir); !s.ok()) return s;
    if (auto s = base_->SyncDir(dir); !s.ok()) return s;
    const std::filesystem::path d = std::filesystem::path(dir);
    auto in_dir = [&](const std::string& p) {
      return std::filesystem::path(p).parent_path() == d;
    };
    for (auto it = created_.begin(); it != created_.end();) {
      it = in_dir(*it) ? created_.erase(it) : std::next(it);
    }
    for (auto it = renames_.begin(); it != renames_.end();) {
      it = in_dir(it->to) ? renames_.erase(it) : std::next(it);
    }
    return absl::OkStatus();
  }

  absl::Status MakeDirs(const std::string& dir) override {
    {
      std::lock_guard<std::mutex> l(mu_);
      if (dead_) return Dead("create directory", dir);
    }
    return base_->MakeDirs(dir);
  }

  absl::StatusOr<std::vector<std::string>> ListDir(
      const std::string& dir) override {
    return base_->ListDir(dir);
  }

  absl::Status RemoveFile(const std::string& path) override {
    std::lock_guard<std::mutex> l(mu_);
    if (auto s = Check(Op::kRemove, "remove", path); !s.ok()) return s;
    if (auto s = base_->RemoveFile(path); !s.ok()) return s;
    synced_.erase(path);
    created_.erase(path);
    return absl::OkStatus();
  }

  absl::Status TruncateFile(const std::string& path, uint64_t size) override {
    std::lock_guard<std::mutex> l(mu_);
    if (dead_) return Dead("truncate", path);
    if (auto s = base_->TruncateFile(path, size); !s.ok()) return s;
    synced_[path] = size;
    return absl::OkStatus();
  }

  bool FileExists(const std::string& path) override {
    return base_->FileExists(path);
  }

  absl::StatusOr<std::unique_ptr<internal::FileLock>> LockFile(
      const std::string& path, bool shared) override {
    return base_->LockFile(path, shared);
  }

 private:
  struct Fault {
    Op op;
    std::string path_part;
    int countdown;  // matching calls until it fires
    int err;
    int times;
    size_t keep;
  };
  struct Rename {
    std::string from, to;
    std::optional<std::string> old_contents;  // of a replaced target
  };

  class File final : public internal::AppendFile {
   public:
    File(FaultEnv* env, std::unique_ptr<internal::AppendFile> base)
        : AppendFile(base->path(), base->size()),
          env_(env),
          base_(std::move(base)) {}

    absl::Status Append(std::string_view bytes) override {
      size_t keep = bytes.size();
      absl::Status injected;
      {
        std::lock_guard<std::mutex> l(env_->mu_);
        injected = env_->Check(Op::kAppend, "write", path(), &keep);
      }
      if (!injected.ok()) bytes = bytes.substr(0, keep);
      const uint64_t before = base_->size();
      absl::Status s = base_->Append(bytes);
      Advance(base_->size() - before);
      return injected.ok() ? s : injected;
    }

    absl::Status Sync() override {
      {
        std::lock_guard<std::mutex> l(env_->mu_);
        if (auto s = env_->Check(Op::kSync, "sync", path()); !s.ok()) return s;
      }
      if (auto s = base_->Sync(); !s.ok()) return s;
      std::lock_guard<std::mutex> l(env_->mu_);
      if (auto it = env_->synced_.find(path()); it != env_->synced_.end())
        it->second = std::max(it->second, size());
      return absl::OkStatus();
    }

   private:
    FaultEnv* env_;
    std::unique_ptr<internal::AppendFile> base_;
  };

  static absl::Status Dead(std::string_view op, std::string_view path) {
    return absl::UnavailableError(
        fmt::format("{} {}: simulated crash", op, path));
  }

  // Counts the call and returns the injected failure, if any (mu_ held).
  // `keep` (appends only) gets the bytes a torn append writes.
  absl::Status Check(Op op, std::string_view name, const std::string& path,
                     size_t* keep = nullptr) {
    if (dead_) {
      if (keep) *keep = 0;
      return Dead(name, path);
    }
    ++calls_[op];
    for (auto it = faults_.begin(); it != faults_.end(); ++it) {
      if ((it->op != op && it->op != Op::kAny) ||
          path.find(it->path_part) == std::string::npos)
        continue;
      if (--it->countdown > 0) continue;
      const int err = it->err;
      if (keep) *keep = std::min(*keep, it->keep);
      if (it->times > 0 && --it->times == 0) faults_.erase(it);
      ++fired_;
      return internal::IoError(name, path, err);
    }
    return absl::OkStatus();
  }

  void WriteWhole(const std::string& path, const std::string& bytes) {
    auto f = base_->NewAppendFile(path);
    if (!f.ok()) return;
    (void)(*f)->Append(bytes);
    (void)(*f)->Sync();
  }

  internal::Env* const base_;
  mutable std::mutex mu_;
  std::vector<Fault> faults_;
  std::map<Op, int> calls_;
  int fired_ = 0;
  bool dead_ = false;
  std::map<std::string, uint64_t> synced_;  // files written: durable bytes
  std::set<std::string> created_;  // created since their directory's sync
  std::vector<Rename> renames_;    // not yet followed by a directory sync
};

}  // namespace featurebase::testing

#endif  // FEATUREBASE_TESTS_STORAGE_FAULT_ENV_H_
