// The two stream/table examples end to end: a seeded event sequence fed in
// batches into an in-memory keyed index, and the answers printed as
// FeatureBase JSON. Usage: streams_demo [seed]
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include "examples/streams/location_visits.h"
#include "examples/streams/region_clicks.h"
#include "featurebase/index.h"
#include "featurebase/query.h"

namespace fb = featurebase;
namespace streams = featurebase::streams;

namespace {

constexpr int kUsers = 50;
constexpr int kEvents = 600;
constexpr int kBatch = 100;

int Fail(const fb::Status& s) {
  std::fprintf(stderr, "streams_demo: %s\n", s.ToString().c_str());
  return 1;
}

std::string User(uint64_t i) { return "user" + std::to_string(i); }

// Prints the response of `pql` on `index` after a "# " line naming it.
fb::Status Print(fb::Index& index, const std::string& pql) {
  fb::StatusOr<fb::QueryResponse> res = fb::Query(index, pql);
  if (!res.ok()) return res.status();
  std::printf("# %s\n%s\n", pql.c_str(), res->ToJson().c_str());
  return absl::OkStatus();
}

// (a): visits at locations, then three users' rows of the table.
fb::Status LocationVisits(std::mt19937_64& rng) {
  auto index = fb::Index::Create("visits", fb::IndexOptions{.keys = true});
  if (!index.ok()) return index.status();
  if (fb::Status s = streams::CreateLocationVisitFields(**index); !s.ok())
    return s;
  auto writer = streams::LocationVisitWriter::Create(index->get());
  if (!writer.ok()) return writer.status();
  const char* kLocations[] = {"berlin", "lisbon", "oslo",   "paris",
                              "rome",   "vienna", "warsaw", "zagreb"};
  for (int e = 0; e < kEvents; ++e) {
    streams::LocationVisit v{User(rng() % kUsers), kLocations[rng() % 8]};
    auto full = (*writer)->Add(v);
    if (!full.ok()) return full.status();
    if (*full || (e + 1) % kBatch == 0) {
      if (auto f = (*writer)->Flush(); !f.ok()) return f.status();
    }
  }
  if (auto f = (*writer)->Flush(); !f.ok()) return f.status();
  for (uint64_t u = 0; u < 3; ++u) {
    auto pql = streams::UserVisitsPql(User(u));
    if (!pql.ok()) return pql.status();
    if (fb::Status s = Print(**index, *pql); !s.ok()) return s;
  }
  return Print(**index, "TopN(locations)");
}

// (b): region updates, tombstones and clicks, then the clicks per region.
fb::Status RegionClicks(std::mt19937_64& rng) {
  auto index = fb::Index::Create("clicks", fb::IndexOptions{.keys = true});
  if (!index.ok()) return index.status();
  if (fb::Status s = streams::CreateRegionClickFields(**index); !s.ok())
    return s;
  auto table = streams::RegionTable::Create(index->get());
  if (!table.ok()) return table.status();
  auto clicks = streams::ClickStream::Create(index->get());
  if (!clicks.ok()) return clicks.status();
  const char* kRegions[] = {"africa", "americas", "asia", "europe"};
  auto flush = [&]() -> fb::Status {
    if (auto f = (*table)->Flush(); !f.ok()) return f.status();
    return (*clicks)->Flush().status();
  };
  for (int e = 0; e < kEvents; ++e) {
    const std::string user = User(rng() % kUsers);
    const uint64_t kind = rng() % 100;
    fb::StatusOr<bool> full = false;
    if (kind < 15) {
      full = (*table)->Upsert(user, kRegions[rng() % 4]);
    } else if (kind < 18) {
      if (fb::Status s = (*table)->Tombstone(user); !s.ok()) return s;
    } else {
      full = (*clicks)->Add(user, int64_t(rng() % 10));
    }
    if (!full.ok()) return full.status();
    if (*full || (e + 1) % kBatch == 0) {
      if (fb::Status s = flush(); !s.ok()) return s;
    }
  }
  if (fb::Status s = flush(); !s.ok()) return s;
  return Print(**index, std::string(streams::kRegionClicksPql));
}

}  // namespace

int main(int argc, char** argv) {
  if (argc > 2) return std::fprintf(stderr, "usage: streams_demo [seed]\n"), 2;
  const uint64_t seed = argc == 2 ? std::strtoull(argv[1], nullptr, 10) : 1;
  std::mt19937_64 rng(seed);
  if (fb::Status s = LocationVisits(rng); !s.ok()) return Fail(s);
  if (fb::Status s = RegionClicks(rng); !s.ok()) return Fail(s);
  return 0;
}
