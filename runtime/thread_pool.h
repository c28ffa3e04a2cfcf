//===- thread_pool.h - Workers that split a kernel's grid -------*- C++ -*-===//
//
// Part of Kiln. A fixed set of worker threads that run one parallel loop at
// a time: ParallelFor splits [0, n) into chunks that the calling thread and
// the workers take in turn. Workers spin briefly between loops (a launch
// plan runs its dispatches back to back) and then sleep. Which thread runs
// an index never changes what it computes (a kernel's tiles are
// independent), so results do not depend on the schedule.
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

  /// Runs `body` over [0, n) in contiguous chunks (each index once), on
  /// the caller and the workers, and returns when all are done. Worker w
  /// starts on the w-th of min(n, size()) equal shares of [0, n), the same
  /// in every loop of that n, and then helps with the others'. Worker
  /// numbers are in [0, size()); no two calls with one worker number run
  /// at once (a worker's scratch memory is its own). One loop at a time:
  /// while another thread's loop runs, this one runs on the caller alone
  /// (worker 0, the whole range) rather than wait.
  void ParallelFor(int64_t n, const Body &body);

private:
  void Work(int worker);
  /// Takes chunks of the current loop until none is left: from the
  /// worker's own share first, then from the others'.
  void RunChunks(int worker, const Body &body, int parts, int64_t chunk);

  /// One thread's share of a loop: [next, end) is what no thread has taken.
  struct alignas(64) Share {
    std::atomic<int64_t> next{0};
    int64_t end = 0;
  };

  const int threads_;
  std::vector<Share> shares_; ///< Share p is worker p's.
  std::vector<std::thread> workers_;
  std::mutex busy_; ///< Held by the thread whose loop runs.
  std::mutex mutex_;
  std::condition_variable wake_;
  // The current loop (body_ null once its caller has taken the last chunk:
  // no worker joins it then); `generation_` counts loops, so that a worker
  // knows a new one has started.
  const Body *body_ = nullptr;
  int parts_ = 1; ///< Shares of the current loop: min(n, threads).
  int64_t chunk_ = 1;
  std::atomic<uint64_t> generation_{0};
  std::atomic<int> active_{0}; ///< Workers in the current loop.
  bool stop_ = false;
};

} // namespace kiln

#endif // KILN_RUNTIME_THREAD_POOL_H
