//===- CpuBackend.h - Compile an imported graph for the host CPU -*- C++
//-*-===//
//
// Part of Kiln. The CPU backend's entry point: from a module in the kiln
// dialect and its signature to an Executable (runtime/executable.h). It owns
// the calling convention of the code it makes: @main takes a pointer per
// feed and per fetch, except tensors with no elements, which no kernel
// reads or writes (an empty feed becomes an empty constant, an empty fetch
// is returned empty by the runtime).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_CPUBACKEND_H
#define KILN_CODEGEN_CPU_CPUBACKEND_H

#include <memory>

#include "absl/status/statusor.h"
#include "passes/Pipeline.h"
#include "runtime/executable.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace kiln {

/// Takes the tensors with no elements out of @main's arguments and results
/// (the convention above). Run before the pipeline; CompileForCpu does.
void PrepareEntryFunction(mlir::ModuleOp module);

/// Time spent in each phase of CompileForCpu.
struct CpuCompileTimings {
  double pipeline_ms = 0;
  double jit_ms = 0;
};

/// Prepares, optimizes, lowers and JIT-compiles `module` (@main in the kiln
/// dialect, as the importers make it, with `signature`'s feeds as its
/// arguments and fetches as its results) for the host CPU.
absl::StatusOr<std::unique_ptr<Executable>>
CompileForCpu(mlir::ModuleOp module, Signature signature,
              const PipelineOptions &options,
              CpuCompileTimings *timings = nullptr);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_CPUBACKEND_H
