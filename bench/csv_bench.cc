// CSV parsing (fbc's reader, examples/fbc/csv_reader.h) against the floor
// of reading the same bytes (a streaming read, bench/util/bandwidth.h) and,
// when Debian's libcsv-dev is installed, against libcsv, on the gen-taxi
// CSV held in memory. Counters: ratio_to_bandwidth_floor, MB/s, rows/s.
#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "bench/util/bandwidth.h"
#include "examples/fbc/csv_reader.h"
#include "examples/fbc/taxi_gen.h"

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
