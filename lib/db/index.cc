// The engine: IndexImpl serializes commits, publishes versions and owns the
// durable store; Index is its public facade and IndexWriter the in-library
// writers' access to it.
#include "featurebase/index.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/base/thread_annotations.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/bsi/value_merge.h"
#include "lib/core/index_state.h"
#include "lib/core/remove_records.h"
#include "lib/core/time_views.h"
#include "lib/core/write_views.h"
#include "lib/db/change_feed.h"
#include "lib/db/index_access.h"
#include "lib/storage/store.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase {
namespace internal {

class IndexImpl {
 public:
  IndexImpl(std::string name, IndexOptions options,
            HashPartitioner partitioner) {
    auto s = std::make_shared<IndexState>();
    s->name = std::move(name);
    s->options = options;
    if (options.keys)
      s->column_keys = KeyTranslator::NewColumnTranslator(partitioner);
    state_ = std::move(s);
    latest_ = state_;
    name_ = state_->name;
    options_ = state_->options;
  }

  // A durable index over a recovered version.
  IndexImpl(DurableStore::Opened opened, const OpenOptions& options)
      : last_owner_(opened.last_owner),
        state_(std::move(opened.state)),
        store_(std::move(opened.store)),
        checkpoint_log_bytes_(options.checkpoint_log_bytes),
        checkpoint_on_close_(options.checkpoint_on_close) {
    latest_ = state_;
    name_ = state_->name;
    options_ = state_->options;
    // kCheckpoint writes no log, so no log size triggers a checkpoint.
    if (checkpoint_log_bytes_ > 0 && !unlogged_mode())
      checkpointer_ = std::thread([this] { CheckpointLoop(); });
  }

  ~IndexImpl() {
    feed_->Shutdown();
    if (!store_) return;
    {
      std::lock_guard<std::mutex> l(checkpoint_mu_);
      stop_ = true;
    }
    checkpoint_cv_.notify_all();
    if (checkpointer_.joinable()) checkpointer_.join();
    // An orderly close leaves a checkpoint, so that the next open has no
    // log to replay (and kNone commits survive power loss too). Errors
    // cannot be reported from here; the log still holds everything.
    // kCheckpoint commits exist nowhere else, whatever checkpoint_on_close.
    if (unlogged_mode()) {
      if (store_->health().ok()) (void)CheckpointIfUnlogged();
    } else if (checkpoint_on_close_ &&
               store_->log_bytes() > kWalFileHeaderBytes &&
               store_->health().ok()) {
      (void)Checkpoint();
    } else {
      (void)store_->SyncAll();
    }
  }

  bool durable() const { return store_ != nullptr; }
  // From the first version: every version has the same name and options,
  // and references into a version would dangle once it is replaced.
  const std::string& name() const { return name_; }
  const IndexOptions& options() const { return options_; }

  absl::Status Sync() {
    if (!store_) return absl::OkStatus();
    if (unlogged_mode()) return CheckpointIfUnlogged();
    return store_->SyncAll();
  }

  // Durability::kCheckpoint: commits are only in memory until a checkpoint.
  bool unlogged_mode() const {
    return store_ != nullptr && store_->durability() == Durability::kCheckpoint;
  }

  absl::Status CheckpointIfUnlogged() {
    {
      std::lock_guard<std::mutex> writer(write_mu_);
      if (!unlogged_) return absl::OkStatus();
    }
    return Checkpoint();
  }

  // Writes a checkpoint of the newest version. One at a time; writers wait
  // only for the log switch.
  absl::Status Checkpoint() {
    if (!store_) return absl::OkStatus();
    std::lock_guard<std::mutex> one(checkpoint_run_mu_);
    FB_RETURN_IF_ERROR(store_->PrepareLog());
    std::shared_ptr<const IndexState> s;
    bool had_unlogged;
    {
      std::lock_guard<std::mutex> writer(write_mu_);
      FB_RETURN_IF_ERROR(store_->health());
      store_->RotateLog();
      s = latest_;
      had_unlogged = std::exchange(unlogged_, false);
    }
    absl::Status st = store_->WriteCheckpoint(std::move(s));
    if (!st.ok() && had_unlogged) {
      // Those commits are still only in memory: the next Sync or close
      // must try again.
      std::lock_guard<std::mutex> writer(write_mu_);
      unlogged_ = true;
    }
    return st;
  }

  // Commits the key translators' pending changes (keys created or freed
  // outside a commit) so that they are durable now.
  absl::Status FlushKeys() {
    if (!store_) return absl::OkStatus();
    return Write<bool>([](Txn&) -> absl::StatusOr<bool> { return true; })
        .status();
  }

  std::shared_ptr<const IndexState> Current() const {
    std::lock_guard<std::mutex> lock(state_mu_);
    return state_;
  }

  static std::shared_ptr<const Snapshot> MakeSnapshot(
      std::shared_ptr<const IndexState> s) {
    return std::shared_ptr<const Snapshot>(new Snapshot(std::move(s)));
  }

  // Runs `f` on a transaction over the current version; publishes the
  // result if `f` succeeds, discards everything if it fails.
  //
  // Durable indexes log the commit before publishing it: kSync syncs under
  // the writer lock; kGroup releases the writer lock first so that commits
  // of other threads join the same fdatasync (writers build on latest_,
  // readers see a version only once it is durable); kNone publishes at once.
  template <typename R, typename F>
  absl::StatusOr<R> Write(F&& f) {
    std::unique_lock<std::mutex> writer(write_mu_);
    if (store_) FB_RETURN_IF_ERROR(store_->health());
    Txn txn(*latest_, ++last_owner_);
    absl::StatusOr<R> result = f(txn);
    if (!result.ok()) return result;
    std::shared_ptr<const IndexState> next = txn.Finish();
    if (!store_) {
      Advance(next);
      Publish(std::move(next));
      return result;
    }
    if (store_->durability() == Durability::kCheckpoint) {
      // Not logged: durable at the next checkpoint.
      unlogged_ = true;
      Advance(next);
      Publish(std::move(next));
      return result;
    }
    FB_ASSIGN_OR_RETURN(const uint64_t lsn, store_->Log(*latest_, *next));
    Advance(next);
    switch (store_->durability()) {
      case Durability::kSync:
        FB_RETURN_IF_ERROR(store_->SyncTo(lsn));
        break;
      case Durability::kGroup:
        writer.unlock();
        FB_RETURN_IF_ERROR(store_->SyncTo(lsn));
        break;
      case Durability::kNone:
      case Durability::kCheckpoint:
        break;
    }
    Publish(std::move(next));
    if (checkpoint_log_bytes_ > 0 &&
        store_->log_bytes() >= checkpoint_log_bytes_) {
      checkpoint_cv_.notify_one();
    }
    return result;
  }

  // Makes `next` the version writers build on; the change feed gets the
  // commit here, in version order, while it is not yet published.
  void Advance(const std::shared_ptr<const IndexState>& next)
      ABSL_EXCLUSIVE_LOCKS_REQUIRED(write_mu_) {
    if (feed_->active()) feed_->Enqueue(latest_, next);
    latest_ = next;
  }

  // Makes `next` the readers' version unless a newer one is (group commits
  // finish out of order).
  void Publish(std::shared_ptr<const IndexState> next) {
    uint64_t version;
    {
      std::lock_guard<std::mutex> lock(state_mu_);
      if (next->version > state_->version) state_ = std::move(next);
      version = state_->version;
    }
    if (feed_->active()) feed_->Published(version);
  }

  absl::StatusOr<std::unique_ptr<Subscription>> Subscribe(
      ChangeListener listener, const SubscribeOptions& options) {
    std::lock_guard<std::mutex> writer(write_mu_);
    return feed_->Subscribe(std::move(listener), options, latest_->version,
                            Current()->version);
  }

  void CheckpointLoop() {
    std::unique_lock<std::mutex> l(checkpoint_mu_);
    while (!stop_) {
      checkpoint_cv_.wait(l);
      if (stop_) break;
      if (store_->log_bytes() < checkpoint_log_bytes_) continue;
      l.unlock();
      // A failed background checkpoint leaves the log in place; the next
      // trigger retries, and an explicit Checkpoint() reports the error.
      (void)Checkpoint();
      l.lock();
    }
  }

  absl::Status CreateField(std::string_view name, const FieldOptions& options) {
    FB_ASSIGN_OR_RETURN(std::shared_ptr<FieldState> fresh,
                        NewFieldState(name, options, 0));
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
             if (txn.state().FindField(name) != nullptr) {
               return absl::AlreadyExistsError(fmt::format(
                   "create field \"{}\": field already exists", name));
             }
             fresh->owner = txn.owner();
             txn.mutable_state()->fields.emplace(std::string(name), fresh);
             return true;
           })
        .status();
  }

  absl::Status CreateFields(std::span<const FieldInfo> fields) {
    std::vector<std::shared_ptr<FieldState>> fresh;
    fresh.reserve(fields.size());
    for (const FieldInfo& f : fields) {
      FB_ASSIGN_OR_RETURN(std::shared_ptr<FieldState> st,
                          NewFieldState(f.name, f.options, 0));
      fresh.push_back(std::move(st));
    }
    std::vector<std::string_view> names;
    names.reserve(fields.size());
    for (const FieldInfo& f : fields) names.push_back(f.name);
    std::sort(names.begin(), names.end());
    if (auto dup = std::adjacent_find(names.begin(), names.end());
        dup != names.end()) {
      return absl::InvalidArgumentError(
          fmt::format("create fields: field \"{}\" is given twice", *dup));
    }
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
             for (const FieldInfo& f : fields) {
               if (txn.state().FindField(f.name) != nullptr) {
                 return absl::AlreadyExistsError(fmt::format(
                     "create field \"{}\": field already exists", f.name));
               }
             }
             auto& map = txn.mutable_state()->fields;
             for (size_t i = 0; i < fields.size(); ++i) {
               fresh[i]->owner = txn.owner();
               map.emplace(fields[i].name, fresh[i]);
             }
             return true;
           })
        .status();
  }

  absl::StatusOr<bool> Aggregate(uint64_t col, std::string_view field,
                                 Merge merge, const Value& v) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
      const FieldState* f = txn.state().FindField(field);
      if (f == nullptr) return FieldNotFound("aggregate", field);
      FB_RETURN_IF_ERROR(
          CheckMerge("aggregate", merge, f->options.type, field));
      if (v.is_null()) {
        return absl::InvalidArgumentError(
            fmt::format("aggregate: null value for field \"{}\"", field));
      }
      return SetValue(txn, *f, col, v, std::nullopt, merge);
    });
  }

  absl::StatusOr<bool> Set(uint64_t col, std::string_view field, const Value& v,
                           std::optional<absl::Time> ts) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
      const FieldState* f = txn.state().FindField(field);
      if (f == nullptr) return FieldNotFound("set", field);
      if (v.is_null()) {
        return absl::InvalidArgumentError(
            fmt::format("set: null value for field \"{}\"", field));
      }
      if (f->bsi) return SetValue(txn, *f, col, v, ts, Merge::kLast);
      FB_ASSIGN_OR_RETURN(const std::optional<uint64_t> resolved,
                          ResolveRow(*f, v, "set", /*create=*/true));
      const uint64_t row = *resolved;
      std::optional<absl::CivilSecond> when;
      if (f->options.type == FieldType::kTime) {
        if (ts) {
          auto civil = ToCivil(*ts);
          if (!civil.ok())
            return Annotate(civil.status(),
                            fmt::format("set: field \"{}\"", field));
          when = *civil;
        } else if (!f->has_standard_view()) {
          return absl::InvalidArgumentError(
              fmt::format("set: time field \"{}\" has no standard view and "
                          "needs a timestamp",
                          field));
        }
      } else if (ts) {
        return absl::InvalidArgumentError(fmt::format(
            "set: field \"{}\" is not a time-field: no timestamp allowed",
            field));
      }
      const WriteViews views = ViewsOfWrite(*f, when);
      FieldState* mf = txn.MutableField(field);
      const uint64_t shard = ShardOf(col);
      const uint32_t off = OffsetInShard(col);
      const OwnerToken owner = txn.owner();
      bool changed = false;
      if (views.standard) {
        changed |=
            txn.MutableFragment(mf, kStandardView, shard)->Add(owner, row, off);
      }
      for (uint64_t tv : views.time) {
        changed |= txn.MutableFragment(mf, tv, shard)->Add(owner, row, off);
      }
      if (views.existence) {
        txn.MutableFragment(mf, kExistenceView, shard)->Add(owner, 0, off);
      }
      if (txn.state().options.track_existence)
        txn.MutableExists(shard)->Add(owner, 0, off);
      return changed;
    });
  }

  absl::StatusOr<bool> Clear(uint64_t col, std::string_view field,
                             const Value& v) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
      const FieldState* f = txn.state().FindField(field);
      if (f == nullptr) return FieldNotFound("clear", field);
      if (f->bsi) return ClearValue(txn, *f, col);
      FB_ASSIGN_OR_RETURN(const std::optional<uint64_t> resolved,
                          ResolveRow(*f, v, "clear"));
      if (!resolved) return false;
      const uint64_t row = *resolved;
      const uint64_t shard = ShardOf(col);
      const uint32_t off = OffsetInShard(col);
      // Views holding the bit, found on the unchanged base before copying.
      std::vector<uint64_t> views;
      f->views.ForEach([&](uint64_t vk, const View& view) {
        if (vk == kExistenceView) return true;
        const Fragment* frag = view.Find(shard);
        if (frag != nullptr && frag->Contains(row, off)) views.push_back(vk);
        return true;
      });
      if (views.empty()) return false;
      FieldState* mf = txn.MutableField(field);
      for (uint64_t vk : views)
        txn.MutableFragment(mf, vk, shard)->Remove(txn.owner(), row, off);
      if (ClearRemovesExistence(*mf)) {
        txn.MutableFragment(mf, kExistenceView, shard)
            ->Remove(txn.owner(), 0, off);
      }
      return true;
    });
  }

  absl::StatusOr<bool> ClearRow(std::string_view field, const Value& v) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
      const FieldState* f = txn.state().FindField(field);
      if (f == nullptr) return FieldNotFound("clear row", field);
      if (f->bsi) {
        return absl::InvalidArgumentError(
            fmt::format("clear row: field \"{}\" is a {} field", field,
                        FieldTypeName(f->options.type)));
      }
      FB_ASSIGN_OR_RETURN(const std::optional<uint64_t> resolved,
                          ResolveRow(*f, v, "clear row"));
      if (!resolved) return false;
      const uint64_t row = *resolved;
      std::vector<std::pair<uint64_t, uint64_t>> hits;  // (view, shard)
      f->views.ForEach([&](uint64_t vk, const View& view) {
        if (vk == kExistenceView) return true;
        view.ForEach([&](uint64_t shard, const Fragment& frag) {
          if (frag.Row(row) != nullptr) hits.emplace_back(vk, shard);
          return true;
        });
        return true;
      });
      if (hits.empty()) return false;
      FieldState* mf = txn.MutableField(field);
      for (auto [vk, shard] : hits)
        txn.MutableFragment(mf, vk, shard)->RemoveRow(txn.owner(), row);
      return true;
    });
  }

  absl::Status Store(std::string_view field, const Value& v,
                     const Bitmap& columns) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
             const FieldState* f = txn.state().FindField(field);
             if (f == nullptr) return FieldNotFound("store", field);
             if (f->options.type != FieldType::kSet) {
               return absl::InvalidArgumentError(
                   fmt::format("store: can't Store() on a {} field (\"{}\")",
                               FieldTypeName(f->options.type), field));
             }
             FB_ASSIGN_OR_RETURN(const std::optional<uint64_t> resolved,
                                 ResolveRow(*f, v, "store", /*create=*/true));
             const uint64_t row = *resolved;
             std::vector<uint64_t> shards;
             if (const View* view = f->views.Find(kStandardView)) {
               view->ForEach([&](uint64_t shard, const Fragment& frag) {
                 if (frag.Row(row) != nullptr) shards.push_back(shard);
                 return true;
               });
             }
             for (const auto& c : BitmapAccess::Chunks(columns))
               shards.push_back(c.key);
             std::sort(shards.begin(), shards.end());
             shards.erase(std::unique(shards.begin(), shards.end()),
                          shards.end());
             FieldState* mf = txn.MutableField(field);
             const Roaring32 empty;
             for (uint64_t shard : shards) {
               const Roaring32* bits = BitmapAccess::Shard(columns, shard);
               txn.MutableFragment(mf, kStandardView, shard)
                   ->ReplaceRow(txn.owner(), row, bits ? *bits : empty);
               if (bits != nullptr) {
                 txn.MutableFragment(mf, kExistenceView, shard)
                     ->AddToRow(txn.owner(), 0, *bits);
               }
             }
             return true;
           })
        .status();
  }

  absl::StatusOr<bool> Delete(const Bitmap& columns) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
      bool changed = false;
      for (const auto& chunk : BitmapAccess::Chunks(columns))
        changed |= RemoveRecords(txn, chunk.key, chunk.bits);
      if (changed && txn.state().column_keys)
        ++txn.mutable_state()->column_key_deletes;
      return changed;
    });
  }

  absl::StatusOr<uint64_t> ApplyTtl(absl::Time now) {
    return Write<uint64_t>([&](Txn& txn) -> absl::StatusOr<uint64_t> {
      uint64_t dropped = 0;
      std::vector<std::string> names;
      for (const auto& [name, f] : txn.state().fields) {
        if (f->options.type == FieldType::kTime &&
            f->options.ttl > absl::ZeroDuration()) {
          names.push_back(name);
        }
      }
      for (const std::string& name : names) {
        const FieldState* f = txn.state().FindField(name);
        const absl::CivilSecond cutoff =
            absl::ToCivilSecond(now - f->options.ttl, absl::UTCTimeZone());
        std::vector<uint64_t> expired;
        f->views.ForEach([&](uint64_t vk, const View&) {
          if (IsTimeView(vk) && TimeViewEnd(vk) < cutoff) expired.push_back(vk);
          return true;
        });
        if (expired.empty()) continue;
        FieldState* mf = txn.MutableField(name);
        for (uint64_t vk : expired) mf->views.Erase(txn.owner(), vk);
        dropped += expired.size();
      }
      return dropped;
    });
  }

 private:
  // Set on an int, decimal or timestamp field.
  // `merge`: how v combines with the record's stored value.
  static absl::StatusOr<bool> SetValue(Txn& txn, const FieldState& f,
                                       uint64_t col, const Value& v,
                                       std::optional<absl::Time> ts,
                                       Merge merge) {
    if (ts) {
      return absl::InvalidArgumentError(fmt::format(
          "set: field \"{}\" is not a time-field: no timestamp allowed",
          f.name));
    }
    const std::string_view op = merge == Merge::kLast ? "set" : "aggregate";
    FB_ASSIGN_OR_RETURN(int64_t raw, BsiRawValue(f, v, op));
    auto stored = f.bsi->ToStored(raw);
    if (!stored.ok()) return stored.status();
    const uint64_t shard = ShardOf(col);
    const uint32_t off = OffsetInShard(col);
    const BsiShard* old = f.bsi_shards.Find(shard);
    if (merge != Merge::kLast) {
      const std::optional<int64_t> was =
          old == nullptr ? std::nullopt : old->Value(off);
      const int64_t was_raw = was ? f.bsi->ToRaw(*was) : 0;
      int64_t merged = 0;
      if (!TryMerge(merge, was.has_value(), was_raw, raw, f.bsi->min(),
                    f.bsi->max(), &merged)) {
        return Annotate(
            MergeError(*f.bsi, merge, was.has_value(), was_raw, raw),
            fmt::format("aggregate: record {}: field \"{}\"", col, f.name));
      }
      stored = int64_t(__int128(merged) - f.bsi->base());
    }
    const bool changed = old == nullptr || old->Value(off) != *stored;
    FieldState* mf = txn.MutableField(f.name);
    if (changed) {
      BsiShard* bs = mf->bsi_shards.Mutate(txn.owner(), shard);
      const std::pair<uint32_t, int64_t> one{off, *stored};
      *bs = BsiShard::Apply(*bs, std::span(&one, 1), nullptr);
      mf->bsi->GrowBitDepth(BsiDepthOf(*stored));
    }
    if (txn.state().options.track_existence)
      txn.MutableExists(shard)->Add(txn.owner(), 0, off);
    return changed;
  }

  // Clear on an int, decimal or timestamp field: FeatureBase clears the
  // value whatever number is given.
  static absl::StatusOr<bool> ClearValue(Txn& txn, const FieldState& f,
                                         uint64_t col) {
    const uint64_t shard = ShardOf(col);
    const uint32_t off = OffsetInShard(col);
    const BsiShard* old = f.bsi_shards.Find(shard);
    if (old == nullptr || !old->Value(off)) return false;
    FieldState* mf = txn.MutableField(f.name);
    BsiShard* bs = mf->bsi_shards.Mutate(txn.owner(), shard);
    const Roaring32 clears = Roaring32::FromValues(std::vector<uint32_t>{off});
    *bs = BsiShard::Apply(*bs, {}, &clears);
    return true;
  }

  // std::mutex rather than absl::Mutex: Debian's abseil carries no
  // ThreadSanitizer annotations, so TSan could not check these. The
  // ABSL_GUARDED_BY annotations state the locking rule; GCC does not check
  // them (nor clang over libstdc++, whose std::mutex is not a capability),
  // so the ThreadSanitizer run of the concurrency tests is what enforces it.
  std::string name_;
  IndexOptions options_;
  std::mutex write_mu_;  // one writer at a time
  OwnerToken last_owner_ ABSL_GUARDED_BY(write_mu_) = 0;
  // The version writers build on (ahead of state_ while group commits
  // wait for their sync).
  std::shared_ptr<const IndexState> latest_ ABSL_GUARDED_BY(write_mu_);
  mutable std::mutex state_mu_;  // guards the pointer swap only
  std::shared_ptr<const IndexState> state_ ABSL_GUARDED_BY(state_mu_);

  // Durable indexes only.
  std::unique_ptr<DurableStore> store_;
  uint64_t checkpoint_log_bytes_ = 0;
  bool checkpoint_on_close_ = true;
  // kCheckpoint: commits made since the last checkpoint began.
  bool unlogged_ ABSL_GUARDED_BY(write_mu_) = false;
  std::mutex checkpoint_run_mu_;  // one checkpoint at a time
  std::mutex checkpoint_mu_;      // with checkpoint_cv_
  std::condition_variable checkpoint_cv_;
  bool stop_ ABSL_GUARDED_BY(checkpoint_mu_) = false;
  std::thread checkpointer_;

  const std::shared_ptr<ChangeFeed> feed_ =
      std::make_shared<ChangeFeed>(&IndexImpl::MakeSnapshot);
};

}  // namespace internal

using internal::BitmapAccess;
using internal::FieldState;
using internal::Fragment;
using internal::Roaring32;
using internal::View;

// ---------------------------------------------------------------- IndexWriter

namespace internal {

std::shared_ptr<const IndexState> IndexWriter::Current(const Index& index) {
  return index.impl_->Current();
}

absl::StatusOr<uint64_t> IndexWriter::Commit(
    Index& index, const std::function<absl::StatusOr<uint64_t>(Txn&)>& f) {
  return index.impl_->Write<uint64_t>(f);
}

absl::Status IndexWriter::FlushKeys(Index& index) {
  return index.impl_->FlushKeys();
}

}  // namespace internal

// ---------------------------------------------------------------- Index

StatusOr<std::unique_ptr<Index>> Index::Create(std::string_view name,
                                               const IndexOptions& options) {
  FB_RETURN_IF_ERROR(ValidateName("index", name));
  auto partitioner = HashPartitioner::Create(options.partitions);
  if (!partitioner.ok()) {
    return internal::Annotate(partitioner.status(),
                              fmt::format("create index \"{}\"", name));
  }
  return std::unique_ptr<Index>(new Index(std::make_unique<internal::IndexImpl>(
      std::string(name), options, *partitioner)));
}

Index::Index(std::unique_ptr<internal::IndexImpl> impl)
    : impl_(std::move(impl)) {}
Index::~Index() = default;

const std::string& Index::name() const { return impl_->name(); }
const IndexOptions& Index::options() const { return impl_->options(); }

Status Index::CreateField(std::string_view name, const FieldOptions& options) {
  return impl_->CreateField(name, options);
}

Status Index::CreateFields(std::span<const FieldInfo> fields) {
  return impl_->CreateFields(fields);
}

StatusOr<uint64_t> Index::ColumnId(std::string_view key) {
  const auto state = impl_->Current();
  if (!state->column_keys) {
    return absl::FailedPreconditionError(
        fmt::format("column key: index \"{}\" does not use keys", state->name));
  }
  if (key.empty()) return absl::InvalidArgumentError("column key: empty key");
  const uint64_t before = state->column_keys->sequence();
  FB_ASSIGN_OR_RETURN(const uint64_t id, state->column_keys->CreateKey(key));
  if (state->column_keys->sequence() != before)
    FB_RETURN_IF_ERROR(impl_->FlushKeys());
  return id;
}

std::shared_ptr<const Snapshot> Index::GetSnapshot() const {
  return internal::IndexImpl::MakeSnapshot(impl_->Current());
}

StatusOr<bool> Index::Set(uint64_t column, std::string_view field,
                          const Value& row,
                          std::optional<absl::Time> timestamp) {
  return impl_->Set(column, field, row, timestamp);
}

StatusOr<bool> Index::Aggregate(uint64_t column, std::string_view field,
                                Merge merge, const Value& value) {
  return impl_->Aggregate(column, field, merge, value);
}

StatusOr<bool> Index::Clear(uint64_t column, std::string_view field,
                            const Value& row) {
  return impl_->Clear(column, field, row);
}

StatusOr<bool> Index::ClearRow(std::string_view field, const Value& row) {
  return impl_->ClearRow(field, row);
}

Status Index::Store(std::string_view field, const Value& row,
                    const Bitmap& columns) {
  return impl_->Store(field, row, columns);
}

StatusOr<bool> Index::Delete(const Bitmap& columns) {
  FB_ASSIGN_OR_RETURN(bool changed, impl_->Delete(columns));
  // Keys are freed after the records are gone from the published version,
  // so a new key can never land on a record that still has bits.
  if (const auto& keys = impl_->Current()->column_keys) {
    const std::vector<uint64_t> ids = columns.ToVector();
    FB_ASSIGN_OR_RETURN(const size_t freed, keys->DeleteIds(ids));
    changed |= freed > 0;
    if (freed > 0) FB_RETURN_IF_ERROR(impl_->FlushKeys());
  }
  return changed;
}

StatusOr<uint64_t> Index::ApplyTtl(absl::Time now) {
  return impl_->ApplyTtl(now);
}

Status Index::CommitStreamOffset(std::string_view source, int64_t offset) {
  FB_RETURN_IF_ERROR(
      internal::ValidateStreamSource(source, "commit stream offset"));
  return impl_
      ->Write<bool>([&](internal::Txn& txn) -> absl::StatusOr<bool> {
        auto& offsets = txn.mutable_state()->stream_offsets;
        auto it = offsets.find(source);
        if (it == offsets.end()) {
          offsets.emplace(std::string(source), offset);
        } else {
          it->second = offset;
        }
        return true;
      })
      .status();
}

StatusOr<std::unique_ptr<Subscription>> ChangeFeedAccess::Subscribe(
    Index& index, ChangeListener listener, const SubscribeOptions& options) {
  return index.impl_->Subscribe(std::move(listener), options);
}

bool Index::durable() const { return impl_->durable(); }
Status Index::Sync() { return impl_->Sync(); }
Status Index::Checkpoint() { return impl_->Checkpoint(); }

StatusOr<std::unique_ptr<Index>> Index::Open(const OpenOptions& options,
                                             std::string_view dir) {
  return internal::OpenIndexWithEnv(options, dir, internal::Env::Default());
}

namespace internal {

absl::StatusOr<std::unique_ptr<Index>> OpenIndexWithEnv(
    const OpenOptions& options, std::string_view dir, Env* env) {
  FB_ASSIGN_OR_RETURN(DurableStore::Opened opened,
                      DurableStore::Open(options, std::string(dir), env));
  return IndexWriter::Wrap(
      std::make_unique<IndexImpl>(std::move(opened), options));
}

std::unique_ptr<Index> IndexWriter::Wrap(std::unique_ptr<IndexImpl> impl) {
  return std::unique_ptr<Index>(new Index(std::move(impl)));
}

}  // namespace internal

}  // namespace featurebase
