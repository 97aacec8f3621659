// import-csv end to end: one gen-taxi CSV file, written once to
// $TMPDIR, then each round, interleaved so that every engine sees the same
// machine load:
//   - a floor: read() of the whole file (from the page cache) in 4 MiB
//     chunks, what any importer of that file must at least do;
//   - fbc's importer (fbc::ImportCsv, the code path of `fbc import-csv`)
//     into an in-memory index (Index::Create; freeing it is not timed);
//   - the same into a durable index as the CLI opens it (Index::Open with
//     Durability::kCheckpoint, checkpoints as batches land, one
//     Index::Sync; freeing the index is not timed, as the CLI exits
//     instead), in a fresh directory under $TMPDIR;
//   - when scripts/peers has installed libduckdb.so: DuckDB's
//     `CREATE TABLE trips AS SELECT * FROM read_csv(...)` into an in-memory
//     database with `SET threads TO 2` (fbc's importer uses two threads:
//     parse and convert, flush); the DROP TABLE is not timed.
// Manual time is the in-memory import. Counters, from the fastest round of
// each: *_rows_per_s, *_cpu_s (process CPU seconds, all threads: the figure
// a loaded machine disturbs least), ratio_mem_to_duckdb and
// ratio_durable_to_duckdb (ours rows/s over DuckDB rows/s: >= 1 means not
// slower), read_floor_ms and ratio_mem_to_read_floor.
//
// DuckDB is given the column types (no type sniffing) and keeps tags as
// one VARCHAR (no splitting, no key translation): it does less work than
// fbc per row, so the comparison favours it.
//
// The process runs with fbc's bulk-load malloc settings, as the CLI does
// (FBC_DEFAULT_MALLOC=1: glibc's defaults; the context line says which).
//
// Run: <build>/import_bench --benchmark_min_time=0.01 (FB_BENCH_SMOKE=1:
// 50K rows; FB_BENCH_RECORDS=n: n rows; default 5M, a 447 MB file).
#include <benchmark/benchmark.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "bench/util/bandwidth.h"
#include "examples/fbc/bulk_malloc.h"
#include "examples/fbc/importer.h"
#include "examples/fbc/taxi_gen.h"
#include "featurebase/index.h"

#if FB_HAVE_DUCKDB
#include "bench/util/duckdb_api.h"
#endif

namespace {

using featurebase::bench::SmokeMode;
using Clock = std::chrono::steady_clock;

[[noreturn]] void Die(const std::string& what) {
  std::fprintf(stderr, "import_bench: %s\n", what.c_str());
  std::abort();
}

uint64_t Rows() {
  if (const char* s = std::getenv("FB_BENCH_RECORDS"))
    return std::strtoull(s, nullptr, 10);
  return SmokeMode() ? 50'000 : 5'000'000;
}

std::string TempDir() {
  const char* t = std::getenv("TMPDIR");
  return t != nullptr && *t != '\0' ? t : "/tmp";
}

// The scratch directory (CSV file, durable indexes), removed at exit.
struct Scratch {
  std::string dir;
  std::string csv;
  uint64_t rows = 0;
  uint64_t bytes = 0;
  ~Scratch() {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
};

const Scratch& Files() {
  static const Scratch scratch = [] {
    Scratch s;
    s.dir = TempDir() + "/fb_import_bench." + std::to_string(::getpid());
    std::filesystem::create_directories(s.dir);
    s.csv = s.dir + "/taxi.csv";
    s.rows = Rows();
    std::FILE* f = std::fopen(s.csv.c_str(), "wb");
    if (f == nullptr) Die("create " + s.csv);
    auto st = fbc::WriteTaxiCsv(
        [&](const char* d, size_t n) { return std::fwrite(d, 1, n, f) == n; },
        s.rows, 1, s.csv);
    if (std::fclose(f) != 0 || !st.ok()) Die("write " + s.csv);
    s.bytes = std::filesystem::file_size(s.csv);
    return s;
  }();
  return scratch;
}

double CpuSeconds() {
  rusage u;
  ::getrusage(RUSAGE_SELF, &u);
  return double(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         double(u.ru_utime.tv_usec + u.ru_stime.tv_usec) * 1e-6;
}

// Wall and CPU seconds of one run, and the best over rounds.
struct Timing {
  double wall = std::numeric_limits<double>::infinity();
  double cpu = std::numeric_limits<double>::infinity();
  template <typename Op>
  double Run(Op&& op) {
    const double c0 = CpuSeconds();
    const auto t0 = Clock::now();
    op();
    const double w = std::chrono::duration<double>(Clock::now() - t0).count();
    wall = std::min(wall, w);
    cpu = std::min(cpu, CpuSeconds() - c0);
    return w;
  }
};

// Reads the whole file with read() in 4 MiB chunks.
void ReadFile(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY);
  if (fd < 0) Die("open " + path);
  std::vector<char> buf(size_t{4} << 20);
  uint64_t sum = 0;
  ssize_t n;
  while ((n = ::read(fd, buf.data(), buf.size())) > 0)
    sum += buf[size_t(n) / 2];
  ::close(fd);
  benchmark::DoNotOptimize(sum);
}

// fbc::ImportCsv with the CLI's defaults (FB_BENCH_BATCH_SIZE=n: batches
// of n records); dies unless every row loads.
void Import(featurebase::Index& index, const Scratch& s) {
  fbc::ImportOptions o;
  o.files = {s.csv};
  if (const char* n = std::getenv("FB_BENCH_BATCH_SIZE"))
    o.batch_size = std::strtoull(n, nullptr, 10);
  o.checkpoint_each_flush = true;  // as import-csv (durable indexes only)
  auto r = fbc::ImportCsv(index, o, nullptr, stderr);
  if (!r.ok()) Die("import: " + std::string(r.status().message()));
  if (r->records != s.rows || r->rejected != 0)
    Die("import: " + r->ToJson() + ", want " + std::to_string(s.rows));
}

std::unique_ptr<featurebase::Index> ImportInMemory(const Scratch& s) {
  auto index = featurebase::Index::Create("taxi");
  if (!index.ok()) Die(std::string(index.status().message()));
  Import(**index, s);
  return *std::move(index);
}

// As `fbc import-csv` does: open (creating), import unlogged commits,
// one Sync. The index is returned still open: the CLI exits without
// freeing it (the Sync left nothing for a close to write).
std::unique_ptr<featurebase::Index> ImportDurable(const Scratch& s,
                                                  const std::string& dir) {
  featurebase::OpenOptions o;
  o.name = "taxi";
  o.durability = featurebase::Durability::kCheckpoint;
  auto index = featurebase::Index::Open(o, dir);
  if (!index.ok()) Die("open: " + std::string(index.status().message()));
  Import(**index, s);
  if (auto st = (*index)->Sync(); !st.ok())
    Die("sync: " + std::string(st.message()));
  return *std::move(index);
}

#if FB_HAVE_DUCKDB
class DuckDb : public featurebase::bench::DuckDbConnection {
 public:
  DuckDb() : DuckDbConnection("import_bench") {}
  int64_t Exec(const std::string& sql) { return QueryInt64(sql); }
};

// The gen-taxi columns in the types fbc gives them (keyed strings as
// VARCHAR, ids as INTEGER, decimals at scale 2, the record time).
std::string ReadCsvSql(const std::string& path) {
  return "CREATE TABLE trips AS SELECT * FROM read_csv('" + path +
         "', header = true, delim = ',', quote = '\"', escape = '\"', "
         "columns = {'cab_type': 'VARCHAR', 'vendor': 'VARCHAR', "
         "'passenger_count': 'INTEGER', 'pickup_year': 'INTEGER', "
         "'pickup_month': 'INTEGER', 'dist_miles': 'INTEGER', "
         "'trip_distance': 'DECIMAL(18,2)', 'total_amount': 'DECIMAL(18,2)', "
         "'payment_type': 'INTEGER', 'pickup_zone': 'VARCHAR', "
         "'dropoff_zone': 'VARCHAR', 'tags': 'VARCHAR', 'airport': 'BOOLEAN', "
         "'pickup_time': 'TIMESTAMP'})";
}

#endif

void BM_ImportCsv_Taxi(benchmark::State& state) {
  const Scratch& s = Files();
  Timing floor, mem, durable;
#if FB_HAVE_DUCKDB
  DuckDb duck;
  Timing duckdb;
#endif
  int round = 0;
  for (auto _ : state) {
    floor.Run([&] { ReadFile(s.csv); });
    std::unique_ptr<featurebase::Index> index;
    state.SetIterationTime(mem.Run([&] { index = ImportInMemory(s); }));
    index.reset();  // untimed, as DuckDB's DROP TABLE below
    const std::string dir = s.dir + "/durable" + std::to_string(round++);
    durable.Run([&] { index = ImportDurable(s, dir); });
    index.reset();  // untimed: fbc import-csv exits instead
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
#if FB_HAVE_DUCKDB
    duckdb.Run([&] { duck.Exec(ReadCsvSql(s.csv)); });
    const int64_t n = duck.Exec("SELECT count(*) FROM trips");
    if (n != int64_t(s.rows))
      Die("duckdb loaded " + std::to_string(n) + " rows, want " +
          std::to_string(s.rows));
    duck.Exec("DROP TABLE trips");
#endif
  }
  const double rows = double(s.rows);
  state.counters["rows"] = rows;
  state.counters["csv_MB"] = double(s.bytes) / 1e6;
  state.counters["read_floor_ms"] = floor.wall * 1e3;
  state.counters["mem_rows_per_s"] = rows / mem.wall;
  state.counters["mem_cpu_s"] = mem.cpu;
  state.counters["durable_rows_per_s"] = rows / durable.wall;
  state.counters["durable_cpu_s"] = durable.cpu;
  state.counters["ratio_mem_to_read_floor"] = mem.wall / floor.wall;
#if FB_HAVE_DUCKDB
  state.counters["duckdb_rows_per_s"] = rows / duckdb.wall;
  state.counters["duckdb_cpu_s"] = duckdb.cpu;
  state.counters["ratio_mem_to_duckdb"] = duckdb.wall / mem.wall;
  state.counters["ratio_durable_to_duckdb"] = duckdb.wall / durable.wall;
#endif
#if FB_HAVE_DUCKDB
  state.SetLabel(std::string("duckdb ") + duckdb_library_version());
#endif
  state.SetItemsProcessed(int64_t(state.iterations()) * int64_t(s.rows));
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(s.bytes));
}
// A fixed number of rounds: at 5M rows one round takes tens of seconds.
BENCHMARK(BM_ImportCsv_Taxi)
    ->UseManualTime()
    ->Iterations(SmokeMode() ? 1 : 3)
    ->Unit(benchmark::kMillisecond);

}  // namespace

// As `fbc import-csv`, the bench runs with the tool's malloc settings
// (examples/fbc/bulk_malloc.h; DuckDB, in the same process, has them too).
// FBC_DEFAULT_MALLOC=1 measures with glibc's defaults instead.
int main(int argc, char** argv) {
  fbc::ReexecWithBulkLoadMalloc(argv);
  benchmark::AddCustomContext("malloc", fbc::HasBulkLoadMalloc()
                                            ? "fbc bulk-load tunables"
                                            : "process default");
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) return 1;
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
