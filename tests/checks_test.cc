//===- checks_test.cc - Indices and divisors checked at run time ----------===//
//
// Part of Kiln. A fed index out of range or an integer divisor of 0 fails
// the run with the node, the value and the valid range named
// (kiln-insert-checks, Executable::CheckRun), through the Session, an
// artifact written and loaded back, and on several threads; a constant one
// is refused at compile time. Good runs after a bad one are unaffected.
//
//===----------------------------------------------------------------------===//
#include <cstring>

#include "codegen/Compile.h"
#include "graph/importer.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/IR/MLIRContext.h"
#include "runtime/artifact.h"
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

/// data f32[5,3], idx i64[4]; y = Relu(Gather(data, idx, axis 0)).
std::string GatherGraph() {
  return PlaceholderNode("data", "DT_FLOAT", {5, 3}) +
         PlaceholderNode("idx", "DT_INT64", {4}) +
         OpNode("g", "Gather", {"data", "idx"}) + OpNode("y", "Relu", {"g"});
}

Tensor Data() {
  std::vector<float> v(15);
  for (int i = 0; i < 15; ++i)
    v[i] = static_cast<float>(i);
  return *Tensor::FromVector<float>({5, 3}, v);
}

Tensor Indices(std::vector<int64_t> v) {
  return *Tensor::FromVector<int64_t>({static_cast<int64_t>(v.size())}, v);
}

absl::Status RunGather(Session &session, const Tensor &indices,
                       std::vector<Tensor> *out) {
  return session.Run({{"data", Data()}, {"idx", indices}}, {"y"}, out);
}

TEST(ChecksTest, GatherIndexOutOfRangeFailsTheRun) {
  for (int level : {0, 2}) {
    for (int threads : {1, 2}) {
      SCOPED_TRACE(::testing::Message()
                   << "-O" << level << ", " << threads << " threads");
      SessionOptions options;
      options.pipeline.opt_level = level;
      options.threads = threads;
      auto session = Session::Create(ParseGraph(GatherGraph()), options);
      ASSERT_TRUE(session.ok()) << session.status();
      std::vector<Tensor> out;
      absl::Status s = RunGather(**session, Indices({0, 7, -6, 2}), &out);
      EXPECT_EQ(s.code(), absl::StatusCode::kOutOfRange);
      EXPECT_EQ(std::string(s.message()),
                "node 'g' (Gather): index 7 is out of range [-5, 4] of axis 0 "
                "(size 5); 2 values broke this rule");
      s = RunGather(**session, Indices({0, 1, 5, 2}), &out);
      EXPECT_EQ(std::string(s.message()),
                "node 'g' (Gather): index 5 is out of range [-5, 4] of axis 0 "
                "(size 5)");
      s = RunGather(**session, Indices({0, 1, -6, 2}), &out);
      EXPECT_THAT(std::string(s.message()), HasSubstr("index -6 is out"));
      // The arena of the failed runs is reused; a good run is unaffected.
      ASSERT_TRUE(RunGather(**session, Indices({4, -5, -1, 2}), &out).ok());
      ASSERT_EQ(out.size(), 1u);
      std::vector<float> want = {12, 13, 14, 0, 1, 2, 12, 13, 14, 6, 7, 8};
      EXPECT_EQ(
          std::vector<float>(out[0].data<float>(), out[0].data<float>() + 12),
          want);
    }
  }
}

TEST(ChecksTest, IntegerDivisionByZeroFailsTheRun) {
  std::string graph = PlaceholderNode("a", "DT_INT32", {4}) +
                      PlaceholderNode("b", "DT_INT32", {4}) +
                      OpNode("q", "Div", {"a", "b"});
  auto session = Session::Create(ParseGraph(graph));
  ASSERT_TRUE(session.ok()) << session.status();
  Tensor a = *Tensor::FromVector<int32_t>({4}, {7, -7, 9, 1});
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run(
      {{"a", a}, {"b", *Tensor::FromVector<int32_t>({4}, {2, 0, 3, 1})}}, {"q"},
      &out);
  EXPECT_EQ(std::string(s.message()),
            "node 'q' (Div): integer division by zero");
  ASSERT_TRUE(
      (*session)
          ->Run({{"a", a},
                 {"b", *Tensor::FromVector<int32_t>({4}, {2, -2, 3, 1})}},
                {"q"}, &out)
          .ok());
  EXPECT_EQ(
      std::vector<int32_t>(out[0].data<int32_t>(), out[0].data<int32_t>() + 4),
      (std::vector<int32_t>{3, 3, 3, 1}));

  // Floats divide by 0 as IEEE 754 says: no check.
  std::string floats = PlaceholderNode("a", "DT_FLOAT", {2}) +
                       PlaceholderNode("b", "DT_FLOAT", {2}) +
                       OpNode("q", "Div", {"a", "b"});
  auto fs = Session::Create(ParseGraph(floats));
  ASSERT_TRUE(fs.ok());
  Tensor fa = *Tensor::FromVector<float>({2}, {1, -1});
  Tensor fb = *Tensor::FromVector<float>({2}, {0, 0});
  ASSERT_TRUE((*fs)->Run({{"a", fa}, {"b", fb}}, {"q"}, &out).ok());
  EXPECT_EQ(out[0].data<float>()[0], std::numeric_limits<float>::infinity());
}

TEST(ChecksTest, EveryIndexedOpAndModCheck) {
  struct Case {
    std::string graph;
    std::vector<std::pair<std::string, Tensor>> feeds;
    std::string error;
  };
  Tensor d = *Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  Tensor u = *Tensor::FromVector<float>({2, 1}, {7, 8});
  Tensor one = *Tensor::FromVector<float>({1, 3}, {9, 9, 9});
  auto graphWith = [](const std::string &op, std::vector<std::string> inputs,
                      std::vector<int64_t> indexShape, bool updates,
                      std::vector<int64_t> updateShape = {}) {
    std::string text = PlaceholderNode("d", "DT_FLOAT", {2, 3}) +
                       PlaceholderNode("i", "DT_INT64", indexShape);
    if (updates)
      text += PlaceholderNode("u", "DT_FLOAT", updateShape);
    return text +
           OpNode("y", op, inputs, "attr { key: \"axis\" value { i: 1 } }");
  };
  std::vector<Case> cases = {
      {graphWith("GatherElements", {"d", "i"}, {2, 1}, false),
       {{"i", *Tensor::FromVector<int64_t>({2, 1}, {1, 3})}},
       "node 'y' (GatherElements): index 3 is out of range [-3, 2] of axis 1 "
       "(size 3)"},
      {graphWith("ScatterElements", {"d", "i", "u"}, {2, 1}, true, {2, 1}),
       {{"i", *Tensor::FromVector<int64_t>({2, 1}, {-4, 0})}, {"u", u}},
       "node 'y' (ScatterElements): index -4 is out of range [-3, 2] of axis "
       "1 (size 3)"},
      {PlaceholderNode("d", "DT_FLOAT", {2, 3}) +
           PlaceholderNode("i", "DT_INT64", {1, 2}) +
           OpNode("y", "GatherND", {"d", "i"}),
       {{"i", *Tensor::FromVector<int64_t>({1, 2}, {1, 5})}},
       "node 'y' (GatherND): index 5 is out of range for its axis (the index "
       "tuples address axes 0 to 1 of sizes [2, 3]; each index lies in "
       "[-size, size - 1])"},
      {PlaceholderNode("d", "DT_FLOAT", {2, 3}) +
           PlaceholderNode("i", "DT_INT64", {1, 1}) +
           PlaceholderNode("u", "DT_FLOAT", {1, 3}) +
           OpNode("y", "ScatterND", {"d", "i", "u"}),
       {{"i", *Tensor::FromVector<int64_t>({1, 1}, {2})}, {"u", one}},
       "node 'y' (ScatterND): index 2 is out of range for its axis (the index "
       "tuples address axes 0 to 0 of sizes [2]; each index lies in [-size, "
       "size - 1])"},
      {PlaceholderNode("a", "DT_INT64", {2}) +
           PlaceholderNode("b", "DT_INT64", {2}) +
           OpNode("y", "Mod", {"a", "b"}),
       {{"a", *Tensor::FromVector<int64_t>({2}, {5, 6})},
        {"b", *Tensor::FromVector<int64_t>({2}, {0, 4})}},
       "node 'y' (Mod): integer division by zero"},
  };
  for (Case &c : cases) {
    SCOPED_TRACE(c.error);
    auto session = Session::Create(ParseGraph(c.graph));
    ASSERT_TRUE(session.ok()) << session.status();
    Session::Feeds feeds;
    if (c.graph.find("name: \"d\"") != std::string::npos)
      feeds.emplace_back("d", d);
    for (auto &[name, t] : c.feeds)
      feeds.emplace_back(name, t);
    std::vector<Tensor> out;
    absl::Status s = (*session)->Run(feeds, {"y"}, &out);
    EXPECT_EQ(std::string(s.message()), c.error);
  }
}

TEST(ChecksTest, ConstantDivisorOfZeroIsACompileError) {
  std::string graph =
      PlaceholderNode("a", "DT_INT32", {3}) +
      "node { name: \"z\" op: \"Constant\" attr { key: \"value\" value { "
      "tensor { dtype: DT_INT32 shape { dim: 3 } int_val: [1, 0, 2] } } } }\n" +
      OpNode("q", "Div", {"a", "z"});
  auto session = Session::Create(ParseGraph(graph));
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<Tensor> out;
  absl::Status s = (*session)->Run(
      {{"a", *Tensor::FromVector<int32_t>({3}, {1, 2, 3})}}, {"q"}, &out);
  EXPECT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.message()),
              HasSubstr("node 'q' (Div): integer division by zero"));
}

TEST(ChecksTest, DisablingThePassLeavesTheDocumentedFallback) {
  SessionOptions options;
  options.pipeline.disabled_passes.insert("kiln-insert-checks");
  auto session = Session::Create(ParseGraph(GatherGraph()), options);
  ASSERT_TRUE(session.ok());
  std::vector<Tensor> out;
  ASSERT_TRUE(RunGather(**session, Indices({1, 9, 0, 0}), &out).ok());
  // Index 9 reads index 0 (docs/semantics.md).
  EXPECT_EQ(out[0].data<float>()[3], 0.0f);
  EXPECT_EQ(out[0].data<float>()[0], 3.0f);
}

TEST(ChecksTest, ArtifactKeepsItsChecks) {
  mlir::DialectRegistry registry;
  RegisterPipelineDialects(registry);
  mlir::MLIRContext context(registry, mlir::MLIRContext::Threading::DISABLED);
  absl::StatusOr<ImportedGraph> imported =
      ImportGraphDef(ParseGraph(GatherGraph()), {"y"}, context, {});
  ASSERT_TRUE(imported.ok()) << imported.status();
  absl::StatusOr<Artifact> artifact = CompileToArtifact(
      *imported->module, Signature{imported->feeds, imported->fetches}, {});
  ASSERT_TRUE(artifact.ok()) << artifact.status();
  ASSERT_EQ(artifact->plan.checks.size(), 1u);
  std::string bytes = SerializeArtifact(*artifact);
  AlignedBytes aligned(bytes.size());
  std::memcpy(aligned.data(), bytes.data(), bytes.size());
  absl::StatusOr<Artifact> parsed = ParseArtifact(std::move(aligned));
  ASSERT_TRUE(parsed.ok()) << parsed.status();
  ASSERT_EQ(parsed->plan.checks.size(), 1u);
  EXPECT_EQ(parsed->plan.checks[0].offset, artifact->plan.checks[0].offset);
  EXPECT_EQ(parsed->plan.checks[0].message, artifact->plan.checks[0].message);
  absl::StatusOr<std::unique_ptr<Executable>> executable =
      LoadArtifact(*std::move(parsed));
  ASSERT_TRUE(executable.ok()) << executable.status();
  Tensor data = Data(), bad = Indices({3, 3, 3, -9});
  std::vector<Tensor> out;
  absl::Status s = (*executable)->Run({{"data", &data}, {"idx", &bad}}, &out);
  EXPECT_EQ(std::string(s.message()),
            "node 'g' (Gather): index -9 is out of range [-5, 4] of axis 0 "
            "(size 5)");
  EXPECT_THAT((*executable)->PlanString(),
              HasSubstr(": node 'g' (Gather): index {value} is out of range"));
}

} // namespace
} // namespace kiln
