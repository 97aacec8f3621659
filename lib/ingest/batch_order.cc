// Batch, stage 2b: the order of adds and deletes (batch_order.h).
#include "lib/ingest/batch_order.h"

#include <algorithm>
#include <optional>
#include <string>
#include <variant>

#include "absl/container/flat_hash_map.h"
#include "featurebase/shard.h"

namespace featurebase::internal {
namespace {

constexpr uint32_t kNone = UINT32_MAX;

// The column id of a delete or clear, resolved without creating a key.
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

// Whether record `id` existed before the flush. Without existence tracking
// there is no telling: assumed so.
bool Existed(const IndexState& state, uint64_t id) {
  if (!state.options.track_existence) return true;
  const Fragment* f = state.exists.Find(ShardOf(id));
  return f != nullptr && f->Contains(0, OffsetInShard(id));
}

// A record's last tombstone (its `at`) and last add.
struct Last {
  uint32_t tomb = kNone;
  uint32_t add = kNone;
};

// A tombstoned record's tombstones (`at`, ascending) and adds (ascending).
struct Events {
  std::vector<uint32_t> tombs;
  std::vector<uint32_t> adds;
};

}  // namespace

FlushOrder PlanFlushOrder(const IndexState& state, const StagedBatch& batch,
                          std::span<const uint64_t> ids, bool full) {
  FlushOrder out;
  const uint32_t n = uint32_t(batch.n);
  if (!full && batch.deletes.empty() && batch.clears.empty()) {
    out.cuts = {n};
    out.ops.resize(1);
    return out;
  }
  absl::flat_hash_map<uint64_t, Last> last;
  absl::flat_hash_map<uint64_t, Events> events;
  struct Pending {
    FlushOrder::Op op;
    uint32_t at;
  };
  std::vector<Pending> pending;
  for (size_t i = 0; i < batch.deletes.size(); ++i) {
    const BatchDelete& d = batch.deletes[i];
    const std::optional<uint64_t> id = ResolveId(state, d.id);
    if (!id) {
      if (d.fields.empty()) ++out.unknown;
      continue;
    }
    Last& l = last[*id];
    if (d.fields.empty()) {
      l.tomb = d.at;  // deletes come in the order added: `at` ascends
      events[*id].tombs.push_back(d.at);
    } else {
      pending.push_back({{false, uint32_t(i), *id}, d.at});
    }
  }
  for (size_t i = 0; i < batch.clears.size(); ++i) {
    const BatchClear& c = batch.clears[i];
    const std::optional<uint64_t> id = ResolveId(state, c.record.id);
    if (!id) continue;
    last.try_emplace(*id);
    pending.push_back({{true, uint32_t(i), *id}, c.at});
  }
  if (full) last.reserve(last.size() + n);
  for (uint32_t r = 0; r < n; ++r) {
    Last* l;
    if (full) {
      l = &last[ids[r]];
    } else {
      auto it = last.find(ids[r]);
      if (it == last.end()) continue;
      l = &it->second;
    }
    l->add = r;
    if (l->tomb != kNone) events[ids[r]].adds.push_back(r);
  }
  // Adds [0, at) precede a tombstone at `at`.
  bool any_skip = false;
  std::vector<uint8_t> skip(n, 0);
  if (full || !events.empty()) {
    for (uint32_t r = 0; r < n; ++r) {
      auto it = last.find(ids[r]);
      if (it == last.end()) continue;
      const Last& l = it->second;
      if ((l.tomb != kNone && r < l.tomb) || (full && r != l.add)) {
        skip[r] = 1;
        any_skip = true;
      }
    }
  }
  if (any_skip) out.skip = std::move(skip);
  for (const auto& [id, l] : last) {
    if (l.tomb != kNone || (full && l.add != kNone))
      out.record_deletes.push_back(id);
    if (l.tomb != kNone && (l.add == kNone || l.add < l.tomb))
      out.gone.push_back(id);
  }
  std::sort(out.record_deletes.begin(), out.record_deletes.end());
  std::sort(out.gone.begin(), out.gone.end());
  // Each tombstone, in order per record: it deletes a live record (one
  // that existed, or that an add since the last tombstone recreated).
  for (const auto& [id, e] : events) {
    bool live = Existed(state, id);
    size_t j = 0;
    for (const uint32_t t : e.tombs) {
      for (; j < e.adds.size() && e.adds[j] < t; ++j) live = true;
      ++(live ? out.deleted : out.unknown);
      live = false;
    }
  }
  // A field delete or clear at `at` is moot when a tombstone at or after
  // it (no add between) or a full upsert's add after it replaces the
  // record; it cuts the adds when an add of its record follows it.
  std::vector<std::pair<uint32_t, FlushOrder::Op>> placed;
  for (const Pending& p : pending) {
    const Last& l = last[p.op.id];
    if (l.tomb != kNone && p.at <= l.tomb) continue;
    if (full && l.add != kNone && p.at <= l.add) continue;
    const uint32_t cut = l.add != kNone && l.add >= p.at ? p.at : n;
    placed.emplace_back(cut, p.op);
  }
  std::stable_sort(
      placed.begin(), placed.end(),
      [](const auto& x, const auto& y) { return x.first < y.first; });
  for (const auto& [cut, op] : placed) {
    if (out.cuts.empty() || out.cuts.back() != cut) {
      out.cuts.push_back(cut);
      out.ops.emplace_back();
    }
    out.ops.back().push_back(op);
  }
  if (out.cuts.empty() || out.cuts.back() != n) {
    out.cuts.push_back(n);
    out.ops.emplace_back();
  }
  return out;
}

}  // namespace featurebase::internal
