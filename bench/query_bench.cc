// Query engine benchmarks on a taxi-like index (bench/util/taxi.h): 10M
// records (200K with FB_BENCH_SMOKE=1), built once per process through the
// Batch API. Each benchmark runs one of the seven taxi queries through the
// C++ builder on the default thread pool; `ms` is the fastest run.
// bench/duckdb_peer_bench.cc runs the same queries side by side with DuckDB.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <string>

#include "bench/util/taxi.h"
#include "featurebase/query.h"
#include "featurebase/query_builder.h"

namespace featurebase {
namespace {

Index& Taxi() {
  static std::unique_ptr<Index> index =
      bench::BuildTaxiIndex(bench::TaxiRecords());
  return *index;
}

void RunQuery(benchmark::State& state, int which) {
  Index& index = Taxi();
  const bench::TaxiQuery& tq = bench::TaxiQueries()[which];
  double best = std::numeric_limits<double>::infinity();
  std::string json;
  for (auto _ : state) {
    auto t0 = std::chrono::steady_clock::now();
    auto r = Query(index, tq.call);
    auto t1 = std::chrono::steady_clock::now();
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    json = r->results[0].json();
    const double s = std::chrono::duration<double>(t1 - t0).count();
    best = std::min(best, s);
    state.SetIterationTime(s);
  }
  state.counters["records"] = double(bench::TaxiRecords());
  state.counters["ms"] = best * 1e3;
  state.SetItemsProcessed(int64_t(state.iterations()) *
                          int64_t(bench::TaxiRecords()));
  state.SetLabel(json.size() > 60 ? json.substr(0, 57) + "..." : json);
}

void BM_CountIntersect(benchmark::State& s) { RunQuery(s, 0); }
void BM_CountRange(benchmark::State& s) { RunQuery(s, 1); }
void BM_SumFiltered(benchmark::State& s) { RunQuery(s, 2); }
void BM_TopN(benchmark::State& s) { RunQuery(s, 3); }
void BM_GroupBy2(benchmark::State& s) { RunQuery(s, 4); }
void BM_GroupBySum(benchmark::State& s) { RunQuery(s, 5); }
void BM_GroupBy3(benchmark::State& s) { RunQuery(s, 6); }

BENCHMARK(BM_CountIntersect)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CountRange)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SumFiltered)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TopN)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GroupBy2)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GroupBySum)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_GroupBy3)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace featurebase

BENCHMARK_MAIN();
