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

ThreadPool::ThreadPool(int threads)
    : threads_(std::max(1, threads)), shares_(threads_) {
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
  // Each thread has a share of the grid, the same one in every loop (so the
  // tiles of consecutive kernels that one thread wrote, it reads from its own
  // cache), taken in chunks of about an eighth of it. A thread done with its
  // share takes chunks from the others' in turn: a thread slowed down (a
  // shared machine, a core at a lower clock) does less, instead of the others
  // waiting for its whole share.
  int64_t chunk = std::max<int64_t>(1, n / (int64_t{parts} * 8));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = &body;
    parts_ = parts;
    chunk_ = chunk;
    for (int p = 0; p < parts; ++p) {
      shares_[p].next.store(n * p / parts);
      shares_[p].end = n * (p + 1) / parts;
    }
    generation_.fetch_add(1);
  }
  wake_.notify_all();
  RunChunks(0, body, parts, chunk);
  // No worker joins from now on; wait for those that did.
  {
    std::lock_guard<std::mutex> lock(mutex_);
    body_ = nullptr;
  }
  // The others are usually done within microseconds; on a loaded machine
  // they may wait for a core, so stop spinning after a while.
  for (int i = 0; active_.load() > 0; ++i) {
    if (i < kSpins)
      Pause();
    else
      std::this_thread::yield();
  }
}

void ThreadPool::RunChunks(int worker, const Body &body, int parts,
                           int64_t chunk) {
  // The worker's own share first, then the others' from the next one on.
  for (int i = 0; i < parts; ++i) {
    Share &share = shares_[(worker + i) % parts];
    for (;;) {
      int64_t begin = share.next.fetch_add(chunk);
      if (begin >= share.end)
        break;
      body(worker, begin, std::min(share.end, begin + chunk));
    }
  }
}

void ThreadPool::Work(int worker) {
  uint64_t seen = 0;
  for (;;) {
    // Spin for a while, then sleep until a new loop starts.
    for (int i = 0; i < kSpins && generation_.load() == seen; ++i)
      Pause();
    const Body *body;
    int parts;
    int64_t chunk;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return generation_.load() != seen; });
      seen = generation_.load();
      if (stop_)
        return;
      if (!body_)
        continue; // That loop is over.
      body = body_;
      parts = parts_;
      chunk = chunk_;
      active_.fetch_add(1);
    }
    RunChunks(worker, *body, parts, chunk);
    active_.fetch_sub(1);
  }
}

} // namespace kiln
