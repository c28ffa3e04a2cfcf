//===- Matmul.h - Library matmuls in kiln.launches --------------*- C++ -*-===//
//
// Part of Kiln. kiln-cuda-map-kernels turns a matmul-shaped contraction
// (with its zero fill, and a bias and ReLU epilogue after it) into a
// library call rather than a generated kernel: a launch of kiln.launches
// with a fifth field, the CudaMatmul (runtime/cuda_code.h) as an array of
// i64. The cuda backend copies it into the artifact, where the runtime
// runs it with cuBLASLt; kiln-cuda-emulate-on-host runs it on the host.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CUDA_MATMUL_H
#define KILN_CODEGEN_CUDA_MATMUL_H

#include <optional>

#include "runtime/cuda_code.h"

#include "mlir/IR/Builders.h"

namespace kiln {

/// The fifth field of a library launch: batch, m, n, k; A, B, C and the
/// bias each as buffer, offset, batch, rows, cols; relu; accumulate; tf32.
mlir::ArrayAttr matmulToAttr(mlir::Builder &b, const CudaMatmul &matmul);

/// The matmul of a launch's fifth field; nullopt if it is not one.
std::optional<CudaMatmul> matmulFromAttr(mlir::Attribute attr);

} // namespace kiln

#endif // KILN_CODEGEN_CUDA_MATMUL_H
