//===- TargetBackend.h - What a code generation target provides -*- C++ -*-===//
//
// Part of Kiln. The pipeline is the same for every target up to outlined
// kernels on buffers and the launch plan (codegen/common); a TargetBackend
// owns the rest: its tuning of linalg on tensors, its lowering of the
// kernels and how it turns them into machine code. A new target is a new
// folder beside codegen/cpu with one TargetBackend, listed in Targets.cc.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_TARGETBACKEND_H
#define KILN_CODEGEN_TARGETBACKEND_H

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/executable.h"

namespace mlir {
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace kiln {

struct PipelineOptions;

/// The machine code of a launch plan's kernels, in the plan's order.
struct KernelTable {
  std::vector<KernelFn> kernels;
  /// Keeps the code alive (a JIT engine, a loaded library).
  std::shared_ptr<const void> code;
};

class TargetBackend {
public:
  virtual ~TargetBackend() = default;

  /// The name --target takes ("cpu").
  virtual std::string name() const = 0;

  /// Passes on linalg on tensors, while kiln.fusion ops still mark the
  /// kernels (tiling, loop order).
  virtual void addTensorPasses(mlir::OpPassManager &pm,
                               const PipelineOptions &options) const = 0;

  /// Passes that lower the outlined kernels (the module without @main) to
  /// what produceKernels takes.
  virtual void addKernelPasses(mlir::OpPassManager &pm,
                               const PipelineOptions &options) const = 0;

  /// Machine code for every kernel `plan` names, from `module` after
  /// addKernelPasses.
  virtual absl::StatusOr<KernelTable>
  produceKernels(mlir::ModuleOp module, const LaunchPlan &plan) const = 0;
};

/// The backend named `name`, or null.
const TargetBackend *FindTargetBackend(const std::string &name);

/// The names of every backend.
std::vector<std::string> TargetBackendNames();

} // namespace kiln

#endif // KILN_CODEGEN_TARGETBACKEND_H
