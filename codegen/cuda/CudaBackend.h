//===- CudaBackend.h - NVIDIA GPUs as a target ------------------*- C++ -*-===//
//
// Part of Kiln. The cuda backend: each outlined kernel becomes GPU kernels
// (kiln-cuda-map-kernels), lowered through MLIR's gpu and nvvm dialects to
// PTX for the chip --gpu-arch names, and assembled into a cubin with ptxas
// where the CUDA toolkit is installed (which also validates the PTX). The
// code it produces is a CudaCode (runtime/cuda_code.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CUDA_CUDABACKEND_H
#define KILN_CODEGEN_CUDA_CUDABACKEND_H

#include "codegen/TargetBackend.h"

namespace kiln {

class CudaBackend : public TargetBackend {
public:
  std::string name() const override { return "cuda"; }
  bool usesGrids() const override { return false; }
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

/// The cuda target's kernels and launches run on the host CPU, one thread
/// at a time (kiln-cuda-emulate-on-host): checks the GPU mapping by
/// running it where there is no GPU. For tests, not for speed.
class CudaOnCpuBackend : public TargetBackend {
public:
  std::string name() const override { return "cuda-on-cpu"; }
  bool usesGrids() const override { return false; }
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

/// The chips --gpu-arch takes.
const std::vector<std::string> &CudaChips();

/// The CUDA toolkit whose libdevice (nvvm/libdevice/libdevice.10.bc) the
/// PTX links for math functions: the first of $KILN_CUDA_TOOLKIT,
/// $CUDA_HOME, $CUDA_PATH and $CUDA_ROOT that is set, else
/// /usr/local/cuda; empty when it has no libdevice (then a model with math
/// functions, exp or sqrt alike, is refused).
std::string FindCudaToolkit();

/// The ptxas the backend runs: $KILN_PTXAS, else the toolkit's, else ptxas
/// on the PATH; empty when none exists (a $KILN_PTXAS that is not an
/// executable is an error of the compile).
std::string FindPtxas();

} // namespace kiln

#endif // KILN_CODEGEN_CUDA_CUDABACKEND_H
