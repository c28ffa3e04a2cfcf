//===- LinalgMatch.h - Shapes of linalg ops the backends look for -*- C++
//-*-===//
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

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_LINALGMATCH_H
