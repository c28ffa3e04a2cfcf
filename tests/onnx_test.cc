//===- onnx_test.cc - ONNX import: results and errors ---------------------===//
//
// Part of Kiln. Models are built here with ONNX's protobuf API; expected
// values come from float64 computations in the test.
//
//===----------------------------------------------------------------------===//
#include <cmath>
#include <fstream>
#include <limits>

#include "graph/onnx_importer.h"
#include "graph/onnx_registry.h"
#include "graph/op_table.h"
#include "graph/source.h"
#include "onnx/onnx_pb.h"
#include "session/session.h"
#include "tests/test_util.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;

std::string TempDir() {
  const char *dir = std::getenv("TEST_TMPDIR");
  return dir ? dir : "/tmp";
}

void AddInput(onnx::GraphProto *g, const std::string &name, int dtype,
              std::vector<int64_t> dims, bool dynamic_first = false) {
  onnx::ValueInfoProto *v = g->add_input();
  v->set_name(name);
  auto *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(dtype);
  for (size_t i = 0; i < dims.size(); ++i) {
    auto *d = t->mutable_shape()->add_dim();
    if (i == 0 && dynamic_first)
      d->set_dim_param("batch");
    else
      d->set_dim_value(dims[i]);
  }
}

/// An output of known rank; its dimensions are left to inference.
void AddOutput(onnx::GraphProto *g, const std::string &name, int rank,
               int dtype = onnx::TensorProto::FLOAT) {
  onnx::ValueInfoProto *v = g->add_output();
  v->set_name(name);
  auto *t = v->mutable_type()->mutable_tensor_type();
  t->set_elem_type(dtype);
  for (int i = 0; i < rank; ++i)
    t->mutable_shape()->add_dim()->set_dim_param("d" + std::to_string(i));
}

onnx::NodeProto *AddNode(onnx::GraphProto *g, const std::string &op,
                         std::vector<std::string> inputs,
                         std::vector<std::string> outputs,
                         const std::string &name = "") {
  onnx::NodeProto *n = g->add_node();
  n->set_op_type(op);
  n->set_name(name);
  for (const std::string &i : inputs)
    n->add_input(i);
  for (const std::string &o : outputs)
    n->add_output(o);
  return n;
}

onnx::TensorProto *AddInitializer(onnx::GraphProto *g, const std::string &name,
                                  std::vector<int64_t> dims,
                                  const std::vector<float> &values) {
  onnx::TensorProto *t = g->add_initializer();
  t->set_name(name);
  t->set_data_type(onnx::TensorProto::FLOAT);
  for (int64_t d : dims)
    t->add_dims(d);
  for (float v : values)
    t->add_float_data(v);
  return t;
}

/// `v` rounded to float32 (the values a model holds), in float64.
testing::RefArray Rounded(std::vector<int64_t> shape,
                          const std::vector<double> &v) {
  testing::RefArray a{std::move(shape), {}};
  for (double d : v)
    a.data.push_back(float(d));
  return a;
}

onnx::ModelProto NewModel(int opset = 13) {
  onnx::ModelProto m;
  m.set_ir_version(7);
  m.add_opset_import()->set_version(opset);
  m.mutable_graph()->set_name("test");
  return m;
}

absl::StatusOr<std::unique_ptr<Session>> Load(const onnx::ModelProto &m,
                                              const std::string &dir = ".") {
  absl::StatusOr<std::unique_ptr<GraphSource>> source =
      ParseOnnxSource(m.SerializeAsString(), dir, "model.onnx");
  if (!source.ok())
    return source.status();
  return Session::Create(*std::move(source));
}

TEST(OnnxTest, GemmReluSoftmaxMatchesFloat64) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  std::vector<double> w = testing::RandomValues(12, 1),
                      b = testing::RandomValues(4, 2);
  AddInitializer(g, "w", {4, 3}, {w.begin(), w.end()});
  AddInitializer(g, "b", {4}, {b.begin(), b.end()});
  onnx::NodeProto *gemm = AddNode(g, "Gemm", {"x", "w", "b"}, {"h"});
  onnx::AttributeProto *trans = gemm->add_attribute();
  trans->set_name("transB");
  trans->set_type(onnx::AttributeProto::INT);
  trans->set_i(1);
  AddNode(g, "Relu", {"h"}, {"r"});
  AddNode(g, "Softmax", {"r"}, {"y"});
  AddOutput(g, "y", 2);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<double> xs = testing::RandomValues(6, 3);
  Tensor x = *Tensor::FromVector<float>({2, 3}, {xs.begin(), xs.end()});
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
  testing::RefArray expected{{2, 4}, {}};
  for (int i = 0; i < 2; ++i) {
    double row[4], sum = 0, max = -1e300;
    for (int j = 0; j < 4; ++j) {
      double acc = float(b[j]);
      for (int k = 0; k < 3; ++k)
        acc += double(float(xs[i * 3 + k])) * float(w[j * 3 + k]);
      row[j] = std::max(acc, 0.0);
      max = std::max(max, row[j]);
    }
    for (double &v : row)
      sum += (v = std::exp(v - max));
    for (double v : row)
      expected.data.push_back(v / sum);
  }
  testing::ExpectClose(out[0], expected, 1e-5, 1e-6);
}

// A convolution whose output rows are narrow (5 wide) stores its constant
// filter channels last and vectorizes along the output channels, which C
// is not contiguous along; its 192 input channels go in three chunks. With
// one image, the partial sums between chunks go to a buffer apart from C;
// with two, each image's stay in C (the buffer would be shared). Against
// float64, with a bias and the Relu fused after it.
TEST(OnnxTest, NarrowChunkedConvolutionMatchesFloat64) {
  constexpr int64_t kC = 192, kK = 40, kS = 5;
  for (int64_t batch : {1, 2}) {
    SCOPED_TRACE(std::to_string(batch) + " images");
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {batch, kC, kS, kS});
    std::vector<double> w = testing::RandomValues(kK * kC * 9, 11, -0.2, 0.2),
                        b = testing::RandomValues(kK, 12),
                        xs = testing::RandomValues(batch * kC * kS * kS, 13);
    AddInitializer(g, "w", {kK, kC, 3, 3}, {w.begin(), w.end()});
    AddInitializer(g, "b", {kK}, {b.begin(), b.end()});
    onnx::NodeProto *conv = AddNode(g, "Conv", {"x", "w", "b"}, {"c"});
    onnx::AttributeProto *pads = conv->add_attribute();
    pads->set_name("pads");
    pads->set_type(onnx::AttributeProto::INTS);
    for (int i = 0; i < 4; ++i)
      pads->add_ints(1);
    AddNode(g, "Relu", {"c"}, {"y"});
    AddOutput(g, "y", 4);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    Tensor x =
        *Tensor::FromVector<float>({batch, kC, kS, kS}, {xs.begin(), xs.end()});
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
    testing::RefArray bias = Rounded({kK}, b);
    testing::RefArray expected = testing::RefConv2D(
        Rounded({batch, kC, kS, kS}, xs), Rounded({kK, kC, 3, 3}, w), bias.data,
        /*pad=*/1, /*relu=*/true);
    testing::ExpectClose(out[0], expected, 1e-5, 1e-5);
  }
}

// Dropout's mask is of the input's type (ones) before opset 10, bool from
// opset 10 on; in inference the output is the input.
TEST(OnnxTest, DropoutMaskTypeFollowsTheOpset) {
  for (int opset : {7, 13}) {
    SCOPED_TRACE(opset);
    onnx::ModelProto m = NewModel(opset);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 2});
    AddNode(g, "Dropout", {"x"}, {"y", "mask"});
    AddOutput(g, "y", 2);
    AddOutput(g, "mask", 2,
              opset < 10 ? onnx::TensorProto::FLOAT : onnx::TensorProto::BOOL);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    Tensor x = *Tensor::FromVector<float>({2, 2}, {1, -2, 3, -4});
    ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
    ASSERT_EQ(out.size(), 2u);
    EXPECT_EQ(out[0].data<float>()[3], -4.0f);
    EXPECT_EQ(out[1].TypeString(), opset < 10 ? "f32[2,2]" : "bool[2,2]");
    if (opset < 10)
      EXPECT_EQ(out[1].data<float>()[2], 1.0f);
    else
      EXPECT_TRUE(out[1].data<bool>()[2]);
  }
}

TEST(OnnxTest, ListsEveryUnsupportedNodeAtOnce) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {4});
  AddNode(g, "Relu", {"x"}, {"a"});
  AddNode(g, "GlobalLpPool", {"a"}, {"b"}, "lp");
  AddNode(g, "Relu", {"b"}, {"c"});
  AddNode(g, "Unique", {"c"}, {"y"});
  AddOutput(g, "y", 1);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kUnimplemented);
  EXPECT_THAT(std::string(s.status().message()),
              AllOf(HasSubstr("2 nodes cannot be compiled"),
                    HasSubstr("node 'lp' (GlobalLpPool, opset 13): operator "
                              "not supported"),
                    HasSubstr("node 'Unique_3' (Unique, opset 13): operator "
                              "not supported (outside Kiln's targets: its "
                              "output's shape depends on the values of its "
                              "inputs")));
}

// The function ops built from kiln ops refuse what their forms do not
// cover, naming the node: IsInf of integers, Xor's pre-opset-7 broadcast.
TEST(OnnxTest, CompositeOpsNameWhatTheyRefuse) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "i", onnx::TensorProto::INT32, {3});
  AddNode(g, "IsInf", {"i"}, {"y"}, "inf");
  AddOutput(g, "y", 1, onnx::TensorProto::BOOL);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("input must be a floating-point tensor"));
  EXPECT_THAT(std::string(s.status().message()), HasSubstr("'inf'"));

  onnx::ModelProto legacy = NewModel(6);
  g = legacy.mutable_graph();
  AddInput(g, "a", onnx::TensorProto::BOOL, {2, 3});
  AddInput(g, "b", onnx::TensorProto::BOOL, {3});
  onnx::NodeProto *x = AddNode(g, "Xor", {"a", "b"}, {"y"}, "xor");
  onnx::AttributeProto *broadcast = x->add_attribute();
  broadcast->set_name("broadcast");
  broadcast->set_type(onnx::AttributeProto::INT);
  broadcast->set_i(1);
  AddOutput(g, "y", 2, onnx::TensorProto::BOOL);
  s = Load(legacy);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              AllOf(HasSubstr("'xor'"),
                    HasSubstr("the legacy 'broadcast' attribute (opsets "
                              "before 7)")));

  // DFT's signal is floating-point only (an int32 one crashed the importer).
  onnx::ModelProto dft = NewModel(17);
  g = dft.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::INT32, {1, 8, 1});
  AddNode(g, "DFT", {"x"}, {"y"}, "dft");
  AddOutput(g, "y", 3, onnx::TensorProto::INT32);
  s = Load(dft);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              AllOf(HasSubstr("'dft'"),
                    HasSubstr("the signal must be a floating-point tensor")));
}

TEST(OnnxTest, UnknownOpSuggestsTheNearestKnownOne) {
  // Opset 18, past libonnx's checker, which refuses unknown ops itself.
  onnx::ModelProto m = NewModel(18);
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {4});
  AddNode(g, "ReduceMaxx", {"x"}, {"a"}, "typo");
  AddNode(g, "Frobnicate", {"a", "a"}, {"y"}, "far");
  AddOutput(g, "y", 1);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(
      std::string(s.status().message()),
      AllOf(HasSubstr("node 'typo' (ReduceMaxx, opset 18): operator "
                      "not supported; did you mean 'ReduceMax'?"),
            ::testing::EndsWith("node 'far' (Frobnicate, opset 18): operator "
                                "not supported")));
}

TEST(OnnxTest, UnsupportedInputTypesAreNamed) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  AddInput(g, "h", onnx::TensorProto::STRING, {3});
  AddNode(g, "Relu", {"x"}, {"y"});
  AddNode(g, "Identity", {"h"}, {"z"});
  AddOutput(g, "y", 2);
  AddOutput(g, "z", 1, onnx::TensorProto::STRING);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("input 'h': element type STRING is not supported"));
}

// dynamic_axes in torch.onnx.export: the batch is a dim_param. Each new
// fed shape compiles a specialization; a named dimension must agree across
// the inputs that share it, and the feeds are checked before compiling.
TEST(OnnxTest, SymbolicDimensionsTakeTheFedShapes) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {0, 3}, /*dynamic_first=*/true);
  AddInput(g, "s", onnx::TensorProto::FLOAT, {0, 1}, /*dynamic_first=*/true);
  AddInitializer(g, "W", {3, 2}, {1, 2, 3, 4, 5, 6});
  AddNode(g, "MatMul", {"x", "W"}, {"p"});
  AddNode(g, "Mul", {"p", "s"}, {"y"});
  AddOutput(g, "y", 2);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_TRUE(s.ok()) << s.status();
  for (int64_t batch : {1, 3, 64}) {
    std::vector<float> xs(batch * 3), ss(batch);
    for (int64_t i = 0; i < batch * 3; ++i)
      xs[i] = 0.5f * static_cast<float>(i % 7) - 1.0f;
    for (int64_t i = 0; i < batch; ++i)
      ss[i] = static_cast<float>(i + 1);
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{"x", *Tensor::FromVector<float>({batch, 3}, xs)},
                           {"s", *Tensor::FromVector<float>({batch, 1}, ss)}},
                          &out)
                    .ok());
    ASSERT_EQ(out[0].shape(), (std::vector<int64_t>{batch, 2}));
    for (int64_t r = 0; r < batch; ++r)
      for (int64_t c = 0; c < 2; ++c) {
        double want = 0;
        for (int64_t k = 0; k < 3; ++k)
          want += double(xs[r * 3 + k]) * double(1 + k * 2 + c);
        EXPECT_NEAR(out[0].data<float>()[r * 2 + c], want * ss[r], 1e-4)
            << "batch " << batch << " row " << r;
      }
  }
  std::vector<Tensor> out;
  absl::Status disagree = (*s)->Run(
      {{"x", *Tensor::FromVector<float>({2, 3}, std::vector<float>(6))},
       {"s", *Tensor::FromVector<float>({3, 1}, std::vector<float>(3))}},
      &out);
  EXPECT_THAT(std::string(disagree.message()),
              HasSubstr("feeds disagree on dimension 'batch': dimension 0 of "
                        "'x' is 2, dimension 0 of 's' is 3"));
  // A dynamic input that is also a graph output opens and runs.
  onnx::ModelProto pass = NewModel();
  AddInput(pass.mutable_graph(), "v", onnx::TensorProto::FLOAT, {0, 3},
           /*dynamic_first=*/true);
  AddNode(pass.mutable_graph(), "Relu", {"v"}, {"r"});
  AddOutput(pass.mutable_graph(), "r", 2);
  AddOutput(pass.mutable_graph(), "v", 2);
  absl::StatusOr<std::unique_ptr<Session>> p = Load(pass);
  ASSERT_TRUE(p.ok()) << p.status();
  std::vector<Tensor> both;
  ASSERT_TRUE((*p)->Run({{"v", *Tensor::FromVector<float>(
                                   {2, 3}, {1, -2, 3, -4, 5, -6})}},
                        &both)
                  .ok());
  EXPECT_EQ(both[0].data<float>()[1], 0.0f);
  EXPECT_EQ(both[1].data<float>()[1], -2.0f);
  absl::Status mistyped = (*s)->Run(
      {{"x", *Tensor::FromVector<float>({2, 4}, std::vector<float>(8))},
       {"s", *Tensor::FromVector<float>({2, 1}, std::vector<float>(2))}},
      &out);
  EXPECT_THAT(std::string(mistyped.message()),
              HasSubstr("feed 'x': expected f32[batch,3], got f32[2,4]"));
}

TEST(OnnxTest, ShapeErrorsNameTheNode) {
  onnx::ModelProto m = NewModel(18); // past libonnx: Kiln's inference only
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "a", onnx::TensorProto::FLOAT, {2, 3});
  AddInput(g, "b", onnx::TensorProto::FLOAT, {4, 5});
  AddNode(g, "MatMul", {"a", "b"}, {"y"}, "proj");
  AddOutput(g, "y", 2);
  // The inputs by name, and the flag that transposed one.
  AddInput(g, "h", onnx::TensorProto::FLOAT, {2, 8});
  AddInitializer(g, "W2", {8, 3}, std::vector<float>(24, 1.0f));
  onnx::NodeProto *gemm = AddNode(g, "Gemm", {"h", "W2"}, {"z"}, "logits");
  onnx::AttributeProto *trans = gemm->add_attribute();
  trans->set_name("transB");
  trans->set_type(onnx::AttributeProto::INT);
  trans->set_i(1);
  AddOutput(g, "z", 2);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_EQ(s.status().code(), absl::StatusCode::kInvalidArgument);
  // Each line names its node, then (once the ONNX importer passes op types
  // to its DiagnosticCollector) the op type in parentheses.
  std::string message(s.status().message());
  EXPECT_THAT(message, HasSubstr("node 'proj'"));
  EXPECT_THAT(message, HasSubstr(": inner dimensions differ: A 'a' [2,3] has 3 "
                                 "columns, but B 'b' [4,5] has 4 rows"));
  EXPECT_THAT(message, HasSubstr("node 'logits'"));
  EXPECT_THAT(message, HasSubstr(": inner dimensions differ: A 'h' [2,8] has 8 "
                                 "columns, but B 'W2' [8,3] transposed by "
                                 "transB is [3,8] with 3 rows (they would "
                                 "agree with transB=0)"));
}

TEST(OnnxTest, DeclaredTypesOfPassThroughOutputsAreChecked) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  onnx::ValueInfoProto *out = g->add_output();
  out->set_name("x");
  auto *t = out->mutable_type()->mutable_tensor_type();
  t->set_elem_type(onnx::TensorProto::FLOAT);
  t->mutable_shape()->add_dim()->set_dim_value(6);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("output 'x' is declared f32[6] but is f32[2,3]"));
}

TEST(OnnxTest, CheckerRefusesMalformedModels) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2});
  AddNode(g, "Relu", {"x", "x"}, {"y"}); // Relu takes one input
  AddOutput(g, "y", 1);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_FALSE(s.ok());
  EXPECT_THAT(std::string(s.status().message()),
              HasSubstr("ONNX's checker refuses the model"));
  EXPECT_FALSE(ParseOnnxSource("not a protobuf", ".", "junk.onnx").ok());
  // An empty file parses as a model with nothing in it: it is called what
  // it is, not a model without an opset.
  absl::StatusOr<std::unique_ptr<GraphSource>> empty =
      ParseOnnxSource("", ".", "empty.onnx");
  ASSERT_FALSE(empty.ok());
  EXPECT_EQ(empty.status().message(),
            "empty.onnx: empty file, not an ONNX model");
}

// Models the fuzzer (tests/fuzz/onnx_fuzzer.cc) found crashing libonnx's
// shape inference or a converter are refused with an error naming the node.
// ONNX's shape inference is not run any more.
TEST(OnnxTest, FuzzerFindingsAreRefusedCleanly) {
  auto status = [](const std::string &file) -> absl::Status {
    std::ifstream in("tests/fuzz/regressions/onnx/" + file, std::ios::binary);
    EXPECT_TRUE(in) << file;
    std::string bytes((std::istreambuf_iterator<char>(in)),
                      std::istreambuf_iterator<char>());
    absl::StatusOr<std::unique_ptr<GraphSource>> source =
        ParseOnnxSource(bytes, ".", file);
    if (!source.ok())
      return source.status();
    return Session::Create(*std::move(source)).status();
  };
  struct Case {
    const char *file, *message;
  } cases[] = {
      {"convinteger-rank-mismatch.onnx",
       "node 'ConvInteger_0' (ConvInteger): Conv expects X [N, C, "
       "spatial...] and W [M, C/group, kernel...] of the same rank"},
      {"gemm-scalar-input.onnx", "node 'Gemm_1' (Gemm): Gemm operands A and B "
                                 "must be 2-D, got [] and [3,4]"},
      {"gemm-constant-scalar.onnx", "node 'Gemm_1' (Gemm): Gemm operands A and "
                                    "B must be 2-D, got [2,3] and [1]"},
      {"gemm-no-outputs.onnx", "ONNX's checker refuses the model"},
      // A converter read a fifth input (and, above, an attribute) that was
      // not there; every node is now checked against ONNX's schema first.
      {"instancenorm-rank1.onnx",
       "node 'InstanceNormalization_0' (InstanceNormalization): input must be "
       "[N, C, ...]"},
      {"einsum-no-equation.onnx",
       "node 'Einsum_0' (Einsum): attribute 'equation' is required"},
      {"batchnorm-missing-input.onnx",
       "node 'BatchNormalization_0' (BatchNormalization): takes 5 to 5 "
       "inputs, got 4"},
      // Folding a Gather of constants read its float indices as integers
      // (an assertion in DenseElementsAttr::getValues): ops are now
      // verified before they are folded.
      {"gather-float-indices.onnx",
       "node 'Gather_0' (Gather): 'kiln.gather' op operand #1 must be ranked "
       "tensor "
       "of 32-bit signless integer or 64-bit signless integer values, but "
       "got 'tensor<4x3xf32>'"},
      // Opset 58 is past libonnx's checker: a Split with no outputs divided
      // by zero.
      {"split-no-outputs.onnx",
       "node 'Split_0' (Split): needs the 'split' input or the "
       "'num_outputs' attribute (opset 18)"},
      // A MaxPool of opset 51 without kernel_shape reached the op's type
      // inference, which read the missing attribute.
      {"maxpool-no-kernel-shape.onnx",
       "node 'MaxPool_0' (MaxPool): attribute 'kernel_shape' is required"},
      // The issue's example (written by hand): an untyped kernel_shape
      // and pads declared TYPE_PROTOS, both holding ints.
      {"maxpool-mistyped-attributes.onnx",
       "node 'pool' (MaxPool): attribute 'pads' is TYPE_PROTOS, expected "
       "INTS"},
      // Sizes past the element limit sized tables (one entry per output
      // position) before they were checked: bad_alloc, length_error, or a
      // blocksize whose square overflowed to 0 (SIGFPE). A new-user trial
      // and its fuzzer found them.
      {"resize-huge-sizes.onnx",
       "node 'rz' (Resize): the output, of shape [1,2,3,1099511627776], is "
       "larger than Kiln's limit of 2^32 elements"},
      {"resize-sizes-int64max.onnx", "(Resize): sizes[0] = 9.22337e+18 makes "
                                     "axis 0 too long"},
      {"resize-sizes-keep-aspect.onnx", "(Resize): sizes[1] = "},
      {"onehot-huge-depth.onnx",
       "node 'oh' (OneHot): depth 1e+10 makes the output larger than Kiln's "
       "limit of 2^32 elements"},
      {"dft-huge-length.onnx",
       "node 'dft' (DFT): a DFT of length 1000000000 needs a 1000000000 x "
       "1000000000 matrix of constants"},
      // A signal axis of length 0 with no dft_length sized the transform
      // with a division by zero (the fuzz smoke found it).
      {"dft-empty-signal.onnx",
       "node 'DFT_0' (DFT): the signal axis 1 is empty: a DFT needs at least "
       "one element"},
      {"depthtospace-blocksize-2pow32.onnx",
       "node 'n' (DepthToSpace): channels (4) are not a multiple of "
       "blocksize^2 (blocksize 4294967296)"},
  };
  for (const Case &c : cases) {
    absl::Status s = status(c.file);
    EXPECT_FALSE(s.ok()) << c.file;
    EXPECT_THAT(std::string(s.message()), HasSubstr(c.message)) << c.file;
    EXPECT_THAT(std::string(s.message()), Not(HasSubstr("see current")))
        << c.file;
  }
  // libonnx's shape inference crashed on this one, which is a valid model
  // (its output is its input): ONNX's inference is not run any more.
  EXPECT_TRUE(status("convtranspose-output-renamed.onnx").ok());
}

onnx::AttributeProto *AddAttr(onnx::NodeProto *n, const std::string &name,
                              onnx::AttributeProto::AttributeType type) {
  onnx::AttributeProto *a = n->add_attribute();
  a->set_name(name);
  if (type != onnx::AttributeProto::UNDEFINED)
    a->set_type(type);
  return a;
}

/// The error of importing and compiling `m`, which must fail.
std::string LoadError(const onnx::ModelProto &m) {
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  EXPECT_FALSE(s.ok());
  return s.ok() ? "" : std::string(s.status().message());
}

// Every attribute is read only as the type it declares. Opset 18 is past
// libonnx's checker, so Kiln's own checks are what stands here.
TEST(OnnxTest, MistypedAttributesAreRefused) {
  {
    onnx::ModelProto m = NewModel(18);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {1, 1, 4, 4});
    onnx::NodeProto *pool = AddNode(g, "MaxPool", {"x"}, {"y"}, "pool");
    // No type, and a type that is not what the field holds.
    AddAttr(pool, "kernel_shape", onnx::AttributeProto::UNDEFINED)->add_ints(2);
    AddAttr(pool, "pads", onnx::AttributeProto::TYPE_PROTOS)->add_ints(0);
    AddOutput(g, "y", 4);
    std::string e = LoadError(m);
    EXPECT_THAT(e, HasSubstr("node 'pool' (MaxPool): attribute "
                             "'kernel_shape' is UNDEFINED, expected INTS"));
    EXPECT_THAT(e, HasSubstr("node 'pool' (MaxPool): attribute 'pads' is "
                             "TYPE_PROTOS, expected INTS"));
  }
  struct Case {
    const char *op, *attr;
    onnx::AttributeProto::AttributeType type;
    const char *message;
  } cases[] = {
      // Read through the getters of a converter.
      {"Flatten", "axis", onnx::AttributeProto::FLOAT,
       "node 'n' (Flatten): attribute 'axis' is FLOAT, expected INT"},
      {"Cast", "to", onnx::AttributeProto::STRING,
       "node 'n' (Cast): attribute 'to' is STRING, expected INT"},
      {"Gelu", "approximate", onnx::AttributeProto::INTS,
       "node 'n' (Gelu): attribute 'approximate' is INTS, expected STRING"},
      {"LeakyRelu", "alpha", onnx::AttributeProto::TENSOR,
       "node 'n' (LeakyRelu): attribute 'alpha' is TENSOR, expected FLOAT"},
  };
  for (const Case &c : cases) {
    onnx::ModelProto m = NewModel(18);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    AddAttr(AddNode(g, c.op, {"x"}, {"y"}, "n"), c.attr, c.type);
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m), HasSubstr(c.message)) << c.op;
  }
  {
    // Constant's value is a TENSOR; here it claims INTS.
    onnx::ModelProto m = NewModel(18);
    onnx::GraphProto *g = m.mutable_graph();
    AddAttr(AddNode(g, "Constant", {}, {"y"}, "c"), "value",
            onnx::AttributeProto::INTS)
        ->add_ints(1);
    AddOutput(g, "y", 1, onnx::TensorProto::INT64);
    EXPECT_THAT(LoadError(m), HasSubstr("node 'c' (Constant): attribute "
                                        "'value' is INTS, expected TENSOR"));
  }
  {
    // Within libonnx's opsets its checker refuses the same.
    onnx::ModelProto m = NewModel(13);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    AddAttr(AddNode(g, "Flatten", {"x"}, {"y"}, "n"), "axis",
            onnx::AttributeProto::FLOAT);
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m), HasSubstr("ONNX's checker refuses the model"));
  }
  {
    // An attribute given twice.
    onnx::ModelProto m = NewModel(18);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    onnx::NodeProto *n = AddNode(g, "Flatten", {"x"}, {"y"}, "n");
    AddAttr(n, "axis", onnx::AttributeProto::INT)->set_i(1);
    AddAttr(n, "axis", onnx::AttributeProto::INT)->set_i(0);
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m),
                HasSubstr("node 'n' (Flatten): attribute 'axis' is given "
                          "twice"));
  }
}

// Constant inputs are read as numbers only after their element type is
// checked, and an op whose operands break its constraints is never folded.
// Pooling windows vectorized along the output row (vectors of 16 on
// AVX-512, 8 on AVX2, with a masked last block): max with stride 2 and a NaN
// in the input, average with stride 1 and count_include_pad 0, max with a
// dilation; against float64 loops.
TEST(OnnxTest, PoolingWindowsMatchFloat64) {
  struct Case {
    std::string op;
    std::vector<int64_t> x; // N, C, H, W
    int64_t k, stride, pad, dilation;
  };
  for (const Case &c :
       std::vector<Case>{{"MaxPool", {2, 5, 13, 45}, 3, 2, 1, 1},
                         {"AveragePool", {1, 3, 9, 37}, 3, 1, 1, 1},
                         {"MaxPool", {1, 2, 8, 20}, 2, 1, 0, 2}}) {
    SCOPED_TRACE(c.op + " stride " + std::to_string(c.stride));
    const int64_t n = c.x[0], ch = c.x[1], h = c.x[2], w = c.x[3];
    const int64_t span = c.dilation * (c.k - 1) + 1;
    const int64_t oh = (h + 2 * c.pad - span) / c.stride + 1,
                  ow = (w + 2 * c.pad - span) / c.stride + 1;
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, c.x);
    onnx::NodeProto *pool = AddNode(g, c.op, {"x"}, {"y"});
    auto ints = [&](const std::string &name, int64_t v, int count) {
      onnx::AttributeProto *a = AddAttr(pool, name, onnx::AttributeProto::INTS);
      for (int i = 0; i < count; ++i)
        a->add_ints(v);
    };
    ints("kernel_shape", c.k, 2);
    ints("strides", c.stride, 2);
    ints("pads", c.pad, 4);
    if (c.dilation > 1)
      ints("dilations", c.dilation, 2);
    AddOutput(g, "y", 4);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<double> xs = testing::RandomValues(n * ch * h * w, 21);
    std::vector<float> xf(xs.begin(), xs.end());
    xf[7] = std::nanf("");
    std::vector<Tensor> out;
    ASSERT_TRUE(
        (*s)->Run({{"x", *Tensor::FromVector<float>(c.x, xf)}}, &out).ok());
    testing::RefArray expected{{n, ch, oh, ow}, {}};
    const bool max = c.op == "MaxPool";
    for (int64_t i = 0; i < n * ch; ++i)
      for (int64_t y = 0; y < oh; ++y)
        for (int64_t x = 0; x < ow; ++x) {
          double acc = max ? -INFINITY : 0;
          int64_t count = 0;
          bool nan = false;
          for (int64_t ky = 0; ky < c.k; ++ky)
            for (int64_t kx = 0; kx < c.k; ++kx) {
              int64_t r = y * c.stride + ky * c.dilation - c.pad,
                      col = x * c.stride + kx * c.dilation - c.pad;
              if (r < 0 || r >= h || col < 0 || col >= w)
                continue;
              double v = xf[(i * h + r) * w + col];
              nan |= std::isnan(v);
              acc = max ? std::max(acc, v) : acc + v;
              ++count;
            }
          expected.data.push_back(nan ? NAN : max ? acc : acc / count);
        }
    testing::ExpectClose(out[0], expected, 1e-6, 1e-6);
  }
}

// Stride-2 convolutions against float64. Where the padded image's rows are
// of even length, kiln-cpu-deinterleave-strided-convolutions stores it as
// its even and odd columns and the convolution reads those (a 7x7 stem,
// a 3x3 over 16 channels with 2 images); an odd length (19) and a 1x1
// filter keep the strided reads.
TEST(OnnxTest, StrideTwoConvolutionsMatchFloat64) {
  struct Case {
    std::vector<int64_t> x; // N, C, H, W
    int64_t filters, k, pad;
  };
  for (const Case &c : std::vector<Case>{{{1, 3, 30, 30}, 16, 7, 3},
                                         {{2, 16, 20, 22}, 24, 3, 1},
                                         {{1, 8, 9, 17}, 8, 3, 1},
                                         {{1, 4, 12, 12}, 8, 1, 0}}) {
    const int64_t n = c.x[0], ch = c.x[1], h = c.x[2], w = c.x[3];
    SCOPED_TRACE(std::to_string(c.k) + "x" + std::to_string(c.k) + " over " +
                 std::to_string(w) + " columns");
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, c.x);
    std::vector<double> ws = testing::RandomValues(c.filters * ch * c.k * c.k,
                                                   31, -0.3, 0.3),
                        bs = testing::RandomValues(c.filters, 32),
                        xs = testing::RandomValues(n * ch * h * w, 33);
    AddInitializer(g, "w", {c.filters, ch, c.k, c.k}, {ws.begin(), ws.end()});
    AddInitializer(g, "b", {c.filters}, {bs.begin(), bs.end()});
    onnx::NodeProto *conv = AddNode(g, "Conv", {"x", "w", "b"}, {"c"});
    auto ints = [&](const std::string &name, int64_t v, int count) {
      onnx::AttributeProto *a = AddAttr(conv, name, onnx::AttributeProto::INTS);
      for (int i = 0; i < count; ++i)
        a->add_ints(v);
    };
    ints("strides", 2, 2);
    ints("pads", c.pad, 4);
    AddNode(g, "Relu", {"c"}, {"y"});
    AddOutput(g, "y", 4);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{"x", *Tensor::FromVector<float>(
                                     c.x, {xs.begin(), xs.end()})}},
                          &out)
                    .ok());
    testing::RefArray expected = testing::RefConv2D(
        Rounded(c.x, xs), Rounded({c.filters, ch, c.k, c.k}, ws),
        Rounded({c.filters}, bs).data, c.pad, /*relu=*/true, /*stride=*/2);
    testing::ExpectClose(out[0], expected, 1e-5, 1e-5);
  }
}

// Slices with steps near the ends of int64 take one element, as numpy does
// (the element count overflowed to 0), Range counts exactly there too; an
// Einsum output label may appear once (numpy refuses "ij->iij").
TEST(OnnxTest, SliceStepsAtTheInt64LimitsAndEinsumLabels) {
  constexpr int64_t kMax = std::numeric_limits<int64_t>::max(),
                    kMin = std::numeric_limits<int64_t>::min();
  struct Case {
    int64_t start, end, step;
    float value; // x[0, start] of x = [[0, 1, ..., 5], ...]
  };
  for (const Case &c : std::vector<Case>{
           {-1, kMin, kMin, 5}, {5, -100, -kMax, 5}, {0, kMax, kMax, 0}}) {
    SCOPED_TRACE(std::to_string(c.start) + ":" + std::to_string(c.end) + ":" +
                 std::to_string(c.step));
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 6});
    for (auto [name, v] :
         std::vector<std::pair<std::string, int64_t>>{{"starts", c.start},
                                                      {"ends", c.end},
                                                      {"axes", 1},
                                                      {"steps", c.step}}) {
      onnx::TensorProto *t = g->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_dims(1);
      t->add_int64_data(v);
    }
    AddNode(g, "Slice", {"x", "starts", "ends", "axes", "steps"}, {"y"});
    AddOutput(g, "y", 2);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<float> xs(12);
    for (int i = 0; i < 12; ++i)
      xs[i] = i % 6;
    std::vector<Tensor> out;
    ASSERT_TRUE(
        (*s)->Run({{"x", *Tensor::FromVector<float>({2, 6}, xs)}}, &out).ok());
    EXPECT_EQ(out[0].TypeString(), "f32[2,1]");
    EXPECT_EQ(out[0].data<float>()[0], c.value);
    EXPECT_EQ(out[0].data<float>()[1], c.value);
  }
  {
    // Range's count, ceil((limit - start) / delta), exactly: doubles
    // rounded it to 2 for Range(INT64_MIN, INT64_MAX, INT64_MAX).
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    for (auto [name, v] : std::vector<std::pair<std::string, int64_t>>{
             {"start", kMin}, {"limit", kMax}, {"delta", kMax}}) {
      onnx::TensorProto *t = g->add_initializer();
      t->set_name(name);
      t->set_data_type(onnx::TensorProto::INT64);
      t->add_int64_data(v);
    }
    AddNode(g, "Range", {"start", "limit", "delta"}, {"r"});
    AddOutput(g, "r", 1, onnx::TensorProto::INT64);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({}, &out).ok());
    EXPECT_EQ(
        std::vector<int64_t>(out[0].data<int64_t>(),
                             out[0].data<int64_t>() + out[0].num_elements()),
        (std::vector<int64_t>{kMin, -1, kMax - 1}));
  }
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  AddAttr(AddNode(g, "Einsum", {"x"}, {"y"}, "es"), "equation",
          onnx::AttributeProto::STRING)
      ->set_s("ij->iij");
  AddOutput(g, "y", 3);
  EXPECT_THAT(LoadError(m),
              HasSubstr("node 'es' (Einsum): output label 'i' appears more "
                        "than once"));
}

// ReduceL2, ReduceLogSum and ReduceLogSumExp take integers (ONNX allows
// them): computed in float64 and truncated back, as ONNX Runtime casts.
TEST(OnnxTest, IntegerCompositeReductions) {
  struct Case {
    const char *op;
    std::vector<int32_t> want;
  };
  for (const Case &c :
       std::vector<Case>{{"ReduceL2", {5, 10}}, {"ReduceLogSumExp", {3, 8}}}) {
    SCOPED_TRACE(c.op);
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::INT32, {2, 3});
    onnx::NodeProto *n = AddNode(g, c.op, {"x"}, {"y"});
    AddAttr(n, "axes", onnx::AttributeProto::INTS)->add_ints(1);
    AddAttr(n, "keepdims", onnx::AttributeProto::INT)->set_i(0);
    AddOutput(g, "y", 1, onnx::TensorProto::INT32);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    ASSERT_TRUE((*s)->Run({{"x", *Tensor::FromVector<int32_t>(
                                     {2, 3}, {3, -4, 1, 6, 8, -2})}},
                          &out)
                    .ok());
    EXPECT_EQ(std::vector<int32_t>(out[0].data<int32_t>(),
                                   out[0].data<int32_t>() + 2),
              c.want);
  }
}

// An input read only by Shape folds away: once compiled, a Run need not
// feed it (the compiled signature says which feeds it takes), while an
// input the compile keeps is still asked for.
TEST(OnnxTest, InputsFoldedAwayNeedNoFeed) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  AddNode(g, "Shape", {"x"}, {"s"});
  AddOutput(g, "s", 1, onnx::TensorProto::INT64);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<Tensor> out;
  absl::Status run = (*s)->Run({}, &out);
  ASSERT_TRUE(run.ok()) << run;
  EXPECT_EQ(out[0].data<int64_t>()[1], 3);
}

TEST(OnnxTest, ConstantInputsOfTheWrongTypeAreRefused) {
  {
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    AddInitializer(g, "shape", {2}, {3, 2});
    AddNode(g, "Reshape", {"x", "shape"}, {"y"}, "r");
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m),
                HasSubstr("node 'r' (Reshape): shape (input 1) must hold "
                          "integers, got f32"));
  }
  {
    // Gather of constants with float indices: folding it read floats as
    // integers (an assertion in DenseElementsAttr::getValues).
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInitializer(g, "data", {3}, {1, 2, 3});
    AddInitializer(g, "indices", {1}, {0});
    AddNode(g, "Gather", {"data", "indices"}, {"y"}, "gather");
    AddOutput(g, "y", 1);
    EXPECT_THAT(LoadError(m),
                HasSubstr("node 'gather' (Gather): 'kiln.gather' op "
                          "operand #1 must be"));
  }
  {
    // Dropout's training_mode is a bool; a float is a number all the same.
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    AddInitializer(g, "ratio", {}, {0.5f});
    AddInitializer(g, "training", {2}, {0, 1});
    AddNode(g, "Dropout", {"x", "ratio", "training"}, {"y"}, "d");
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m), HasSubstr("node 'd' (Dropout): training_mode "
                                        "(input 2) must hold one value, got "
                                        "2"));
  }
}

// RoiAlign's samples (regions x bins x samples per bin x channels) are
// built as tensors: sizes past Kiln's limit are refused, computed without
// overflow (output_height * sampling_ratio alone exceeds int64 here).
TEST(OnnxTest, RoiAlignBeyondTheElementLimitIsRefused) {
  onnx::ModelProto m = NewModel(16);
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {1, 2, 4, 4});
  AddInitializer(g, "rois", {1, 4}, {0, 0, 3, 3});
  onnx::TensorProto *batch = g->add_initializer();
  batch->set_name("b");
  batch->set_data_type(onnx::TensorProto::INT64);
  batch->add_dims(1);
  batch->add_int64_data(0);
  onnx::NodeProto *n = AddNode(g, "RoiAlign", {"x", "rois", "b"}, {"y"}, "ra");
  for (auto [name, value] :
       {std::pair<const char *, int64_t>{"output_height", int64_t{1} << 40},
        {"sampling_ratio", int64_t{1} << 40}}) {
    onnx::AttributeProto *a = n->add_attribute();
    a->set_name(name);
    a->set_type(onnx::AttributeProto::INT);
    a->set_i(value);
  }
  AddOutput(g, "y", 4);
  EXPECT_THAT(LoadError(m),
              AllOf(HasSubstr("node 'ra' (RoiAlign): sampling_ratio "
                              "1099511627776 takes"),
                    HasSubstr("more than Kiln's limit of 2^32 elements")));
}

// An empty tensor holds no elements whatever its other dimensions, but
// those still enter shape arithmetic: Flatten of [0, 2^62, 4] multiplied
// 2^62 by 4 (signed overflow). Nonzero dimensions must multiply to within
// Kiln's limits, for inputs, initializers and op results alike.
TEST(OnnxTest, EmptyTensorsWithHugeDimensionsAreRefused) {
  constexpr int64_t kHuge = int64_t{1} << 62;
  {
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {0, kHuge, 4});
    AddNode(g, "Flatten", {"x"}, {"y"}, "flat");
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m), HasSubstr("input 'x' of shape "
                                        "[0,4611686018427387904,4] is larger "
                                        "than Kiln's limit of 2^32 elements"));
  }
  {
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInitializer(g, "w", {kHuge, 0, 2}, {});
    AddNode(g, "Flatten", {"w"}, {"y"}, "flat");
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m),
                HasSubstr("initializer 'w': tensor 'w' of shape "
                          "[4611686018427387904,0,2] is larger than Kiln's "
                          "limit"));
  }
  {
    // An op result: Expand of an empty tensor to huge dimensions.
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {0, 1});
    onnx::TensorProto *shape = g->add_initializer();
    shape->set_name("shape");
    shape->set_data_type(onnx::TensorProto::INT64);
    shape->add_dims(2);
    shape->add_int64_data(0);
    shape->add_int64_data(kHuge);
    AddNode(g, "Expand", {"x", "shape"}, {"y"}, "expand");
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m),
                HasSubstr("node 'expand' (Expand): result of shape "
                          "[0, 4611686018427387904] is larger than Kiln's "
                          "limit of 2^32 elements"));
  }
  {
    // Empty tensors of sensible dimensions still compile and run.
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {0, 3, 4});
    AddNode(g, "Flatten", {"x"}, {"y"}, "flat");
    AddOutput(g, "y", 2);
    absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
    ASSERT_TRUE(s.ok()) << s.status();
    std::vector<Tensor> out;
    ASSERT_TRUE(
        (*s)->Run({{"x", *Tensor::Allocate(DType::kF32, {0, 3, 4})}}, &out)
            .ok());
    ASSERT_EQ(out.size(), 1u);
    EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{0, 12}));
  }
}

TEST(OnnxTest, ShapeInputsAndOldOpsets) {
  // Reshape's shape comes from a Shape -> Gather -> Concat chain, as
  // exporters write it; Softmax at opset 11 flattens at axis 1.
  onnx::ModelProto m = NewModel(11);
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3, 4});
  AddNode(g, "Shape", {"x"}, {"s"});
  onnx::TensorProto *zero = g->add_initializer();
  zero->set_name("zero");
  zero->set_data_type(onnx::TensorProto::INT64);
  zero->add_int64_data(0);
  AddNode(g, "Gather", {"s", "zero"}, {"n"});
  AddNode(g, "Unsqueeze", {"n"}, {"n1"})->add_attribute()->CopyFrom([] {
    onnx::AttributeProto a;
    a.set_name("axes");
    a.set_type(onnx::AttributeProto::INTS);
    a.add_ints(0);
    return a;
  }());
  onnx::TensorProto *minus_one = g->add_initializer();
  minus_one->set_name("minus_one");
  minus_one->set_data_type(onnx::TensorProto::INT64);
  minus_one->add_dims(1);
  minus_one->add_int64_data(-1);
  onnx::NodeProto *concat =
      AddNode(g, "Concat", {"n1", "minus_one"}, {"shape"});
  onnx::AttributeProto *axis = concat->add_attribute();
  axis->set_name("axis");
  axis->set_type(onnx::AttributeProto::INT);
  axis->set_i(0);
  AddNode(g, "Reshape", {"x", "shape"}, {"flat"});
  AddNode(g, "Softmax", {"x"}, {"y"});
  AddOutput(g, "flat", 2);
  AddOutput(g, "y", 3);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_TRUE(s.ok()) << s.status();
  std::vector<double> xs = testing::RandomValues(24, 4);
  Tensor x = *Tensor::FromVector<float>({2, 3, 4}, {xs.begin(), xs.end()});
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{2, 12}));
  // Softmax over the 12 trailing elements of each batch row.
  for (int row = 0; row < 2; ++row) {
    double sum = 0;
    for (int j = 0; j < 12; ++j)
      sum += out[1].data<float>()[row * 12 + j];
    EXPECT_NEAR(sum, 1.0, 1e-5);
  }
}

TEST(OnnxTest, ExternalData) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {3});
  onnx::TensorProto *w = g->add_initializer();
  w->set_name("w");
  w->set_data_type(onnx::TensorProto::FLOAT);
  w->add_dims(3);
  w->set_data_location(onnx::TensorProto::EXTERNAL);
  auto add_entry = [&](const std::string &k, const std::string &v) {
    onnx::StringStringEntryProto *e = w->add_external_data();
    e->set_key(k);
    e->set_value(v);
  };
  add_entry("location", "weights.bin");
  add_entry("offset", "4");
  add_entry("length", "12");
  float data[4] = {99, 1.5f, -2, 4};
  std::ofstream(TempDir() + "/weights.bin", std::ios::binary)
      .write(reinterpret_cast<const char *>(data), sizeof(data));
  AddNode(g, "Mul", {"x", "w"}, {"y"});
  AddOutput(g, "y", 1);
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m, TempDir());
  ASSERT_TRUE(s.ok()) << s.status();
  Tensor x = *Tensor::FromVector<float>({3}, {2, 3, 4});
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
  testing::ExpectClose(out[0], testing::RefArray{{3}, {3, -6, 16}});

  // A missing external file is an error that names the tensor.
  absl::StatusOr<std::unique_ptr<Session>> missing =
      Load(m, TempDir() + "/nowhere");
  ASSERT_FALSE(missing.ok());
  EXPECT_THAT(std::string(missing.status().message()),
              AllOf(HasSubstr("weights.bin"),
                    ::testing::AnyOf(HasSubstr("tensor 'w'"),
                                     HasSubstr("tensor name: w"))));
}

TEST(OnnxTest, FrozenInputsBecomeConstants) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  AddInput(g, "shape", onnx::TensorProto::INT64, {1});
  AddNode(g, "Reshape", {"x", "shape"}, {"y"});
  AddOutput(g, "y", 1);
  absl::StatusOr<std::unique_ptr<Session>> unfrozen = Load(m);
  ASSERT_FALSE(unfrozen.ok());
  EXPECT_THAT(std::string(unfrozen.status().message()),
              HasSubstr("shape (input 1) must be an integer constant known at "
                        "compile time"));

  absl::StatusOr<std::unique_ptr<GraphSource>> source =
      ParseOnnxSource(m.SerializeAsString(), ".", "model.onnx");
  ASSERT_TRUE(source.ok());
  ASSERT_TRUE(
      (*source)->Freeze("shape", *Tensor::FromVector<int64_t>({1}, {6})).ok());
  EXPECT_FALSE(
      (*source)->Freeze("y", *Tensor::FromVector<int64_t>({1}, {6})).ok());
  absl::StatusOr<std::unique_ptr<Session>> s =
      Session::Create(*std::move(source));
  ASSERT_TRUE(s.ok()) << s.status();
  Tensor x = *Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6});
  std::vector<Tensor> out;
  ASSERT_TRUE((*s)->Run({{"x", x}}, &out).ok());
  EXPECT_EQ(out[0].shape(), (std::vector<int64_t>{6}));
  EXPECT_THAT(
      std::string((*s)->Run({{"x", x}, {"shape", x}}, &out).message()),
      HasSubstr("feed 'shape' is frozen to a constant at compile time"));
}

TEST(OnnxTest, NegativeInputDimensionIsNamed) {
  onnx::ModelProto m = NewModel(18);
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {-3, 4});
  AddNode(g, "Relu", {"x"}, {"y"});
  AddOutput(g, "y", 2);
  EXPECT_THAT(LoadError(m),
              HasSubstr("input 'x' of shape [-3,4] has a negative dimension"));
}

TEST(OnnxTest, SplitAtOpset18NeedsSizesOrACount) {
  onnx::ModelProto m = NewModel(18);
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
  AddNode(g, "Split", {"x"}, {"a", "b"}, "split")
      ->add_attribute()
      ->CopyFrom([] {
        onnx::AttributeProto a;
        a.set_name("axis");
        a.set_type(onnx::AttributeProto::INT);
        a.set_i(1);
        return a;
      }());
  AddOutput(g, "a", 2);
  AddOutput(g, "b", 2);
  EXPECT_THAT(LoadError(m),
              HasSubstr("node 'split' (Split): needs the 'split' input or the "
                        "'num_outputs' attribute (opset 18)"));
}

TEST(OnnxTest, DanglingAndOutOfOrderInputsAreNamed) {
  // Opset 18, where libonnx's checker does not run first: a node reading a
  // value nothing defines once crashed the import (a fetch went missing).
  {
    onnx::ModelProto m = NewModel(18);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    AddNode(g, "Add", {"x", "nowhere"}, {"y"});
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m),
                HasSubstr("node 'Add_0' (Add): input 'nowhere' names no "
                          "value of the graph"));
  }
  {
    onnx::ModelProto m = NewModel(18);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {2, 3});
    AddNode(g, "Relu", {"a"}, {"y"}, "second");
    AddNode(g, "Neg", {"x"}, {"a"}, "first");
    AddOutput(g, "y", 2);
    EXPECT_THAT(LoadError(m),
                HasSubstr("node 'second' (Relu): input 'a' is made by a later "
                          "node"));
  }
}

TEST(OnnxRegistryTest, ANodeUsesTheNewestFormUpToItsOpset) {
  const OnnxRegistry &ops = OnnxOps();
  auto since = [&](const char *op, int opset) {
    const OnnxOpEntry *e = ops.lookup(op, opset);
    return e ? e->since_version : -1;
  };
  EXPECT_EQ(since("ReduceSum", 12), 1);
  EXPECT_EQ(since("ReduceSum", 13), 13);
  EXPECT_EQ(since("ReduceSum", 18), 13);
  EXPECT_EQ(since("ReduceMax", 17), 1);
  EXPECT_EQ(since("ReduceMax", 18), 18);
  EXPECT_EQ(since("Split", 12), 1);
  EXPECT_EQ(since("Split", 17), 13);
  EXPECT_EQ(since("Split", 18), 18);
  EXPECT_EQ(since("Add", 6), 1);
  EXPECT_EQ(since("Add", 7), 7);
  EXPECT_EQ(since("Relu", 14), 1);
  EXPECT_EQ(ops.lookup("NoSuchOp", 17), nullptr);
  EXPECT_EQ(ops.lookup("Reshape", 4)->min_inputs, 1);
  EXPECT_EQ(ops.lookup("Reshape", 5)->min_inputs, 2);
}

TEST(OnnxRegistryTest, EveryOpHasOrderedFormsAndTheTableIsCovered) {
  const OnnxRegistry &ops = OnnxOps();
  for (const std::string &op : ops.opTypes()) {
    SCOPED_TRACE(op);
    const std::vector<OnnxOpEntry> &forms = ops.forms(op);
    ASSERT_FALSE(forms.empty());
    // Kiln converts every opset of the ops it knows.
    EXPECT_EQ(forms.front().since_version, 1);
    for (size_t i = 0; i < forms.size(); ++i) {
      EXPECT_EQ(forms[i].op_type, op);
      EXPECT_TRUE(forms[i].convert);
      EXPECT_LE(forms[i].min_inputs, forms[i].max_inputs);
      if (i > 0) {
        EXPECT_LT(forms[i - 1].since_version, forms[i].since_version);
      }
    }
  }
  for (const std::string &op : SupportedOps()) {
    if (LookupOp(op)) {
      EXPECT_FALSE(ops.forms(op).empty())
          << op << " is in the op table but not in the ONNX registry";
    }
  }
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

// Values ONNX restricts more than the ops Kiln builds from: a loss target
// outside [0, C) (GatherElements alone would count -1 from the back) and
// an LSTM sequence length outside [0, seq] fail the run, naming the node
// by its ONNX op type; good runs after them are unaffected.
TEST(OnnxTest, LossTargetsAndSequenceLengthsAreCheckedAtRunTime) {
  onnx::ModelProto m = NewModel();
  onnx::GraphProto *g = m.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {3, 4});
  AddInput(g, "t", onnx::TensorProto::INT64, {3});
  AddNode(g, "NegativeLogLikelihoodLoss", {"x", "t"}, {"y"}, "nll");
  AddOutput(g, "y", 0);
  // A scalar: a shape with no dimensions.
  g->mutable_output(0)->mutable_type()->mutable_tensor_type()->mutable_shape();
  absl::StatusOr<std::unique_ptr<Session>> s = Load(m);
  ASSERT_TRUE(s.ok()) << s.status();
  Tensor x = *Tensor::FromVector<float>({3, 4}, std::vector<float>(12, 0.5f));
  std::vector<Tensor> out;
  absl::Status run = (*s)->Run(
      {{"x", x}, {"t", *Tensor::FromVector<int64_t>({3}, {0, -1, 1})}}, &out);
  EXPECT_EQ(std::string(run.message()),
            "node 'nll' (NegativeLogLikelihoodLoss): target -1 is out of "
            "range [0, 3]");
  ASSERT_TRUE(
      (*s)->Run({{"x", x}, {"t", *Tensor::FromVector<int64_t>({3}, {0, 3, 1})}},
                &out)
          .ok());
  EXPECT_FLOAT_EQ(out[0].data<float>()[0], -0.5f); // the mean of -x[n, t[n]]

  onnx::ModelProto l = NewModel(14);
  g = l.mutable_graph();
  AddInput(g, "x", onnx::TensorProto::FLOAT, {5, 2, 3});
  AddInput(g, "lens", onnx::TensorProto::INT32, {2});
  AddInitializer(g, "W", {1, 8, 3}, std::vector<float>(24, 0.1f));
  AddInitializer(g, "R", {1, 8, 2}, std::vector<float>(16, -0.2f));
  onnx::NodeProto *lstm =
      AddNode(g, "LSTM", {"x", "W", "R", "", "lens"}, {"y"}, "lstm");
  AddAttr(lstm, "hidden_size", onnx::AttributeProto::INT)->set_i(2);
  AddOutput(g, "y", 4);
  s = Load(l);
  ASSERT_TRUE(s.ok()) << s.status();
  Tensor xs = *Tensor::FromVector<float>({5, 2, 3}, std::vector<float>(30, 1));
  run = (*s)->Run(
      {{"x", xs}, {"lens", *Tensor::FromVector<int32_t>({2}, {5, 9})}}, &out);
  EXPECT_EQ(std::string(run.message()),
            "node 'lstm' (LSTM): sequence length 9 is out of range [0, 5]");
  ASSERT_TRUE((*s)->Run({{"x", xs},
                         {"lens", *Tensor::FromVector<int32_t>({2}, {5, 2})}},
                        &out)
                  .ok());
  ASSERT_EQ(out[0].TypeString(), "f32[5,1,2,2]");
  // Entry 1 stops after 2 steps: its outputs from step 2 on are 0.
  for (int t = 0; t < 5; ++t)
    for (int j = 0; j < 2; ++j)
      EXPECT_EQ(out[0].data<float>()[(t * 2 + 1) * 2 + j] == 0.0f, t >= 2) << t;
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

// Malformed recurrent layers are refused naming the input and the shape
// ONNX wants (they were read partly, or reported through internal ops).
TEST(OnnxTest, RecurrentInputsOfTheWrongShapeAreNamed) {
  struct Case {
    std::vector<int64_t> r, b;
    std::string error;
  };
  for (const Case &c : std::vector<Case>{
           {{2, 8, 2},
            {},
            "R must be [1, 8, 2] (directions, gates x hidden_size, "
            "hidden_size), not [2, 8, 2]"},
           {{1, 8, 2},
            {1, 20},
            "B must be [1, 16] (directions, 2 x gates x "
            "hidden_size), not [1, 20]"}}) {
    onnx::ModelProto m = NewModel(14);
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {5, 2, 3});
    AddInitializer(g, "W", {1, 8, 3}, std::vector<float>(24, 0.1f));
    int64_t rn = c.r[0] * c.r[1] * c.r[2];
    AddInitializer(g, "R", c.r, std::vector<float>(rn, 0.1f));
    std::vector<std::string> inputs = {"x", "W", "R"};
    if (!c.b.empty()) {
      AddInitializer(g, "B", c.b, std::vector<float>(c.b[0] * c.b[1], 0.f));
      inputs.push_back("B");
    }
    onnx::NodeProto *lstm = AddNode(g, "LSTM", inputs, {"y"}, "lstm");
    AddAttr(lstm, "hidden_size", onnx::AttributeProto::INT)->set_i(2);
    AddOutput(g, "y", 4);
    EXPECT_THAT(LoadError(m), HasSubstr("node 'lstm' (LSTM): " + c.error));
  }
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

// A loss whose target or weight does not fit its input is refused when the
// model loads, naming the node and both shapes.
TEST(OnnxTest, LossShapesAreChecked) {
  struct Case {
    std::vector<int64_t> target, weight;
    std::string error;
  };
  for (const Case &c : std::vector<Case>{
           {{2},
            {},
            "expects input [N, C, d...] and target [N, d...]; got "
            "input [3,4] and target [2]"},
           {{3}, {3}, "weight must be [4] (one per class), not [3]"}}) {
    onnx::ModelProto m = NewModel();
    onnx::GraphProto *g = m.mutable_graph();
    AddInput(g, "x", onnx::TensorProto::FLOAT, {3, 4});
    AddInput(g, "t", onnx::TensorProto::INT64, c.target);
    std::vector<std::string> inputs = {"x", "t"};
    if (!c.weight.empty()) {
      AddInitializer(g, "w", c.weight, std::vector<float>(c.weight[0], 1.f));
      inputs.push_back("w");
    }
    AddNode(g, "NegativeLogLikelihoodLoss", inputs, {"y"}, "nll");
    AddOutput(g, "y", 0);
    g->mutable_output(0)
        ->mutable_type()
        ->mutable_tensor_type()
        ->mutable_shape();
    EXPECT_THAT(
        LoadError(m),
        HasSubstr("node 'nll' (NegativeLogLikelihoodLoss): " + c.error));
  }
}

} // namespace
} // namespace kiln
