//===- aot_test.cc - A model compiled into the test at build time ---------===//
//
// Part of Kiln. examples/aot's kiln_library compiles classifier.pbtxt into
// the class kiln_examples::Classifier while the test is built; here it runs
// against a float64 reference computed from the same file's weights, with
// no heap allocation during Run.
//
//===----------------------------------------------------------------------===//
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <new>

#include "examples/aot/classifier_model.h"
#include "graph/loader.h"
#include "tests/odd_names_model.h"
#include "tests/test_util.h"
#include "gtest/gtest.h"

namespace {

std::atomic<bool> counting{false};
std::atomic<int> allocations{0};

} // namespace

void *operator new(size_t size) {
  if (counting)
    ++allocations;
  if (void *p = std::malloc(size ? size : 1))
    return p;
  throw std::bad_alloc();
}
void operator delete(void *p) noexcept { std::free(p); }
void operator delete(void *p, size_t) noexcept { std::free(p); }

namespace kiln {
namespace {

using Classifier = kiln_examples::Classifier;

static_assert(Classifier::kNumFeeds == 1 && Classifier::kNumFetches == 1);
static_assert(Classifier::feed_features_shape[0] == 1 &&
              Classifier::feed_features_shape[1] == 16);
static_assert(Classifier::fetch_probs_elements == 4);

std::vector<double> Constant(const GraphDef &graph, const std::string &name) {
  for (const NodeDef &node : graph.node())
    if (node.name() == name) {
      const TensorProto &t = node.attr().at("value").tensor();
      return {t.float_val().begin(), t.float_val().end()};
    }
  ADD_FAILURE() << "no constant " << name;
  return {};
}

/// softmax(relu(x W1 + b1) W2 + b2) in float64, from the model file.
std::vector<double> Reference(const std::vector<double> &x) {
  absl::StatusOr<GraphDef> graph =
      LoadGraphDef("examples/aot/classifier.pbtxt");
  EXPECT_TRUE(graph.ok());
  std::vector<double> w1 = Constant(*graph, "W1"), b1 = Constant(*graph, "b1"),
                      w2 = Constant(*graph, "W2"), b2 = Constant(*graph, "b2");
  std::vector<double> hidden(32), logits(4), probs(4);
  for (int j = 0; j < 32; ++j) {
    double acc = b1[j];
    for (int k = 0; k < 16; ++k)
      acc += x[k] * w1[k * 32 + j];
    hidden[j] = std::max(acc, 0.0);
  }
  double max = -1e300, sum = 0;
  for (int j = 0; j < 4; ++j) {
    logits[j] = b2[j];
    for (int k = 0; k < 32; ++k)
      logits[j] += hidden[k] * w2[k * 4 + j];
    max = std::max(max, logits[j]);
  }
  for (int j = 0; j < 4; ++j)
    sum += probs[j] = std::exp(logits[j] - max);
  for (double &p : probs)
    p /= sum;
  return probs;
}

void ExpectMatches(Classifier &model, uint32_t seed) {
  std::vector<double> x = testing::RandomValues(16, seed, -3, 3);
  for (int i = 0; i < 16; ++i)
    model.feed_features()[i] = static_cast<float>(x[i]);
  for (int i = 0; i < 16; ++i)
    x[i] = model.feed_features()[i];
  counting = true;
  bool ran = model.Run();
  counting = false;
  ASSERT_TRUE(ran);
  std::vector<double> expected = Reference(x);
  for (int j = 0; j < 4; ++j)
    EXPECT_NEAR(model.fetch_probs()[j], expected[j], 1e-5) << j;
}

TEST(AotTest, MatchesFloat64ReferenceWithoutAllocating) {
  Classifier model;
  ASSERT_TRUE(model.ok()) << model.error();
  allocations = 0;
  for (uint32_t seed = 1; seed <= 5; ++seed)
    ExpectMatches(model, seed);
  EXPECT_EQ(allocations.load(), 0);
}

TEST(AotTest, RunsInTheCallersArena) {
  void *arena =
      std::aligned_alloc(64, (Classifier::kArenaBytes + 63) / 64 * 64);
  {
    Classifier model(arena);
    ASSERT_TRUE(model.ok()) << model.error();
    allocations = 0;
    ExpectMatches(model, 11);
    EXPECT_EQ(allocations.load(), 0);
  }
  std::free(arena);
}

TEST(AotTest, NamesThatClashGetNamesOfTheirOwn) {
  odd::Names model;
  ASSERT_TRUE(model.ok()) << model.error();
  static_assert(odd::Names::feed_x_shape[0] == 2 &&
                odd::Names::feed_x_shape_2_elements == 2);
  float a[] = {1.5f, -2}, b[] = {4, 0.5f};
  for (int i = 0; i < 2; ++i) {
    model.feed_x()[i] = a[i];         // "x"
    model.feed_x_shape_2()[i] = b[i]; // "x_shape"
  }
  ASSERT_TRUE(model.Run());
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(model.fetch_out_a()[i], a[i] + b[i]);     // "out.a"
    EXPECT_EQ(model.fetch_out_a_2()[i], a[i] * b[i]);   // "out/a"
    EXPECT_EQ(model.fetch_out_a_2_2()[i], a[i] - b[i]); // "out_a_2"
    EXPECT_EQ(model.fetch_Run()[i], -a[i]);             // "Run"
  }
}

} // namespace
} // namespace kiln
