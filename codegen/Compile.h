//===- Compile.h - From an imported graph to an Executable ------*- C++ -*-===//
//
// Part of Kiln. The compiler's entry point: a module in the kiln dialect and
// its signature in, an Executable (runtime/executable.h) out, for the
// target PipelineOptions::target names.
//
// The calling convention between the compiler and the runtime: @main's
// arguments are the feeds that have elements, then (after bufferization)
// the fetches that have elements as out-parameters, then (after memory
// planning) the arena. A tensor with no elements is never passed: an empty
// feed becomes an empty constant, an empty fetch is returned empty by the
// runtime. Each kernel takes its buffers' base pointers, then its tile
// range (runtime/executable.h, KernelFn).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMPILE_H
#define KILN_CODEGEN_COMPILE_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "codegen/Pipeline.h"
#include "runtime/artifact.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace kiln {

/// Takes the tensors with no elements out of @main's arguments and results
/// (the convention above). Run before the pipeline; Compile does.
void PrepareEntryFunction(mlir::ModuleOp module);

/// Time spent in each phase of Compile.
struct CompileTimings {
  double pipeline_ms = 0;    ///< Graph passes, lowering, kernel codegen.
  PipelinePhaseTimes phases; ///< pipeline_ms, phase by phase.
  double llvm_ms = 0;        ///< Machine code for the kernels.
  double link_ms = 0;        ///< Linking it (into a shared object).
  double load_ms = 0;        ///< Loading the artifact (Compile only).
};

/// Prepares, optimizes, lowers and compiles `module` (@main in the kiln
/// dialect, as the importers make it, with `signature`'s feeds as its
/// arguments and fetches as its results) for `options.target`, into what
/// `graph-compile -o` writes.
absl::StatusOr<Artifact> CompileToArtifact(mlir::ModuleOp module,
                                           Signature signature,
                                           const PipelineOptions &options,
                                           CompileTimings *timings = nullptr);

/// CompileToArtifact, then LoadArtifact: the in-process compile runs what
/// an artifact file would.
absl::StatusOr<std::unique_ptr<Executable>>
Compile(mlir::ModuleOp module, Signature signature,
        const PipelineOptions &options, CompileTimings *timings = nullptr);

/// What --emit=obj makes: an object to link into a program.
struct CompiledObject {
  /// The kernels' entry points (`symbol_prefix` + kernel name) and the
  /// symbol `symbol_prefix` + "artifact": the artifact file's bytes with
  /// no code (signature, plan, constants), 64-byte aligned.
  std::string object;
  Artifact artifact;         ///< What the object holds, its `code` empty.
  size_t artifact_bytes = 0; ///< The size of the artifact symbol.
};

absl::StatusOr<CompiledObject> CompileToObject(
    mlir::ModuleOp module, Signature signature, const PipelineOptions &options,
    const std::string &symbol_prefix, CompileTimings *timings = nullptr);

} // namespace kiln

#endif // KILN_CODEGEN_COMPILE_H
