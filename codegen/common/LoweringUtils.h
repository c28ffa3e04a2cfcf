//===- LoweringUtils.h - Helpers for lowering kiln to linalg ----*- C++ -*-===//
//
// Part of Kiln. Internal to codegen/common: the builders every kiln-to-linalg
// pattern shares, and the functions that add each family of patterns.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMMON_LOWERINGUTILS_H
#define KILN_CODEGEN_COMMON_LOWERINGUTILS_H

#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/Transforms/DialectConversion.h"

// The scalar builders (isFloat, maxValues, convertScalar ...) live with the
// ops' scalar bodies in ir/.
#include "ir/ScalarBuilders.h"

namespace kiln {

using BodyFn = llvm::function_ref<mlir::Value(mlir::OpBuilder &, mlir::Location,
                                              mlir::ValueRange)>;
using CombineFn = llvm::function_ref<mlir::Value(
    mlir::OpBuilder &, mlir::Location, mlir::Value, mlir::Value)>;

/// Zero of element type `t`.
inline mlir::TypedAttr zeroAttr(mlir::OpBuilder &b, mlir::Type t) {
  return b.getZeroAttr(t);
}

/// Result `i` of `op`, with signless element type.
mlir::RankedTensorType resultType(mlir::Operation *op, unsigned i = 0);
/// Converts unsigned integer tensors to signless ones.
class SignlessTypeConverter : public mlir::TypeConverter {
public:
  SignlessTypeConverter();
};
/// Folds the pairs of casts SignlessTypeConverter's materializations left
/// (signless to unsigned and back) once every op is converted; fails if
/// any other cast is left.
mlir::LogicalResult foldSignlessCasts(mlir::Operation *root);

mlir::Value emptyTensor(mlir::OpBuilder &b, mlir::Location loc,
                        mlir::RankedTensorType type);
/// A tensor of `type` filled with `value`.
mlir::Value filledTensor(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::RankedTensorType type, mlir::TypedAttr value);

/// Reads an input of type `in` at the iteration point of an output of type
/// `out` under NumPy broadcasting.
mlir::AffineMap broadcastMap(mlir::RankedTensorType in,
                             mlir::RankedTensorType out);
/// The map from a rank-`rank` iteration space to the dims not in `reduced`.
mlir::AffineMap dropDimsMap(int64_t rank, llvm::ArrayRef<bool> reduced,
                            mlir::MLIRContext *ctx);

/// One linalg.generic writing into `init`.
mlir::Value buildGeneric(mlir::OpBuilder &b, mlir::Location loc,
                         mlir::ValueRange inputs,
                         llvm::ArrayRef<mlir::AffineMap> inputMaps,
                         mlir::Value init, mlir::AffineMap outMap,
                         llvm::ArrayRef<mlir::utils::IteratorType> iterators,
                         BodyFn body);
/// An elementwise generic over `outType` whose inputs broadcast to it; the
/// body gets the inputs' elements and then the output's.
mlir::Value buildElementwise(mlir::OpBuilder &b, mlir::Location loc,
                             mlir::ValueRange inputs,
                             mlir::RankedTensorType outType, BodyFn body);
/// Reduces `input` over the dims marked in `reduced`, starting from
/// `identity`; `combine(element, accumulator)`. Reduced dims are removed.
mlir::Value buildReduction(mlir::OpBuilder &b, mlir::Location loc,
                           mlir::Value input, llvm::ArrayRef<bool> reduced,
                           mlir::TypedAttr identity, CombineFn combine);
/// The same elements in `type`'s static shape.
mlir::Value reshapeTo(mlir::OpBuilder &b, mlir::Location loc, mlir::Value input,
                      mlir::RankedTensorType type);

void populateElementwiseLowering(mlir::RewritePatternSet &patterns,
                                 mlir::TypeConverter &converter);
/// MatMul, Gemm, Einsum (ContractionLowering.cc).
void populateContractionLowering(mlir::RewritePatternSet &patterns,
                                 mlir::TypeConverter &converter);
/// Softmax, the reductions, arg-reductions, CumSum (ReductionLowering.cc).
void populateReductionLowering(mlir::RewritePatternSet &patterns,
                               mlir::TypeConverter &converter);
/// Conv, ConvTranspose, pooling (WindowLowering.cc).
void populateWindowLowering(mlir::RewritePatternSet &patterns,
                            mlir::TypeConverter &converter);
/// TopK (SortLowering.cc).
void populateSortLowering(mlir::RewritePatternSet &patterns,
                          mlir::TypeConverter &converter);
void populateIndexedLowering(mlir::RewritePatternSet &patterns,
                             mlir::TypeConverter &converter);
void populateRecurrenceLowering(mlir::RewritePatternSet &patterns,
                                mlir::TypeConverter &converter);
void populateDataMovementLowering(mlir::RewritePatternSet &patterns,
                                  mlir::TypeConverter &converter);
/// Det (LinearAlgebraLowering.cc).
void populateLinearAlgebraLowering(mlir::RewritePatternSet &patterns,
                                   mlir::TypeConverter &converter);
/// kiln.if and kiln.loop to scf.if and scf.for (ControlFlowLowering.cc).
void populateControlFlowLowering(mlir::RewritePatternSet &patterns,
                                 mlir::TypeConverter &converter);

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_LOWERINGUTILS_H
