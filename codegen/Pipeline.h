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

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace kiln {

struct LaunchPlan;
struct Signature;

/// How far the pipeline lowers.
enum class Stage {
  kGraph,   ///< Optimized kiln-dialect graph.
  kLinalg,  ///< linalg/tensor/arith/math on tensors.
  kBuffers, ///< linalg on memrefs, every temporary placed in one arena.
  kKernels, ///< Outlined kernel functions; @main is the launch plan.
  kLLVM,    ///< The kernels in the LLVM dialect, ready for translation.
};

struct PipelineOptions {
  /// 0 runs only what lowering needs; 1 folds constants and removes dead
  /// and duplicate ops; 2 and 3 also simplify algebraically.
  int opt_level = 2;
  /// Passes to leave out, by flag name ("kiln-simplify", "cse", ...).
  std::set<std::string> disabled_passes;
  /// Print the module after every pass, or after the named ones, to stderr.
  bool print_ir_after_all = false;
  std::set<std::string> print_ir_after;
  /// When set, write the module after each pass to DIR/NN-<pass>.mlir.
  std::string dump_dir;
  /// Print how long each pass took to stderr.
  bool pass_timing = false;
  /// Most bytes of new constant data constant folding may create.
  int64_t max_fold_bytes = int64_t{64} << 20;
  /// Let the memory plan place buffers whose lifetimes do not overlap at the
  /// same bytes, and elementwise kernels write in place. Off, every buffer
  /// has bytes of its own: a run must give bit-identical results either way.
  bool reuse_memory = true;
  /// Verify the IR after every pass (cheap at Kiln's sizes; on by default).
  bool verify_each = true;
  /// The target backend (TargetBackendNames() lists them).
  std::string target = "cpu";
};

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
/// drift from it. With the defaults, every name --print-ir-after can match.
std::vector<std::string> PipelinePassNames(int opt_level = 3,
                                           Stage stop_at = Stage::kLLVM);

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
