//===- tools_test.cc - .npy files and the graph-compile command -----------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <fstream>
#include <sstream>

#include "absl/strings/match.h"
#include "codegen/Pipeline.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/MLIRContext.h"
#include "runtime/npy.h"
#include "tests/test_util.h"
#include "tools/cli/graph_compile.h"
#include "gmock/gmock.h"
#include "gtest/gtest.h"

namespace kiln {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

std::string TempPath(const std::string &name) {
  const char *dir = std::getenv("TEST_TMPDIR");
  return std::string(dir ? dir : "/tmp") + "/" + name;
}

TEST(NpyTest, RoundTripsEveryDtypeAndRank) {
  std::vector<Tensor> tensors = {
      *Tensor::FromVector<float>({2, 3}, {1, 2, 3, 4, 5, 6}),
      *Tensor::FromVector<double>({3}, {0.5, -1, 1e300}),
      *Tensor::FromVector<int32_t>({}, {42}),
      *Tensor::FromVector<int64_t>({1, 2, 1}, {-5, 1ll << 40}),
      *Tensor::FromVector<bool>({2, 2}, {true, false, false, true}),
      *Tensor::Allocate(DType::kF32, {0, 3}),
  };
  for (size_t i = 0; i < tensors.size(); ++i) {
    std::string path = TempPath("t" + std::to_string(i) + ".npy");
    ASSERT_TRUE(WriteNpy(path, tensors[i]).ok());
    absl::StatusOr<Tensor> back = ReadNpy(path);
    ASSERT_TRUE(back.ok()) << back.status();
    EXPECT_EQ(back->TypeString(), tensors[i].TypeString());
    EXPECT_EQ(0, std::memcmp(back->raw_data(), tensors[i].raw_data(),
                             tensors[i].size_bytes()));
  }
}

/// A version-1.0 .npy file with `dict` as its header, padded as numpy.save
/// pads it, followed by `data`.
std::string NpyBytes(std::string dict, const std::string &data) {
  dict.append((64 - (10 + dict.size() + 1) % 64) % 64, ' ');
  dict += '\n';
  std::string bytes("\x93NUMPY\x01\x00", 8);
  bytes += static_cast<char>(dict.size() & 0xff);
  bytes += static_cast<char>(dict.size() >> 8);
  return bytes + dict + data;
}

TEST(NpyTest, ReadsNumpyWrittenHeader) {
  // What numpy.save writes for np.arange(3, dtype='<i8').
  std::string data;
  for (int64_t v : {0, 1, 2})
    data.append(reinterpret_cast<const char *>(&v), 8);
  absl::StatusOr<Tensor> t = ParseNpy(
      NpyBytes("{'descr': '<i8', 'fortran_order': False, 'shape': (3,), }",
               data),
      "arange.npy");
  ASSERT_TRUE(t.ok()) << t.status();
  EXPECT_EQ(t->TypeString(), "i64[3]");
  EXPECT_EQ(t->data<int64_t>()[2], 2);
}

TEST(NpyTest, RefusesWhatItCannotRead) {
  auto error = [](const std::string &bytes) {
    return std::string(ParseNpy(bytes, "f.npy").status().message());
  };
  EXPECT_THAT(error("hello"), HasSubstr("not a .npy file"));
  EXPECT_THAT(
      error(NpyBytes(
          "{'descr': '<c8', 'fortran_order': False, 'shape': (1,), }", "ab")),
      HasSubstr("element type '<c8' is not supported"));
  EXPECT_THAT(
      error(NpyBytes("{'descr': '<f4', 'fortran_order': True, 'shape': (1,), }",
                     "abcd")),
      HasSubstr("Fortran-ordered"));
  EXPECT_THAT(
      error(NpyBytes(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (4,), }", "abcd")),
      HasSubstr("does not match f32[4]"));
  EXPECT_THAT(
      error(NpyBytes(
          "{'descr': '<f4', 'fortran_order': False, 'shape': (-4,), }", "")),
      HasSubstr("bad dimension '-4'"));
  EXPECT_EQ(ReadNpy(TempPath("missing.npy")).status().code(),
            absl::StatusCode::kNotFound);
}

/// Runs graph-compile in-process with `args`; returns the exit code.
int GraphCompile(std::vector<std::string> args, std::string *out,
                 std::string *err) {
  args.insert(args.begin(), "graph-compile");
  std::vector<char *> argv;
  for (std::string &a : args)
    argv.push_back(a.data());
  std::ostringstream o, e;
  int code = GraphCompileMain(argv.size(), argv.data(), o, e);
  *out = o.str();
  *err = e.str();
  return code;
}

/// Like GraphCompile, with what MLIR prints straight to the process's
/// stderr (IR dumps, pass timing) appended to `err`.
int GraphCompileCapturingStderr(std::vector<std::string> args, std::string *out,
                                std::string *err) {
  ::testing::internal::CaptureStderr();
  int code = GraphCompile(std::move(args), out, err);
  *err += ::testing::internal::GetCapturedStderr();
  return code;
}

TEST(GraphCompileTest, RunsTheExampleAndWritesOutputs) {
  std::string out, err, y = TempPath("probs.npy");
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--feed",
                          "x=examples/mlp_x.npy", "--output", "probs=" + y},
                         &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("probs: f32[2,3] = [["));
  EXPECT_THAT(out, HasSubstr("compile: "));
  absl::StatusOr<Tensor> probs = ReadNpy(y);
  ASSERT_TRUE(probs.ok());
  for (int row = 0; row < 2; ++row) {
    double sum = 0;
    for (int j = 0; j < 3; ++j)
      sum += probs->data<float>()[row * 3 + j];
    EXPECT_NEAR(sum, 1.0, 1e-6);
  }
}

TEST(GraphCompileTest, BenchmarkRunsAgain) {
  std::string out, err;
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--feed",
                          "x=examples/mlp_x.npy", "--benchmark=3"},
                         &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("probs: f32[2,3]"));
  EXPECT_THAT(out, HasSubstr("benchmark: 3 runs, median "));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--benchmark=0"}, &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--benchmark expects a positive number"));
}

TEST(GraphCompileTest, ProfileTimesEachKernel) {
  std::string out, err;
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--feed",
                          "x=examples/mlp_x.npy", "--profile", "--benchmark=2"},
                         &out, &err),
            0)
      << err;
  // The first run and the two benchmark runs, every dispatch of the plan.
  EXPECT_THAT(out, HasSubstr("profile of fetches probs: 3 runs"));
  for (const char *kernel :
       {"k0_fusion_0_gemm_add_relu", "k1_logits", "k2_probs"})
    EXPECT_THAT(out, HasSubstr(kernel));
  EXPECT_THAT(out, HasSubstr("100.0%         total"));
  // --profile=FILE also writes each dispatch of each run as a Chrome trace
  // event: 3 runs of 3 kernels, in order within a run.
  std::string trace = TempPath("trace.json");
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--feed", "x=examples/mlp_x.npy",
                    "--profile=" + trace, "--benchmark=2"},
                   &out, &err),
      0)
      << err;
  EXPECT_THAT(out, HasSubstr("profile of fetches probs: 3 runs"));
  EXPECT_THAT(out, HasSubstr("trace of every kernel dispatch written to"));
  std::ifstream file(trace);
  std::stringstream text;
  text << file.rdbuf();
  std::string json = text.str();
  EXPECT_TRUE(absl::StartsWith(json, "{\"displayTimeUnit\":\"ms\","
                                     "\"traceEvents\":[\n"))
      << json;
  EXPECT_TRUE(absl::EndsWith(json, "\n]}\n")) << json;
  EXPECT_THAT(json, HasSubstr("\"args\":{\"name\":\"fetches probs\"}"));
  std::vector<std::string> names;
  double last_end = 0;
  for (size_t at = json.find("\"ph\":\"X\""); at != std::string::npos;
       at = json.find("\"ph\":\"X\"", at + 1)) {
    size_t begin = json.rfind("{\"name\":\"", at) + 9;
    names.push_back(json.substr(begin, json.find('"', begin) - begin));
    double ts = std::stod(json.substr(json.find("\"ts\":", at) + 5));
    double dur = std::stod(json.substr(json.find("\"dur\":", at) + 6));
    EXPECT_GE(ts, last_end) << names.back(); // One calling thread.
    EXPECT_GE(dur, 0);
    last_end = ts + dur;
  }
  std::vector<std::string> run = {"k0_fusion_0_gemm_add_relu", "k1_logits",
                                  "k2_probs"};
  std::vector<std::string> expected;
  for (int i = 0; i < 3; ++i)
    expected.insert(expected.end(), run.begin(), run.end());
  EXPECT_EQ(names, expected);
  // Fetching other than the default outputs: the default fetches' kernels,
  // compiled when the Session was made, never ran and are not shown.
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--feed", "x=examples/mlp_x.npy",
                    "--fetch", "logits", "--profile=" + trace},
                   &out, &err),
      0)
      << err;
  EXPECT_THAT(out, HasSubstr("profile of fetches logits: 1 runs"));
  EXPECT_THAT(out, Not(HasSubstr("0 runs")));
  std::ifstream again(trace);
  std::stringstream fetched;
  fetched << again.rdbuf();
  EXPECT_THAT(fetched.str(), HasSubstr("\"fetches logits\""));
  EXPECT_THAT(fetched.str(), Not(HasSubstr("\"fetches probs\"")));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--feed",
                          "x=examples/mlp_x.npy", "--profile="},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--profile= expects a file for the trace"));
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--feed", "x=examples/mlp_x.npy",
                    "--profile=/nonexistent/dir/trace.json"},
                   &out, &err),
      1);
  EXPECT_THAT(err, HasSubstr("cannot write the --profile trace to "
                             "'/nonexistent/dir/trace.json'"));
  // Without --profile, no table.
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--feed", "x=examples/mlp_x.npy"},
                   &out, &err),
      0);
  EXPECT_THAT(out, Not(HasSubstr("profile of")));
}

// A model with an unknown batch (examples/dynamic_batch.pbtxt, [-1, 128]):
// --input-shape gives it, an artifact records it, and without it the error
// names the input and the dimension and says how to give it.
TEST(GraphCompileTest, InputShapeFixesUnknownDimensions) {
  std::string out, err;
  EXPECT_EQ(
      GraphCompile({"examples/dynamic_batch.pbtxt", "--emit=plan"}, &out, &err),
      1);
  EXPECT_THAT(err, HasSubstr("the model leaves input dimensions unknown; "
                             "give them with --feed or --input-shape"));
  EXPECT_THAT(err, HasSubstr("input 'a' of shape [-1,128]: dimension 0 is "
                             "unknown"));
  EXPECT_THAT(err, HasSubstr("--input-shape a=Nx128"));
  ASSERT_EQ(GraphCompile({"examples/dynamic_batch.pbtxt", "--emit=plan",
                          "--input-shape", "a=3x128"},
                         &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("feed a: f32[3,128]"));
  std::string path = TempPath("dynamic.kiln");
  ASSERT_EQ(GraphCompile({"examples/dynamic_batch.pbtxt", "-o", path,
                          "--input-shape=a=5x128"},
                         &out, &err),
            0)
      << err;
  ASSERT_EQ(GraphCompile({path, "--emit=plan"}, &out, &err), 0) << err;
  EXPECT_THAT(out, HasSubstr("feed a: f32[5,128]"));
  EXPECT_THAT(out, HasSubstr("fetch c: f32[5,32]"));
  // Shapes that do not fit, inputs that are not inputs, and bad syntax.
  EXPECT_EQ(GraphCompile({"examples/dynamic_batch.pbtxt", "--emit=plan",
                          "--input-shape", "a=3x64"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("input shape for 'a': expected f32[?,128], got "
                             "[3,64]"));
  EXPECT_EQ(GraphCompile({"examples/dynamic_batch.pbtxt", "--emit=plan",
                          "--input-shape", "c=3x32"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("it names a MatMul node"));
  EXPECT_EQ(GraphCompile({"examples/dynamic_batch.pbtxt", "--emit=plan",
                          "--input-shape", "a=3xN"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--input-shape a: '3xN' is not a shape"));
  EXPECT_EQ(GraphCompile({"examples/dynamic_batch.pbtxt", "--emit=plan",
                          "--input-shape", "a=5x"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--input-shape a: '5x' is not a shape"));
}

TEST(GraphCompileTest, EmitsEachStage) {
  std::string out, err;
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph"}, &out, &err),
            0);
  EXPECT_THAT(out, HasSubstr("kiln.softmax"));
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=linalg"}, &out, &err),
            0);
  EXPECT_THAT(out, HasSubstr("linalg.generic"));
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=kernels"}, &out, &err),
            0);
  EXPECT_THAT(out, HasSubstr("func.func @k0_fusion_0_gemm_add_relu("));
  EXPECT_THAT(out, HasSubstr("kiln.dispatch @k0_fusion_0_gemm_add_relu grid("));
  // The kernels reach LLVM; the launch plan (@main) does not.
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=mlir"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("llvm.func @k0_fusion_0_gemm_add_relu("));
  EXPECT_THAT(out, Not(HasSubstr("@main")));
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--emit=llvm", "--fetch", "hidden"},
                   &out, &err),
      0);
  EXPECT_THAT(out, HasSubstr("define void @k0_fusion_0_gemm_add_relu(ptr"));
}

TEST(GraphCompileTest, ModelMustBeAFileAndEmitGivenOnce) {
  std::string out, err;
  EXPECT_EQ(GraphCompile({"examples", "--emit=plan"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("examples: a directory, not a model file"));
  std::string empty = TempPath("empty.pbtxt");
  std::ofstream(empty).close();
  EXPECT_EQ(GraphCompile({empty, "--emit=plan"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("empty.pbtxt: empty file, no graph in it"));
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--emit=plan", "--emit=kernels"},
                   &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--emit given twice (plan and kernels)"));
}

TEST(GraphCompileTest, CompileTimingNamesEachPhase) {
  std::string out, err;
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--compile-timing"}, &out, &err), 0)
      << err;
  EXPECT_THAT(out, ::testing::ContainsRegex(
                       "compile timing: import [0-9.e+-]+ ms, graph passes "
                       "[0-9.e+-]+ ms, lowering to kernels [0-9.e+-]+ ms, "
                       "kernels to LLVM dialect [0-9.e+-]+ ms, LLVM to "
                       "machine code [0-9.e+-]+ ms"));
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--compile-timing", "--emit=plan"},
                   &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--compile-timing times a whole compile"));
}

TEST(GraphCompileTest, TargetMustBeABackend) {
  std::string out, err;
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=plan", "--target=cpu"},
                         &out, &err),
            0)
      << err;
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--target=tpu"}, &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--target expects one of cpu, cuda, cuda-on-cpu, "
                             "got 'tpu'"));
}

TEST(GraphCompileTest, CudaTargetFlags) {
  std::string out, err;
  // An artifact for the GPU builds here; the options of other targets are
  // refused with the reason.
  std::string artifact = ::testing::TempDir() + "/mlp_cuda.kiln";
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--target=cuda", "-o", artifact},
                   &out, &err),
      0)
      << err;
  EXPECT_THAT(out, HasSubstr("(for nvptx64-nvidia-cuda, GPU sm_90)"));
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--target=cuda",
                          "--gpu-arch=sm_80", "--emit=ptx"},
                         &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr(".target sm_80"));
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--gpu-arch=sm_80"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--gpu-arch is for --target=cuda"));
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--target=cuda", "--gpu-arch=sm_91"},
                   &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--gpu-arch: unknown GPU architecture 'sm_91'"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--target=cuda",
                          "--target-cpu=znver4", "--emit=ptx"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--target=cuda takes --gpu-arch"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--target=cuda", "--emit=llvm"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--emit=ptx the PTX"));
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--save-cases=/tmp/x"}, &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("--save-cases needs --check-onnx-test"));
  // --print-ir-after knows the cuda target's own passes (the IR goes to
  // the process's stderr).
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--target=cuda", "--emit=plan",
                          "--print-ir-after=kiln-cuda-map-kernels"},
                         &out, &err),
            0)
      << err;
}

TEST(GraphCompileTest, EmitsTheLaunchPlan) {
  std::string out, err;
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=plan"}, &out, &err), 0)
      << err;
  // The header, then one line per dispatch: kernel, grid, buffers.
  // The result is computed in the fetch buffer (no copy at the end).
  EXPECT_EQ(out, "arena 64 bytes (lower bound 64), constants 0 bytes, "
                 "3 dispatches\n"
                 "k0_fusion_0_gemm_add_relu grid 1 (arena+0: f32[2,8], feed x: "
                 "f32[2,4])\n"
                 "k1_logits grid 1 (fetch probs: f32[2,3], arena+0: f32[2,8])\n"
                 "k2_probs grid 1 (arena+0: f32[2], fetch probs: f32[2,3])\n");
}

TEST(GraphCompileTest, PipelineFlags) {
  std::string out, err, dir = TempPath("dump");
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph", "--dump-dir",
                          dir, "--disable-pass=cse"},
                         &out, &err),
            0)
      << err;
  EXPECT_TRUE(std::ifstream(dir + "/00-kiln-fold-constants.mlir").good());
  EXPECT_TRUE(std::ifstream(dir + "/01-kiln-simplify.mlir").good());
  EXPECT_TRUE(std::ifstream(dir + "/02-canonicalize.mlir").good());
  EXPECT_FALSE(std::ifstream(dir + "/03-cse.mlir").good());

  // The example's MatMul becomes a Gemm at -O2 but not at -O0.
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph"}, &out, &err),
            0);
  EXPECT_THAT(out, Not(HasSubstr("kiln.matmul")));
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--emit=graph", "-O0"}, &out, &err),
      0);
  EXPECT_THAT(out, HasSubstr("kiln.matmul"));

  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=dot"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("digraph kiln"));
  EXPECT_THAT(out, HasSubstr("label=\"fusion_0_gemm_add_relu\""));
  EXPECT_THAT(out, HasSubstr("[shape=ellipse, label=\"probs\"]"));

  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--stats"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("before graph passes: 5 ops (+4 constants)"));
  // Gemm + Add + Relu fuse; the second Gemm and Softmax stay apart.
  EXPECT_THAT(out, HasSubstr("after graph passes:  5 ops in 3 kernels, 1 of "
                             "them fusions (+4 constants)"));
  // x[2,4] x W1[4,8] and h[2,8] x W2[8,3]: 2 x (2*8*4 + 2*3*8) FLOPs.
  EXPECT_THAT(out, HasSubstr("multiply-adds:       2.24e-07 GFLOP in MatMul, "
                             "Gemm and Conv"));
  {
    // A dot product of two vectors (a scalar result): 2 x 7 FLOPs.
    std::string dot = TempPath("dot.pbtxt");
    std::ofstream(dot) << testing::PlaceholderNode("a", "DT_FLOAT", {7})
                       << testing::PlaceholderNode("b", "DT_FLOAT", {7})
                       << testing::OpNode("y", "MatMul", {"a", "b"});
    std::string dot_out;
    ASSERT_EQ(GraphCompile({dot, "--stats", "--fetch", "y"}, &dot_out, &err), 0)
        << err;
    EXPECT_THAT(dot_out, HasSubstr("multiply-adds:       1.4e-08 GFLOP"));
  }
  // The plan of a fresh compile, as --emit=plan shows it (not of IR the
  // tool had lowered already).
  EXPECT_THAT(out, HasSubstr("launch plan:         3 dispatches, 0 of them "
                             "over a grid of more than one tile"));
}

TEST(GraphCompileTest, UnknownPassNamesAreUsageErrors) {
  std::string out, err;
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph",
                          "--disable-pass=no-such-pass"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--disable-pass: unknown pass 'no-such-pass'; "
                             "the graph passes it accepts are "
                             "kiln-fold-constants, kiln-simplify, "
                             "canonicalize, cse, kiln-insert-checks, "
                             "kiln-winograd, kiln-fuse\n"));
  // A lowering pass is not a graph pass: it cannot be left out.
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph",
                          "--disable-pass=convert-kiln-to-linalg"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("unknown pass 'convert-kiln-to-linalg'"));

  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph",
                          "--print-ir-after=no-such-pass"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("--print-ir-after: unknown pass 'no-such-pass'; "
                             "the pipeline's passes are kiln-fold-constants, "
                             "kiln-simplify, canonicalize, cse, "
                             "kiln-insert-checks, kiln-winograd, kiln-fuse, "
                             "convert-kiln-to-linalg, "
                             "kiln-cpu-output-channels-last, "
                             "kiln-cpu-deinterleave-strided-convolutions, "
                             "kiln-cpu-tile-fusions, "
                             "kiln-cpu-order-loops, kiln-cpu-pack-weights, "
                             "kiln-inline-fusions, kiln-pad-in-place, "
                             "one-shot-bufferize, "));
  EXPECT_THAT(err, HasSubstr("kiln-plan-memory"));
  EXPECT_THAT(err, HasSubstr("reconcile-unrealized-casts\n"));
  EXPECT_THAT(out, Not(HasSubstr("module")));

  // Lowering passes are accepted and print.
  ASSERT_EQ(GraphCompileCapturingStderr({"examples/mlp.pbtxt", "--emit=buffers",
                                         "--print-ir-after=kiln-plan-memory"},
                                        &out, &err),
            0)
      << err;
  EXPECT_THAT(err, HasSubstr("IR Dump After PlanMemory (kiln-plan-memory)"));
  EXPECT_THAT(err, Not(HasSubstr("(cse)")));
}

TEST(GraphCompileTest, PassNamesAreWhatThePassManagerPrints) {
  // Every pass --print-ir-after-all shows at -O3 down to the LLVM dialect,
  // and nothing else, is in PipelinePassNames(); the graph passes are among
  // them, in the pipeline's order.
  std::string out, err;
  ASSERT_EQ(GraphCompileCapturingStderr({"examples/mlp.pbtxt", "--emit=mlir",
                                         "-O3", "--print-ir-after-all"},
                                        &out, &err),
            0)
      << err;
  std::vector<std::string> printed;
  std::istringstream lines(err);
  for (std::string line; std::getline(lines, line);) {
    if (line.find("IR Dump After ") == std::string::npos)
      continue;
    size_t open = line.find(" ("), close = line.find(')', open);
    ASSERT_NE(close, std::string::npos) << line;
    std::string name = line.substr(open + 2, close - open - 2);
    if (std::find(printed.begin(), printed.end(), name) == printed.end())
      printed.push_back(name);
  }
  EXPECT_EQ(printed, PipelinePassNames());
  std::vector<std::string> graph = PipelinePassNames(3, Stage::kGraph);
  EXPECT_EQ(graph, GraphPassNames());
  // Run-time checks are semantics: inserted at every level.
  EXPECT_EQ(PipelinePassNames(0, Stage::kGraph),
            std::vector<std::string>{"kiln-insert-checks"});
}

TEST(GraphCompileTest, PipelineRefusesUnknownPassNames) {
  // What a Session user gets for the same mistakes (RunPipeline checks too).
  PipelineOptions options;
  EXPECT_TRUE(CheckPassNames(options).ok());
  options.print_ir_after = {"lower-affine", "kiln-fuse"};
  options.disabled_passes = {"kiln-fuse"};
  EXPECT_TRUE(CheckPassNames(options).ok());
  options.print_ir_after.insert("kiln-fusion");
  absl::Status s = CheckPassNames(options);
  EXPECT_EQ(s.code(), absl::StatusCode::kInvalidArgument);
  EXPECT_THAT(s.message(), HasSubstr("unknown pass 'kiln-fusion' to print the "
                                     "IR after; the pipeline's passes are "
                                     "kiln-fold-constants, "));
  options.disabled_passes.insert("lower-affine");
  EXPECT_THAT(CheckPassNames(options).message(),
              HasSubstr("unknown pass 'lower-affine' to disable; the graph "
                        "passes are kiln-fold-constants, kiln-simplify, "
                        "canonicalize, cse, kiln-insert-checks, "
                        "kiln-winograd, kiln-fuse"));
}

TEST(GraphCompileTest, DumpDirMustBeADirectory) {
  std::string out, err, file = TempPath("not-a-dir");
  std::ofstream(file) << "x";
  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--emit=graph", "--dump-dir", file},
                   &out, &err),
      2);
  EXPECT_THAT(
      err, HasSubstr("--dump-dir: '" + file + "' is a file, not a directory"));
  EXPECT_EQ(out, "");
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=graph",
                          "--dump-dir=" + file + "/sub"},
                         &out, &err),
            2);
  EXPECT_THAT(
      err, HasSubstr("--dump-dir: cannot create directory '" + file + "/sub'"));
  // The same mistake through the C++ API.
  PipelineOptions options;
  options.dump_dir = file;
  mlir::MLIRContext context;
  mlir::OpBuilder b(&context);
  mlir::OwningOpRef<mlir::ModuleOp> module =
      mlir::ModuleOp::create(b.getUnknownLoc());
  absl::Status s = RunPipeline(*module, options, Stage::kGraph);
  EXPECT_THAT(s.message(), HasSubstr("is a file, not a directory"));
}

TEST(GraphCompileTest, HelpListsPassesAndLevels) {
  std::string out, err;
  ASSERT_EQ(GraphCompile({"--help"}, &out, &err), 0);
  // Every pass --disable-pass accepts, in the list under its flag.
  size_t disable = out.find("--disable-pass=NAME");
  size_t next = out.find("\n  --", disable + 1);
  ASSERT_NE(disable, std::string::npos);
  std::string disable_help = out.substr(disable, next - disable);
  for (const std::string &name : GraphPassNames())
    EXPECT_THAT(disable_help, HasSubstr(name)) << disable_help;
  // Every pass --print-ir-after accepts, a lowering pass among them.
  size_t print = out.find("--print-ir-after=NAME");
  ASSERT_NE(print, std::string::npos);
  std::string print_help =
      out.substr(print, out.find("\n  --", print + 1) - print);
  for (const std::string &name : PipelinePassNames())
    EXPECT_THAT(print_help, HasSubstr(name)) << print_help;
  EXPECT_THAT(print_help, HasSubstr("kiln-plan-memory"));
  // What each level does, and that -O3 does nothing more than -O2.
  EXPECT_THAT(out, HasSubstr("-O0  kiln-insert-checks\n"));
  EXPECT_THAT(out, HasSubstr("-O1  kiln-fold-constants, canonicalize, cse,\n"));
  EXPECT_THAT(out, HasSubstr("-O2  kiln-fold-constants, kiln-simplify,\n"));
  EXPECT_THAT(out, HasSubstr("-O3  same as -O2 today\n"));
  EXPECT_EQ(PipelinePassNames(3), PipelinePassNames(2));
  EXPECT_NE(PipelinePassNames(2), PipelinePassNames(1));
  // No line of the help is wider than a terminal.
  std::istringstream lines(out);
  for (std::string line; std::getline(lines, line);)
    EXPECT_LE(line.size(), 80u) << line;
}

TEST(GraphCompileTest, ShapeErrorsNameOpInputsAndFlags) {
  // A GraphDef whose Gemm has transB set for weights stored [K,N].
  std::string model = TempPath("gemm_transb.pbtxt");
  std::ofstream(model) << R"pb(
    node {
      name: "h"
      op: "Placeholder"
      attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "shape" value { shape { dim: 2 dim: 8 } } }
    }
    node {
      name: "W2"
      op: "Constant"
      attr {
        key: "value"
        value { tensor { dtype: DT_FLOAT shape { dim: 8 dim: 3 } float_val: 1 } }
      }
    }
    node {
      name: "logits"
      op: "Gemm"
      input: "h"
      input: "W2"
      attr { key: "transB" value { i: 1 } }
    }
    signature { fetch: "logits" }
  )pb";
  std::string out, err;
  EXPECT_EQ(GraphCompile({model, "--emit=graph"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("error: invalid graph: 1 problem:\n  node "
                             "'logits' (Gemm): inner dimensions differ: A 'h' "
                             "[2,8] has 8 columns, but B 'W2' [8,3] transposed "
                             "by transB is [3,8] with 3 rows (they would agree "
                             "with transB=0)\n"));
  EXPECT_EQ(out, "");
}

TEST(GraphCompileTest, UnknownOpSuggestsAKnownOne) {
  std::string model = TempPath("relu6.pbtxt");
  std::ofstream(model) << R"pb(
    node {
      name: "x"
      op: "Placeholder"
      attr { key: "dtype" value { type: DT_FLOAT } }
      attr { key: "shape" value { shape { dim: 2 } } }
    }
    node { name: "r" op: "Relu6" input: "x" }
    signature { fetch: "r" }
  )pb";
  std::string out, err;
  EXPECT_EQ(GraphCompile({model, "--emit=graph"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("node 'r' (Relu6): unknown op 'Relu6'; did you "
                             "mean 'Relu'?\n"));
}

TEST(GraphCompileTest, ExitCodes) {
  std::string out, err;
  EXPECT_EQ(GraphCompile({"--help"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("--feed NAME=FILE.npy"));
  EXPECT_EQ(GraphCompile({}, &out, &err), 2);
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--bogus"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("unknown option '--bogus'"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=asm"}, &out, &err), 2);
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--feed", "x"}, &out, &err), 2);
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--output",
                          "y=/nonexistent/dir/y.npy"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("the directory /nonexistent/dir does not exist"));

  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("missing feed 'x' (f32[2,4])"));
  // Before anything compiles: no compile timing is printed.
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--compile-timing"},
                         &out, &err),
            1);
  EXPECT_THAT(err, HasSubstr("missing feed 'x' (f32[2,4])"));
  EXPECT_EQ(out, "");
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--feed",
                          "x=examples/mlp_x.npy", "--feed",
                          "probs=examples/mlp_x.npy", "--compile-timing"},
                         &out, &err),
            1);
  EXPECT_THAT(err, HasSubstr("feed 'probs' names a "));
  EXPECT_EQ(out, "");
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--feed",
                          "x=examples/mlp.pbtxt"},
                         &out, &err),
            1);
  EXPECT_THAT(err, HasSubstr("feed 'x': examples/mlp.pbtxt: not a .npy file"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--feed",
                          "x=examples/mlp_x.npy", "--fetch", "nope"},
                         &out, &err),
            1);
  EXPECT_THAT(err, HasSubstr("fetch 'nope' names no node"));
  EXPECT_EQ(GraphCompile({TempPath("no-such-model.pbtxt")}, &out, &err), 1);
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

TEST(GraphCompileArtifactTest, WritesAndRunsAnArtifact) {
  std::string out, err, path = TempPath("mlp.kiln");
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "-o", path}, &out, &err), 0)
      << err;
  EXPECT_THAT(out, HasSubstr("wrote " + path + " (for "));
  std::string compiled, loaded;
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--feed",
                          "x=examples/mlp_x.npy"},
                         &compiled, &err),
            0)
      << err;
  ASSERT_EQ(GraphCompile({path, "--run", "--feed", "x=examples/mlp_x.npy"},
                         &loaded, &err),
            0)
      << err;
  EXPECT_THAT(loaded, HasSubstr("load: "));
  auto first_line = [](const std::string &s) {
    return s.substr(0, s.find('\n'));
  };
  EXPECT_EQ(first_line(loaded), first_line(compiled));
  EXPECT_THAT(first_line(loaded), HasSubstr("probs: f32[2,3] = [["));

  // -o with --run writes, then runs what it wrote.
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "-o", TempPath("b.kiln"),
                          "--run", "--feed", "x=examples/mlp_x.npy"},
                         &out, &err),
            0)
      << err;
  EXPECT_EQ(first_line(out), first_line(compiled));

  ASSERT_EQ(GraphCompile({path, "--emit=plan"}, &out, &err), 0) << err;
  EXPECT_THAT(out, HasSubstr("3 dispatches"));
  EXPECT_THAT(out, HasSubstr("fetch probs: f32[2,3]"));
}

TEST(GraphCompileArtifactTest, CompileOptionsDoNotApplyToAnArtifact) {
  std::string out, err, path = TempPath("opts.kiln");
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "-o", path}, &out, &err), 0);
  for (const char *flag : {"-O3", "--stats", "--emit=llvm", "--freeze=x=a.npy",
                           "--target-cpu=znver4", "--input-shape=x=2x4"}) {
    EXPECT_EQ(GraphCompile({path, flag}, &out, &err), 2) << flag;
    EXPECT_THAT(err, HasSubstr("is a compiled artifact"));
  }
  // A truncated artifact is named as such.
  std::ofstream(TempPath("short.kiln"), std::ios::binary) << "KILNMODL....";
  EXPECT_EQ(GraphCompile({TempPath("short.kiln"), "--run"}, &out, &err), 1);
  EXPECT_THAT(err, HasSubstr("truncated artifact"));
}

TEST(GraphCompileArtifactTest, EmitsObjectAndHeader) {
  std::string out, err, prefix = TempPath("mlp_model");
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=obj,header",
                          "--class=app::Mlp", "-o", prefix},
                         &out, &err),
            0)
      << err;
  std::ifstream header(prefix + ".h");
  std::stringstream text;
  text << header.rdbuf();
  EXPECT_THAT(text.str(), HasSubstr("namespace app {"));
  EXPECT_THAT(text.str(), HasSubstr("class Mlp {"));
  EXPECT_THAT(text.str(), HasSubstr("feed_x_shape = {2, 4};"));
  EXPECT_THAT(text.str(), HasSubstr("const float *fetch_probs() const"));
  std::ifstream object(prefix + ".o", std::ios::binary);
  char magic[4] = {};
  object.read(magic, 4);
  EXPECT_EQ(std::string(magic, 4), "\x7f"
                                   "ELF");

  EXPECT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--emit=obj,header", "-o", prefix},
                   &out, &err),
      2);
  EXPECT_THAT(err, HasSubstr("needs --class=NAME"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=obj,header",
                          "--class=2bad", "-o", prefix},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("'2bad' is not a C++ class name"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=header", "--class=A"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("needs -o PREFIX"));
}

TEST(GraphCompileArtifactTest, CacheDirLoadsTheSecondTime) {
  std::string out, err, dir = TempPath("cli-cache");
  ASSERT_EQ(GraphCompile(
                {"examples/mlp.pbtxt", "--cache-dir", dir, "--compile-timing"},
                &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("compiled examples/mlp.pbtxt"));
  EXPECT_THAT(out, HasSubstr("LLVM to machine code"));
  ASSERT_EQ(GraphCompile(
                {"examples/mlp.pbtxt", "--cache-dir", dir, "--compile-timing"},
                &out, &err),
            0)
      << err;
  EXPECT_THAT(out, HasSubstr("loaded from the compilation cache"));
  EXPECT_THAT(out, HasSubstr("loaded examples/mlp.pbtxt"));
}

TEST(GraphCompileArtifactTest, PrintsItsVersion) {
  std::string out, err;
  ASSERT_EQ(GraphCompile({"--version"}, &out, &err), 0);
  EXPECT_THAT(out, HasSubstr("graph-compile (Kiln) "));
  EXPECT_THAT(out, HasSubstr("artifact format 2"));
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

TEST(GraphCompileArtifactTest, ClassNamesMustBeUsable) {
  std::string out, err, prefix = TempPath("cls");
  for (const char *bad : {"class", "std::Model", "a::__b", "_Upper", "a::"}) {
    EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=obj,header",
                            std::string("--class=") + bad, "-o", prefix},
                           &out, &err),
              2)
        << bad;
    EXPECT_THAT(err, HasSubstr("--class: ")) << bad;
  }
  // a::b_c and a_b::c are different classes with different symbols.
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=header",
                          "--class=a::b_c", "-o", prefix + "1"},
                         &out, &err),
            0);
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--emit=header",
                          "--class=a_b::c", "-o", prefix + "2"},
                         &out, &err),
            0);
  std::stringstream one, two;
  one << std::ifstream(prefix + "1.h").rdbuf();
  two << std::ifstream(prefix + "2.h").rdbuf();
  EXPECT_THAT(one.str(), HasSubstr("kiln_1a_3b_c_artifact"));
  EXPECT_THAT(two.str(), HasSubstr("kiln_3a_b_1c_artifact"));
}

TEST(GraphCompileArtifactTest, OutputMistakesAreUsageErrors) {
  std::string out, err;
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "-o"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("-o needs a value"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "-o", "examples/mlp.pbtxt"},
                         &out, &err),
            2);
  EXPECT_THAT(err, HasSubstr("would overwrite the model"));
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "-o", TempPath("c.kiln"),
                          "--cache-dir", TempPath("cc")},
                         &out, &err),
            2);
  // -o with --stats writes the artifact too; into a folder it creates.
  std::string nested = TempPath("new/folder/m.kiln");
  ASSERT_EQ(
      GraphCompile({"examples/mlp.pbtxt", "--stats", "-o", nested}, &out, &err),
      0)
      << err;
  EXPECT_THAT(out, HasSubstr("launch plan:"));
  EXPECT_THAT(out, HasSubstr("wrote " + nested));
  // An artifact's plan can go to a file.
  ASSERT_EQ(GraphCompile({nested, "--emit=plan", "-o", TempPath("plan.txt")},
                         &out, &err),
            0)
      << err;
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

TEST(GraphCompileArtifactTest, HeaderNamesAvoidReservedIdentifiers) {
  // "_Z", "x__y_" and "out.a" become feed_Z, fetch_x_y and fetch_out_a: no
  // doubled, leading or trailing underscores in what the header declares.
  std::string out, err, prefix = TempPath("reserved");
  std::ofstream(TempPath("reserved.pbtxt")) << R"pb(
version: 1
node {
  name: "_Z"
  op: "Placeholder"
  attr { key: "dtype" value { type: DT_FLOAT } }
  attr { key: "shape" value { shape { dim: 2 } } }
}
node { name: "x__y_" op: "Relu" input: "_Z" }
signature { feed: "_Z" fetch: "x__y_" }
)pb";
  ASSERT_EQ(GraphCompile({TempPath("reserved.pbtxt"), "--emit=header",
                          "--class=app::M", "-o", prefix},
                         &out, &err),
            0)
      << err;
  std::stringstream header;
  header << std::ifstream(prefix + ".h").rdbuf();
  EXPECT_THAT(header.str(), HasSubstr("float *feed_Z()"));
  EXPECT_THAT(header.str(), HasSubstr("const float *fetch_x_y() const"));
  EXPECT_THAT(header.str(), Not(HasSubstr("feed__")));
  EXPECT_THAT(header.str(), Not(HasSubstr("x__y()")));
  EXPECT_THAT(header.str(), Not(HasSubstr("y__shape")));
  for (const char *bad : {"kiln::X", "a::std::X"}) {
    EXPECT_EQ(GraphCompile({TempPath("reserved.pbtxt"), "--emit=header",
                            std::string("--class=") + bad, "-o", prefix},
                           &out, &err),
              2)
        << bad;
    EXPECT_THAT(err, HasSubstr("which the header's own code refers to"));
  }
}

} // namespace
} // namespace kiln

namespace kiln {
namespace {

TEST(GraphCompileArtifactTest, ThreadsMustBePositive) {
  std::string out, err;
  EXPECT_EQ(GraphCompile({"examples/mlp.pbtxt", "--threads=0"}, &out, &err), 2);
  EXPECT_THAT(err, HasSubstr("--threads expects a positive number, got '0'"));
  // Two threads give the bits one does.
  std::string one, two;
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--feed",
                          "x=examples/mlp_x.npy"},
                         &one, &err),
            0);
  ASSERT_EQ(GraphCompile({"examples/mlp.pbtxt", "--run", "--threads=2",
                          "--feed", "x=examples/mlp_x.npy"},
                         &two, &err),
            0);
  EXPECT_EQ(one.substr(0, one.find('\n')), two.substr(0, two.find('\n')));
}

} // namespace
} // namespace kiln
