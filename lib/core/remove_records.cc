#include "lib/core/remove_records.h"

#include <string>
#include <vector>

namespace featurebase::internal {

bool RemoveRecords(Txn& txn, uint64_t shard, const Roaring32& offsets) {
  bool changed = false;
  std::vector<std::string> names;
  for (const auto& [name, f] : txn.state().fields) names.push_back(name);
  std::vector<uint64_t> views;
  for (const std::string& name : names) {
    const FieldState* f = txn.state().FindField(name);
    if (f->bsi) {
      const BsiShard* bs = f->bsi_shards.Find(shard);
      if (bs != nullptr && Roaring32::Intersects(bs->Exists(), offsets)) {
        BsiShard* m =
            txn.MutableField(name)->bsi_shards.Mutate(txn.owner(), shard);
        *m = BsiShard::Apply(*m, {}, &offsets);
        changed = true;
      }
    }
    views.clear();
    f->views.ForEach([&](uint64_t vk, const View& view) {
      if (view.Find(shard) != nullptr) views.push_back(vk);
      return true;
    });
    if (views.empty()) continue;
    FieldState* mf = txn.MutableField(name);
    for (uint64_t vk : views) {
      changed |= txn.MutableFragment(mf, vk, shard)
                     ->RemoveColumns(txn.owner(), offsets);
    }
  }
  if (txn.state().exists.Find(shard) != nullptr) {
    changed |= txn.MutableExists(shard)->RemoveColumns(txn.owner(), offsets);
  }
  return changed;
}

}  // namespace featurebase::internal
