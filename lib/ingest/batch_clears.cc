// Batch, stage 5: clears and deletes (batch_clears.h).
#include "lib/ingest/batch_clears.h"

#include <optional>
#include <string>
#include <variant>

#include "featurebase/shard.h"
#include "lib/core/write_views.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {
namespace {

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

}  // namespace

absl::Status ApplyClearsAndDeletes(Txn& txn, const StagedBatch& batch,
                                   std::vector<uint64_t>* deleted_ids) {
  const std::vector<BatchColumn>& columns = batch.columns;
  const OwnerToken owner = txn.owner();
  for (const Record& r : batch.clears) {
    const std::optional<uint64_t> col = ResolveId(txn.state(), r.id);
    if (!col) continue;
    const uint64_t shard = ShardOf(*col);
    const uint32_t off = OffsetInShard(*col);
    for (size_t c = 0; c < columns.size(); ++c) {
      const FieldInput& in = r.values[c];
      if (std::holds_alternative<Value>(in) && std::get<Value>(in).is_null())
        continue;
      const BatchColumn& column = columns[c];
      if (column.kind == BatchColumn::Kind::kPackedBool) {
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
        if (BsiShard* bs = f->bsi_shards.Mutate(owner, shard); bs->Value(off)) {
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
        if (removed && ClearRemovesExistence(*f)) {
          txn.MutableFragment(f, kExistenceView, shard)->Remove(owner, 0, off);
        }
      }
    }
  }
  for (const BatchDelete& d : batch.deletes) {
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

}  // namespace featurebase::internal
