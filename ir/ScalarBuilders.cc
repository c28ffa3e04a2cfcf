//===- ScalarBuilders.cc - arith on one element, as Kiln means it ---------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

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

/// f32 `x` rounded to the nearest bfloat16, ties to even, on its bits:
/// subnormals kept, overflow to infinity, NaN quiet with its sign. (LLVM's
/// fptrunc to bfloat becomes an instruction that flushes subnormals where
/// the CPU has AVX512-BF16, and a libcall Kiln does not link elsewhere.)
static Value roundToBF16(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type(), i16 = b.getI16Type();
  auto c = [&](int64_t v) {
    return b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(v)).getResult();
  };
  Value bits = b.create<arith::BitcastOp>(loc, i32, x);
  Value high = b.create<arith::ShRUIOp>(loc, bits, c(16));
  Value lsb = b.create<arith::AndIOp>(loc, high, c(1));
  Value rounded = b.create<arith::AddIOp>(
      loc, b.create<arith::AddIOp>(loc, bits, c(0x7fff)), lsb);
  Value top = b.create<arith::TruncIOp>(
      loc, i16, b.create<arith::ShRUIOp>(loc, rounded, c(16)));
  Value quietNaN = b.create<arith::TruncIOp>(
      loc, i16, b.create<arith::OrIOp>(loc, high, c(0x40)));
  Value isNaN = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::UNO, x, x);
  Value result = b.create<arith::SelectOp>(loc, isNaN, quietNaN, top);
  return b.create<arith::BitcastOp>(loc, b.getBF16Type(), result);
}

/// f64 `x` to f32 rounded to odd (toward zero, the last bit set when
/// inexact), so that rounding that to bfloat16 rounds x once.
static Value roundToOddF32(OpBuilder &b, Location loc, Value x) {
  Type i32 = b.getI32Type();
  Value f = b.create<arith::TruncFOp>(loc, b.getF32Type(), x);
  Value back = b.create<arith::ExtFOp>(loc, x.getType(), f);
  Value inexact =
      b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::ONE, back, x);
  Value away = b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT,
                                       b.create<math::AbsFOp>(loc, back),
                                       b.create<math::AbsFOp>(loc, x));
  Value bits = b.create<arith::BitcastOp>(loc, i32, f);
  Value one = b.create<arith::ConstantOp>(loc, b.getI32IntegerAttr(1));
  Value towardZero = b.create<arith::SelectOp>(
      loc, b.create<arith::AndIOp>(loc, inexact, away),
      b.create<arith::SubIOp>(loc, bits, one), bits);
  Value odd = b.create<arith::SelectOp>(
      loc, inexact, b.create<arith::OrIOp>(loc, towardZero, one), towardZero);
  return b.create<arith::BitcastOp>(loc, b.getF32Type(), odd);
}

Value convertScalar(OpBuilder &b, Location loc, Value x, Type to,
                    bool fromUnsigned, bool toUnsigned) {
  Type from = x.getType();
  if (from == to)
    return x;
  if (to.isBF16() && !from.isInteger(1)) {
    // Integers go through f64 (exact up to 2^53), f16 through f32 (exact).
    if (!isFloat(from))
      x = convertScalar(b, loc, x, b.getF64Type(), fromUnsigned, false);
    if (x.getType().isF64())
      x = roundToOddF32(b, loc, x);
    else if (!x.getType().isF32())
      x = b.create<arith::ExtFOp>(loc, b.getF32Type(), x);
    return roundToBF16(b, loc, x);
  }
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
