// A fixed pool of worker threads for per-shard work (queries, ingest,
// checkpoint loading).
//
// Hand-written because Debian's abseil (20220623) exposes no thread pool;
// ParallelFor is the only operation its users need. Uses std::mutex and
// std::condition_variable rather than absl::Mutex: Debian's abseil carries
// no ThreadSanitizer annotations, so TSan could not check it.
//
// Thread-safe: any number of threads may call ParallelFor concurrently.
#ifndef FEATUREBASE_LIB_UTIL_THREAD_POOL_H_
#define FEATUREBASE_LIB_UTIL_THREAD_POOL_H_

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "absl/base/thread_annotations.h"

namespace featurebase::internal {

class ThreadPool {
 public:
  // `threads` workers; 0 means one per hardware thread.
  explicit ThreadPool(size_t threads = 0);
  ~ThreadPool();
  ThreadPool(const ThreadPool&) = delete;
  ThreadPool& operator=(const ThreadPool&) = delete;

  size_t size() const { return workers_.size(); }

  // Calls fn(i) for every i in [0, n), spread over the workers and the
  // calling thread, and returns when all calls have returned. fn must not
  // throw.
  void ParallelFor(size_t n, const std::function<void(size_t)>& fn);

  // The process-wide pool used by queries (one worker per hardware thread).
  static ThreadPool& Default();

 private:
  void Work();
  std::mutex mu_;
  std::condition_variable wake_;
  std::deque<std::function<void()>> queue_ ABSL_GUARDED_BY(mu_);
  bool stopping_ ABSL_GUARDED_BY(mu_) = false;
  std::vector<std::thread> workers_;
};

}  // namespace featurebase::internal

#endif  // FEATUREBASE_LIB_UTIL_THREAD_POOL_H_
