//===- dtypes_e2e_test.cc - Graphs that mix element types -----------------===//
//
// Part of Kiln. Values of one element size feeding kernels that produce
// another: comparisons into Where and Cast, casts between every pair of
// types, broadcasts with scalars and size-1 dims. The memory planner once
// let an f32 result overwrite a dying bool input in place (the two rounded
// up to the same slot), which these cases catch both ways: against values
// computed here and planned against unplanned, bit for bit.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "session/session.h"
#include "tests/e2e_util.h"
#include "tests/test_util.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using testing::GraphDTypeName;
using testing::OpNode;
using testing::ParseGraph;
using testing::PlaceholderNode;

std::vector<double> Values(const Tensor &t) {
  std::vector<double> v;
  for (int64_t i = 0; i < t.num_elements(); ++i)
    v.push_back(t.ElementAsDouble(i));
  return v;
}

Tensor F32(std::vector<int64_t> shape, std::vector<float> values) {
  return *Tensor::FromVector<float>(std::move(shape), values);
}

std::string Scalar(const std::string &name, float value) {
  return absl::StrCat("node { name: \"", name,
                      "\" op: \"Constant\" attr { key: \"value\" value { "
                      "tensor { dtype: DT_FLOAT float_val: ",
                      value, " } } } }\n");
}

std::string CastTo(DType to) {
  return absl::StrCat("attr { key: \"to\" value { type: ", GraphDTypeName(to),
                      " } }");
}

/// Runs `body` with an f32 Placeholder per feed, both memory plans.
std::vector<Tensor> RunBoth(const Session::Feeds &feeds,
                            const std::string &body,
                            const std::vector<std::string> &fetches) {
  std::string text;
  for (const auto &[name, t] : feeds)
    text += PlaceholderNode(name, GraphDTypeName(t.dtype()), t.shape());
  return testing::RunBothPlans(ParseGraph(text + body), feeds, fetches);
}

TEST(DTypesTest, WhereOfAComparisonComputedInTheGraph) {
  Tensor x = F32({2, 4}, {1, 2, -3, 4, -1, -2, -3, 4});
  std::vector<Tensor> out = RunBoth({{"x", x}},
                                    Scalar("zero", 0) + Scalar("big", -1e4) +
                                        OpNode("m", "Less", {"x", "zero"}) +
                                        OpNode("y", "Where", {"m", "big", "x"}),
                                    {"y"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values(out[0]),
            (std::vector<double>{1, 2, -1e4, 4, -1e4, -1e4, -1e4, 4}));
}

TEST(DTypesTest, CastOfAComparison) {
  Tensor x = F32({2, 4}, {1, 2, -3, 4, -1, -2, -3, 4});
  std::vector<Tensor> out =
      RunBoth({{"x", x}},
              Scalar("zero", 0) + OpNode("m", "Less", {"x", "zero"}) +
                  OpNode("y", "Cast", {"m"}, CastTo(DType::kF32)),
              {"y"});
  ASSERT_EQ(out.size(), 1u);
  EXPECT_EQ(Values(out[0]), (std::vector<double>{0, 0, 1, 0, 1, 1, 1, 0}));
}

TEST(DTypesTest, WhereWithAScalarBranch) {
  // Clip's ONNX expansion: Where(x < m, m, x) with m of shape [].
  Tensor x = F32({3}, {-2, 0, 2});
  for (bool fed : {false, true}) {
    SCOPED_TRACE(fed ? "m fed" : "m constant");
    Session::Feeds feeds = {{"x", x}};
    std::string body;
    if (fed)
      feeds.emplace_back("m", F32({}, {1}));
    else
      body += Scalar("m", 1);
    body +=
        OpNode("b", "Less", {"x", "m"}) + OpNode("y", "Where", {"b", "m", "x"});
    std::vector<Tensor> out = RunBoth(feeds, body, {"y"});
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(Values(out[0]), (std::vector<double>{1, 1, 2}));
  }
}

TEST(DTypesTest, FetchedComparisonAndItsUser) {
  // Fetching the bool keeps it alive; the answer must not depend on it.
  Tensor x = F32({2, 4}, {1, 2, -3, 4, -1, -2, -3, 4});
  std::string body = Scalar("zero", 0) + Scalar("big", -1e4) +
                     OpNode("m", "Less", {"x", "zero"}) +
                     OpNode("y", "Where", {"m", "big", "x"});
  std::vector<Tensor> both = RunBoth({{"x", x}}, body, {"y", "m"});
  std::vector<Tensor> alone = RunBoth({{"x", x}}, body, {"y"});
  ASSERT_EQ(both.size(), 2u);
  ASSERT_EQ(alone.size(), 1u);
  testing::ExpectBitIdentical(both[0], alone[0]);
  EXPECT_EQ(Values(both[1]), (std::vector<double>{0, 0, 1, 0, 1, 1, 1, 0}));
}

/// What ONNX's Cast gives for an integer-valued `v` (exact in every type
/// here): a bool is v != 0, everything else keeps the value.
double CastValue(double v, DType to) {
  return to == DType::kBool ? (v != 0) : v;
}

TEST(DTypesTest, CastChainsBetweenEveryPairOfTypes) {
  // x -> Cast(src) -> Cast(dst): the middle value dies at a kernel whose
  // output has another element size, the case in-place writes got wrong.
  const DType types[] = {DType::kBool, DType::kI8,  DType::kF16, DType::kI32,
                         DType::kF32,  DType::kI64, DType::kF64};
  std::vector<float> v;
  for (int i = 0; i < 15; ++i)
    v.push_back(static_cast<float>((i * 7) % 11 - 5)); // -5 .. 5
  Tensor x = F32({3, 5}, v);
  for (DType src : types)
    for (DType dst : types) {
      SCOPED_TRACE(DTypeName(src) + " -> " + DTypeName(dst));
      std::vector<Tensor> out =
          RunBoth({{"x", x}},
                  OpNode("a", "Cast", {"x"}, CastTo(src)) +
                      OpNode("y", "Cast", {"a"}, CastTo(dst)),
                  {"y"});
      ASSERT_EQ(out.size(), 1u);
      ASSERT_EQ(out[0].dtype(), dst);
      std::vector<double> want;
      for (float e : v)
        want.push_back(CastValue(CastValue(e, src), dst));
      EXPECT_EQ(Values(out[0]), want);
    }
}

TEST(DTypesTest, BroadcastComparisonsSelectAcrossTypes) {
  // [3,1] against [1,4] in f64, selecting between an f64 and a scalar,
  // then cast to f32 and i64: every kernel reads a broadcast operand.
  std::vector<double> a = {0.5, -1, 2}, b = {1, -2, 0.25, 2};
  Session::Feeds feeds = {{"a", *Tensor::FromVector<double>({3, 1}, a)},
                          {"b", *Tensor::FromVector<double>({1, 4}, b)}};
  std::string body =
      OpNode("g", "Greater", {"a", "b"}) + OpNode("s", "Sub", {"a", "b"}) +
      absl::StrCat(
          "node { name: \"k\" op: \"Constant\" attr { key: \"value\" "
          "value { tensor { dtype: DT_DOUBLE double_val: 7 } } } }\n") +
      OpNode("w", "Where", {"g", "s", "k"}) +
      OpNode("f", "Cast", {"w"}, CastTo(DType::kF32)) +
      OpNode("n", "Not", {"g"}) +
      OpNode("i", "Cast", {"n"}, CastTo(DType::kI64));
  std::vector<Tensor> out = RunBoth(feeds, body, {"f", "i"});
  ASSERT_EQ(out.size(), 2u);
  std::vector<double> wf, wi;
  for (double x : a)
    for (double y : b) {
      wf.push_back(static_cast<float>(x > y ? x - y : 7));
      wi.push_back(x > y ? 0 : 1);
    }
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{3, 4}));
  EXPECT_EQ(Values(out[0]), wf);
  EXPECT_EQ(Values(out[1]), wi);
}

} // namespace
} // namespace kiln
