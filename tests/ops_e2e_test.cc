//===- ops_e2e_test.cc - Every op, end to end, against float64 ------------===//
//
// Part of Kiln. Each case feeds random inputs through Placeholders (so that
// constant folding cannot do the work), compiles and runs the graph on the
// CPU with the memory plan on and off (bit-identical), and compares with a
// float64 reference computed here.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cmath>
#include <functional>
#include <limits>

#include "absl/strings/str_cat.h"
#include "session/session.h"
#include "tests/e2e_util.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using testing::OpNode;
using testing::ParseGraph;
using testing::PlaceholderNode;
using testing::RefArray;

int64_t Count(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape)
    n *= d;
  return n;
}

/// A random f32 input and its exact float64 image.
struct Input {
  std::string name;
  Tensor tensor;
  RefArray ref;
};

Input RandomInput(const std::string &name, std::vector<int64_t> shape,
                  uint32_t seed, double lo = -2, double hi = 2) {
  std::vector<double> v = testing::RandomValues(Count(shape), seed, lo, hi);
  std::vector<float> f(v.begin(), v.end());
  Input in{name, *Tensor::FromVector<float>(shape, f), {shape, {}}};
  for (float x : f)
    in.ref.data.push_back(x);
  return in;
}

/// Builds a graph of Placeholders for `inputs` plus `body`, runs it with
/// the memory plan on and off (which must agree bit for bit), and returns
/// the fetched tensor.
Tensor RunGraph(const std::vector<Input> &inputs, const std::string &body,
                const std::string &fetch = "y") {
  std::string text;
  Session::Feeds feeds;
  for (const Input &in : inputs) {
    text += PlaceholderNode(in.name, testing::GraphDTypeName(in.tensor.dtype()),
                            in.tensor.shape());
    feeds.emplace_back(in.name, in.tensor);
  }
  std::vector<Tensor> outputs =
      testing::RunBothPlans(ParseGraph(text + body), feeds, {fetch});
  return outputs.empty() ? Tensor() : outputs[0];
}

RefArray Map(const RefArray &a, const std::function<double(double)> &fn) {
  RefArray out{a.shape, {}};
  for (double x : a.data)
    out.data.push_back(fn(x));
  return out;
}

struct BinaryCase {
  const char *op;
  std::vector<int64_t> a, b;
  std::function<double(double, double)> fn;
};

TEST(OpsTest, BroadcastingBinaryOps) {
  std::vector<BinaryCase> cases = {
      {"Add", {2, 3, 4}, {4}, std::plus<double>()},
      {"Add", {3, 1}, {1, 5}, std::plus<double>()},
      {"Sub", {2, 1, 4}, {3, 1}, std::minus<double>()},
      {"Mul", {4}, {2, 3, 4}, std::multiplies<double>()},
      {"Mul", {}, {2, 2}, std::multiplies<double>()},
      {"Div", {2, 3}, {2, 3}, std::divides<double>()},
      {"Div", {5, 1, 2}, {1, 4, 1}, std::divides<double>()},
  };
  for (const BinaryCase &c : cases) {
    SCOPED_TRACE(
        absl::StrCat(c.op, " ", ShapeToString(c.a), " ", ShapeToString(c.b)));
    Input a = RandomInput("a", c.a, 1), b = RandomInput("b", c.b, 2, 0.5, 2);
    Tensor y = RunGraph({a, b}, OpNode("y", c.op, {"a", "b"}));
    testing::ExpectClose(y, testing::RefBinary(a.ref, b.ref, c.fn));
  }
}

TEST(OpsTest, UnaryOps) {
  Input x = RandomInput("x", {3, 7}, 3, -3, 3);
  Input pos = RandomInput("x", {3, 7}, 4, 0.01, 5);
  struct Case {
    const char *op;
    const Input &in;
    std::function<double(double)> fn;
  };
  std::vector<Case> cases = {
      {"Relu", x, [](double v) { return std::max(v, 0.0); }},
      {"Neg", x, [](double v) { return -v; }},
      {"Sigmoid", x, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"Tanh", x, [](double v) { return std::tanh(v); }},
      {"Exp", x, [](double v) { return std::exp(v); }},
      {"Log", pos, [](double v) { return std::log(v); }},
      {"Sqrt", pos, [](double v) { return std::sqrt(v); }},
      {"Softsign", x, [](double v) { return v / (1 + std::abs(v)); }},
      {"Identity", x, [](double v) { return v; }},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.op);
    Tensor y = RunGraph({c.in}, OpNode("y", c.op, {"x"}));
    testing::ExpectClose(y, Map(c.in.ref, c.fn), 1e-5, 1e-6);
  }
}

// The transcendental functions over [-20, 20] (every f32 between, 200,001
// points; [0.001, 20] for Log) against float64: within 1e-6 relative
// error, with the polynomial approximations that vectorize (exp, tanh,
// erf, log) and libm (sin, cos, atan) alike. (Measured: 3e-7 at most.)
TEST(OpsTest, TranscendentalsMatchFloat64) {
  constexpr int64_t kPoints = 200001;
  auto input = [](double lo, double hi) {
    std::vector<float> f(kPoints);
    for (int64_t i = 0; i < kPoints; ++i)
      f[i] = static_cast<float>(lo + (hi - lo) * i / (kPoints - 1));
    Input in{"x", *Tensor::FromVector<float>({kPoints}, f), {{kPoints}, {}}};
    for (float x : f)
      in.ref.data.push_back(x);
    return in;
  };
  Input x = input(-20, 20), pos = input(0.001, 20);
  Input small = input(-10, 10), unit = input(-0.999, 0.999),
        aboveOne = input(1.001, 20);
  struct Case {
    const char *op;
    const Input &in;
    std::function<double(double)> fn;
  };
  std::vector<Case> cases = {
      {"Exp", x, [](double v) { return std::exp(v); }},
      {"Tanh", x, [](double v) { return std::tanh(v); }},
      {"Erf", x, [](double v) { return std::erf(v); }},
      {"Sigmoid", x, [](double v) { return 1 / (1 + std::exp(-v)); }},
      {"Log", pos, [](double v) { return std::log(v); }},
      {"Sin", x, [](double v) { return std::sin(v); }},
      {"Cos", x, [](double v) { return std::cos(v); }},
      {"Atan", x, [](double v) { return std::atan(v); }},
      {"Sinh", small, [](double v) { return std::sinh(v); }},
      {"Cosh", small, [](double v) { return std::cosh(v); }},
      {"Asin", unit, [](double v) { return std::asin(v); }},
      {"Acos", unit, [](double v) { return std::acos(v); }},
      {"Asinh", x, [](double v) { return std::asinh(v); }},
      {"Acosh", aboveOne, [](double v) { return std::acosh(v); }},
      {"Atanh", unit, [](double v) { return std::atanh(v); }},
  };
  for (const Case &c : cases) {
    SCOPED_TRACE(c.op);
    Tensor y = RunGraph({c.in}, OpNode("y", c.op, {"x"}));
    RefArray want = Map(c.in.ref, c.fn);
    double worst = 0;
    for (int64_t i = 0; i < kPoints; ++i) {
      double w = want.data[i];
      if (std::abs(w) < 1e-30 || !std::isfinite(w))
        continue;
      worst = std::max(worst, std::abs(y.data<float>()[i] - w) / std::abs(w));
    }
    EXPECT_LT(worst, 1e-6);
  }
}

/// float64 batched matmul with NumPy semantics, for rank >= 2 operands.
RefArray RefMatMul(const RefArray &a, const RefArray &b) {
  std::vector<int64_t> ba(a.shape.begin(), a.shape.end() - 2),
      bb(b.shape.begin(), b.shape.end() - 2);
  RefArray batch_a{ba, std::vector<double>(Count(ba))},
      batch_b{bb, std::vector<double>(Count(bb))};
  RefArray batch =
      testing::RefBinary(batch_a, batch_b, [](double, double) { return 0.0; });
  int64_t m = a.shape[a.shape.size() - 2], k = a.shape.back(),
          n = b.shape.back();
  RefArray out{batch.shape, {}};
  out.shape.push_back(m);
  out.shape.push_back(n);
  for (int64_t bi = 0; bi < Count(batch.shape); ++bi) {
    int64_t ia = testing::BroadcastIndex(ba, batch.shape, bi);
    int64_t ib = testing::BroadcastIndex(bb, batch.shape, bi);
    for (int64_t i = 0; i < m; ++i)
      for (int64_t j = 0; j < n; ++j) {
        double acc = 0;
        for (int64_t t = 0; t < k; ++t)
          acc +=
              a.data[ia * m * k + i * k + t] * b.data[ib * k * n + t * n + j];
        out.data.push_back(acc);
      }
  }
  return out;
}

TEST(OpsTest, MatMulBatchedAndBroadcast) {
  std::vector<std::pair<std::vector<int64_t>, std::vector<int64_t>>> cases = {
      {{5, 7}, {7, 3}},
      {{2, 5, 7}, {7, 3}},
      {{2, 1, 4, 3}, {3, 3, 2}},
      {{1, 6}, {6, 1}},
  };
  for (const auto &[sa, sb] : cases) {
    SCOPED_TRACE(ShapeToString(sa) + " x " + ShapeToString(sb));
    Input a = RandomInput("a", sa, 5), b = RandomInput("b", sb, 6);
    Tensor y = RunGraph({a, b}, OpNode("y", "MatMul", {"a", "b"}));
    testing::ExpectClose(y, RefMatMul(a.ref, b.ref), 1e-5, 1e-5);
  }
}

TEST(OpsTest, MatMulVectors) {
  Input v = RandomInput("v", {4}, 7), m = RandomInput("m", {4, 3}, 8);
  RefArray row{{1, 4}, v.ref.data};
  RefArray expected = RefMatMul(row, m.ref);
  expected.shape = {3};
  testing::ExpectClose(RunGraph({v, m}, OpNode("y", "MatMul", {"v", "m"})),
                       expected, 1e-5, 1e-5);
  Input m2 = RandomInput("m", {2, 3, 4}, 9);
  RefArray col{{4, 1}, v.ref.data};
  RefArray expected2 = RefMatMul(m2.ref, col);
  expected2.shape = {2, 3};
  testing::ExpectClose(RunGraph({m2, v}, OpNode("y", "MatMul", {"m", "v"})),
                       expected2, 1e-5, 1e-5);
  Input w = RandomInput("w", {4}, 10);
  double dot = 0;
  for (int i = 0; i < 4; ++i)
    dot += v.ref.data[i] * w.ref.data[i];
  testing::ExpectClose(RunGraph({v, w}, OpNode("y", "MatMul", {"v", "w"})),
                       RefArray{{}, {dot}}, 1e-5, 1e-5);
}

RefArray Transpose2D(const RefArray &a) {
  RefArray out{{a.shape[1], a.shape[0]}, {}};
  for (int64_t j = 0; j < a.shape[1]; ++j)
    for (int64_t i = 0; i < a.shape[0]; ++i)
      out.data.push_back(a.data[i * a.shape[1] + j]);
  return out;
}

TEST(OpsTest, GemmTransposesAlphaBeta) {
  for (int trans_a = 0; trans_a < 2; ++trans_a)
    for (int trans_b = 0; trans_b < 2; ++trans_b) {
      SCOPED_TRACE(absl::StrCat("transA=", trans_a, " transB=", trans_b));
      Input a = RandomInput("a",
                            trans_a ? std::vector<int64_t>{6, 4}
                                    : std::vector<int64_t>{4, 6},
                            11);
      Input b = RandomInput("b",
                            trans_b ? std::vector<int64_t>{5, 6}
                                    : std::vector<int64_t>{6, 5},
                            12);
      Input c = RandomInput("c", {1, 5}, 13);
      std::string attrs = absl::StrCat(
          "attr { key: \"alpha\" value { f: 0.5 } } attr { key: \"beta\" "
          "value { f: 2.0 } } attr { key: \"transA\" value { i: ",
          trans_a, " } } attr { key: \"transB\" value { i: ", trans_b, " } }");
      Tensor y =
          RunGraph({a, b, c}, OpNode("y", "Gemm", {"a", "b", "c"}, attrs));
      RefArray product = RefMatMul(trans_a ? Transpose2D(a.ref) : a.ref,
                                   trans_b ? Transpose2D(b.ref) : b.ref);
      RefArray expected = testing::RefBinary(
          product, c.ref, [](double p, double cv) { return 0.5 * p + 2 * cv; });
      testing::ExpectClose(y, expected, 1e-5, 1e-5);
    }
  Input a = RandomInput("a", {3, 4}, 14), b = RandomInput("b", {4, 2}, 15);
  testing::ExpectClose(RunGraph({a, b}, OpNode("y", "Gemm", {"a", "b"})),
                       RefMatMul(a.ref, b.ref), 1e-5, 1e-5);
}

/// Reference reduction over `axes` (all if empty) with `keepdims`.
RefArray RefReduce(const RefArray &x, std::vector<int64_t> axes, bool keep,
                   double init, const std::function<double(double, double)> &fn,
                   bool mean = false) {
  int64_t rank = x.shape.size();
  std::vector<bool> reduced(rank, axes.empty());
  for (int64_t a : axes)
    reduced[a < 0 ? a + rank : a] = true;
  RefArray out;
  for (int64_t d = 0; d < rank; ++d)
    if (!reduced[d] || keep)
      out.shape.push_back(reduced[d] ? 1 : x.shape[d]);
  std::vector<int64_t> kept_shape;
  for (int64_t d = 0; d < rank; ++d)
    kept_shape.push_back(reduced[d] ? 1 : x.shape[d]);
  out.data.assign(Count(kept_shape), init);
  int64_t count = x.size() / std::max<int64_t>(Count(kept_shape), 1);
  for (int64_t i = 0; i < x.size(); ++i) {
    int64_t rem = i, target = 0, stride = 1;
    for (int64_t d = rank - 1; d >= 0; --d) {
      int64_t coord = rem % x.shape[d];
      rem /= x.shape[d];
      target += (reduced[d] ? 0 : coord) * stride;
      stride *= kept_shape[d];
    }
    out.data[target] = fn(out.data[target], x.data[i]);
  }
  if (mean)
    for (double &v : out.data)
      v /= count;
  return out;
}

TEST(OpsTest, Reductions) {
  Input x = RandomInput("x", {2, 3, 4}, 16);
  struct Case {
    std::vector<int64_t> axes;
    int keepdims;
  };
  for (const Case &c :
       std::vector<Case>{{{1}, 1}, {{0, 2}, 0}, {{-1}, 0}, {{}, 1}, {{}, 0}}) {
    std::string axes_attr;
    if (!c.axes.empty()) {
      axes_attr = "attr { key: \"axes\" value { list { i: [";
      for (size_t i = 0; i < c.axes.size(); ++i)
        absl::StrAppend(&axes_attr, i ? ", " : "", c.axes[i]);
      axes_attr += "] } } }";
    }
    std::string attrs = absl::StrCat(
        axes_attr, " attr { key: \"keepdims\" value { i: ", c.keepdims, " } }");
    SCOPED_TRACE(attrs);
    testing::ExpectClose(
        RunGraph({x}, OpNode("y", "ReduceSum", {"x"}, attrs)),
        RefReduce(x.ref, c.axes, c.keepdims, 0, std::plus<double>()), 1e-5,
        1e-5);
    testing::ExpectClose(
        RunGraph({x}, OpNode("y", "ReduceMean", {"x"}, attrs)),
        RefReduce(x.ref, c.axes, c.keepdims, 0, std::plus<double>(), true),
        1e-5, 1e-5);
    testing::ExpectClose(
        RunGraph({x}, OpNode("y", "ReduceMax", {"x"}, attrs)),
        RefReduce(x.ref, c.axes, c.keepdims, -INFINITY,
                  [](double a, double b) { return std::max(a, b); }));
  }
}

TEST(OpsTest, SoftmaxAlongEachAxis) {
  Input x = RandomInput("x", {2, 3, 4}, 17, -5, 5);
  for (int axis : {0, 1, 2, -1}) {
    SCOPED_TRACE(axis);
    int64_t a = axis < 0 ? axis + 3 : axis;
    RefArray max = RefReduce(x.ref, {a}, true, -INFINITY,
                             [](double p, double q) { return std::max(p, q); });
    RefArray e = testing::RefBinary(
        x.ref, max, [](double v, double m) { return std::exp(v - m); });
    RefArray sum = RefReduce(e, {a}, true, 0, std::plus<double>());
    RefArray expected = testing::RefBinary(e, sum, std::divides<double>());
    testing::ExpectClose(
        RunGraph({x}, OpNode("y", "Softmax", {"x"},
                             absl::StrCat("attr { key: \"axis\" value { i: ",
                                          axis, " } }"))),
        expected, 1e-5, 1e-6);
  }
}

// Shapes big enough that fusions are tiled (a tile holds about 4096
// points): two MatMul + bias + Relu layers whose epilogues run on each tile
// before it is stored, the second reading the first's tiled result, then a
// row softmax of an elementwise product, tiled over rows.
TEST(OpsTest, TiledKernelsMatchReference) {
  Input x = RandomInput("x", {64, 96}, 40);
  Input w1 = RandomInput("w1", {96, 128}, 41, -0.3, 0.3);
  Input b1 = RandomInput("b1", {128}, 42);
  Input w2 = RandomInput("w2", {128, 128}, 43, -0.3, 0.3);
  Input b2 = RandomInput("b2", {128}, 44);
  Input s = RandomInput("s", {64, 128}, 45);
  std::string body =
      OpNode("m1", "MatMul", {"x", "w1"}) + OpNode("a1", "Add", {"m1", "b1"}) +
      OpNode("h1", "Relu", {"a1"}) + OpNode("m2", "MatMul", {"h1", "w2"}) +
      OpNode("a2", "Add", {"m2", "b2"}) + OpNode("h2", "Relu", {"a2"}) +
      OpNode("p", "Mul", {"h2", "s"}) + OpNode("y", "Softmax", {"p"});
  auto relu = [](double v) { return v > 0 ? v : 0; };
  RefArray h1 = Map(
      testing::RefBinary(RefMatMul(x.ref, w1.ref), b1.ref, std::plus<double>()),
      relu);
  RefArray h2 = Map(
      testing::RefBinary(RefMatMul(h1, w2.ref), b2.ref, std::plus<double>()),
      relu);
  RefArray p = testing::RefBinary(h2, s.ref, std::multiplies<double>());
  RefArray max = RefReduce(p, {1}, true, -INFINITY,
                           [](double a, double b) { return std::max(a, b); });
  RefArray e = testing::RefBinary(
      p, max, [](double v, double m) { return std::exp(v - m); });
  RefArray sum = RefReduce(e, {1}, true, 0, std::plus<double>());
  RefArray expected = testing::RefBinary(e, sum, std::divides<double>());
  testing::ExpectClose(RunGraph({x, w1, b1, w2, b2, s}, body), expected, 1e-4,
                       1e-6);
  testing::ExpectClose(RunGraph({x, w1, b1, w2, b2, s}, body, "h2"), h2, 1e-4,
                       1e-4);
}

// 1x1 convolutions (a MobileNet's pointwise layers) run as one contraction
// over each image's rows and columns together: 14 x 14 and 28 x 7 images,
// and 20 x 20 over a padded input (which stays row by row), against
// float64 at 1 to 3 threads, bit-identical across them.
TEST(OpsTest, PointwiseConvolutions) {
  struct Case {
    int64_t c, m, h, w, pad;
  };
  for (Case k : {Case{32, 48, 14, 14, 0}, Case{24, 40, 28, 7, 0},
                 Case{16, 24, 18, 18, 1}}) {
    SCOPED_TRACE(::testing::Message() << k.c << "->" << k.m << " " << k.h << "x"
                                      << k.w << " pad " << k.pad);
    Input x = RandomInput("x", {1, k.c, k.h, k.w}, 52);
    Input w = RandomInput("w", {k.m, k.c, 1, 1}, 53, -0.5, 0.5);
    Input b = RandomInput("b", {k.m}, 54);
    std::string pads = std::to_string(k.pad);
    std::string text =
        PlaceholderNode("x", "DT_FLOAT", x.tensor.shape()) +
        PlaceholderNode("w", "DT_FLOAT", w.tensor.shape()) +
        PlaceholderNode("b", "DT_FLOAT", b.tensor.shape()) +
        OpNode("c", "Conv", {"x", "w", "b"},
               "attr { key: 'pads' value { list { i: [" + pads + ", " + pads +
                   ", " + pads + ", " + pads + "] } } }") +
        OpNode("y", "Relu", {"c"});
    RefArray ref = testing::RefConv2D(x.ref, w.ref, b.ref.data, k.pad,
                                      /*relu=*/true);
    Session::Feeds feeds = {{"x", x.tensor}, {"w", w.tensor}, {"b", b.tensor}};
    testing::ExpectClose(
        testing::RunAtEveryThreadCount(ParseGraph(text), feeds, "y"), ref, 1e-5,
        1e-5);
  }
}

// Depthwise convolutions (one channel per group, a MobileNet's 3x3
// layers) are one contraction over the image with no channel sum, tiled
// with their epilogue: strides 1 and 2, against float64 at 1 to 3
// threads, bit-identical across them.
TEST(OpsTest, DepthwiseConvolutions) {
  const int64_t c = 24, h = 15, w = 13;
  for (int64_t stride : {1, 2}) {
    SCOPED_TRACE("stride " + std::to_string(stride));
    Input x = RandomInput("x", {1, c, h, w}, 55);
    Input f = RandomInput("f", {c, 1, 3, 3}, 56, -0.5, 0.5);
    Input b = RandomInput("b", {c}, 57);
    std::string s = std::to_string(stride);
    std::string text =
        PlaceholderNode("x", "DT_FLOAT", x.tensor.shape()) +
        PlaceholderNode("f", "DT_FLOAT", f.tensor.shape()) +
        PlaceholderNode("b", "DT_FLOAT", b.tensor.shape()) +
        OpNode("c", "Conv", {"x", "f", "b"},
               "attr { key: 'pads' value { list { i: [1, 1, 1, 1] } } } "
               "attr { key: 'group' value { i: 24 } } "
               "attr { key: 'strides' value { list { i: [" +
                   s + ", " + s + "] } } }") +
        OpNode("y", "Relu", {"c"});
    int64_t oh = (h - 1) / stride + 1, ow = (w - 1) / stride + 1;
    RefArray ref{{1, c, oh, ow}, {}};
    for (int64_t ch = 0; ch < c; ++ch)
      for (int64_t i = 0; i < oh; ++i)
        for (int64_t j = 0; j < ow; ++j) {
          double sum = b.ref.data[ch];
          for (int64_t kh = 0; kh < 3; ++kh)
            for (int64_t kw = 0; kw < 3; ++kw) {
              int64_t r = i * stride + kh - 1, q = j * stride + kw - 1;
              if (r >= 0 && r < h && q >= 0 && q < w)
                sum += x.ref.data[(ch * h + r) * w + q] *
                       f.ref.data[(ch * 3 + kh) * 3 + kw];
            }
          ref.data.push_back(std::max(0.0, sum));
        }
    Session::Feeds feeds = {{"x", x.tensor}, {"f", f.tensor}, {"b", b.tensor}};
    testing::ExpectClose(
        testing::RunAtEveryThreadCount(ParseGraph(text), feeds, "y"), ref, 1e-5,
        1e-5);
  }
}

// Bool tensors an epilogue of a tiled matmul reads or writes (a mask, a
// comparison) are one byte per element, not the bits of a vector<8xi1>:
// such epilogues stay out of the matmul's registers.
TEST(OpsTest, MatMulEpiloguesWithBools) {
  Input x = RandomInput("x", {16, 32}, 48), w = RandomInput("w", {32, 16}, 49);
  Input th = RandomInput("th", {16}, 50), o = RandomInput("o", {16}, 51);
  std::vector<bool> mask;
  for (int64_t i = 0; i < 16; ++i)
    mask.push_back(i % 3 != 1);
  std::string text = PlaceholderNode("x", "DT_FLOAT", {16, 32}) +
                     PlaceholderNode("w", "DT_FLOAT", {32, 16}) +
                     PlaceholderNode("th", "DT_FLOAT", {16}) +
                     PlaceholderNode("o", "DT_FLOAT", {16}) +
                     PlaceholderNode("c", "DT_BOOL", {16}) +
                     OpNode("m", "MatMul", {"x", "w"}) +
                     OpNode("g", "Greater", {"m", "th"}) +
                     OpNode("s", "Where", {"c", "m", "o"});
  Session::Feeds feeds = {{"x", x.tensor},
                          {"w", w.tensor},
                          {"th", th.tensor},
                          {"o", o.tensor},
                          {"c", *Tensor::FromVector<bool>({16}, mask)}};
  RefArray m = RefMatMul(x.ref, w.ref);
  for (const char *fetch : {"g", "s"}) {
    SCOPED_TRACE(fetch);
    std::vector<Tensor> out =
        testing::RunBothPlans(ParseGraph(text), feeds, {fetch});
    ASSERT_EQ(out.size(), 1u);
    const Tensor &y = out[0];
    for (int64_t i = 0; i < 16 * 16; ++i) {
      double v = m.data[i];
      if (std::string(fetch) == "g")
        ASSERT_EQ(y.data<bool>()[i], v > th.ref.data[i % 16]) << i;
      else
        ASSERT_NEAR(y.data<float>()[i], mask[i % 16] ? v : o.ref.data[i % 16],
                    1e-5)
            << i;
    }
  }
}

// Two elementwise chains reading the same input, both fetched: one sibling
// (multi-output) kernel computes both.
TEST(OpsTest, SiblingKernelsBothFetched) {
  Input x = RandomInput("x", {16, 64}, 46), y = RandomInput("y", {16, 64}, 47);
  std::string text = PlaceholderNode("x", "DT_FLOAT", x.tensor.shape()) +
                     PlaceholderNode("y", "DT_FLOAT", y.tensor.shape()) +
                     OpNode("e", "Exp", {"x"}) + OpNode("n", "Neg", {"x"}) +
                     OpNode("m", "Mul", {"n", "y"});
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(ParseGraph(text));
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> outputs;
  ASSERT_TRUE(
      (*session)
          ->Run({{"x", x.tensor}, {"y", y.tensor}}, {"e", "m"}, &outputs)
          .ok());
  testing::ExpectClose(outputs[0],
                       Map(x.ref, [](double v) { return std::exp(v); }));
  testing::ExpectClose(outputs[1],
                       testing::RefBinary(x.ref, y.ref, [](double a, double b) {
                         return -a * b;
                       }));
}

// Transposes that move the innermost dimension run in 8 x 8 vector blocks
// (kiln-cpu-vectorize-transposes) with the edges beyond the last whole
// block as loops: shapes with and without edges, two permutations and a
// batch dimension, compared element for element with an index-by-index
// transpose.
TEST(OpsTest, TransposesOfTheInnermostDimensionAreExact) {
  struct Case {
    std::vector<int64_t> shape, perm;
  };
  std::vector<Case> cases = {{{16, 24}, {1, 0}},
                             {{19, 3, 21}, {1, 2, 0}},
                             {{2, 13, 8, 9}, {0, 3, 1, 2}},
                             {{5, 7}, {1, 0}}};
  uint32_t seed = 40;
  for (const Case &c : cases) {
    SCOPED_TRACE(::testing::PrintToString(c.shape));
    Input x = RandomInput("x", c.shape, seed++);
    std::string perm;
    for (int64_t p : c.perm)
      perm += (perm.empty() ? "" : ", ") + std::to_string(p);
    Tensor t =
        RunGraph({x}, OpNode("y", "Transpose", {"x"},
                             R"(attr { key: "perm" value { list { i: [)" +
                                 perm + "] } } }"));
    int64_t rank = c.shape.size();
    std::vector<int64_t> out(rank), inStrides(rank, 1);
    for (int64_t d = rank - 2; d >= 0; --d)
      inStrides[d] = inStrides[d + 1] * c.shape[d + 1];
    for (int64_t d = 0; d < rank; ++d)
      out[d] = c.shape[c.perm[d]];
    ASSERT_EQ(t.shape(), out);
    std::vector<double> got = testing::ToDoubles(t);
    std::vector<int64_t> at(rank, 0);
    for (int64_t i = 0; i < Count(out); ++i) {
      int64_t from = 0;
      for (int64_t d = 0; d < rank; ++d)
        from += at[d] * inStrides[c.perm[d]];
      ASSERT_EQ(got[i], x.ref.data[from]) << "output element " << i;
      for (int64_t d = rank - 1; d >= 0 && ++at[d] == out[d]; --d)
        at[d] = 0;
    }
  }
}

TEST(OpsTest, ReshapeAndTranspose) {
  Input x = RandomInput("x", {2, 3, 4}, 18);
  Tensor r = RunGraph(
      {x}, OpNode("y", "Reshape", {"x"},
                  R"(attr { key: "shape" value { list { i: [0, -1] } } })"));
  testing::ExpectClose(r, RefArray{{2, 12}, x.ref.data});

  Tensor t = RunGraph(
      {x}, OpNode("y", "Transpose", {"x"},
                  R"(attr { key: "perm" value { list { i: [2, 0, 1] } } })"));
  RefArray expected{{4, 2, 3}, {}};
  for (int k = 0; k < 4; ++k)
    for (int i = 0; i < 2; ++i)
      for (int j = 0; j < 3; ++j)
        expected.data.push_back(x.ref.data[i * 12 + j * 4 + k]);
  testing::ExpectClose(t, expected);

  Tensor reversed = RunGraph({x}, OpNode("y", "Transpose", {"x"}));
  EXPECT_EQ(reversed.shape(), (std::vector<int64_t>{4, 3, 2}));
  EXPECT_EQ(testing::ToDoubles(reversed)[1], x.ref.data[12]);

  // An empty batch leaves the -1 undetermined: refused, as by ONNX Runtime
  // and NumPy, not silently [0, 0].
  absl::StatusOr<std::unique_ptr<Session>> empty = Session::Create(ParseGraph(
      PlaceholderNode("x", "DT_FLOAT", {0, 3, 4}) +
      OpNode("y", "Reshape", {"x"},
             R"(attr { key: "shape" value { list { i: [0, -1] } } })") +
      "signature { fetch: \"y\" }"));
  ASSERT_FALSE(empty.ok());
  EXPECT_THAT(std::string(empty.status().message()),
              ::testing::HasSubstr(
                  "the -1 cannot be inferred when the other dimensions "
                  "hold 0 elements"));
}

TEST(OpsTest, IntegerArithmetic) {
  std::vector<int32_t> a = {7, -7, 5, std::numeric_limits<int32_t>::min(),
                            9, 0};
  std::vector<int32_t> b = {2, 2, 7, -1, -4, 3};
  Input ia{"a", *Tensor::FromVector<int32_t>({6}, a), {}};
  Input ib{"b", *Tensor::FromVector<int32_t>({6}, b), {}};
  Tensor q = RunGraph({ia, ib}, OpNode("y", "Div", {"a", "b"}));
  ASSERT_EQ(q.dtype(), DType::kI32);
  // Truncating division; INT_MIN / -1 = INT_MIN, as documented (a divisor
  // of 0 fails the run: checks_test).
  std::vector<int32_t> want = {3,  -3, 0, std::numeric_limits<int32_t>::min(),
                               -2, 0};
  EXPECT_EQ(std::vector<int32_t>(q.data<int32_t>(), q.data<int32_t>() + 6),
            want);
  Tensor s = RunGraph(
      {ia, ib}, OpNode("y", "Mul", {"a", "b"}) + OpNode("z", "Add", {"y", "a"}),
      "z");
  for (int i = 0; i < 6; ++i)
    EXPECT_EQ(s.data<int32_t>()[i],
              static_cast<int32_t>(static_cast<uint32_t>(a[i]) *
                                       static_cast<uint32_t>(b[i]) +
                                   static_cast<uint32_t>(a[i])));
}

TEST(OpsTest, NanAndInfinityPropagate) {
  std::vector<float> v = {NAN, INFINITY, -INFINITY, 1.0f};
  Input x{"x",
          *Tensor::FromVector<float>({4}, v),
          {{4}, {NAN, INFINITY, -INFINITY, 1}}};
  Tensor relu = RunGraph({x}, OpNode("y", "Relu", {"x"}));
  EXPECT_TRUE(std::isnan(relu.data<float>()[0]));
  EXPECT_EQ(relu.data<float>()[1], INFINITY);
  EXPECT_EQ(relu.data<float>()[2], 0.0f);
  Tensor mx = RunGraph({x}, OpNode("y", "ReduceMax", {"x"}));
  EXPECT_TRUE(std::isnan(mx.data<float>()[0]));
}

TEST(OpsTest, SoftmaxOfAValueReadAgainAfterIt) {
  // sq = x * x; y = softmax(sq) + sq, one fusion at -O2. The memory plan
  // once wrote the softmax's exp temporary over sq, which the Add reads
  // last (the Add updates that temporary in place).
  Input x = RandomInput("x", {3, 5}, 21, -2, 2);
  for (int level : {0, 2}) {
    SCOPED_TRACE(absl::StrCat("-O", level));
    SessionOptions options;
    options.pipeline.opt_level = level;
    std::string body = OpNode("sq", "Mul", {"x", "x"}) +
                       OpNode("p", "Softmax", {"sq"},
                              "attr { key: \"axis\" value { i: 1 } }") +
                       OpNode("y", "Add", {"p", "sq"});
    std::vector<Tensor> out = testing::RunBothPlans(
        ParseGraph(PlaceholderNode("x", "DT_FLOAT", {3, 5}) + body),
        {{"x", x.tensor}}, {"y"}, options);
    ASSERT_EQ(out.size(), 1u);
    RefArray want{{3, 5}, {}};
    for (int r = 0; r < 3; ++r) {
      double sum = 0, mx = -INFINITY;
      for (int c = 0; c < 5; ++c)
        mx = std::max(mx, x.ref.data[r * 5 + c] * x.ref.data[r * 5 + c]);
      for (int c = 0; c < 5; ++c)
        sum += std::exp(x.ref.data[r * 5 + c] * x.ref.data[r * 5 + c] - mx);
      for (int c = 0; c < 5; ++c) {
        double sq = x.ref.data[r * 5 + c] * x.ref.data[r * 5 + c];
        want.data.push_back(std::exp(sq - mx) / sum + sq);
      }
    }
    testing::ExpectClose(out[0], want, 1e-5, 1e-6);
  }
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

std::string IntAttr(const std::string &name, int64_t v) {
  return absl::StrCat("attr { key: \"", name, "\" value { i: ", v, " } } ");
}
std::string StringAttr(const std::string &name, const std::string &v) {
  return absl::StrCat("attr { key: \"", name, "\" value { s: \"", v, "\" } } ");
}
Input IndexInput(const std::string &name, std::vector<int64_t> shape,
                 std::vector<int64_t> v) {
  return Input{name, *Tensor::FromVector<int64_t>(shape, v), {}};
}

/// Gathers and scatters with fed indices (negative ones included) against
/// loops written here.
TEST(OpsTest, GatherElementsAndGatherND) {
  Input data = RandomInput("d", {3, 4}, 11);
  // GatherElements along axis 1: out[i][j] = d[i][idx[i][j]].
  Input idx = IndexInput("i", {3, 2}, {0, -1, 2, 3, -4, 1});
  Tensor y = RunGraph({data, idx}, OpNode("y", "GatherElements", {"d", "i"},
                                          IntAttr("axis", 1)));
  ASSERT_EQ(y.TypeString(), "f32[3,2]");
  const std::vector<int64_t> &iv = {0, -1, 2, 3, -4, 1};
  for (int r = 0; r < 3; ++r)
    for (int c = 0; c < 2; ++c) {
      int64_t k = iv[r * 2 + c];
      k = k < 0 ? k + 4 : k;
      EXPECT_EQ(y.data<float>()[r * 2 + c],
                static_cast<float>(data.ref.data[r * 4 + k]));
    }
  // GatherND with batch_dims 1: data [2,3,4], indices [2,2,1] pick rows of
  // each batch: out[b][t] = data[b][idx[b][t][0]].
  Input d3 = RandomInput("d", {2, 3, 4}, 12);
  std::vector<int64_t> tv = {2, -3, 1, -1};
  Input tuples = IndexInput("i", {2, 2, 1}, tv);
  Tensor z = RunGraph({d3, tuples}, OpNode("y", "GatherND", {"d", "i"},
                                           IntAttr("batch_dims", 1)));
  ASSERT_EQ(z.TypeString(), "f32[2,2,4]");
  for (int b = 0; b < 2; ++b)
    for (int t = 0; t < 2; ++t) {
      int64_t row = tv[b * 2 + t];
      row = row < 0 ? row + 3 : row;
      for (int c = 0; c < 4; ++c)
        EXPECT_EQ(z.data<float>()[(b * 2 + t) * 4 + c],
                  static_cast<float>(d3.ref.data[(b * 3 + row) * 4 + c]));
    }
}

TEST(OpsTest, ScatterElementsAndScatterND) {
  Input data = RandomInput("d", {3, 4}, 13);
  Input updates = RandomInput("u", {3, 2}, 14);
  // Two updates of row 1 land on column 3 (3 and -1): "add" sums both.
  std::vector<int64_t> iv = {0, 2, 3, -1, -4, 1};
  Input idx = IndexInput("i", {3, 2}, iv);
  for (const char *reduction : {"add", "mul", "max", "min"}) {
    SCOPED_TRACE(reduction);
    Tensor y = RunGraph(
        {data, idx, updates},
        OpNode("y", "ScatterElements", {"d", "i", "u"},
               IntAttr("axis", 1) + StringAttr("reduction", reduction)));
    std::vector<double> want = data.ref.data;
    for (int r = 0; r < 3; ++r)
      for (int c = 0; c < 2; ++c) {
        int64_t k = iv[r * 2 + c];
        k = k < 0 ? k + 4 : k;
        double &e = want[r * 4 + k];
        double u = updates.ref.data[r * 2 + c];
        std::string red = reduction;
        e = red == "add"   ? float(e + u)
            : red == "mul" ? float(e * u)
            : red == "max" ? std::max(e, u)
                           : std::min(e, u);
      }
    testing::ExpectClose(y, RefArray{{3, 4}, want}, 0, 0);
  }
  // ScatterND writes rows 2 and 0 of a [4,3] tensor.
  Input d2 = RandomInput("d", {4, 3}, 15);
  Input rows = RandomInput("u", {2, 3}, 16);
  Input at = IndexInput("i", {2, 1}, {2, -4});
  Tensor z =
      RunGraph({d2, at, rows}, OpNode("y", "ScatterND", {"d", "i", "u"}));
  std::vector<double> want = d2.ref.data;
  for (int c = 0; c < 3; ++c) {
    want[2 * 3 + c] = rows.ref.data[c];
    want[0 * 3 + c] = rows.ref.data[3 + c];
  }
  testing::ExpectClose(z, RefArray{{4, 3}, want}, 0, 0);
}

/// det of the n x n matrix at `a` by the Leibniz formula (a sum over all
/// permutations): another algorithm than Kiln's elimination.
double LeibnizDet(const double *a, int n) {
  std::vector<int> perm(n);
  for (int i = 0; i < n; ++i)
    perm[i] = i;
  double det = 0;
  do {
    int inversions = 0;
    for (int i = 0; i < n; ++i)
      for (int j = i + 1; j < n; ++j)
        inversions += perm[i] > perm[j];
    double term = inversions % 2 ? -1 : 1;
    for (int i = 0; i < n; ++i)
      term *= a[i * n + perm[i]];
    det += term;
  } while (std::next_permutation(perm.begin(), perm.end()));
  return det;
}

TEST(OpsTest, DetMatchesTheLeibnizFormula) {
  // Random 5x5 matrices in a [2, 3] batch; one with a zero pivot at the
  // start (elimination must pick another row), one singular (two equal
  // rows), one a cyclic row shift of the identity (det 1).
  const int n = 5;
  Input m = RandomInput("m", {2, 3, n, n}, 17);
  std::vector<float> values(m.ref.data.begin(), m.ref.data.end());
  values[n * n] = 0;
  for (int j = 0; j < n; ++j)
    values[2 * n * n + 3 * n + j] = values[2 * n * n + 1 * n + j];
  std::fill(values.begin() + 3 * n * n, values.begin() + 4 * n * n, 0.0f);
  for (int i = 0; i < n; ++i)
    values[3 * n * n + i * n + (i + 2) % n] = 1;
  m.tensor = *Tensor::FromVector<float>({2, 3, n, n}, values);
  m.ref.data.assign(values.begin(), values.end());
  Tensor y = RunGraph({m}, OpNode("y", "Det", {"m"}));
  ASSERT_EQ(y.TypeString(), "f32[2,3]");
  RefArray want{{2, 3}, {}};
  for (int b = 0; b < 6; ++b)
    want.data.push_back(LeibnizDet(m.ref.data.data() + b * n * n, n));
  EXPECT_NEAR(want.data[2], 0, 1e-9);
  EXPECT_EQ(want.data[3], 1); // an even cyclic shift of 5 rows
  testing::ExpectClose(y, want, 1e-5, 1e-4);
}

TEST(OpsTest, ModAndBitShift) {
  std::vector<int32_t> a = {7, -7, 7, -7, std::numeric_limits<int32_t>::min(),
                            0};
  std::vector<int32_t> b = {3, 3, -3, -3, -1, 5};
  Input ia{"a", *Tensor::FromVector<int32_t>({6}, a), {}};
  Input ib{"b", *Tensor::FromVector<int32_t>({6}, b), {}};
  Tensor floor = RunGraph({ia, ib}, OpNode("y", "Mod", {"a", "b"}));
  Tensor trunc =
      RunGraph({ia, ib}, OpNode("y", "Mod", {"a", "b"}, IntAttr("fmod", 1)));
  for (int i = 0; i < 6; ++i) {
    int64_t r = int64_t{a[i]} % b[i]; // C: the dividend's sign
    EXPECT_EQ(trunc.data<int32_t>()[i], r) << i;
    if (r != 0 && ((r < 0) != (b[i] < 0)))
      r += b[i]; // Python: the divisor's sign
    EXPECT_EQ(floor.data<int32_t>()[i], r) << i;
  }
  Input fa = RandomInput("a", {8}, 17, -10, 10);
  Input fb = RandomInput("b", {8}, 18, 0.5, 3);
  Tensor f =
      RunGraph({fa, fb}, OpNode("y", "Mod", {"a", "b"}, IntAttr("fmod", 1)));
  RefArray want{{8}, {}};
  for (int i = 0; i < 8; ++i)
    want.data.push_back(std::fmod(fa.ref.data[i], fb.ref.data[i]));
  testing::ExpectClose(f, want, 0, 0);

  std::vector<uint8_t> x = {1, 255, 16, 3}, s = {3, 1, 4, 8};
  Input ux{"a", *Tensor::FromVector<uint8_t>({4}, x), {}};
  Input us{"b", *Tensor::FromVector<uint8_t>({4}, s), {}};
  Tensor left = RunGraph({ux, us}, OpNode("y", "BitShift", {"a", "b"},
                                          StringAttr("direction", "LEFT")));
  Tensor right = RunGraph({ux, us}, OpNode("y", "BitShift", {"a", "b"},
                                           StringAttr("direction", "RIGHT")));
  for (int i = 0; i < 4; ++i) {
    // A shift by the bit width (8) or more gives 0.
    EXPECT_EQ(left.data<uint8_t>()[i], s[i] >= 8 ? 0 : uint8_t(x[i] << s[i]));
    EXPECT_EQ(right.data<uint8_t>()[i], s[i] >= 8 ? 0 : uint8_t(x[i] >> s[i]));
  }
}

} // namespace
} // namespace kiln
