//===- winograd_test.cc - 3x3 convolutions as Winograd F(4,3) -------------===//
//
// Part of Kiln. kiln-winograd computes 3x3 stride-1 convolutions with
// constant filters (at -O2, on the CPU) as 1-D Winograd F(4,3) along the
// height. Here such convolutions, with the bias, a Relu and a residual add
// fused after them, against float64, on heights that fill the last tile of
// four rows and heights that do not, at 1, 2 and 3 threads (bit-identical)
// and at -O0 (the direct convolution) within the same tolerance.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "session/session.h"
#include "tests/e2e_util.h"
#include "tests/test_util.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using testing::RefArray;

struct Shape {
  int64_t c, m, h, w;
};

std::string FloatList(const std::vector<double> &values) {
  std::string text = "float_val: [";
  for (size_t i = 0; i < values.size(); ++i)
    text += (i ? ", " : "") + std::to_string(static_cast<float>(values[i]));
  return text + "]";
}

std::string ConstantNode(const std::string &name,
                         const std::vector<int64_t> &shape,
                         const std::vector<double> &values) {
  std::string dims;
  for (int64_t d : shape)
    dims += "dim: " + std::to_string(d) + " ";
  return "node { name: '" + name +
         "' op: 'Constant' attr { key: 'value' value { tensor {"
         " dtype: DT_FLOAT shape { " +
         dims + "} " + FloatList(values) + " } } } }\n";
}

/// y = relu(conv(x, w, b) + x2): x2 is the residual [1, M, H, W].
std::string Graph(const Shape &s, const std::vector<double> &w,
                  const std::vector<double> &b) {
  using testing::OpNode;
  using testing::PlaceholderNode;
  return PlaceholderNode("x", "DT_FLOAT", {1, s.c, s.h, s.w}) +
         PlaceholderNode("x2", "DT_FLOAT", {1, s.m, s.h, s.w}) +
         ConstantNode("w", {s.m, s.c, 3, 3}, w) + ConstantNode("b", {s.m}, b) +
         OpNode("conv", "Conv", {"x", "w", "b"},
                R"(attr { key: "pads" value { list { i: [1, 1, 1, 1] } } })") +
         OpNode("sum", "Add", {"conv", "x2"}) + OpNode("y", "Relu", {"sum"});
}

class WinogradTest : public ::testing::TestWithParam<Shape> {};

TEST_P(WinogradTest, MatchesFloat64AtEveryThreadCountAndO0) {
  const Shape s = GetParam();
  // The filter as exported models round it: the float64 reference uses the
  // same float values.
  std::vector<double> w = testing::RandomValues(s.m * s.c * 9, 11, -0.2, 0.2);
  std::vector<double> b = testing::RandomValues(s.m, 12);
  for (double &v : w)
    v = static_cast<float>(std::stof(std::to_string(static_cast<float>(v))));
  for (double &v : b)
    v = static_cast<float>(std::stof(std::to_string(static_cast<float>(v))));
  std::vector<double> x = testing::RandomValues(s.c * s.h * s.w, 13);
  std::vector<double> x2 = testing::RandomValues(s.m * s.h * s.w, 14);
  Session::Feeds feeds = {
      {"x", *Tensor::FromVector<float>({1, s.c, s.h, s.w},
                                       std::vector<float>(x.begin(), x.end()))},
      {"x2",
       *Tensor::FromVector<float>({1, s.m, s.h, s.w},
                                  std::vector<float>(x2.begin(), x2.end()))}};
  RefArray ref = testing::RefConv2D(RefArray{{1, s.c, s.h, s.w}, x},
                                    RefArray{{s.m, s.c, 3, 3}, w}, b,
                                    /*pad=*/1, /*relu=*/false);
  for (int64_t i = 0; i < ref.size(); ++i)
    ref.data[i] = std::max(0.0, ref.data[i] + static_cast<float>(x2[i]));
  // Errors grow with the transforms' coefficients (up to 8) and with C:
  // within 2e-6 of the largest output here, against about 5e-7 for the
  // direct form (measured), so 1e-5 of it bounds both.
  double largest = 0;
  for (double v : ref.data)
    largest = std::max(largest, std::abs(v));
  const double atol = 1e-5 * largest;

  GraphDef graph = testing::ParseGraph(Graph(s, w, b));
  testing::ExpectClose(testing::RunAtEveryThreadCount(graph, feeds, "y"), ref,
                       0, atol);
  SessionOptions direct;
  direct.pipeline.opt_level = 0;
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(graph, direct);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  ASSERT_TRUE((*session)->Run(feeds, {"y"}, &out).ok());
  testing::ExpectClose(out[0], ref, 0, atol);
}

// Heights 28 and 16 fill their last tile of four rows; 14 and 15 do not
// (the input gets extra zero rows, the output transform stops at the
// height). Widths 14 and 28 are vectorized with masked edges; 7 x 7
// (resnet18's layer 4) is two tiles, of which the second has three output
// rows of four, and 9 x 8 is three tiles with one row in the last.
INSTANTIATE_TEST_SUITE_P(
    Shapes, WinogradTest,
    ::testing::Values(Shape{32, 32, 28, 28}, Shape{64, 32, 16, 14},
                      Shape{32, 48, 14, 14}, Shape{48, 32, 15, 17},
                      Shape{64, 64, 7, 7}, Shape{32, 40, 9, 8}));

} // namespace
} // namespace kiln
