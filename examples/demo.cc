// The main job until the fbc tool lands: loads taxi-like trips into an
// in-memory index through the Batch API, then answers the classic "billion
// taxi rides" queries in PQL, printing each JSON result and its time.
// Uses only the public headers. Usage: fbc_demo [--rows N]
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "featurebase/batch.h"
#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/version.h"

namespace {

using featurebase::Value;

void Check(const featurebase::Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "demo: %s: %s\n", what,
                 std::string(s.message()).c_str());
    std::exit(1);
  }
}

double Ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - since)
      .count();
}

}  // namespace

int main(int argc, char** argv) {
  uint64_t rows = 2'000'000;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--rows") == 0 && i + 1 < argc) {
      char* end = nullptr;
      rows = std::strtoull(argv[++i], &end, 10);
      if (end == nullptr || *end != '\0' || rows == 0) {
        std::fprintf(stderr, "demo: --rows takes a positive integer\n");
        return 2;
      }
    } else {
      std::fprintf(stderr, "usage: fbc_demo [--rows N]\n");
      return 2;
    }
  }
  std::printf("featurebase_core %s demo: %llu taxi-like trips in memory\n",
              FEATUREBASE_VERSION_STRING,
              static_cast<unsigned long long>(rows));

  auto created = featurebase::Index::Create("taxi");
  Check(created.status(), "create index");
  featurebase::Index& index = **created;
  featurebase::FieldOptions keyed = featurebase::FieldOptions::Mutex();
  keyed.keys = true;
  const auto amount = featurebase::FieldOptions::Decimal(2, 0, 100'000'000);
  const auto miles = featurebase::FieldOptions::Int(0, 1000);
  Check(index.CreateField("cab_type", keyed), "cab_type");
  Check(
      index.CreateField("passenger_count", featurebase::FieldOptions::Mutex()),
      "passengers");
  Check(index.CreateField("pickup_year", featurebase::FieldOptions::Mutex()),
        "year");
  Check(index.CreateField("dist_miles", miles), "dist_miles");
  Check(index.CreateField("total_amount", amount), "total_amount");
  Check(index.CreateField("airport", featurebase::FieldOptions::Bool()),
        "airport");

  featurebase::BatchOptions options;
  options.id_mode = featurebase::IdMode::kAutoGenerate;
  auto batch =
      featurebase::Batch::Create(&index,
                                 {"cab_type", "passenger_count", "pickup_year",
                                  "dist_miles", "total_amount", "airport"},
                                 options);
  Check(batch.status(), "create batch");
  static const char* kCabs[] = {"yellow", "yellow", "yellow", "green", "fhv"};
  std::mt19937_64 rng(42);
  featurebase::Record r;
  r.values.resize(6);
  const auto load_start = std::chrono::steady_clock::now();
  for (uint64_t i = 0; i < rows; ++i) {
    const uint64_t dist =
        std::min<uint64_t>(rng() % 8 + rng() % 8 + rng() % 30 / 10, 50);
    r.values[0] = Value::Key(kCabs[rng() % 5]);
    r.values[1] = Value::Id(1 + rng() % 4 + (rng() % 10 == 0 ? rng() % 5 : 0));
    r.values[2] = Value::Id(2009 + rng() % 8);
    r.values[3] = Value::Int(int64_t(dist));
    r.values[4] = Value::Decimal(int64_t(250 + dist * 180 + rng() % 1500), 2);
    r.values[5] = Value::Bool(rng() % 10 == 0);
    auto full = (*batch)->Add(r);
    Check(full.status(), "add");
    if (*full || i + 1 == rows) Check((*batch)->Flush().status(), "flush");
  }
  const double load_ms = Ms(load_start);
  std::printf("loaded in %.0f ms (%.2f M records/s)\n\n", load_ms,
              double(rows) / load_ms / 1e3);

  const char* queries[] = {
      // The four "billion taxi rides" queries, as FeatureBase runs them.
      "TopN(cab_type)",
      "GroupBy(Rows(passenger_count), aggregate=Sum(field=total_amount))",
      "GroupBy(Rows(passenger_count), Rows(pickup_year))",
      "GroupBy(Rows(passenger_count), Rows(pickup_year), Rows(cab_type), "
      "limit=5)",
      // And a few filters.
      "Count(Intersect(Row(cab_type=\"green\"), Row(pickup_year=2012)))",
      "Count(Row(dist_miles > 10))",
      "Sum(Row(airport=true), field=total_amount)",
      "Min(field=total_amount) Max(field=total_amount)",
      "Percentile(field=dist_miles, nth=90)",
  };
  for (const char* q : queries) {
    const auto t0 = std::chrono::steady_clock::now();
    auto res = featurebase::Query(index, q);
    const double ms = Ms(t0);
    std::printf("%s\n  %.2f ms  %s\n", q, ms,
                res.ok() ? res->ToJson().c_str()
                         : featurebase::ErrorJson(res.status()).c_str());
    if (!res.ok()) return 1;
  }
  return 0;
}
