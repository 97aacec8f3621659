// Batch, stage 5: clears and deletes (batch_clears.h).
#include "lib/ingest/batch_clears.h"

#include <optional>
#include <span>
#include <string>
#include <variant>

#include "featurebase/shard.h"
#include "lib/core/remove_records.h"
#include "lib/core/write_views.h"
#include "lib/util/status_macros.h"

namespace featurebase::internal {

void ApplyRecordDeletes(Txn& txn, std::span<const uint64_t> ids) {
  std::vector<uint32_t> offsets;
  for (size_t a = 0; a < ids.size();) {
    const uint64_t shard = ShardOf(ids[a]);
    offsets.clear();
    size_t b = a;
    for (; b < ids.size() && ShardOf(ids[b]) == shard; ++b)
      offsets.push_back(OffsetInShard(ids[b]));
    RemoveRecords(txn, shard, Roaring32::FromValues(offsets));
    a = b;
  }
}

absl::Status ApplyOp(Txn& txn, const StagedBatch& batch,
                     const FlushOrder::Op& op) {
  const std::vector<BatchColumn>& columns = batch.columns;
  const OwnerToken owner = txn.owner();
  const uint64_t shard = ShardOf(op.id);
  if (!op.clear) {
    const Roaring32 one =
        Roaring32::FromValues(std::vector<uint32_t>{OffsetInShard(op.id)});
    for (const std::string& name : batch.deletes[op.index].fields) {
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
    return absl::OkStatus();
  }
  const Record& r = batch.clears[op.index].record;
  const uint32_t off = OffsetInShard(op.id);
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
        const Roaring32 one = Roaring32::FromValues(std::vector<uint32_t>{off});
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
        removed |= txn.MutableFragment(f, vk, shard)->Remove(owner, *row, off);
      }
      if (removed && ClearRemovesExistence(*f)) {
        txn.MutableFragment(f, kExistenceView, shard)->Remove(owner, 0, off);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace featurebase::internal
