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
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact.h"

namespace mlir {
class ModuleOp;
class OpPassManager;
} // namespace mlir

namespace kiln {

struct PipelineOptions;

/// What produceCode makes.
struct CodeRequest {
  /// Each kernel's entry point is this prefix and the kernel's name.
  std::string symbol_prefix = "kiln_";
  /// An object to link into a program (--emit=obj) rather than what an
  /// artifact carries (for the CPU, a shared object).
  bool object = false;
  /// Read-only data the object defines besides the kernels: symbol, bytes.
  std::vector<std::pair<std::string, std::string>> data;
};

/// Machine code for a launch plan's kernels, and the time it took.
struct TargetCode {
  std::string code;
  double llvm_ms = 0; ///< Optimizing and emitting machine code.
  double link_ms = 0; ///< Linking it.
};

class TargetBackend {
public:
  virtual ~TargetBackend() = default;

  /// The name --target takes ("cpu").
  virtual std::string name() const = 0;

  /// Whether a lone linalg op's kernel gets a grid of tiles (its outer
  /// parallel loop) that the runtime splits over CPU threads; a GPU backend
  /// maps parallel iterations to its own threads instead.
  virtual bool usesGrids() const { return true; }

  /// Whether 3x3 convolutions become Winograd F(4,3) (kiln-winograd): a
  /// backend whose contractions vectorize along the width gains from it.
  virtual bool usesWinograd() const { return false; }

  /// Passes on linalg on tensors, while kiln.fusion ops still mark the
  /// kernels (tiling, loop order).
  virtual void addTensorPasses(mlir::OpPassManager &pm,
                               const PipelineOptions &options) const = 0;

  /// Passes that lower the outlined kernels (the module without @main) to
  /// what produceCode takes.
  virtual void addKernelPasses(mlir::OpPassManager &pm,
                               const PipelineOptions &options) const = 0;

  /// The machine `options` compile for (its target triple and CPU), as an
  /// artifact records it; an error when the backend does not know it.
  virtual absl::StatusOr<TargetDescription>
  describeTarget(const PipelineOptions &options) const = 0;

  /// Machine code for every kernel `plan` names, from `module` after
  /// addKernelPasses, as `request` asks.
  virtual absl::StatusOr<TargetCode>
  produceCode(mlir::ModuleOp module, const LaunchPlan &plan,
              const PipelineOptions &options,
              const CodeRequest &request) const = 0;
};

/// The backend named `name`, or null.
const TargetBackend *FindTargetBackend(const std::string &name);

/// The names of every backend.
std::vector<std::string> TargetBackendNames();

} // namespace kiln

#endif // KILN_CODEGEN_TARGETBACKEND_H
