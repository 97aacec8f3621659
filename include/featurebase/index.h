// Index: a named collection of records (columns) with typed fields, stored
// as roaring bitmaps per 2^20-record shard, with FeatureBase's semantics
// (its index, field and view model, and its record deletion).
//
// Concurrency: one writer at a time (writes serialize on an internal mutex),
// any number of readers. Every write is one atomic commit that publishes a
// new immutable version; readers take a Snapshot (a reference-counted
// version) and never observe a half-applied write, and never wait for a
// writer beyond a pointer copy. Versions share all unchanged structure
// (copy-on-write at row and node granularity), so a commit costs what it
// touches, not the size of the index.
#ifndef FEATUREBASE_INDEX_H_
#define FEATUREBASE_INDEX_H_

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/time/time.h"
#include "featurebase/bitmap.h"
#include "featurebase/field.h"
#include "featurebase/status.h"
#include "featurebase/translate.h"
#include "featurebase/value.h"

namespace featurebase {

namespace internal {
struct IndexState;
class IndexImpl;
class SnapshotAccess;
class IndexWriter;
}  // namespace internal

struct IndexOptions {
  // Records are named by string keys (translated to ids). Default false.
  bool keys = false;
  // Keep the index-level existence row (which records exist): needed by
  // Not, All and `== null`. Default true, as FeatureBase's HTTP API.
  bool track_existence = true;
  // Keyed indexes: the number of key partitions (partitioner.h), 1..65536.
  uint32_t partitions = HashPartitioner::kDefaultPartitions;
};

// How a durable index (Index::Open) acknowledges a commit.
enum class Durability {
  // Each commit is fsync'ed to the write-ahead log before it returns.
  kSync,
  // Commits from concurrent threads share one fsync (group commit); each
  // still returns only once it is durable.
  kGroup,
  // Commits return once written to the operating system (they survive a
  // process crash but not a power loss); Index::Sync() makes them durable.
  kNone,
  // Bulk loading: commits are not logged at all. They become durable at the
  // next checkpoint (Index::Sync, Index::Checkpoint, or closing the index,
  // which always checkpoints in this mode). A crash before then reopens the
  // index at its last checkpoint: every commit since is lost, none is
  // partly kept. Writes each record once instead of twice (log, then
  // checkpoint); for loads that are re-run when they fail.
  kCheckpoint,
};

// Options of Index::Open.
struct OpenOptions {
  // The index name; required to create. On reopen an empty name accepts the
  // stored one, another name is FailedPrecondition.
  std::string name;
  // Used when the directory holds no index yet; on reopen the stored
  // options apply (Index::options() reports them).
  IndexOptions index;
  // Create the index when the directory holds none (else NotFound).
  bool create_if_missing = true;
  Durability durability = Durability::kSync;
  // A background checkpoint starts once the write-ahead log holds this many
  // bytes (0: only explicit Index::Checkpoint calls).
  uint64_t checkpoint_log_bytes = uint64_t{64} << 20;
  // Closing the index writes a checkpoint when the log holds commits, so
  // that the next open replays nothing (false: a faster close, a slower
  // next open).
  bool checkpoint_on_close = true;
  // Open for reading only (default false). A read-only open writes,
  // creates and deletes nothing in the directory, so it works on a
  // read-only mount, without write permission and on a full disk: a
  // missing index is NotFound (create_if_missing is ignored), a torn log
  // tail is ignored in memory without cutting the file, leftovers of an
  // interrupted checkpoint stay, and every commit, Sync and Checkpoint
  // returns FailedPrecondition naming the index. It takes LOCK shared
  // (when LOCK exists): read-only opens coexist with each other, not with
  // a writer (either way round: FailedPrecondition). A writable open also
  // writes nothing until its first commit (the log file is created then),
  // apart from repairing a torn log tail.
  bool read_only = false;
};

// A [from, to) time range for time fields; a missing bound means the
// earliest / latest time view present.
struct TimeRange {
  std::optional<absl::Time> from;
  std::optional<absl::Time> to;
  bool empty() const { return !from && !to; }
};

// Options of Snapshot::Rows (PQL Rows).
struct RowsOptions {
  // Only rows with id > previous.
  std::optional<uint64_t> previous;
  // At most this many rows (0 = no limit).
  uint64_t limit = 0;
  // Only rows having this column.
  std::optional<uint64_t> column;
  // Time fields: rows with a bit in this range.
  TimeRange range;
};

// A row and the number of records in it (TopN, MinRow, MaxRow).
struct RowCount {
  uint64_t row = 0;
  uint64_t count = 0;
  friend bool operator==(const RowCount&, const RowCount&) = default;
};

// A field's name and options, as the index holds them.
struct FieldInfo {
  std::string name;
  FieldOptions options;
};

// An immutable version of an index. All methods are const and thread-safe.
// Unknown fields are NotFound ("field not found: x"); values of the wrong
// kind, or a time range on a non-time field, are InvalidArgument.
class Snapshot {
 public:
  ~Snapshot();
  Snapshot(const Snapshot&) = delete;
  Snapshot& operator=(const Snapshot&) = delete;

  // The commit sequence number of this version (0 for a new index).
  uint64_t version() const;
  const std::string& index_name() const;

  // The position a stream source committed with the data of this version
  // (Index::CommitStreamOffset, Batch::SetStreamOffset), or nullopt.
  std::optional<int64_t> StreamOffset(std::string_view source) const;
  // Every committed stream position, by source name.
  std::vector<std::pair<std::string, int64_t>> StreamOffsets() const;

  // Fields in name order (not the internal existence field).
  std::vector<FieldInfo> Fields() const;
  StatusOr<FieldInfo> Field(std::string_view name) const;

  // Records holding `row` in set/mutex/bool/time fields (Row(f=row)); `row`
  // is a Value::Key on keyed fields (an unknown key is an empty row). For
  // time fields with a non-empty range: the union of FeatureBase's minimal
  // cover of quantum views; without a range: the standard view (or every
  // view when the field has no standard view).
  StatusOr<Bitmap> Row(std::string_view field, const Value& row,
                       const TimeRange& range = {}) const;

  // Row ids having any bit, ascending, filtered by `options` (PQL Rows).
  StatusOr<std::vector<uint64_t>> Rows(std::string_view field,
                                       const RowsOptions& options = {}) const;

  // The `n` rows with most records (0 = all), count descending then row id
  // ascending, counting only records in `filter` when given. Exact: counts
  // are read from the bitmaps of this version, never from a cache.
  // O(rows × shards). Set, mutex and time (standard view) fields.
  StatusOr<std::vector<RowCount>> TopN(std::string_view field, uint64_t n,
                                       const Bitmap* filter = nullptr) const;

  // Smallest / largest row id having any bit (among `filter` when given),
  // with its count: the row's count without a filter, else the intersection
  // count. nullopt when the field is empty.
  StatusOr<std::optional<RowCount>> MinRow(
      std::string_view field, const Bitmap* filter = nullptr) const;
  StatusOr<std::optional<RowCount>> MaxRow(
      std::string_view field, const Bitmap* filter = nullptr) const;

  // Every existing record (All()). FailedPrecondition without existence
  // tracking ("index does not support existence tracking").
  StatusOr<Bitmap> All() const;
  // Existing records not in `x` (Not(x)); same precondition.
  StatusOr<Bitmap> Not(const Bitmap& x) const;
  // Records with a value in `field` (Row(f != null)), and existing records
  // without one (Row(f == null)).
  StatusOr<Bitmap> NotNull(std::string_view field) const;
  StatusOr<Bitmap> Null(std::string_view field) const;

  // The value of `column` in an int, decimal or timestamp field
  // (Value::Int, Value::Decimal at the field's scale, or Value::Timestamp),
  // or nullopt when it has none. InvalidArgument for other field types.
  StatusOr<std::optional<Value>> FieldValue(std::string_view field,
                                            uint64_t column) const;

  // The rows of `column` in `field` (a set field's values; one for mutex).
  StatusOr<std::vector<uint64_t>> RowsOfColumn(std::string_view field,
                                               uint64_t column) const;

  // Key translators (thread-safe, shared by every version: keys are only
  // ever added, or freed by Delete): the index's record keys (null unless
  // the index is keyed) and a keyed field's row keys (null otherwise).
  const KeyTranslator* ColumnKeys() const;
  StatusOr<const KeyTranslator*> RowKeys(std::string_view field) const;

  // Names of the views of a field, e.g. "standard", "existence",
  // "standard_2017", "standard_201701" (for tests and tools).
  StatusOr<std::vector<std::string>> ViewNames(std::string_view field) const;

 private:
  friend class internal::IndexImpl;
  friend class internal::SnapshotAccess;
  explicit Snapshot(std::shared_ptr<const internal::IndexState> state);
  std::shared_ptr<const internal::IndexState> state_;
};

class Index {
 public:
  // Creates an empty in-memory index. InvalidArgument for a bad name.
  static StatusOr<std::unique_ptr<Index>> Create(
      std::string_view name, const IndexOptions& options = {});

  // Creates or reopens a durable index in directory `dir` (created if
  // missing; layout in docs/format.md). Every commit is in the write-ahead
  // log before it returns (see Durability); reopening loads the last
  // checkpoint and replays the log after it. FailedPrecondition when
  // another Index (in this or another process) has the directory open;
  // DataLoss naming the file and offset when a persisted file is corrupt;
  // NotFound when the directory holds no index and !create_if_missing.
  static StatusOr<std::unique_ptr<Index>> Open(const OpenOptions& options,
                                               std::string_view dir);
  ~Index();
  Index(const Index&) = delete;
  Index& operator=(const Index&) = delete;

  const std::string& name() const;
  const IndexOptions& options() const;

  // Adds a field. InvalidArgument for a bad name or inconsistent options
  // (e.g. a time field without quantum, keys on a bool field), AlreadyExists
  // if the name is taken. Immediate and atomic.
  Status CreateField(std::string_view name, const FieldOptions& options);

  // Adds every field of `fields` in one atomic commit: all of them or, on
  // any error, none. Errors as CreateField, naming the field; a name given
  // twice is InvalidArgument. O(n log n) for n fields (plus one copy of the
  // index's field table), where n CreateField calls cost O(n^2): use it to
  // create a wide schema (an import header with thousands of columns).
  Status CreateFields(std::span<const FieldInfo> fields);

  // Keyed indexes: the record id of `key`, created when new (partition-local,
  // see translate.h). FailedPrecondition on an index without keys;
  // InvalidArgument for an empty key, one over 64 KiB or one that is not
  // valid UTF-8.
  StatusOr<uint64_t> ColumnId(std::string_view key);

  // The current version, for any number of reads that must agree.
  std::shared_ptr<const Snapshot> GetSnapshot() const;

  // ---- writes: each is one atomic commit; on error nothing changes.

  // Set(col, field=row [, timestamp]). Set/time fields add the bit; mutex
  // fields replace the record's row; bool fields take Value::Bool. Time
  // fields require `timestamp` (UTC, year 1..9999) unless they keep a
  // standard view, in which case a missing timestamp writes only the
  // standard view. Marks the record as existing (index and field
  // existence). Returns whether anything changed.
  StatusOr<bool> Set(uint64_t column, std::string_view field, const Value& row,
                     std::optional<absl::Time> timestamp = std::nullopt);

  // Writes `value` to the int, decimal or timestamp field `field` of record
  // `column`, combined with the stored value by `merge` (field.h): the
  // single-record form of BatchOptions::merges, for hosts that do not
  // batch. Refused as Create refuses a batch merge; a result that overflows
  // or leaves the field's range is OutOfRange "aggregate: record <c>: field
  // "<f>": sum 130 out of range [0, 120]" and changes nothing. Marks the
  // record as existing. Returns whether the stored value changed. In Kafka
  // Streams' terms: one event of a KGroupedStream#reduce (kSum, kMin,
  // kMax) or #count (kCount) into the table the index holds.
  StatusOr<bool> Aggregate(uint64_t column, std::string_view field, Merge merge,
                           const Value& value);

  // Clear(col, field=row): removes the bit (time fields: from every view).
  // A set field keeps the record's field existence; a mutex or bool field
  // loses it when the bit was set. Returns whether anything changed.
  StatusOr<bool> Clear(uint64_t column, std::string_view field,
                       const Value& row);

  // ClearRow(field=row): removes the row from every shard and view.
  StatusOr<bool> ClearRow(std::string_view field, const Value& row);

  // Store(columns, field=row): the row becomes exactly `columns` in every
  // shard (set fields only; "can't Store() on a mutex field" otherwise).
  // The columns gain field existence; index existence is unchanged, as in
  // FeatureBase.
  Status Store(std::string_view field, const Value& row, const Bitmap& columns);

  // Delete(columns): removes the records entirely: from every row of every
  // view of every field, from field existence and from index existence; a
  // keyed index frees their keys. Returns whether anything changed. This
  // is a KTable's tombstone for many records at once; Batch::DeleteRecord
  // is the one ordered with a batch's adds.
  StatusOr<bool> Delete(const Bitmap& columns);

  // Records `offset` as the position of stream `source` (e.g.
  // "topic/partition"), as one commit. A source that commits its offset with
  // the data it produced (Batch::SetStreamOffset) resumes exactly after it.
  Status CommitStreamOffset(std::string_view source, int64_t offset);

  // ---- change feed: Subscribe(index, listener) in featurebase/change_feed.h
  // follows this index's commits (its engine access).
  friend class ChangeFeedAccess;

  // ---- durability (no-ops for in-memory indexes)

  // True for an index opened on a directory.
  bool durable() const;
  // Makes every acknowledged commit durable: syncs the log (kNone), or
  // writes a checkpoint when commits were made since the last one
  // (kCheckpoint).
  Status Sync();
  // Writes a checkpoint of the current version (only the fragments changed
  // since the last one) and truncates the log. Readers and writers go on
  // meanwhile, except for a short pause to switch log files.
  Status Checkpoint();

  // Drops time views of fields with a TTL whose end is before now - ttl.
  // Returns the number of views dropped.
  StatusOr<uint64_t> ApplyTtl(absl::Time now);

 private:
  friend class internal::IndexWriter;
  explicit Index(std::unique_ptr<internal::IndexImpl> impl);
  std::unique_ptr<internal::IndexImpl> impl_;
};

}  // namespace featurebase

#endif  // FEATUREBASE_INDEX_H_
