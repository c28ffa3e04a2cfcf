//===- LoweringUtils.cc - Helpers for lowering kiln to linalg -------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {

using utils::IteratorType;

RankedTensorType resultType(Operation *op, unsigned i) {
  return cast<RankedTensorType>(signless(op->getResult(i).getType()));
}

SignlessTypeConverter::SignlessTypeConverter() {
  addConversion([](Type t) { return signless(t); });
  // Where a value crosses from an op converted to one not yet converted
  // (a kiln.loop's body, moved into its scf.for before the ops in it are
  // lowered), a cast stands between; the pass folds each pair of them
  // away once every op is converted (foldSignlessCasts).
  auto cast = [](OpBuilder &b, Type type, ValueRange inputs,
                 Location loc) -> std::optional<Value> {
    if (inputs.size() != 1)
      return std::nullopt;
    return b.create<UnrealizedConversionCastOp>(loc, type, inputs).getResult(0);
  };
  addSourceMaterialization(cast);
  addTargetMaterialization(cast);
}

LogicalResult foldSignlessCasts(Operation *root) {
  SmallVector<UnrealizedConversionCastOp> casts;
  root->walk([&](UnrealizedConversionCastOp op) { casts.push_back(op); });
  // A cast of a cast back to the first one's input type is that input.
  for (UnrealizedConversionCastOp op : casts) {
    if (op.getNumOperands() != 1 || op.getNumResults() != 1)
      continue;
    auto inner = op.getOperand(0).getDefiningOp<UnrealizedConversionCastOp>();
    if (inner && inner.getNumOperands() == 1 &&
        inner.getOperand(0).getType() == op.getResult(0).getType())
      op.getResult(0).replaceAllUsesWith(inner.getOperand(0));
  }
  bool left = false;
  for (UnrealizedConversionCastOp op : llvm::reverse(casts)) {
    if (op->use_empty())
      op->erase();
    else
      left = true;
  }
  if (left)
    return root->emitError("an unsigned integer value was left unconverted "
                           "to its signless form");
  return success();
}

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
}

Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                   TypedAttr value) {
  Value scalar = b.create<arith::ConstantOp>(loc, value);
  return b.create<linalg::FillOp>(loc, scalar, emptyTensor(b, loc, type))
      .getResult(0);
}

AffineMap broadcastMap(RankedTensorType in, RankedTensorType out) {
  MLIRContext *ctx = in.getContext();
  int64_t offset = out.getRank() - in.getRank();
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < in.getRank(); ++i) {
    if (in.getDimSize(i) == 1 && out.getDimSize(i + offset) != 1)
      exprs.push_back(getAffineConstantExpr(0, ctx));
    else
      exprs.push_back(getAffineDimExpr(i + offset, ctx));
  }
  return AffineMap::get(out.getRank(), 0, exprs, ctx);
}

AffineMap dropDimsMap(int64_t rank, ArrayRef<bool> reduced, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (!reduced[i])
      exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

Value buildGeneric(OpBuilder &b, Location loc, ValueRange inputs,
                   ArrayRef<AffineMap> inputMaps, Value init, AffineMap outMap,
                   ArrayRef<IteratorType> iterators, BodyFn body) {
  SmallVector<AffineMap> maps(inputMaps);
  maps.push_back(outMap);
  auto generic = b.create<linalg::GenericOp>(
      loc, init.getType(), inputs, init, maps, iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        nb.create<linalg::YieldOp>(nloc, body(nb, nloc, args));
      });
  return generic.getResult(0);
}

Value buildElementwise(OpBuilder &b, Location loc, ValueRange inputs,
                       RankedTensorType outType, BodyFn body) {
  SmallVector<AffineMap> maps;
  for (Value in : inputs)
    maps.push_back(broadcastMap(cast<RankedTensorType>(in.getType()), outType));
  SmallVector<IteratorType> iterators(outType.getRank(),
                                      IteratorType::parallel);
  return buildGeneric(b, loc, inputs, maps, emptyTensor(b, loc, outType),
                      b.getMultiDimIdentityMap(outType.getRank()), iterators,
                      body);
}

Value buildReduction(OpBuilder &b, Location loc, Value input,
                     ArrayRef<bool> reduced, TypedAttr identity,
                     CombineFn combine) {
  auto inType = cast<RankedTensorType>(input.getType());
  SmallVector<int64_t> shape;
  SmallVector<IteratorType> iterators;
  for (int64_t i = 0; i < inType.getRank(); ++i) {
    iterators.push_back(reduced[i] ? IteratorType::reduction
                                   : IteratorType::parallel);
    if (!reduced[i])
      shape.push_back(inType.getDimSize(i));
  }
  auto outType = RankedTensorType::get(shape, inType.getElementType());
  Value init = filledTensor(b, loc, outType, identity);
  return buildGeneric(
      b, loc, input, b.getMultiDimIdentityMap(inType.getRank()), init,
      dropDimsMap(inType.getRank(), reduced, b.getContext()), iterators,
      [&](OpBuilder &nb, Location nloc, ValueRange args) {
        return combine(nb, nloc, args[0], args[1]);
      });
}

Value reshapeTo(OpBuilder &b, Location loc, Value input,
                RankedTensorType type) {
  if (input.getType() == type)
    return input;
  auto shapeType = RankedTensorType::get({type.getRank()}, b.getIndexType());
  SmallVector<APInt> dims;
  for (int64_t d : type.getShape())
    dims.push_back(APInt(64, d));
  Value shapeValue =
      b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(shapeType, dims));
  return b.create<tensor::ReshapeOp>(loc, type, input, shapeValue);
}

} // namespace kiln
