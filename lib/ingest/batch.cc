// Batch ingest (include/featurebase/batch.h): the facade that runs the
// stages of batch_internal.h.
//
// Layout: records are stored column by column. Row fields keep a CSR list
// of row references per record (an id, or an index into the field's
// distinct keys of this batch); bool fields one byte; value fields the
// stored value and a presence byte. Flush translates every distinct key once
// (through a KeyCache), groups records by shard, and hands each (field,
// view, shard) one bulk update (Fragment::AddBulk, BsiShard::Apply) inside a
// single transaction, so readers see the whole batch or none of it.
#include "featurebase/batch.h"

#include <algorithm>
#include <map>
#include <set>
#include <span>

#include "absl/status/status.h"
#include "featurebase/key_cache.h"
#include "fmt/format.h"
#include "lib/bsi/value_merge.h"
#include "lib/core/index_state.h"
#include "lib/db/index_access.h"
#include "lib/ingest/batch_apply.h"
#include "lib/ingest/batch_clears.h"
#include "lib/ingest/batch_columns.h"
#include "lib/ingest/batch_internal.h"
#include "lib/ingest/batch_order.h"
#include "lib/ingest/batch_translate.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase {
namespace internal {

class BatchImpl {
 public:
  BatchImpl(Index* index, BatchOptions options)
      : index_(index),
        options_(std::move(options)),
        stager_(index, options_, &batch_) {}

  absl::Status Init(std::vector<std::string> fields) {
    auto state = IndexWriter::Current(*index_);
    batch_.keyed_index = state->column_keys != nullptr;
    if (options_.capacity == 0)
      return absl::InvalidArgumentError("batch: capacity must be > 0");
    if (options_.capacity > (size_t{1} << 31)) {
      return absl::InvalidArgumentError("batch: capacity over 2^31 records");
    }
    if (batch_.keyed_index && options_.id_mode != IdMode::kExplicit) {
      return absl::InvalidArgumentError(
          "batch: a keyed index takes record keys; auto-generate and offset "
          "ids need an index "
          "without keys");
    }
    std::set<std::string> seen;
    for (std::string& name : fields) {
      if (!seen.insert(name).second) {
        return absl::InvalidArgumentError(
            fmt::format("batch: field \"{}\" listed twice", name));
      }
      BatchColumn col;
      col.name = name;
      col.starts.set_limit(options_.capacity + 1);  // one per record, and 0
      col.starts.push_back(0);
      const bool packed =
          std::find(options_.packed_bools.begin(), options_.packed_bools.end(),
                    name) != options_.packed_bools.end();
      if (packed) {
        col.kind = BatchColumn::Kind::kPackedBool;
        col.type = FieldType::kBool;
        batch_.has_packed = true;
      } else {
        const FieldState* f = state->FindField(name);
        if (f == nullptr) return FieldNotFound("batch", name);
        col.type = f->options.type;
        col.keyed = f->row_keys != nullptr;
        col.kind = f->bsi                         ? BatchColumn::Kind::kValue
                   : col.type == FieldType::kBool ? BatchColumn::Kind::kBool
                                                  : BatchColumn::Kind::kRows;
        col.multi = col.type == FieldType::kSet || col.type == FieldType::kTime;
        if (col.keyed)
          col.cache = std::make_unique<KeyCache>(options_.key_cache_batches);
        if (col.type == FieldType::kTime) batch_.any_time = true;
      }
      batch_.columns.push_back(std::move(col));
    }
    if (batch_.has_packed) {
      for (const char* packed : {"bools", "bools-exists"}) {
        if (state->FindField(packed) == nullptr) {
          FieldOptions o = FieldOptions::Set();
          o.keys = true;
          FB_RETURN_IF_ERROR(index_->CreateField(packed, o));
        } else if (!state->FindField(packed)->row_keys) {
          return absl::InvalidArgumentError(fmt::format(
              "batch: packed bools need \"{}\" to be a keyed set field",
              packed));
        }
      }
    }
    for (const auto& [name, merge] : options_.merges) {
      auto col =
          std::find_if(batch_.columns.begin(), batch_.columns.end(),
                       [&](const BatchColumn& c) { return c.name == name; });
      if (col == batch_.columns.end()) {
        return absl::InvalidArgumentError(fmt::format(
            "batch: merge {} on field \"{}\", which the batch does not write",
            MergeName(merge), name));
      }
      FB_RETURN_IF_ERROR(CheckMerge("batch", merge, col->type, name));
      if (options_.upsert == Upsert::kFull && merge != Merge::kLast) {
        return absl::InvalidArgumentError(fmt::format(
            "batch: merge {} on field \"{}\" under a full upsert, where each "
            "record replaces the stored one (only last applies)",
            MergeName(merge), name));
      }
      if (col->kind != BatchColumn::Kind::kValue) {
        return absl::InvalidArgumentError(fmt::format(
            "batch: merge {} on packed bool \"{}\"", MergeName(merge), name));
      }
      col->merge = merge;
    }
    if (batch_.keyed_index)
      column_cache_ = std::make_unique<KeyCache>(options_.key_cache_batches);
    return absl::OkStatus();
  }

  // ------------------------------------------------------------------ add

  absl::StatusOr<bool> Add(const Record& r) {
    if (batch_.n >= options_.capacity) {
      return absl::FailedPreconditionError(fmt::format(
          "batch: full at {} records; flush first", options_.capacity));
    }
    if (options_.id_mode == IdMode::kExplicit &&
        std::holds_alternative<std::monostate>(r.id)) {
      // A null key: Kafka Streams drops such records from tables and
      // aggregations, and a stream must not stop on one.
      ++dropped_null_keys_;
      return Ready();
    }
    absl::Status st = stager_.Stage(r, size());
    if (!st.ok()) {
      ++rejected_;
      return st;
    }
    if (batch_.n == 1) first_add_ = absl::Now();
    return Ready();
  }

  bool Ready() const {
    if (batch_.n >= options_.capacity) return true;
    return batch_.n > 0 && options_.stale_after != absl::InfiniteDuration() &&
           absl::Now() - first_add_ >= options_.stale_after;
  }

  size_t size() const {
    return batch_.n + batch_.clears.size() + batch_.deletes.size();
  }

  void SetStreamOffset(std::string_view source, int64_t offset) {
    auto it = stream_offsets_.find(source);
    if (it == stream_offsets_.end()) {
      stream_offsets_.emplace(std::string(source), offset);
    } else {
      it->second = offset;
    }
  }

  // The pending records' buffers, and Flush's gather buffers (kept between
  // flushes) and its time-view buffers (freed after it).
  size_t MemoryBytes() const {
    return batch_.RecordBytes() + applier_.WorkBytes();
  }
  size_t PeakMemoryBytes() const {
    return std::max(applier_.peak_bytes(), MemoryBytes());
  }

  absl::Status AddClear(const Record& r) {
    // Validated as an add would be: staged, then taken back out.
    FB_RETURN_IF_ERROR(stager_.Stage(r, size()));
    --batch_.n;
    if (options_.id_mode == IdMode::kExplicit && batch_.keyed_index) {
      batch_.col_keys.pop_back();
    } else if (options_.id_mode != IdMode::kAutoGenerate) {
      batch_.ids.pop_back();
    }
    if (batch_.any_time) batch_.times.pop_back();
    stager_.Unstage(batch_.columns.size());
    batch_.clears.push_back({r, uint32_t(batch_.n)});
    return absl::OkStatus();
  }

  absl::Status DeleteRecord(std::variant<uint64_t, std::string> id,
                            std::vector<std::string> fields) {
    Record r;
    if (std::holds_alternative<uint64_t>(id)) {
      r.id = std::get<uint64_t>(id);
    } else {
      r.id = std::get<std::string>(id);
    }
    FB_RETURN_IF_ERROR(stager_.ValidateId(r, size()));
    auto state = IndexWriter::Current(*index_);
    for (const std::string& f : fields) {
      if (state->FindField(f) == nullptr)
        return FieldNotFound("batch delete", f);
    }
    batch_.deletes.push_back(
        {std::move(r.id), std::move(fields), uint32_t(batch_.n)});
    return absl::OkStatus();
  }

  // ------------------------------------------------------------------ flush

  absl::StatusOr<FlushResult> Flush() {
    FlushResult result;
    result.rejected = rejected_;
    auto state = IndexWriter::Current(*index_);
    // Translate record keys and row keys in bulk, before the commit.
    if (batch_.keyed_index && state->column_key_deletes != seen_key_deletes_) {
      // Records were deleted and their ids freed for reuse: cached
      // translations may be stale.
      column_cache_->Clear();
      seen_key_deletes_ = state->column_key_deletes;
    }
    FB_ASSIGN_OR_RETURN(TranslatedKeys keys,
                        TranslateKeys(*state, batch_, column_cache_.get()));
    // Record ids: as added, translated keys, or (auto-generate) base +
    // position, filled in the commit.
    const size_t n = batch_.n;
    std::vector<uint64_t>& owned_ids = keys.record_ids;
    std::span<const uint64_t> ids = batch_.ids.span();
    if (batch_.keyed_index) {
      ids = owned_ids;
    } else if (options_.id_mode == IdMode::kAutoGenerate) {
      owned_ids.resize(n);
      ids = owned_ids;
    }
    FlushOrder order;
    auto committed =
        IndexWriter::Commit(*index_, [&](Txn& txn) -> absl::StatusOr<uint64_t> {
          if (options_.id_mode == IdMode::kAutoGenerate) {
            const uint64_t base = NextAutoId(txn.state());
            if (n > UINT64_MAX - base)
              return absl::ResourceExhaustedError("batch: ids exhausted");
            for (size_t i = 0; i < n; ++i) owned_ids[i] = base + i;
            txn.mutable_state()->next_auto_id = base + n;
          }
          for (const auto& [source, offset] : stream_offsets_)
            txn.mutable_state()->stream_offsets[source] = offset;
          // The most this batch holds: its records, the gather buffers
          // (sampled in ApplyAdds) and this flush's id and key arrays.
          // The records do not change during the flush: counted once.
          size_t held = batch_.RecordBytes() + owned_ids.capacity() * 8;
          for (const auto& k : keys.row_ids) held += k.capacity() * 8;
          order = PlanFlushOrder(txn.state(), batch_, ids,
                                 options_.upsert == Upsert::kFull);
          ApplyRecordDeletes(txn, order.record_deletes);
          applier_.Begin(batch_,
                         order.skip.empty() ? nullptr : order.skip.data());
          size_t lo = 0;
          for (size_t i = 0; i < order.cuts.size(); ++i) {
            applier_.ApplyAdds(txn, ids, keys, held, lo, order.cuts[i]);
            for (const FlushOrder::Op& op : order.ops[i])
              FB_RETURN_IF_ERROR(ApplyOp(txn, batch_, op));
            lo = order.cuts[i];
          }
          if (batch_.keyed_index && !order.gone.empty())
            ++txn.mutable_state()->column_key_deletes;
          return uint64_t(n - applier_.rejected());
        });
    if (!committed.ok()) return committed.status();
    result.accepted = *committed;
    result.rejected += n - *committed;
    result.rejections = applier_.TakeRejections();
    result.deleted = order.deleted;
    result.unknown_tombstones = order.unknown;
    result.dropped_null_keys = dropped_null_keys_;
    if (batch_.keyed_index && !order.gone.empty()) {
      // As Index::Delete: free the deleted records' keys after the commit
      // (not those of records a later add recreated).
      FB_RETURN_IF_ERROR(state->column_keys->DeleteIds(order.gone).status());
      FB_RETURN_IF_ERROR(IndexWriter::FlushKeys(*index_));
      column_cache_->Clear();
      seen_key_deletes_ = IndexWriter::Current(*index_)->column_key_deletes;
    }
    // Cache counters are cumulative; report this flush's share.
    uint64_t hits = 0, misses = 0;
    for (BatchColumn& col : batch_.columns) {
      if (col.cache) {
        hits += col.cache->hits();
        misses += col.cache->misses();
        col.cache->EndBatch();
      }
    }
    if (column_cache_) {
      hits += column_cache_->hits();
      misses += column_cache_->misses();
      column_cache_->EndBatch();
    }
    result.key_cache_hits = hits - reported_hits_;
    result.key_cache_misses = misses - reported_misses_;
    reported_hits_ = hits;
    reported_misses_ = misses;
    applier_.EndFlush();
    Reset();
    return result;
  }

 private:
  void Reset() {
    stager_.Invalidate();
    rejected_ = 0;
    dropped_null_keys_ = 0;
    stream_offsets_.clear();
    batch_.Clear();
  }

  Index* index_;
  BatchOptions options_;
  // Stream positions to commit with the next flush.
  std::map<std::string, int64_t, std::less<>> stream_offsets_;
  StagedBatch batch_;
  RecordStager stager_;   // stage 1, into batch_
  ShardApplier applier_;  // stages 3 and 4, during Flush
  uint64_t rejected_ = 0;
  uint64_t dropped_null_keys_ = 0;
  absl::Time first_add_;
  std::unique_ptr<KeyCache> column_cache_;
  uint64_t seen_key_deletes_ = 0;
  uint64_t reported_hits_ = 0, reported_misses_ = 0;
};

}  // namespace internal

StatusOr<std::unique_ptr<Batch>> Batch::Create(Index* index,
                                               std::vector<std::string> fields,
                                               const BatchOptions& options) {
  if (index == nullptr) return absl::InvalidArgumentError("batch: null index");
  auto impl = std::make_unique<internal::BatchImpl>(index, options);
  FB_RETURN_IF_ERROR(impl->Init(std::move(fields)));
  return std::unique_ptr<Batch>(new Batch(std::move(impl)));
}

Batch::Batch(std::unique_ptr<internal::BatchImpl> impl)
    : impl_(std::move(impl)) {}
Batch::~Batch() = default;

StatusOr<bool> Batch::Add(const Record& record) { return impl_->Add(record); }
Status Batch::AddClear(const Record& record) { return impl_->AddClear(record); }
Status Batch::DeleteFields(std::variant<uint64_t, std::string> id,
                           std::span<const std::string> fields) {
  if (fields.empty())
    return absl::InvalidArgumentError("batch delete: no fields named");
  return impl_->DeleteRecord(
      std::move(id), std::vector<std::string>(fields.begin(), fields.end()));
}
Status Batch::DeleteRecord(std::variant<uint64_t, std::string> id) {
  return impl_->DeleteRecord(std::move(id), {});
}
Status Batch::SetStreamOffset(std::string_view source, int64_t offset) {
  FB_RETURN_IF_ERROR(
      internal::ValidateStreamSource(source, "batch stream offset"));
  impl_->SetStreamOffset(source, offset);
  return absl::OkStatus();
}
size_t Batch::size() const { return impl_->size(); }
size_t Batch::MemoryBytes() const { return impl_->MemoryBytes(); }
size_t Batch::PeakMemoryBytes() const { return impl_->PeakMemoryBytes(); }
bool Batch::Ready() const { return impl_->Ready(); }
StatusOr<FlushResult> Batch::Flush() { return impl_->Flush(); }

StatusOr<std::string> JoinPrimaryKey(std::span<const Value> values) {
  std::string out;
  for (size_t i = 0; i < values.size(); ++i) {
    const Value& v = values[i];
    if (i) out += '|';
    // Two parts that contain the separator could join to the key of other
    // parts ("a|b","c" and "a","b|c"): refused, so that distinct records
    // never merge. A single part is the key as it is.
    if (values.size() > 1 && v.kind() == Value::Kind::kKey &&
        v.key().find('|') != std::string::npos) {
      return absl::InvalidArgumentError(
          fmt::format("primary key: value {} contains the separator '|'", i));
    }
    switch (v.kind()) {
      case Value::Kind::kNull:
        return absl::InvalidArgumentError(
            fmt::format("primary key: value {} is null", i));
      case Value::Kind::kId:
        out += fmt::format("{}", v.id());
        break;
      case Value::Kind::kKey:
        out += v.key();
        break;
      case Value::Kind::kInt:
        out += fmt::format("{}", v.integer());
        break;
      case Value::Kind::kBool:
        out += v.boolean() ? "true" : "false";
        break;
      default:
        out += v.DebugString();
    }
  }
  return out;
}

}  // namespace featurebase
