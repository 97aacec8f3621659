// ExecState's threads: QueryOptions::threads = 1 runs per-shard work on the
// calling thread only, n > 1 on at most n threads, 0 on the process-wide
// pool; and evaluation with any of them gives the same records.
#include "lib/query/eval.h"

#include <gtest/gtest.h>

#include <chrono>
#include <mutex>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "featurebase/index.h"
#include "featurebase/query.h"
#include "featurebase/shard.h"
#include "tests/util/seed.h"
#include "tests/util/status_matchers.h"

namespace featurebase::internal {
namespace {

using featurebase::testing::SeedTrace;
using featurebase::testing::TestSeeds;

// The threads that ran fn over `n` indexes (each call sleeping a little,
// so that idle workers get a chance to take part).
std::set<std::thread::id> ThreadsOf(size_t threads, size_t n) {
  auto index = *Index::Create("i");
  QueryOptions o;
  o.threads = threads;
  ExecState es(*index, o);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::vector<int> seen(n, 0);
  es.ParallelFor(n, [&](size_t i) {
    std::this_thread::sleep_for(std::chrono::microseconds(200));
    std::lock_guard<std::mutex> lock(mu);
    ids.insert(std::this_thread::get_id());
    ++seen[i];
  });
  for (size_t i = 0; i < n; ++i) EXPECT_EQ(seen[i], 1) << "index " << i;
  return ids;
}

TEST(ExecStateTest, OneThreadRunsOnTheCallingThreadOnly) {
  const std::set<std::thread::id> ids = ThreadsOf(1, 64);
  EXPECT_EQ(ids, std::set<std::thread::id>{std::this_thread::get_id()});
}

TEST(ExecStateTest, NThreadsUseAtMostN) {
  ASSERT_GE(ThreadPool::Default().size(), 1u);
  for (size_t n : {2, 3}) {
    SCOPED_TRACE(n);
    const std::set<std::thread::id> ids = ThreadsOf(n, 200);
    EXPECT_LE(ids.size(), n);
    EXPECT_GE(ids.size(), 1u);
  }
}

TEST(ExecStateTest, DefaultUsesThePoolAndCallingThreadAtMost) {
  const std::set<std::thread::id> ids = ThreadsOf(0, 200);
  EXPECT_LE(ids.size(), ThreadPool::Default().size() + 1);
}

TEST(ExecStateTest, EveryThreadCountGivesTheSameAnswer) {
  for (uint64_t seed : TestSeeds(2)) {
    SCOPED_TRACE(SeedTrace(seed));
    std::mt19937_64 rng(seed);
    auto index = *Index::Create("i");
    FB_ASSERT_OK(index->CreateField("s", FieldOptions::Set()));
    FB_ASSERT_OK(index->CreateField("v", FieldOptions::Int(0, 1000)));
    std::set<uint64_t> row1;
    for (int i = 0; i < 2000; ++i) {
      const uint64_t col = rng() % (24 * kShardWidth);
      const uint64_t row = rng() % 3;
      FB_ASSERT_OK(index->Set(col, "s", Value::Id(row)));
      FB_ASSERT_OK(index->Set(col, "v", Value::Int(int64_t(rng() % 1000))));
      if (row == 1) row1.insert(col);
    }
    const std::string pql =
        "Count(Row(s=1)) TopN(s) GroupBy(Rows(s)) Sum(Row(s=2), field=v) "
        "Sort(Row(s=0), field=v, limit=5)";
    std::string want;
    for (size_t threads : {0, 1, 2, 5}) {
      SCOPED_TRACE(threads);
      QueryOptions o;
      o.threads = threads;
      auto r = Query(*index, pql, o);
      FB_ASSERT_OK(r);
      ASSERT_EQ(r->results[0].count(), row1.size());
      if (want.empty()) want = r->ToJson();
      EXPECT_EQ(r->ToJson(), want);
    }
  }
}

}  // namespace
}  // namespace featurebase::internal
