// Example (b) against a naive model of Kafka Streams: a map user -> region
// for the KTable, running sums per user for the clicks (KGroupedStream
// #reduce), and the KStream-KTable join (each click joined with the table's
// value at the time of the click, summed per region).
//
// Every test but SameBatchOrdering gives each tombstone a flush of its
// own; SameBatchOrdering mixes tombstones and upserts of one user in one
// batch and relies on their being applied in the order they were added.
#include "examples/streams/region_clicks.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <deque>
#include <map>
#include <memory>
#include <ostream>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::streams {
namespace {

using ::featurebase::testing::SeedTrace;
using ::featurebase::testing::StatusIs;
using ::featurebase::testing::TestSeeds;

struct Event {
  enum class Kind { kUpsert, kTombstone, kClick } kind;
  std::string user;
  std::string region;  // kUpsert
  int64_t clicks = 0;  // kClick
};

Event Upsert(std::string user, std::string region) {
  return {Event::Kind::kUpsert, std::move(user), std::move(region)};
}
Event Tombstone(std::string user) {
  return {Event::Kind::kTombstone, std::move(user)};
}
Event Click(std::string user, int64_t n) {
  return {Event::Kind::kClick, std::move(user), "", n};
}

using Sums = std::map<std::string, int64_t>;

}  // namespace

// gtest prints a RegionTotal as users/clicks rather than as bytes.
void PrintTo(const RegionTotal& t, std::ostream* os) {
  *os << t.users << "/" << t.clicks;
}

namespace {

// Kafka Streams' side of the example.
struct StreamsModel {
  std::map<std::string, std::string> table;  // the KTable
  std::map<std::string, int64_t> clicks;     // reduce(+) per user
  Sums join;  // KStream-KTable (inner) join, summed per region
  // Clicks whose user's region changed afterwards (the join keeps them with
  // the old region): the random tests check they happen.
  int late_changes = 0;

  void Apply(const Event& e) {
    switch (e.kind) {
      case Event::Kind::kUpsert:
        if (clicks.contains(e.user) && table[e.user] != e.region)
          ++late_changes;
        table[e.user] = e.region;
        break;
      case Event::Kind::kTombstone:
        table.erase(e.user);
        break;
      case Event::Kind::kClick:
        clicks[e.user] += e.clicks;
        if (auto it = table.find(e.user); it != table.end())
          join[it->second] += e.clicks;
        break;
    }
  }
  // Each user's total clicks under their current region; users without a
  // region are absent.
  RegionTotals CurrentRegionTotals() const {
    RegionTotals out;
    for (const auto& [user, n] : clicks) {
      auto it = table.find(user);
      if (it == table.end()) continue;
      RegionTotal& t = out[it->second];
      ++t.users;
      t.clicks += n;
    }
    return out;
  }
};

Sums SumsOf(const RegionTotals& totals) {
  Sums out;
  for (const auto& [region, t] : totals) out[region] = t.clicks;
  return out;
}

// The index with both writers, fed event by event.
class Feed {
 public:
  // `isolate_tombstones`: each tombstone gets a flush of the table of its
  // own, so no batch holds a tombstone and another write of the table.
  explicit Feed(bool isolate_tombstones, BatchOptions options = {})
      : isolate_tombstones_(isolate_tombstones) {
    auto index = Index::Create("clicks", IndexOptions{.keys = true});
    EXPECT_TRUE(index.ok()) << index.status();
    index_ = std::move(*index);
    FB_EXPECT_OK(CreateRegionClickFields(*index_));
    auto table = RegionTable::Create(index_.get(), options);
    EXPECT_TRUE(table.ok()) << table.status();
    table_ = std::move(*table);
    auto clicks = ClickStream::Create(index_.get(), options);
    EXPECT_TRUE(clicks.ok()) << clicks.status();
    clicks_ = std::move(*clicks);
  }

  Status Apply(const Event& e) {
    StatusOr<bool> full = false;
    switch (e.kind) {
      case Event::Kind::kUpsert:
        full = table_->Upsert(e.user, e.region);
        if (full.ok() && *full) return table_->Flush().status();
        return full.status();
      case Event::Kind::kTombstone:
        if (isolate_tombstones_ && table_->pending() > 0) {
          if (Status s = table_->Flush().status(); !s.ok()) return s;
        }
        if (Status s = table_->Tombstone(e.user); !s.ok()) return s;
        if (isolate_tombstones_) return table_->Flush().status();
        return absl::OkStatus();
      case Event::Kind::kClick:
        full = clicks_->Add(e.user, e.clicks);
        if (full.ok() && *full) return clicks_->Flush().status();
        return full.status();
    }
    return absl::InternalError("feed: unknown event kind");
  }
  Status Flush() {
    if (Status s = table_->Flush().status(); !s.ok()) return s;
    return clicks_->Flush().status();
  }
  Status ApplyAll(const std::vector<Event>& events) {
    for (const Event& e : events) {
      if (Status s = Apply(e); !s.ok()) return s;
    }
    return Flush();
  }
  StatusOr<RegionTotals> Totals() { return QueryRegionTotals(*index_); }
  Index& index() { return *index_; }
  RegionTable& table() { return *table_; }
  ClickStream& clicks() { return *clicks_; }

 private:
  bool isolate_tombstones_;
  std::unique_ptr<Index> index_;
  std::unique_ptr<RegionTable> table_;
  std::unique_ptr<ClickStream> clicks_;
};

std::string User(uint64_t i) { return "u" + std::to_string(i); }
std::string Region(uint64_t i) { return "r" + std::to_string(i); }

// Any order of upserts, tombstones and clicks. Users below users/10 are
// never in the table (their clicks count nowhere).
std::vector<Event> RandomEvents(std::mt19937_64& rng, int users, int regions,
                                int n) {
  std::vector<Event> out;
  const int tableless = users / 10;
  for (int i = 0; i < n; ++i) {
    const uint64_t kind = rng() % 100;
    const uint64_t u = rng() % 5 == 0 ? rng() % 20 : rng() % users;
    if (kind < 15 && int(u) >= tableless) {
      out.push_back(Upsert(User(u), Region(rng() % regions)));
    } else if (kind < 19 && int(u) >= tableless) {
      out.push_back(Tombstone(User(u)));
    } else {
      out.push_back(Click(User(u), int64_t(rng() % 40)));
    }
  }
  return out;
}

// Each user's table writes (upserts, tombstones, re-adds) all come before
// that user's first click; users interleave at random.
std::vector<Event> TableFirstEvents(std::mt19937_64& rng, int users,
                                    int regions, int clicks_per_user) {
  std::vector<std::deque<Event>> per(users);
  for (int u = 0; u < users; ++u) {
    const int writes = int(rng() % 4);  // 0: a user never in the table
    for (int w = 0; w < writes; ++w) {
      if (rng() % 5 == 0)
        per[u].push_back(Tombstone(User(u)));
      else
        per[u].push_back(Upsert(User(u), Region(rng() % regions)));
    }
    const int clicks = int(rng() % (2 * clicks_per_user + 1));
    for (int c = 0; c < clicks; ++c)
      per[u].push_back(Click(User(u), int64_t(rng() % 40)));
  }
  std::vector<Event> out;
  std::vector<int> live;
  for (int u = 0; u < users; ++u)
    if (!per[u].empty()) live.push_back(u);
  while (!live.empty()) {
    const size_t i = rng() % live.size();
    std::deque<Event>& q = per[live[i]];
    out.push_back(std::move(q.front()));
    q.pop_front();
    if (q.empty()) {
      live[i] = live.back();
      live.pop_back();
    }
  }
  return out;
}

// Feeds `events` with flushes at random points and, after each, checks the
// answer against the model's current-region totals.
void RunRandom(uint64_t seed, const std::vector<Event>& events,
               std::mt19937_64& rng, StreamsModel* model, Feed* feed) {
  for (size_t i = 0; i < events.size(); ++i) {
    model->Apply(events[i]);
    FB_ASSERT_OK(feed->Apply(events[i]));
    if (rng() % 200 == 0 || i + 1 == events.size()) {
      FB_ASSERT_OK(feed->Flush());
      auto got = feed->Totals();
      ASSERT_TRUE(got.ok()) << got.status();
      const RegionTotals want = model->CurrentRegionTotals();
      ASSERT_EQ(*got, want) << "after event " << i << " (seed " << seed << ")";
    }
  }
}

TEST(RegionClicksTest, MatchesCurrentRegionModel) {
  int late_changes = 0, join_differs = 0;
  for (uint64_t seed : TestSeeds(6)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const int users = 300 + int(rng() % 300);
    const std::vector<Event> events =
        RandomEvents(rng, users, 3 + int(rng() % 20), 4000 + int(rng() % 3000));
    StreamsModel model;
    // A small capacity makes Add report full batches too.
    Feed feed(/*isolate_tombstones=*/true, BatchOptions{.capacity = 500});
    RunRandom(seed, events, rng, &model, &feed);
    if (HasFatalFailure()) return;
    late_changes += model.late_changes;
    join_differs += SumsOf(model.CurrentRegionTotals()) != model.join;
  }
  // The sequences exercise what separates the answer from the join.
  EXPECT_GT(late_changes, 0);
  EXPECT_GT(join_differs, 0);
}

TEST(RegionClicksTest, EqualsJoinWhenTableWritesComeFirst) {
  for (uint64_t seed : TestSeeds(6)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    const std::vector<Event> events =
        TableFirstEvents(rng, 300 + int(rng() % 300), 3 + int(rng() % 20), 8);
    StreamsModel model;
    Feed feed(/*isolate_tombstones=*/true);
    RunRandom(seed, events, rng, &model, &feed);
    if (HasFatalFailure()) return;
    EXPECT_EQ(model.late_changes, 0);
    auto got = feed.Totals();
    ASSERT_TRUE(got.ok()) << got.status();
    EXPECT_FALSE(model.join.empty());
    EXPECT_EQ(SumsOf(*got), model.join);
  }
}

// The exact two answers where the table changes after clicks.
TEST(RegionClicksTest, DiffersFromJoinWhenRegionChangesAfterClicks) {
  const std::vector<Event> events = {
      Upsert("ann", "eu"), Click("ann", 5), Upsert("ann", "us"),
      Click("ann", 3),
      // Clicks before the user had a region: the inner join drops them.
      Click("bob", 4), Upsert("bob", "eu"),
      // Clicks of a user whose region was then tombstoned.
      Upsert("cy", "us"), Click("cy", 2), Tombstone("cy")};
  StreamsModel model;
  for (const Event& e : events) model.Apply(e);
  EXPECT_EQ(model.join, (Sums{{"eu", 5}, {"us", 5}}));
  const RegionTotals want = {{"eu", {1, 4}}, {"us", {1, 8}}};
  EXPECT_EQ(model.CurrentRegionTotals(), want);

  Feed feed(/*isolate_tombstones=*/true);
  FB_ASSERT_OK(feed.ApplyAll(events));
  auto got = feed.Totals();
  ASSERT_TRUE(got.ok()) << got.status();
  EXPECT_EQ(*got, want);
  EXPECT_NE(SumsOf(*got), model.join);
}

TEST(RegionClicksTest, TombstonedUserReAddedKeepsClicks) {
  Feed feed(/*isolate_tombstones=*/true);
  FB_ASSERT_OK(feed.ApplyAll({Upsert("ann", "eu"), Click("ann", 5)}));
  EXPECT_EQ(*feed.Totals(), (RegionTotals{{"eu", {1, 5}}}));
  FB_ASSERT_OK(feed.ApplyAll({Tombstone("ann")}));
  EXPECT_EQ(*feed.Totals(), RegionTotals{});
  FB_ASSERT_OK(feed.ApplyAll({Click("ann", 2)}));
  EXPECT_EQ(*feed.Totals(), RegionTotals{});
  FB_ASSERT_OK(feed.ApplyAll({Upsert("ann", "us")}));
  EXPECT_EQ(*feed.Totals(), (RegionTotals{{"us", {1, 7}}}));
}

TEST(RegionClicksTest, ClicksOfUserNeverInTableCountNowhere) {
  Feed feed(/*isolate_tombstones=*/true);
  FB_ASSERT_OK(feed.ApplyAll({Click("ghost", 9), Click("ghost", 1),
                              Upsert("ann", "eu"), Click("ann", 0)}));
  // ann's zero clicks still make her a user with a value in "eu".
  EXPECT_EQ(*feed.Totals(), (RegionTotals{{"eu", {1, 0}}}));
  // A tombstone of a user the table never held changes nothing.
  FB_ASSERT_OK(feed.ApplyAll({Tombstone("ghost"), Tombstone("nobody")}));
  EXPECT_EQ(*feed.Totals(), (RegionTotals{{"eu", {1, 0}}}));
}

TEST(RegionClicksTest, EmptyBatchesChangeNothing) {
  Feed feed(/*isolate_tombstones=*/true);
  auto none = feed.Totals();
  ASSERT_TRUE(none.ok()) << none.status();
  EXPECT_EQ(*none, RegionTotals{});
  auto empty_table = feed.table().Flush();
  ASSERT_TRUE(empty_table.ok()) << empty_table.status();
  EXPECT_EQ(empty_table->accepted, 0u);
  auto empty_clicks = feed.clicks().Flush();
  ASSERT_TRUE(empty_clicks.ok()) << empty_clicks.status();
  EXPECT_EQ(empty_clicks->accepted, 0u);
  FB_ASSERT_OK(feed.ApplyAll({Upsert("ann", "eu"), Click("ann", 3)}));
  FB_ASSERT_OK(feed.Flush());
  FB_ASSERT_OK(feed.Flush());
  EXPECT_EQ(*feed.Totals(), (RegionTotals{{"eu", {1, 3}}}));
}

TEST(RegionClicksTest, AnswersAsFeatureBaseJson) {
  Feed feed(/*isolate_tombstones=*/true);
  FB_ASSERT_OK(feed.ApplyAll(
      {Upsert("ann", "eu"), Upsert("bob", "eu"), Upsert("cy", "us"),
       Click("ann", 5), Click("bob", 2), Click("ann", 1), Click("cy", 4)}));
  auto json = QueryRegionClicksJson(feed.index());
  ASSERT_TRUE(json.ok()) << json.status();
  EXPECT_EQ(
      *json,
      R"([{"group":[{"field":"region","rowKey":"eu"}],"count":2,"sum":8},)"
      R"({"group":[{"field":"region","rowKey":"us"}],"count":1,"sum":4}])");
}

TEST(RegionClicksTest, ParseRegionTotalsIsStrict) {
  const std::string good =
      R"([{"group":[{"field":"region","rowKey":"eu"}],"count":2,"sum":8},)"
      R"({"group":[{"field":"region","rowKey":"us"}],"count":1,"sum":4}])";
  auto parsed = ParseRegionTotals(good);
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  EXPECT_EQ(*parsed, (RegionTotals{{"eu", {2, 8}}, {"us", {1, 4}}}));
  EXPECT_EQ(*ParseRegionTotals("[]"), RegionTotals{});
  // Every proper prefix is refused.
  for (size_t n = 0; n < good.size(); ++n) {
    EXPECT_THAT(ParseRegionTotals(good.substr(0, n)),
                StatusIs(absl::StatusCode::kInvalidArgument))
        << "prefix of " << n << " bytes";
  }
  EXPECT_THAT(ParseRegionTotals(good + " "),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("trailing bytes")));
  EXPECT_THAT(
      ParseRegionTotals(
          R"([{"group":[{"field":"region","rowKey":"eu"}],"count":2,"sum":8},)"
          R"({"group":[{"field":"region","rowKey":"eu"}],"count":1,"sum":4}])"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::HasSubstr("region \"eu\" given twice")));
  EXPECT_THAT(
      ParseRegionTotals(
          R"([{"group":[{"field":"other","rowKey":"eu"}],"count":2,"sum":8}])"),
      StatusIs(absl::StatusCode::kInvalidArgument,
               ::testing::HasSubstr("at offset 1")));
}

TEST(RegionClicksTest, RefusesBadInput) {
  auto index = Index::Create("clicks");
  ASSERT_TRUE(index.ok()) << index.status();
  EXPECT_THAT(CreateRegionClickFields(**index),
              StatusIs(absl::StatusCode::kFailedPrecondition,
                       ::testing::HasSubstr("has no record keys")));
  Feed feed(/*isolate_tombstones=*/true);
  EXPECT_THAT(feed.table().Upsert("ann", "e\"u"),
              StatusIs(absl::StatusCode::kInvalidArgument,
                       ::testing::HasSubstr("region \"e\"u\"")));
  EXPECT_THAT(feed.table().Upsert("ann", ""),
              StatusIs(absl::StatusCode::kInvalidArgument));
  EXPECT_THAT(feed.clicks().Add("ann", -1),
              StatusIs(absl::StatusCode::kOutOfRange));
}

// Adds and deletes of one key inside one batch apply in the order they
// were added (add then delete deletes; delete then add recreates).
TEST(RegionClicksTest, SameBatchOrdering) {
  {
    Feed feed(/*isolate_tombstones=*/false);
    FB_ASSERT_OK(feed.ApplyAll({Upsert("ann", "eu"), Click("ann", 1)}));
    FB_ASSERT_OK(feed.ApplyAll({Upsert("ann", "us"), Tombstone("ann")}));
    EXPECT_EQ(*feed.Totals(), RegionTotals{}) << "upsert then tombstone";
    FB_ASSERT_OK(feed.ApplyAll(
        {Tombstone("ann"), Upsert("ann", "asia"), Click("ann", 2)}));
    EXPECT_EQ(*feed.Totals(), (RegionTotals{{"asia", {1, 3}}}))
        << "tombstone then upsert";
    FB_ASSERT_OK(feed.ApplyAll({Upsert("ann", "eu"), Tombstone("ann"),
                                Upsert("ann", "us"), Tombstone("ann"),
                                Upsert("ann", "africa")}));
    EXPECT_EQ(*feed.Totals(), (RegionTotals{{"africa", {1, 3}}}));
  }
  for (uint64_t seed : TestSeeds(4)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    // Few users, so one batch often holds several writes of one user.
    const std::vector<Event> events = RandomEvents(rng, 40, 5, 3000);
    StreamsModel model;
    Feed feed(/*isolate_tombstones=*/false);
    RunRandom(seed, events, rng, &model, &feed);
    if (HasFatalFailure()) return;
  }
}

}  // namespace
}  // namespace featurebase::streams
