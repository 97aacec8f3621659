// Batch: the main way data enters an index. Records accumulate in memory and
// Flush() applies all of them as one atomic commit, with the semantics of
// FeatureBase's ingest kit (the batch package of FeatureBase v3): within a
// batch the last value per record wins for mutex, bool and value fields; nulls
// are ignored (nothing set, nothing cleared); set fields accumulate.
//
// A batch is also a table's change stream (Kafka Streams' KTable, fed by a
// changelog topic): adds are upserts (partial by default, FULL on request,
// BatchOptions::upsert), DeleteRecord is a tombstone, and a record without a
// key is dropped and counted, as Kafka Streams drops null-key records. The
// adds and deletes of one record apply in the order they were made, even
// inside one batch: add then tombstone deletes the record, tombstone then
// add recreates it with only what the add carries.
//
// Value fields may instead aggregate (BatchOptions::merges): a click stream
// summed per user, purchases as a running total, the first and last time a
// user was seen. In Kafka Streams' terms, a batch of records with the
// default merge (kLast) upserts into a table (a KTable); with kSum, kCount,
// kMin or kMax it aggregates a stream into one (KGroupedStream#reduce and
// #count), the aggregate being the stored value.
//
// Thread-compatible: one thread fills and flushes a batch; the index may be
// read concurrently (readers see the whole batch or none of it).
#ifndef FEATUREBASE_BATCH_H_
#define FEATUREBASE_BATCH_H_

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "absl/time/time.h"
#include "featurebase/index.h"
#include "featurebase/status.h"
#include "featurebase/value.h"

namespace featurebase {

namespace internal {
class BatchImpl;
}  // namespace internal

// One field's input in a record: a single Value (an id or key for
// set/mutex/time fields, a bool, an int, a decimal, a timestamp, or null),
// or a list of ids or keys for a set field (an empty list marks the record
// as having the field without any row, as FeatureBase does).
using FieldInput =
    std::variant<Value, std::vector<uint64_t>, std::vector<std::string>>;

// A record to add. `id` is the record id (an integer, or a key on keyed
// indexes); it stays empty in the auto-generate and offset id modes.
struct Record {
  std::variant<std::monostate, uint64_t, std::string> id;
  // One input per batch field, in the batch's field order.
  std::vector<FieldInput> values;
  // The record's time for time fields (FeatureBase's RecordTime); time
  // fields without a standard view need it.
  std::optional<absl::Time> time;
  // Offset mode: the stream position this record came from.
  uint32_t stream_partition = 0;
  uint64_t stream_offset = 0;
};

enum class IdMode {
  // Records carry their id (or key on keyed indexes).
  kExplicit,
  // The batch allocates ids from the index's allocator: increasing, never
  // reused within the index's lifetime (durable with the index, storage
  // issue).
  kAutoGenerate,
  // Ids derived from (stream_partition, stream_offset) only:
  // partition · 2^40 + offset, so re-reading the same offsets after a crash
  // maps to the same records. Offsets must be < 2^40, partitions < 2^23.
  kOffset,
};

// What an add does to the values already stored for its record (Pinot's
// two upsert modes; Kafka Streams' KTable is the full one).
enum class Upsert {
  // FeatureBase's partial update, the default: the record's non-null
  // values are written by the rules above (set fields accumulate rows,
  // value fields merge); fields it does not carry or carries as null keep
  // what is stored.
  kPartial,
  // The record replaces the stored record whole, as a KTable's new value
  // replaces the old: at Flush the record's last add in the batch wins
  // (earlier adds of it in the batch are dropped), every field of the index
  // that add does not carry, or carries as null, is cleared (fields outside
  // the batch too), and set fields hold exactly the add's rows. The record
  // exists afterwards even when all its values are null. Only kLast merges.
  kFull,
};

struct BatchOptions {
  // ---- behaviour
  // Records per batch; Add reports the batch full at this size. Default 2^20.
  size_t capacity = size_t{1} << 20;
  // Add and Ready() report the batch ready once this long has passed since
  // its first record (a stream source flushes a quiet partial batch).
  // Default: never.
  absl::Duration stale_after = absl::InfiniteDuration();
  IdMode id_mode = IdMode::kExplicit;
  // Batch fields that are packed bools rather than index fields: each
  // becomes a row key named after the field in two keyed set fields,
  // "bools-exists" (always) and "bools" (set when true, cleared when false),
  // created on Create if missing (FeatureBase's PackBools).
  std::vector<std::string> packed_bools;
  // Merges of value fields of the batch, by field name (absent: kLast).
  // At Flush each record's value combines with the value stored for the
  // record (in the version the flush commits onto) and with the earlier
  // records of the same id in this batch, in the order they were added;
  // the result is written in the same atomic commit, so readers never see
  // a half-merged batch. kSum on int and decimal fields, kCount on int
  // fields (+1 per record with a non-null value; the value must still be
  // valid for the field), kMin and kMax on int, decimal and timestamp
  // fields. Each value is range-checked as it is added, and the merged
  // result at Flush: a result outside the field's [min, max], or one that
  // overflows int64, rejects that record whole (none of its fields is
  // written, and FlushResult::rejections says why); the other records are
  // written. With auto-generated ids a record is always new, so a merge
  // starts from nothing (sum = value, count = 1). Create refuses a merge on
  // a field the batch does not write or whose type does not take it.
  std::map<std::string, Merge, std::less<>> merges;
  // Partial (FeatureBase) or full (KTable) upserts; Create refuses a merge
  // other than kLast under kFull.
  Upsert upsert = Upsert::kPartial;
  // ---- performance
  // Translations kept for this many batches (FeatureBase's cache-length).
  uint64_t key_cache_batches = 64;
};

// What Flush did.
struct FlushResult {
  uint64_t accepted = 0;  // records applied
  // Records rejected by Add since the last flush, and by this Flush.
  uint64_t rejected = 0;
  // Records Add dropped since the last flush for having no key (no id, in
  // the explicit id mode): Kafka Streams' dropped null-key records.
  uint64_t dropped_null_keys = 0;
  // Tombstones (DeleteRecord) that deleted a record, and those that found
  // none (a key never seen, or, where the index tracks existence, a record
  // it does not hold and that no earlier add of this batch created): no-ops.
  // Without existence tracking a tombstone of a known id counts as deleted.
  uint64_t deleted = 0;
  uint64_t unknown_tombstones = 0;
  // The records this Flush rejected (merged values out of range or
  // overflowing): OutOfRange "batch: added record <i> (<id>): field "<f>":
  // sum 130 out of range [0, 120]", <i> counting added records from 0.
  std::vector<Status> rejections;
  uint64_t key_cache_hits = 0;
  uint64_t key_cache_misses = 0;
};

class Batch {
 public:
  // A batch writing `fields` (index fields, or names in
  // options.packed_bools) of `index`, which must outlive it. NotFound for an
  // unknown field; InvalidArgument for a duplicate or a bad option.
  static StatusOr<std::unique_ptr<Batch>> Create(
      Index* index, std::vector<std::string> fields,
      const BatchOptions& options = {});
  ~Batch();
  Batch(const Batch&) = delete;
  Batch& operator=(const Batch&) = delete;

  // Adds a record after validating every value (kind for the field, range
  // of value fields, key length and UTF-8, record id for the id mode).
  // Returns true when the batch is now full or stale (flush it), false
  // otherwise. A record without an id in the explicit id mode (a null key)
  // is dropped and counted (FlushResult::dropped_null_keys), not an error. On a
  // bad record returns InvalidArgument or OutOfRange naming the record (its
  // position in the batch and its id) and the field; the record is counted as
  // rejected and the batch is unchanged. FailedPrecondition when the batch is
  // already full.
  StatusOr<bool> Add(const Record& record);

  // Explicit clears of individual values (set/time fields: one row; value
  // fields: the value) and deletes, applied at Flush in order with the adds
  // of the same record: AddClear removes the values the record names,
  // DeleteFields the record's values in `fields` (FeatureBase's delete
  // ingester, "fields" mode), and DeleteRecord, a tombstone, the whole
  // record (every field, its existence, and on a keyed index its key unless
  // a later add of the batch recreates it). Add then DeleteRecord: the
  // record is gone; DeleteRecord then Add: the record holds only that add.
  // Keys are never created by them: a clear or delete of an unknown key is
  // a no-op (a tombstone is counted, FlushResult::unknown_tombstones). Not
  // in the auto-generate and offset id modes (InvalidArgument).
  Status AddClear(const Record& record);
  Status DeleteFields(std::variant<uint64_t, std::string> id,
                      std::span<const std::string> fields);
  Status DeleteRecord(std::variant<uint64_t, std::string> id);

  // Commits `offset` as the position of stream `source` in the next
  // Flush, atomically with the records (Index::CommitStreamOffset). The last
  // call per source before a Flush wins.
  Status SetStreamOffset(std::string_view source, int64_t offset);

  // Heap bytes held by the pending records and by the working buffers Flush
  // keeps for the next one (buffer capacities included).
  size_t MemoryBytes() const;
  // The most heap bytes the batch has held so far, including each Flush's
  // transient arrays (record ids, key translations, ordering).
  size_t PeakMemoryBytes() const;

  // Records (adds, clears and deletes) waiting for Flush.
  size_t size() const;
  // Full, or stale_after has passed since the first pending record.
  bool Ready() const;

  // Translates keys in bulk, builds per-shard bitmaps in bulk and applies
  // everything as one atomic commit. Leaves the batch empty. On error
  // (which leaves the index unchanged) the pending records stay.
  StatusOr<FlushResult> Flush();

 private:
  explicit Batch(std::unique_ptr<internal::BatchImpl> impl);
  std::unique_ptr<internal::BatchImpl> impl_;
};

// FeatureBase's primary-key rendering: values joined with '|' (ids and
// integers in decimal, keys as-is). InvalidArgument for a null value, and,
// when there are two values or more, for a key value containing '|' (its
// join could equal another record's: "a|b","c" and "a","b|c"); a single
// value is the key as it is.
StatusOr<std::string> JoinPrimaryKey(std::span<const Value> values);

}  // namespace featurebase

#endif  // FEATUREBASE_BATCH_H_
