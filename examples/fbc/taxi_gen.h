// gen-taxi: taxi-like trips as CSV with an ingest-kit header, modelled on
// the NYC taxi data of the "billion taxi rides" benchmark. Row i is a pure
// function of (seed, i), so a seed always gives the same file.
//
// Columns: cab_type (keyed mutex: yellow, green, fhv; skewed), vendor
// (keyed mutex, 3), passenger_count (mutex 0-9, skewed), pickup_year (mutex
// 2009-2016), pickup_month (mutex 1-12), dist_miles (mutex 0-50, skewed),
// trip_distance and total_amount (decimal, scale 2), payment_type (mutex
// 1-5), pickup_zone (keyed, YMD time quantum from pickup_time) and
// dropoff_zone (keyed mutex) over 265 zone names (some with a comma and
// quotes, so the CSV needs RFC 4180 quoting), tags (string array, 0-3 of
// 20), airport (bool), pickup_time (RecordTime, RFC 3339).
#ifndef FBC_TAXI_GEN_H_
#define FBC_TAXI_GEN_H_

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>

#include "featurebase/status.h"

namespace fbc {

// The header line (without newline).
const std::string& TaxiHeader();

// The name of zone z in [0, 265).
const std::string& TaxiZoneName(int z);

// Receives output bytes; returns false on a write error (errno set).
using ByteSink = std::function<bool(const char* data, size_t size)>;

// Writes `rows` rows (header first) to `out`. Internal naming `what` and
// errno when a write fails.
featurebase::Status WriteTaxiCsv(const ByteSink& out, uint64_t rows,
                                 uint64_t seed, const std::string& what);

}  // namespace fbc

#endif  // FBC_TAXI_GEN_H_
