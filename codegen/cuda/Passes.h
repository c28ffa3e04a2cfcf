//===- Passes.h - The CUDA backend's passes ---------------------*- C++ -*-===//
//
// Part of Kiln. Declared in codegen/cuda/Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CUDA_PASSES_H
#define KILN_CODEGEN_CUDA_PASSES_H

#include <memory>

#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "codegen/cuda/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cuda/Passes.h.inc"

/// The gpu.module the CUDA backend's kernels live in.
inline constexpr char kCudaKernelModule[] = "kiln_kernels";

} // namespace kiln

#endif // KILN_CODEGEN_CUDA_PASSES_H
