// CSV parsing (fbc's reader, examples/fbc/csv_reader.h) against the floor
// of reading the same bytes (a streaming read, bench/util/bandwidth.h) and,
// when Debian's libcsv-dev is installed, against libcsv, on the gen-taxi
// CSV held in memory. Counters: ratio_to_bandwidth_floor, MB/s, rows/s.
// BM_ConvertRows_Taxi times what import-csv's parsing thread does next.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/util/bandwidth.h"
#include "examples/fbc/csv_reader.h"
#include "examples/fbc/header.h"
#include "examples/fbc/importer.h"
#include "examples/fbc/row_converter.h"
#include "examples/fbc/taxi_gen.h"
#include "featurebase/batch.h"
#include "featurebase/index.h"

#if FB_HAVE_LIBCSV
#include <csv.h>
#endif

namespace {

using featurebase::bench::RunAgainstFloor;
using featurebase::bench::SmokeMode;

const std::string& TaxiCsv() {
  static const std::string csv = [] {
    std::string out;
    const uint64_t rows = SmokeMode() ? 20'000 : 1'000'000;
    auto st = fbc::WriteTaxiCsv(
        [&](const char* d, size_t n) {
          out.append(d, n);
          return true;
        },
        rows, 1, "memory");
    if (!st.ok()) std::abort();
    return out;
  }();
  return csv;
}

// Parses the whole text with ParseCsv in 4 MiB windows, as CsvReader does.
size_t ParseAll(std::vector<char>& buf, const std::string& csv) {
  std::memcpy(buf.data(), csv.data(), csv.size());
  fbc::RowBlock block;
  uint64_t line = 1;
  size_t rows = 0, pos = 0;
  while (pos < csv.size()) {
    const size_t n = std::min<size_t>(csv.size() - pos, size_t{4} << 20);
    block.clear();
    const size_t used = fbc::ParseCsv(buf.data() + pos, n,
                                      pos + n == csv.size(), &line, &block);
    rows += block.rows.size();
    pos += used;
  }
  return rows;
}

void BM_ParseCsv_Taxi(benchmark::State& state) {
  const std::string& csv = TaxiCsv();
  std::vector<char> buf(csv.size() + 64);
  size_t rows = 0;
  RunAgainstFloor(state, csv.size(), [&] { rows = ParseAll(buf, csv); });
  state.counters["rows"] = double(rows);
  state.counters["rows_per_s"] = benchmark::Counter(
      double(rows) * double(state.iterations()), benchmark::Counter::kIsRate);
}
BENCHMARK(BM_ParseCsv_Taxi)->UseManualTime()->Unit(benchmark::kMillisecond);

// memchr for newlines only: a lower bound for any parser that finds rows.
void BM_MemchrNewlines_Taxi(benchmark::State& state) {
  const std::string& csv = TaxiCsv();
  size_t lines = 0;
  RunAgainstFloor(state, csv.size(), [&] {
    lines = 0;
    const char* p = csv.data();
    const char* end = p + csv.size();
    while ((p = static_cast<const char*>(std::memchr(p, '\n', end - p)))) {
      ++lines;
      ++p;
    }
    benchmark::DoNotOptimize(lines);
  });
}
BENCHMARK(BM_MemchrNewlines_Taxi)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

// The rest of import-csv's parsing thread, per row: RowConverter::Convert
// (cells to a featurebase::Record), then Batch::Add (validation, key
// lookup, staging) into a batch that holds every row and is never flushed.
// Arg 0: Convert only; 1: Convert and Add. Counter ns_per_row.
void BM_ConvertRows_Taxi(benchmark::State& state) {
  const std::string& csv = TaxiCsv();
  std::vector<char> buf(csv.size() + 64);
  std::memcpy(buf.data(), csv.data(), csv.size());
  fbc::RowBlock block;
  uint64_t line = 1;
  const size_t used =
      fbc::ParseCsv(buf.data(), csv.size(), true, &line, &block);
  if (used != csv.size() || block.rows.empty()) std::abort();
  std::vector<std::string> header;
  for (size_t i = 0; i < block.rows[0].count; ++i)
    header.emplace_back(block.field(block.rows[0], i));
  auto converter =
      fbc::RowConverter::Create(*fbc::ParseHeader(header), fbc::IdOptions());
  auto index = featurebase::Index::Create("taxi");
  if (!converter.ok() || !index.ok() ||
      !fbc::EnsureFields(**index, *converter).ok())
    std::abort();
  const bool add = state.range(0) == 1;
  featurebase::BatchOptions bo;
  bo.capacity = block.rows.size() + 1;
  bo.id_mode = featurebase::IdMode::kAutoGenerate;
  featurebase::Record record;
  std::string error;
  size_t rows = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto batch =
        featurebase::Batch::Create(index->get(), converter->batch_fields(), bo);
    if (!batch.ok()) std::abort();
    state.ResumeTiming();
    rows = 0;
    for (size_t r = 1; r < block.rows.size(); ++r) {
      if (!converter->Convert(block, block.rows[r], &record, &error))
        std::abort();
      if (add && !(*batch)->Add(record).ok()) std::abort();
      ++rows;
    }
    state.PauseTiming();
    batch->reset();
    state.ResumeTiming();
  }
  state.counters["ns_per_row"] = benchmark::Counter(
      double(rows) * double(state.iterations()),
      benchmark::Counter::kIsRate | benchmark::Counter::kInvert);
}
BENCHMARK(BM_ConvertRows_Taxi)->Arg(0)->Arg(1)->Unit(benchmark::kMillisecond);

#if FB_HAVE_LIBCSV
void CountField(void*, size_t, void* data) { ++static_cast<size_t*>(data)[0]; }
void CountRow(int, void* data) { ++static_cast<size_t*>(data)[1]; }

void BM_Libcsv_Taxi(benchmark::State& state) {
  const std::string& csv = TaxiCsv();
  size_t counts[2] = {0, 0};
  RunAgainstFloor(state, csv.size(), [&] {
    counts[0] = counts[1] = 0;
    struct csv_parser p;
    csv_init(&p, CSV_STRICT | CSV_APPEND_NULL);
    csv_parse(&p, csv.data(), csv.size(), CountField, CountRow, counts);
    csv_fini(&p, CountField, CountRow, counts);
    csv_free(&p);
  });
  state.counters["rows"] = double(counts[1]);
}
BENCHMARK(BM_Libcsv_Taxi)->UseManualTime()->Unit(benchmark::kMillisecond);
#endif

}  // namespace

BENCHMARK_MAIN();
