//===- CpuBackend.h - The host CPU as a target ------------------*- C++ -*-===//
//
// Part of Kiln. The CPU backend: tiles and orders loops for the cache and
// the vector units (codegen/cpu/Passes.td), lowers the kernels through
// affine and scf loops to the LLVM dialect with the bare-pointer calling
// convention (a kernel takes one pointer per buffer, then its tile range),
// and JIT-compiles them for the host.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_CPUBACKEND_H
#define KILN_CODEGEN_CPU_CPUBACKEND_H

#include "codegen/TargetBackend.h"

namespace kiln {

class CpuBackend : public TargetBackend {
public:
  std::string name() const override { return "cpu"; }
  bool usesWinograd() const override { return true; }
  void addTensorPasses(mlir::OpPassManager &pm,
                       const PipelineOptions &options) const override;
  void addKernelPasses(mlir::OpPassManager &pm,
                       const PipelineOptions &options) const override;
  absl::StatusOr<TargetDescription>
  describeTarget(const PipelineOptions &options) const override;
  absl::StatusOr<TargetCode>
  produceCode(mlir::ModuleOp module, const LaunchPlan &plan,
              const PipelineOptions &options,
              const CodeRequest &request) const override;
};

} // namespace kiln

#endif // KILN_CODEGEN_CPU_CPUBACKEND_H
