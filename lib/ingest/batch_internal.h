// The staged batch that every stage of Batch shares: records stored column
// by column as Add validated them, read by key translation, the shard
// apply and the time fan-out at flush.
//
// Pipeline (one file each): batch_columns (validate and stage a record) ->
// batch_translate (keys to ids, before the commit) -> batch_apply (group by
// shard, build fragments and BSI shards in parallel) -> batch_time (a time
// field's views) -> batch_clears (clears and deletes); batch_order plans
// how the adds, tombstones and clears of one record keep their order;
// batch.cc is the facade that runs them.
#ifndef FEATUREBASE_LIB_INGEST_BATCH_INTERNAL_H_
#define FEATUREBASE_LIB_INGEST_BATCH_INTERNAL_H_

#include <algorithm>
#include <cassert>
#include <cstdint>
#include <cstring>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <type_traits>
#include <variant>
#include <vector>

#include "absl/base/attributes.h"
#include "absl/container/flat_hash_map.h"
#include "featurebase/batch.h"
#include "featurebase/key_cache.h"
#include "lib/core/index_state.h"

namespace featurebase::internal {

// A staged row reference: a row id, or kKeyRef | the index of a key in the
// column's distinct keys of this batch.
inline constexpr uint64_t kKeyRef = uint64_t{1} << 63;
inline constexpr uint64_t kExistOnly =
    kKeyRef - 1;  // an empty list: existence only
inline constexpr uint64_t kNullRef = kKeyRef - 2;  // a null single-valued row
static_assert(kMaxRowId < kNullRef);
inline constexpr int64_t kNoTime = INT64_MIN;  // a record without time

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

// One field of the batch, its values record by record.
struct BatchColumn {
  enum class Kind { kRows, kBool, kValue, kPackedBool };
  std::string name;
  Kind kind = Kind::kRows;
  FieldType type = FieldType::kSet;
  bool keyed = false;
  // kRows of a set or time field: refs of record r are
  // refs[starts[r] .. starts[r + 1]).
  bool multi = false;
  PodVec<uint32_t> starts;  // starts[0] = 0, pushed by Init and Clear
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
  // kValue: how a value combines with the stored one (BatchOptions::merges).
  Merge merge = Merge::kLast;

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

// A delete and a clear, each with `at`: the number of records added before
// it (it follows adds [0, at) and precedes the others).
struct BatchDelete {
  std::variant<std::monostate, uint64_t, std::string> id;
  std::vector<std::string> fields;  // empty: the whole record (a tombstone)
  uint32_t at = 0;
};
struct BatchClear {
  Record record;
  uint32_t at = 0;
};

// What Add has staged since the last flush.
struct StagedBatch {
  std::vector<BatchColumn> columns;
  bool keyed_index = false;  // record ids are keys (col_keys, not ids)
  bool any_time = false;     // a time column: times holds one per record
  bool has_packed = false;   // a kPackedBool column
  size_t n = 0;              // records
  PodVec<uint64_t> ids;      // explicit or offset ids, per record
  std::vector<std::string> col_keys;  // record keys of a keyed index
  PodVec<int64_t> times;              // unix seconds or kNoTime
  std::vector<BatchClear> clears;
  std::vector<BatchDelete> deletes;

  // The records' buffers (O(records) for keyed indexes: each key).
  size_t RecordBytes() const;
  // Empties the batch, keeping its buffers.
  void Clear();
};

// Records of a flush grouped by shard: record k of the grouping is
// order[k], or k itself when order is null (ids already in shard order).
struct Grouping {
  const uint32_t* order = nullptr;
  const uint64_t* ids = nullptr;  // record ids, by record position
  // By record position, 1 for a record the flush leaves out (a merge
  // rejected it, a later tombstone deletes it, or a full upsert's later
  // add of its record replaces it); null when none is.
  const uint8_t* skip = nullptr;
  uint32_t Rec(size_t k) const {
    return order == nullptr ? uint32_t(k) : order[k];
  }
  bool Skipped(uint32_t r) const { return skip != nullptr && skip[r] != 0; }
};

// The row id of staged ref `ref` (neither kExistOnly nor kNullRef), given
// the column's translated keys.
ABSL_ATTRIBUTE_ALWAYS_INLINE inline uint64_t RowOfRef(
    uint64_t ref, const std::vector<uint64_t>& keys) {
  return (ref & kKeyRef) ? keys[ref & ~kKeyRef] : ref;
}

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_INGEST_BATCH_INTERNAL_H_
