//===- ScalarBuilders.cc - arith on one element, as Kiln means it ---------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"

using namespace mlir;

namespace kiln {

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
