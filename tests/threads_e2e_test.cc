//===- threads_e2e_test.cc - Results do not depend on the thread count ----===//
//
// Part of Kiln. A kernel's grid is split over the Session's threads in
// chunks taken in turn, so which thread computes which tile changes from
// run to run. No reduction is split across threads, so the bits must not
// change: here at 1, 2 and 3 threads, and with Runs from several callers
// sharing one multi-threaded pool at once (also run under TSan:
// tools/test.sh --tsan //tests:threads_e2e_test).
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstring>
#include <thread>

#include "session/session.h"
#include "tests/e2e_util.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using testing::RefArray;

// x [2, 8, 24, 24] -> Conv 3x3 (16 channels, pads 1, bias) -> Relu ->
// [32, 576] -> MatMul [576, 256] -> Softmax, and a mean over the channels
// of the Relu: convolution, matmul and reduction kernels whose grids have
// many tiles.
constexpr int64_t kN = 2, kC = 8, kS = 24, kM = 16, kJ = 256;

std::string Graph() {
  using testing::OpNode;
  using testing::PlaceholderNode;
  return PlaceholderNode("x", "DT_FLOAT", {kN, kC, kS, kS}) +
         PlaceholderNode("w", "DT_FLOAT", {kM, kC, 3, 3}) +
         PlaceholderNode("b", "DT_FLOAT", {kM}) +
         PlaceholderNode("m", "DT_FLOAT", {kS * kS, kJ}) +
         OpNode("conv", "Conv", {"x", "w", "b"},
                R"(attr { key: "pads" value { list { i: [1, 1, 1, 1] } } })") +
         OpNode("r", "Relu", {"conv"}) +
         OpNode("flat", "Reshape", {"r"},
                R"(attr { key: "shape" value { list { i: [32, 576] } } })") +
         OpNode("mm", "MatMul", {"flat", "m"}) +
         OpNode("y", "Softmax", {"mm"}) +
         OpNode("mean", "ReduceMean", {"r"},
                R"(attr { key: "axes" value { list { i: [1] } } })");
}

Tensor Random(std::vector<int64_t> shape, uint32_t seed, double lo = -1,
              double hi = 1) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  std::vector<double> v = testing::RandomValues(n, seed, lo, hi);
  return *Tensor::FromVector<float>(shape,
                                    std::vector<float>(v.begin(), v.end()));
}

Session::Feeds Feeds(uint32_t seed) {
  return {{"x", Random({kN, kC, kS, kS}, seed)},
          {"w", Random({kM, kC, 3, 3}, seed + 1, -0.3, 0.3)},
          {"b", Random({kM}, seed + 2)},
          {"m", Random({kS * kS, kJ}, seed + 3, -0.1, 0.1)}};
}

/// The Relu of the convolution in float64, from the feeds.
RefArray ReluOfConv(const Session::Feeds &feeds) {
  auto ref = [](const Tensor &t) {
    return RefArray{t.shape(), testing::ToDoubles(t)};
  };
  return testing::RefConv2D(ref(feeds[0].second), ref(feeds[1].second),
                            testing::ToDoubles(feeds[2].second), /*pad=*/1,
                            /*relu=*/true);
}

std::unique_ptr<Session> MakeSession(int threads) {
  SessionOptions options;
  options.threads = threads;
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(testing::ParseGraph(Graph()), options);
  EXPECT_TRUE(session.ok()) << session.status();
  return session.ok() ? *std::move(session) : nullptr;
}

bool SameBits(const Tensor &a, const Tensor &b) {
  return a.TypeString() == b.TypeString() &&
         std::memcmp(a.raw_data(), b.raw_data(),
                     a.num_elements() * DTypeSize(a.dtype())) == 0;
}

const std::vector<std::string> kFetches = {"y", "mean", "r"};

TEST(ThreadsTest, OneTwoAndThreeThreadsGiveTheSameBits) {
  Session::Feeds feeds = Feeds(7);
  std::vector<Tensor> expected;
  for (int threads : {1, 2, 3}) {
    SCOPED_TRACE(std::to_string(threads) + " threads");
    std::unique_ptr<Session> session = MakeSession(threads);
    ASSERT_NE(session, nullptr);
    // Several runs each: the chunks go to whichever thread is free.
    for (int run = 0; run < 3; ++run) {
      std::vector<Tensor> out;
      ASSERT_TRUE(session->Run(feeds, kFetches, &out).ok());
      if (expected.empty()) {
        expected = out;
        // The computation itself, against float64.
        testing::ExpectClose(out[2], ReluOfConv(feeds), 1e-5, 1e-5);
        continue;
      }
      for (size_t k = 0; k < kFetches.size(); ++k) {
        SCOPED_TRACE("fetch '" + kFetches[k] + "'");
        testing::ExpectBitIdentical(out[k], expected[k]);
      }
    }
  }
}

TEST(ThreadsTest, ConcurrentRunsShareAThreeThreadPool) {
  constexpr int kCallers = 4, kRuns = 25, kInputs = 3;
  std::vector<Session::Feeds> feeds;
  std::vector<std::vector<Tensor>> expected(kInputs);
  std::unique_ptr<Session> single = MakeSession(1);
  ASSERT_NE(single, nullptr);
  for (int i = 0; i < kInputs; ++i) {
    feeds.push_back(Feeds(100 + 10 * i));
    ASSERT_TRUE(single->Run(feeds[i], kFetches, &expected[i]).ok());
  }
  std::unique_ptr<Session> session = MakeSession(3);
  ASSERT_NE(session, nullptr);
  std::vector<int> failures(kCallers, 0), mismatches(kCallers, 0);
  std::vector<std::thread> callers;
  for (int t = 0; t < kCallers; ++t)
    callers.emplace_back([&, t] {
      for (int run = 0; run < kRuns; ++run) {
        int input = (t + run) % kInputs;
        std::vector<Tensor> out;
        if (!session->Run(feeds[input], kFetches, &out).ok()) {
          ++failures[t];
          continue;
        }
        for (size_t k = 0; k < kFetches.size(); ++k)
          if (!SameBits(out[k], expected[input][k]))
            ++mismatches[t];
      }
    });
  for (std::thread &t : callers)
    t.join();
  for (int t = 0; t < kCallers; ++t) {
    EXPECT_EQ(failures[t], 0) << "caller " << t;
    EXPECT_EQ(mismatches[t], 0) << "caller " << t;
  }
}

} // namespace
} // namespace kiln
