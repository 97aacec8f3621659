// Batch, stage 3: grouping by shard and the parallel apply (batch_apply.h).
#include "lib/ingest/batch_apply.h"

#include <algorithm>
#include <bit>
#include <numeric>
#include <optional>

#include "featurebase/shard.h"
#include "lib/core/write_views.h"
#include "lib/util/thread_pool.h"

namespace featurebase::internal {
namespace {

// |v| without overflow (|INT64_MIN| = 2^63); BsiDepthOf(v) is its width.
constexpr uint64_t BsiMagnitude(int64_t v) {
  return v < 0 ? uint64_t{0} - uint64_t(v) : uint64_t(v);
}

// Makes `v` hold at least `n` elements and returns its data, for a loop
// that writes up to n elements and then resizes `v` to what it wrote. The
// buffer keeps its size between shards and flushes, so only growth beyond
// the last count is value-initialized.
template <typename T>
T* Grow(std::vector<T>* v, size_t n) {
  if (v->size() < n) v->resize(n);
  return v->data();
}

// FeatureBase's packed bools: row `row` (the source field's name) in
// "bools-exists" for every non-null value, in "bools" when true, and
// cleared from "bools" when false.
void ApplyPackedBool(Txn& txn, const BatchColumn& col, uint64_t row,
                     uint64_t shard, const Grouping& g, size_t a, size_t b) {
  std::vector<uint32_t> exists, yes, no;
  for (size_t k = a; k < b; ++k) {
    const uint32_t r = g.Rec(k);
    if (col.bools[r] < 0 || g.Skipped(r)) continue;
    const uint32_t off = OffsetInShard(g.ids[r]);
    exists.push_back(off);
    (col.bools[r] ? yes : no).push_back(off);
  }
  if (exists.empty()) return;
  const OwnerToken owner = txn.owner();
  FieldState* ex = txn.MutableField("bools-exists");
  std::sort(exists.begin(), exists.end());
  txn.MutableFragment(ex, kStandardView, shard)
      ->AddToRow(owner, row, Roaring32::FromValues(exists));
  txn.MutableFragment(ex, kExistenceView, shard)
      ->AddToRow(owner, 0, Roaring32::FromValues(exists));
  FieldState* bools = txn.MutableField("bools");
  Fragment* frag = txn.MutableFragment(bools, kStandardView, shard);
  // In record order, so the last value of a record wins.
  for (size_t k = a; k < b; ++k) {
    const uint32_t r = g.Rec(k);
    if (col.bools[r] < 0 || g.Skipped(r)) continue;
    const uint32_t off = OffsetInShard(g.ids[r]);
    if (col.bools[r]) {
      frag->Add(owner, row, off);
    } else {
      frag->Remove(owner, row, off);
    }
  }
  if (!yes.empty()) {
    std::sort(yes.begin(), yes.end());
    txn.MutableFragment(bools, kExistenceView, shard)
        ->AddToRow(owner, 0, Roaring32::FromValues(yes));
  }
}

}  // namespace

size_t ShardApplier::WorkBytes() const {
  size_t n = 0;
  for (const ColumnWork& w : work_) {
    n += w.pairs.capacity() * sizeof(w.pairs[0]) +
         w.values.capacity() * sizeof(w.values[0]) + w.exists.MemoryBytes();
  }
  return n + records_exist_.MemoryBytes() + time_scratch_.Bytes() +
         merges_.WorkBytes();
}

void ShardApplier::Begin(const StagedBatch& batch, const uint8_t* skip) {
  batch_ = &batch;
  merging_ = merges_.Start(batch, skip);
  skip_ = merging_ ? merges_.skip() : skip;
}

void ShardApplier::ApplyAdds(Txn& txn, std::span<const uint64_t> ids,
                             const TranslatedKeys& keys, size_t held_bytes,
                             size_t lo, size_t hi) {
  flush_bytes_ = held_bytes;
  if (lo >= hi) return;
  const StagedBatch& batch = *batch_;
  const std::vector<std::vector<uint64_t>>& key_ids = keys.row_ids;
  const std::vector<uint64_t>& packed_ids = keys.packed_rows;
  const OwnerToken owner = txn.owner();
  // Records grouped by shard, keeping their order inside a shard (the last
  // write per record wins). Ids in shard order (auto-generated ids, offset
  // streams, sorted explicit ids) need no permutation: the grouping has no
  // order and record k of it is record k.
  const auto by_shard = [&](uint64_t x, uint64_t y) {
    return ShardOf(x) < ShardOf(y);
  };
  const bool in_order =
      std::is_sorted(ids.begin() + lo, ids.begin() + hi, by_shard);
  if (!in_order) {
    if (order_.size() < batch.n) order_.resize(batch.n);
    uint32_t* order = order_.data();
    uint64_t low = UINT64_MAX, high = 0;
    for (size_t i = lo; i < hi; ++i) {
      low = std::min(low, ShardOf(ids[i]));
      high = std::max(high, ShardOf(ids[i]));
    }
    if (high - low < hi - lo) {
      // A stable counting sort over the (few) shards spanned.
      std::vector<uint32_t> next(high - low + 2, 0);
      for (size_t i = lo; i < hi; ++i) ++next[ShardOf(ids[i]) - low + 1];
      std::partial_sum(next.begin(), next.end(), next.begin());
      for (size_t i = lo; i < hi; ++i)
        order[lo + next[ShardOf(ids[i]) - low]++] = uint32_t(i);
    } else {
      std::iota(order + lo, order + hi, uint32_t(lo));
      std::stable_sort(order + lo, order + hi, [&](uint32_t a, uint32_t b) {
        return ShardOf(ids[a]) < ShardOf(ids[b]);
      });
    }
  }
  flush_bytes_ += order_.capacity() * 4;
  const bool merging = merging_;
  const Grouping g{in_order ? nullptr : order_.data(), ids.data(), skip_};
  for (size_t a = lo; a < hi;) {
    const uint64_t shard = ShardOf(ids[g.Rec(a)]);
    size_t b = a;
    while (b < hi && ShardOf(ids[g.Rec(b)]) == shard) ++b;
    if (merging) merges_.ResolveShard(txn.state(), shard, g, a, b);
    if (txn.state().options.track_existence) {
      ShardBitsBuilder& bits = records_exist_;
      bits.Start(b - a);
      for (size_t k = a; k < b; ++k) {
        const uint32_t r = g.Rec(k);
        if (!g.Skipped(r)) bits.Add(OffsetInShard(ids[r]));
      }
      txn.MutableExists(shard)->AddToRow(owner, 0, bits.Take());
    }
    // Columns that touch shared fields (packed bools) or derive views
    // from record times go one by one; the others build their fragments
    // and BSI shards in parallel (each its own (field, view, shard)
    // objects), after the serial part has created those objects.
    serial_.clear();
    parallel_.clear();
    for (size_t c = 0; c < batch.columns.size(); ++c) {
      const BatchColumn& col = batch.columns[c];
      // A column writing "bools" itself stays in order with the packed
      // bools writing it too.
      const bool serial = col.kind == BatchColumn::Kind::kPackedBool ||
                          (col.kind == BatchColumn::Kind::kRows &&
                           col.type == FieldType::kTime) ||
                          (batch.has_packed &&
                           (col.name == "bools" || col.name == "bools-exists"));
      (serial ? serial_ : parallel_).push_back(c);
    }
    // Row columns, then value columns: see ApplyParallel's buffers.
    std::stable_partition(parallel_.begin(), parallel_.end(), [&](size_t c) {
      return batch.columns[c].kind != BatchColumn::Kind::kValue;
    });
    size_t packed_index = 0;
    for (size_t c : serial_) {
      const BatchColumn& col = batch.columns[c];
      if (col.kind == BatchColumn::Kind::kPackedBool) {
        // serial_ is in column order, as packed_ids.
        ApplyPackedBool(txn, col, packed_ids[packed_index++], shard, g, a, b);
        continue;
      }
      if (col.kind == BatchColumn::Kind::kRows &&
          col.type == FieldType::kTime) {
        FieldState* f = txn.MutableField(col.name);
        GatherTimeColumn(batch, c, *f, g, a, b, key_ids[c], &time_scratch_);
        NotePeak();
        ApplyTimeColumn(txn, f, shard, time_scratch_);
        continue;
      }
      ApplyParallel(txn, std::span<const size_t>(&c, 1), shard, g, a, b,
                    key_ids);
    }
    ApplyParallel(txn, parallel_, shard, g, a, b, key_ids);
    a = b;
  }
}

// Builds columns `cols` (distinct fields) of records [a, b) of `g` (one
// shard), as many at a time as the pool has threads: gathers their bits
// in parallel, creates the fragments and BSI shards they write (the
// transaction is single-threaded), then fills each in parallel. Pointers
// into the transaction stay valid meanwhile: each map gains at most this
// one shard. Working in waves bounds the gather buffers (16 bytes per bit
// or value) to a wave's columns rather than all of them.
void ShardApplier::ApplyParallel(
    Txn& txn, std::span<const size_t> cols, uint64_t shard, const Grouping& g,
    size_t a, size_t b, const std::vector<std::vector<uint64_t>>& key_ids) {
  const OwnerToken owner = txn.owner();
  ThreadPool& pool = ThreadPool::Default();
  const size_t wave = std::max<size_t>(1, pool.size());
  if (work_.size() < wave) work_.resize(wave);
  for (size_t w0 = 0; w0 < cols.size(); w0 += wave) {
    const std::span<const size_t> now =
        cols.subspan(w0, std::min(wave, cols.size() - w0));
    for (size_t i = 0; i < now.size(); ++i) {
      ColumnWork& w = work_[i];
      w.f = txn.MutableField(batch_->columns[now[i]].name);
      // A slot holds one kind of buffer at a time (columns come ordered
      // by kind, so this frees at most once per slot and flush).
      if (batch_->columns[now[i]].kind == BatchColumn::Kind::kValue) {
        std::vector<std::pair<uint64_t, uint32_t>>().swap(w.pairs);
      } else {
        std::vector<std::pair<uint32_t, int64_t>>().swap(w.values);
      }
    }
    pool.ParallelFor(now.size(), [&](size_t i) {
      if (g.order == nullptr) {
        Gather<true>(now[i], &work_[i], g, a, b, key_ids[now[i]]);
      } else {
        Gather<false>(now[i], &work_[i], g, a, b, key_ids[now[i]]);
      }
    });
    NotePeak();
    for (size_t i = 0; i < now.size(); ++i) {
      ColumnWork& w = work_[i];
      w.bsi = nullptr;
      w.standard = w.existence = nullptr;
      if (batch_->columns[now[i]].kind == BatchColumn::Kind::kValue) {
        if (w.values.empty()) continue;
        w.bsi = w.f->bsi_shards.Mutate(owner, shard);
        w.f->bsi->GrowBitDepth(w.depth);
        continue;
      }
      const WriteViews views = ViewsOfWrite(*w.f, std::nullopt);
      if (!w.pairs.empty() && views.standard)
        w.standard = txn.MutableFragment(w.f, kStandardView, shard);
      if (!w.exists.empty() && views.existence)
        w.existence = txn.MutableFragment(w.f, kExistenceView, shard);
    }
    pool.ParallelFor(now.size(), [&](size_t i) {
      ColumnWork& w = work_[i];
      if (w.bsi != nullptr) *w.bsi = BsiShard::Apply(*w.bsi, w.values, nullptr);
      if (w.standard != nullptr) w.standard->AddBulk(owner, w.pairs);
      if (w.existence != nullptr) {
        w.existence->AddToRow(owner, 0, w.exists.Take());
      } else {
        w.exists.Discard();  // so the bits start clear next time
      }
    });
  }
}

// Collects column `c`'s bits of records [a, b) of `g` (one shard) into
// *work: (row, offset) pairs and existence offsets for row fields,
// (offset, stored) pairs for value fields, sorted by offset with the last
// write per record kept. Reads only the batch, so columns run in parallel.
// kInOrder: record k of the grouping is record k (no permutation).
template <bool kInOrder>
void ShardApplier::Gather(size_t c, ColumnWork* work, const Grouping& g,
                          size_t a, size_t b,
                          const std::vector<uint64_t>& keys) {
  const BatchColumn& col = batch_->columns[c];
  ColumnWork& w = *work;
  w.depth = 0;
  const auto rec = [&](size_t k) -> uint32_t {
    return kInOrder ? uint32_t(k) : g.order[k];
  };
  const uint64_t* ids = g.ids;
  switch (col.kind) {
    case BatchColumn::Kind::kBool: {
      w.exists.Start(b - a);
      auto* out = Grow(&w.pairs, b - a);
      const int8_t* bools = col.bools.data();
      size_t n = 0;
      for (size_t k = a; k < b; ++k) {
        const uint32_t r = rec(k);
        if (bools[r] < 0 || g.Skipped(r)) continue;
        const uint32_t off = OffsetInShard(ids[r]);
        out[n++] = {uint64_t(bools[r]), off};
        w.exists.Add(off);
      }
      w.pairs.resize(n);
      return;
    }
    case BatchColumn::Kind::kValue: {
      w.exists.Start(0);
      w.pairs.clear();
      auto* out = Grow(&w.values, b - a);
      const uint8_t* present = col.present.data();
      const int64_t* merged = merges_.values(c);
      const int64_t* stored = merged ? merged : col.stored.data();
      size_t n = 0;
      for (size_t k = a; k < b; ++k) {
        const uint32_t r = rec(k);
        if (present[r] && !g.Skipped(r))
          out[n++] = {OffsetInShard(ids[r]), stored[r]};
      }
      auto& values = w.values;
      values.resize(n);
      // Last write per record wins: stable sort by offset, keep the last.
      const auto by_off = [](const auto& x, const auto& y) {
        return x.first < y.first;
      };
      if (!std::is_sorted(values.begin(), values.end(), by_off)) {
        std::stable_sort(values.begin(), values.end(), by_off);
      }
      size_t kept = 0;
      uint64_t magnitudes = 0;  // or of every |value|: its width is the depth
      for (size_t i = 0; i < n; ++i) {
        if (i + 1 < n && values[i + 1].first == values[i].first) continue;
        values[kept++] = values[i];
        magnitudes |= BsiMagnitude(values[i].second);
      }
      values.resize(kept);
      w.depth = std::bit_width(magnitudes);
      return;
    }
    default:
      break;
  }
  w.values.clear();
  w.exists.Start(b - a);
  if (!col.multi) {
    auto* out = Grow(&w.pairs, b - a);
    const uint64_t* singles = col.singles.data();
    size_t n = 0;
    for (size_t k = a; k < b; ++k) {
      const uint32_t r = rec(k);
      const uint64_t ref = singles[r];
      if (ref == kNullRef || g.Skipped(r)) continue;
      const uint32_t off = OffsetInShard(ids[r]);
      w.exists.Add(off);
      out[n++] = {RowOfRef(ref, keys), off};
    }
    w.pairs.resize(n);
    return;
  }
  const uint32_t* starts = col.starts.data();
  const uint64_t* refs = col.refs.data();
  w.pairs.clear();
  if (kInOrder) w.pairs.reserve(starts[b] - starts[a]);
  for (size_t k = a; k < b; ++k) {
    const uint32_t r = rec(k);
    const uint32_t from = starts[r], to = starts[r + 1];
    if (from == to || g.Skipped(r)) continue;
    const uint32_t off = OffsetInShard(ids[r]);
    w.exists.Add(off);
    for (uint32_t i = from; i < to; ++i) {
      const uint64_t ref = refs[i];
      if (ref == kExistOnly) continue;
      w.pairs.emplace_back(RowOfRef(ref, keys), off);
    }
  }
}

}  // namespace featurebase::internal
