//===- thread_pool_test.cc - The runtime's thread pool --------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/thread_pool.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <thread>
#include <vector>

#include "gtest/gtest.h"

namespace kiln {
namespace {

TEST(ThreadPoolTest, EveryIndexOnceNoWorkerTwiceAtOnce) {
  for (int threads : {1, 2, 3, 8}) {
    ThreadPool pool(threads);
    EXPECT_EQ(pool.size(), threads);
    for (int64_t n : {0, 1, 2, 3, 7, 100, 1001}) {
      std::vector<std::atomic<int>> hits(n);
      // A worker number in use by a call: its scratch memory is its own.
      std::vector<std::atomic<int>> busy(threads);
      std::atomic<int> overlaps{0};
      pool.ParallelFor(n, [&](int worker, int64_t begin, int64_t end) {
        ASSERT_GE(worker, 0);
        ASSERT_LT(worker, threads);
        ASSERT_LT(begin, end);
        if (busy[worker].fetch_add(1) != 0)
          ++overlaps;
        for (int64_t i = begin; i < end; ++i)
          ++hits[i];
        busy[worker].fetch_sub(1);
      });
      for (int64_t i = 0; i < n; ++i)
        EXPECT_EQ(hits[i].load(), 1) << threads << " threads, n " << n;
      EXPECT_EQ(overlaps.load(), 0);
    }
  }
}

// A thread that runs slower (here: its first chunk sleeps) leaves the
// rest of the loop to the others, instead of a fixed half of it.
TEST(ThreadPoolTest, FreeThreadsTakeTheRemainingChunks) {
  ThreadPool pool(2);
  std::atomic<int> slow_worker{-1};
  std::atomic<int64_t> slow_chunk{0};
  std::vector<std::atomic<int64_t>> indices(2);
  pool.ParallelFor(64, [&](int worker, int64_t begin, int64_t end) {
    indices[worker] += end - begin;
    int none = -1;
    if (slow_worker.compare_exchange_strong(none, worker)) {
      slow_chunk = end - begin;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  });
  ASSERT_GE(slow_worker.load(), 0);
  EXPECT_LT(slow_chunk.load(), 32);
  EXPECT_EQ(indices[slow_worker.load()].load(), slow_chunk.load());
  EXPECT_EQ(indices[1 - slow_worker.load()].load(), 64 - slow_chunk.load());
}

// Each worker starts on its own share of the grid (the same share in every
// loop, so that what one kernel's tiles wrote the next kernel's same tiles
// read from that thread's cache) and only then takes the others' chunks.
TEST(ThreadPoolTest, WorkersTakeTheirOwnShareFirst) {
  for (int threads : {2, 3}) {
    ThreadPool pool(threads);
    constexpr int64_t kN = 96;
    std::mutex mutex;
    std::vector<std::vector<int64_t>> begins(threads);
    for (int loop = 0; loop < 3; ++loop) {
      for (auto &b : begins)
        b.clear();
      pool.ParallelFor(kN, [&](int worker, int64_t begin, int64_t end) {
        {
          std::lock_guard<std::mutex> lock(mutex);
          begins[worker].push_back(begin);
        }
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      });
      for (int w = 0; w < threads; ++w) {
        int64_t home_begin = kN * w / threads,
                home_end = kN * (w + 1) / threads;
        // The chunks of its own share come first, in order.
        size_t i = 0;
        for (; i < begins[w].size() && begins[w][i] >= home_begin &&
               begins[w][i] < home_end;
             ++i) {
          if (i > 0) {
            EXPECT_GT(begins[w][i], begins[w][i - 1]);
          }
        }
        // Then none of its own share again.
        for (; i < begins[w].size(); ++i)
          EXPECT_FALSE(begins[w][i] >= home_begin && begins[w][i] < home_end)
              << "worker " << w << " went back to its share at "
              << begins[w][i];
      }
    }
  }
}

TEST(ThreadPoolTest, WorkersRunAtOnce) {
  // Two ranges that each wait for the other: only threads running at the
  // same time finish.
  ThreadPool pool(2);
  std::atomic<int> arrived{0};
  pool.ParallelFor(2, [&](int, int64_t, int64_t) {
    ++arrived;
    while (arrived.load() < 2)
      std::this_thread::yield();
  });
  EXPECT_EQ(arrived.load(), 2);
}

TEST(ThreadPoolTest, ConcurrentCallersEachFinishTheirLoop) {
  // Loops from several threads: one at a time uses the workers, the
  // others run on their caller; every index of every loop runs once.
  ThreadPool pool(2);
  constexpr int kCallers = 4, kLoops = 300, kN = 64;
  std::vector<std::thread> callers;
  std::atomic<int64_t> total{0};
  for (int c = 0; c < kCallers; ++c)
    callers.emplace_back([&] {
      for (int l = 0; l < kLoops; ++l)
        pool.ParallelFor(
            kN, [&](int, int64_t begin, int64_t end) { total += end - begin; });
    });
  for (std::thread &t : callers)
    t.join();
  EXPECT_EQ(total.load(), int64_t{kCallers} * kLoops * kN);
}

} // namespace
} // namespace kiln
