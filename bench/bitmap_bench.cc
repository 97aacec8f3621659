// Bitmap layer benchmarks: intersect-count, union and and-not over sparse,
// medium and dense bitmaps, each timed against a streaming read of the same
// number of bytes (ratio_to_bandwidth_floor).
#include <benchmark/benchmark.h>

#include <map>
#include <random>
#include <vector>

#include "bench/util/bandwidth.h"
#include "featurebase/bitmap.h"

namespace featurebase {
namespace {

// density_ppm: set bits per million columns.
Bitmap RandomBitmap(uint64_t columns, uint64_t density_ppm, uint64_t seed) {
  std::mt19937_64 rng(seed);
  std::vector<uint64_t> values;
  values.reserve(columns / 1000000 * density_ppm + 16);
  for (uint64_t c = 0; c < columns; ++c) {
    if (rng() % 1000000 < density_ppm) values.push_back(c);
  }
  Bitmap b = Bitmap::FromValues(values);
  b.Optimize();
  return b;
}

struct Pair {
  Bitmap a, b;
};

const Pair& Inputs(uint64_t columns, uint64_t density_ppm) {
  static std::map<std::pair<uint64_t, uint64_t>, Pair> cache;
  auto [it, fresh] = cache.try_emplace({columns, density_ppm});
  if (fresh) {
    it->second.a = RandomBitmap(columns, density_ppm, 1);
    it->second.b = RandomBitmap(columns, density_ppm, 2);
  }
  return it->second;
}

void SetLabels(benchmark::State& state, const Pair& p) {
  state.counters["columns"] = double(state.range(0));
  state.counters["bytes"] = double(p.a.MemoryBytes() + p.b.MemoryBytes());
}

void BM_IntersectCount(benchmark::State& state) {
  const Pair& p = Inputs(state.range(0), state.range(1));
  uint64_t n = 0;
  bench::RunAgainstFloor(state, p.a.MemoryBytes() + p.b.MemoryBytes(), [&] {
    benchmark::DoNotOptimize(n = Bitmap::IntersectCount(p.a, p.b));
  });
  SetLabels(state, p);
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_Union(benchmark::State& state) {
  const Pair& p = Inputs(state.range(0), state.range(1));
  bench::RunAgainstFloor(state, p.a.MemoryBytes() + p.b.MemoryBytes(),
                         [&] { benchmark::DoNotOptimize(p.a | p.b); });
  SetLabels(state, p);
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_AndNot(benchmark::State& state) {
  const Pair& p = Inputs(state.range(0), state.range(1));
  bench::RunAgainstFloor(state, p.a.MemoryBytes() + p.b.MemoryBytes(),
                         [&] { benchmark::DoNotOptimize(p.a - p.b); });
  SetLabels(state, p);
  state.SetItemsProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_UnionCount(benchmark::State& state) {
  const Pair& p = Inputs(state.range(0), state.range(1));
  bench::RunAgainstFloor(state, p.a.MemoryBytes() + p.b.MemoryBytes(), [&] {
    benchmark::DoNotOptimize(Bitmap::UnionCount(p.a, p.b));
  });
  SetLabels(state, p);
}

// Sparse 0.1%, medium 5%, dense 50%.
void Sweep(benchmark::internal::Benchmark* b) {
  const std::vector<int64_t> sizes =
      bench::SmokeMode() ? std::vector<int64_t>{1 << 20}
                         : std::vector<int64_t>{10'000'000, 100'000'000};
  for (int64_t columns : sizes) {
    for (int64_t ppm : {1000, 50000, 500000}) b->Args({columns, ppm});
  }
  b->ArgNames({"columns", "density_ppm"})
      ->UseManualTime()
      ->Unit(benchmark::kMillisecond);
}

BENCHMARK(BM_IntersectCount)->Apply(Sweep);
BENCHMARK(BM_UnionCount)->Apply(Sweep);
BENCHMARK(BM_Union)->Apply(Sweep);
BENCHMARK(BM_AndNot)->Apply(Sweep);

}  // namespace
}  // namespace featurebase

BENCHMARK_MAIN();
