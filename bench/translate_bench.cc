// Key translation benchmarks (the targets, one core):
//   BM_FindKeys_Bulk       lookups of existing keys, bulk API, 16-byte keys,
//                          10M-key store: >= 10M keys/s
//   BM_CreateKeys_Bulk     creating new keys from empty to 10M: >= 3M keys/s;
//                          also reports overhead_bytes_per_key (<= 32)
//   BM_KeyPartitions       the partitioner, bulk: >= 100M keys/s
//   BM_DecodeSnapshot      reopen time of a 10M-key snapshot, extrapolated
//                          to 100M keys
// Inputs are built outside the timed loops with fixed seeds. With
// FB_BENCH_SMOKE=1 every size drops to 100K keys; FB_BENCH_KEYS overrides.
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "bench/util/bandwidth.h"
#include "featurebase/key_cache.h"
#include "featurebase/partitioner.h"
#include "featurebase/translate.h"

namespace featurebase {
namespace {

constexpr size_t kKeyBytes = 16;

// FB_BENCH_KEYS=<n> overrides the store size (e.g. 50000000 to check that
// decode time scales linearly; needs about 140 bytes of RAM per key).
int64_t StoreKeys() {
  if (const char* n = std::getenv("FB_BENCH_KEYS")) return std::atoll(n);
  return bench::SmokeMode() ? 100000 : 10000000;
}

// n random 16-byte keys (7 random bits a byte: ASCII, as keys must be valid
// UTF-8) in one buffer.
struct KeySet {
  std::string bytes;
  std::vector<std::string_view> keys;
};

const KeySet& Keys(size_t n, uint64_t seed) {
  static std::map<std::pair<size_t, uint64_t>, KeySet> cache;
  auto [it, fresh] = cache.try_emplace({n, seed});
  if (fresh) {
    std::mt19937_64 rng(seed);
    KeySet& ks = it->second;
    ks.bytes.resize(n * kKeyBytes);
    for (size_t i = 0; i < n * kKeyBytes; i += 8) {
      const uint64_t v = rng() & 0x7F7F7F7F7F7F7F7Full;
      std::memcpy(ks.bytes.data() + i, &v, 8);
    }
    ks.keys.reserve(n);
    for (size_t i = 0; i < n; ++i) {
      ks.keys.emplace_back(ks.bytes.data() + i * kKeyBytes, kKeyBytes);
    }
  }
  return it->second;
}

// A column translator holding Keys(n, 1), built once.
KeyTranslator& Store(size_t n) {
  static std::map<size_t, std::unique_ptr<KeyTranslator>> cache;
  auto& t = cache[n];
  if (t == nullptr) {
    t = KeyTranslator::NewColumnTranslator();
    const KeySet& ks = Keys(n, 1);
    std::vector<uint64_t> ids(n);
    if (!t->CreateKeys(ks.keys, ids).ok()) std::abort();
  }
  return *t;
}

void BM_FindKeys_Bulk(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const size_t batch = size_t(state.range(1));
  KeyTranslator& t = Store(n);
  // Lookups of the stored keys in a random order (every one is a hit). The
  // batch itself is contiguous, as an ingester's parsed batch would be.
  static std::map<size_t, KeySet> shuffled_cache;
  KeySet& shuffled = shuffled_cache[n];
  if (shuffled.keys.empty()) {
    std::vector<std::string_view> order(Keys(n, 1).keys);
    std::shuffle(order.begin(), order.end(), std::mt19937_64(7));
    for (std::string_view k : order) shuffled.bytes.append(k);
    for (size_t i = 0; i < n; ++i) {
      shuffled.keys.emplace_back(shuffled.bytes.data() + i * kKeyBytes,
                                 kKeyBytes);
    }
  }
  const std::vector<std::string_view>& order = shuffled.keys;
  std::vector<uint64_t> ids(batch);
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + batch > order.size()) pos = 0;
    if (!t.FindKeys({order.data() + pos, batch}, ids).ok()) std::abort();
    benchmark::DoNotOptimize(ids.data());
    pos += batch;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(batch));
  state.counters["keys/s"] = benchmark::Counter(
      double(state.iterations()) * double(batch), benchmark::Counter::kIsRate);
  state.counters["store_keys"] = double(n);
}

void BM_FindKeys_Single(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  KeyTranslator& t = Store(n);
  const KeySet& ks = Keys(n, 1);
  std::mt19937_64 rng(9);
  for (auto _ : state) {
    benchmark::DoNotOptimize(t.FindKey(ks.keys[rng() % n]).value());
  }
  state.SetItemsProcessed(int64_t(state.iterations()));
  state.counters["keys/s"] = benchmark::Counter(double(state.iterations()),
                                                benchmark::Counter::kIsRate);
}

void BM_CreateKeys_Bulk(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const size_t batch = size_t(state.range(1));
  const KeySet& ks = Keys(n, 2);
  std::vector<uint64_t> ids(batch);
  double overhead = 0, memory = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto t = KeyTranslator::NewColumnTranslator();
    state.ResumeTiming();
    for (size_t base = 0; base < n; base += batch) {
      const size_t m = std::min(batch, n - base);
      if (!t->CreateKeys({ks.keys.data() + base, m}, {ids.data(), m}).ok()) {
        std::abort();
      }
    }
    state.PauseTiming();
    memory = double(t->MemoryBytes());
    overhead = double(t->MemoryBytes() - t->KeyBytes()) / double(t->size());
    t.reset();
    state.ResumeTiming();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
  state.counters["keys/s"] = benchmark::Counter(
      double(state.iterations()) * double(n), benchmark::Counter::kIsRate);
  state.counters["overhead_bytes_per_key"] = overhead;
  state.counters["memory_MiB"] = memory / (1 << 20);
}

// Creating keys that already exist (an ingester re-sending keys it did not
// cache): the find-or-create path without allocation.
void BM_CreateKeys_Existing(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const size_t batch = 4096;
  KeyTranslator& t = Store(n);
  const KeySet& ks = Keys(n, 1);
  std::vector<uint64_t> ids(batch);
  size_t pos = 0;
  for (auto _ : state) {
    if (pos + batch > n) pos = 0;
    if (!t.CreateKeys({ks.keys.data() + pos, batch}, ids).ok()) std::abort();
    pos += batch;
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(batch));
  state.counters["keys/s"] = benchmark::Counter(
      double(state.iterations()) * double(batch), benchmark::Counter::kIsRate);
}

void BM_KeyPartitions(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  const KeySet& ks = Keys(n, 3);
  HashPartitioner p;
  std::vector<uint32_t> out(n);
  for (auto _ : state) {
    p.KeyPartitions(ks.keys, out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
  state.counters["keys/s"] = benchmark::Counter(
      double(state.iterations()) * double(n), benchmark::Counter::kIsRate);
}

void BM_DecodeSnapshot(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  std::string snapshot;
  Store(n).EncodeSnapshot(&snapshot);
  // Timed against a streaming read of the snapshot: decode must at least
  // read every byte once.
  double overhead = 0;
  bench::RunAgainstFloor(state, snapshot.size(), [&] {
    auto t = KeyTranslator::DecodeSnapshot(snapshot);
    if (!t.ok() || (*t)->size() != n) std::abort();
    overhead = double((*t)->MemoryBytes() - (*t)->KeyBytes()) / double(n);
  });
  state.counters["decoded_overhead_bytes_per_key"] = overhead;
  state.counters["snapshot_MiB"] = double(snapshot.size()) / (1 << 20);
  state.counters["extrapolated_100M_s"] =
      state.counters["op_ms"].value / 1e3 * (1e8 / double(n));
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
}

void BM_EncodeSnapshot(benchmark::State& state) {
  const size_t n = size_t(state.range(0));
  KeyTranslator& t = Store(n);
  std::string out;
  for (auto _ : state) {
    out.clear();
    t.EncodeSnapshot(&out);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(out.size()));
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
}

// The ingester's cache: a batch of 100K lookups, 90% hits.
void BM_KeyCache_Lookup(benchmark::State& state) {
  const size_t n = 100000;
  const KeySet& ks = Keys(n, 4);
  KeyCache cache;
  for (size_t i = 0; i < n * 9 / 10; ++i) cache.Insert(ks.keys[i], i + 1);
  for (auto _ : state) {
    for (size_t i = 0; i < n; ++i) {
      benchmark::DoNotOptimize(cache.Lookup(ks.keys[i]));
    }
    cache.EndBatch();
  }
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(n));
  state.counters["hit_rate"] =
      double(cache.hits()) / double(cache.hits() + cache.misses());
}

void StoreArgs(benchmark::internal::Benchmark* b) {
  b->Args({StoreKeys(), 4096})->Args({StoreKeys(), 256});
}

BENCHMARK(BM_FindKeys_Bulk)->Apply(StoreArgs);
BENCHMARK(BM_FindKeys_Single)->Arg(StoreKeys());
BENCHMARK(BM_CreateKeys_Bulk)
    ->Args({StoreKeys(), 100000})
    ->Iterations(bench::SmokeMode() ? 2 : 1)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CreateKeys_Existing)->Arg(StoreKeys());
BENCHMARK(BM_KeyPartitions)->Arg(bench::SmokeMode() ? 100000 : 1000000);
BENCHMARK(BM_DecodeSnapshot)
    ->Arg(StoreKeys())
    ->UseManualTime()
    ->Iterations(bench::SmokeMode() ? 2 : 3)
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_EncodeSnapshot)->Arg(StoreKeys())->Unit(benchmark::kMillisecond);
BENCHMARK(BM_KeyCache_Lookup)->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace featurebase

BENCHMARK_MAIN();
