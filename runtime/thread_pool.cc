//===- thread_pool.cc - Workers that split a kernel's grid ----------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/thread_pool.h"

#include <algorithm>

namespace kiln {
namespace {

/// How many times a worker checks for a new loop before it sleeps: about
/// 50 microseconds, longer than the gap between two dispatches of a plan.
constexpr int kSpins = 20000;

void Pause() {
#if defined(__x86_64__)
  __builtin_ia32_pause();
#endif
}

} // namespace

ThreadPool::ThreadPool(int threads) : threads_(std::max(1, threads)) {
  for (int w = 1; w < threads_; ++w)
    workers_.emplace_back([this, w] { Work(w); });
}

ThreadPool::~ThreadPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stop_ = true;
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  for (std::thread &t : workers_)
    t.join();
}

void ThreadPool::ParallelFor(int64_t n, const Body &body) {
  if (n <= 0)
    return;
  int parts = static_cast<int>(std::min<int64_t>(n, threads_));
  std::unique_lock<std::mutex> busy(busy_, std::try_to_lock);
  if (parts == 1 || !busy.owns_lock()) {
    body(0, 0, n);
    return;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    n_ = n;
    parts_ = parts;
    pending_.store(parts - 1);
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  body(0, 0, n / parts);
  // The others are usually done within microseconds; on a loaded machine
  // they may wait for a core, so stop spinning after a while.
  for (int i = 0; pending_.load() > 0; ++i) {
    if (i < kSpins)
      Pause();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::Work(int worker) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a while, then sleep until a new loop starts.
    for (int i = 0; i < kSpins && generation_.load() == seen; ++i)
      Pause();
    const Body *body;
    int64_t n;
    int parts;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      if (stop_)
        return;
      body = body_;
      n = n_;
      parts = parts_;
    }
    if (worker < parts) {
      (*body)(worker, n * worker / parts, n * (worker + 1) / parts);
      pending_.fetch_sub(1);
    }
  }
}

} // namespace kiln
