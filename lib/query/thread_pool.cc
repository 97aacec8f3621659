#include "lib/query/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>

#include "absl/synchronization/blocking_counter.h"

namespace featurebase::internal {

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i)
    workers_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() {
  {
    absl::MutexLock lock(&mu_);
    stopping_ = true;
  }
  for (auto& t : workers_) t.join();
}

void ThreadPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      absl::MutexLock lock(&mu_);
      mu_.Await(absl::Condition(
          +[](ThreadPool* p) ABSL_EXCLUSIVE_LOCKS_REQUIRED(p->mu_) {
            return p->stopping_ || !p->queue_.empty();
          },
          this));
      if (queue_.empty()) return;  // stopping
      task = std::move(queue_.front());
      queue_.pop_front();
    }
    task();
  }
}

void ThreadPool::ParallelFor(size_t n, const std::function<void(size_t)>& fn) {
  if (n == 0) return;
  if (n == 1 || workers_.empty()) {
    for (size_t i = 0; i < n; ++i) fn(i);
    return;
  }
  // Workers and the caller pull indices from a shared counter, so uneven
  // shards balance themselves.
  auto next = std::make_shared<std::atomic<size_t>>(0);
  const size_t helpers = std::min(workers_.size(), n - 1);
  absl::BlockingCounter done{static_cast<int>(helpers)};
  auto drain = [next, n, &fn] {
    for (size_t i; (i = next->fetch_add(1)) < n;) fn(i);
  };
  {
    absl::MutexLock lock(&mu_);
    for (size_t h = 0; h < helpers; ++h) {
      queue_.emplace_back([drain, &done] {
        drain();
        done.DecrementCount();
      });
    }
  }
  drain();
  done.Wait();
}

ThreadPool& ThreadPool::Default() {
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

}  // namespace featurebase::internal
