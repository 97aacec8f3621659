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

absl::StatusOr<DurableStore::Opened> DurableStore::Open(
    const OpenOptions& options, std::string dir) {
  auto ctx = [&](const absl::Status& s) {
    return Annotate(s, fmt::format("open \"{}\"", dir));
  };
  if (dir.empty()) return absl::InvalidArgumentError("open: empty directory");
  if (auto s = MakeDirs(dir); !s.ok()) return ctx(s);
  auto lock = FileLock::Acquire(dir + "/LOCK");
  if (!lock.ok()) return ctx(lock.status());
  auto names = ListDir(dir);
  if (!names.ok()) return ctx(names.status());
  std::vector<uint64_t> wals;
  for (const std::string& n : *names) {
    if (auto w = FileNumber(n, "wal-", ".log")) wals.push_back(*w);
  }
  std::sort(wals.begin(), wals.end());

  std::unique_ptr<DurableStore> store(
      new DurableStore(dir, options.durability, std::move(*lock)));
  Opened out;
  const std::string manifest = dir + "/" + std::string(kCheckpointName);
  if (!FileExists(manifest)) {
    if (!wals.empty()) {
      return absl::DataLossError(
          fmt::format("open \"{}\": {} is missing but log files exist", dir,
                      kCheckpointName));
    }
    if (!options.create_if_missing) {
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
    if (auto st = internal::WriteCheckpoint(dir, s, 1, &store->catalog_);
        !st.ok())
      return ctx(st);
    out.state = std::move(s);
    out.last_owner = 1;
  } else {
    auto catalog = LoadCheckpoint(dir, 1, LoadThreads());
    if (!catalog.ok()) return ctx(catalog.status());
    store->catalog_ = std::move(*catalog);
    const auto& loaded = store->catalog_.state;
    if (!options.name.empty() && options.name != loaded->name) {
      return absl::FailedPreconditionError(
          fmt::format("open \"{}\": the directory holds index \"{}\", not "
                      "\"{}\"",
                      dir, loaded->name, options.name));
    }
    // Replay the log files the checkpoint does not cover, in order.
    Txn txn(*loaded, 2);
    uint64_t version = loaded->version;
    const uint64_t start = store->catalog_.wal_start;
    std::vector<uint64_t> replay;
    for (uint64_t w : wals) {
      if (w >= start) replay.push_back(w);
    }
    for (size_t i = 0; i < replay.size(); ++i) {
      const std::string name = WalFileName(replay[i]);
      const std::string path = dir + "/" + name;
      auto file = MappedFile::Open(path);
      if (!file.ok()) return ctx(file.status());
      std::vector<WalRecord> records;
      uint64_t valid_end = 0;
      const bool newest = i + 1 == replay.size();
      if (auto s = ReadWal((*file)->bytes(), name, replay[i], newest, &records,
                           &valid_end);
          !s.ok())
        return ctx(s);
      for (const WalRecord& rec : records) {
        const uint64_t body_at = rec.offset + kWalRecordHeaderBytes;
        auto v = CommitVersion(rec.payload, name, body_at);
        if (!v.ok()) return ctx(v.status());
        if (*v <= version) continue;  // covered by the checkpoint
        if (*v != version + 1) {
          return ctx(absl::DataLossError(
              fmt::format("{}: commit {} follows commit {} at offset {}", name,
                          *v, version, rec.offset)));
        }
        if (auto s = ApplyCommit(txn, rec.payload, name, body_at); !s.ok())
          return ctx(s);
        version = *v;
      }
      // Cut a torn tail off so that the file reads intact once it is no
      // longer the newest; a file torn inside its header goes entirely.
      if (newest && valid_end < kWalFileHeaderBytes) {
        file->reset();
        if (auto s = RemoveFile(path); !s.ok()) return ctx(s);
        if (auto s = SyncDir(dir); !s.ok()) return ctx(s);
        wals.erase(std::find(wals.begin(), wals.end(), replay[i]));
      } else if (newest && valid_end < (*file)->bytes().size()) {
        file->reset();
        if (auto s = TruncateFile(path, valid_end); !s.ok()) return ctx(s);
      }
    }
    out.state = txn.FinishAt(version);
    out.last_owner = 2;
    // Left over from an interrupted checkpoint or older runs.
    for (const std::string& n : *names) {
      const auto w = FileNumber(n, "wal-", ".log");
      const auto d = FileNumber(n, "data-", ".fbd");
      if ((w && *w < start) || (d && !store->catalog_.files.count(*d)) ||
          n.ends_with(".tmp")) {
        if (auto s = RemoveFile(dir + "/" + n); !s.ok()) return ctx(s);
      }
    }
  }
  // New commits go to a fresh log file after every existing one.
  const uint64_t number =
      std::max(store->catalog_.wal_start, wals.empty() ? 0 : wals.back() + 1);
  auto wal = WalWriter::Create(dir, number);
  if (!wal.ok()) return ctx(wal.status());
  store->wal_ = std::move(*wal);
  store->wal_start_ = store->catalog_.wal_start;
  // kCheckpoint logs nothing, so nothing may pile up in the journals.
  if (options.durability != Durability::kCheckpoint) EnableJournals(*out.state);
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
    files.push_back(wal_);
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
  return wal_->size();
}

absl::StatusOr<std::shared_ptr<WalWriter>> DurableStore::PrepareLog() {
  uint64_t number;
  {
    std::lock_guard<std::mutex> l(sync_mu_);
    number = wal_->number() + 1;
  }
  auto wal = WalWriter::Create(dir_, number);
  if (!wal.ok()) return Annotate(wal.status(), "checkpoint");
  return std::shared_ptr<WalWriter>(std::move(*wal));
}

void DurableStore::RotateLog(std::shared_ptr<WalWriter> next) {
  std::lock_guard<std::mutex> l(sync_mu_);
  if (synced_ < appended_) unsynced_.push_back(wal_);
  wal_start_ = next->number();
  wal_ = std::move(next);
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
      internal::WriteCheckpoint(dir_, std::move(state), start, &catalog_),
      fmt::format("checkpoint \"{}\"", dir_)));
  auto names = ListDir(dir_);
  if (!names.ok()) return names.status();
  for (const std::string& n : *names) {
    const auto w = FileNumber(n, "wal-", ".log");
    if (w && *w < start) FB_RETURN_IF_ERROR(RemoveFile(dir_ + "/" + n));
  }
  return absl::OkStatus();
}

}  // namespace featurebase::internal
