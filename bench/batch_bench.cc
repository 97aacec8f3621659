// Batch ingest benchmarks: the taxi-like record from parsed
// records (target >= 2M records/s on one core, batch memory <= 200
// bytes/record), a mutex field with 1M distinct values, and string-keyed
// records (10M distinct keys in the full run).
#include <benchmark/benchmark.h>
#include <time.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <random>
#include <vector>

#include "bench/util/bandwidth.h"
#include "bench/util/taxi.h"
#include "featurebase/batch.h"
#include "featurebase/change_feed.h"
#include "featurebase/index.h"
#include "fmt/format.h"

namespace featurebase {
namespace {

using bench::SmokeMode;

std::unique_ptr<Index> TaxiSchema() {
  // BuildTaxiIndex with zero records creates the schema only.
  return bench::BuildTaxiIndex(0);
}

std::vector<Record> TaxiRecords(uint64_t n) {
  const bench::TaxiGenerator gen;
  std::vector<Record> out(n);
  for (uint64_t i = 0; i < n; ++i) {
    const bench::TaxiTrip t = gen(i);
    Record& r = out[i];
    r.values = {Value::Key(bench::kCabTypes[t.cab_type]),
                Value::Id(t.vendor),
                Value::Id(t.passenger_count),
                Value::Id(t.pickup_year),
                Value::Id(t.pickup_month),
                Value::Id(t.dist_miles),
                Value::Key(bench::ZoneName(t.pickup_zone)),
                Value(),
                Value::Decimal(t.trip_distance, 2),
                Value::Decimal(t.total_amount, 2),
                Value::Int(t.fare_cents),
                Value::Int(t.duration_s),
                Value::Bool(t.airport),
                Value::Timestamp(absl::FromUnixSeconds(t.pickup_at))};
    std::vector<std::string> tags;
    for (int k = 0; k < t.n_tags; ++k)
      tags.push_back(bench::TagName(t.tags[k]));
    r.values[7] = std::move(tags);
  }
  return out;
}

// CPU time of the whole process (every thread), in seconds: unlike wall
// time it does not count other processes on a shared machine.
double ProcessCpuSeconds() {
  timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
}

// Add + Flush of one full batch of taxi records per iteration, on one core.
void BM_Batch_Taxi(benchmark::State& state) {
  const uint64_t n = SmokeMode() ? 1 << 14 : 1 << 20;
  static const std::vector<Record> records = TaxiRecords(n);
  auto index = TaxiSchema();
  BatchOptions o;
  o.id_mode = IdMode::kAutoGenerate;
  o.capacity = n;
  auto batch = *Batch::Create(index.get(), bench::TaxiFields(), o);
  size_t peak = 0;
  double best = 1e9, best_add = 1e9, best_flush = 1e9, best_cpu = 1e9;
  using Clock = std::chrono::steady_clock;
  for (auto _ : state) {
    const double cpu0 = ProcessCpuSeconds();
    const auto t0 = Clock::now();
    for (const Record& r : records) {
      if (!batch->Add(r).ok()) state.SkipWithError("add failed");
    }
    peak = std::max(peak, batch->PeakMemoryBytes());
    const auto t1 = Clock::now();
    auto flushed = batch->Flush();
    if (!flushed.ok()) state.SkipWithError("flush failed");
    const auto t2 = Clock::now();
    peak = std::max(peak, batch->PeakMemoryBytes());
    best_cpu = std::min(best_cpu, ProcessCpuSeconds() - cpu0);
    const double s = std::chrono::duration<double>(t2 - t0).count();
    best = std::min(best, s);
    best_add =
        std::min(best_add, std::chrono::duration<double>(t1 - t0).count());
    best_flush =
        std::min(best_flush, std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(s);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
  state.counters["records_per_s_best"] = double(n) / best;
  // Where the time goes: Add (validate, append) vs Flush (translate, build,
  // commit), each the fastest seen, in ns per record.
  state.counters["add_ns"] = best_add * 1e9 / double(n);
  state.counters["flush_ns"] = best_flush * 1e9 / double(n);
  state.counters["batch_bytes_per_record"] = double(peak) / double(n);
  // Add + Flush in CPU time over all threads, the fastest seen: the cost on
  // one core, robust to a busy machine.
  state.counters["cpu_ns"] = best_cpu * 1e9 / double(n);
}
BENCHMARK(BM_Batch_Taxi)
    ->UseManualTime()
    ->Iterations(SmokeMode() ? 1 : 5)
    ->Unit(benchmark::kMillisecond);

// A mutex field with 1M distinct values, written in batches of 2^20.
void BM_Batch_Mutex1MValues(benchmark::State& state) {
  const uint64_t n = SmokeMode() ? 1 << 14 : 1 << 20;
  auto index = *Index::Create("m");
  (void)index->CreateField("m", FieldOptions::Mutex());
  BatchOptions o;
  o.id_mode = IdMode::kAutoGenerate;
  o.capacity = n;
  auto batch = *Batch::Create(index.get(), {"m"}, o);
  std::mt19937_64 rng(1);
  std::vector<Record> records(n);
  for (auto& r : records) r.values = {Value::Id(rng() % 1000000)};
  for (auto _ : state) {
    for (const Record& r : records) (void)batch->Add(r);
    if (!batch->Flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}
BENCHMARK(BM_Batch_Mutex1MValues)->Unit(benchmark::kMillisecond);

// A sum merge against a plain last write of the same batch: 2^20 records
// with random ids among `existing` records that already hold a value, each
// iteration flushing the batch once with Merge::kLast and once with
// Merge::kSum on two fields of the same index (the same stored values to
// read), so the ratio is measured in one run. The sum must read the
// stored values (per shard, in bulk); the target is sum <= 2x last.
void BM_Batch_SumVsLast(benchmark::State& state) {
  const uint64_t existing = SmokeMode() ? 1 << 16 : uint64_t(state.range(0));
  const uint64_t n = SmokeMode() ? 1 << 14 : 1 << 20;
  auto index = *Index::Create("s");
  (void)index->CreateField("last", FieldOptions::Int());
  (void)index->CreateField("sum", FieldOptions::Int());
  {
    BatchOptions o;
    o.capacity = n;
    auto fill = *Batch::Create(index.get(), {"last", "sum"}, o);
    for (uint64_t id = 0; id < existing; ++id) {
      const Value v = Value::Int(int64_t(id % 1000));
      if (*fill->Add({.id = id, .values = {v, v}})) (void)fill->Flush();
    }
    (void)fill->Flush();
  }
  std::mt19937_64 rng(7);
  std::vector<Record> last(n), sum(n);
  for (uint64_t i = 0; i < n; ++i) {
    const uint64_t id = rng() % existing;
    const Value v = Value::Int(int64_t(rng() % 100));
    last[i] = {.id = id, .values = {v}};
    sum[i] = last[i];
  }
  BatchOptions lo, so;
  lo.capacity = so.capacity = n;
  so.merges = {{"sum", Merge::kSum}};
  auto lb = *Batch::Create(index.get(), {"last"}, lo);
  auto sb = *Batch::Create(index.get(), {"sum"}, so);
  using Clock = std::chrono::steady_clock;
  auto run = [&](Batch& b, const std::vector<Record>& records) {
    const auto t0 = Clock::now();
    for (const Record& r : records) (void)b.Add(r);
    if (!b.Flush().ok()) state.SkipWithError("flush failed");
    return std::chrono::duration<double>(Clock::now() - t0).count();
  };
  double best_last = 1e9, best_sum = 1e9;
  std::vector<double> ratios;
  for (auto _ : state) {
    const double tl = run(*lb, last);
    const double ts = run(*sb, sum);
    best_last = std::min(best_last, tl);
    best_sum = std::min(best_sum, ts);
    ratios.push_back(ts / tl);
    state.SetIterationTime(tl + ts);
  }
  std::sort(ratios.begin(), ratios.end());
  state.counters["last_records_per_s"] = double(n) / best_last;
  state.counters["sum_records_per_s"] = double(n) / best_sum;
  // The median of the pair-by-pair ratios (each pair run back to back).
  state.counters["sum_over_last"] = ratios[ratios.size() / 2];
}
BENCHMARK(BM_Batch_SumVsLast)
    ->Arg(1'000'000)
    ->Arg(10'000'000)
    ->UseManualTime()
    ->Iterations(SmokeMode() ? 1 : 7)
    ->Unit(benchmark::kMillisecond);

// String-keyed records: every record a new key (the full run creates 10M
// distinct keys over ten iterations of 2^20).
void BM_Batch_StringKeys(benchmark::State& state) {
  const uint64_t n = SmokeMode() ? 1 << 14 : 1 << 20;
  auto index = *Index::Create("k", IndexOptions{.keys = true});
  (void)index->CreateField("m", FieldOptions::Mutex());
  BatchOptions o;
  o.capacity = n;
  auto batch = *Batch::Create(index.get(), {"m"}, o);
  uint64_t next = 0;
  Record r;
  r.values = {Value::Id(1)};
  for (auto _ : state) {
    for (uint64_t i = 0; i < n; ++i) {
      r.id = fmt::format("user-{:012d}", next++);
      r.values[0] = Value::Id(i % 50);
      (void)batch->Add(r);
    }
    if (!batch->Flush().ok()) state.SkipWithError("flush failed");
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
  state.counters["distinct_keys"] = double(next);
}
BENCHMARK(BM_Batch_StringKeys)
    ->Unit(benchmark::kMillisecond)
    ->Iterations(SmokeMode() ? 1 : 10);

// BM_Batch_Taxi with one change-feed subscriber: what the feed costs the
// writer (flush_ns against BM_Batch_Taxi's) and what its diff costs on the
// feed's own thread (feed_cpu_ns, that thread's CPU time per batch; the
// listener only reads the change set's sizes). Each iteration waits for
// the change set outside the timed Add + Flush, so batches do not overlap.
void BM_Batch_TaxiFeed(benchmark::State& state) {
  const uint64_t n = SmokeMode() ? 1 << 14 : 1 << 20;
  static const std::vector<Record> records = TaxiRecords(n);
  auto index = TaxiSchema();
  BatchOptions o;
  o.id_mode = IdMode::kAutoGenerate;
  o.capacity = n;
  auto batch = *Batch::Create(index.get(), bench::TaxiFields(), o);
  std::mutex mu;
  std::condition_variable cv;
  uint64_t seen = 0;
  double feed_cpu = 0;  // the feed thread's CPU seconds so far
  uint64_t changed = 0;
  auto sub = Subscribe(*index, [&](const ChangeSet& cs) -> Status {
    uint64_t c = 0;
    for (const FieldChange& f : cs.fields) c += f.records.Cardinality();
    timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    std::lock_guard<std::mutex> l(mu);
    changed += c;
    seen = cs.version;
    feed_cpu = double(ts.tv_sec) + double(ts.tv_nsec) * 1e-9;
    cv.notify_all();
    return absl::OkStatus();
  });
  if (!sub.ok()) {
    state.SkipWithError("subscribe failed");
    return;
  }
  double best_flush = 1e9, best_feed = 1e9, best_wait = 1e9;
  using Clock = std::chrono::steady_clock;
  double feed_before = 0;
  for (auto _ : state) {
    const auto t0 = Clock::now();
    for (const Record& r : records) {
      if (!batch->Add(r).ok()) state.SkipWithError("add failed");
    }
    const auto t1 = Clock::now();
    if (!batch->Flush().ok()) state.SkipWithError("flush failed");
    const auto t2 = Clock::now();
    const uint64_t version = index->GetSnapshot()->version();
    std::unique_lock<std::mutex> l(mu);
    cv.wait(l, [&] { return seen >= version; });
    const auto t3 = Clock::now();
    best_feed = std::min(best_feed, feed_cpu - feed_before);
    feed_before = feed_cpu;
    l.unlock();
    best_flush =
        std::min(best_flush, std::chrono::duration<double>(t2 - t1).count());
    best_wait =
        std::min(best_wait, std::chrono::duration<double>(t3 - t2).count());
    state.SetIterationTime(std::chrono::duration<double>(t2 - t0).count());
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
  state.counters["flush_ns"] = best_flush * 1e9 / double(n);
  state.counters["feed_cpu_ns"] = best_feed * 1e9 / double(n);
  state.counters["feed_wait_ns"] = best_wait * 1e9 / double(n);
  state.counters["feed_over_flush"] = best_feed / best_flush;
  state.counters["changed_per_batch"] =
      double(changed) / double(state.iterations());
}
BENCHMARK(BM_Batch_TaxiFeed)
    ->UseManualTime()
    ->Iterations(SmokeMode() ? 1 : 5)
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace featurebase

BENCHMARK_MAIN();
