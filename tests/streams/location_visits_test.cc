// Example (a) against a naive model of Kafka Streams' KGroupedStream: a
// running count per user (#count) and the set of locations per user (an
// aggregate into a set), driven by seeded random streams.
#include "examples/streams/location_visits.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>
#include <string>
#include <vector>

#include "featurebase/query.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::streams {
namespace {

using ::featurebase::testing::SeedTrace;
using ::featurebase::testing::StatusIs;
using ::featurebase::testing::TestSeeds;

// The Kafka Streams side: groupByKey() then count() and an aggregate that
// adds the location to the user's set.
struct GroupedStreamModel {
  std::map<std::string, int64_t> count;
  std::map<std::string, std::set<std::string>> locations;

  void Add(const LocationVisit& v) {
    ++count[v.user];
    locations[v.user].insert(v.location);
  }
  UserVisits Row(const std::string& user) const {
    UserVisits r;
    if (auto it = count.find(user); it != count.end()) r.visits = it->second;
    if (auto it = locations.find(user); it != locations.end())
      r.distinct_locations = it->second.size();
    return r;
  }
};

std::unique_ptr<Index> NewIndex() {
  auto index = Index::Create("visits", IndexOptions{.keys = true});
  EXPECT_TRUE(index.ok()) << index.status();
  FB_EXPECT_OK(CreateLocationVisitFields(**index));
  return std::move(*index);
}

std::string User(uint64_t i) { return "u" + std::to_string(i); }

// Every user of `users` answers as the model says.
void ExpectMatches(Index& index, const GroupedStreamModel& model,
                   const std::vector<std::string>& users, int step) {
  auto got = QueryUserVisits(index, users);
  ASSERT_TRUE(got.ok()) << got.status();
  ASSERT_EQ(got->size(), users.size());
  for (size_t i = 0; i < users.size(); ++i) {
    const UserVisits want = model.Row(users[i]);
    ASSERT_EQ((*got)[i], want)
        << "user " << users[i] << " after step " << step << ": got "
        << (*got)[i].distinct_locations << " locations, " << (*got)[i].visits
        << " visits; want " << want.distinct_locations << ", " << want.visits;
  }
}

TEST(LocationVisitsTest, MatchesGroupedStreamModel) {
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const int users = 300 + int(rng() % 200);
    const int locations = 5 + int(rng() % 60);
    const int events = 4000 + int(rng() % 2000);
    auto index = NewIndex();
    // A small capacity makes Add report full batches too.
    auto writer =
        LocationVisitWriter::Create(index.get(), BatchOptions{.capacity = 700});
    ASSERT_TRUE(writer.ok()) << writer.status();
    GroupedStreamModel model;
    // Users beyond `users` are never visited: they must answer zero.
    std::vector<std::string> all;
    for (int u = 0; u < users + 5; ++u) all.push_back(User(u));
    for (int e = 0; e < events; ++e) {
      // Skewed users: a few visit often, most rarely.
      const uint64_t u = rng() % 4 == 0 ? rng() % 10 : rng() % users;
      LocationVisit v{User(u), "loc" + std::to_string(rng() % locations)};
      model.Add(v);
      auto full = (*writer)->Add(v);
      ASSERT_TRUE(full.ok()) << full.status();
      if (*full || rng() % 250 == 0) {
        auto flushed = (*writer)->Flush();
        ASSERT_TRUE(flushed.ok()) << flushed.status();
        EXPECT_THAT(flushed->rejections, ::testing::IsEmpty());
        // A sample at each flush (a query per user is what costs), every
        // user at the end.
        std::vector<std::string> sample;
        for (int k = 0; k < 40; ++k) sample.push_back(all[rng() % all.size()]);
        ExpectMatches(*index, model, sample, e);
        if (::testing::Test::HasFatalFailure()) return;
      }
    }
    FB_ASSERT_OK((*writer)->Flush());
    ExpectMatches(*index, model, all, events);
  }
}

TEST(LocationVisitsTest, AnswersOneUserAsFeatureBaseJson) {
  auto index = NewIndex();
  auto writer = LocationVisitWriter::Create(index.get());
  ASSERT_TRUE(writer.ok()) << writer.status();
  for (const char* loc : {"oslo", "rome", "oslo"})
    FB_ASSERT_OK((*writer)->Add({"ann", loc}));
  FB_ASSERT_OK((*writer)->Add({"bob", "rome"}));
  FB_ASSERT_OK((*writer)->Flush());
  auto pql = UserVisitsPql("ann");
  ASSERT_TRUE(pql.ok()) << pql.status();
  auto res = Query(*index, *pql);
  ASSERT_TRUE(res.ok()) << res.status();
  EXPECT_EQ(res->ToJson(), R"({"results":[2,{"value":3,"count":1}]})");
  auto nobody = Query(*index, *UserVisitsPql("nobody"));
  ASSERT_TRUE(nobody.ok()) << nobody.status();
  EXPECT_EQ(nobody->ToJson(), R"({"results":[0,{"value":0,"count":0}]})");
}

TEST(LocationVisitsTest, EmptyFlushChangesNothing) {
  auto index = NewIndex();
  auto writer = LocationVisitWriter::Create(index.get());
  ASSERT_TRUE(writer.ok()) << writer.status();
  auto empty = (*writer)->Flush();
  ASSERT_TRUE(empty.ok()) << empty.status();
  EXPECT_EQ(empty->accepted, 0u);
  FB_ASSERT_OK((*writer)->Add({"ann", "oslo"}));
  FB_ASSERT_OK((*writer)->Flush());
  auto again = (*writer)->Flush();
  ASSERT_TRUE(again.ok()) << again.status();
  EXPECT_EQ(again->accepted, 0u);
  auto got = QueryUserVisits(*index, {"ann"});
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(got->at(0), (UserVisits{1, 1}));
}

TEST(LocationVisitsTest, RefusesAnIndexWithoutKeys) {
  auto index = Index::Create("visits");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_THAT(CreateLocationVisitFields(**index),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("has no record keys")));
}

TEST(LocationVisitsTest, PqlRefusesKeysItCannotQuote) {
  EXPECT_THAT(UserVisitsPql("a\"b"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("user key \"a\"b\"")));
  EXPECT_THAT(UserVisitsPql(""), StatusIs(absl::StatusCode::kInvalidArgument));
}

}  // namespace
}  // namespace featurebase::streams
