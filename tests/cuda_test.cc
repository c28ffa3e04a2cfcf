//===- cuda_test.cc - The cuda target, with and without a GPU -------------===//
//
// Part of Kiln. What runs everywhere: the cuda code's format, loading a
// cuda artifact where there is no GPU, and the GPU mapping itself run on
// the host (--target=cuda-on-cpu) against float64. What needs a GPU runs
// the same models there and prints "skipped: no CUDA device" elsewhere.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "graph/loader.h"
#include "runtime/artifact.h"
#include "runtime/cuda_code.h"
#include "runtime/cuda_device.h"
#include "runtime/npy.h"
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
using testing::RefArray;
using ::testing::StartsWith;

CudaCode SampleCode() {
  CudaCode code;
  code.chip = "sm_90";
  code.ptx = ".version 7.8\n.target sm_90\n";
  code.cubin = std::string("\x7f"
                           "ELF\0\1",
                           6);
  code.kernels = {{{"k0_add_0", 24, 24}},
                  {},
                  {{"k2_sum_0", 1, 1}, {"k2_sum_1", 1000, 256}}};
  // A library matmul: relu(A B + bias), B stored transposed.
  CudaMatmul mm;
  mm.batch = 2;
  mm.m = 3;
  mm.n = 5;
  mm.k = 4;
  mm.a = {1, 0, 12, 4, 1};
  mm.b = {2, 8, 20, 1, 4};
  mm.c = {0, 0, 15, 5, 1};
  mm.bias = {3, 2, 0, 0, 1};
  mm.relu = true;
  code.kernels[1].push_back({"k1_mm_0_matmul", 0, 1, mm});
  return code;
}

TEST(CudaCodeTest, RoundTrips) {
  CudaCode code = SampleCode();
  absl::StatusOr<CudaCode> back = ParseCudaCode(SerializeCudaCode(code));
  ASSERT_TRUE(back.ok()) << back.status();
  EXPECT_EQ(back->chip, "sm_90");
  EXPECT_EQ(back->ptx, code.ptx);
  EXPECT_EQ(back->cubin, code.cubin);
  ASSERT_EQ(back->kernels.size(), 3u);
  ASSERT_EQ(back->kernels[1].size(), 1u);
  const std::optional<CudaMatmul> &mm = back->kernels[1][0].matmul;
  ASSERT_TRUE(mm.has_value());
  EXPECT_EQ(back->kernels[1][0].function, "k1_mm_0_matmul");
  EXPECT_EQ(mm->batch, 2);
  EXPECT_EQ(mm->m, 3);
  EXPECT_EQ(mm->n, 5);
  EXPECT_EQ(mm->k, 4);
  EXPECT_EQ(mm->b.buffer, 2);
  EXPECT_EQ(mm->b.offset, 8);
  EXPECT_EQ(mm->b.batch, 20);
  EXPECT_EQ(mm->b.rows, 1);
  EXPECT_EQ(mm->b.cols, 4);
  EXPECT_EQ(mm->bias.buffer, 3);
  EXPECT_EQ(mm->bias.offset, 2);
  EXPECT_TRUE(mm->relu);
  EXPECT_FALSE(mm->accumulate);
  EXPECT_FALSE(back->kernels[0][0].matmul.has_value());
  ASSERT_EQ(back->kernels[2].size(), 2u);
  EXPECT_EQ(back->kernels[2][1].function, "k2_sum_1");
  EXPECT_EQ(back->kernels[2][1].threads, 1000);
  EXPECT_EQ(back->kernels[2][1].block, 256);
}

TEST(CudaCodeTest, CorruptBytesAreRefused) {
  std::string bytes = SerializeCudaCode(SampleCode());
  // Every truncation, a wrong magic, a wrong version, bytes past the end.
  for (size_t n = 0; n < bytes.size(); ++n) {
    absl::StatusOr<CudaCode> code = ParseCudaCode(bytes.substr(0, n));
    ASSERT_FALSE(code.ok()) << n;
    EXPECT_EQ(code.status().code(), absl::StatusCode::kDataLoss);
  }
  std::string magic = bytes;
  magic[0] = 'X';
  EXPECT_THAT(std::string(ParseCudaCode(magic).status().message()),
              HasSubstr("does not start with KILNCUDA"));
  std::string version = bytes;
  version[8] = 9;
  EXPECT_THAT(std::string(ParseCudaCode(version).status().message()),
              HasSubstr("format version 9"));
  EXPECT_THAT(std::string(ParseCudaCode(bytes + "x").status().message()),
              HasSubstr("bytes past its end"));
  // A block of 0 threads cannot be launched.
  CudaCode bad = SampleCode();
  bad.kernels[0][0].block = 0;
  EXPECT_THAT(
      std::string(ParseCudaCode(SerializeCudaCode(bad)).status().message()),
      HasSubstr("bad launch of 'k0_add_0'"));
  // A matrix contiguous neither along its rows nor its columns is no
  // BLAS operand.
  CudaCode strided = SampleCode();
  strided.kernels[1][0].matmul->a.cols = 2;
  EXPECT_THAT(
      std::string(ParseCudaCode(SerializeCudaCode(strided)).status().message()),
      HasSubstr("bad matmul 'k1_mm_0_matmul'"));
}

/// y = softmax(relu(x W + b)) over rows, then the mean of y's rows through
/// a ReduceMean: elementwise, matmul, row reductions and a keepdims
/// reduction, each a different launch pattern.
GraphDef MixedGraph() {
  std::string w = "float_val: [";
  for (int i = 0; i < 6 * 5; ++i)
    w += (i ? ", " : "") + std::to_string(0.1 * ((i * 7) % 11) - 0.5);
  w += "]";
  return ParseGraph(
      PlaceholderNode("x", "DT_FLOAT", {4, 6}) +
      "node { name: 'w' op: 'Constant' attr { key: 'value' value { tensor {"
      " dtype: DT_FLOAT shape { dim: 6 dim: 5 } " +
      w +
      " } } } }\n"
      "node { name: 'b' op: 'Constant' attr { key: 'value' value { tensor {"
      " dtype: DT_FLOAT shape { dim: 5 } float_val: [0.1, -0.2, 0.3, 0, 0.05]"
      " } } } }\n" +
      OpNode("mm", "MatMul", {"x", "w"}) +
      OpNode("biased", "Add", {"mm", "b"}) +
      OpNode("relu", "Relu", {"biased"}) +
      OpNode("y", "Softmax", {"relu"}, "attr { key: 'axis' value { i: 1 } }") +
      OpNode("mean", "ReduceMean", {"y"},
             "attr { key: 'axes' value { list { i: 0 } } }"));
}

/// MixedGraph in float64.
std::pair<RefArray, RefArray> MixedReference(const GraphDef &graph,
                                             const std::vector<double> &x) {
  std::vector<double> w, b;
  for (const NodeDef &node : graph.node()) {
    if (node.op() != "Constant")
      continue;
    const TensorProto &t = node.attr().at("value").tensor();
    (node.name() == "w" ? w : b)
        .assign(t.float_val().begin(), t.float_val().end());
  }
  RefArray y{{4, 5}, {}}, mean{{1, 5}, std::vector<double>(5, 0.0)};
  for (int i = 0; i < 4; ++i) {
    double row[5], max = -1e300, sum = 0;
    for (int j = 0; j < 5; ++j) {
      double acc = b[j];
      for (int k = 0; k < 6; ++k)
        acc += x[i * 6 + k] * w[k * 5 + j];
      row[j] = std::max(acc, 0.0);
      max = std::max(max, row[j]);
    }
    for (double &v : row)
      sum += (v = std::exp(v - max));
    for (int j = 0; j < 5; ++j) {
      y.data.push_back(row[j] / sum);
      mean.data[j] += row[j] / sum / 4;
    }
  }
  return {y, mean};
}

/// Runs MixedGraph compiled for `target` and checks it against float64.
void ExpectMixedGraphRight(const std::string &target) {
  GraphDef graph = MixedGraph();
  SessionOptions options;
  options.pipeline.target = target;
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(graph, options);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<double> values = testing::RandomValues(24, 7, -2, 2);
  Tensor x = *Tensor::FromVector<float>({4, 6}, {values.begin(), values.end()});
  std::vector<Tensor> outputs;
  absl::Status s = (*session)->Run({{"x", x}}, {"y", "mean"}, &outputs);
  ASSERT_TRUE(s.ok()) << s;
  auto [y, mean] = MixedReference(graph, testing::ToDoubles(x));
  testing::ExpectClose(outputs[0], y);
  testing::ExpectClose(outputs[1], mean);
}

TEST(CudaOnCpuTest, MixedGraphMatchesFloat64) {
  ExpectMixedGraphRight("cuda-on-cpu");
}

TEST(CudaOnCpuTest, ControlFlowExampleMatchesTheCpuTarget) {
  // The example's loop and branch run as one-thread launches around the
  // parallel ones.
  absl::StatusOr<GraphDef> graph = LoadGraphDef("examples/control_flow.pbtxt");
  ASSERT_TRUE(graph.ok()) << graph.status();
  std::vector<double> values = testing::RandomValues(4, 3, 0, 4);
  Tensor x = *Tensor::FromVector<float>({4}, {values.begin(), values.end()});
  Tensor limit = *Tensor::FromVector<float>({}, {1.5f});
  std::vector<std::vector<Tensor>> results;
  for (const char *target : {"cpu", "cuda-on-cpu"}) {
    SessionOptions options;
    options.pipeline.target = target;
    absl::StatusOr<std::unique_ptr<Session>> session =
        Session::Create(*graph, options);
    ASSERT_TRUE(session.ok()) << target << ": " << session.status();
    results.emplace_back();
    absl::Status s =
        (*session)->Run({{"x", x}, {"limit", limit}}, &results.back());
    ASSERT_TRUE(s.ok()) << target << ": " << s;
  }
  ASSERT_EQ(results[0].size(), results[1].size());
  for (size_t i = 0; i < results[0].size(); ++i)
    testing::ExpectClose(
        results[1][i],
        RefArray{results[0][i].shape(), testing::ToDoubles(results[0][i])});
}

TEST(CudaTargetTest, ArtifactWithoutAGpuSaysSo) {
  // The artifact builds anywhere; loading it needs a GPU.
  SessionOptions options;
  options.pipeline.target = "cuda";
  absl::StatusOr<std::unique_ptr<Session>> session =
      Session::Create(MixedGraph(), options);
  ASSERT_TRUE(session.ok()) << session.status();
  std::vector<double> values = testing::RandomValues(24, 7, -2, 2);
  Tensor x = *Tensor::FromVector<float>({4, 6}, {values.begin(), values.end()});
  std::vector<Tensor> outputs;
  absl::Status s = (*session)->Run({{"x", x}}, {"y"}, &outputs);
  if (CudaAvailable().ok()) {
    EXPECT_TRUE(s.ok()) << s;
    return;
  }
  EXPECT_EQ(s.code(), absl::StatusCode::kUnavailable) << s;
  EXPECT_THAT(std::string(s.message()), HasSubstr("no CUDA device"));
  EXPECT_THAT(std::string(s.message()), HasSubstr("--target=cuda"));
}

TEST(CudaGpuTest, MixedGraphMatchesFloat64OnTheGpu) {
  if (absl::Status s = CudaAvailable(); !s.ok())
    GTEST_SKIP() << "skipped: " << s.message();
  ExpectMixedGraphRight("cuda");
}

} // namespace
} // namespace kiln
