#include "featurebase/index.h"

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "absl/synchronization/mutex.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/core/index_state.h"
#include "lib/core/time_views.h"
#include "lib/storage/store.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase {
namespace internal {

absl::Status FieldNotFound(std::string_view op, std::string_view field) {
  return absl::NotFoundError(
      fmt::format("{}: field \"{}\" not found", op, field));
}

absl::Status ValidateStreamSource(std::string_view source,
                                  std::string_view op) {
  if (source.empty() || source.size() > 4096) {
    return absl::InvalidArgumentError(
        fmt::format("{}: stream source name must be 1 to 4096 bytes, got {}",
                    op, source.size()));
  }
  return absl::OkStatus();
}

bool IsBsi(FieldType t) {
  return t == FieldType::kInt || t == FieldType::kDecimal ||
         t == FieldType::kTimestamp;
}

// The row id that `v` names in field `f`, for operation `op`. Keyed fields
// take Value::Key: `create` makes new keys (writes); otherwise an unknown key
// yields nullopt (an empty row, nothing to clear).
namespace {

// The largest column of any row of `view`, or nullopt when it holds none.
std::optional<uint64_t> MaxColumn(const View& view) {
  std::optional<uint64_t> best;
  view.ForEach([&](uint64_t shard, const Fragment& frag) {
    frag.rows().ForEach([&](uint64_t, const RowData& row) {
      if (const std::optional<uint32_t> m = row.Maximum()) {
        const uint64_t col = shard * kShardWidth + *m;
        if (!best || col > *best) best = col;
      }
      return true;
    });
    return true;
  });
  return best;
}

}  // namespace

uint64_t NextAutoId(const IndexState& s) {
  std::optional<uint64_t> top = MaxColumn(s.exists);
  auto raise = [&](std::optional<uint64_t> c) {
    if (c && (!top || *c > *top)) top = c;
  };
  for (const auto& [name, f] : s.fields) {
    if (f->bsi) {
      f->bsi_shards.ForEach([&](uint64_t shard, const BsiShard& b) {
        if (const std::optional<uint32_t> m = b.Exists().Maximum())
          raise(shard * kShardWidth + *m);
        return true;
      });
    } else if (f->tracks_existence()) {
      // Every bit of the field's views has its column in existence.
      if (const View* e = f->views.Find(kExistenceView)) raise(MaxColumn(*e));
    } else {
      f->views.ForEach([&](uint64_t, const View& v) {
        raise(MaxColumn(v));
        return true;
      });
    }
  }
  if (!top) return s.next_auto_id;
  // A record at UINT64_MAX leaves no id to hand out: the caller's
  // exhaustion check sees base + n overflow.
  return std::max(s.next_auto_id, *top == UINT64_MAX ? *top : *top + 1);
}

absl::StatusOr<std::optional<uint64_t>> ResolveRow(const FieldState& f,
                                                   const Value& v,
                                                   std::string_view op,
                                                   bool create) {
  const FieldType type = f.options.type;
  auto wrong = [&](std::string_view want) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" ({}) takes {}, not {}", op, f.name,
                    FieldTypeName(type), want, v.DebugString()));
  };
  if (type == FieldType::kBool) {
    if (v.kind() != Value::Kind::kBool) return wrong("true or false");
    return std::optional<uint64_t>(v.boolean() ? 1 : 0);
  }
  if (IsBsi(type)) return wrong("a comparison, not a row");
  if (f.row_keys) {
    if (v.kind() != Value::Kind::kKey) return wrong("a row key");
    absl::StatusOr<uint64_t> id =
        create ? f.row_keys->CreateKey(v.key()) : f.row_keys->FindKey(v.key());
    if (!id.ok())
      return Annotate(id.status(), fmt::format("{}: field \"{}\"", op, f.name));
    if (*id == 0) return std::optional<uint64_t>();
    return std::optional<uint64_t>(*id);
  }
  if (v.kind() != Value::Kind::kId) return wrong("a row id");
  if (v.id() > kMaxRowId) {
    return absl::InvalidArgumentError(
        fmt::format("{}: row id {} for field \"{}\" over the maximum {}", op,
                    v.id(), f.name, kMaxRowId));
  }
  return std::optional<uint64_t>(v.id());
}

// Appends each shard's bits of `row` in `views` of field `f` to `by_shard`.
void CollectRow(const FieldState& f, std::span<const uint64_t> views,
                uint64_t row,
                std::map<uint64_t, std::vector<const RowData*>>* by_shard) {
  for (uint64_t vk : views) {
    const View* view = f.views.Find(vk);
    if (view == nullptr) continue;
    view->ForEach([&](uint64_t shard, const Fragment& frag) {
      if (const RowData* r = frag.Row(row)) (*by_shard)[shard].push_back(r);
      return true;
    });
  }
}

Bitmap UnionByShard(
    const std::map<uint64_t, std::vector<const RowData*>>& by_shard) {
  std::vector<BitmapChunk> chunks;
  chunks.reserve(by_shard.size());
  for (const auto& [shard, parts] : by_shard) {
    if (parts.size() == 1) {
      chunks.push_back({shard, parts[0]->ToRoaring()});
      continue;
    }
    chunks.push_back({shard, RowData::Union(parts)});
  }
  return BitmapAccess::FromChunks(std::move(chunks));
}

// The time views of the coarsest unit present in `f` (FeatureBase's
// minMaxViews considers that unit).
std::vector<uint64_t> CoarsestTimeViews(const FieldState& f) {
  std::vector<uint64_t> out;
  int digits = 0;
  f.views.ForEachFrom(uint64_t{4} << 40, [&](uint64_t key, const View& v) {
    if (v.empty()) return true;
    if (digits == 0) digits = TimeViewDigits(key);
    if (TimeViewDigits(key) != digits) return false;
    out.push_back(key);
    return true;
  });
  return out;
}

std::vector<uint64_t> ScanRows(const FieldState& f,
                               std::span<const uint64_t> views,
                               std::optional<uint64_t> previous,
                               std::optional<uint64_t> column) {
  if (previous && *previous == UINT64_MAX) return {};
  const uint64_t from = previous ? *previous + 1 : 0;
  std::vector<uint64_t> out;
  for (uint64_t vk : views) {
    const View* view = f.views.Find(vk);
    if (view == nullptr) continue;
    auto scan = [&](const Fragment& frag, std::optional<uint32_t> off) {
      frag.rows().ForEachFrom(from, [&](uint64_t row, const RowData& r) {
        if (!off || r.Contains(*off)) out.push_back(row);
        return true;
      });
    };
    if (column) {
      if (const Fragment* frag = view->Find(ShardOf(*column)))
        scan(*frag, OffsetInShard(*column));
    } else {
      view->ForEach([&](uint64_t, const Fragment& frag) {
        scan(frag, std::nullopt);
        return true;
      });
    }
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void RankRows(std::vector<RowCount>* rows, uint64_t n) {
  auto better = [](const RowCount& a, const RowCount& b) {
    return a.count != b.count ? a.count > b.count : a.row < b.row;
  };
  if (n > 0 && n < rows->size()) {
    std::partial_sort(rows->begin(), rows->begin() + n, rows->end(), better);
    rows->resize(n);
  } else {
    std::sort(rows->begin(), rows->end(), better);
  }
}

// The views a read of `f` over `range` must union.
absl::StatusOr<std::vector<uint64_t>> ReadViews(const FieldState& f,
                                                const TimeRange& range,
                                                std::string_view op) {
  if (!range.empty() && f.options.type != FieldType::kTime) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" is not a time-field", op, f.name));
  }
  if (f.options.type != FieldType::kTime)
    return std::vector<uint64_t>{kStandardView};
  if (range.empty()) {
    if (f.has_standard_view()) return std::vector<uint64_t>{kStandardView};
    return CoarsestTimeViews(f);
  }
  const std::vector<uint64_t> coarsest = CoarsestTimeViews(f);
  if (coarsest.empty()) return std::vector<uint64_t>{};
  absl::CivilSecond from = TimeViewStart(coarsest.front());
  absl::CivilSecond to = TimeViewEnd(coarsest.back());
  if (range.from) {
    auto c = ToCivil(*range.from);
    if (!c.ok()) return Annotate(c.status(), fmt::format("{}: from", op));
    from = *c;
  }
  if (range.to) {
    auto c = ToCivil(*range.to);
    if (!c.ok()) return Annotate(c.status(), fmt::format("{}: to", op));
    to = *c;
  }
  std::vector<uint64_t> views;
  for (uint64_t vk : ViewsByTimeRange(f.options.time_quantum, from, to)) {
    if (f.views.Find(vk) != nullptr) views.push_back(vk);
  }
  return views;
}

absl::StatusOr<BsiFieldOptions> ToBsiOptions(std::string_view name,
                                             const FieldOptions& o) {
  BsiFieldOptions b;
  b.type = o.type == FieldType::kInt       ? BsiFieldType::kInt
           : o.type == FieldType::kDecimal ? BsiFieldType::kDecimal
                                           : BsiFieldType::kTimestamp;
  if (o.min != INT64_MIN) b.min = o.min;
  if (o.max != INT64_MAX) b.max = o.max;
  b.scale = o.scale;
  b.epoch = o.epoch;
  auto unit = ParseTimeUnit(o.time_unit);
  if (!unit.ok())
    return Annotate(unit.status(), fmt::format("create field \"{}\"", name));
  b.unit = *unit;
  return b;
}

namespace {

// v * 10^k, or nullopt on int64 overflow.
std::optional<int64_t> ScaleUp(int64_t v, int k) {
  __int128 x = v;
  for (int i = 0; i < k; ++i) {
    x *= 10;
    if (x > INT64_MAX || x < INT64_MIN) return std::nullopt;
  }
  return int64_t(x);
}

}  // namespace

absl::StatusOr<int64_t> BsiRawValue(const FieldState& f, const Value& in,
                                    std::string_view op) {
  const BsiFieldSpec& spec = *f.bsi;
  // PQL writes integers as ids (Set(1, age=30)); FeatureBase takes them
  // for every value field.
  const Value v = in.kind() == Value::Kind::kId && in.id() <= INT64_MAX
                      ? Value::Int(int64_t(in.id()))
                      : in;
  auto wrong = [&](std::string_view want) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" ({}) takes {}, not {}", op, f.name,
                    FieldTypeName(f.options.type), want, v.DebugString()));
  };
  auto too_big = [&] {
    return absl::OutOfRangeError(fmt::format(
        "{}: value {} does not fit field \"{}\"", op, v.DebugString(), f.name));
  };
  switch (f.options.type) {
    case FieldType::kInt:
      if (v.kind() != Value::Kind::kInt) return wrong("an integer");
      return v.integer();
    case FieldType::kDecimal: {
      const int scale = spec.scale();
      if (v.kind() == Value::Kind::kInt) {
        auto x = ScaleUp(v.integer(), scale);
        if (!x) return too_big();
        return *x;
      }
      if (v.kind() != Value::Kind::kDecimal) return wrong("a decimal");
      if (v.scale() < 0 || v.scale() > 19)
        return wrong("a decimal with scale 0..19");
      if (v.scale() <= scale) {
        auto x = ScaleUp(v.unscaled(), scale - v.scale());
        if (!x) return too_big();
        return *x;
      }
      // More places than the field keeps: exact only if they are zeros.
      int64_t x = v.unscaled();
      for (int i = scale; i < v.scale(); ++i) {
        if (x % 10 != 0) {
          return absl::InvalidArgumentError(fmt::format(
              "{}: {} has more than {} decimal places for field \"{}\"", op,
              v.DebugString(), scale, f.name));
        }
        x /= 10;
      }
      return x;
    }
    default: {
      if (v.kind() == Value::Kind::kInt) {
        // Integers are units since the field's epoch (FeatureBase's ingest).
        const __int128 raw = __int128(spec.base()) + v.integer();
        if (raw > INT64_MAX || raw < INT64_MIN) return too_big();
        return int64_t(raw);
      }
      if (v.kind() != Value::Kind::kTimestamp) return wrong("a timestamp");
      auto units = TimeToUnits(v.timestamp(), spec.unit());
      if (!units.ok()) return too_big();
      return *units;
    }
  }
}

std::optional<Value> BsiPublicValue(const FieldState& f, int64_t stored) {
  const int64_t raw = f.bsi->ToRaw(stored);
  switch (f.options.type) {
    case FieldType::kInt:
      return Value::Int(raw);
    case FieldType::kDecimal:
      return Value::Decimal(raw, f.bsi->scale());
    default:
      return Value::Timestamp(UnitsToTime(raw, f.bsi->unit()));
  }
}

namespace {

absl::Status ValidateFieldOptions(std::string_view name,
                                  const FieldOptions& o) {
  auto bad = [&](std::string_view why) {
    return absl::InvalidArgumentError(
        fmt::format("create field \"{}\": {}", name, why));
  };
  if (o.type == FieldType::kTime) {
    if (o.time_quantum.empty()) return bad("a time field needs a time quantum");
    FB_RETURN_IF_ERROR(TimeQuantum::Parse(o.time_quantum.ToString()).status());
    if (o.ttl < absl::ZeroDuration()) return bad("negative ttl");
  } else {
    if (!o.time_quantum.empty())
      return bad("only time fields take a time quantum");
    if (o.no_standard_view)
      return bad("only time fields can skip the standard view");
    if (o.ttl != absl::ZeroDuration())
      return bad("only time fields take a ttl");
  }
  if (o.type == FieldType::kBool && o.keys)
    return bad("bool fields cannot have keys");
  if (IsBsi(o.type) && o.keys) {
    return bad("int, decimal and timestamp fields cannot have keys");
  }
  if (!IsBsi(o.type) && (o.min != INT64_MIN || o.max != INT64_MAX)) {
    return bad("only int, decimal and timestamp fields take min and max");
  }
  if (o.type != FieldType::kDecimal && o.scale != 0) {
    return bad("only decimal fields take a scale");
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::shared_ptr<FieldState>> NewFieldState(
    std::string_view name, const FieldOptions& options, OwnerToken owner) {
  FB_RETURN_IF_ERROR(ValidateName("field", name));
  FB_RETURN_IF_ERROR(ValidateFieldOptions(name, options));
  auto f = std::make_shared<FieldState>();
  f->owner = owner;
  f->name = std::string(name);
  f->options = options;
  if (options.keys) f->row_keys = KeyTranslator::NewRowTranslator();
  if (IsBsi(options.type)) {
    FB_ASSIGN_OR_RETURN(BsiFieldOptions bo, ToBsiOptions(name, options));
    auto spec = BsiFieldSpec::Create(name, bo);
    if (!spec.ok()) {
      return Annotate(spec.status(), fmt::format("create field \"{}\"", name));
    }
    f->bsi = std::move(*spec);
  }
  return f;
}

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
      latest_ = next;
      Publish(std::move(next));
      return result;
    }
    if (store_->durability() == Durability::kCheckpoint) {
      // Not logged: durable at the next checkpoint.
      unlogged_ = true;
      latest_ = next;
      Publish(std::move(next));
      return result;
    }
    FB_ASSIGN_OR_RETURN(const uint64_t lsn, store_->Log(*latest_, *next));
    latest_ = next;
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

  // Makes `next` the readers' version unless a newer one is (group commits
  // finish out of order).
  void Publish(std::shared_ptr<const IndexState> next) {
    std::lock_guard<std::mutex> lock(state_mu_);
    if (next->version > state_->version) state_ = std::move(next);
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

  absl::StatusOr<bool> Set(uint64_t col, std::string_view field, const Value& v,
                           std::optional<absl::Time> ts) {
    return Write<bool>([&](Txn& txn) -> absl::StatusOr<bool> {
      const FieldState* f = txn.state().FindField(field);
      if (f == nullptr) return FieldNotFound("set", field);
      if (v.is_null()) {
        return absl::InvalidArgumentError(
            fmt::format("set: null value for field \"{}\"", field));
      }
      if (f->bsi) return SetValue(txn, *f, col, v, ts);
      FB_ASSIGN_OR_RETURN(const std::optional<uint64_t> resolved,
                          ResolveRow(*f, v, "set", /*create=*/true));
      const uint64_t row = *resolved;
      std::vector<uint64_t> time_views;
      if (f->options.type == FieldType::kTime) {
        if (ts) {
          auto civil = ToCivil(*ts);
          if (!civil.ok())
            return Annotate(civil.status(),
                            fmt::format("set: field \"{}\"", field));
          time_views = ViewsForTime(f->options.time_quantum, *civil);
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
      FieldState* mf = txn.MutableField(field);
      const uint64_t shard = ShardOf(col);
      const uint32_t off = OffsetInShard(col);
      const OwnerToken owner = txn.owner();
      bool changed = false;
      if (mf->has_standard_view()) {
        changed |=
            txn.MutableFragment(mf, kStandardView, shard)->Add(owner, row, off);
      }
      for (uint64_t tv : time_views) {
        changed |= txn.MutableFragment(mf, tv, shard)->Add(owner, row, off);
      }
      if (mf->tracks_existence()) {
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
      const bool single = mf->mode() != Fragment::Mode::kMulti;
      if (single && mf->tracks_existence()) {
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
      std::vector<std::string> names;
      for (const auto& [name, f] : txn.state().fields) names.push_back(name);
      for (const auto& chunk : BitmapAccess::Chunks(columns)) {
        for (const std::string& name : names) {
          std::vector<uint64_t> views;
          txn.state().FindField(name)->views.ForEach(
              [&](uint64_t vk, const View& view) {
                if (view.Find(chunk.key) != nullptr) views.push_back(vk);
                return true;
              });
          if (const FieldState* f = txn.state().FindField(name); f->bsi) {
            const BsiShard* bs = f->bsi_shards.Find(chunk.key);
            if (bs != nullptr &&
                Roaring32::Intersects(bs->Exists(), chunk.bits)) {
              FieldState* mf = txn.MutableField(name);
              BsiShard* m = mf->bsi_shards.Mutate(txn.owner(), chunk.key);
              *m = BsiShard::Apply(*m, {}, &chunk.bits);
              changed = true;
            }
          }
          if (views.empty()) continue;
          FieldState* mf = txn.MutableField(name);
          for (uint64_t vk : views) {
            changed |= txn.MutableFragment(mf, vk, chunk.key)
                           ->RemoveColumns(txn.owner(), chunk.bits);
          }
        }
        if (txn.state().exists.Find(chunk.key) != nullptr) {
          changed |= txn.MutableExists(chunk.key)->RemoveColumns(txn.owner(),
                                                                 chunk.bits);
        }
      }
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
  static absl::StatusOr<bool> SetValue(Txn& txn, const FieldState& f,
                                       uint64_t col, const Value& v,
                                       std::optional<absl::Time> ts) {
    if (ts) {
      return absl::InvalidArgumentError(fmt::format(
          "set: field \"{}\" is not a time-field: no timestamp allowed",
          f.name));
    }
    FB_ASSIGN_OR_RETURN(const int64_t raw, BsiRawValue(f, v, "set"));
    auto stored = f.bsi->ToStored(raw);
    if (!stored.ok()) return stored.status();
    const uint64_t shard = ShardOf(col);
    const uint32_t off = OffsetInShard(col);
    const BsiShard* old = f.bsi_shards.Find(shard);
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
  // ThreadSanitizer annotations, so TSan could not check these.
  std::string name_;
  IndexOptions options_;
  std::mutex write_mu_;  // one writer at a time
  OwnerToken last_owner_ = 0;
  // The version writers build on (ahead of state_ while group commits
  // wait for their sync). Guarded by write_mu_.
  std::shared_ptr<const IndexState> latest_;
  mutable std::mutex state_mu_;  // guards the pointer swap only
  std::shared_ptr<const IndexState> state_;

  // Durable indexes only.
  std::unique_ptr<DurableStore> store_;
  uint64_t checkpoint_log_bytes_ = 0;
  bool checkpoint_on_close_ = true;
  // kCheckpoint: commits made since the last checkpoint began (write_mu_).
  bool unlogged_ = false;
  std::mutex checkpoint_run_mu_;  // one checkpoint at a time
  std::mutex checkpoint_mu_;      // guards stop_, with checkpoint_cv_
  std::condition_variable checkpoint_cv_;
  bool stop_ = false;
  std::thread checkpointer_;
};

}  // namespace internal

using internal::BitmapAccess;
using internal::BitmapChunk;
using internal::FieldState;
using internal::Fragment;
using internal::Roaring32;
using internal::RowData;
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

bool Index::durable() const { return impl_->durable(); }
Status Index::Sync() { return impl_->Sync(); }
Status Index::Checkpoint() { return impl_->Checkpoint(); }

StatusOr<std::unique_ptr<Index>> Index::Open(const OpenOptions& options,
                                             std::string_view dir) {
  FB_ASSIGN_OR_RETURN(internal::DurableStore::Opened opened,
                      internal::DurableStore::Open(options, std::string(dir)));
  return std::unique_ptr<Index>(new Index(
      std::make_unique<internal::IndexImpl>(std::move(opened), options)));
}

// ---------------------------------------------------------------- Snapshot

Snapshot::Snapshot(std::shared_ptr<const internal::IndexState> state)
    : state_(std::move(state)) {}
Snapshot::~Snapshot() = default;

uint64_t Snapshot::version() const { return state_->version; }
const std::string& Snapshot::index_name() const { return state_->name; }

std::optional<int64_t> Snapshot::StreamOffset(std::string_view source) const {
  auto it = state_->stream_offsets.find(source);
  if (it == state_->stream_offsets.end()) return std::nullopt;
  return it->second;
}

std::vector<std::pair<std::string, int64_t>> Snapshot::StreamOffsets() const {
  return {state_->stream_offsets.begin(), state_->stream_offsets.end()};
}

std::vector<FieldInfo> Snapshot::Fields() const {
  std::vector<FieldInfo> out;
  for (const auto& [name, f] : state_->fields)
    out.push_back({name, f->options});
  return out;
}

StatusOr<FieldInfo> Snapshot::Field(std::string_view name) const {
  const FieldState* f = state_->FindField(name);
  if (f == nullptr) return internal::FieldNotFound("field", name);
  return FieldInfo{f->name, f->options};
}

StatusOr<Bitmap> Snapshot::Row(std::string_view field, const Value& row,
                               const TimeRange& range) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("row", field);
  FB_ASSIGN_OR_RETURN(const std::optional<uint64_t> id,
                      internal::ResolveRow(*f, row, "row"));
  FB_ASSIGN_OR_RETURN(const std::vector<uint64_t> views,
                      internal::ReadViews(*f, range, "row"));
  if (!id) return Bitmap();
  std::map<uint64_t, std::vector<const internal::RowData*>> by_shard;
  internal::CollectRow(*f, views, *id, &by_shard);
  return internal::UnionByShard(by_shard);
}

StatusOr<std::vector<uint64_t>> Snapshot::Rows(
    std::string_view field, const RowsOptions& options) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("rows", field);
  if (internal::IsBsi(f->options.type)) {
    return absl::InvalidArgumentError(
        fmt::format("rows: field \"{}\" is a {} field", field,
                    FieldTypeName(f->options.type)));
  }
  FB_ASSIGN_OR_RETURN(const std::vector<uint64_t> views,
                      internal::ReadViews(*f, options.range, "rows"));
  std::vector<uint64_t> out =
      internal::ScanRows(*f, views, options.previous, options.column);
  if (options.limit > 0 && out.size() > options.limit)
    out.resize(options.limit);
  return out;
}

namespace {

// The view whose rows TopN/MinRow/MaxRow read: standard, or for a time
// field without one, its coarsest time views.
std::vector<uint64_t> CountViews(const FieldState& f) {
  if (f.has_standard_view()) return {internal::kStandardView};
  return internal::CoarsestTimeViews(f);
}

absl::Status RowFieldOnly(const FieldState& f, std::string_view op) {
  if (internal::IsBsi(f.options.type)) {
    return absl::InvalidArgumentError(
        fmt::format("{}: field \"{}\" is a {} field", op, f.name,
                    FieldTypeName(f.options.type)));
  }
  return absl::OkStatus();
}

}  // namespace

StatusOr<std::vector<RowCount>> Snapshot::TopN(std::string_view field,
                                               uint64_t n,
                                               const Bitmap* filter) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("topn", field);
  FB_RETURN_IF_ERROR(RowFieldOnly(*f, "topn"));
  // Per row, per shard: a fused count (or the cardinality), summed.
  absl::flat_hash_map<uint64_t, uint64_t> counts;
  std::vector<uint64_t> views = CountViews(*f);
  // Time fields without a standard view: rows may repeat across views of
  // the same unit, so count distinct columns per (row, shard) by union.
  const bool need_union = views.size() > 1;
  std::map<std::pair<uint64_t, uint64_t>, std::vector<const RowData*>> parts;
  for (uint64_t vk : views) {
    const View* view = f->views.Find(vk);
    if (view == nullptr) continue;
    view->ForEach([&](uint64_t shard, const Fragment& frag) {
      const Roaring32* fbits =
          filter ? BitmapAccess::Shard(*filter, shard) : nullptr;
      if (filter != nullptr && fbits == nullptr) return true;
      frag.rows().ForEach([&](uint64_t row, const RowData& r) {
        if (need_union) {
          parts[{row, shard}].push_back(&r);
        } else {
          const uint64_t c = fbits ? r.AndCardinality(*fbits) : r.Cardinality();
          if (c > 0) counts[row] += c;
        }
        return true;
      });
      return true;
    });
  }
  for (const auto& [key, rows] : parts) {
    Roaring32 u = RowData::Union(rows);
    const Roaring32* fbits =
        filter ? BitmapAccess::Shard(*filter, key.second) : nullptr;
    const uint64_t c =
        fbits ? Roaring32::AndCardinality(u, *fbits) : u.Cardinality();
    if (c > 0) counts[key.first] += c;
  }
  std::vector<RowCount> out;
  out.reserve(counts.size());
  for (const auto& [row, c] : counts) out.push_back({row, c});
  internal::RankRows(&out, n);
  return out;
}

namespace {

StatusOr<std::optional<RowCount>> ExtremeRow(const FieldState& f,
                                             const Bitmap* filter, bool max,
                                             std::string_view op) {
  FB_RETURN_IF_ERROR(RowFieldOnly(f, op));
  std::optional<uint64_t> best;
  std::vector<std::pair<uint64_t, const Fragment*>> frags;
  for (uint64_t vk : CountViews(f)) {
    const View* view = f.views.Find(vk);
    if (view == nullptr) continue;
    view->ForEach([&](uint64_t shard, const Fragment& frag) {
      if (frag.empty()) return true;
      frags.emplace_back(shard, &frag);
      if (filter == nullptr) {
        const uint64_t r = max ? frag.rows().MaxKey() : frag.rows().MinKey();
        if (!best || (max ? r > *best : r < *best)) best = r;
        return true;
      }
      const Roaring32* fbits = BitmapAccess::Shard(*filter, shard);
      if (fbits == nullptr) return true;
      std::optional<uint64_t> local;
      frag.rows().ForEach([&](uint64_t row, const RowData& r) {
        if (r.Intersects(*fbits)) {
          local = row;
          if (!max) return false;  // ascending: the first hit is the minimum
        }
        return true;
      });
      if (local && (!best || (max ? *local > *best : *local < *best)))
        best = local;
      return true;
    });
  }
  if (!best) return std::optional<RowCount>();
  // FeatureBase reports count 1 without a filter; with one, the number of
  // filtered records in that row.
  if (filter == nullptr) return std::optional<RowCount>(RowCount{*best, 1});
  uint64_t count = 0;
  for (auto [shard, frag] : frags) {
    const Roaring32* fbits = BitmapAccess::Shard(*filter, shard);
    const RowData* r = frag->Row(*best);
    if (fbits != nullptr && r != nullptr) count += r->AndCardinality(*fbits);
  }
  return std::optional<RowCount>(RowCount{*best, count});
}

}  // namespace

StatusOr<std::optional<RowCount>> Snapshot::MinRow(std::string_view field,
                                                   const Bitmap* filter) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("minrow", field);
  return ExtremeRow(*f, filter, false, "minrow");
}

StatusOr<std::optional<RowCount>> Snapshot::MaxRow(std::string_view field,
                                                   const Bitmap* filter) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("maxrow", field);
  return ExtremeRow(*f, filter, true, "maxrow");
}

StatusOr<Bitmap> Snapshot::All() const {
  if (!state_->options.track_existence) {
    return absl::FailedPreconditionError(
        "index does not support existence tracking");
  }
  std::vector<BitmapChunk> chunks;
  state_->exists.ForEach([&](uint64_t shard, const Fragment& frag) {
    if (const RowData* r = frag.Row(0))
      chunks.push_back({shard, r->ToRoaring()});
    return true;
  });
  return BitmapAccess::FromChunks(std::move(chunks));
}

StatusOr<Bitmap> Snapshot::Not(const Bitmap& x) const {
  FB_ASSIGN_OR_RETURN(Bitmap all, All());
  all -= x;
  return all;
}

StatusOr<Bitmap> Snapshot::NotNull(std::string_view field) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("not null", field);
  if (f->bsi) {
    std::vector<BitmapChunk> chunks;
    f->bsi_shards.ForEach([&](uint64_t shard, const internal::BsiShard& bs) {
      chunks.push_back({shard, bs.Exists().Copy()});
      return true;
    });
    return BitmapAccess::FromChunks(std::move(chunks));
  }
  if (!f->tracks_existence()) {
    return absl::InvalidArgumentError(
        fmt::format("not null: field \"{}\" does not track existence", field));
  }
  std::map<uint64_t, std::vector<const internal::RowData*>> by_shard;
  internal::CollectRow(*f, std::vector<uint64_t>{internal::kExistenceView}, 0,
                       &by_shard);
  return internal::UnionByShard(by_shard);
}

StatusOr<Bitmap> Snapshot::Null(std::string_view field) const {
  FB_ASSIGN_OR_RETURN(Bitmap not_null, NotNull(field));
  return Not(not_null);
}

StatusOr<std::optional<Value>> Snapshot::FieldValue(std::string_view field,
                                                    uint64_t column) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("field value", field);
  if (!f->bsi) {
    return absl::InvalidArgumentError(
        fmt::format("field value: field \"{}\" is a {} field", field,
                    FieldTypeName(f->options.type)));
  }
  const internal::BsiShard* bs = f->bsi_shards.Find(ShardOf(column));
  if (bs == nullptr) return std::optional<Value>();
  const std::optional<int64_t> stored = bs->Value(OffsetInShard(column));
  if (!stored) return std::optional<Value>();
  return internal::BsiPublicValue(*f, *stored);
}

StatusOr<std::vector<uint64_t>> Snapshot::RowsOfColumn(std::string_view field,
                                                       uint64_t column) const {
  RowsOptions o;
  o.column = column;
  return Rows(field, o);
}

const KeyTranslator* Snapshot::ColumnKeys() const {
  return state_->column_keys.get();
}

StatusOr<const KeyTranslator*> Snapshot::RowKeys(std::string_view field) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("row keys", field);
  return static_cast<const KeyTranslator*>(f->row_keys.get());
}

StatusOr<std::vector<std::string>> Snapshot::ViewNames(
    std::string_view field) const {
  const FieldState* f = state_->FindField(field);
  if (f == nullptr) return internal::FieldNotFound("views", field);
  std::vector<std::string> out;
  f->views.ForEach([&](uint64_t vk, const View& v) {
    if (!v.empty()) out.push_back(internal::ViewName(vk));
    return true;
  });
  return out;
}

}  // namespace featurebase
