//===- ScalarBuilders.h - arith on one element, as Kiln means it -*- C++
//-*-===//
//
// Part of Kiln. Builders of scalar arithmetic with Kiln's semantics (NaN
// propagating max and min, i1 as logic, ONNX Cast), shared by the ops'
// scalar bodies (ScalarBodies.cc) and the lowerings in codegen/common.
// Kiln's IR keeps signedness (ui8 ...); these work on signless scalars and
// take the unsigned flag where it matters. arith and math only.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_SCALARBUILDERS_H
#define KILN_IR_SCALARBUILDERS_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"

namespace kiln {

inline bool isFloat(mlir::Type t) { return llvm::isa<mlir::FloatType>(t); }

/// True for unsigned integers and tensors of them.
bool isUnsignedInt(mlir::Type t);
/// The signless form of an unsigned integer type (or tensor of one).
mlir::Type signless(mlir::Type t);

/// A scalar constant of element type `t` holding `v` (truncated for ints).
mlir::Value scalarConstant(mlir::OpBuilder &b, mlir::Location loc, mlir::Type t,
                           double v);
/// The identity of max (-inf or the smallest integer) and of min.
mlir::TypedAttr lowestAttr(mlir::OpBuilder &b, mlir::Type t,
                           bool isUnsigned = false);
mlir::TypedAttr highestAttr(mlir::OpBuilder &b, mlir::Type t,
                            bool isUnsigned = false);

mlir::Value addValues(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value y);
mlir::Value mulValues(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value y);
/// NaN-propagating for floats; signed or unsigned for integers.
mlir::Value maxValues(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value y, bool isUnsigned = false);
mlir::Value minValues(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                      mlir::Value y, bool isUnsigned = false);
/// x (unsigned if `fromUnsigned`) converted to element type `to` (signless;
/// unsigned if `toUnsigned`), with ONNX Cast semantics.
mlir::Value convertScalar(mlir::OpBuilder &b, mlir::Location loc, mlir::Value x,
                          mlir::Type to, bool fromUnsigned = false,
                          bool toUnsigned = false);

} // namespace kiln

#endif // KILN_IR_SCALARBUILDERS_H
