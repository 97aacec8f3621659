#include "lib/query/eval.h"

#include <algorithm>
#include <atomic>
#include <set>
#include <string>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bitmap/bitmap_internal.h"
#include "lib/db/index_access.h"
#include "lib/query/call_args.h"

namespace featurebase::internal {

using pql::Call;
using PKind = pql::Value::Kind;

const Roaring32& EmptyBits() {
  static const Roaring32* empty = new Roaring32();
  return *empty;
}

ExecState::ExecState(Index& index, const QueryOptions& options, bool partial,
                     const std::vector<uint64_t>* only)
    : index(index), partial(partial) {
  // 1: the calling thread; n > 1: at most n threads of the shared pool
  // (rather than a pool per query, whose threads would start per call).
  if (options.threads != 1) pool = &ThreadPool::Default();
  if (options.threads > 1) max_threads = options.threads;
  if (only != nullptr) this->only.emplace(only->begin(), only->end());
}

absl::Status ExecState::Restrict(const Call& c) {
  Refresh();
  if (c.name == "Options") {
    if (c.children.size() != 1) return CallError(c, "expects exactly one call");
    if (const pql::Arg* a = c.Find("shards")) {
      if (a->value.kind != PKind::kList)
        return CallError(c, "shards must be a list");
      std::set<uint64_t> wanted;
      for (const auto& v : a->value.list) {
        if (v.kind != PKind::kInt && v.kind != PKind::kUint)
          return CallError(c, "shards must be integers");
        constexpr uint64_t kMaxShard = ShardOf(UINT64_MAX);
        if (v.kind == PKind::kInt && v.i < 0) {
          return CallError(
              c, fmt::format("shard {} out of range [0, {}]", v.i, kMaxShard));
        }
        const uint64_t shard = v.kind == PKind::kInt ? uint64_t(v.i) : v.u;
        if (shard > kMaxShard) {
          return CallError(c, fmt::format("shard {} out of range [0, {}]",
                                          shard, kMaxShard));
        }
        wanted.insert(shard);
      }
      std::erase_if(shards, [&](uint64_t s) { return !wanted.count(s); });
      restricted = true;
    }
  }
  return absl::OkStatus();
}

void ExecState::Refresh() {
  snap = index.GetSnapshot();
  st = &SnapshotAccess::State(*snap);
  std::set<uint64_t> found;
  auto add_view = [&](const View& v) {
    v.ForEach([&](uint64_t shard, const Fragment&) {
      found.insert(shard);
      return true;
    });
  };
  add_view(st->exists);
  for (const auto& [name, f] : st->fields) {
    f->views.ForEach([&](uint64_t, const View& v) {
      add_view(v);
      return true;
    });
    f->bsi_shards.ForEach([&](uint64_t shard, const BsiShard&) {
      found.insert(shard);
      return true;
    });
  }
  if (only) {
    std::erase_if(found, [&](uint64_t s) { return !only->count(s); });
  }
  shards.assign(found.begin(), found.end());
  restricted = only.has_value();
}

bool ExecState::Visits(uint64_t shard) const {
  return std::binary_search(shards.begin(), shards.end(), shard);
}

void ExecState::ForShards(const std::function<void(size_t)>& fn) const {
  ParallelFor(shards.size(), fn);
}

void ExecState::ParallelFor(size_t n,
                            const std::function<void(size_t)>& fn) const {
  if (pool == nullptr) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  if (max_threads == 0 || n <= max_threads) {
    pool->ParallelFor(n, fn);
    return;
  }
  // At most max_threads tasks, each draining a shared counter: the pool
  // runs a task on one thread, so at most max_threads threads take part.
  std::atomic<size_t> next{0};
  pool->ParallelFor(max_threads, [&](size_t) {
    for (size_t i; (i = next.fetch_add(1)) < n;) fn(i);
  });
}

absl::StatusOr<const FieldState*> ExecState::Field(
    const Call& c, std::string_view name) const {
  const FieldState* f = st->FindField(name);
  if (f == nullptr) return FieldNotFound(fmt::format("{}()", c.name), name);
  return f;
}

Bits Eval(const ExecState& es, const Node& n, uint64_t shard) {
  Bits out;
  switch (n.kind) {
    case NodeKind::kEmpty:
      return out;
    case NodeKind::kRow: {
      std::vector<const internal::RowData*> parts;
      for (uint64_t vk : n.views) {
        const Fragment* frag = n.field->FindFragment(vk, shard);
        if (frag == nullptr) continue;
        if (const internal::RowData* r = frag->Row(n.row)) parts.push_back(r);
      }
      if (parts.size() == 1) return Bits::Of(*parts[0]);
      if (parts.size() > 1) out.own = internal::RowData::Union(parts);
      return out;
    }
    case NodeKind::kAll: {
      const Fragment* frag = es.st->exists.Find(shard);
      if (frag != nullptr) {
        if (const internal::RowData* r = frag->Row(0)) return Bits::Of(*r);
      }
      return out;
    }
    case NodeKind::kExistence: {
      if (n.field->bsi) {
        if (const BsiShard* bs = n.field->bsi_shards.Find(shard)) {
          out.ref = &bs->Exists();
        }
        return out;
      }
      const Fragment* frag = n.field->FindFragment(kExistenceView, shard);
      if (frag != nullptr) {
        if (const internal::RowData* r = frag->Row(0)) return Bits::Of(*r);
      }
      return out;
    }
    case NodeKind::kConst: {
      if (const Roaring32* r = BitmapAccess::Shard(*n.constant, shard))
        out.ref = r;
      return out;
    }
    case NodeKind::kBsi: {
      if (const BsiShard* bs = n.field->bsi_shards.Find(shard)) {
        out.own = EvaluatePredicate(*bs, n.predicate, nullptr);
      }
      return out;
    }
    case NodeKind::kUnion: {
      std::vector<Bits> kids;
      std::vector<const Roaring32*> ptrs;
      kids.reserve(n.kids.size());
      for (const Node& k : n.kids) kids.push_back(Eval(es, k, shard));
      for (const Bits& b : kids) {
        if (!b.get().IsEmpty()) ptrs.push_back(&b.get());
      }
      if (ptrs.size() == 1 && !kids.empty()) {
        for (Bits& b : kids) {
          if (&b.get() == ptrs[0]) return std::move(b);
        }
      }
      if (!ptrs.empty()) out.own = Roaring32::OrMany(ptrs);
      return out;
    }
    case NodeKind::kIntersect:
    case NodeKind::kDifference:
    case NodeKind::kXor: {
      if (n.kids.empty()) return out;
      Bits first = Eval(es, n.kids[0], shard);
      if (n.kids.size() == 1) return first;
      Roaring32 acc = first.Take();
      for (size_t i = 1; i < n.kids.size(); ++i) {
        if (acc.IsEmpty() && n.kind != NodeKind::kXor) break;
        Bits k = Eval(es, n.kids[i], shard);
        if (n.kind == NodeKind::kIntersect) acc.AndInPlace(k.get());
        if (n.kind == NodeKind::kDifference) acc.AndNotInPlace(k.get());
        if (n.kind == NodeKind::kXor) acc.XorInPlace(k.get());
      }
      out.own = std::move(acc);
      return out;
    }
    case NodeKind::kNot: {
      Node all;
      all.kind = NodeKind::kAll;
      Bits a = Eval(es, all, shard);
      Bits k = Eval(es, n.kids[0], shard);
      out.own = Roaring32::AndNot(a.get(), k.get());
      return out;
    }
  }
  return out;
}

// Count without materializing where the shape allows a fused count.
uint64_t CountShard(const ExecState& es, const Node& n, uint64_t shard) {
  if (n.kids.size() == 2 &&
      (n.kind == NodeKind::kIntersect || n.kind == NodeKind::kUnion ||
       n.kind == NodeKind::kDifference || n.kind == NodeKind::kXor)) {
    Bits a = Eval(es, n.kids[0], shard);
    Bits b = Eval(es, n.kids[1], shard);
    switch (n.kind) {
      case NodeKind::kIntersect:
        return Roaring32::AndCardinality(a.get(), b.get());
      case NodeKind::kUnion:
        return Roaring32::OrCardinality(a.get(), b.get());
      case NodeKind::kDifference:
        return Roaring32::AndNotCardinality(a.get(), b.get());
      default:
        return Roaring32::XorCardinality(a.get(), b.get());
    }
  }
  if (n.kind == NodeKind::kNot) {
    Node all;
    all.kind = NodeKind::kAll;
    return Roaring32::AndNotCardinality(Eval(es, all, shard).get(),
                                        Eval(es, n.kids[0], shard).get());
  }
  if (n.kind == NodeKind::kBsi) {
    const BsiShard* bs = n.field->bsi_shards.Find(shard);
    return bs == nullptr ? 0 : CountPredicate(*bs, n.predicate, nullptr);
  }
  return Eval(es, n, shard).get().Cardinality();
}

Bitmap EvalGlobal(ExecState& es, const Node& n) {
  std::vector<BitmapChunk> chunks(es.shards.size());
  es.ForShards([&](size_t i) {
    Bits b = Eval(es, n, es.shards[i]);
    chunks[i] = {es.shards[i], b.Take()};
  });
  return BitmapAccess::FromChunks(std::move(chunks));
}

uint64_t CountGlobal(ExecState& es, const Node& n) {
  std::vector<uint64_t> counts(es.shards.size());
  es.ForShards([&](size_t i) { counts[i] = CountShard(es, n, es.shards[i]); });
  uint64_t total = 0;
  for (uint64_t c : counts) total += c;
  return total;
}

}  // namespace featurebase::internal
