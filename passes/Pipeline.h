//===- Pipeline.h - Kiln's pass pipeline ------------------------*- C++ -*-===//
//
// Part of Kiln. The pipeline is built in one function from one options
// struct; no pass reads a global flag.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_PIPELINE_H
#define KILN_PASSES_PIPELINE_H

#include <string>
#include <vector>

#include "absl/status/status.h"

namespace mlir {
class DialectRegistry;
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace kiln {

/// How far the pipeline lowers.
enum class Stage {
  kGraph,  ///< Optimized kiln-dialect graph.
  kLinalg, ///< linalg/tensor/arith/math on tensors.
  kLLVM,   ///< The LLVM dialect, ready for translation to LLVM IR.
};

struct PipelineOptions {
  /// 0 runs only what lowering needs; 1 and above also fold and simplify.
  int opt_level = 2;
  /// Print the module after every pass to stderr.
  bool print_ir_after_all = false;
  /// Verify the IR after every pass (cheap at Kiln's sizes; on by default).
  bool verify_each = true;
};

/// Registers the dialects the pipeline lowers through and the external
/// interface models (bufferization, deallocation) it relies on.
void RegisterPipelineDialects(mlir::DialectRegistry &registry);

/// Adds the passes that take a module from the kiln dialect to `stop_at`.
void BuildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                   Stage stop_at = Stage::kLLVM);

/// Runs the pipeline on `module`; errors name the user's nodes.
absl::Status RunPipeline(mlir::ModuleOp module, const PipelineOptions &options,
                         Stage stop_at = Stage::kLLVM);

} // namespace kiln

#endif // KILN_PASSES_PIPELINE_H
