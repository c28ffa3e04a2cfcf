//===- thread_pool.h - Workers that split a kernel's grid -------*- C++ -*-===//
//
// Part of Kiln. A fixed set of worker threads that run one parallel loop at
// a time: ParallelFor splits [0, n) into one contiguous range per thread,
// the calling thread taking the first. Workers spin briefly between loops
// (a launch plan runs its dispatches back to back) and then sleep.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_THREAD_POOL_H
#define KILN_RUNTIME_THREAD_POOL_H

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace kiln {

class ThreadPool {
public:
  /// A pool of `threads` threads in all, the caller of ParallelFor included
  /// (so `threads - 1` are started). At least 1.
  explicit ThreadPool(int threads);
  ~ThreadPool();
  ThreadPool(const ThreadPool &) = delete;
  ThreadPool &operator=(const ThreadPool &) = delete;

  int size() const { return threads_; }

  /// The body of a loop: worker number (0 for the caller) and its range.
  using Body = std::function<void(int worker, int64_t begin, int64_t end)>;

  /// Runs `body` over [0, n) split into min(n, size()) contiguous ranges,
  /// one per worker, and returns when all are done. One loop at a time:
  /// while another thread's loop runs, this one runs on the caller alone
  /// (worker 0, the whole range) rather than wait.
  void ParallelFor(int64_t n, const Body &body);

private:
  void Work(int worker);

  const int threads_;
  std::vector<std::thread> workers_;
  std::mutex busy_; ///< Held by the thread whose loop runs.
  std::mutex mutex_;
  std::condition_variable wake_;
  // The current loop; `generation_` counts loops, so that a worker knows a
  // new one has started.
  const Body *body_ = nullptr;
  int64_t n_ = 0;
  int parts_ = 0;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> pending_{0};
  bool stop_ = false;
};

} // namespace kiln

#endif // KILN_RUNTIME_THREAD_POOL_H
