// Batch ingest (include/featurebase/batch.h).
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
#include <bit>
#include <cassert>
#include <cstring>
#include <map>
#include <numeric>
#include <span>
#include <type_traits>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "featurebase/key_cache.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/core/index_state.h"
#include "lib/db/index_access.h"
#include "lib/util/thread_pool.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"
#include "lib/util/utf8.h"

namespace featurebase {
namespace internal {
namespace {

constexpr uint64_t kKeyRef = uint64_t{1} << 63;  // ref = kKeyRef | key index
constexpr uint64_t kExistOnly = kKeyRef - 1;  // an empty list: existence only
constexpr uint64_t kNullRef = kKeyRef - 2;    // a null single-valued row
static_assert(kMaxRowId < kNullRef);
constexpr int64_t kNoTime = INT64_MIN;

// The per-record column buffers: a growable array of a trivially copyable
// T whose append is always inlined (std::vector's push_back is not, inside
// Stage's large switch, and Add appends a dozen values per record) and
// whose growth does not value-initialize.
template <typename T>
class PodVec {
  static_assert(std::is_trivially_copyable_v<T>);

 public:
  ABSL_ATTRIBUTE_ALWAYS_INLINE void push_back(T v) {
    if (size_ == capacity_) Grow();
    data_[size_++] = v;
  }
  void pop_back() { --size_; }
  // Shrinks to n <= size().
  void truncate(size_t n) {
    assert(n <= size_);
    size_ = n;
  }
  void clear() { size_ = 0; }
  size_t size() const { return size_; }
  bool empty() const { return size_ == 0; }
  size_t capacity() const { return capacity_; }
  T* data() { return data_.get(); }
  const T* data() const { return data_.get(); }
  T& operator[](size_t i) { return data_[i]; }
  const T& operator[](size_t i) const { return data_[i]; }
  std::span<const T> span() const { return {data_.get(), size_}; }
  // The most elements it will hold: growth stops there instead of
  // doubling past it.
  void set_limit(size_t n) { limit_ = n; }

 private:
  ABSL_ATTRIBUTE_NOINLINE void Grow() {
    size_t cap = std::max<size_t>(64, capacity_ * 2);
    if (capacity_ < limit_ && cap > limit_) cap = limit_;
    std::unique_ptr<T[]> grown(new T[cap]);
    if (size_ > 0) std::memcpy(grown.get(), data_.get(), size_ * sizeof(T));
    data_ = std::move(grown);
    capacity_ = cap;
  }
  std::unique_ptr<T[]> data_;
  size_t size_ = 0, capacity_ = 0;
  size_t limit_ = SIZE_MAX;
};

// |v| without overflow (|INT64_MIN| = 2^63); BsiDepthOf(v) is its width.
constexpr uint64_t BsiMagnitude(int64_t v) {
  return v < 0 ? uint64_t{0} - uint64_t(v) : uint64_t(v);
}

std::string IdText(
    const std::variant<std::monostate, uint64_t, std::string>& id) {
  if (std::holds_alternative<uint64_t>(id))
    return fmt::format("id {}", std::get<uint64_t>(id));
  if (std::holds_alternative<std::string>(id)) {
    const std::string& k = std::get<std::string>(id);
    return fmt::format("key \"{}\"",
                       k.size() > 64 ? k.substr(0, 64) + "..." : k);
  }
  return "no id";
}

}  // namespace

class BatchImpl {
 public:
  struct Column {
    enum class Kind { kRows, kBool, kValue, kPackedBool };
    std::string name;
    Kind kind = Kind::kRows;
    FieldType type = FieldType::kSet;
    bool keyed = false;
    // kRows of a set or time field: refs of record r are
    // refs[starts[r] .. starts[r + 1]).
    bool multi = false;
    PodVec<uint32_t> starts;  // starts[0] = 0, pushed by Init and Reset
    PodVec<uint64_t> refs;
    // kRows of a mutex field: one ref per record, kNullRef for null (no
    // starts: saves 4 bytes and a push per record).
    PodVec<uint64_t> singles;
    absl::flat_hash_map<std::string, uint32_t> key_index;
    std::vector<std::string> keys;
    // keys.size() before the record being added (for its rollback).
    size_t key_mark = 0;
    // kBool, kPackedBool: -1 null, 0 false, 1 true.
    PodVec<int8_t> bools;
    // kValue.
    PodVec<int64_t> stored;
    PodVec<uint8_t> present;
    std::unique_ptr<KeyCache> cache;

    uint64_t AddKey(std::string_view key) {
      if (auto it = key_index.find(absl::string_view(key.data(), key.size()));
          it != key_index.end()) {
        return kKeyRef | it->second;
      }
      const uint32_t k = uint32_t(keys.size());
      key_index.emplace(std::string(key), k);
      keys.emplace_back(key);
      return kKeyRef | k;
    }
  };

  BatchImpl(Index* index, BatchOptions options)
      : index_(index), options_(std::move(options)) {}

  absl::Status Init(std::vector<std::string> fields) {
    auto state = IndexWriter::Current(*index_);
    keyed_index_ = state->column_keys != nullptr;
    if (options_.capacity == 0)
      return absl::InvalidArgumentError("batch: capacity must be > 0");
    if (options_.capacity > (size_t{1} << 31)) {
      return absl::InvalidArgumentError("batch: capacity over 2^31 records");
    }
    if (keyed_index_ && options_.id_mode != IdMode::kExplicit) {
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
      Column col;
      col.name = name;
      col.starts.set_limit(options_.capacity + 1);  // one per record, and 0
      col.starts.push_back(0);
      const bool packed =
          std::find(options_.packed_bools.begin(), options_.packed_bools.end(),
                    name) != options_.packed_bools.end();
      if (packed) {
        col.kind = Column::Kind::kPackedBool;
        col.type = FieldType::kBool;
        has_packed_ = true;
      } else {
        const FieldState* f = state->FindField(name);
        if (f == nullptr) return FieldNotFound("batch", name);
        col.type = f->options.type;
        col.keyed = f->row_keys != nullptr;
        col.kind = f->bsi                         ? Column::Kind::kValue
                   : col.type == FieldType::kBool ? Column::Kind::kBool
                                                  : Column::Kind::kRows;
        col.multi = col.type == FieldType::kSet || col.type == FieldType::kTime;
        if (col.keyed)
          col.cache = std::make_unique<KeyCache>(options_.key_cache_batches);
        if (col.type == FieldType::kTime) any_time_ = true;
      }
      columns_.push_back(std::move(col));
    }
    if (has_packed_) {
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
    if (keyed_index_)
      column_cache_ = std::make_unique<KeyCache>(options_.key_cache_batches);
    return absl::OkStatus();
  }

  // ------------------------------------------------------------------ add

  absl::StatusOr<bool> Add(const Record& r) {
    if (n_ >= options_.capacity) {
      return absl::FailedPreconditionError(fmt::format(
          "batch: full at {} records; flush first", options_.capacity));
    }
    absl::Status st = Stage(r);
    if (!st.ok()) {
      ++rejected_;
      return st;
    }
    if (n_ == 1) first_add_ = absl::Now();
    return Ready();
  }

  bool Ready() const {
    if (n_ >= options_.capacity) return true;
    return n_ > 0 && options_.stale_after != absl::InfiniteDuration() &&
           absl::Now() - first_add_ >= options_.stale_after;
  }

  size_t size() const { return n_ + clears_.size() + deletes_.size(); }

  void SetStreamOffset(std::string_view source, int64_t offset) {
    auto it = stream_offsets_.find(source);
    if (it == stream_offsets_.end()) {
      stream_offsets_.emplace(std::string(source), offset);
    } else {
      it->second = offset;
    }
  }

  size_t MemoryBytes() const { return RecordBytes() + WorkBytes(); }
  // The pending records' buffers (O(records) for keyed indexes: each key).
  size_t RecordBytes() const {
    size_t n = ids_.capacity() * 8 + times_.capacity() * 8 +
               col_keys_.capacity() * sizeof(std::string);
    for (const std::string& k : col_keys_) {
      if (k.capacity() > 15) n += k.capacity() + 1;
    }
    for (const Column& c : columns_) {
      n += c.starts.capacity() * 4 + c.refs.capacity() * 8 +
           c.singles.capacity() * 8 + c.bools.capacity() +
           c.stored.capacity() * 8 + c.present.capacity();
      n += c.key_index.capacity() * (sizeof(std::string) + 8) +
           c.keys.capacity() * sizeof(std::string);
    }
    return n;
  }
  // Flush's gather buffers (kept between flushes) and its time-view
  // buffers (freed after it).
  size_t WorkBytes() const {
    size_t n = 0;
    for (const ColumnWork& w : work_) {
      n += w.pairs.capacity() * sizeof(w.pairs[0]) +
           w.values.capacity() * sizeof(w.values[0]) + w.exists.MemoryBytes();
    }
    return n + records_exist_.MemoryBytes() + time_scratch_.Bytes();
  }
  size_t PeakMemoryBytes() const {
    return std::max(peak_bytes_, MemoryBytes());
  }

  absl::Status AddClear(const Record& r) {
    // Validated as an add would be: staged, then taken back out.
    FB_RETURN_IF_ERROR(Stage(r));
    --n_;
    if (options_.id_mode == IdMode::kExplicit && keyed_index_) {
      col_keys_.pop_back();
    } else if (options_.id_mode != IdMode::kAutoGenerate) {
      ids_.pop_back();
    }
    if (any_time_) times_.pop_back();
    Unstage(columns_.size());
    clears_.push_back(r);
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
    FB_RETURN_IF_ERROR(ValidateId(r, size()));
    auto state = IndexWriter::Current(*index_);
    for (const std::string& f : fields) {
      if (state->FindField(f) == nullptr)
        return FieldNotFound("batch delete", f);
    }
    deletes_.push_back({std::move(r.id), std::move(fields)});
    return absl::OkStatus();
  }

  // ------------------------------------------------------------------ flush

  absl::StatusOr<FlushResult> Flush() {
    FlushResult result;
    result.rejected = rejected_;
    auto state = IndexWriter::Current(*index_);
    // Translate record keys and row keys in bulk, before the commit.
    if (keyed_index_ && state->column_key_deletes != seen_key_deletes_) {
      // Records were deleted and their ids freed for reuse: cached
      // translations may be stale.
      column_cache_->Clear();
      seen_key_deletes_ = state->column_key_deletes;
    }
    // Record ids: ids_ as added, translated keys, or (auto-generate) base +
    // position, filled in the commit.
    std::vector<uint64_t> owned_ids;
    std::span<const uint64_t> ids = ids_.span();
    if (keyed_index_) {
      FB_ASSIGN_OR_RETURN(owned_ids, TranslateColumnKeys(*state));
      ids = owned_ids;
    } else if (options_.id_mode == IdMode::kAutoGenerate) {
      owned_ids.resize(n_);
      ids = owned_ids;
    }
    std::vector<std::vector<uint64_t>> key_ids(columns_.size());
    for (size_t c = 0; c < columns_.size(); ++c) {
      Column& col = columns_[c];
      if (col.kind == Column::Kind::kRows && col.keyed) {
        FB_ASSIGN_OR_RETURN(
            key_ids[c], TranslateRowKeys(*state->FindField(col.name), &col));
      }
    }
    std::vector<uint64_t> packed_ids;  // row id of each packed bool name
    if (has_packed_) {
      std::vector<std::string_view> names;
      for (const Column& col : columns_) {
        if (col.kind == Column::Kind::kPackedBool) names.push_back(col.name);
      }
      packed_ids.resize(names.size());
      for (const char* f : {"bools", "bools-exists"}) {
        FB_RETURN_IF_ERROR(
            state->FindField(f)->row_keys->CreateKeys(names, packed_ids));
      }
    }
    std::vector<uint64_t> deleted_ids;
    auto committed =
        IndexWriter::Commit(*index_, [&](Txn& txn) -> absl::StatusOr<uint64_t> {
          if (options_.id_mode == IdMode::kAutoGenerate) {
            const uint64_t base = NextAutoId(txn.state());
            if (n_ > UINT64_MAX - base)
              return absl::ResourceExhaustedError("batch: ids exhausted");
            for (size_t i = 0; i < n_; ++i) owned_ids[i] = base + i;
            txn.mutable_state()->next_auto_id = base + n_;
          }
          for (const auto& [source, offset] : stream_offsets_)
            txn.mutable_state()->stream_offsets[source] = offset;
          // The most this batch holds: its records, the gather buffers
          // (sampled in ApplyParallel) and this flush's id and key arrays.
          // The records do not change during the flush: counted once.
          flush_bytes_ = RecordBytes() + owned_ids.capacity() * 8;
          for (const auto& k : key_ids) flush_bytes_ += k.capacity() * 8;
          ApplyAdds(txn, ids, key_ids, packed_ids);
          FB_RETURN_IF_ERROR(ApplyClearsAndDeletes(txn, &deleted_ids));
          if (keyed_index_ && !deleted_ids.empty())
            ++txn.mutable_state()->column_key_deletes;
          return uint64_t(n_);
        });
    if (!committed.ok()) return committed.status();
    result.accepted = *committed;
    if (keyed_index_ && !deleted_ids.empty()) {
      // As Index::Delete: free the deleted records' keys after the commit.
      FB_RETURN_IF_ERROR(state->column_keys->DeleteIds(deleted_ids).status());
      FB_RETURN_IF_ERROR(IndexWriter::FlushKeys(*index_));
      column_cache_->Clear();
      seen_key_deletes_ = IndexWriter::Current(*index_)->column_key_deletes;
    }
    // Cache counters are cumulative; report this flush's share.
    uint64_t hits = 0, misses = 0;
    for (Column& col : columns_) {
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
    // The time views' buffers are per flush: two batches flushing in turn
    // (the importer's pipeline) then share the memory instead of each
    // keeping its own.
    time_scratch_ = TimeScratch();
    Reset();
    return result;
  }

 private:
  struct Delete {
    std::variant<std::monostate, uint64_t, std::string> id;
    std::vector<std::string> fields;  // empty: the whole record
  };
  // Records of a flush grouped by shard: record k of the grouping is
  // order[k], or k itself when order is null (ids already in shard order).
  struct Grouping {
    const uint32_t* order = nullptr;
    const uint64_t* ids = nullptr;  // record ids, by record position
    uint32_t Rec(size_t k) const {
      return order == nullptr ? uint32_t(k) : order[k];
    }
  };

  // A set of offsets in one shard, in any order and with repeats, built
  // into a Roaring32. A large set fills a bitset of the shard (2^20 bits,
  // kept across shards and flushes) and becomes containers block by block
  // (Roaring32::AppendBlock), about 1 ns per offset; a small set is sorted
  // and added, so sparse shards never scan the bitset.
  class ShardBits {
   public:
    // Starts a set of up to `n` offsets.
    void Start(size_t n) {
      dense_ = n >= kDenseBits;
      offs_.clear();
      if (dense_ && words_.empty()) words_.resize(kShardWidth / 64);
    }
    ABSL_ATTRIBUTE_ALWAYS_INLINE void Add(uint32_t off) {
      if (dense_) {
        words_[off >> 6] |= uint64_t{1} << (off & 63);
        touched_ |= uint16_t(1u << (off >> 16));
      } else {
        offs_.push_back(off);
      }
    }
    bool empty() const { return dense_ ? touched_ == 0 : offs_.empty(); }
    size_t MemoryBytes() const {
      return words_.capacity() * 8 + offs_.capacity() * 4;
    }
    // Empties the set without building it.
    void Discard() {
      offs_.clear();
      for (uint32_t key = 0; touched_ != 0; ++key, touched_ >>= 1) {
        if (touched_ & 1) {
          std::fill_n(words_.data() + key * kBlockWords, kBlockWords,
                      uint64_t{0});
        }
      }
    }
    // The set, leaving this one empty.
    Roaring32 Take() {
      if (!dense_) {
        if (!std::is_sorted(offs_.begin(), offs_.end()))
          std::sort(offs_.begin(), offs_.end());
        Roaring32 r = Roaring32::FromValues(offs_);
        offs_.clear();
        return r;
      }
      Roaring32 r;
      for (uint32_t key = 0; touched_ != 0; ++key, touched_ >>= 1) {
        if ((touched_ & 1) == 0) continue;
        uint64_t* block = words_.data() + key * kBlockWords;
        r.AppendBlock(uint16_t(key), block);
        std::fill(block, block + kBlockWords, uint64_t{0});
      }
      return r;
    }

   private:
    // Below this many offsets, sorting beats a bitset's fixed costs.
    static constexpr size_t kDenseBits = 4096;
    static constexpr size_t kBlockWords = 1024;       // 2^16 bits
    static_assert(kShardWidth <= (size_t{1} << 20));  // touched_: 16 blocks
    bool dense_ = false;
    uint16_t touched_ = 0;
    std::vector<uint64_t> words_;
    std::vector<uint32_t> offs_;
  };

  // One column's share of one shard during Flush; buffers kept across
  // shards and flushes.
  struct ColumnWork {
    FieldState* f = nullptr;
    std::vector<std::pair<uint64_t, uint32_t>> pairs;  // (row, offset)
    ShardBits exists;                                  // existence
    std::vector<std::pair<uint32_t, int64_t>> values;  // (offset, stored)
    int depth = 0;
    // Created (serially) before the parallel build; null when untouched.
    Fragment* standard = nullptr;
    Fragment* existence = nullptr;
    BsiShard* bsi = nullptr;
  };

  // ApplyTimeColumn's buffers, kept between the shards of a flush.
  struct TimeScratch {
    struct Unit {
      int64_t unit;  // hours or days since 1970
      size_t count;  // pairs in it
    };
    std::vector<std::pair<uint64_t, uint32_t>> pairs;    // record order
    std::vector<uint32_t> pair_units;                    // pairs' unit ids
    std::vector<std::pair<uint64_t, uint32_t>> by_time;  // timed, by unit
    std::vector<uint32_t> offs;                          // existence
    std::vector<Unit> units;                             // by first use
    absl::flat_hash_map<int64_t, uint32_t> unit_index;   // unit -> id
    std::vector<uint32_t> order;                         // ids by time
    std::vector<size_t> start;                           // per id

    size_t Bytes() const {
      return (pairs.capacity() + by_time.capacity()) * sizeof(pairs[0]) +
             (pair_units.capacity() + offs.capacity() + order.capacity()) * 4 +
             units.capacity() * sizeof(Unit) + start.capacity() * 8 +
             unit_index.capacity() * 16;
    }
  };

  absl::Status RecordError(size_t pos, const Record& r, std::string_view field,
                           const absl::Status& why) const {
    const std::string where =
        field.empty() ? fmt::format("batch: record {} ({})", pos, IdText(r.id))
                      : fmt::format("batch: record {} ({}): field \"{}\"", pos,
                                    IdText(r.id), field);
    return Annotate(why, where);
  }

  absl::Status ValidateId(const Record& r, size_t pos) const {
    auto bad = [&](std::string_view why) {
      return RecordError(pos, r, "",
                         absl::InvalidArgumentError(std::string(why)));
    };
    switch (options_.id_mode) {
      case IdMode::kExplicit:
        if (keyed_index_) {
          if (!std::holds_alternative<std::string>(r.id))
            return bad("a keyed index needs a record key");
          const std::string& k = std::get<std::string>(r.id);
          if (k.empty()) return bad("empty record key");
          if (k.size() > KeyTranslator::kMaxKeyBytes) {
            return bad(
                fmt::format("record key of {} bytes over the {}-byte limit",
                            k.size(), KeyTranslator::kMaxKeyBytes));
          }
          if (const std::optional<size_t> at = FirstInvalidUtf8(k)) {
            return bad(
                fmt::format("record key is not valid UTF-8 (byte {} of {})",
                            *at + 1, k.size()));
          }
        } else if (!std::holds_alternative<uint64_t>(r.id)) {
          return bad("needs an integer record id");
        }
        return absl::OkStatus();
      case IdMode::kAutoGenerate:
        if (!std::holds_alternative<std::monostate>(r.id))
          return bad("ids are auto-generated");
        return absl::OkStatus();
      case IdMode::kOffset:
        if (!std::holds_alternative<std::monostate>(r.id))
          return bad("ids come from the offset");
        if (r.stream_offset >= (uint64_t{1} << 40))
          return bad("stream offset over 2^40");
        if (r.stream_partition >= (uint32_t{1} << 23))
          return bad("stream partition over 2^23");
        return absl::OkStatus();
    }
    return absl::OkStatus();
  }

  // What Stage needs of a column's field, from the index version state_.
  struct ValuePlan {
    const FieldState* field = nullptr;
    bool has_standard_view = true;
    // Value fields.
    FieldType type = FieldType::kInt;
    int scale = 0;
    TimeUnit unit = TimeUnit::kSecond;
    int64_t min = 0, max = 0, base = 0;
  };

  // Validates `r` and appends it to the columns in one pass over its values
  // (each value is read once). On a bad value, undoes what this record
  // appended (rows, values, new keys) and returns the error: the batch is
  // exactly as before.
  absl::Status Stage(const Record& r) {
    const size_t pos = size();
    FB_RETURN_IF_ERROR(ValidateId(r, pos));
    if (r.values.size() != columns_.size()) {
      return RecordError(
          pos, r, "",
          absl::InvalidArgumentError(fmt::format(
              "{} values for {} fields", r.values.size(), columns_.size())));
    }
    State();  // refreshes plans_
    bool has_time = false;
    int64_t time = kNoTime;
    if (r.time) {
      if (!HasCivilYear(*r.time)) {
        return RecordError(pos, r, "", ToCivil(*r.time).status());
      }
      has_time = true;
      time = absl::ToUnixSeconds(*r.time);
    }
    for (size_t i = 0; i < columns_.size(); ++i) {
      absl::Status st = StageValue(i, r.values[i], has_time);
      if (!st.ok()) {
        Unstage(i + 1);
        return RecordError(pos, r, columns_[i].name, st);
      }
    }
    switch (options_.id_mode) {
      case IdMode::kExplicit:
        if (keyed_index_) {
          col_keys_.push_back(std::get<std::string>(r.id));
        } else {
          ids_.push_back(std::get<uint64_t>(r.id));
        }
        break;
      case IdMode::kAutoGenerate:
        break;  // ids are base + position, assigned at flush
      case IdMode::kOffset:
        ids_.push_back((uint64_t{r.stream_partition} << 40) | r.stream_offset);
        break;
    }
    if (any_time_) times_.push_back(time);
    ++n_;
    return absl::OkStatus();
  }

  // Undoes what Stage appended for the record at position n_ in columns
  // [0, end).
  void Unstage(size_t end) {
    for (size_t i = 0; i < end; ++i) {
      Column& col = columns_[i];
      switch (col.kind) {
        case Column::Kind::kPackedBool:
        case Column::Kind::kBool:
          col.bools.truncate(n_);
          break;
        case Column::Kind::kValue:
          col.stored.truncate(n_);
          col.present.truncate(n_);
          break;
        case Column::Kind::kRows:
          if (col.multi) {
            col.refs.truncate(col.starts[n_]);
            col.starts.truncate(n_ + 1);
          } else {
            col.singles.truncate(n_);
          }
          for (size_t k = col.key_mark; k < col.keys.size(); ++k)
            col.key_index.erase(col.keys[k]);
          col.keys.resize(col.key_mark);
          break;
      }
    }
  }

  // Checks value `in` for column `i` and appends it; on error the caller
  // unstages column i too (key_mark is set before any key is added). Errors
  // name the problem only (the caller adds the record and field).
  absl::Status StageValue(size_t i, const FieldInput& in, bool has_time) {
    Column& col = columns_[i];
    const Value* v = std::get_if<Value>(&in);
    const bool null = v != nullptr && v->is_null();
    switch (col.kind) {
      case Column::Kind::kPackedBool:
      case Column::Kind::kBool:
        if (null) {
          col.bools.push_back(-1);
          return absl::OkStatus();
        }
        if (v == nullptr || v->kind() != Value::Kind::kBool)
          return absl::InvalidArgumentError("takes true, false or null");
        col.bools.push_back(v->boolean() ? 1 : 0);
        return absl::OkStatus();
      case Column::Kind::kValue: {
        if (null) {
          col.stored.push_back(0);
          col.present.push_back(0);
          return absl::OkStatus();
        }
        if (v == nullptr)
          return absl::InvalidArgumentError("takes one value, not a list");
        int64_t stored;
        if (!FastStoredValue(plans_[i], *v, &stored)) {
          FB_ASSIGN_OR_RETURN(stored, StoredValue(i, *v));
        }
        col.stored.push_back(stored);
        col.present.push_back(1);
        return absl::OkStatus();
      }
      case Column::Kind::kRows:
        break;
    }
    col.key_mark = col.keys.size();
    if (!col.multi) {
      if (null) {
        col.singles.push_back(kNullRef);
        return absl::OkStatus();
      }
      if (v == nullptr)
        return absl::InvalidArgumentError("takes one row, not a list");
      uint64_t ref;
      if (!FastRowRef(col, *v, &ref)) {
        FB_ASSIGN_OR_RETURN(ref, RowRef(col, *v));
      }
      col.singles.push_back(ref);
      return absl::OkStatus();
    }
    if (null) {
      col.starts.push_back(uint32_t(col.refs.size()));
      return absl::OkStatus();
    }
    // Appended refs are kept by starts only when the record is complete;
    // on error the caller truncates refs back to starts[n_].
    if (v != nullptr) {
      uint64_t ref;
      if (!FastRowRef(col, *v, &ref)) {
        FB_ASSIGN_OR_RETURN(ref, RowRef(col, *v));
      }
      col.refs.push_back(ref);
    } else if (const auto* ids = std::get_if<std::vector<uint64_t>>(&in)) {
      // An empty list is valid for any multi field, keyed or not.
      if (ids->empty()) col.refs.push_back(kExistOnly);
      for (uint64_t id : *ids) {
        if (col.keyed)
          return absl::InvalidArgumentError("is keyed: give row keys");
        if (id > kMaxRowId) return RowIdTooBig(id);
        col.refs.push_back(id);
      }
    } else {
      const auto& keys = std::get<std::vector<std::string>>(in);
      if (keys.empty()) col.refs.push_back(kExistOnly);
      for (const std::string& k : keys) {
        if (k.empty()) return absl::InvalidArgumentError("empty key in a list");
        if (!col.keyed)
          return absl::InvalidArgumentError("is not keyed: give row ids");
        if (k.size() > KeyTranslator::kMaxKeyBytes) return KeyTooLong(k);
        if (FirstInvalidUtf8(k)) return KeyNotUtf8(k);
        col.refs.push_back(col.AddKey(k));
      }
    }
    if (col.type == FieldType::kTime && !has_time &&
        !plans_[i].has_standard_view) {
      return absl::InvalidArgumentError(
          "has no standard view and needs a record time");
    }
    col.starts.push_back(uint32_t(col.refs.size()));
    return absl::OkStatus();
  }

  // RowRef's common case without a StatusOr: a valid id or key. False
  // when RowRef has an error to report.
  ABSL_ATTRIBUTE_ALWAYS_INLINE static bool FastRowRef(Column& col,
                                                      const Value& v,
                                                      uint64_t* ref) {
    if (v.kind() == Value::Kind::kId && !col.keyed && v.id() <= kMaxRowId) {
      *ref = v.id();
      return true;
    }
    if (v.kind() == Value::Kind::kKey && col.keyed &&
        v.key().size() <= KeyTranslator::kMaxKeyBytes &&
        !FirstInvalidUtf8(v.key())) {
      *ref = col.AddKey(v.key());
      return true;
    }
    return false;
  }

  // The ref of a single row value: an id, or the index of a key.
  absl::StatusOr<uint64_t> RowRef(Column& col, const Value& v) {
    if (v.kind() == Value::Kind::kId) {
      if (col.keyed)
        return absl::InvalidArgumentError("is keyed: give row keys");
      if (v.id() > kMaxRowId) return RowIdTooBig(v.id());
      return v.id();
    }
    if (v.kind() == Value::Kind::kKey) {
      if (!col.keyed)
        return absl::InvalidArgumentError("is not keyed: give row ids");
      if (v.key().size() > KeyTranslator::kMaxKeyBytes)
        return KeyTooLong(v.key());
      if (FirstInvalidUtf8(v.key())) return KeyNotUtf8(v.key());
      return col.AddKey(v.key());
    }
    return absl::InvalidArgumentError(fmt::format(
        "takes a row {}, not {}", col.keyed ? "key" : "id", v.DebugString()));
  }

  static absl::Status RowIdTooBig(uint64_t id) {
    return absl::InvalidArgumentError(
        fmt::format("row id {} over the maximum {}", id, kMaxRowId));
  }
  static absl::Status KeyNotUtf8(std::string_view k) {
    return absl::InvalidArgumentError(
        fmt::format("key is not valid UTF-8 (byte {} of {})",
                    *FirstInvalidUtf8(k) + 1, k.size()));
  }
  static absl::Status KeyTooLong(std::string_view k) {
    return absl::InvalidArgumentError(
        fmt::format("key of {} bytes over the {}-byte limit", k.size(),
                    KeyTranslator::kMaxKeyBytes));
  }

  // The stored value of `v` in the common exact cases (an int for an int
  // field, a decimal of the field's scale, a timestamp), in range: the same
  // value BsiRawValue and ToStored give. False otherwise (StoredValue then
  // decides, and words any error).
  ABSL_ATTRIBUTE_ALWAYS_INLINE static bool FastStoredValue(const ValuePlan& p,
                                                           const Value& v,
                                                           int64_t* stored) {
    int64_t raw = 0;
    switch (v.kind()) {
      case Value::Kind::kInt:
        if (p.type != FieldType::kInt) return false;
        raw = v.integer();
        break;
      case Value::Kind::kDecimal:
        if (p.type != FieldType::kDecimal || v.scale() != p.scale) return false;
        raw = v.unscaled();
        break;
      case Value::Kind::kTimestamp: {
        if (p.type != FieldType::kTimestamp) return false;
        const absl::Time t = v.timestamp();
        if (p.unit == TimeUnit::kSecond) {
          // Whole seconds, rounded down, as TimeToUnits; infinite times
          // are its errors.
          if (t == absl::InfiniteFuture() || t == absl::InfinitePast())
            return false;
          raw = absl::ToUnixSeconds(t);
        } else {
          auto units = TimeToUnits(t, p.unit);
          if (!units.ok()) return false;
          raw = *units;
        }
        break;
      }
      default:
        return false;
    }
    if (raw < p.min || raw > p.max) return false;
    *stored = int64_t(__int128(raw) - p.base);
    return true;
  }

  // The stored value of `v` for value column `i` through BsiRawValue and
  // ToStored, so values and messages match single writes.
  absl::StatusOr<int64_t> StoredValue(size_t i, const Value& v) const {
    const FieldState& f = *plans_[i].field;
    FB_ASSIGN_OR_RETURN(const int64_t raw, BsiRawValue(f, v, "value"));
    return f.bsi->ToStored(raw);
  }

  // The index version used to validate values; refreshed after each flush
  // (and when fields are added), so Add never takes the index's lock.
  const IndexState* State() {
    if (!state_) {
      state_ = IndexWriter::Current(*index_);
      plans_.assign(columns_.size(), ValuePlan{});
      for (size_t i = 0; i < columns_.size(); ++i) {
        if (columns_[i].kind == Column::Kind::kPackedBool) continue;
        const FieldState* f = state_->FindField(columns_[i].name);
        ValuePlan& p = plans_[i];
        p.field = f;
        p.has_standard_view = f->has_standard_view();
        if (f->bsi) {
          p.type = f->options.type;
          p.scale = f->bsi->scale();
          p.unit = f->bsi->unit();
          p.min = f->bsi->min();
          p.max = f->bsi->max();
          p.base = f->bsi->base();
        }
      }
    }
    return state_.get();
  }

  absl::StatusOr<std::vector<uint64_t>> TranslateColumnKeys(
      const IndexState& state) {
    std::vector<uint64_t> ids(n_, 0);
    std::vector<std::string_view> misses;
    // (record, index in misses) of every record whose key missed.
    std::vector<std::pair<uint32_t, uint32_t>> miss_pos;
    absl::flat_hash_map<std::string_view, uint32_t> first_miss;
    for (size_t i = 0; i < n_; ++i) {
      if (auto hit = column_cache_->Lookup(col_keys_[i])) {
        ids[i] = *hit;
        continue;
      }
      auto [it, fresh] =
          first_miss.try_emplace(col_keys_[i], uint32_t(misses.size()));
      if (fresh) misses.push_back(col_keys_[i]);
      miss_pos.emplace_back(uint32_t(i), it->second);
    }
    std::vector<uint64_t> got(misses.size());
    FB_RETURN_IF_ERROR(state.column_keys->CreateKeys(misses, got));
    for (size_t m = 0; m < misses.size(); ++m)
      column_cache_->Insert(misses[m], got[m]);
    for (const auto& [i, m] : miss_pos) ids[i] = got[m];
    return ids;
  }

  absl::StatusOr<std::vector<uint64_t>> TranslateRowKeys(const FieldState& f,
                                                         Column* col) {
    std::vector<uint64_t> ids(col->keys.size(), 0);
    std::vector<std::string_view> misses;
    std::vector<size_t> miss_pos;
    for (size_t k = 0; k < col->keys.size(); ++k) {
      if (auto hit = col->cache->Lookup(col->keys[k])) {
        ids[k] = *hit;
      } else {
        misses.push_back(col->keys[k]);
        miss_pos.push_back(k);
      }
    }
    std::vector<uint64_t> got(misses.size());
    FB_RETURN_IF_ERROR(f.row_keys->CreateKeys(misses, got));
    for (size_t m = 0; m < misses.size(); ++m) {
      col->cache->Insert(misses[m], got[m]);
      ids[miss_pos[m]] = got[m];
    }
    return ids;
  }

  void ApplyAdds(Txn& txn, std::span<const uint64_t> ids,
                 const std::vector<std::vector<uint64_t>>& key_ids,
                 const std::vector<uint64_t>& packed_ids) {
    if (n_ == 0) return;
    const OwnerToken owner = txn.owner();
    // Records grouped by shard, keeping their order inside a shard (the last
    // write per record wins). Ids in shard order (auto-generated ids, offset
    // streams, sorted explicit ids) need no permutation: order stays empty
    // and record k of the grouping is record k.
    std::vector<uint32_t> order;
    const auto by_shard = [&](uint64_t x, uint64_t y) {
      return ShardOf(x) < ShardOf(y);
    };
    if (!std::is_sorted(ids.begin(), ids.end(), by_shard)) {
      order.resize(n_);
      uint64_t lo = UINT64_MAX, hi = 0;
      for (uint64_t id : ids) {
        lo = std::min(lo, ShardOf(id));
        hi = std::max(hi, ShardOf(id));
      }
      if (hi - lo < n_) {
        // A stable counting sort over the (few) shards spanned.
        std::vector<uint32_t> next(hi - lo + 2, 0);
        for (uint64_t id : ids) ++next[ShardOf(id) - lo + 1];
        std::partial_sum(next.begin(), next.end(), next.begin());
        for (size_t i = 0; i < n_; ++i)
          order[next[ShardOf(ids[i]) - lo]++] = uint32_t(i);
      } else {
        std::iota(order.begin(), order.end(), 0);
        std::stable_sort(order.begin(), order.end(),
                         [&](uint32_t a, uint32_t b) {
                           return ShardOf(ids[a]) < ShardOf(ids[b]);
                         });
      }
    }
    flush_bytes_ += order.capacity() * 4;
    const Grouping g{order.empty() ? nullptr : order.data(), ids.data()};
    for (size_t a = 0; a < n_;) {
      const uint64_t shard = ShardOf(ids[g.Rec(a)]);
      size_t b = a;
      while (b < n_ && ShardOf(ids[g.Rec(b)]) == shard) ++b;
      if (txn.state().options.track_existence) {
        ShardBits& bits = records_exist_;
        bits.Start(b - a);
        for (size_t k = a; k < b; ++k) bits.Add(OffsetInShard(ids[g.Rec(k)]));
        txn.MutableExists(shard)->AddToRow(owner, 0, bits.Take());
      }
      // Columns that touch shared fields (packed bools) or derive views
      // from record times go one by one; the others build their fragments
      // and BSI shards in parallel (each its own (field, view, shard)
      // objects), after the serial part has created those objects.
      serial_.clear();
      parallel_.clear();
      for (size_t c = 0; c < columns_.size(); ++c) {
        const Column& col = columns_[c];
        // A column writing "bools" itself stays in order with the packed
        // bools writing it too.
        const bool serial =
            col.kind == Column::Kind::kPackedBool ||
            (col.kind == Column::Kind::kRows && col.type == FieldType::kTime) ||
            (has_packed_ &&
             (col.name == "bools" || col.name == "bools-exists"));
        (serial ? serial_ : parallel_).push_back(c);
      }
      // Row columns, then value columns: see ApplyParallel's buffers.
      std::stable_partition(parallel_.begin(), parallel_.end(), [&](size_t c) {
        return columns_[c].kind != Column::Kind::kValue;
      });
      size_t packed_index = 0;
      for (size_t c : serial_) {
        Column& col = columns_[c];
        if (col.kind == Column::Kind::kPackedBool) {
          // serial_ is in column order, as packed_ids.
          ApplyPackedBool(txn, col, packed_ids[packed_index++], shard, g, a, b);
          continue;
        }
        if (col.kind == Column::Kind::kRows && col.type == FieldType::kTime) {
          ApplyTimeColumn(txn, c, shard, g, a, b, key_ids);
          continue;
        }
        ApplyParallel(txn, std::span<const size_t>(&c, 1), shard, g, a, b,
                      key_ids);
      }
      ApplyParallel(txn, parallel_, shard, g, a, b, key_ids);
      a = b;
    }
  }

  // Builds columns `cols` (distinct fields) of records [a, b) of `g` (one
  // shard), as many at a time as the pool has threads: gathers their bits
  // in parallel, creates the fragments and BSI shards they write (the
  // transaction is single-threaded), then fills each in parallel. Pointers
  // into the transaction stay valid meanwhile: each map gains at most this
  // one shard. Working in waves bounds the gather buffers (16 bytes per bit
  // or value) to a wave's columns rather than all of them.
  void ApplyParallel(Txn& txn, std::span<const size_t> cols, uint64_t shard,
                     const Grouping& g, size_t a, size_t b,
                     const std::vector<std::vector<uint64_t>>& key_ids) {
    const OwnerToken owner = txn.owner();
    ThreadPool& pool = ThreadPool::Default();
    const size_t wave = std::max<size_t>(1, pool.size());
    if (work_.size() < wave) work_.resize(wave);
    for (size_t w0 = 0; w0 < cols.size(); w0 += wave) {
      const std::span<const size_t> now =
          cols.subspan(w0, std::min(wave, cols.size() - w0));
      for (size_t i = 0; i < now.size(); ++i) {
        ColumnWork& w = work_[i];
        w.f = txn.MutableField(columns_[now[i]].name);
        // A slot holds one kind of buffer at a time (columns come ordered
        // by kind, so this frees at most once per slot and flush).
        if (columns_[now[i]].kind == Column::Kind::kValue) {
          std::vector<std::pair<uint64_t, uint32_t>>().swap(w.pairs);
        } else {
          std::vector<std::pair<uint32_t, int64_t>>().swap(w.values);
        }
      }
      pool.ParallelFor(now.size(), [&](size_t i) {
        if (g.order == nullptr) {
          Gather<true>(now[i], &work_[i], g, a, b, key_ids[now[i]]);
        } else {
          Gather<false>(now[i], &work_[i], g, a, b, key_ids[now[i]]);
        }
      });
      peak_bytes_ = std::max(peak_bytes_, flush_bytes_ + WorkBytes());
      for (size_t i = 0; i < now.size(); ++i) {
        ColumnWork& w = work_[i];
        w.bsi = nullptr;
        w.standard = w.existence = nullptr;
        if (columns_[now[i]].kind == Column::Kind::kValue) {
          if (w.values.empty()) continue;
          w.bsi = w.f->bsi_shards.Mutate(owner, shard);
          w.f->bsi->GrowBitDepth(w.depth);
          continue;
        }
        if (!w.pairs.empty() && w.f->has_standard_view())
          w.standard = txn.MutableFragment(w.f, kStandardView, shard);
        if (!w.exists.empty() && w.f->tracks_existence())
          w.existence = txn.MutableFragment(w.f, kExistenceView, shard);
      }
      pool.ParallelFor(now.size(), [&](size_t i) {
        ColumnWork& w = work_[i];
        if (w.bsi != nullptr)
          *w.bsi = BsiShard::Apply(*w.bsi, w.values, nullptr);
        if (w.standard != nullptr) w.standard->AddBulk(owner, w.pairs);
        if (w.existence != nullptr) {
          w.existence->AddToRow(owner, 0, w.exists.Take());
        } else {
          w.exists.Discard();  // so the bits start clear next time
        }
      });
    }
  }

  // Collects column `c`'s bits of records [a, b) of `g` (one shard) into
  // *work: (row, offset) pairs and existence offsets for row fields,
  // (offset, stored) pairs for value fields, sorted by offset with the last
  // write per record kept. Reads only the batch, so columns run in parallel.
  // kInOrder: record k of the grouping is record k (no permutation).
  template <bool kInOrder>
  void Gather(size_t c, ColumnWork* work, const Grouping& g, size_t a, size_t b,
              const std::vector<uint64_t>& keys) {
    const Column& col = columns_[c];
    ColumnWork& w = *work;
    w.depth = 0;
    const auto rec = [&](size_t k) -> uint32_t {
      return kInOrder ? uint32_t(k) : g.order[k];
    };
    const uint64_t* ids = g.ids;
    switch (col.kind) {
      case Column::Kind::kBool: {
        w.exists.Start(b - a);
        auto* out = Grow(&w.pairs, b - a);
        const int8_t* bools = col.bools.data();
        size_t n = 0;
        for (size_t k = a; k < b; ++k) {
          const uint32_t r = rec(k);
          if (bools[r] < 0) continue;
          const uint32_t off = OffsetInShard(ids[r]);
          out[n++] = {uint64_t(bools[r]), off};
          w.exists.Add(off);
        }
        w.pairs.resize(n);
        return;
      }
      case Column::Kind::kValue: {
        w.exists.Start(0);
        w.pairs.clear();
        auto* out = Grow(&w.values, b - a);
        const uint8_t* present = col.present.data();
        const int64_t* stored = col.stored.data();
        size_t n = 0;
        for (size_t k = a; k < b; ++k) {
          const uint32_t r = rec(k);
          if (present[r]) out[n++] = {OffsetInShard(ids[r]), stored[r]};
        }
        auto& values = w.values;
        values.resize(n);
        // Last write per record wins: stable sort by offset, keep the last.
        const auto by_off = [](const auto& x, const auto& y) {
          return x.first < y.first;
        };
        if (!std::is_sorted(values.begin(), values.end(), by_off)) {
          std::stable_sort(values.begin(), values.end(), by_off);
        }
        size_t kept = 0;
        uint64_t magnitudes = 0;  // or of every |value|: its width is the depth
        for (size_t i = 0; i < n; ++i) {
          if (i + 1 < n && values[i + 1].first == values[i].first) continue;
          values[kept++] = values[i];
          magnitudes |= BsiMagnitude(values[i].second);
        }
        values.resize(kept);
        w.depth = std::bit_width(magnitudes);
        return;
      }
      default:
        break;
    }
    w.values.clear();
    w.exists.Start(b - a);
    if (!col.multi) {
      auto* out = Grow(&w.pairs, b - a);
      const uint64_t* singles = col.singles.data();
      size_t n = 0;
      for (size_t k = a; k < b; ++k) {
        const uint32_t r = rec(k);
        const uint64_t ref = singles[r];
        if (ref == kNullRef) continue;
        const uint32_t off = OffsetInShard(ids[r]);
        w.exists.Add(off);
        out[n++] = {(ref & kKeyRef) ? keys[ref & ~kKeyRef] : ref, off};
      }
      w.pairs.resize(n);
      return;
    }
    const uint32_t* starts = col.starts.data();
    const uint64_t* refs = col.refs.data();
    w.pairs.clear();
    if (kInOrder) w.pairs.reserve(starts[b] - starts[a]);
    for (size_t k = a; k < b; ++k) {
      const uint32_t r = rec(k);
      const uint32_t from = starts[r], to = starts[r + 1];
      if (from == to) continue;
      const uint32_t off = OffsetInShard(ids[r]);
      w.exists.Add(off);
      for (uint32_t i = from; i < to; ++i) {
        const uint64_t ref = refs[i];
        if (ref == kExistOnly) continue;
        w.pairs.emplace_back((ref & kKeyRef) ? keys[ref & ~kKeyRef] : ref, off);
      }
    }
  }

  // Makes `v` hold at least `n` elements and returns its data, for a loop
  // that writes up to n elements and then resizes `v` to what it wrote. The
  // buffer keeps its size between shards and flushes, so only growth beyond
  // the last count is value-initialized.
  template <typename T>
  static T* Grow(std::vector<T>* v, size_t n) {
    if (v->size() < n) v->resize(n);
    return v->data();
  }

  // A time field's bits of records [a, b) of `g`: the standard view, one view
  // per time quantum of each record's time, and the existence row.
  //
  // The views of a time depend only on its unit in the finest quantum (its
  // hour with H, else its UTC day: months and years start at midnight).
  // The (row, offset) pairs of timed records are sorted by unit (a counting
  // sort over the shard's distinct units, a few thousand at most), after
  // which every view's pairs are one contiguous run: a day's, then its
  // month's (the days of the month), then its year's. So each view's
  // fragment gets a span of one array instead of a vector of its own.
  void ApplyTimeColumn(Txn& txn, size_t c, uint64_t shard, const Grouping& g,
                       size_t a, size_t b,
                       const std::vector<std::vector<uint64_t>>& key_ids) {
    using Pair = std::pair<uint64_t, uint32_t>;
    const OwnerToken owner = txn.owner();
    const Column& col = columns_[c];
    FieldState* f = txn.MutableField(col.name);
    TimeScratch& t = time_scratch_;
    t.pairs.clear();
    t.pair_units.clear();
    t.offs.clear();
    t.units.clear();
    t.unit_index.clear();
    const int64_t unit = f->options.time_quantum.hour ? 3600 : 86400;
    constexpr uint32_t kUntimed = UINT32_MAX;
    for (size_t k = a; k < b; ++k) {
      const uint32_t r = g.Rec(k);
      const uint32_t off = OffsetInShard(g.ids[r]);
      const uint32_t from = col.starts[r], to = col.starts[r + 1];
      if (from == to) continue;
      t.offs.push_back(off);
      uint32_t u = kUntimed;
      if (times_[r] != kNoTime) {
        const int64_t tm = times_[r];
        const int64_t n = tm >= 0 ? tm / unit : -((-tm + unit - 1) / unit);
        auto [it, fresh] =
            t.unit_index.try_emplace(n, uint32_t(t.units.size()));
        if (fresh) t.units.push_back({n, 0});
        u = it->second;
      }
      for (uint32_t i = from; i < to; ++i) {
        const uint64_t ref = col.refs[i];
        if (ref == kExistOnly) continue;
        const uint64_t row = (ref & kKeyRef) ? key_ids[c][ref & ~kKeyRef] : ref;
        t.pairs.emplace_back(row, off);
        t.pair_units.push_back(u);
        if (u != kUntimed) ++t.units[u].count;
      }
    }
    // Units in time order; each unit's pairs start at its running total.
    t.order.resize(t.units.size());
    for (uint32_t i = 0; i < t.order.size(); ++i) t.order[i] = i;
    std::sort(t.order.begin(), t.order.end(), [&](uint32_t x, uint32_t y) {
      return t.units[x].unit < t.units[y].unit;
    });
    t.start.resize(t.units.size());
    size_t timed = 0;
    for (uint32_t i : t.order) {
      t.start[i] = timed;
      timed += t.units[i].count;
    }
    t.by_time.resize(timed);
    for (size_t j = 0; j < t.pairs.size(); ++j) {
      if (t.pair_units[j] != kUntimed)
        t.by_time[t.start[t.pair_units[j]]++] = t.pairs[j];
    }
    peak_bytes_ = std::max(peak_bytes_, flush_bytes_ + WorkBytes());
    // Each quantum unit's views, in time order: consecutive units sharing
    // a view key at a level (year, month, day, hour) make one run.
    struct Run {
      uint64_t view;
      size_t begin, end;
    };
    std::vector<Run> runs;
    std::vector<Run> open;  // per level: the run being extended
    size_t at = 0;
    for (uint32_t i : t.order) {
      const int64_t secs = t.units[i].unit * unit;
      const absl::Time when = absl::FromUnixSeconds(secs);
      // Times were range-checked when added; absl's conversion is the
      // fallback that cannot fail.
      const absl::StatusOr<absl::CivilSecond> civil = ToCivil(when);
      const absl::CivilSecond cs =
          civil.ok() ? *civil : absl::ToCivilSecond(when, absl::UTCTimeZone());
      const std::vector<uint64_t> views =
          ViewsForTime(f->options.time_quantum, cs);
      const size_t end = at + t.units[i].count;
      if (open.size() < views.size()) open.resize(views.size(), {0, 0, 0});
      for (size_t level = 0; level < views.size(); ++level) {
        Run& o = open[level];
        if (o.end == o.begin || o.view != views[level]) {
          if (o.end != o.begin) runs.push_back(o);
          o = {views[level], at, end};
        } else {
          o.end = end;
        }
      }
      at = end;
    }
    for (const Run& o : open) {
      if (o.end != o.begin) runs.push_back(o);
    }
    // The views' fragments are created here (the transaction is
    // single-threaded), then filled in parallel, each its own object: a
    // shard's records spread over thousands of day views, which would
    // otherwise be the one serial stretch of the flush.
    std::vector<std::pair<Fragment*, std::span<const Pair>>> jobs;
    if (!t.pairs.empty() && f->has_standard_view()) {
      jobs.push_back({txn.MutableFragment(f, kStandardView, shard), t.pairs});
    }
    for (const Run& o : runs) {
      jobs.push_back(
          {txn.MutableFragment(f, o.view, shard),
           std::span<const Pair>(t.by_time).subspan(o.begin, o.end - o.begin)});
    }
    ThreadPool::Default().ParallelFor(jobs.size(), [&](size_t i) {
      jobs[i].first->AddBulk(owner, jobs[i].second);
    });
    if (!t.offs.empty() && f->tracks_existence()) {
      if (!std::is_sorted(t.offs.begin(), t.offs.end()))
        std::sort(t.offs.begin(), t.offs.end());
      txn.MutableFragment(f, kExistenceView, shard)
          ->AddToRow(owner, 0, Roaring32::FromValues(t.offs));
    }
  }

  // FeatureBase's packed bools: row `row` (the source field's name) in
  // "bools-exists" for every non-null value, in "bools" when true, and
  // cleared from "bools" when false.
  void ApplyPackedBool(Txn& txn, const Column& col, uint64_t row,
                       uint64_t shard, const Grouping& g, size_t a, size_t b) {
    std::vector<uint32_t> exists, yes, no;
    for (size_t k = a; k < b; ++k) {
      const uint32_t r = g.Rec(k);
      if (col.bools[r] < 0) continue;
      const uint32_t off = OffsetInShard(g.ids[r]);
      exists.push_back(off);
      (col.bools[r] ? yes : no).push_back(off);
    }
    if (exists.empty()) return;
    const OwnerToken owner = txn.owner();
    FieldState* ex = txn.MutableField("bools-exists");
    std::sort(exists.begin(), exists.end());
    txn.MutableFragment(ex, kStandardView, shard)
        ->AddToRow(owner, row, Roaring32::FromValues(exists));
    txn.MutableFragment(ex, kExistenceView, shard)
        ->AddToRow(owner, 0, Roaring32::FromValues(exists));
    FieldState* bools = txn.MutableField("bools");
    Fragment* frag = txn.MutableFragment(bools, kStandardView, shard);
    // In record order, so the last value of a record wins.
    for (size_t k = a; k < b; ++k) {
      const uint32_t r = g.Rec(k);
      if (col.bools[r] < 0) continue;
      const uint32_t off = OffsetInShard(g.ids[r]);
      if (col.bools[r]) {
        frag->Add(owner, row, off);
      } else {
        frag->Remove(owner, row, off);
      }
    }
    if (!yes.empty()) {
      std::sort(yes.begin(), yes.end());
      txn.MutableFragment(bools, kExistenceView, shard)
          ->AddToRow(owner, 0, Roaring32::FromValues(yes));
    }
  }

  // Column id of a clear/delete record: resolved without creating keys.
  std::optional<uint64_t> ResolveId(
      const IndexState& state,
      const std::variant<std::monostate, uint64_t, std::string>& id) {
    if (std::holds_alternative<uint64_t>(id)) return std::get<uint64_t>(id);
    if (std::holds_alternative<std::string>(id) && state.column_keys) {
      auto got = state.column_keys->FindKey(std::get<std::string>(id));
      if (got.ok() && *got != 0) return *got;
    }
    return std::nullopt;
  }

  absl::Status ApplyClearsAndDeletes(Txn& txn,
                                     std::vector<uint64_t>* deleted_ids) {
    const OwnerToken owner = txn.owner();
    for (const Record& r : clears_) {
      const std::optional<uint64_t> col = ResolveId(txn.state(), r.id);
      if (!col) continue;
      const uint64_t shard = ShardOf(*col);
      const uint32_t off = OffsetInShard(*col);
      for (size_t c = 0; c < columns_.size(); ++c) {
        const FieldInput& in = r.values[c];
        if (std::holds_alternative<Value>(in) && std::get<Value>(in).is_null())
          continue;
        const Column& column = columns_[c];
        if (column.kind == Column::Kind::kPackedBool) {
          FieldState* bools = txn.MutableField("bools");
          auto id = bools->row_keys->FindKey(column.name);
          if (id.ok() && *id != 0) {
            txn.MutableFragment(bools, kStandardView, shard)
                ->Remove(owner, *id, off);
          }
          continue;
        }
        FieldState* f = txn.MutableField(column.name);
        if (f->bsi) {
          if (BsiShard* bs = f->bsi_shards.Mutate(owner, shard);
              bs->Value(off)) {
            const Roaring32 one =
                Roaring32::FromValues(std::vector<uint32_t>{off});
            *bs = BsiShard::Apply(*bs, {}, &one);
          }
          continue;
        }
        std::vector<Value> rows;
        if (std::holds_alternative<Value>(in)) {
          rows.push_back(std::get<Value>(in));
        } else if (std::holds_alternative<std::vector<uint64_t>>(in)) {
          for (uint64_t id : std::get<std::vector<uint64_t>>(in))
            rows.push_back(Value::Id(id));
        } else {
          for (const auto& k : std::get<std::vector<std::string>>(in))
            rows.push_back(Value::Key(k));
        }
        for (const Value& v : rows) {
          FB_ASSIGN_OR_RETURN(std::optional<uint64_t> row,
                              ResolveRow(*f, v, "batch clear"));
          if (!row) continue;
          bool removed = false;
          std::vector<uint64_t> view_keys;
          f->views.ForEach([&](uint64_t vk, const View&) {
            if (vk != kExistenceView) view_keys.push_back(vk);
            return true;
          });
          for (uint64_t vk : view_keys) {
            if (f->FindFragment(vk, shard) == nullptr) continue;
            removed |=
                txn.MutableFragment(f, vk, shard)->Remove(owner, *row, off);
          }
          if (removed && f->mode() != Fragment::Mode::kMulti &&
              f->tracks_existence()) {
            txn.MutableFragment(f, kExistenceView, shard)
                ->Remove(owner, 0, off);
          }
        }
      }
    }
    for (const Delete& d : deletes_) {
      const std::optional<uint64_t> col = ResolveId(txn.state(), d.id);
      if (!col) continue;
      const uint64_t shard = ShardOf(*col);
      const Roaring32 one =
          Roaring32::FromValues(std::vector<uint32_t>{OffsetInShard(*col)});
      std::vector<std::string> names = d.fields;
      if (names.empty()) {
        deleted_ids->push_back(*col);
        for (const auto& [name, f] : txn.state().fields) names.push_back(name);
        if (txn.state().exists.Find(shard) != nullptr) {
          txn.MutableExists(shard)->RemoveColumns(owner, one);
        }
      }
      for (const std::string& name : names) {
        FieldState* f = txn.MutableField(name);
        if (f->bsi) {
          if (f->bsi_shards.Find(shard) != nullptr) {
            BsiShard* bs = f->bsi_shards.Mutate(owner, shard);
            *bs = BsiShard::Apply(*bs, {}, &one);
          }
          continue;
        }
        std::vector<uint64_t> view_keys;
        f->views.ForEach([&](uint64_t vk, const View& v) {
          if (v.Find(shard) != nullptr) view_keys.push_back(vk);
          return true;
        });
        for (uint64_t vk : view_keys)
          txn.MutableFragment(f, vk, shard)->RemoveColumns(owner, one);
      }
    }
    return absl::OkStatus();
  }

  void Reset() {
    state_.reset();
    n_ = 0;
    rejected_ = 0;
    ids_.clear();
    col_keys_.clear();
    times_.clear();
    clears_.clear();
    deletes_.clear();
    stream_offsets_.clear();
    for (Column& col : columns_) {
      col.starts.clear();
      col.starts.push_back(0);
      col.refs.clear();
      col.singles.clear();
      col.key_index.clear();
      col.keys.clear();
      col.bools.clear();
      col.stored.clear();
      col.present.clear();
    }
  }

  Index* index_;
  BatchOptions options_;
  // Stream positions to commit with the next flush.
  std::map<std::string, int64_t, std::less<>> stream_offsets_;
  std::vector<Column> columns_;
  bool keyed_index_ = false;
  bool any_time_ = false;
  bool has_packed_ = false;
  size_t n_ = 0;
  uint64_t rejected_ = 0;
  absl::Time first_add_;
  PodVec<uint64_t> ids_;
  std::vector<std::string> col_keys_;
  PodVec<int64_t> times_;
  std::vector<Record> clears_;
  std::vector<Delete> deletes_;
  std::unique_ptr<KeyCache> column_cache_;
  std::vector<ColumnWork> work_;  // per wave slot, during Flush
  TimeScratch time_scratch_;      // during Flush, freed after it
  ShardBits records_exist_;       // during Flush
  size_t flush_bytes_ = 0;        // during Flush: records, ids, keys and order
  size_t peak_bytes_ = 0;         // see PeakMemoryBytes
  std::vector<size_t> serial_, parallel_;  // column indexes, during Flush
  std::shared_ptr<const IndexState> state_;
  std::vector<ValuePlan> plans_;  // per column, from state_
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
