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

bool isUnsignedInt(Type t) {
  if (auto shaped = dyn_cast<ShapedType>(t))
    t = shaped.getElementType();
  return t.isUnsignedInteger();
}

Type signless(Type t) {
  if (auto tensor = dyn_cast<RankedTensorType>(t))
    return RankedTensorType::get(tensor.getShape(),
                                 signless(tensor.getElementType()));
  if (t.isUnsignedInteger())
    return IntegerType::get(t.getContext(), t.getIntOrFloatBitWidth());
  return t;
}

RankedTensorType resultType(Operation *op, unsigned i) {
  return cast<RankedTensorType>(signless(op->getResult(i).getType()));
}

SignlessTypeConverter::SignlessTypeConverter() {
  addConversion([](Type t) { return signless(t); });
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

Value scalarConstant(OpBuilder &b, Location loc, Type t, double v) {
  if (isFloat(t))
    return b.create<arith::ConstantOp>(loc, b.getFloatAttr(t, v));
  return b.create<arith::ConstantOp>(
      loc, b.getIntegerAttr(t, static_cast<int64_t>(v)));
}

TypedAttr lowestAttr(OpBuilder &b, Type t, bool isUnsigned) {
  if (auto f = dyn_cast<FloatType>(t))
    return b.getFloatAttr(t, APFloat::getInf(f.getFloatSemantics(), true));
  if (t.isInteger(1) || isUnsigned)
    return b.getIntegerAttr(t, 0);
  return b.getIntegerAttr(t,
                          APInt::getSignedMinValue(t.getIntOrFloatBitWidth()));
}

TypedAttr highestAttr(OpBuilder &b, Type t, bool isUnsigned) {
  if (auto f = dyn_cast<FloatType>(t))
    return b.getFloatAttr(t, APFloat::getInf(f.getFloatSemantics(), false));
  if (t.isInteger(1))
    return b.getIntegerAttr(t, 1);
  if (isUnsigned)
    return b.getIntegerAttr(t, APInt::getMaxValue(t.getIntOrFloatBitWidth()));
  return b.getIntegerAttr(t,
                          APInt::getSignedMaxValue(t.getIntOrFloatBitWidth()));
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

Value addValues(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::AddFOp>(loc, x, y);
  return b.create<arith::AddIOp>(loc, x, y);
}

Value mulValues(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::MulFOp>(loc, x, y);
  if (x.getType().isInteger(1))
    return b.create<arith::AndIOp>(loc, x, y);
  return b.create<arith::MulIOp>(loc, x, y);
}

Value maxValues(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isFloat(x.getType()))
    return b.create<arith::MaximumFOp>(loc, x, y);
  if (x.getType().isInteger(1))
    return b.create<arith::OrIOp>(loc, x, y);
  if (isUnsigned)
    return b.create<arith::MaxUIOp>(loc, x, y);
  return b.create<arith::MaxSIOp>(loc, x, y);
}

Value minValues(OpBuilder &b, Location loc, Value x, Value y, bool isUnsigned) {
  if (isFloat(x.getType()))
    return b.create<arith::MinimumFOp>(loc, x, y);
  if (x.getType().isInteger(1))
    return b.create<arith::AndIOp>(loc, x, y);
  if (isUnsigned)
    return b.create<arith::MinUIOp>(loc, x, y);
  return b.create<arith::MinSIOp>(loc, x, y);
}

Value convertScalar(OpBuilder &b, Location loc, Value x, Type to,
                    bool fromUnsigned, bool toUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  if (to.isInteger(1)) {
    if (isFloat(from))
      return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNE, x,
                                     scalarConstant(b, loc, from, 0));
    return b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, x,
                                   scalarConstant(b, loc, from, 0));
  }
  if (isFloat(from) && isFloat(to)) {
    if (from.getIntOrFloatBitWidth() == to.getIntOrFloatBitWidth()) // f16-bf16
      return b.create<arith::TruncFOp>(
          loc, to, b.create<arith::ExtFOp>(loc, b.getF32Type(), x));
    if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth())
      return b.create<arith::ExtFOp>(loc, to, x);
    return b.create<arith::TruncFOp>(loc, to, x);
  }
  if (isFloat(from)) {
    if (toUnsigned)
      return b.create<arith::FPToUIOp>(loc, to, x);
    return b.create<arith::FPToSIOp>(loc, to, x);
  }
  if (isFloat(to)) {
    if (from.isInteger(1) || fromUnsigned)
      return b.create<arith::UIToFPOp>(loc, to, x);
    return b.create<arith::SIToFPOp>(loc, to, x);
  }
  if (from.getIntOrFloatBitWidth() < to.getIntOrFloatBitWidth()) {
    if (from.isInteger(1) || fromUnsigned)
      return b.create<arith::ExtUIOp>(loc, to, x);
    return b.create<arith::ExtSIOp>(loc, to, x);
  }
  return b.create<arith::TruncIOp>(loc, to, x);
}

} // namespace kiln
