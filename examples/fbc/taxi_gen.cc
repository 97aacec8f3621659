#include "examples/fbc/taxi_gen.h"

#include <algorithm>
#include <array>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <string>
#include <vector>

namespace fbc {
namespace {

constexpr std::array<const char*, 3> kCabTypes = {"yellow", "green", "fhv"};
constexpr std::array<const char*, 3> kVendors = {"CMT", "VTS", "DDS"};
constexpr int kZones = 265;

uint64_t SplitMix(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// Cumulative distribution of weights, scaled to 2^32 for integer picks.
std::vector<uint64_t> Cdf(const std::vector<double>& w) {
  double total = 0;
  for (double x : w) total += x;
  std::vector<uint64_t> out;
  double acc = 0;
  for (double x : w) {
    acc += x / total;
    out.push_back(uint64_t(acc * 4294967296.0));
  }
  out.back() = uint64_t{1} << 32;
  return out;
}

size_t Pick(const std::vector<uint64_t>& cdf, uint64_t r) {
  const uint64_t u = r >> 32;
  return size_t(std::upper_bound(cdf.begin(), cdf.end(), u) - cdf.begin());
}

// A CSV-quoted copy of s when it needs quoting.
std::string CsvCell(const std::string& s) {
  if (s.find_first_of(",\"\r\n") == std::string::npos) return s;
  std::string out = "\"";
  for (char c : s) {
    if (c == '"') out += '"';
    out += c;
  }
  return out + "\"";
}

class Writer {
 public:
  explicit Writer(const ByteSink& sink) : sink_(sink) {
    buf_.reserve(kSize + 4096);
  }
  bool ok() const { return ok_; }
  void Str(const char* s, size_t n) { buf_.append(s, n); }
  void Str(const std::string& s) { buf_.append(s); }
  void Char(char c) { buf_.push_back(c); }
  void Uint(uint64_t v) {
    char tmp[24];
    int n = 0;
    do {
      tmp[n++] = char('0' + v % 10);
      v /= 10;
    } while (v != 0);
    while (n > 0) buf_.push_back(tmp[--n]);
  }
  void Fixed2(uint64_t hundredths) {
    Uint(hundredths / 100);
    buf_.push_back('.');
    buf_.push_back(char('0' + hundredths / 10 % 10));
    buf_.push_back(char('0' + hundredths % 10));
  }
  void Pad2(unsigned v) {
    buf_.push_back(char('0' + v / 10));
    buf_.push_back(char('0' + v % 10));
  }
  void MaybeFlush() {
    if (buf_.size() >= kSize) Flush();
  }
  void Flush() {
    if (!buf_.empty() && ok_ && !sink_(buf_.data(), buf_.size())) ok_ = false;
    buf_.clear();
  }

 private:
  static constexpr size_t kSize = size_t{1} << 20;
  const ByteSink& sink_;
  std::string buf_;
  bool ok_ = true;
};

}  // namespace

const std::string& TaxiHeader() {
  static const std::string header =
      "cab_type__String_T,vendor__String_T,passenger_count__ID_T,"
      "pickup_year__ID_T,pickup_month__ID_T,dist_miles__ID_T,"
      "trip_distance__Decimal_2,total_amount__Decimal_2,payment_type__ID_T,"
      "pickup_zone__String_F_YMD,dropoff_zone__String_T,tags__StringArray,"
      "airport__Bool,pickup_time__RecordTime";
  return header;
}

const std::string& TaxiZoneName(int z) {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> out;
    for (int i = 0; i < kZones; ++i) {
      // Every 50th zone has a comma and quotes, as real zone names such as
      // `Newark Airport, "EWR"` would.
      out.push_back(i % 50 == 7 ? "zone-" + std::to_string(i) + ", \"east\""
                                : "zone-" + std::to_string(i));
    }
    return out;
  }();
  return names[z];
}

featurebase::Status WriteTaxiCsv(const ByteSink& out, uint64_t rows,
                                 uint64_t seed, const std::string& what) {
  const auto cab = Cdf({70, 20, 10});
  const auto passengers = Cdf({3, 60, 15, 6, 4, 5, 4, 1, 1, 1});
  const auto payment = Cdf({55, 40, 2, 2, 1});
  std::vector<double> w;
  for (int i = 0; i <= 50; ++i) w.push_back(std::exp(-0.15 * i));
  const auto miles = Cdf(w);
  w.clear();
  for (int i = 0; i < kZones; ++i) w.push_back(1.0 / std::pow(i + 1, 0.9));
  const auto zones = Cdf(w);
  std::vector<std::string> zone_cells;
  for (int i = 0; i < kZones; ++i)
    zone_cells.push_back(CsvCell(TaxiZoneName(i)));

  Writer wr(out);
  wr.Str(TaxiHeader());
  wr.Char('\n');
  for (uint64_t i = 0; i < rows; ++i) {
    uint64_t state = seed ^ (i * 0xD1B54A32D192ED03ull);
    auto next = [&] { return SplitMix(state); };
    wr.Str(kCabTypes[Pick(cab, next())]);
    wr.Char(',');
    wr.Str(kVendors[next() % 3]);
    wr.Char(',');
    wr.Uint(Pick(passengers, next()));
    wr.Char(',');
    const unsigned year = unsigned(2009 + next() % 8);
    const unsigned month = unsigned(1 + next() % 12);
    wr.Uint(year);
    wr.Char(',');
    wr.Uint(month);
    wr.Char(',');
    const uint64_t dist = Pick(miles, next());
    wr.Uint(dist);
    wr.Char(',');
    const uint64_t trip = dist * 100 + next() % 100;
    wr.Fixed2(trip);
    wr.Char(',');
    const uint64_t fare = 250 + trip * 2 + next() % 1500;
    wr.Fixed2(fare + next() % 2000);
    wr.Char(',');
    wr.Uint(1 + Pick(payment, next()));
    wr.Char(',');
    wr.Str(zone_cells[Pick(zones, next())]);
    wr.Char(',');
    wr.Str(zone_cells[Pick(zones, next())]);
    wr.Char(',');
    const int n_tags = int(next() % 4);
    std::array<int, 3> tags{};
    for (int k = 0; k < n_tags; ++k) {
      int tag;
      do {
        tag = int(next() % 20);
      } while (std::find(tags.begin(), tags.begin() + k, tag) !=
               tags.begin() + k);
      tags[k] = tag;
    }
    if (n_tags > 1) wr.Char('"');
    for (int k = 0; k < n_tags; ++k) {
      if (k > 0) wr.Char(',');
      wr.Str("tag-", 4);
      wr.Uint(uint64_t(tags[k]));
    }
    if (n_tags > 1) wr.Char('"');
    wr.Char(',');
    wr.Str(next() % 10 == 0 ? "true" : "false");
    wr.Char(',');
    // pickup_time: a second within the first 28 days of the month.
    const uint64_t sec = next() % (28 * 86400);
    const unsigned day = unsigned(1 + sec / 86400);
    const unsigned hour = unsigned(sec / 3600 % 24);
    const unsigned minute = unsigned(sec / 60 % 60);
    wr.Uint(year);
    wr.Char('-');
    wr.Pad2(month);
    wr.Char('-');
    wr.Pad2(day);
    wr.Char('T');
    wr.Pad2(hour);
    wr.Char(':');
    wr.Pad2(minute);
    wr.Char(':');
    wr.Pad2(unsigned(sec % 60));
    wr.Str("Z\n", 2);
    wr.MaybeFlush();
    if (!wr.ok()) break;
  }
  wr.Flush();
  if (!wr.ok())
    return absl::InternalError("write " + what + ": " + std::strerror(errno));
  return absl::OkStatus();
}

}  // namespace fbc
