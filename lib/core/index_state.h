// The immutable version of an index that a Snapshot holds, and the
// transaction that builds the next one.
//
// IndexState -> fields (by name) -> FieldState -> views (PersistentMap by
// view key, see time_views.h) -> View (PersistentMap by shard) -> Fragment
// -> rows. Every level is shared between versions; a Txn copies only the
// path to what it changes, stamping copies with its owner token.
#ifndef FEATUREBASE_LIB_CORE_INDEX_STATE_H_
#define FEATUREBASE_LIB_CORE_INDEX_STATE_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "featurebase/field.h"
#include "featurebase/index.h"
#include "featurebase/translate.h"
#include "lib/bsi/bsi_field.h"
#include "lib/bsi/bsi_shard.h"
#include "lib/core/fragment.h"
#include "lib/core/persistent_map.h"
#include "lib/core/time_views.h"

namespace featurebase::internal {

// FeatureBase positions are row·2^20 + column offset in 64 bits, so row ids
// stop at 2^44 - 1; featurebase_core keeps that bound.
inline constexpr uint64_t kMaxRowId = (uint64_t{1} << 44) - 1;

using View = PersistentMap<Fragment>;  // shard -> fragment

struct FieldState {
  OwnerToken owner = 0;
  std::string name;
  FieldOptions options;
  PersistentMap<View> views;  // view key -> view
  std::shared_ptr<KeyTranslator>
      row_keys;  // keyed fields only; shared by versions
  // Int, decimal and timestamp fields: the spec (its bit depth grows with
  // the data, per version) and one bit-sliced index per shard.
  std::optional<BsiFieldSpec> bsi;
  PersistentMap<BsiShard> bsi_shards;

  // Mutex and bool fields hold one row per column.
  Fragment::Mode mode() const {
    switch (options.type) {
      case FieldType::kMutex:
        return Fragment::Mode::kMutex;
      case FieldType::kBool:
        return Fragment::Mode::kBool;
      default:
        return Fragment::Mode::kMulti;
    }
  }
  bool has_standard_view() const {
    return !(options.type == FieldType::kTime && options.no_standard_view);
  }
  // FeatureBase's ActuallyTrackingExistence: set, mutex and bool fields, and
  // time fields that keep a standard view.
  bool tracks_existence() const {
    switch (options.type) {
      case FieldType::kSet:
      case FieldType::kMutex:
      case FieldType::kBool:
        return true;
      case FieldType::kTime:
        return has_standard_view();
      default:
        return false;
    }
  }
  const Fragment* FindFragment(uint64_t view, uint64_t shard) const {
    const View* v = views.Find(view);
    return v == nullptr ? nullptr : v->Find(shard);
  }
};

struct IndexState {
  uint64_t version = 0;
  std::string name;
  IndexOptions options;
  std::map<std::string, std::shared_ptr<FieldState>, std::less<>> fields;
  View exists;  // shard -> fragment whose row 0 lists existing records
  std::shared_ptr<KeyTranslator>
      column_keys;  // keyed indexes only; shared by versions
  // The next id IdMode::kAutoGenerate hands out; only grows.
  uint64_t next_auto_id = 0;
  // Commits that deleted records of a keyed index (their keys are freed and
  // their ids reused): ingest caches of key -> id drop everything when it
  // changes.
  uint64_t column_key_deletes = 0;
  // Positions of stream sources committed with the data they produced.
  std::map<std::string, int64_t, std::less<>> stream_offsets;

  const FieldState* FindField(std::string_view name) const {
    auto it = fields.find(name);
    return it == fields.end() ? nullptr : it->second.get();
  }
};

// ---- helpers shared by the index and the query executor (index.cc)

// A new, empty field stamped with `owner` (its own row-key translator when
// keyed, its BSI spec when a value field). InvalidArgument for a bad name
// or inconsistent options.
absl::StatusOr<std::shared_ptr<FieldState>> NewFieldState(
    std::string_view name, const FieldOptions& options, OwnerToken owner);

bool IsBsi(FieldType t);
// NotFound "<op>: field "<name>" not found".
absl::Status FieldNotFound(std::string_view op, std::string_view field);
// The row id that `v` names in field `f` for operation `op`: Value::Id for
// plain fields, Value::Key for keyed ones (created when `create`, else an
// unknown key is nullopt), Value::Bool for bool fields. InvalidArgument for
// a value of the wrong kind or a row id over kMaxRowId.
absl::StatusOr<std::optional<uint64_t>> ResolveRow(const FieldState& f,
                                                   const Value& v,
                                                   std::string_view op,
                                                   bool create = false);
// The BSI options of public field options.
absl::StatusOr<BsiFieldOptions> ToBsiOptions(std::string_view name,
                                             const FieldOptions& o);
// The raw value (int, unscaled decimal at the field's scale, or units since
// the Unix epoch) of `v` for BSI field `f`, checked against [min, max]
// by the caller (BsiFieldSpec::ToStored).
absl::StatusOr<int64_t> BsiRawValue(const FieldState& f, const Value& v,
                                    std::string_view op);
// A record's value in BSI field `f` as a public Value (Int, Decimal or
// Timestamp), or nullopt.
std::optional<Value> BsiPublicValue(const FieldState& f, int64_t stored);

// Row ids with a bit in any of `views` of `f`, ascending and unique: rows
// above `previous` only, and only rows holding `column` when given.
std::vector<uint64_t> ScanRows(const FieldState& f,
                               std::span<const uint64_t> views,
                               std::optional<uint64_t> previous,
                               std::optional<uint64_t> column);

// Orders `rows` by count descending, then row id ascending (TopN's order),
// keeping the first `n` (all when n is 0).
void RankRows(std::vector<RowCount>* rows, uint64_t n);

// The time views of the coarsest unit present in `f`.
std::vector<uint64_t> CoarsestTimeViews(const FieldState& f);
// The views a read of `f` over `range` unions (standard, or FeatureBase's
// cover of the range). InvalidArgument for a range on a non-time field.
absl::StatusOr<std::vector<uint64_t>> ReadViews(const FieldState& f,
                                                const TimeRange& range,
                                                std::string_view op);

// The id IdMode::kAutoGenerate hands out next in `s`: past every record
// id present anywhere in it (index existence, every field's views and value
// shards) and never below the durable counter next_auto_id, so generated
// ids never overwrite records written with explicit ids, and ids of deleted
// records are not handed out again. O(fields × shards) plus the rows of
// fields without an existence row (time fields without a standard view).
uint64_t NextAutoId(const IndexState& s);

class Txn;

// InvalidArgument unless `source` is a usable stream source name (1..4096
// bytes).
absl::Status ValidateStreamSource(std::string_view source, std::string_view op);

// Builds the next IndexState from a base one. Single-threaded.
class Txn {
 public:
  Txn(const IndexState& base, OwnerToken owner)
      : next_(std::make_shared<IndexState>(base)), owner_(owner) {}

  OwnerToken owner() const { return owner_; }
  const IndexState& state() const { return *next_; }
  IndexState* mutable_state() { return next_.get(); }

  // The field, copied into this transaction on first use; null if absent.
  FieldState* MutableField(std::string_view name) {
    auto it = next_->fields.find(name);
    if (it == next_->fields.end()) return nullptr;
    if (it->second->owner != owner_) {
      auto copy = std::make_shared<FieldState>(*it->second);
      copy->owner = owner_;
      it->second = std::move(copy);
    }
    return it->second.get();
  }

  // The fragment of (field, view, shard), created empty when absent.
  Fragment* MutableFragment(FieldState* field, uint64_t view, uint64_t shard) {
    View* v = field->views.Mutate(owner_, view);
    bool inserted = false;
    Fragment* f = v->Mutate(owner_, shard, &inserted);
    if (inserted)
      *f = Fragment(view == kExistenceView ? Fragment::Mode::kMulti
                                           : field->mode());
    return f;
  }

  Fragment* MutableExists(uint64_t shard) {
    return next_->exists.Mutate(owner_, shard);
  }

  std::shared_ptr<const IndexState> Finish() {
    ++next_->version;
    return std::move(next_);
  }
  // Finishes as `version` (log replay).
  std::shared_ptr<const IndexState> FinishAt(uint64_t version) {
    next_->version = version;
    return std::move(next_);
  }

 private:
  std::shared_ptr<IndexState> next_;
  OwnerToken owner_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_CORE_INDEX_STATE_H_
