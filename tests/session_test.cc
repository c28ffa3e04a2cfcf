//===- session_test.cc - Session::Run behaviour ---------------------------===//
//
// Part of Kiln. Feeds, fetches, their errors, and concurrent Runs. Expected
// values come from float64 computations in the test itself.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <thread>

#include "graph/loader.h"
#include "runtime/npy.h"
#include "session/session.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using testing::OpNode;
using testing::ParseGraph;
using testing::PlaceholderNode;
using testing::RefArray;

/// The example MLP's weights, read back from the graph, for the reference.
std::vector<double> ConstantValues(const GraphDef &graph,
                                   const std::string &name) {
  for (const NodeDef &node : graph.node())
    if (node.name() == name) {
      const TensorProto &t = node.attr().at("value").tensor();
      return std::vector<double>(t.float_val().begin(), t.float_val().end());
    }
  ADD_FAILURE() << "no constant " << name;
  return {};
}

/// The example MLP in float64: softmax(relu(x W1 + b1) W2 + b2).
RefArray ReferenceMlp(const GraphDef &graph, const std::vector<double> &x) {
  std::vector<double> w1 = ConstantValues(graph, "W1"),
                      b1 = ConstantValues(graph, "b1"),
                      w2 = ConstantValues(graph, "W2"),
                      b2 = ConstantValues(graph, "b2");
  RefArray out{{2, 3}, {}};
  for (int row = 0; row < 2; ++row) {
    double hidden[8];
    for (int j = 0; j < 8; ++j) {
      double acc = b1[j];
      for (int k = 0; k < 4; ++k)
        acc += x[row * 4 + k] * w1[k * 8 + j];
      hidden[j] = std::max(acc, 0.0);
    }
    double logits[3], max = -1e300, sum = 0;
    for (int j = 0; j < 3; ++j) {
      logits[j] = b2[j];
      for (int k = 0; k < 8; ++k)
        logits[j] += hidden[k] * w2[k * 3 + j];
      max = std::max(max, logits[j]);
    }
    for (double &l : logits)
      sum += (l = std::exp(l - max));
    for (double l : logits)
      out.data.push_back(l / sum);
  }
  return out;
}

class ExampleMlpTest : public ::testing::Test {
protected:
  void SetUp() override {
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::CreateFromFile("examples/mlp.pbtxt");
    ASSERT_TRUE(s.ok()) << s.status();
    session = *std::move(s);
    absl::StatusOr<GraphDef> g = LoadGraphDef("examples/mlp.pbtxt");
    ASSERT_TRUE(g.ok());
    graph = *g;
  }
  Tensor Input(uint32_t seed) {
    std::vector<double> v = testing::RandomValues(8, seed, -2, 2);
    return *Tensor::FromVector<float>({2, 4}, {v.begin(), v.end()});
  }
  std::unique_ptr<Session> session;
  GraphDef graph; ///< The same model, for the float64 reference.
};

TEST_F(ExampleMlpTest, MatchesFloat64Reference) {
  Tensor x = Input(1);
  std::vector<Tensor> outputs;
  ASSERT_TRUE(session->Run({{"x", x}}, &outputs).ok());
  ASSERT_EQ(outputs.size(), 1u);
  testing::ExpectClose(outputs[0], ReferenceMlp(graph, testing::ToDoubles(x)));
}

TEST_F(ExampleMlpTest, BundledInputMatchesReference) {
  absl::StatusOr<Tensor> x = ReadNpy("examples/mlp_x.npy");
  ASSERT_TRUE(x.ok()) << x.status();
  std::vector<Tensor> outputs;
  ASSERT_TRUE(session->Run({{"x", *x}}, &outputs).ok());
  testing::ExpectClose(outputs[0], ReferenceMlp(graph, testing::ToDoubles(*x)));
}

TEST_F(ExampleMlpTest, FetchesIntermediatesAndLeavesFeedsAlone) {
  Tensor x = Input(2);
  std::vector<double> before = testing::ToDoubles(x);
  std::vector<Tensor> outputs;
  absl::Status s = session->Run({{"x", x}}, {"hidden", "probs", "x"}, &outputs);
  ASSERT_TRUE(s.ok()) << s;
  ASSERT_EQ(outputs.size(), 3u);
  EXPECT_EQ(outputs[0].shape(), (std::vector<int64_t>{2, 8}));
  for (double h : testing::ToDoubles(outputs[0]))
    EXPECT_GE(h, 0.0);
  testing::ExpectClose(outputs[2], RefArray{{2, 4}, before});
  EXPECT_EQ(testing::ToDoubles(x), before);
}

TEST_F(ExampleMlpTest, BorrowedFeedWorks) {
  std::vector<float> data = {1, 2, 3, 4, 5, 6, 7, 8};
  Tensor x = *Tensor::Borrow(DType::kF32, {2, 4}, data.data());
  EXPECT_FALSE(x.owns_memory());
  std::vector<Tensor> outputs;
  ASSERT_TRUE(session->Run({{"x", x}}, &outputs).ok());
  testing::ExpectClose(outputs[0],
                       ReferenceMlp(graph, {1, 2, 3, 4, 5, 6, 7, 8}));
}

TEST_F(ExampleMlpTest, FeedErrorsNameTheFeed) {
  std::vector<Tensor> outputs;
  absl::Status missing = session->Run({}, &outputs);
  EXPECT_THAT(std::string(missing.message()),
              HasSubstr("missing feed 'x' (f32[2,4])"));

  Tensor wrong_shape = *Tensor::Allocate(DType::kF32, {4, 2});
  EXPECT_THAT(
      std::string(session->Run({{"x", wrong_shape}}, &outputs).message()),
      HasSubstr("feed 'x': expected f32[2,4], got f32[4,2]"));

  Tensor wrong_dtype = *Tensor::Allocate(DType::kF64, {2, 4});
  EXPECT_THAT(
      std::string(session->Run({{"x", wrong_dtype}}, &outputs).message()),
      HasSubstr("feed 'x': expected f32[2,4], got f64[2,4]"));

  Tensor x = Input(3);
  EXPECT_THAT(
      std::string(session->Run({{"x", x}, {"y", x}}, &outputs).message()),
      HasSubstr("feed 'y' names no node"));
  EXPECT_THAT(
      std::string(session->Run({{"x", x}, {"W1", x}}, &outputs).message()),
      HasSubstr("feed 'W1' names a Constant node"));
  EXPECT_THAT(
      std::string(session->Run({{"x", x}, {"x", x}}, &outputs).message()),
      HasSubstr("feed 'x' is given twice"));
  EXPECT_THAT(
      std::string(session->Run({{"x", x}}, {"nope"}, &outputs).message()),
      HasSubstr("fetch 'nope' names no node"));
  EXPECT_THAT(
      std::string(session->Run({{"x", x}}, {"probs:1"}, &outputs).message()),
      HasSubstr("node 'probs' has only output 0"));
  EXPECT_FALSE(session->Run({{"x", x}}, nullptr).ok());
}

TEST_F(ExampleMlpTest, FetchingAConstantNeedsNoFeed) {
  std::vector<Tensor> outputs;
  absl::Status s = session->Run({}, {"b2"}, &outputs);
  ASSERT_TRUE(s.ok()) << s;
  testing::ExpectClose(outputs[0], RefArray{{3}, ConstantValues(graph, "b2")});
}

TEST_F(ExampleMlpTest, ConcurrentRunsAgreeWithSerialRuns) {
  constexpr int kThreads = 8, kRuns = 50;
  std::vector<Tensor> inputs, expected;
  for (int i = 0; i < kThreads; ++i) {
    inputs.push_back(Input(100 + i));
    std::vector<Tensor> out;
    ASSERT_TRUE(session->Run({{"x", inputs.back()}}, &out).ok());
    expected.push_back(out[0]);
  }
  std::vector<int> mismatches(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int r = 0; r < kRuns; ++r) {
        std::vector<Tensor> out;
        // Alternate fetch lists so that compilation races with runs too.
        std::vector<std::string> fetches =
            r % 2 ? std::vector<std::string>{"probs"}
                  : std::vector<std::string>{"probs", "logits"};
        if (!session->Run({{"x", inputs[t]}}, fetches, &out).ok() ||
            testing::ToDoubles(out[0]) != testing::ToDoubles(expected[t]))
          ++mismatches[t];
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(mismatches[t], 0) << "thread " << t;
}

TEST(SessionTest, BadGraphFailsAtCreate) {
  GraphDef graph = ParseGraph(PlaceholderNode("x", "DT_FLOAT", {2}) +
                              OpNode("y", "Gelu2", {"x"}));
  absl::StatusOr<std::unique_ptr<Session>> s = Session::Create(graph);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              AllOf(HasSubstr("node 'y' (Gelu2): unknown op"),
                    HasSubstr("invalid graph")));
  EXPECT_FALSE(Session::Create(GraphDef()).ok());
  SessionOptions bad;
  bad.pipeline.opt_level = 7;
  EXPECT_FALSE(
      Session::Create(ParseGraph(PlaceholderNode("x", "DT_FLOAT", {2})), bad)
          .ok());
}

TEST(SessionTest, OptimizationLevelsAgree) {
  GraphDef graph = ParseGraph(
      PlaceholderNode("x", "DT_FLOAT", {3, 4}) +
      OpNode("c", "Constant", {},
             R"(attr { key: "value" value { tensor { dtype: DT_FLOAT
                 shape { dim: 4 } float_val: [1, 2, 3, 4] } } })") +
      OpNode("c2", "Mul", {"c", "c"}) + OpNode("y", "Add", {"x", "c2"}) +
      OpNode("z", "Identity", {"y"}) + "signature { fetch: \"z\" }");
  std::vector<double> xs = testing::RandomValues(12, 7);
  Tensor x = *Tensor::FromVector<float>({3, 4}, {xs.begin(), xs.end()});
  RefArray expected{{3, 4}, {}};
  for (int i = 0; i < 12; ++i)
    expected.data.push_back(static_cast<float>(xs[i]) +
                            (i % 4 + 1) * (i % 4 + 1));
  for (int level = 0; level <= 3; ++level) {
    SessionOptions options;
    options.pipeline.opt_level = level;
    absl::StatusOr<std::unique_ptr<Session>> s =
        Session::Create(graph, options);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
    testing::ExpectClose(out[0], expected);
  }
}

/// examples/dynamic_batch.pbtxt keeping `max` specializations.
std::unique_ptr<Session> DynamicBatchSession(int max) {
  SessionOptions options;
  options.max_specializations = max;
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::CreateFromFile("examples/dynamic_batch.pbtxt", options);
  EXPECT_TRUE(s.ok()) << s.status();
  return s.ok() ? *std::move(s) : nullptr;
}

// The seed's example: a = placeholder(float32, [None, 128]), b =
// placeholder(float32, [128, 32]), c = matmul(a, b), run with batches of 1,
// 3 and 64 one after another (each compiled for its shape, then reused),
// against a float64 reference.
TEST(SessionTest, UnknownBatchTakesTheFedShape) {
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::CreateFromFile("examples/dynamic_batch.pbtxt");
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<double> bs = testing::RandomValues(128 * 32, 11);
  Tensor b = *Tensor::FromVector<float>({128, 32}, {bs.begin(), bs.end()});
  for (int64_t batch : {1, 3, 64, 3, 1}) {
    std::vector<double> as = testing::RandomValues(batch * 128, batch);
    Tensor a = *Tensor::FromVector<float>({batch, 128}, {as.begin(), as.end()});
    RefArray expected{{batch, 32}, {}};
    for (int64_t i = 0; i < batch; ++i)
      for (int64_t j = 0; j < 32; ++j) {
        double sum = 0;
        for (int64_t k = 0; k < 128; ++k)
          sum += double(static_cast<float>(as[i * 128 + k])) *
                 double(static_cast<float>(bs[k * 32 + j]));
        expected.data.push_back(sum);
      }
    std::vector<Tensor> out;
    absl::Status run = (*s)->Run({{"a", a}, {"b", b}}, {"c"}, &out);
    ASSERT_TRUE(run.ok()) << run;
    testing::ExpectClose(out[0], expected);
  }
  // A feed that does not fit the declaration fails before any compile,
  // saying what was expected; an unfed unknown dimension is named.
  std::vector<Tensor> out;
  absl::Status wrong = (*s)->Run(
      {{"a", *Tensor::FromVector<float>({2, 64}, std::vector<float>(128))},
       {"b", b}},
      {"c"}, &out);
  EXPECT_THAT(std::string(wrong.message()),
              HasSubstr("feed 'a': expected f32[?,128], got f32[2,64]"));
  absl::Status unfed = (*s)->Run({{"b", b}}, {"c"}, &out);
  EXPECT_THAT(std::string(unfed.message()),
              HasSubstr("missing feed 'a' (f32[?,128]), which the fetches "
                        "need"));
  // In a new Session, before anything compiles: a missing feed and one of
  // the wrong dtype are reported without a compile.
  std::unique_ptr<Session> fresh = DynamicBatchSession(4);
  ASSERT_NE(fresh, nullptr);
  EXPECT_THAT(std::string(fresh->Run({{"b", b}}, {"c"}, &out).message()),
              HasSubstr("missing feed 'a' (f32[?,128]), which the fetches "
                        "need"));
  EXPECT_THAT(
      std::string(fresh
                      ->Run({{"a", *Tensor::FromVector<double>(
                                       {2, 128}, std::vector<double>(256))},
                             {"b", b}},
                            {"c"}, &out)
                      .message()),
      HasSubstr("feed 'a': expected f32[?,128], got f64[2,128]"));
  EXPECT_EQ(fresh->last_compile_stats().import_ms, 0);
  EXPECT_EQ(fresh->last_compile_stats().pipeline_ms, 0);
  SessionOptions none;
  none.max_specializations = 0;
  EXPECT_THAT(
      std::string(Session::CreateFromFile("examples/dynamic_batch.pbtxt", none)
                      .status()
                      .message()),
      HasSubstr("max_specializations must be at least 1"));
}

// With room for one specialization, each new shape replaces the last one,
// and runs stay correct.
TEST(SessionTest, SpecializationsAreBounded) {
  std::unique_ptr<Session> s = DynamicBatchSession(1);
  ASSERT_NE(s, nullptr);
  Tensor b = *Tensor::FromVector<float>({128, 32}, std::vector<float>(4096, 1));
  for (int64_t batch : {2, 5, 2}) {
    Tensor a = *Tensor::FromVector<float>(
        {batch, 128}, std::vector<float>(batch * 128, 0.5f));
    std::vector<Tensor> out;
    ASSERT_TRUE(s->Run({{"a", a}, {"b", b}}, {"c"}, &out).ok());
    ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{batch, 32}));
    EXPECT_EQ(out[0].data<float>()[batch * 32 - 1], 64.0f);
  }
}

// Runs from several threads with different batches while others compile
// new shapes (two specializations kept, so they keep being replaced): every
// run succeeds with the right values.
TEST(SessionTest, ConcurrentRunsWithChangingShapes) {
  std::unique_ptr<Session> s = DynamicBatchSession(2);
  ASSERT_NE(s, nullptr);
  Tensor b = *Tensor::FromVector<float>({128, 32}, std::vector<float>(4096, 1));
  constexpr int kThreads = 4;
  std::vector<int> failures(kThreads, 0);
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t)
    threads.emplace_back([&, t] {
      for (int i = 0; i < 10; ++i) {
        int64_t batch = std::vector<int64_t>{1, 5, 64, 17}[(t + i) % 4];
        Tensor a = *Tensor::FromVector<float>(
            {batch, 128}, std::vector<float>(batch * 128, 0.25f));
        std::vector<Tensor> out;
        absl::Status run = s->Run({{"a", a}, {"b", b}}, {"c"}, &out);
        if (!run.ok() || out[0].shape() != std::vector<int64_t>{batch, 32} ||
            out[0].data<float>()[batch * 32 - 1] != 32.0f)
          ++failures[t];
      }
    });
  for (std::thread &t : threads)
    t.join();
  for (int t = 0; t < kThreads; ++t)
    EXPECT_EQ(failures[t], 0) << "thread " << t;
}

TEST(SessionOptionsTest, ThreadsMustBePositive) {
  SessionOptions options;
  options.threads = -1;
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::CreateFromFile("examples/mlp.pbtxt", options);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("SessionOptions.threads must be 0 (one per core) or "
                        "more, got -1"));
}

} // namespace
} // namespace kiln
