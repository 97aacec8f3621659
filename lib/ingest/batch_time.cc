// Batch, stage 4: time fan-out (batch_time.h).
#include "lib/ingest/batch_time.h"

#include <algorithm>
#include <optional>
#include <span>

#include "absl/time/time.h"
#include "featurebase/shard.h"
#include "lib/core/time_views.h"
#include "lib/core/write_views.h"
#include "lib/util/thread_pool.h"

namespace featurebase::internal {

void GatherTimeColumn(const StagedBatch& batch, size_t c, const FieldState& f,
                      const Grouping& g, size_t a, size_t b,
                      const std::vector<uint64_t>& keys, TimeScratch* scratch) {
  const BatchColumn& col = batch.columns[c];
  const PodVec<int64_t>& times = batch.times;
  TimeScratch& t = *scratch;
  t.pairs.clear();
  t.pair_units.clear();
  t.offs.clear();
  t.units.clear();
  t.unit_index.clear();
  t.unit_seconds = f.options.time_quantum.hour ? 3600 : 86400;
  const int64_t unit = t.unit_seconds;
  constexpr uint32_t kUntimed = UINT32_MAX;
  for (size_t k = a; k < b; ++k) {
    const uint32_t r = g.Rec(k);
    const uint32_t off = OffsetInShard(g.ids[r]);
    const uint32_t from = col.starts[r], to = col.starts[r + 1];
    if (from == to || g.Skipped(r)) continue;
    t.offs.push_back(off);
    uint32_t u = kUntimed;
    if (times[r] != kNoTime) {
      const int64_t tm = times[r];
      const int64_t n = tm >= 0 ? tm / unit : -((-tm + unit - 1) / unit);
      auto [it, fresh] = t.unit_index.try_emplace(n, uint32_t(t.units.size()));
      if (fresh) t.units.push_back({n, 0});
      u = it->second;
    }
    for (uint32_t i = from; i < to; ++i) {
      const uint64_t ref = col.refs[i];
      if (ref == kExistOnly) continue;
      t.pairs.emplace_back(RowOfRef(ref, keys), off);
      t.pair_units.push_back(u);
      if (u != kUntimed) ++t.units[u].count;
    }
  }
  // Units in time order; each unit's pairs start at its running total.
  t.order.resize(t.units.size());
  for (uint32_t i = 0; i < t.order.size(); ++i) t.order[i] = i;
  std::sort(t.order.begin(), t.order.end(), [&](uint32_t x, uint32_t y) {
    return t.units[x].unit < t.units[y].unit;
  });
  t.start.resize(t.units.size());
  size_t timed = 0;
  for (uint32_t i : t.order) {
    t.start[i] = timed;
    timed += t.units[i].count;
  }
  t.by_time.resize(timed);
  for (size_t j = 0; j < t.pairs.size(); ++j) {
    if (t.pair_units[j] != kUntimed)
      t.by_time[t.start[t.pair_units[j]]++] = t.pairs[j];
  }
  if (!std::is_sorted(t.offs.begin(), t.offs.end()))
    std::sort(t.offs.begin(), t.offs.end());
}

void ApplyTimeColumn(Txn& txn, FieldState* f, uint64_t shard,
                     const TimeScratch& t) {
  using Pair = std::pair<uint64_t, uint32_t>;
  const OwnerToken owner = txn.owner();
  const int64_t unit = t.unit_seconds;
  const WriteViews untimed = ViewsOfWrite(*f, std::nullopt);
  // Each quantum unit's views, in time order: consecutive units sharing
  // a view key at a level (year, month, day, hour) make one run.
  struct Run {
    uint64_t view;
    size_t begin, end;
  };
  std::vector<Run> runs;
  std::vector<Run> open;  // per level: the run being extended
  size_t at = 0;
  for (uint32_t i : t.order) {
    const int64_t secs = t.units[i].unit * unit;
    const absl::Time when = absl::FromUnixSeconds(secs);
    // Times were range-checked when added; absl's conversion is the
    // fallback that cannot fail.
    const absl::StatusOr<absl::CivilSecond> civil = ToCivil(when);
    const absl::CivilSecond cs =
        civil.ok() ? *civil : absl::ToCivilSecond(when, absl::UTCTimeZone());
    const std::vector<uint64_t> views = ViewsOfWrite(*f, cs).time;
    const size_t end = at + t.units[i].count;
    if (open.size() < views.size()) open.resize(views.size(), {0, 0, 0});
    for (size_t level = 0; level < views.size(); ++level) {
      Run& o = open[level];
      if (o.end == o.begin || o.view != views[level]) {
        if (o.end != o.begin) runs.push_back(o);
        o = {views[level], at, end};
      } else {
        o.end = end;
      }
    }
    at = end;
  }
  for (const Run& o : open) {
    if (o.end != o.begin) runs.push_back(o);
  }
  // The views' fragments are created here (the transaction is
  // single-threaded), then filled in parallel, each its own object: a
  // shard's records spread over thousands of day views, which would
  // otherwise be the one serial stretch of the flush.
  std::vector<std::pair<Fragment*, std::span<const Pair>>> jobs;
  if (!t.pairs.empty() && untimed.standard) {
    jobs.push_back({txn.MutableFragment(f, kStandardView, shard), t.pairs});
  }
  for (const Run& o : runs) {
    jobs.push_back(
        {txn.MutableFragment(f, o.view, shard),
         std::span<const Pair>(t.by_time).subspan(o.begin, o.end - o.begin)});
  }
  ThreadPool::Default().ParallelFor(jobs.size(), [&](size_t i) {
    jobs[i].first->AddBulk(owner, jobs[i].second);
  });
  if (!t.offs.empty() && untimed.existence) {
    txn.MutableFragment(f, kExistenceView, shard)
        ->AddToRow(owner, 0, Roaring32::FromValues(t.offs));
  }
}

}  // namespace featurebase::internal
