// ThreadPool: ParallelFor runs each index exactly once, on the workers and
// the caller, from any number of calling threads at once.
#include "lib/util/thread_pool.h"

#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <set>
#include <thread>
#include <vector>

namespace featurebase::internal {
namespace {

TEST(ThreadPoolTest, EveryIndexRunsExactlyOnce) {
  ThreadPool pool(3);
  ASSERT_EQ(pool.size(), 3u);
  for (size_t n : {0, 1, 2, 3, 4, 7, 100, 10000}) {
    std::vector<std::atomic<int>> hits(n);
    pool.ParallelFor(n, [&](size_t i) { hits[i].fetch_add(1); });
    for (size_t i = 0; i < n; ++i)
      ASSERT_EQ(hits[i].load(), 1) << "n " << n << " index " << i;
  }
}

TEST(ThreadPoolTest, WorkSpreadsOverWorkersAndTheCaller) {
  ThreadPool pool(2);
  std::mutex mu;
  std::set<std::thread::id> ids;
  std::atomic<int> waiting{0};
  // Three indices that each wait until all three have started: only three
  // distinct threads (two workers and the caller) can finish this.
  pool.ParallelFor(3, [&](size_t) {
    {
      std::lock_guard<std::mutex> l(mu);
      ids.insert(std::this_thread::get_id());
    }
    waiting.fetch_add(1);
    while (waiting.load() < 3) std::this_thread::yield();
  });
  EXPECT_EQ(ids.size(), 3u);
  EXPECT_TRUE(ids.count(std::this_thread::get_id()));
}

TEST(ThreadPoolTest, ConcurrentCallersEachGetAllTheirIndices) {
  ThreadPool pool(2);
  constexpr int kCallers = 4, kRounds = 50;
  constexpr size_t kN = 97;
  std::vector<std::thread> callers;
  std::atomic<int> wrong{0};
  for (int c = 0; c < kCallers; ++c) {
    callers.emplace_back([&] {
      for (int r = 0; r < kRounds; ++r) {
        std::vector<std::atomic<int>> hits(kN);
        pool.ParallelFor(kN, [&](size_t i) { hits[i].fetch_add(1); });
        for (auto& h : hits) wrong.fetch_add(h.load() != 1);
      }
    });
  }
  for (auto& t : callers) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

TEST(ThreadPoolTest, ZeroThreadsMeansOnePerHardwareThread) {
  ThreadPool pool(0);
  EXPECT_EQ(pool.size(), std::max(1u, std::thread::hardware_concurrency()));
}

}  // namespace
}  // namespace featurebase::internal
