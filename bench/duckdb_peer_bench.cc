// Side by side with DuckDB (the embedded analytics engine users would pick
// instead): the same taxi-like records (bench/util/taxi.h, same generator
// and seed) loaded into our index and into an in-memory DuckDB table in one
// process, then each of the seven taxi queries timed on both engines,
// interleaved, best of the iterations. Counters: ours_ms, duckdb_ms and
// speedup = duckdb_ms / ours_ms. A benchmark fails (SkipWithError) when the
// two engines disagree on the answer.
//
// Built only when scripts/peers has installed libduckdb.so (from the npm
// package @duckdb/node-bindings-linux-x64, which ships no header: the few
// C API declarations used here follow DuckDB's src/include/duckdb.h).
// DuckDB runs with `SET threads TO 2`; ours with the default pool.
//
// Run: scripts/peers, re-run the build (cmake finds the library), then
// <build>/duckdb_peer_bench (FB_BENCH_SMOKE=1: 200K records;
// FB_BENCH_RECORDS=n: n records).
//
// Representation notes: decimals are BIGINT cents in DuckDB (what its
// DECIMAL(18,2) stores internally), the timestamp BIGINT seconds, tags a
// comma-joined VARCHAR (no query reads them).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "bench/util/duckdb_api.h"
#include "bench/util/taxi.h"
#include "featurebase/query.h"
#include "featurebase/query_builder.h"

namespace featurebase {
namespace {

// The shared connection plus the taxi table loader.
class DuckDb : public bench::DuckDbConnection {
 public:
  DuckDb() : DuckDbConnection("duckdb_peer_bench") {}
  std::vector<std::vector<std::string>> Rows(const std::string& sql) {
    return QueryRows(sql);
  }

  void Load(uint64_t records) {
    Exec(
        "CREATE TABLE trips (cab_type VARCHAR, vendor INTEGER, "
        "passenger_count INTEGER, pickup_year INTEGER, pickup_month INTEGER, "
        "dist_miles INTEGER, pickup_zone VARCHAR, tags VARCHAR, "
        "trip_distance BIGINT, total_amount BIGINT, fare_cents BIGINT, "
        "duration_s BIGINT, airport BOOLEAN, pickup_at BIGINT)");
    duckdb_appender app;
    if (duckdb_appender_create(connection(), nullptr, "trips", &app) !=
        DuckDBSuccess)
      Die("duckdb_appender_create");
    const bench::TaxiGenerator gen;
    std::string tags;
    bool ok = true;
    for (uint64_t i = 0; i < records && ok; ++i) {
      const bench::TaxiTrip t = gen(i);
      tags.clear();
      for (int k = 0; k < t.n_tags; ++k) {
        if (k > 0) tags += ',';
        tags += bench::TagName(t.tags[k]);
      }
      ok = duckdb_append_varchar(app, bench::kCabTypes[t.cab_type]) ==
               DuckDBSuccess &&
           duckdb_append_int64(app, t.vendor) == DuckDBSuccess &&
           duckdb_append_int64(app, t.passenger_count) == DuckDBSuccess &&
           duckdb_append_int64(app, t.pickup_year) == DuckDBSuccess &&
           duckdb_append_int64(app, t.pickup_month) == DuckDBSuccess &&
           duckdb_append_int64(app, t.dist_miles) == DuckDBSuccess &&
           duckdb_append_varchar(app, bench::ZoneName(t.pickup_zone).c_str()) ==
               DuckDBSuccess &&
           duckdb_append_varchar(app, tags.c_str()) == DuckDBSuccess &&
           duckdb_append_int64(app, t.trip_distance) == DuckDBSuccess &&
           duckdb_append_int64(app, t.total_amount) == DuckDBSuccess &&
           duckdb_append_int64(app, t.fare_cents) == DuckDBSuccess &&
           duckdb_append_int64(app, t.duration_s) == DuckDBSuccess &&
           duckdb_append_bool(app, t.airport) == DuckDBSuccess &&
           duckdb_append_int64(app, t.pickup_at) == DuckDBSuccess &&
           duckdb_appender_end_row(app) == DuckDBSuccess;
    }
    if (!ok) Die(std::string("append: ") + duckdb_appender_error(app));
    if (duckdb_appender_destroy(&app) != DuckDBSuccess)
      Die("duckdb_appender_destroy");
  }
};

struct Engines {
  std::unique_ptr<Index> ours;
  DuckDb duck;
};

Engines& Both() {
  static Engines* engines = [] {
    auto* e = new Engines;
    const uint64_t n = bench::TaxiRecords();
    e->ours = bench::BuildTaxiIndex(n);
    e->duck.Load(n);
    return e;
  }();
  return *engines;
}

// ---- answers in one comparable form: sorted rows of text cells.

// A JSON number at scale 2 ("1234.50") as cents.
std::string Cents(std::string_view v) {
  std::string digits;
  for (char c : v) {
    if (c != '.') digits += c;
  }
  return std::to_string(std::stoll(digits));
}

// The scalar, pair, or group rows in our result JSON: for each object the
// values in order (rowKey/rowID/key/id, then count, then agg/value).
std::vector<std::vector<std::string>> OurRows(std::string_view json,
                                              bool decimal_value) {
  std::vector<std::vector<std::string>> rows;
  if (json.empty() || (json[0] != '[' && json[0] != '{')) {
    return {{std::string(json)}};
  }
  std::vector<std::string> cur;
  size_t i = 0;
  auto read_value = [&](size_t at) {
    size_t end = at;
    if (json[at] == '"') {
      end = json.find('"', at + 1);
      return std::string(json.substr(at + 1, end - at - 1));
    }
    while (end < json.size() && json[end] != ',' && json[end] != '}' &&
           json[end] != ']')
      ++end;
    return std::string(json.substr(at, end - at));
  };
  int depth = 0;  // of braces; strings are skipped whole
  while (i < json.size()) {
    if (json[i] == '"') {
      const size_t end = json.find('"', i + 1);
      const std::string_view key = json.substr(i + 1, end - i - 1);
      i = end + 1;
      if (i < json.size() && json[i] == ':') {
        ++i;
        if (key == "rowKey" || key == "rowID" || key == "key" || key == "id" ||
            key == "count") {
          cur.push_back(read_value(i));
        } else if (key == "sum" || key == "aggregate" || key == "value") {
          std::string v = read_value(i);
          cur.push_back(decimal_value ? Cents(v) : v);
        }
      }
      continue;
    }
    if (json[i] == '{') ++depth;
    if (json[i] == '}' && --depth == 0) {
      rows.push_back(std::move(cur));
      cur.clear();
    }
    ++i;
  }
  if (!cur.empty()) rows.push_back(std::move(cur));
  return rows;
}

std::vector<std::vector<std::string>> Sorted(
    std::vector<std::vector<std::string>> rows) {
  std::sort(rows.begin(), rows.end());
  return rows;
}

std::string Show(const std::vector<std::vector<std::string>>& rows) {
  std::string out;
  for (const auto& r : rows) {
    out += '(';
    for (size_t i = 0; i < r.size(); ++i) out += (i ? "," : "") + r[i];
    out += ')';
    if (out.size() > 300) return out + "...";
  }
  return out;
}

void Compare(benchmark::State& state, int which) {
  Engines& e = Both();
  const bench::TaxiQuery& tq = bench::TaxiQueries()[which];
  using Clock = std::chrono::steady_clock;
  double best_ours = std::numeric_limits<double>::infinity();
  double best_duck = best_ours;
  std::string ours_json;
  std::vector<std::vector<std::string>> duck_rows;
  for (auto _ : state) {
    auto t0 = Clock::now();
    auto r = Query(*e.ours, tq.call);
    auto t1 = Clock::now();
    duck_rows = e.duck.Rows(tq.sql);
    auto t2 = Clock::now();
    if (!r.ok()) {
      state.SkipWithError(std::string(r.status().message()).c_str());
      return;
    }
    ours_json = r->results[0].json();
    const double ours_s = std::chrono::duration<double>(t1 - t0).count();
    best_ours = std::min(best_ours, ours_s);
    best_duck =
        std::min(best_duck, std::chrono::duration<double>(t2 - t1).count());
    state.SetIterationTime(ours_s);
  }
  // Same answer? TopN keeps its order (ties are unlikely and would show);
  // groups compare as sets.
  const bool decimal = tq.call.name() == "Sum" || which == 5;
  auto ours = OurRows(ours_json, decimal);
  bool same;
  if (tq.call.name() == "TopN") {
    same = ours == duck_rows;
  } else {
    ours = Sorted(std::move(ours));
    duck_rows = Sorted(std::move(duck_rows));
    same = ours == duck_rows;
  }
  if (!same) {
    state.SkipWithError(
        ("answers differ: ours " + Show(ours) + " duckdb " + Show(duck_rows))
            .c_str());
    return;
  }
  state.counters["records"] = double(bench::TaxiRecords());
  state.counters["ours_ms"] = best_ours * 1e3;
  state.counters["duckdb_ms"] = best_duck * 1e3;
  state.counters["speedup"] = best_duck / best_ours;
}

void BM_Peer_CountIntersect(benchmark::State& s) { Compare(s, 0); }
void BM_Peer_CountRange(benchmark::State& s) { Compare(s, 1); }
void BM_Peer_SumFiltered(benchmark::State& s) { Compare(s, 2); }
void BM_Peer_TopN(benchmark::State& s) { Compare(s, 3); }
void BM_Peer_GroupBy2(benchmark::State& s) { Compare(s, 4); }
void BM_Peer_GroupBySum(benchmark::State& s) { Compare(s, 5); }
void BM_Peer_GroupBy3(benchmark::State& s) { Compare(s, 6); }

// A fixed number of interleaved rounds: the DuckDB side is slow enough that
// letting our timings drive the iteration count would take hours.
int Rounds() { return bench::SmokeMode() ? 2 : 7; }

BENCHMARK(BM_Peer_CountIntersect)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peer_CountRange)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peer_SumFiltered)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peer_TopN)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peer_GroupBy2)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peer_GroupBySum)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);
BENCHMARK(BM_Peer_GroupBy3)
    ->UseManualTime()
    ->Iterations(Rounds())
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace featurebase

BENCHMARK_MAIN();
