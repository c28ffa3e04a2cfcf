//===- ScalarBodies.cc - What one element of each op computes -------------===//
//
// Part of Kiln. The ElementwiseOpInterface's buildScalar of every
// elementwise op and the ReductionOpInterface's init and combiner of every
// reduction (Interfaces.td): arith and math on signless scalars, built into
// a loop body by the lowering. They live in ir/ because the ops declare
// them in ODS, so every user of the dialect links them; they build arith
// and math ops only, so ir/ needs no linalg, tensor or conversion library.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;
using namespace kiln;

namespace {

Value constant(OpBuilder &b, Location loc, Type t, double v) {
  return scalarConstant(b, loc, t, v);
}

Value cmpf(OpBuilder &b, Location loc, arith::CmpFPredicate p, Value x,
           Value y) {
  return b.create<arith::CmpFOp>(loc, p, x, y);
}

Value select(OpBuilder &b, Location loc, Value c, Value x, Value y) {
  return b.create<arith::SelectOp>(loc, c, x, y);
}

/// Comparisons: ordered for floats (NaN compares false); signed or
/// unsigned for integers.
Value compare(OpBuilder &b, Location loc, ValueRange a, bool isUnsigned,
              arith::CmpFPredicate f, arith::CmpIPredicate s,
              arith::CmpIPredicate u) {
  if (isFloat(a[0].getType()))
    return cmpf(b, loc, f, a[0], a[1]);
  return b.create<arith::CmpIOp>(loc, isUnsigned ? u : s, a[0], a[1]);
}

/// clamp(alpha * x + beta, 0, 1): HardSigmoid, and HardSwish times x.
Value hardSigmoid(OpBuilder &b, Location loc, Value x, double alpha,
                  double beta) {
  Type t = x.getType();
  Value y = b.create<arith::AddFOp>(
      loc, b.create<arith::MulFOp>(loc, constant(b, loc, t, alpha), x),
      constant(b, loc, t, beta));
  return minValues(b, loc, maxValues(b, loc, y, constant(b, loc, t, 0)),
                   constant(b, loc, t, 1));
}

/// x < 0 ? alpha * (exp(x) - 1) : x.
Value elu(OpBuilder &b, Location loc, Value x, double alpha,
          arith::CmpFPredicate negative) {
  Type t = x.getType();
  Value em1 = b.create<arith::SubFOp>(loc, b.create<math::ExpOp>(loc, x),
                                      constant(b, loc, t, 1));
  Value neg = b.create<arith::MulFOp>(loc, constant(b, loc, t, alpha), em1);
  return select(b, loc, cmpf(b, loc, negative, x, constant(b, loc, t, 0)), neg,
                x);
}

} // namespace

#define KILN_SCALAR(OP)                                                        \
  Value OP::buildScalar(OpBuilder &b, Location loc, ValueRange a)

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

/// Ops whose body is one math dialect op.
#define KILN_MATH_SCALAR(OP, MATH_OP)                                          \
  KILN_SCALAR(OP) { return b.create<MATH_OP>(loc, a[0]); }
KILN_MATH_SCALAR(TanhOp, math::TanhOp)
KILN_MATH_SCALAR(ExpOp, math::ExpOp)
KILN_MATH_SCALAR(LogOp, math::LogOp)
KILN_MATH_SCALAR(SqrtOp, math::SqrtOp)
KILN_MATH_SCALAR(ErfOp, math::ErfOp)
KILN_MATH_SCALAR(FloorOp, math::FloorOp)
KILN_MATH_SCALAR(CeilOp, math::CeilOp)
KILN_MATH_SCALAR(RoundOp, math::RoundEvenOp)
KILN_MATH_SCALAR(CosOp, math::CosOp)
KILN_MATH_SCALAR(SinOp, math::SinOp)
KILN_MATH_SCALAR(TanOp, math::TanOp)
KILN_MATH_SCALAR(AtanOp, math::AtanOp)
KILN_MATH_SCALAR(SinhOp, math::SinhOp)
KILN_MATH_SCALAR(CoshOp, math::CoshOp)
KILN_MATH_SCALAR(AsinOp, math::AsinOp)
KILN_MATH_SCALAR(AcosOp, math::AcosOp)
KILN_MATH_SCALAR(AsinhOp, math::AsinhOp)
KILN_MATH_SCALAR(AcoshOp, math::AcoshOp)
KILN_MATH_SCALAR(AtanhOp, math::AtanhOp)
#undef KILN_MATH_SCALAR

KILN_SCALAR(AddOp) { return addValues(b, loc, a[0], a[1]); }
KILN_SCALAR(MulOp) { return mulValues(b, loc, a[0], a[1]); }
KILN_SCALAR(MaxOp) {
  return maxValues(b, loc, a[0], a[1], computesOnUnsigned());
}
KILN_SCALAR(MinOp) {
  return minValues(b, loc, a[0], a[1], computesOnUnsigned());
}
KILN_SCALAR(SubOp) {
  if (isFloat(a[0].getType()))
    return b.create<arith::SubFOp>(loc, a[0], a[1]);
  return b.create<arith::SubIOp>(loc, a[0], a[1]);
}
/// An integer divisor with 0 (and, when signed, -1: INT_MIN / -1 traps)
/// replaced by 1, so that no division traps; the flags say where (isMinusOne
/// is null for unsigned divisors).
namespace {
struct SafeDivisor {
  Value divisor, isZero, isMinusOne;
};
SafeDivisor safeDivisor(OpBuilder &b, Location loc, Value d, bool isUnsigned) {
  Type t = d.getType();
  Value isZero = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, d,
                                         constant(b, loc, t, 0));
  if (isUnsigned)
    return {select(b, loc, isZero, constant(b, loc, t, 1), d), isZero, {}};
  Value isMinusOne = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, d,
                                             constant(b, loc, t, -1));
  Value special = b.create<arith::OrIOp>(loc, isZero, isMinusOne);
  return {select(b, loc, special, constant(b, loc, t, 1), d), isZero,
          isMinusOne};
}
} // namespace

/// Integer division truncates; x / 0 is 0 and INT_MIN / -1 wraps to
/// INT_MIN, so that no input traps (docs/semantics.md).
KILN_SCALAR(DivOp) {
  Type t = a[0].getType();
  if (isFloat(t))
    return b.create<arith::DivFOp>(loc, a[0], a[1]);
  Value zero = constant(b, loc, t, 0);
  SafeDivisor d = safeDivisor(b, loc, a[1], computesOnUnsigned());
  if (computesOnUnsigned())
    return select(b, loc, d.isZero, zero,
                  b.create<arith::DivUIOp>(loc, a[0], d.divisor));
  Value quotient = b.create<arith::DivSIOp>(loc, a[0], d.divisor);
  Value negated = b.create<arith::SubIOp>(loc, zero, a[0]);
  return select(b, loc, d.isZero, zero,
                select(b, loc, d.isMinusOne, negated, quotient));
}
/// The remainder of truncating division (fmod = 1, C's fmod and %) or of
/// floor division (fmod = 0, Python's %: the divisor's sign). x mod 0 is 0
/// and INT_MIN mod -1 is 0, so that no input traps (the run fails on a
/// divisor of 0 anyway: kiln-insert-checks): both divide by 1 instead.
KILN_SCALAR(ModOp) {
  Type t = a[0].getType();
  if (isFloat(t))
    return b.create<arith::RemFOp>(loc, a[0], a[1]);
  SafeDivisor d = safeDivisor(b, loc, a[1], computesOnUnsigned());
  if (computesOnUnsigned())
    return b.create<arith::RemUIOp>(loc, a[0], d.divisor);
  Value r = b.create<arith::RemSIOp>(loc, a[0], d.divisor);
  if (getFmod() == 1)
    return r;
  // Floor: a nonzero remainder whose sign differs from the divisor's moves
  // by one divisor.
  Value zero = constant(b, loc, t, 0);
  Value nonZero =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, r, zero);
  Value signsDiffer =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt,
                              b.create<arith::XOrIOp>(loc, r, a[1]), zero);
  Value adjust = b.create<arith::AndIOp>(loc, nonZero, signsDiffer);
  return select(b, loc, adjust, b.create<arith::AddIOp>(loc, r, a[1]), r);
}
/// A shift by the bit width or more gives 0 (LLVM would make it poison).
KILN_SCALAR(BitShiftOp) {
  Type t = a[0].getType();
  Value width = constant(b, loc, t, t.getIntOrFloatBitWidth());
  Value tooFar =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::uge, a[1], width);
  Value shifted = getDirection() == "LEFT"
                      ? b.create<arith::ShLIOp>(loc, a[0], a[1]).getResult()
                      : b.create<arith::ShRUIOp>(loc, a[0], a[1]).getResult();
  return select(b, loc, tooFar, constant(b, loc, t, 0), shifted);
}
KILN_SCALAR(PowOp) { return b.create<math::PowFOp>(loc, a[0], a[1]); }
KILN_SCALAR(PReluOp) {
  Type t = a[0].getType();
  if (computesOnUnsigned())
    return a[0];
  Value zero = constant(b, loc, t, 0);
  Value negative =
      isFloat(t)
          ? cmpf(b, loc, arith::CmpFPredicate::OLT, a[0], zero)
          : b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, a[0], zero);
  return select(b, loc, negative, mulValues(b, loc, a[0], a[1]), a[0]);
}
KILN_SCALAR(AndOp) { return b.create<arith::AndIOp>(loc, a[0], a[1]); }
KILN_SCALAR(OrOp) { return b.create<arith::OrIOp>(loc, a[0], a[1]); }
KILN_SCALAR(NotOp) {
  return b.create<arith::XOrIOp>(loc, a[0],
                                 constant(b, loc, a[0].getType(), 1));
}

KILN_SCALAR(EqualOp) {
  return compare(b, loc, a, computesOnUnsigned(), arith::CmpFPredicate::OEQ,
                 arith::CmpIPredicate::eq, arith::CmpIPredicate::eq);
}
KILN_SCALAR(LessOp) {
  return compare(b, loc, a, computesOnUnsigned(), arith::CmpFPredicate::OLT,
                 arith::CmpIPredicate::slt, arith::CmpIPredicate::ult);
}
KILN_SCALAR(GreaterOp) {
  return compare(b, loc, a, computesOnUnsigned(), arith::CmpFPredicate::OGT,
                 arith::CmpIPredicate::sgt, arith::CmpIPredicate::ugt);
}
KILN_SCALAR(LessOrEqualOp) {
  return compare(b, loc, a, computesOnUnsigned(), arith::CmpFPredicate::OLE,
                 arith::CmpIPredicate::sle, arith::CmpIPredicate::ule);
}
KILN_SCALAR(GreaterOrEqualOp) {
  return compare(b, loc, a, computesOnUnsigned(), arith::CmpFPredicate::OGE,
                 arith::CmpIPredicate::sge, arith::CmpIPredicate::uge);
}

KILN_SCALAR(WhereOp) { return select(b, loc, a[0], a[1], a[2]); }

KILN_SCALAR(ReluOp) {
  return maxValues(b, loc, a[0], constant(b, loc, a[0].getType(), 0),
                   computesOnUnsigned());
}
KILN_SCALAR(NegOp) {
  if (isFloat(a[0].getType()))
    return b.create<arith::NegFOp>(loc, a[0]);
  return b.create<arith::SubIOp>(loc, constant(b, loc, a[0].getType(), 0),
                                 a[0]);
}
KILN_SCALAR(AbsOp) {
  if (computesOnUnsigned())
    return a[0];
  if (isFloat(a[0].getType()))
    return b.create<math::AbsFOp>(loc, a[0]);
  return b.create<math::AbsIOp>(loc, a[0]);
}
/// -1, 0 or 1; NaN stays NaN.
KILN_SCALAR(SignOp) {
  Type t = a[0].getType();
  Value zero = constant(b, loc, t, 0);
  if (computesOnUnsigned())
    return b.create<arith::ExtUIOp>(
        loc, t,
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ne, a[0], zero));
  if (!isFloat(t)) {
    Value pos =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sgt, a[0], zero);
    Value neg =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, a[0], zero);
    return select(b, loc, pos, constant(b, loc, t, 1),
                  select(b, loc, neg, constant(b, loc, t, -1), zero));
  }
  Value pos = cmpf(b, loc, arith::CmpFPredicate::OGT, a[0], zero);
  Value neg = cmpf(b, loc, arith::CmpFPredicate::OLT, a[0], zero);
  Value nan = cmpf(b, loc, arith::CmpFPredicate::UNO, a[0], a[0]);
  Value s = select(b, loc, pos, constant(b, loc, t, 1),
                   select(b, loc, neg, constant(b, loc, t, -1), zero));
  return select(b, loc, nan, a[0], s);
}
KILN_SCALAR(SigmoidOp) {
  Type t = a[0].getType();
  Value one = constant(b, loc, t, 1);
  Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, a[0]));
  return b.create<arith::DivFOp>(loc, one,
                                 b.create<arith::AddFOp>(loc, one, e));
}
KILN_SCALAR(ReciprocalOp) {
  return b.create<arith::DivFOp>(loc, constant(b, loc, a[0].getType(), 1),
                                 a[0]);
}
/// log(exp(x) + 1), as ONNX defines it.
KILN_SCALAR(SoftplusOp) {
  Value e = b.create<math::ExpOp>(loc, a[0]);
  return b.create<math::LogOp>(
      loc, b.create<arith::AddFOp>(loc, e, constant(b, loc, e.getType(), 1)));
}
KILN_SCALAR(SoftsignOp) {
  Value one = constant(b, loc, a[0].getType(), 1);
  Value abs = b.create<math::AbsFOp>(loc, a[0]);
  return b.create<arith::DivFOp>(loc, a[0],
                                 b.create<arith::AddFOp>(loc, one, abs));
}
KILN_SCALAR(HardSigmoidOp) {
  return hardSigmoid(b, loc, a[0], getAlpha().convertToDouble(),
                     getBeta().convertToDouble());
}
KILN_SCALAR(HardSwishOp) {
  return b.create<arith::MulFOp>(loc, a[0],
                                 hardSigmoid(b, loc, a[0], 1.0 / 6, 0.5));
}
KILN_SCALAR(EluOp) {
  return elu(b, loc, a[0], getAlpha().convertToDouble(),
             arith::CmpFPredicate::OLT);
}
KILN_SCALAR(SeluOp) {
  Value e = elu(b, loc, a[0], getAlpha().convertToDouble(),
                arith::CmpFPredicate::OLE);
  return b.create<arith::MulFOp>(
      loc, constant(b, loc, e.getType(), getGamma().convertToDouble()), e);
}
KILN_SCALAR(LeakyReluOp) {
  Type t = a[0].getType();
  Value scaled = b.create<arith::MulFOp>(
      loc, constant(b, loc, t, getAlpha().convertToDouble()), a[0]);
  return select(
      b, loc,
      cmpf(b, loc, arith::CmpFPredicate::OLT, a[0], constant(b, loc, t, 0)),
      scaled, a[0]);
}
/// 0.5 x (1 + erf(x / sqrt 2)), or the tanh approximation.
KILN_SCALAR(GeluOp) {
  Type t = a[0].getType();
  Value x = a[0];
  Value inner;
  if (getApproximate() == "tanh") {
    Value x3 =
        b.create<arith::MulFOp>(loc, x, b.create<arith::MulFOp>(loc, x, x));
    Value poly = b.create<arith::AddFOp>(
        loc, x,
        b.create<arith::MulFOp>(loc, constant(b, loc, t, 0.044715), x3));
    inner = b.create<math::TanhOp>(
        loc, b.create<arith::MulFOp>(
                 loc, constant(b, loc, t, std::sqrt(2.0 / M_PI)), poly));
  } else {
    inner = b.create<math::ErfOp>(
        loc, b.create<arith::MulFOp>(loc, x, constant(b, loc, t, M_SQRT1_2)));
  }
  Value half = b.create<arith::MulFOp>(loc, constant(b, loc, t, 0.5), x);
  return b.create<arith::MulFOp>(
      loc, half, b.create<arith::AddFOp>(loc, constant(b, loc, t, 1), inner));
}
KILN_SCALAR(ClipOp) {
  Value x = a[0];
  Type t = x.getType();
  bool isUnsigned = computesOnUnsigned();
  if (auto lo = getMin())
    x = maxValues(b, loc, x, constant(b, loc, t, lo->convertToDouble()),
                  isUnsigned);
  if (auto hi = getMax())
    x = minValues(b, loc, x, constant(b, loc, t, hi->convertToDouble()),
                  isUnsigned);
  return x;
}
KILN_SCALAR(CastOp) {
  return convertScalar(b, loc, a[0], signless(getTo()), computesOnUnsigned(),
                       getTo().isUnsignedInteger());
}

#undef KILN_SCALAR

//===----------------------------------------------------------------------===//
// Reductions
//===----------------------------------------------------------------------===//

TypedAttr ReduceSumOp::getReductionInit(OpBuilder &b, Type t) {
  return b.getZeroAttr(t);
}
Value ReduceSumOp::combineReduction(OpBuilder &b, Location loc, Value element,
                                    Value accumulator) {
  return addValues(b, loc, element, accumulator);
}

/// The sum, which the lowering divides by the count.
TypedAttr ReduceMeanOp::getReductionInit(OpBuilder &b, Type t) {
  return b.getZeroAttr(t);
}
Value ReduceMeanOp::combineReduction(OpBuilder &b, Location loc, Value element,
                                     Value accumulator) {
  return addValues(b, loc, element, accumulator);
}
bool ReduceMeanOp::dividesByCount() { return true; }

TypedAttr ReduceMaxOp::getReductionInit(OpBuilder &b, Type t) {
  return lowestAttr(b, t, computesOnUnsigned());
}
Value ReduceMaxOp::combineReduction(OpBuilder &b, Location loc, Value element,
                                    Value accumulator) {
  return maxValues(b, loc, element, accumulator, computesOnUnsigned());
}

TypedAttr ReduceMinOp::getReductionInit(OpBuilder &b, Type t) {
  return highestAttr(b, t, computesOnUnsigned());
}
Value ReduceMinOp::combineReduction(OpBuilder &b, Location loc, Value element,
                                    Value accumulator) {
  return minValues(b, loc, element, accumulator, computesOnUnsigned());
}

TypedAttr ReduceProdOp::getReductionInit(OpBuilder &b, Type t) {
  if (isFloat(t))
    return b.getFloatAttr(t, 1);
  return b.getIntegerAttr(t, 1);
}
Value ReduceProdOp::combineReduction(OpBuilder &b, Location loc, Value element,
                                     Value accumulator) {
  return mulValues(b, loc, element, accumulator);
}
