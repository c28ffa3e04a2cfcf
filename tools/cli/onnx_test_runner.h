//===- onnx_test_runner.h - Run ONNX backend test folders -------*- C++ -*-===//
//
// Part of Kiln. An ONNX backend test is a folder with model.onnx and
// test_data_set_N/{input_k,output_k}.pb. The runner compiles the model, runs
// every data set and compares with ONNX's expected outputs.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_CLI_ONNX_TEST_RUNNER_H
#define KILN_TOOLS_CLI_ONNX_TEST_RUNNER_H

#include <iosfwd>
#include <string>
#include <vector>

namespace kiln {

struct OnnxTestOptions {
  int opt_level = 2;
  /// A file of expected skips: one test per line ("suite/test reason...");
  /// '#' starts a comment. A listed test that Kiln does not support counts
  /// as skipped; anything else unsupported counts as failed, and so does a
  /// listed test that passes.
  std::string expected_skips;
  /// The memory plan's reuse (PipelineOptions::reuse_memory).
  bool reuse_memory = true;
  /// Also compile every test without memory reuse and require outputs
  /// bit-identical to the planned ones.
  bool differential_plan = false;
  /// Threads each run uses (SessionOptions::threads); with
  /// differential_plan the reference run uses one, so split grids must
  /// give the same bits.
  int threads = 1;
  /// The target backend and, for cuda, the GPU (PipelineOptions).
  std::string target = "cpu";
  std::string gpu_arch;
  bool gpu_libraries = true;
  bool allow_tf32 = false;
  /// When set, a folder where each test that compiles leaves its artifact,
  /// its first data set's feeds and expected fetches (.npy) and a case.txt
  /// naming them, for tools/gpu_check.sh to run where the target's device
  /// is; a run that finds no CUDA device still counts as passed.
  std::string save_cases;
};

/// Runs each folder in `paths` (a test, or a folder of tests), printing one
/// line per test and then "N passed, N failed, N skipped". Returns the
/// number of failures, or -1 when the skip list cannot be read.
int RunOnnxTests(const std::vector<std::string> &paths,
                 const OnnxTestOptions &options, std::ostream &out);

} // namespace kiln

#endif // KILN_TOOLS_CLI_ONNX_TEST_RUNNER_H
