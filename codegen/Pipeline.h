//===- Pipeline.h - Kiln's pass pipeline ------------------------*- C++ -*-===//
//
// Part of Kiln. The pipeline is built in one function from one options
// struct; no pass reads a global flag. Its phases: the graph passes
// (passes/), lowering to linalg, bufferization, memory planning and kernel
// outlining (codegen/common), then the target backend's code generation
// (codegen/cpu).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_PIPELINE_H
#define KILN_CODEGEN_PIPELINE_H

#include <set>
#include <string>
#include <vector>

#include "absl/status/status.h"
#include "codegen/PipelineOptions.h"

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace kiln {

struct LaunchPlan;
struct Signature;

/// Wall time of the pipeline's phases, for --compile-timing.
struct PipelinePhaseTimes {
  double graph_ms = 0;    ///< The graph passes.
  double lowering_ms = 0; ///< To linalg, buffers, the plan, the kernels.
  double codegen_ms = 0;  ///< The backend's kernel passes.
};

/// The flag names of the graph-level passes BuildPipeline may run, in order;
/// --disable-pass takes these.
std::vector<std::string> GraphPassNames();

/// The flag names (MLIR pass arguments) of every pass BuildPipeline adds at
/// `opt_level` with nothing disabled, up to `stop_at`, in pipeline order and
/// each once; read from the pass manager BuildPipeline fills, so it cannot
/// drift from it. With the defaults, every name --print-ir-after can match
/// for the cpu target; `target` names another backend.
std::vector<std::string> PipelinePassNames(int opt_level = 3,
                                           Stage stop_at = Stage::kLLVM,
                                           const std::string &target = "cpu");

/// Checks that `options.target` names a backend, every name in
/// `options.disabled_passes` is a graph pass and every name in
/// `options.print_ir_after` is a pass of the pipeline; the error lists the
/// names that are accepted.
absl::Status CheckPassNames(const PipelineOptions &options);

/// Registers the dialects the pipeline lowers through and the external
/// interface models (bufferization, deallocation) it relies on.
void RegisterPipelineDialects(mlir::DialectRegistry &registry);

/// Adds the passes that take a module from the kiln dialect to `stop_at`.
/// Past Stage::kKernels the launch plan (@main) leaves the module: it is
/// written to `plan` when given, with `signature` naming @main's arguments.
/// `options.target` must name a backend (CheckPassNames checks it).
void BuildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                   Stage stop_at = Stage::kLLVM,
                   const Signature *signature = nullptr,
                   LaunchPlan *plan = nullptr);

/// Runs the pipeline on `module`; errors name the user's nodes. Past
/// Stage::kKernels, the launch plan goes to `plan` when given.
absl::Status RunPipeline(mlir::ModuleOp module, const PipelineOptions &options,
                         Stage stop_at = Stage::kLLVM,
                         const Signature *signature = nullptr,
                         LaunchPlan *plan = nullptr,
                         PipelinePhaseTimes *times = nullptr);

} // namespace kiln

#endif // KILN_CODEGEN_PIPELINE_H
