#include "featurebase/translate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>
#include <mutex>
#include <shared_mutex>
#include <utility>

#include "absl/synchronization/mutex.h"
#include "lib/keys/key_store.h"
#include "lib/keys/translator_access.h"
#include "lib/util/checksum.h"
#include "lib/util/endian.h"
#include "lib/util/status_macros.h"
#include "lib/util/utf8.h"

namespace featurebase {
namespace internal {
namespace {

// Frame header shared by the snapshot and log frames (docs/format.md):
// magic, version, flags, body length, XXH3-64 of the body.
constexpr uint32_t kSnapshotMagic = 0x534B4246;  // "FBKS"
constexpr uint32_t kLogMagic = 0x4C4B4246;       // "FBKL"
constexpr uint16_t kVersion = 1;
constexpr size_t kHeaderBytes = 24;
constexpr uint8_t kLogCreate = 1;
constexpr uint8_t kLogDelete = 2;

void PutHeader(std::string* out, size_t at, uint32_t magic) {
  const size_t body_len = out->size() - at - kHeaderBytes;
  std::string header;
  PutFixed<uint32_t>(&header, magic);
  PutFixed<uint16_t>(&header, kVersion);
  PutFixed<uint16_t>(&header, 0);
  PutFixed<uint64_t>(&header, body_len);
  PutFixed<uint64_t>(&header, Checksum64(std::string_view(*out).substr(
                                  at + kHeaderBytes, body_len)));
  out->replace(at, kHeaderBytes, header);
}

// Checks the frame at bytes[pos...] and returns its body.
absl::Status ReadFrame(std::string_view bytes, size_t pos, uint32_t magic,
                       std::string_view what, std::string_view* body) {
  const size_t have = bytes.size() - pos;
  if (have < kHeaderBytes) {
    return absl::DataLossError(
        fmt::format("{}: truncated header at offset {} (need {}, have {})",
                    what, pos, kHeaderBytes, have));
  }
  const char* p = bytes.data() + pos;
  if (LoadFixed<uint32_t>(p) != magic) {
    return absl::DataLossError(
        fmt::format("{}: bad magic {:#010x} at offset {}", what,
                    LoadFixed<uint32_t>(p), pos));
  }
  if (LoadFixed<uint16_t>(p + 4) != kVersion) {
    return absl::DataLossError(
        fmt::format("{}: unsupported version {} at offset {}", what,
                    LoadFixed<uint16_t>(p + 4), pos + 4));
  }
  if (LoadFixed<uint16_t>(p + 6) != 0) {
    return absl::DataLossError(fmt::format("{}: bad flags {} at offset {}",
                                           what, LoadFixed<uint16_t>(p + 6),
                                           pos + 6));
  }
  const uint64_t len = LoadFixed<uint64_t>(p + 8);
  if (len > have - kHeaderBytes) {
    return absl::DataLossError(
        fmt::format("{}: truncated body at offset {} (need {}, have {})", what,
                    pos + kHeaderBytes, len, have - kHeaderBytes));
  }
  *body = bytes.substr(pos + kHeaderBytes, len);
  if (Checksum64(*body) != LoadFixed<uint64_t>(p + 16)) {
    return absl::DataLossError(
        fmt::format("{}: checksum mismatch at offset {}", what, pos + 16));
  }
  return absl::OkStatus();
}

absl::Status ValidateKeys(std::span<const std::string_view> keys,
                          size_t ids_size, std::string_view op) {
  if (ids_size != keys.size()) {
    return absl::InvalidArgumentError(
        fmt::format("{}: {} ids for {} keys", op, ids_size, keys.size()));
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    if (keys[i].size() > kMaxKeyBytes) {
      return absl::InvalidArgumentError(
          fmt::format("{}: key of {} bytes over the {}-byte limit at position "
                      "{}",
                      op, keys[i].size(), kMaxKeyBytes, i));
    }
    if (const std::optional<size_t> at = FirstInvalidUtf8(keys[i])) {
      return absl::InvalidArgumentError(
          fmt::format("{}: key at position {} is not valid UTF-8 (byte {} of "
                      "{})",
                      op, i, *at + 1, keys[i].size()));
    }
  }
  return absl::OkStatus();
}

// One log frame being built: entries are appended to body, the header is
// written by Finish.
class LogFrame {
 public:
  LogFrame(std::string* out, uint64_t first_sequence) : out_(out) {
    if (out_ == nullptr) return;
    start_ = out_->size();
    out_->append(kHeaderBytes, '\0');
    PutFixed<uint64_t>(out_, first_sequence);
    count_at_ = out_->size();
    PutFixed<uint32_t>(out_, 0);
  }
  void Create(uint64_t id, std::string_view key) {
    ++count_;
    if (out_ == nullptr) return;
    out_->push_back(char(kLogCreate));
    PutFixed<uint64_t>(out_, id);
    PutFixed<uint32_t>(out_, uint32_t(key.size()));
    out_->append(key);
  }
  void Delete(uint64_t id) {
    ++count_;
    if (out_ == nullptr) return;
    out_->push_back(char(kLogDelete));
    PutFixed<uint64_t>(out_, id);
  }
  uint32_t count() const { return count_; }
  // Writes the header, or removes the frame if it holds no entry.
  void Finish() {
    if (out_ == nullptr) return;
    if (count_ == 0) {
      out_->resize(start_);
      return;
    }
    std::memcpy(out_->data() + count_at_, &count_, 4);
    PutHeader(out_, start_, kLogMagic);
  }

 private:
  std::string* out_;
  size_t start_ = 0;
  size_t count_at_ = 0;
  uint32_t count_ = 0;
};

// A reader/writer lock: absl::Mutex (writer-preferring, so a stream of
// readers cannot starve the writer). Debian's abseil is built without
// ThreadSanitizer annotations, so TSan cannot see absl::Mutex's
// happens-before edges; TSan builds use std::shared_mutex (pthread, which
// TSan intercepts) with the same locking discipline, so that the race check
// means something.
class RwLock {
 public:
#if defined(__SANITIZE_THREAD__)
  void lock() { mu_.lock(); }
  void unlock() { mu_.unlock(); }
  void lock_shared() const { mu_.lock_shared(); }
  void unlock_shared() const { mu_.unlock_shared(); }

 private:
  mutable std::shared_mutex mu_;
#else
  void lock() { mu_.Lock(); }
  void unlock() { mu_.Unlock(); }
  void lock_shared() const { mu_.ReaderLock(); }
  void unlock_shared() const { mu_.ReaderUnlock(); }

 private:
  mutable absl::Mutex mu_;
#endif
};

using ReaderLock = std::shared_lock<const RwLock>;
using WriterLock = std::unique_lock<RwLock>;

}  // namespace

// The translator's state and its two locks. `write_mu_` serializes writers;
// `mu_` is held shared by readers and exclusively by the writer only while it
// changes the store (one chunk of at most kWriteChunk keys, or a table swap).
// The writer reads the store under `write_mu_` alone (no one else changes
// it), which is how it rebuilds a grown table without blocking readers.
class TranslatorState {
 public:
  explicit TranslatorState(std::unique_ptr<KeyStore> store, uint64_t sequence)
      : store_(std::move(store)), sequence_(sequence) {}

  // Makes room for `extra` more keys. Requires write_mu_.
  void Reserve(size_t extra) {
    if (!store_->NeedsGrowth(extra)) return;
    KeyTable grown = store_->GrownTable(extra);
    WriterLock lock(mu_);
    store_->SwapTable(std::move(grown));
  }

  // Where a mutation's log frames go: `log` when the caller passes one,
  // else the journal when it is on. Requires write_mu_.
  std::string* LogTarget(std::string* log) {
    return log != nullptr ? log : journal_on_ ? &journal_ : nullptr;
  }
  // Copies the frames a caller's `log` received since `start` into the
  // journal. Requires write_mu_.
  void Journal(std::string* log, size_t start) {
    if (log != nullptr && journal_on_)
      journal_.append(*log, start, log->size() - start);
  }

  RwLock write_mu_;  // only ever taken exclusively
  mutable RwLock mu_;
  // The storage layer's journal: every mutation's log frames since the last
  // TakeJournal (TranslatorAccess). Guarded by write_mu_.
  bool journal_on_ = false;
  std::string journal_;
  std::unique_ptr<KeyStore> store_;
  uint64_t sequence_;  // guarded by mu_ (written under both locks)
};

}  // namespace internal

using internal::KeyHash;
using internal::LoadFixed;
using internal::TranslatorState;

namespace internal {

void TranslatorAccess::EnableJournal(KeyTranslator& t) {
  WriterLock lock(t.state_->write_mu_);
  t.state_->journal_on_ = true;
}

std::string TranslatorAccess::TakeJournal(KeyTranslator& t) {
  WriterLock lock(t.state_->write_mu_);
  std::string out;
  out.swap(t.state_->journal_);
  return out;
}

void TranslatorAccess::RestoreJournal(KeyTranslator& t, std::string frames) {
  WriterLock lock(t.state_->write_mu_);
  frames += t.state_->journal_;
  t.state_->journal_ = std::move(frames);
}

}  // namespace internal

KeyTranslator::KeyTranslator(std::unique_ptr<TranslatorState> state)
    : state_(std::move(state)) {}
KeyTranslator::~KeyTranslator() = default;

std::unique_ptr<KeyTranslator> KeyTranslator::NewColumnTranslator(
    const HashPartitioner& partitioner) {
  return std::unique_ptr<KeyTranslator>(
      new KeyTranslator(std::make_unique<TranslatorState>(
          std::make_unique<internal::KeyStore>(partitioner), 0)));
}

std::unique_ptr<KeyTranslator> KeyTranslator::NewRowTranslator() {
  return NewColumnTranslator(HashPartitioner::Create(1).value());
}

Status KeyTranslator::CreateKeys(std::span<const std::string_view> keys,
                                 std::span<uint64_t> ids, std::string* log) {
  FB_RETURN_IF_ERROR(internal::ValidateKeys(keys, ids.size(), "create keys"));
  TranslatorState& st = *state_;
  internal::WriterLock write_lock(st.write_mu_);
  std::vector<uint64_t> hashes(std::min(keys.size(), kWriteChunk));
  for (size_t base = 0; base < keys.size(); base += kWriteChunk) {
    const size_t m = std::min(kWriteChunk, keys.size() - base);
    // Hashing needs no lock; the chunk's keys are then probed in order with
    // the home slot of a key a few positions ahead prefetched.
    for (size_t i = 0; i < m; ++i) hashes[i] = KeyHash(keys[base + i]);
    st.Reserve(m);
    const size_t log_start = log != nullptr ? log->size() : 0;
    internal::LogFrame frame(st.LogTarget(log), st.sequence_ + 1);
    absl::Status status;
    {
      internal::WriterLock lock(st.mu_);
      internal::KeyStore& store = *st.store_;
      constexpr size_t kAhead = 8;
      for (size_t i = 0; i < m; ++i) {
        if (i + kAhead < m) store.PrefetchHome(hashes[i + kAhead]);
        const std::string_view key = keys[base + i];
        if (key.empty()) {
          ids[base + i] = 0;
          continue;
        }
        bool created;
        const uint64_t id = store.FindOrCreate(key, hashes[i], &created);
        if (id == 0) {
          status = absl::ResourceExhaustedError(fmt::format(
              "create keys: partition {} has no id left for the key at "
              "position {}",
              st.store_->partitioner().PartitionOfHash(hashes[i]), base + i));
          break;
        }
        ids[base + i] = id;
        if (created) {
          frame.Create(id, key);
          ++st.sequence_;
        }
      }
    }
    frame.Finish();
    st.Journal(log, log_start);
    if (!status.ok()) return status;
  }
  return absl::OkStatus();
}

Status KeyTranslator::FindKeys(std::span<const std::string_view> keys,
                               std::span<uint64_t> ids) const {
  FB_RETURN_IF_ERROR(internal::ValidateKeys(keys, ids.size(), "find keys"));
  // The reader lock is taken per chunk so that a large lookup never holds
  // off the writer (and, behind it, other readers) for long.
  for (size_t base = 0; base < keys.size(); base += kWriteChunk) {
    const size_t m = std::min(kWriteChunk, keys.size() - base);
    internal::ReaderLock lock(state_->mu_);
    state_->store_->FindMany(keys.data() + base, m, ids.data() + base);
  }
  return absl::OkStatus();
}

Status KeyTranslator::TranslateIds(std::span<const uint64_t> ids,
                                   std::vector<std::string>* keys) const {
  keys->resize(ids.size());
  const internal::KeyStore& store = *state_->store_;
  for (size_t base = 0; base < ids.size(); base += kWriteChunk) {
    const size_t end = std::min(ids.size(), base + kWriteChunk);
    internal::ReaderLock lock(state_->mu_);  // per chunk, as in FindKeys
    for (size_t i = base; i < end; ++i) {
      std::string_view key;
      if (ids[i] == 0) {
        (*keys)[i].clear();
      } else if (store.KeyOf(ids[i], &key)) {
        (*keys)[i].assign(key);
      } else {
        return absl::NotFoundError(fmt::format(
            "translate ids: id {} has no key at position {}", ids[i], i));
      }
    }
  }
  return absl::OkStatus();
}

StatusOr<size_t> KeyTranslator::DeleteIds(std::span<const uint64_t> ids,
                                          std::string* log) {
  TranslatorState& st = *state_;
  internal::WriterLock write_lock(st.write_mu_);
  size_t deleted = 0;
  for (size_t base = 0; base < ids.size(); base += kWriteChunk) {
    const size_t m = std::min(kWriteChunk, ids.size() - base);
    const size_t log_start = log != nullptr ? log->size() : 0;
    internal::LogFrame frame(st.LogTarget(log), st.sequence_ + 1);
    {
      internal::WriterLock lock(st.mu_);
      for (size_t i = 0; i < m; ++i) {
        const uint64_t id = ids[base + i];
        if (id != 0 && st.store_->Delete(id)) {
          frame.Delete(id);
          ++st.sequence_;
          ++deleted;
        }
      }
    }
    frame.Finish();
    st.Journal(log, log_start);
  }
  return deleted;
}

StatusOr<uint64_t> KeyTranslator::CreateKey(std::string_view key,
                                            std::string* log) {
  uint64_t id = 0;
  FB_RETURN_IF_ERROR(CreateKeys({&key, 1}, {&id, 1}, log));
  return id;
}

StatusOr<uint64_t> KeyTranslator::FindKey(std::string_view key) const {
  uint64_t id = 0;
  FB_RETURN_IF_ERROR(FindKeys({&key, 1}, {&id, 1}));
  return id;
}

StatusOr<std::string> KeyTranslator::TranslateId(uint64_t id) const {
  std::vector<std::string> keys;
  FB_RETURN_IF_ERROR(TranslateIds({&id, 1}, &keys));
  return std::move(keys[0]);
}

void KeyTranslator::EncodeSnapshot(std::string* out) const {
  internal::ReaderLock lock(state_->mu_);
  const size_t at = out->size();
  out->append(internal::kHeaderBytes, '\0');
  state_->store_->EncodeBody(state_->sequence_, out);
  internal::PutHeader(out, at, internal::kSnapshotMagic);
}

StatusOr<std::unique_ptr<KeyTranslator>> KeyTranslator::DecodeSnapshot(
    std::string_view bytes) {
  std::string_view body;
  FB_RETURN_IF_ERROR(internal::ReadFrame(bytes, 0, internal::kSnapshotMagic,
                                         "decode key snapshot", &body));
  if (body.size() != bytes.size() - internal::kHeaderBytes) {
    return absl::DataLossError(fmt::format(
        "decode key snapshot: {} bytes after the frame at offset {}",
        bytes.size() - internal::kHeaderBytes - body.size(),
        internal::kHeaderBytes + body.size()));
  }
  uint64_t sequence = 0;
  FB_ASSIGN_OR_RETURN(auto store, internal::KeyStore::DecodeBody(
                                      body, internal::kHeaderBytes, &sequence));
  return std::unique_ptr<KeyTranslator>(new KeyTranslator(
      std::make_unique<TranslatorState>(std::move(store), sequence)));
}

Status KeyTranslator::ApplyLog(std::string_view bytes) {
  TranslatorState& st = *state_;
  internal::WriterLock write_lock(st.write_mu_);
  struct Entry {
    uint8_t type;
    uint64_t id;
    std::string_view key;
    size_t offset;
  };
  std::vector<Entry> entries;
  size_t pos = 0;
  while (pos < bytes.size()) {
    std::string_view body;
    FB_RETURN_IF_ERROR(internal::ReadFrame(bytes, pos, internal::kLogMagic,
                                           "apply key log", &body));
    const size_t body_at = pos + internal::kHeaderBytes;
    auto bad = [&](size_t at, std::string_view what) {
      return absl::DataLossError(
          fmt::format("apply key log: {} at offset {}", what, at));
    };
    if (body.size() < 12) return bad(body_at, "truncated frame body");
    const uint64_t first = LoadFixed<uint64_t>(body.data());
    const uint32_t count = LoadFixed<uint32_t>(body.data() + 8);
    entries.clear();
    size_t q = 12;
    for (uint32_t i = 0; i < count; ++i) {
      const size_t at = body_at + q;
      if (body.size() - q < 9) return bad(at, "truncated entry");
      Entry e{
          uint8_t(body[q]), LoadFixed<uint64_t>(body.data() + q + 1), {}, at};
      q += 9;
      if (e.id == 0) return bad(at + 1, "id 0");
      if (e.type == internal::kLogCreate) {
        if (body.size() - q < 4) return bad(body_at + q, "truncated entry");
        const uint32_t len = LoadFixed<uint32_t>(body.data() + q);
        q += 4;
        if (len == 0 || len > kMaxKeyBytes) {
          return bad(
              body_at + q - 4,
              fmt::format("key length {} outside [1, {}]", len, kMaxKeyBytes));
        }
        if (body.size() - q < len) return bad(body_at + q, "truncated key");
        e.key = body.substr(q, len);
        q += len;
      } else if (e.type != internal::kLogDelete) {
        return bad(at, fmt::format("unknown entry type {}", int(e.type)));
      }
      entries.push_back(e);
    }
    if (q != body.size()) {
      return bad(body_at + q,
                 fmt::format("{} bytes after the last entry", body.size() - q));
    }
    // Apply the entries the translator does not hold yet.
    if (first == 0 || first + count < first) {
      return bad(body_at, fmt::format("bad first sequence {}", first));
    }
    const uint64_t skip =
        st.sequence_ >= first
            ? std::min<uint64_t>(st.sequence_ - first + 1, count)
            : 0;
    if (skip == 0 && first != st.sequence_ + 1) {
      return bad(body_at, fmt::format("gap: frame starts at sequence {} but "
                                      "the translator is at {}",
                                      first, st.sequence_));
    }
    st.Reserve(count - skip);
    internal::WriterLock lock(st.mu_);
    for (uint64_t i = skip; i < count; ++i) {
      const Entry& e = entries[i];
      if (e.type == internal::kLogCreate) {
        bool created;
        const uint64_t id =
            st.store_->FindOrCreate(e.key, KeyHash(e.key), &created);
        if (!created || id != e.id) {
          return bad(e.offset,
                     fmt::format("create of id {} does not reproduce (got "
                                 "{}{})",
                                 e.id, id, created ? "" : ", key existed"));
        }
      } else if (!st.store_->Delete(e.id)) {
        return bad(e.offset,
                   fmt::format("delete of id {} which has no key", e.id));
      }
      ++st.sequence_;
    }
    pos = body_at + body.size();
  }
  return absl::OkStatus();
}

uint64_t KeyTranslator::size() const {
  internal::ReaderLock lock(state_->mu_);
  return state_->store_->size();
}

uint64_t KeyTranslator::sequence() const {
  internal::ReaderLock lock(state_->mu_);
  return state_->sequence_;
}

const HashPartitioner& KeyTranslator::partitioner() const {
  return state_->store_->partitioner();
}

size_t KeyTranslator::MemoryBytes() const {
  internal::ReaderLock lock(state_->mu_);
  return state_->store_->MemoryBytes();
}

size_t KeyTranslator::KeyBytes() const {
  internal::ReaderLock lock(state_->mu_);
  return state_->store_->key_bytes();
}

std::optional<size_t> FirstInvalidUtf8(std::string_view s) {
  return internal::FirstInvalidUtf8(s);
}

}  // namespace featurebase
