// Batch, stage 3a: merged value columns (batch_merge.h).
#include "lib/ingest/batch_merge.h"

#include <string>
#include <variant>

#include "featurebase/shard.h"
#include "fmt/format.h"
#include "lib/bsi/value_merge.h"
#include "lib/util/status_util.h"

namespace featurebase::internal {

bool MergeResolver::Start(const StagedBatch& batch, const uint8_t* pre_skip) {
  batch_ = &batch;
  cols_.clear();
  errors_.clear();
  for (size_t c = 0; c < batch.columns.size(); ++c) {
    const BatchColumn& col = batch.columns[c];
    if (col.kind == BatchColumn::Kind::kValue && col.merge != Merge::kLast)
      cols_.push_back(c);
  }
  merged_.resize(batch.columns.size());
  for (auto& m : merged_) m.clear();
  if (cols_.empty()) {
    skip_.clear();
    return false;
  }
  if (pre_skip != nullptr) {
    skip_.assign(pre_skip, pre_skip + batch.n);
  } else {
    skip_.assign(batch.n, 0);
  }
  for (size_t c : cols_) merged_[c].resize(batch.n);
  if (scratch_.size() < cols_.size()) scratch_.resize(cols_.size());
  for (Scratch& s : scratch_) {
    if (s.value) continue;
    // Not value-initialized: pages are touched only at records' offsets.
    s.value.reset(new int64_t[kShardWidth]);
    s.has.reset(new uint8_t[kShardWidth]());
  }
  candidate_.resize(cols_.size());
  return true;
}

void MergeResolver::ResolveShard(const IndexState& state, uint64_t shard,
                                 const Grouping& g, size_t a, size_t b) {
  const StagedBatch& batch = *batch_;
  struct Col {
    const BatchColumn* col;
    const BsiFieldSpec* spec;
    Scratch* s;
    int64_t* out;
  };
  std::vector<Col> cols;
  cols.reserve(cols_.size());
  for (size_t i = 0; i < cols_.size(); ++i) {
    const BatchColumn& col = batch.columns[cols_[i]];
    const FieldState* f = state.FindField(col.name);
    Scratch& s = scratch_[i];
    cols.push_back({&col, &*f->bsi, &s, merged_[cols_[i]].data()});
    // The stored values of this shard's records with a value to merge,
    // read in one pass over the BSI planes.
    const BsiShard* bs = f->bsi_shards.Find(shard);
    if (bs == nullptr) continue;
    filter_.Start(b - a);
    for (size_t k = a; k < b; ++k) {
      const uint32_t r = g.Rec(k);
      if (col.present[r] && !skip_[r]) filter_.Add(OffsetInShard(g.ids[r]));
    }
    const Roaring32 filter = filter_.Take();
    bs->ValuesInto(filter, s.value.get(), s.has.get());
  }
  // Records in the order they were added, every merged column of a record
  // at once: a record is taken whole or not at all.
  for (size_t k = a; k < b; ++k) {
    const uint32_t r = g.Rec(k);
    if (skip_[r]) continue;
    const uint32_t off = OffsetInShard(g.ids[r]);
    size_t failed = cols.size();
    for (size_t i = 0; i < cols.size() && failed == cols.size(); ++i) {
      const Col& c = cols[i];
      if (!c.col->present[r]) continue;
      const int64_t v = c.spec->ToRaw(c.col->stored[r]);
      if (!TryMerge(c.col->merge, c.s->has[off] != 0,
                    c.spec->ToRaw(c.s->value[off]), v, c.spec->min(),
                    c.spec->max(), &candidate_[i])) {
        failed = i;
      }
    }
    if (failed != cols.size()) {
      const Col& c = cols[failed];
      skip_[r] = 1;
      const std::string id = batch.keyed_index
                                 ? fmt::format("key \"{}\"", batch.col_keys[r])
                                 : fmt::format("id {}", g.ids[r]);
      errors_.push_back(
          Annotate(MergeError(*c.spec, c.col->merge, c.s->has[off] != 0,
                              c.spec->ToRaw(c.s->value[off]),
                              c.spec->ToRaw(c.col->stored[r])),
                   fmt::format("batch: added record {} ({}): field \"{}\"", r,
                               id, c.col->name)));
      continue;
    }
    for (size_t i = 0; i < cols.size(); ++i) {
      const Col& c = cols[i];
      if (!c.col->present[r]) continue;
      const int64_t stored = int64_t(__int128(candidate_[i]) - c.spec->base());
      c.s->value[off] = stored;
      c.s->has[off] = 1;
      c.out[r] = stored;
    }
  }
  // Leaves the flags clear for the next shard.
  for (const Col& c : cols) {
    for (size_t k = a; k < b; ++k) c.s->has[OffsetInShard(g.ids[g.Rec(k)])] = 0;
  }
}

size_t MergeResolver::WorkBytes() const {
  size_t n = skip_.capacity() + filter_.MemoryBytes();
  for (const auto& m : merged_) n += m.capacity() * 8;
  for (const Scratch& s : scratch_) {
    if (s.value) n += kShardWidth * 9;
  }
  return n;
}

}  // namespace featurebase::internal
