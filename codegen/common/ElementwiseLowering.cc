//===- ElementwiseLowering.cc - Elementwise kiln ops to linalg ------------===//
//
// Part of Kiln. One pattern, ElementwiseLowering<Op>, serves every
// elementwise op; ScalarFn<Op> says what one element computes. Broadcasting
// lives in the indexing maps (LoweringUtils.cc), so none is materialized.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"

#include <cmath>

using namespace mlir;

namespace kiln {
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

/// What one element of an op computes from its operands' elements.
template <typename OpTy> struct ScalarFn;

#define KILN_SCALAR(OP)                                                        \
  template <> struct ScalarFn<OP> {                                            \
    static Value build(OP op, OpBuilder &b, Location loc, ValueRange a);       \
  };                                                                           \
  Value ScalarFn<OP>::build(OP op, OpBuilder &b, Location loc, ValueRange a)

/// Ops whose body is one math dialect op.
template <typename OpTy, typename MathOp> struct MathFn {
  static Value build(OpTy, OpBuilder &b, Location loc, ValueRange a) {
    return b.create<MathOp>(loc, a[0]);
  }
};
template <> struct ScalarFn<TanhOp> : MathFn<TanhOp, math::TanhOp> {};
template <> struct ScalarFn<ExpOp> : MathFn<ExpOp, math::ExpOp> {};
template <> struct ScalarFn<LogOp> : MathFn<LogOp, math::LogOp> {};
template <> struct ScalarFn<SqrtOp> : MathFn<SqrtOp, math::SqrtOp> {};
template <> struct ScalarFn<ErfOp> : MathFn<ErfOp, math::ErfOp> {};
template <> struct ScalarFn<FloorOp> : MathFn<FloorOp, math::FloorOp> {};
template <> struct ScalarFn<CeilOp> : MathFn<CeilOp, math::CeilOp> {};
template <> struct ScalarFn<RoundOp> : MathFn<RoundOp, math::RoundEvenOp> {};
template <> struct ScalarFn<CosOp> : MathFn<CosOp, math::CosOp> {};
template <> struct ScalarFn<SinOp> : MathFn<SinOp, math::SinOp> {};
template <> struct ScalarFn<TanOp> : MathFn<TanOp, math::TanOp> {};
template <> struct ScalarFn<AtanOp> : MathFn<AtanOp, math::AtanOp> {};

KILN_SCALAR(AddOp) { return addValues(b, loc, a[0], a[1]); }
KILN_SCALAR(MulOp) { return mulValues(b, loc, a[0], a[1]); }
/// Whether `op` computes on unsigned integers.
bool isUnsignedOp(Operation *op) {
  return isUnsignedInt(op->getOperand(op->getNumOperands() - 1).getType());
}

KILN_SCALAR(MaxOp) { return maxValues(b, loc, a[0], a[1], isUnsignedOp(op)); }
KILN_SCALAR(MinOp) { return minValues(b, loc, a[0], a[1], isUnsignedOp(op)); }
KILN_SCALAR(SubOp) {
  if (isFloat(a[0].getType()))
    return b.create<arith::SubFOp>(loc, a[0], a[1]);
  return b.create<arith::SubIOp>(loc, a[0], a[1]);
}
/// Integer division truncates; x / 0 is 0 and INT_MIN / -1 wraps to
/// INT_MIN, so that no input traps (docs/semantics.md).
KILN_SCALAR(DivOp) {
  Type t = a[0].getType();
  if (isFloat(t))
    return b.create<arith::DivFOp>(loc, a[0], a[1]);
  Value zero = constant(b, loc, t, 0), one = constant(b, loc, t, 1);
  if (isUnsignedOp(op)) {
    Value isZero =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a[1], zero);
    Value quotient =
        b.create<arith::DivUIOp>(loc, a[0], select(b, loc, isZero, one, a[1]));
    return select(b, loc, isZero, zero, quotient);
  }
  Value minusOne = constant(b, loc, t, -1);
  Value isZero =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a[1], zero);
  Value isMinusOne =
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a[1], minusOne);
  Value special = b.create<arith::OrIOp>(loc, isZero, isMinusOne);
  Value safeDivisor = select(b, loc, special, one, a[1]);
  Value quotient = b.create<arith::DivSIOp>(loc, a[0], safeDivisor);
  Value negated = b.create<arith::SubIOp>(loc, zero, a[0]);
  return select(b, loc, isZero, zero,
                select(b, loc, isMinusOne, negated, quotient));
}
KILN_SCALAR(PowOp) { return b.create<math::PowFOp>(loc, a[0], a[1]); }
KILN_SCALAR(PReluOp) {
  Type t = a[0].getType();
  if (isUnsignedOp(op))
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

/// Comparisons: ordered for floats (NaN compares false); signed or
/// unsigned for integers.
template <typename OpTy, arith::CmpFPredicate F, arith::CmpIPredicate S,
          arith::CmpIPredicate U>
struct CompareFn {
  static Value build(OpTy op, OpBuilder &b, Location loc, ValueRange a) {
    if (isFloat(a[0].getType()))
      return cmpf(b, loc, F, a[0], a[1]);
    return b.create<arith::CmpIOp>(loc, isUnsignedOp(op) ? U : S, a[0], a[1]);
  }
};
template <>
struct ScalarFn<EqualOp>
    : CompareFn<EqualOp, arith::CmpFPredicate::OEQ, arith::CmpIPredicate::eq,
                arith::CmpIPredicate::eq> {};
template <>
struct ScalarFn<LessOp>
    : CompareFn<LessOp, arith::CmpFPredicate::OLT, arith::CmpIPredicate::slt,
                arith::CmpIPredicate::ult> {};
template <>
struct ScalarFn<GreaterOp>
    : CompareFn<GreaterOp, arith::CmpFPredicate::OGT, arith::CmpIPredicate::sgt,
                arith::CmpIPredicate::ugt> {};

KILN_SCALAR(WhereOp) { return select(b, loc, a[0], a[1], a[2]); }

KILN_SCALAR(ReluOp) {
  return maxValues(b, loc, a[0], constant(b, loc, a[0].getType(), 0),
                   isUnsignedOp(op));
}
KILN_SCALAR(NegOp) {
  if (isFloat(a[0].getType()))
    return b.create<arith::NegFOp>(loc, a[0]);
  return b.create<arith::SubIOp>(loc, constant(b, loc, a[0].getType(), 0),
                                 a[0]);
}
KILN_SCALAR(AbsOp) {
  if (isUnsignedOp(op))
    return a[0];
  if (isFloat(a[0].getType()))
    return b.create<math::AbsFOp>(loc, a[0]);
  return b.create<math::AbsIOp>(loc, a[0]);
}
/// -1, 0 or 1; NaN stays NaN.
KILN_SCALAR(SignOp) {
  Type t = a[0].getType();
  Value zero = constant(b, loc, t, 0);
  if (isUnsignedOp(op))
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
KILN_SCALAR(HardSigmoidOp) {
  return hardSigmoid(b, loc, a[0], op.getAlpha().convertToDouble(),
                     op.getBeta().convertToDouble());
}
KILN_SCALAR(HardSwishOp) {
  return b.create<arith::MulFOp>(loc, a[0],
                                 hardSigmoid(b, loc, a[0], 1.0 / 6, 0.5));
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
KILN_SCALAR(EluOp) {
  return elu(b, loc, a[0], op.getAlpha().convertToDouble(),
             arith::CmpFPredicate::OLT);
}
KILN_SCALAR(SeluOp) {
  Value e = elu(b, loc, a[0], op.getAlpha().convertToDouble(),
                arith::CmpFPredicate::OLE);
  return b.create<arith::MulFOp>(
      loc, constant(b, loc, e.getType(), op.getGamma().convertToDouble()), e);
}
KILN_SCALAR(LeakyReluOp) {
  Type t = a[0].getType();
  Value scaled = b.create<arith::MulFOp>(
      loc, constant(b, loc, t, op.getAlpha().convertToDouble()), a[0]);
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
  if (op.getApproximate() == "tanh") {
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
  bool isUnsigned = isUnsignedOp(op);
  if (auto lo = op.getMin())
    x = maxValues(b, loc, x, constant(b, loc, t, lo->convertToDouble()),
                  isUnsigned);
  if (auto hi = op.getMax())
    x = minValues(b, loc, x, constant(b, loc, t, hi->convertToDouble()),
                  isUnsigned);
  return x;
}
KILN_SCALAR(CastOp) {
  return convertScalar(b, loc, a[0], signless(op.getTo()), isUnsignedOp(op),
                       op.getTo().isUnsignedInteger());
}

#undef KILN_SCALAR

template <typename OpTy>
struct ElementwiseLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = resultType(op);
    Value result = buildElementwise(
        rewriter, op.getLoc(), adaptor.getOperands(), outType,
        [&](OpBuilder &b, Location loc, ValueRange args) {
          return ScalarFn<OpTy>::build(op, b, loc, args.drop_back());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

template <typename... Ops>
void addElementwise(RewritePatternSet &patterns, TypeConverter &converter) {
  patterns.add<ElementwiseLowering<Ops>...>(converter, patterns.getContext());
}

} // namespace

void populateElementwiseLowering(RewritePatternSet &patterns,
                                 TypeConverter &converter) {
  addElementwise<AddOp, SubOp, MulOp, DivOp, PowOp, MaxOp, MinOp, PReluOp,
                 AndOp, OrOp, EqualOp, LessOp, GreaterOp, WhereOp, ReluOp,
                 NegOp, AbsOp, SignOp, SigmoidOp, TanhOp, ExpOp, LogOp, SqrtOp,
                 ErfOp, FloorOp, CeilOp, RoundOp, ReciprocalOp, CosOp, SinOp,
                 TanOp, AtanOp, SoftplusOp, HardSwishOp, NotOp, EluOp, SeluOp,
                 LeakyReluOp, HardSigmoidOp, GeluOp, ClipOp, CastOp>(patterns,
                                                                     converter);
}

} // namespace kiln
