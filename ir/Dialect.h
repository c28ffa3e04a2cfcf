//===- Dialect.h - The kiln dialect -----------------------------*- C++ -*-===//
//
// Part of Kiln. Include this header to use the kiln dialect's ops.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_DIALECT_H
#define KILN_IR_DIALECT_H

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ir/KilnDialect.h.inc"

#define GET_OP_CLASSES
#include "ir/KilnOps.h.inc"

namespace kiln {

/// NumPy broadcasting of two static shapes; failure when they don't
/// broadcast.
mlir::LogicalResult broadcastShapes(llvm::ArrayRef<int64_t> a,
                                    llvm::ArrayRef<int64_t> b,
                                    llvm::SmallVectorImpl<int64_t> &result);

/// Resolves a possibly negative axis against `rank`; -1 when out of range.
int64_t normalizeAxis(int64_t axis, int64_t rank);

} // namespace kiln

#endif // KILN_IR_DIALECT_H
