//===- limits_test.cc - Absurd sizes, deep graphs, heavy concurrency ------===//
//
// Part of Kiln. What a service that loads users' models must survive:
// shapes that would exhaust memory are refused before anything is
// allocated, a 100,000-node chain compiles, and one Session serves many
// threads at once with results identical to a single thread's.
//
//===----------------------------------------------------------------------===//
#include <thread>

#include "absl/strings/str_cat.h"
#include "session/session.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;
using testing::OpNode;
using testing::ParseGraph;
using testing::PlaceholderNode;

std::string CreateError(const std::string &text) {
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(ParseGraph(text));
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : std::string(s.status().message());
}

TEST(LimitsTest, HugeShapesAreRefusedBeforeAllocation) {
  EXPECT_THAT(CreateError(PlaceholderNode("x", "DT_FLOAT", {1 << 20, 1 << 20}) +
                          OpNode("y", "Relu", {"x"})),
              HasSubstr("node 'x' (Placeholder): shape [1048576,1048576] is "
                        "larger than Kiln's limit"));
  EXPECT_THAT(
      CreateError(
          PlaceholderNode("x", "DT_FLOAT", {4}) +
          OpNode(
              "y", "Expand", {"x"},
              R"(attr { key: "shape" value { list { i: [1099511627776, 4] } } })")),
      HasSubstr("node 'y' (Expand): result of shape [1099511627776, 4] is "
                "larger than Kiln's limit"));
  EXPECT_THAT(
      CreateError(
          PlaceholderNode("x", "DT_FLOAT", {4}) +
          OpNode(
              "y", "Tile", {"x"},
              R"(attr { key: "repeats" value { list { i: [4611686018427387904] } } })")),
      HasSubstr(
          "node 'y' (Tile): repeats [4611686018427387904] are negative or too "
          "large"));
  EXPECT_THAT(
      CreateError(
          PlaceholderNode("x", "DT_FLOAT", {4}) +
          OpNode(
              "y", "Reshape", {"x"},
              R"(attr { key: "shape" value { list { i: [4294967296, 4294967296, 0] } } })")),
      HasSubstr("node 'y'"));
  EXPECT_THAT(
      CreateError(OpNode("c", "Constant", {},
                         R"(attr { key: "value" value { tensor { dtype: DT_FLOAT
                             shape { dim: 1099511627776 } float_val: 1 } } })")),
      HasSubstr("more than the limit"));
}

TEST(LimitsTest, HundredThousandNodeChainCompiles) {
  std::string text = PlaceholderNode("x", "DT_FLOAT", {4});
  std::string prev = "x";
  for (int i = 0; i < 100000; ++i) {
    std::string name = absl::StrCat("n", i);
    text += OpNode(name, i % 2 ? "Abs" : "Neg", {prev});
    prev = name;
  }
  text += absl::StrCat("signature { feed: \"x\" fetch: \"", prev, "\" }");
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(ParseGraph(text));
  ASSERT_TRUE(s.ok()) << s.status();
  Tensor x = *Tensor::FromVector<float>({4}, {1, -2, 3, -4});
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
  // neg then abs gives |x| at every odd step, and the chain ends on abs:
  // neither the input nor zeros, so a kernel that does nothing fails.
  testing::ExpectClose(out[0], testing::RefArray{{4}, {1, 2, 3, 4}});
}

TEST(LimitsTest, EightThreadsThousandRunsEach) {
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::CreateFromFile("examples/mlp.pbtxt");
  ASSERT_TRUE(s.ok()) << s.status();
  Session &session = **s;
  constexpr int kThreads = 8, kRuns = 1000;
  auto input = [](int thread, int run) {
    std::vector<double> v =
        testing::RandomValues(8, thread * 7919 + run, -3, 3);
    return *Tensor::FromVector<float>({2, 4}, {v.begin(), v.end()});
  };
  // Single-threaded results first, for a sample of the runs.
  std::vector<std::vector<std::vector<double>>> expected(kThreads);
  for (int t = 0; t < kThreads; ++t)
    for (int r = 0; r < kRuns; r += 97) {
      std::vector<Tensor> out;
      ASSERT_TRUE(session.Run({{"x", input(t, r)}}, &out).ok());
      expected[t].push_back(testing::ToDoubles(out[0]));
    }
  std::vector<int> mismatches(kThreads, 0), failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        std::vector<Tensor> out;
        if (!session.Run({{"x", input(t, r)}}, &out).ok()) {
          ++failures[t];
          continue;
        }
        if (r % 97 == 0 && testing::ToDoubles(out[0]) != expected[t][r / 97])
          ++mismatches[t];
        // Every output row is a probability distribution.
        for (int row = 0; row < 2; ++row) {
          double sum = 0;
          for (int j = 0; j < 3; ++j)
            sum += out[0].data<float>()[row * 3 + j];
          if (std::abs(sum - 1.0) > 1e-5)
            ++mismatches[t];
        }
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(failures[t], 0) << "thread " << t;
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
  }
}

} // namespace
} // namespace kiln
