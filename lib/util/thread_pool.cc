#include "lib/util/thread_pool.h"

#include <algorithm>
#include <atomic>
#include <memory>

namespace featurebase::internal {

ThreadPool::ThreadPool(size_t threads) {
  if (threads == 0) threads = std::max(1u, std::thread::hardware_concurrency());
  for (size_t i = 0; i < threads; ++i)
    workers_.emplace_back([this] { Work(); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : workers_) t.join();
}

void ThreadPool::Work() {
  for (;;) {
    std::function<void()> task;
    {
      std::unique_lock<std::mutex> lock(mu_);
      wake_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
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
  // shards balance themselves; the caller waits until every helper is done.
  struct Shared {
    std::atomic<size_t> next{0};
    std::mutex mu;
    std::condition_variable done;
    size_t running = 0;
  };
  auto shared = std::make_shared<Shared>();
  const size_t helpers = std::min(workers_.size(), n - 1);
  shared->running = helpers;
  auto drain = [shared, n, &fn] {
    for (size_t i; (i = shared->next.fetch_add(1)) < n;) fn(i);
  };
  {
    std::lock_guard<std::mutex> lock(mu_);
    for (size_t h = 0; h < helpers; ++h) {
      queue_.emplace_back([drain, shared] {
        drain();
        std::lock_guard<std::mutex> lock(shared->mu);
        if (--shared->running == 0) shared->done.notify_one();
      });
    }
  }
  wake_.notify_all();
  drain();
  std::unique_lock<std::mutex> lock(shared->mu);
  shared->done.wait(lock, [&] { return shared->running == 0; });
}

ThreadPool& ThreadPool::Default() {
  static ThreadPool* pool = new ThreadPool();
  return *pool;
}

}  // namespace featurebase::internal
