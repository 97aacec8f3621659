// Durable index: commit throughput with per-commit fsync, group commit and
// no sync; checkpoint time (full and incremental); reopen time from a
// checkpoint and with a log tail; bytes on disk per taxi-like record.
//
// FB_BENCH_RECORDS sets the taxi index size (default 2M; 50K in smoke
// mode). The data directories live under $TMPDIR.
#include <unistd.h>

#include <filesystem>
#include <thread>

#include "bench/util/bandwidth.h"
#include "bench/util/taxi.h"
#include "benchmark/benchmark.h"
#include "featurebase/index.h"
#include "fmt/format.h"

namespace featurebase {
namespace {

namespace fs = std::filesystem;

uint64_t Records() {
  if (const char* s = std::getenv("FB_BENCH_RECORDS"))
    return std::strtoull(s, nullptr, 10);
  return bench::SmokeMode() ? 50'000 : 2'000'000;
}

std::string FreshDir(std::string_view tag) {
  const std::string dir = fs::temp_directory_path() /
                          fmt::format("fbc-bench-{}-{}", tag, ::getpid());
  fs::remove_all(dir);
  return dir;
}

uint64_t DiskBytes(const std::string& dir) {
  uint64_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) n += e.file_size();
  return n;
}

std::unique_ptr<Index> OpenOrDie(const std::string& dir, Durability d,
                                 uint64_t checkpoint_bytes = 0) {
  OpenOptions o;
  o.name = "taxi";
  o.durability = d;
  o.checkpoint_log_bytes = checkpoint_bytes;
  auto index = Index::Open(o, dir);
  bench::TaxiCheck(index.status(), "open");
  return std::move(*index);
}

const char* DurabilityName(Durability d) {
  return d == Durability::kSync    ? "sync"
         : d == Durability::kGroup ? "group"
                                   : "none";
}

// One Set per commit from `threads` threads (group commit shares fsyncs
// between them).
void BM_CommitSet(benchmark::State& state) {
  const Durability d = Durability(state.range(0));
  const int threads = int(state.range(1));
  const std::string dir = FreshDir("commit");
  auto index = OpenOrDie(dir, d);
  bench::TaxiCheck(index->CreateField("s", FieldOptions::Set()), "field");
  constexpr int kPerThread = 32;
  uint64_t col = 0;
  for (auto _ : state) {
    std::vector<std::thread> pool;
    for (int t = 0; t < threads; ++t) {
      pool.emplace_back([&, t, base = col] {
        for (int i = 0; i < kPerThread; ++i) {
          bench::TaxiCheck(
              index->Set(base + uint64_t(t * kPerThread + i), "s", Value::Id(1))
                  .status(),
              "set");
        }
      });
    }
    for (auto& th : pool) th.join();
    col += uint64_t(threads * kPerThread);
  }
  state.SetItemsProcessed(int64_t(col));
  state.SetLabel(fmt::format("{} x{} threads", DurabilityName(d), threads));
  index.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_CommitSet)
    ->Args({int(Durability::kSync), 1})
    ->Args({int(Durability::kGroup), 4})
    ->Args({int(Durability::kNone), 1})
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Taxi batches of 64K records, one commit each; range(0) < 0 is an
// in-memory index, the baseline for the cost of logging.
void BM_TaxiBatchCommit(benchmark::State& state) {
  const bool in_memory = state.range(0) < 0;
  const Durability d = Durability(in_memory ? 0 : state.range(0));
  const std::string dir = FreshDir("batch");
  std::unique_ptr<Index> index;
  if (in_memory) {
    index = std::move(*Index::Create("taxi"));
    fs::create_directories(dir);
  } else {
    index = OpenOrDie(dir, d);
  }
  bench::CreateTaxiFields(index.get());
  constexpr size_t kBatch = 1 << 16;
  uint64_t done = 0;
  for (auto _ : state) {
    bench::LoadTaxi(index.get(), kBatch, bench::kTaxiSeed, kBatch, done);
    done += kBatch;
  }
  state.SetItemsProcessed(int64_t(done));
  state.counters["log_bytes_per_record"] =
      double(DiskBytes(dir)) / double(done);
  state.SetLabel(in_memory ? "in memory" : DurabilityName(d));
  index.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_TaxiBatchCommit)
    ->Arg(-1)
    ->Arg(int(Durability::kSync))
    ->Arg(int(Durability::kNone))
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();

// Loads the taxi index into a fresh directory (no checkpoint yet).
std::unique_ptr<Index> LoadedIndex(const std::string& dir) {
  auto index = OpenOrDie(dir, Durability::kNone);
  bench::CreateTaxiFields(index.get());
  bench::LoadTaxi(index.get(), Records());
  return index;
}

// The first checkpoint writes everything; the next one after a 64K-record
// batch only what that batch changed.
void BM_Checkpoint(benchmark::State& state) {
  const bool incremental = state.range(0) != 0;
  const std::string dir = FreshDir("ckpt");
  auto index = LoadedIndex(dir);
  uint64_t next = Records();
  for (auto _ : state) {
    state.PauseTiming();
    if (incremental) {
      bench::TaxiCheck(index->Checkpoint(), "checkpoint");
      bench::LoadTaxi(index.get(), 1 << 16, bench::kTaxiSeed, 1 << 16, next);
      next += 1 << 16;
    } else {
      index.reset();
      fs::remove_all(dir);
      index = LoadedIndex(dir);
    }
    state.ResumeTiming();
    bench::TaxiCheck(index->Checkpoint(), "checkpoint");
  }
  state.counters["records"] = double(next);
  state.counters["disk_bytes_per_record"] =
      double(DiskBytes(dir)) / double(next);
  state.SetLabel(incremental ? "after a 64K-record batch" : "full");
  index.reset();
  fs::remove_all(dir);
}
BENCHMARK(BM_Checkpoint)
    ->Arg(0)
    ->Arg(1)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(bench::SmokeMode() ? 1 : 3);

// Reopen from a checkpoint alone, and with a log tail of `range(0)`
// records written after it.
void BM_Reopen(benchmark::State& state) {
  const uint64_t tail = uint64_t(state.range(0));
  const std::string dir = FreshDir("reopen");
  {
    auto index = LoadedIndex(dir);
    bench::TaxiCheck(index->Checkpoint(), "checkpoint");
  }
  if (tail > 0) {
    // Reopen without the close-time checkpoint so the tail stays in the log.
    OpenOptions o;
    o.checkpoint_log_bytes = 0;
    o.checkpoint_on_close = false;
    auto index = Index::Open(o, dir);
    bench::TaxiCheck(index.status(), "open");
    bench::LoadTaxi(index->get(), tail, 7, 1 << 16, Records() + tail);
  }
  OpenOptions o;
  o.checkpoint_log_bytes = 0;
  o.checkpoint_on_close = false;
  for (auto _ : state) {
    auto index = Index::Open(o, dir);
    bench::TaxiCheck(index.status(), "open");
    benchmark::DoNotOptimize(index->get());
  }
  state.counters["records"] = double(Records() + tail);
  state.counters["disk_bytes_per_record"] =
      double(DiskBytes(dir)) / double(Records() + tail);
  state.SetLabel(tail ? "checkpoint + log tail" : "checkpoint only");
  fs::remove_all(dir);
}
// FB_BENCH_REOPEN_ITERATIONS: more reopens (e.g. for a profile).
int ReopenIterations() {
  if (bench::SmokeMode()) return 1;
  const char* s = std::getenv("FB_BENCH_REOPEN_ITERATIONS");
  return s ? std::max(1, std::atoi(s)) : 3;
}
BENCHMARK(BM_Reopen)
    ->Arg(0)
    ->Arg(1 << 18)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(ReopenIterations());

}  // namespace
}  // namespace featurebase

BENCHMARK_MAIN();
