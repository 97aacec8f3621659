// The taxi-like dataset of the query benchmarks (bench/query_bench.cc and
// the DuckDB side-by-side, bench/duckdb_peer_bench.cc): record i is a pure
// function of (seed, i), so every engine loads exactly the same records
// without keeping them in memory.
//
// Fields (FeatureBase types): cab_type (keyed mutex, 3 values, skewed),
// vendor (mutex 0-2), passenger_count (mutex 0-9, skewed), pickup_year
// (mutex 2009-2016), pickup_month (mutex 1-12), dist_miles (mutex 0-50,
// skewed), pickup_zone (keyed mutex, 265 zones, Zipf-like), tags (keyed set,
// 0-3 of 20), trip_distance and total_amount (decimal, scale 2), fare_cents
// and duration_s (int), airport (bool), pickup_at (timestamp, s).
#ifndef FEATUREBASE_BENCH_UTIL_TAXI_H_
#define FEATUREBASE_BENCH_UTIL_TAXI_H_

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "absl/time/time.h"
#include "bench/util/bandwidth.h"
#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/query_builder.h"

namespace featurebase::bench {

inline constexpr uint64_t kTaxiSeed = 20260704;

// 10M records, or 200K in smoke mode; FB_BENCH_RECORDS overrides.
inline uint64_t TaxiRecords() {
  if (const char* s = std::getenv("FB_BENCH_RECORDS"))
    return std::strtoull(s, nullptr, 10);
  return SmokeMode() ? 200'000 : 10'000'000;
}

inline const std::array<const char*, 3> kCabTypes = {"yellow", "green", "fhv"};

inline const std::string& ZoneName(int z) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 265; ++i) out.push_back("zone-" + std::to_string(i));
    return out;
  }();
  return names[z];
}

inline const std::string& TagName(int t) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int i = 0; i < 20; ++i) out.push_back("tag-" + std::to_string(i));
    return out;
  }();
  return names[t];
}

struct TaxiTrip {
  uint8_t cab_type;  // index into kCabTypes
  uint8_t vendor;
  uint8_t passenger_count;
  uint16_t pickup_year;
  uint8_t pickup_month;
  uint8_t dist_miles;
  uint16_t pickup_zone;  // ZoneName
  uint8_t n_tags;
  std::array<uint8_t, 3> tags;  // TagName, distinct
  int64_t trip_distance;        // hundredths of a mile
  int64_t total_amount;         // cents
  int64_t fare_cents;
  int64_t duration_s;
  bool airport;
  int64_t pickup_at;  // unix seconds
};

class TaxiGenerator {
 public:
  explicit TaxiGenerator(uint64_t seed = kTaxiSeed) : seed_(seed) {
    // Skewed categorical distributions as cumulative weights.
    cab_ = Cdf({70, 20, 10});
    passengers_ = Cdf({3, 60, 15, 6, 4, 5, 4, 1, 1, 1});
    std::vector<double> w;
    for (int i = 0; i <= 50; ++i) w.push_back(std::exp(-0.15 * i));
    miles_ = Cdf(w);
    w.clear();
    for (int i = 0; i < 265; ++i) w.push_back(1.0 / std::pow(i + 1, 0.9));
    zones_ = Cdf(w);
  }

  TaxiTrip operator()(uint64_t i) const {
    uint64_t state = seed_ ^ (i * 0x9E3779B97F4A7C15ull);
    auto next = [&] { return SplitMix(state); };
    auto unit = [&] { return double(next() >> 11) * 0x1.0p-53; };
    TaxiTrip t;
    t.cab_type = uint8_t(Pick(cab_, unit()));
    t.vendor = uint8_t(next() % 3);
    t.passenger_count = uint8_t(Pick(passengers_, unit()));
    t.pickup_year = uint16_t(2009 + next() % 8);
    t.pickup_month = uint8_t(1 + next() % 12);
    t.dist_miles = uint8_t(Pick(miles_, unit()));
    t.pickup_zone = uint16_t(Pick(zones_, unit()));
    t.n_tags = uint8_t(next() % 4);
    for (int k = 0; k < t.n_tags; ++k) {
      uint8_t tag;
      do {
        tag = uint8_t(next() % 20);
      } while (std::find(t.tags.begin(), t.tags.begin() + k, tag) !=
               t.tags.begin() + k);
      t.tags[k] = tag;
    }
    t.trip_distance = int64_t(t.dist_miles) * 100 + int64_t(next() % 100);
    t.fare_cents = 250 + t.trip_distance * 2 + int64_t(next() % 1500);
    t.total_amount = t.fare_cents + int64_t(next() % 2000);
    t.duration_s = 60 + int64_t(next() % 3600);
    t.airport = next() % 10 == 0;
    const absl::Time start =
        absl::FromCivil(absl::CivilSecond(t.pickup_year, t.pickup_month, 1),
                        absl::UTCTimeZone());
    t.pickup_at = absl::ToUnixSeconds(start) + int64_t(next() % (28 * 86400));
    return t;
  }

 private:
  static uint64_t SplitMix(uint64_t& x) {
    uint64_t z = (x += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  static std::vector<double> Cdf(const std::vector<double>& w) {
    std::vector<double> out;
    double total = 0;
    for (double x : w) total += x;
    double acc = 0;
    for (double x : w) out.push_back(acc += x / total);
    out.back() = 1.0;
    return out;
  }
  static size_t Pick(const std::vector<double>& cdf, double u) {
    return size_t(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
  }

  uint64_t seed_;
  std::vector<double> cab_, passengers_, miles_, zones_;
};

inline const std::vector<std::string>& TaxiFields() {
  static const std::vector<std::string> fields = {
      "cab_type",      "vendor",       "passenger_count", "pickup_year",
      "pickup_month",  "dist_miles",   "pickup_zone",     "tags",
      "trip_distance", "total_amount", "fare_cents",      "duration_s",
      "airport",       "pickup_at"};
  return fields;
}

inline void TaxiCheck(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "taxi index: %s: %s\n", what,
                 std::string(s.message()).c_str());
    std::abort();
  }
}

// Creates the taxi fields in `index`. Aborts on any error.
inline void CreateTaxiFields(Index* index) {
  auto check = TaxiCheck;
  auto mutex = [] { return FieldOptions::Mutex(); };
  FieldOptions keyed_mutex = FieldOptions::Mutex();
  keyed_mutex.keys = true;
  FieldOptions keyed_set = FieldOptions::Set();
  keyed_set.keys = true;
  const FieldOptions dec = FieldOptions::Decimal(2, 0, 100'000'000);
  const FieldOptions integer = FieldOptions::Int(0, 10'000'000);
  const FieldOptions ts = FieldOptions::Timestamp(TimeUnit::kSecond);
  check(index->CreateField("cab_type", keyed_mutex), "cab_type");
  check(index->CreateField("vendor", mutex()), "vendor");
  check(index->CreateField("passenger_count", mutex()), "passenger_count");
  check(index->CreateField("pickup_year", mutex()), "pickup_year");
  check(index->CreateField("pickup_month", mutex()), "pickup_month");
  check(index->CreateField("dist_miles", mutex()), "dist_miles");
  check(index->CreateField("pickup_zone", keyed_mutex), "pickup_zone");
  check(index->CreateField("tags", keyed_set), "tags");
  check(index->CreateField("trip_distance", dec), "trip_distance");
  check(index->CreateField("total_amount", dec), "total_amount");
  check(index->CreateField("fare_cents", integer), "fare_cents");
  check(index->CreateField("duration_s", integer), "duration_s");
  check(index->CreateField("airport", FieldOptions::Bool()), "airport");
  check(index->CreateField("pickup_at", ts), "pickup_at");
}

// Adds `records` trips (trip numbers first..first+records) to an index with
// the taxi fields through the Batch API (auto-generated ids, batches of
// `batch_size`). Aborts on any error.
inline void LoadTaxi(Index* index, uint64_t records, uint64_t seed = kTaxiSeed,
                     size_t batch_size = size_t{1} << 20, uint64_t first = 0) {
  auto check = TaxiCheck;
  BatchOptions options;
  options.id_mode = IdMode::kAutoGenerate;
  options.capacity = batch_size;
  auto batch = Batch::Create(index, TaxiFields(), options);
  check(batch.status(), "create batch");
  const TaxiGenerator gen(seed);
  Record r;
  r.values.resize(TaxiFields().size());
  for (uint64_t i = 0; i < records; ++i) {
    const TaxiTrip t = gen(first + i);
    r.values[0] = Value::Key(kCabTypes[t.cab_type]);
    r.values[1] = Value::Id(t.vendor);
    r.values[2] = Value::Id(t.passenger_count);
    r.values[3] = Value::Id(t.pickup_year);
    r.values[4] = Value::Id(t.pickup_month);
    r.values[5] = Value::Id(t.dist_miles);
    r.values[6] = Value::Key(ZoneName(t.pickup_zone));
    std::vector<std::string> tags;
    for (int k = 0; k < t.n_tags; ++k) tags.push_back(TagName(t.tags[k]));
    r.values[7] = std::move(tags);
    r.values[8] = Value::Decimal(t.trip_distance, 2);
    r.values[9] = Value::Decimal(t.total_amount, 2);
    r.values[10] = Value::Int(t.fare_cents);
    r.values[11] = Value::Int(t.duration_s);
    r.values[12] = Value::Bool(t.airport);
    r.values[13] = Value::Timestamp(absl::FromUnixSeconds(t.pickup_at));
    auto full = (*batch)->Add(r);
    check(full.status(), "add");
    if (*full || i + 1 == records) check((*batch)->Flush().status(), "flush");
  }
}

// Builds an in-memory taxi index with `records` trips.
inline std::unique_ptr<Index> BuildTaxiIndex(uint64_t records,
                                             uint64_t seed = kTaxiSeed) {
  auto created = Index::Create("taxi");
  TaxiCheck(created.status(), "create index");
  std::unique_ptr<Index> index = std::move(*created);
  CreateTaxiFields(index.get());
  LoadTaxi(index.get(), records, seed);
  return index;
}

// The seven benchmark queries, as builder calls and as the equivalent SQL
// over the table `trips` (one column per field; decimals as BIGINT cents).
struct TaxiQuery {
  const char* name;
  pql::Call call;
  std::string sql;
};

inline constexpr int64_t kFareThreshold = 2000;

inline const std::vector<TaxiQuery>& TaxiQueries() {
  namespace q = featurebase::pql;
  static const std::vector<TaxiQuery> queries = {
      {"CountIntersect",
       q::Count(q::Intersect(q::Row("cab_type", "yellow"),
                             q::Row("pickup_year", 2012))),
       "SELECT count(*) FROM trips WHERE cab_type = 'yellow' AND "
       "pickup_year = 2012"},
      {"CountRange", q::Count(q::Row(q::Field("fare_cents") > kFareThreshold)),
       "SELECT count(*) FROM trips WHERE fare_cents > " +
           std::to_string(kFareThreshold)},
      {"SumFiltered", q::Sum("total_amount", q::Row("pickup_year", 2012)),
       "SELECT sum(total_amount), count(total_amount) FROM trips WHERE "
       "pickup_year = 2012"},
      {"TopN", q::TopN("pickup_zone", {.n = 10}),
       "SELECT pickup_zone, count(*) AS n FROM trips GROUP BY pickup_zone "
       "ORDER BY n DESC, pickup_zone LIMIT 10"},
      {"GroupBy2",
       q::GroupBy({q::Rows("cab_type"), q::Rows("passenger_count")}),
       "SELECT cab_type, passenger_count, count(*) FROM trips GROUP BY ALL"},
      {"GroupBySum",
       q::GroupBy({q::Rows("pickup_year")},
                  {.aggregate = q::Sum("total_amount")}),
       "SELECT pickup_year, count(*), sum(total_amount) FROM trips GROUP BY "
       "ALL"},
      {"GroupBy3",
       q::GroupBy({q::Rows("cab_type"), q::Rows("pickup_year"),
                   q::Rows("passenger_count")}),
       "SELECT cab_type, pickup_year, passenger_count, count(*) FROM trips "
       "GROUP BY ALL"},
  };
  return queries;
}

}  // namespace featurebase::bench

#endif  // FEATUREBASE_BENCH_UTIL_TAXI_H_
