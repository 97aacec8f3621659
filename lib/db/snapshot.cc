// Snapshot: an immutable version of an index and its direct reads.
#include <algorithm>
#include <map>
#include <set>
#include <utility>
#include <vector>

#include "absl/container/flat_hash_map.h"
#include "absl/status/status.h"
#include "featurebase/index.h"
#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/core/index_state.h"
#include "lib/core/row_counts.h"
#include "lib/core/time_views.h"
#include "lib/util/status_macros.h"
#include "lib/util/status_util.h"

namespace featurebase {

namespace internal {
namespace {

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

}  // namespace
}  // namespace internal

using internal::BitmapAccess;
using internal::BitmapChunk;
using internal::FieldState;
using internal::Fragment;
using internal::Roaring32;
using internal::RowData;
using internal::View;

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
  // Per row, per shard: the kernel the executor's TopN counts with, summed.
  absl::flat_hash_map<uint64_t, uint64_t> counts;
  const std::vector<uint64_t> views = CountViews(*f);
  std::set<uint64_t> shards;
  for (uint64_t vk : views) {
    if (const View* view = f->views.Find(vk)) {
      view->ForEach([&](uint64_t shard, const Fragment&) {
        shards.insert(shard);
        return true;
      });
    }
  }
  for (uint64_t shard : shards) {
    const Roaring32* fbits =
        filter ? BitmapAccess::Shard(*filter, shard) : nullptr;
    if (filter != nullptr && fbits == nullptr) continue;
    internal::CountRowsInShard(
        *f, views, shard, fbits, nullptr, false,
        [&](uint64_t row, uint64_t count, uint64_t) { counts[row] += count; });
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
