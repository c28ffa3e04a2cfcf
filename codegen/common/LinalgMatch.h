//===- LinalgMatch.h - What the backends look for in linalg ---*- C++ -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMMON_LINALGMATCH_H
#define KILN_CODEGEN_COMMON_LINALGMATCH_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {

/// Whether `op`'s body is `out + in0 * in1` (either order of each): a
/// contraction's (matmul, convolution) multiply-accumulate.
bool isMultiplyAccumulate(mlir::linalg::GenericOp op);

/// The buffer `v` is a view of: a kernel argument or a global, or null.
mlir::Value rootOf(mlir::Value v);

/// Whether buffers `a` and `b` of a kernel may share bytes: views of the
/// same argument may; distinct arguments may unless one is llvm.noalias
/// (kiln-outline-kernels marks a buffer that shares no byte with the
/// kernel's others); Kiln's globals are constants, never written.
bool mayAlias(mlir::Value a, mlir::Value b);

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_LINALGMATCH_H
