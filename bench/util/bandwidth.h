// A streaming-read bandwidth probe: the floor any operation that must read a
// given number of bytes can reach on this machine. Benchmarks time the probe
// and the operation interleaved in one run and report their ratio, because
// the machine is shared and noisy (see docs/benchmarks.md).
#ifndef FEATUREBASE_BENCH_UTIL_BANDWIDTH_H_
#define FEATUREBASE_BENCH_UTIL_BANDWIDTH_H_

#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <vector>

namespace featurebase::bench {

inline bool SmokeMode() { return std::getenv("FB_BENCH_SMOKE") != nullptr; }

// Reads every byte of `buf` (as 64-bit words, four independent accumulators
// so the loop vectorizes and is limited by memory, not by the adder).
inline uint64_t StreamRead(const std::vector<uint64_t>& buf) {
  uint64_t a = 0, b = 0, c = 0, d = 0;
  const size_t n = buf.size() & ~size_t{3};
  for (size_t i = 0; i < n; i += 4) {
    a += buf[i];
    b ^= buf[i + 1];
    c += buf[i + 2];
    d ^= buf[i + 3];
  }
  return a + b + c + d;
}

// Times `op` against a streaming read of `bytes` bytes, interleaved each
// iteration. Reports manual time = op, and counters: floor_ms and op_ms (the
// fastest of each), ratio_to_bandwidth_floor = op_ms / floor_ms, and
// floor_GBps.
template <typename Op>
void RunAgainstFloor(benchmark::State& state, size_t bytes, Op&& op) {
  std::vector<uint64_t> probe(std::max<size_t>(bytes / 8, 4), 0x5555);
  double best_op = std::numeric_limits<double>::infinity();
  double best_floor = best_op;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    auto t0 = Clock::now();
    benchmark::DoNotOptimize(StreamRead(probe));
    auto t1 = Clock::now();
    op();
    auto t2 = Clock::now();
    const double floor_s = std::chrono::duration<double>(t1 - t0).count();
    const double op_s = std::chrono::duration<double>(t2 - t1).count();
    best_floor = std::min(best_floor, floor_s);
    best_op = std::min(best_op, op_s);
    state.SetIterationTime(op_s);
  }
  state.counters["op_ms"] = best_op * 1e3;
  state.counters["floor_ms"] = best_floor * 1e3;
  state.counters["ratio_to_bandwidth_floor"] = best_op / best_floor;
  state.counters["floor_GBps"] = double(bytes) / best_floor / 1e9;
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(bytes));
}

}  // namespace featurebase::bench

#endif  // FEATUREBASE_BENCH_UTIL_BANDWIDTH_H_
