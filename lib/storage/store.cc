#include "lib/storage/store.h"

#include <algorithm>
#include <charconv>
#include <thread>
#include <vector>

#include "fmt/format.h"
#include "lib/keys/translator_access.h"
#include "lib/storage/commit_codec.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

namespace {

// The number in "<prefix><digits><suffix>", or nullopt.
std::optional<uint64_t> FileNumber(std::string_view name,
                                   std::string_view prefix,
                                   std::string_view suffix) {
  if (!name.starts_with(prefix) || !name.ends_with(suffix) ||
      name.size() <= prefix.size() + suffix.size())
    return std::nullopt;
  const std::string_view digits =
      name.substr(prefix.size(), name.size() - prefix.size() - suffix.size());
  uint64_t v = 0;
  auto [p, ec] =
      std::from_chars(digits.data(), digits.data() + digits.size(), v);
  if (ec != std::errc() || p != digits.data() + digits.size())
    return std::nullopt;
  return v;
}

void EnableJournals(const IndexState& s) {
  if (s.column_keys) TranslatorAccess::EnableJournal(*s.column_keys);
  for (const auto& [name, f] : s.fields) {
    if (f->row_keys) TranslatorAccess::EnableJournal(*f->row_keys);
  }
}

int LoadThreads() {
  return int(std::max(1u, std::min(8u, std::thread::hardware_concurrency())));
}

}  // namespace

DurableStore::~DurableStore() = default;

absl::Status DurableStore::CheckNoOrphans(
    const std::string& dir, const std::vector<std::string>& names) {
  // Without a manifest nothing says what the files hold, so none of them is
  // provably garbage (only *.tmp files are: a rename never happened).
  for (const std::string& n : names) {
    if (FileNumber(n, "wal-", ".log") || FileNumber(n, "data-", ".fbd")) {
      return absl::DataLossError(
          fmt::format("open \"{}\": {} is missing but {} exists (refusing "
                      "to create an index over it or delete it)",
                      dir, kCheckpointName, n));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<DurableStore::Opened> DurableStore::Open(
    const OpenOptions& options, std::string dir, Env* env) {
  auto ctx = [&](const absl::Status& s) {
    return Annotate(s, fmt::format("open \"{}\"", dir));
  };
  if (dir.empty()) return absl::InvalidArgumentError("open: empty directory");
  const bool read_only = options.read_only;
  if (read_only) {
    if (!env->FileExists(dir)) {
      return absl::NotFoundError(
          fmt::format("open \"{}\": no index in the directory", dir));
    }
  } else if (auto s = env->MakeDirs(dir); !s.ok()) {
    return ctx(s);
  }
  auto lock = env->LockFile(dir + "/LOCK", read_only);
  if (!lock.ok()) return ctx(lock.status());
  auto names = env->ListDir(dir);
  if (!names.ok()) return ctx(names.status());
  std::vector<uint64_t> wals;
  for (const std::string& n : *names) {
    if (auto w = FileNumber(n, "wal-", ".log")) wals.push_back(*w);
  }
  std::sort(wals.begin(), wals.end());

  std::unique_ptr<DurableStore> store(
      new DurableStore(env, dir, options.durability, std::move(*lock)));
  Opened out;
  const std::string manifest = dir + "/" + std::string(kCheckpointName);
  if (!env->FileExists(manifest)) {
    if (auto s = CheckNoOrphans(dir, *names); !s.ok()) return s;
    if (!options.create_if_missing || read_only) {
      return absl::NotFoundError(
          fmt::format("open \"{}\": no index in the directory", dir));
    }
    if (auto s = ValidateName("index", options.name); !s.ok()) return ctx(s);
    auto partitioner = HashPartitioner::Create(options.index.partitions);
    if (!partitioner.ok()) return ctx(partitioner.status());
    auto s = std::make_shared<IndexState>();
    s->name = options.name;
    s->options = options.index;
    if (options.index.keys)
      s->column_keys = KeyTranslator::NewColumnTranslator(*partitioner);
    if (auto st = internal::WriteCheckpoint(env, dir, s, 1, &store->catalog_);
        !st.ok())
      return ctx(st);
    out.state = std::move(s);
    out.last_owner = 1;
  } else {
    auto catalog = LoadCheckpoint(env, dir, 1, LoadThreads());
    if (!catalog.ok()) return ctx(catalog.status());
    store->catalog_ = std::move(*catalog);
    const auto& loaded = store->catalog_.state;
    if (!options.name.empty() && options.name != loaded->name) {
      return absl::FailedPreconditionError(
          fmt::format("open \"{}\": the directory holds index \"{}\", not "
                      "\"{}\"",
                      dir, loaded->name, options.name));
    }
    // Replay the log files the checkpoint does not cover, in order. Each
    // file names the version it continues from: the first one at most the
    // checkpoint's, every later one exactly where the one before it ends,
    // so a lost file or a lost tail of an older file is a gap.
    Txn txn(*loaded, 2);
    uint64_t version = loaded->version;
    const uint64_t start = store->catalog_.wal_start;
    std::vector<uint64_t> replay;
    for (uint64_t w : wals) {
      if (w >= start) replay.push_back(w);
    }
    std::string prev_name;
    uint64_t prev_end = 0;
    for (size_t i = 0; i < replay.size(); ++i) {
      const std::string name = WalFileName(replay[i]);
      const std::string path = dir + "/" + name;
      auto file = env->MapFile(path);
      if (!file.ok()) return ctx(file.status());
      std::vector<WalRecord> records;
      uint64_t valid_end = 0;
      uint64_t file_start = 0;
      const bool newest = i + 1 == replay.size();
      if (auto s = ReadWal((*file)->bytes(), name, replay[i], newest, &records,
                           &valid_end, &file_start);
          !s.ok())
        return ctx(s);
      const bool header_torn = newest && valid_end < kWalFileHeaderBytes;
      if (!header_torn) {
        if (i == 0 && file_start > version) {
          return ctx(absl::DataLossError(fmt::format(
              "{}: log starts after commit {} but the checkpoint holds only "
              "commit {} (a log file is missing)",
              name, file_start, version)));
        }
        if (i > 0 && file_start != prev_end) {
          return ctx(absl::DataLossError(fmt::format(
              "{}: log file starts after commit {} but {} ends at commit {} "
              "(log records or files are missing)",
              name, file_start, prev_name, prev_end)));
        }
      }
      uint64_t expected = file_start;
      for (const WalRecord& rec : records) {
        const uint64_t body_at = rec.offset + kWalRecordHeaderBytes;
        auto v = CommitVersion(rec.payload, name, body_at);
        if (!v.ok()) return ctx(v.status());
        if (*v != expected + 1) {
          return ctx(absl::DataLossError(
              fmt::format("{}: commit {} follows commit {} at offset {}", name,
                          *v, expected, rec.offset)));
        }
        expected = *v;
        if (*v <= version) continue;  // covered by the checkpoint
        if (auto s = ApplyCommit(txn, rec.payload, name, body_at); !s.ok())
          return ctx(s);
        version = *v;
      }
      prev_name = name;
      prev_end = expected;
      // Cut a torn tail off so that the file reads intact once it is no
      // longer the newest; a file torn inside its header goes entirely. A
      // read-only open leaves the file alone: it ignores the tail in memory.
      if (read_only) continue;
      if (header_torn) {
        file->reset();
        if (auto s = env->RemoveFile(path); !s.ok()) return ctx(s);
        if (auto s = env->SyncDir(dir); !s.ok()) return ctx(s);
        wals.erase(std::find(wals.begin(), wals.end(), replay[i]));
      } else if (newest && valid_end < (*file)->bytes().size()) {
        file->reset();
        if (auto s = env->TruncateFile(path, valid_end); !s.ok()) return ctx(s);
      }
    }
    out.state = txn.FinishAt(version);
    out.last_owner = 2;
    // Provable leftovers of an interrupted checkpoint: log files the
    // manifest covers, data files older than it that it does not name, and
    // temporary files. A data file newer than the manifest is left alone.
    for (const std::string& n : *names) {
      if (read_only) break;
      const auto w = FileNumber(n, "wal-", ".log");
      const auto d = FileNumber(n, "data-", ".fbd");
      if ((w && *w < start) ||
          (d && *d < store->catalog_.number &&
           !store->catalog_.files.count(*d)) ||
          n.ends_with(".tmp")) {
        if (auto s = env->RemoveFile(dir + "/" + n); !s.ok()) return ctx(s);
      }
    }
  }
  // New commits go to a fresh log file after every existing one, created
  // by the first of them.
  store->wal_number_ =
      std::max(store->catalog_.wal_start, wals.empty() ? 0 : wals.back() + 1);
  store->wal_start_ = store->catalog_.wal_start;
  if (read_only) {
    store->failed_ = absl::FailedPreconditionError(fmt::format(
        "index \"{}\" is open read-only (\"{}\")", out.state->name, dir));
  } else if (options.durability != Durability::kCheckpoint) {
    // kCheckpoint logs nothing, so nothing may pile up in the journals.
    EnableJournals(*out.state);
  }
  out.store = std::move(store);
  return out;
}

absl::Status DurableStore::Fail(absl::Status s) {
  std::lock_guard<std::mutex> l(sync_mu_);
  if (failed_.ok()) failed_ = s;
  return s;
}

absl::Status DurableStore::health() const {
  std::lock_guard<std::mutex> l(sync_mu_);
  return failed_;
}

absl::StatusOr<uint64_t> DurableStore::Log(const IndexState& base,
                                           const IndexState& next) {
  FB_RETURN_IF_ERROR(health());
  KeyJournals keys;
  if (next.column_keys)
    keys.columns = TranslatorAccess::TakeJournal(*next.column_keys);
  for (const auto& [name, f] : next.fields) {
    if (!f->row_keys) continue;
    const FieldState* old = base.FindField(name);
    if (old == nullptr) TranslatorAccess::EnableJournal(*f->row_keys);
    std::string frames = TranslatorAccess::TakeJournal(*f->row_keys);
    if (!frames.empty()) keys.rows.emplace_back(name, std::move(frames));
  }
  std::string body;
  if (auto s = EncodeCommit(base, next, keys, &body); !s.ok()) {
    // Nothing was written: keep the key frames for the next commit.
    if (next.column_keys)
      TranslatorAccess::RestoreJournal(*next.column_keys, keys.columns);
    for (auto& [name, frames] : keys.rows) {
      TranslatorAccess::RestoreJournal(*next.FindField(name)->row_keys,
                                       std::move(frames));
    }
    return s;
  }
  record_.clear();
  AppendWalRecord(&record_, body);
  if (!wal_) {
    auto wal = WalWriter::Create(env_, dir_, wal_number_, base.version);
    if (!wal.ok()) return Fail(Annotate(wal.status(), "log commit"));
    std::lock_guard<std::mutex> l(sync_mu_);
    wal_ = std::move(*wal);
  }
  if (auto s = wal_->Append(record_); !s.ok()) {
    return Fail(Annotate(s, "log commit"));
  }
  std::lock_guard<std::mutex> l(sync_mu_);
  return ++appended_;
}

absl::Status DurableStore::SyncTo(uint64_t lsn) {
  std::unique_lock<std::mutex> l(sync_mu_);
  while (synced_ < lsn && failed_.ok()) {
    if (syncing_) {
      synced_cv_.wait(l);
      continue;
    }
    syncing_ = true;
    const uint64_t target = appended_;
    std::vector<std::shared_ptr<WalWriter>> files = std::move(unsynced_);
    unsynced_.clear();
    if (wal_) files.push_back(wal_);
    l.unlock();
    absl::Status s;
    for (const auto& f : files) {
      s = f->Sync();
      if (!s.ok()) break;
    }
    l.lock();
    syncing_ = false;
    if (!s.ok()) {
      if (failed_.ok()) failed_ = Annotate(s, "sync log");
    } else {
      synced_ = std::max(synced_, target);
    }
    synced_cv_.notify_all();
  }
  return failed_;
}

absl::Status DurableStore::SyncAll() {
  uint64_t lsn;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    lsn = appended_;
  }
  return SyncTo(lsn);
}

uint64_t DurableStore::log_bytes() const {
  std::lock_guard<std::mutex> l(sync_mu_);
  return wal_ ? wal_->size() : 0;
}

void DurableStore::RotateLog() {
  std::lock_guard<std::mutex> l(sync_mu_);
  if (wal_) {
    if (synced_ < appended_) unsynced_.push_back(wal_);
    wal_number_ = wal_->number() + 1;
    wal_.reset();
  }
  wal_start_ = wal_number_;
}

absl::Status DurableStore::WriteCheckpoint(
    std::shared_ptr<const IndexState> state) {
  // The checkpoint covers the rotated files, but until its manifest is
  // durable recovery may still need them, and a later sync must never make
  // newer records durable without them.
  FB_RETURN_IF_ERROR(SyncAll());
  uint64_t start;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    start = wal_start_;
  }
  FB_RETURN_IF_ERROR(Annotate(
      internal::WriteCheckpoint(env_, dir_, std::move(state), start, &catalog_),
      fmt::format("checkpoint \"{}\"", dir_)));
  auto names = env_->ListDir(dir_);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    const auto w = FileNumber(n, "wal-", ".log");
    if (w && *w < start) FB_RETURN_IF_ERROR(env_->RemoveFile(dir_ + "/" + n));
  }
  return absl::OkStatus();
}

}  // namespace featurebase::internal
