// BSI benchmarks: filtered Sum, materialized `f > c`, Min and Max over 100M
// columns (96 shards) x 32 planes of uniformly random 32-bit values with a
// 50% filter, each timed against a streaming read of the bytes it must read
// (filter + exists + sign + planes) in the same run. Shard-major: every op
// finishes one shard before touching the next, so the per-shard working sets
// (filter & exists, <= 128 KiB) stay in cache.
//
// FB_BENCH_SMOKE=1: 2 shards.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <random>
#include <vector>

#include "bench/util/bandwidth.h"
#include "featurebase/shard.h"
#include "lib/bitmap/roaring32.h"
#include "lib/bsi/bsi_shard.h"

namespace featurebase::internal {
namespace {

constexpr int kPlanes = 32;
// A predicate with mixed bits, above ~62% of the values.
constexpr int64_t kGtPredicate = 0x9E3779B9;

struct Data {
  uint64_t columns = 0;
  std::vector<BsiShard> shards;
  std::vector<Roaring32> filters;
  size_t bytes = 0;  // filter + exists + sign + planes
};

const Data& Inputs() {
  static const Data* data = [] {
    auto* d = new Data;
    d->columns = bench::SmokeMode() ? 2 * kShardWidth : 100'000'000;
    const uint64_t n_shards = (d->columns + kShardWidth - 1) / kShardWidth;
    std::mt19937_64 rng(42);
    std::vector<std::pair<uint32_t, int64_t>> sets;
    std::vector<uint32_t> filter;
    for (uint64_t shard = 0; shard < n_shards; ++shard) {
      const uint64_t n =
          std::min<uint64_t>(kShardWidth, d->columns - shard * kShardWidth);
      sets.clear();
      filter.clear();
      for (uint32_t off = 0; off < n; off += 64) {
        uint64_t coin = rng();
        for (uint32_t j = 0; j < 64 && off + j < n; ++j) {
          // Exactly 32 planes: the top bit of each value is set.
          sets.push_back(
              {off + j, int64_t((rng() & 0xFFFFFFFF) | (uint64_t{1} << 31))});
          if ((coin >> j) & 1) filter.push_back(off + j);
        }
      }
      d->shards.push_back(BsiShard::Apply(BsiShard(), sets, nullptr));
      d->filters.push_back(Roaring32::FromValues(filter));
      d->filters.back().RunOptimize();
      d->bytes +=
          d->shards.back().MemoryBytes() + d->filters.back().MemoryBytes();
    }
    return d;
  }();
  return *data;
}

void SetLabels(benchmark::State& state, const Data& d) {
  state.counters["columns"] = double(d.columns);
  state.counters["shards"] = double(d.shards.size());
  state.counters["planes"] = kPlanes;
  state.counters["MB_read"] = double(d.bytes) / 1e6;
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(d.columns));
}

__int128 SumAll(const Data& d) {
  __int128 total = 0;
  for (size_t i = 0; i < d.shards.size(); ++i) {
    total += d.shards[i].Sum(&d.filters[i]).sum;
  }
  return total;
}

// Merges per-shard extremes: keep the extreme value, add counts on ties.
template <bool kMin>
BsiExtreme ExtremeAll(const Data& d) {
  BsiExtreme best{0, 0};
  for (size_t i = 0; i < d.shards.size(); ++i) {
    auto e =
        kMin ? d.shards[i].Min(&d.filters[i]) : d.shards[i].Max(&d.filters[i]);
    if (!e) continue;
    if (best.count == 0 ||
        (kMin ? e->value < best.value : e->value > best.value)) {
      best = *e;
    } else if (e->value == best.value) {
      best.count += e->count;
    }
  }
  return best;
}

double BestSeconds(int reps, auto&& op) {
  double best = std::numeric_limits<double>::infinity();
  for (int r = 0; r < reps; ++r) {
    auto t0 = std::chrono::steady_clock::now();
    op();
    auto t1 = std::chrono::steady_clock::now();
    best = std::min(best, std::chrono::duration<double>(t1 - t0).count());
  }
  return best;
}

void BM_Sum_Filtered(benchmark::State& state) {
  const Data& d = Inputs();
  bench::RunAgainstFloor(state, d.bytes,
                         [&] { benchmark::DoNotOptimize(SumAll(d)); });
  SetLabels(state, d);
}

// Without a filter the sum comes from per-container cardinalities.
void BM_Sum_Unfiltered(benchmark::State& state) {
  const Data& d = Inputs();
  bench::RunAgainstFloor(state, d.bytes, [&] {
    __int128 total = 0;
    for (const BsiShard& s : d.shards) total += s.Sum(nullptr).sum;
    benchmark::DoNotOptimize(total);
  });
  SetLabels(state, d);
}

void BM_RangeGT_Materialized(benchmark::State& state) {
  const Data& d = Inputs();
  std::vector<Roaring32> out(d.shards.size());
  bench::RunAgainstFloor(state, d.bytes, [&] {
    for (size_t i = 0; i < d.shards.size(); ++i) {
      out[i] = d.shards[i].Range(BsiOp::kGt, kGtPredicate, &d.filters[i]);
    }
    benchmark::DoNotOptimize(out.data());
  });
  uint64_t matched = 0;
  for (const Roaring32& r : out) matched += r.Cardinality();
  state.counters["matched"] = double(matched);
  SetLabels(state, d);
}

template <bool kMin>
void BM_Extreme(benchmark::State& state) {
  const Data& d = Inputs();
  BsiExtreme e;
  bench::RunAgainstFloor(state, d.bytes, [&] {
    benchmark::DoNotOptimize(e = ExtremeAll<kMin>(d));
  });
  // Sum's time in the same run, for the "within 2x of Sum" target.
  const double op_s = state.counters["op_ms"] / 1e3;
  const double sum_s = BestSeconds(
      bench::SmokeMode() ? 1 : 5, [&] { benchmark::DoNotOptimize(SumAll(d)); });
  state.counters["sum_ms"] = sum_s * 1e3;
  state.counters["ratio_to_sum"] = op_s / sum_s;
  state.counters["ties"] = double(e.count);
  SetLabels(state, d);
}

void BM_Min(benchmark::State& state) { BM_Extreme<true>(state); }
void BM_Max(benchmark::State& state) { BM_Extreme<false>(state); }

BENCHMARK(BM_Sum_Filtered)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Sum_Unfiltered)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_RangeGT_Materialized)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Min)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Max)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace featurebase::internal

BENCHMARK_MAIN();
