//===- KilnToLinalg.cc - kiln ops to linalg on tensors --------------------===//
//
// Part of Kiln. Elementwise ops share one pattern, ElementwiseLowering<Op>,
// whose scalar body comes from ScalarFn<Op>; broadcasting is expressed in
// the indexing maps (a size-1 input dimension reads index 0), so no
// broadcast is ever materialized. Contractions and reductions are
// linalg.generic ops with reduction iterators.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Transforms/DialectConversion.h"

#include <limits>

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

bool isFloat(Type t) { return isa<FloatType>(t); }

Value emptyTensor(OpBuilder &b, Location loc, RankedTensorType type) {
  return b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
}

/// A tensor of `type` filled with `value`.
Value filledTensor(OpBuilder &b, Location loc, RankedTensorType type,
                   TypedAttr value) {
  Value scalar = b.create<arith::ConstantOp>(loc, value);
  return b.create<linalg::FillOp>(loc, scalar, emptyTensor(b, loc, type))
      .getResult(0);
}

TypedAttr zeroAttr(OpBuilder &b, Type t) { return b.getZeroAttr(t); }

/// The identity of max: -inf for floats, the smallest integer otherwise.
TypedAttr lowestAttr(OpBuilder &b, Type t) {
  if (auto f = dyn_cast<FloatType>(t))
    return b.getFloatAttr(
        t, APFloat::getInf(f.getFloatSemantics(), /*Negative=*/true));
  return b.getIntegerAttr(t,
                          APInt::getSignedMinValue(t.getIntOrFloatBitWidth()));
}

/// Reads an input of type `in` at the iteration point of an output of type
/// `out` under NumPy broadcasting: trailing dimensions align, and a size-1
/// input dimension facing a larger one reads index 0.
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

/// The map from a rank-`rank` iteration space to the dimensions not in
/// `reduced`.
AffineMap dropDimsMap(int64_t rank, ArrayRef<bool> reduced, MLIRContext *ctx) {
  SmallVector<AffineExpr> exprs;
  for (int64_t i = 0; i < rank; ++i)
    if (!reduced[i])
      exprs.push_back(getAffineDimExpr(i, ctx));
  return AffineMap::get(rank, 0, exprs, ctx);
}

using BodyFn = function_ref<Value(OpBuilder &, Location, ValueRange)>;

/// One linalg.generic producing `outType` (or accumulating into `init`).
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

/// An elementwise generic over `outType` whose inputs broadcast to it.
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

/// Reduces `input` over the dimensions marked in `reduced`, starting from
/// `identity`; `combine(element, accumulator)` folds one element in. The
/// result has the reduced dimensions removed.
Value buildReduction(
    OpBuilder &b, Location loc, Value input, ArrayRef<bool> reduced,
    TypedAttr identity,
    function_ref<Value(OpBuilder &, Location, Value, Value)> combine) {
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

/// Reshapes a statically shaped tensor to `type`, same elements.
Value reshapeTo(OpBuilder &b, Location loc, Value input,
                RankedTensorType type) {
  if (input.getType() == type)
    return input;
  SmallVector<int64_t> shape(type.getShape());
  auto shapeType = RankedTensorType::get({type.getRank()}, b.getIndexType());
  SmallVector<APInt> dims;
  for (int64_t d : shape)
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
  return b.create<arith::MulIOp>(loc, x, y);
}
Value maxValues(OpBuilder &b, Location loc, Value x, Value y) {
  if (isFloat(x.getType()))
    return b.create<arith::MaximumFOp>(loc, x, y); // NaN propagates
  return b.create<arith::MaxSIOp>(loc, x, y);
}

//===----------------------------------------------------------------------===//
// Elementwise ops: one pattern, one scalar body per op.
//===----------------------------------------------------------------------===//

template <typename OpTy> struct ScalarFn;

template <> struct ScalarFn<AddOp> {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    return addValues(b, loc, a[0], a[1]);
  }
};
template <> struct ScalarFn<SubOp> {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    if (isFloat(a[0].getType()))
      return b.create<arith::SubFOp>(loc, a[0], a[1]);
    return b.create<arith::SubIOp>(loc, a[0], a[1]);
  }
};
template <> struct ScalarFn<MulOp> {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    return mulValues(b, loc, a[0], a[1]);
  }
};
template <> struct ScalarFn<DivOp> {
  /// Integer division truncates; x / 0 is 0 and INT_MIN / -1 wraps to
  /// INT_MIN, so that no input traps (docs/semantics.md).
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    Type t = a[0].getType();
    if (isFloat(t))
      return b.create<arith::DivFOp>(loc, a[0], a[1]);
    Value zero = b.create<arith::ConstantOp>(loc, b.getZeroAttr(t));
    Value one = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, 1));
    Value minusOne = b.create<arith::ConstantOp>(loc, b.getIntegerAttr(t, -1));
    Value isZero =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a[1], zero);
    Value isMinusOne =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::eq, a[1], minusOne);
    Value special = b.create<arith::OrIOp>(loc, isZero, isMinusOne);
    Value safeDivisor = b.create<arith::SelectOp>(loc, special, one, a[1]);
    Value quotient = b.create<arith::DivSIOp>(loc, a[0], safeDivisor);
    Value negated = b.create<arith::SubIOp>(loc, zero, a[0]);
    Value result =
        b.create<arith::SelectOp>(loc, isMinusOne, negated, quotient);
    return b.create<arith::SelectOp>(loc, isZero, zero, result);
  }
};
template <> struct ScalarFn<ReluOp> {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    Value zero =
        b.create<arith::ConstantOp>(loc, b.getZeroAttr(a[0].getType()));
    return maxValues(b, loc, a[0], zero);
  }
};
template <> struct ScalarFn<NegOp> {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    if (isFloat(a[0].getType()))
      return b.create<arith::NegFOp>(loc, a[0]);
    Value zero =
        b.create<arith::ConstantOp>(loc, b.getZeroAttr(a[0].getType()));
    return b.create<arith::SubIOp>(loc, zero, a[0]);
  }
};
template <> struct ScalarFn<SigmoidOp> {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    Type t = a[0].getType();
    Value one = b.create<arith::ConstantOp>(loc, b.getFloatAttr(t, 1.0));
    Value e = b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, a[0]));
    return b.create<arith::DivFOp>(loc, one,
                                   b.create<arith::AddFOp>(loc, one, e));
  }
};
template <typename MathOp> struct MathScalarFn {
  static Value build(OpBuilder &b, Location loc, ValueRange a) {
    return b.create<MathOp>(loc, a[0]);
  }
};
template <> struct ScalarFn<TanhOp> : MathScalarFn<math::TanhOp> {};
template <> struct ScalarFn<ExpOp> : MathScalarFn<math::ExpOp> {};
template <> struct ScalarFn<LogOp> : MathScalarFn<math::LogOp> {};
template <> struct ScalarFn<SqrtOp> : MathScalarFn<math::SqrtOp> {};

template <typename OpTy>
struct ElementwiseLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    Value result = buildElementwise(
        rewriter, op.getLoc(), adaptor.getOperands(), outType,
        [](OpBuilder &b, Location loc, ValueRange args) {
          return ScalarFn<OpTy>::build(b, loc, args.drop_back());
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Constants, identity, data movement
//===----------------------------------------------------------------------===//

struct ConstantLowering : public OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "only dense constants lower");
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

struct IdentityLowering : public OpConversionPattern<IdentityOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IdentityOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getInput());
    return success();
  }
};

struct ReshapeLowering : public OpConversionPattern<ReshapeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ReshapeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(
        op, reshapeTo(rewriter, op.getLoc(), adaptor.getData(), op.getType()));
    return success();
  }
};

struct TransposeLowering : public OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    auto inType = cast<RankedTensorType>(adaptor.getData().getType());
    SmallVector<int64_t> perm;
    if (auto p = op.getPerm())
      perm.assign(p->begin(), p->end());
    else
      for (int64_t i = inType.getRank() - 1; i >= 0; --i)
        perm.push_back(i);
    Value init = emptyTensor(rewriter, op.getLoc(), outType);
    auto transpose = rewriter.create<linalg::TransposeOp>(
        op.getLoc(), adaptor.getData(), init, perm);
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

/// acc += a * b over the iteration space (result dims..., k).
Value buildContraction(OpBuilder &b, Location loc, Value lhs, AffineMap lhsMap,
                       Value rhs, AffineMap rhsMap, RankedTensorType outType) {
  int64_t rank = outType.getRank();
  SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
  iterators.push_back(IteratorType::reduction);
  Value init =
      filledTensor(b, loc, outType, zeroAttr(b, outType.getElementType()));
  SmallVector<AffineExpr> outExprs;
  for (int64_t i = 0; i < rank; ++i)
    outExprs.push_back(b.getAffineDimExpr(i));
  AffineMap outMap = AffineMap::get(rank + 1, 0, outExprs, b.getContext());
  return buildGeneric(b, loc, {lhs, rhs}, {lhsMap, rhsMap}, init, outMap,
                      iterators,
                      [](OpBuilder &nb, Location nloc, ValueRange args) {
                        return addValues(nb, nloc, args[2],
                                         mulValues(nb, nloc, args[0], args[1]));
                      });
}

struct MatMulLowering : public OpConversionPattern<MatMulOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Iteration space: the result's dimensions, then k. A 1-D operand has no
  /// row (A) or column (B) dimension; batch dimensions broadcast.
  LogicalResult
  matchAndRewrite(MatMulOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    auto aType = cast<RankedTensorType>(adaptor.getA().getType());
    auto bType = cast<RankedTensorType>(adaptor.getB().getType());
    MLIRContext *ctx = rewriter.getContext();
    int64_t rank = outType.getRank();
    bool hasM = aType.getRank() >= 2, hasN = bType.getRank() >= 2;
    int64_t batchRank = rank - hasM - hasN;
    AffineExpr k = getAffineDimExpr(rank, ctx);
    AffineExpr m = getAffineDimExpr(batchRank, ctx);
    AffineExpr n = getAffineDimExpr(batchRank + hasM, ctx);
    auto batchExprs = [&](RankedTensorType t) {
      SmallVector<AffineExpr> exprs;
      int64_t own = t.getRank() - 2;
      for (int64_t i = 0; i < own; ++i) {
        int64_t outDim = batchRank - own + i;
        if (t.getDimSize(i) == 1 && outType.getDimSize(outDim) != 1)
          exprs.push_back(getAffineConstantExpr(0, ctx));
        else
          exprs.push_back(getAffineDimExpr(outDim, ctx));
      }
      return exprs;
    };
    SmallVector<AffineExpr> aExprs, bExprs;
    if (hasM) {
      aExprs = batchExprs(aType);
      aExprs.append({m, k});
    } else {
      aExprs = {k};
    }
    if (hasN) {
      bExprs = batchExprs(bType);
      bExprs.append({k, n});
    } else {
      bExprs = {k};
    }
    Value result = buildContraction(
        rewriter, op.getLoc(), adaptor.getA(),
        AffineMap::get(rank + 1, 0, aExprs, ctx), adaptor.getB(),
        AffineMap::get(rank + 1, 0, bExprs, ctx), outType);
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GemmLowering : public OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = cast<RankedTensorType>(op.getType());
    MLIRContext *ctx = rewriter.getContext();
    Location loc = op.getLoc();
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    AffineMap aMap = AffineMap::get(3, 0,
                                    op.getTransA() ? ArrayRef<AffineExpr>{k, m}
                                                   : ArrayRef<AffineExpr>{m, k},
                                    ctx);
    AffineMap bMap = AffineMap::get(3, 0,
                                    op.getTransB() ? ArrayRef<AffineExpr>{n, k}
                                                   : ArrayRef<AffineExpr>{k, n},
                                    ctx);
    Value product = buildContraction(rewriter, loc, adaptor.getA(), aMap,
                                     adaptor.getB(), bMap, outType);
    float alpha = op.getAlpha().convertToFloat();
    float beta = op.getBeta().convertToFloat();
    Value c = adaptor.getC();
    if (alpha == 1.0f && (!c || beta == 0.0f)) {
      rewriter.replaceOp(op, product);
      return success();
    }
    // Y = alpha * product + beta * C, C broadcast to [M, N].
    Type elem = outType.getElementType();
    auto scalar = [&](OpBuilder &b, Location l, float v) -> Value {
      if (isFloat(elem))
        return b.create<arith::ConstantOp>(l, b.getFloatAttr(elem, v));
      return b.create<arith::ConstantOp>(
          l, b.getIntegerAttr(elem, static_cast<int64_t>(v)));
    };
    SmallVector<Value> inputs = {product};
    if (c && beta != 0.0f)
      inputs.push_back(c);
    Value result = buildElementwise(
        rewriter, loc, inputs, outType,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value y = mulValues(b, l, scalar(b, l, alpha), args[0]);
          if (args.size() == 3)
            y = addValues(b, l, y,
                          mulValues(b, l, scalar(b, l, beta), args[1]));
          return y;
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Softmax and reductions
//===----------------------------------------------------------------------===//

struct SoftmaxLowering : public OpConversionPattern<SoftmaxOp> {
  using OpConversionPattern::OpConversionPattern;
  /// max, exp(x - max), sum, divide: the numerically stable form.
  LogicalResult
  matchAndRewrite(SoftmaxOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), rank);
    SmallVector<bool> reduced(rank, false);
    reduced[axis] = true;
    Value max = buildReduction(rewriter, loc, x, reduced,
                               lowestAttr(rewriter, elem), maxValues);
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap dropAxis = dropDimsMap(rank, reduced, rewriter.getContext());
    SmallVector<IteratorType> parallel(rank, IteratorType::parallel);
    Value exps =
        buildGeneric(rewriter, loc, {x, max}, {identity, dropAxis},
                     emptyTensor(rewriter, loc, type), identity, parallel,
                     [](OpBuilder &b, Location l, ValueRange args) -> Value {
                       return b.create<math::ExpOp>(
                           l, b.create<arith::SubFOp>(l, args[0], args[1]));
                     });
    Value sum = buildReduction(rewriter, loc, exps, reduced,
                               zeroAttr(rewriter, elem), addValues);
    Value result =
        buildGeneric(rewriter, loc, {exps, sum}, {identity, dropAxis},
                     emptyTensor(rewriter, loc, type), identity, parallel,
                     [](OpBuilder &b, Location l, ValueRange args) -> Value {
                       return b.create<arith::DivFOp>(l, args[0], args[1]);
                     });
    rewriter.replaceOp(op, result);
    return success();
  }
};

enum class ReduceKind { kSum, kMean, kMax };

template <typename OpTy, ReduceKind Kind>
struct ReduceLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData();
    auto inType = cast<RankedTensorType>(data.getType());
    Type elem = inType.getElementType();
    int64_t rank = inType.getRank();
    std::optional<ArrayRef<int64_t>> axes = op.getAxes();
    SmallVector<bool> reduced(rank, !axes || axes->empty());
    if (axes)
      for (int64_t a : *axes)
        reduced[normalizeAxis(a, rank)] = true;
    Value result;
    if (Kind == ReduceKind::kMax)
      result = buildReduction(rewriter, loc, data, reduced,
                              lowestAttr(rewriter, elem), maxValues);
    else
      result = buildReduction(rewriter, loc, data, reduced,
                              zeroAttr(rewriter, elem), addValues);
    if (Kind == ReduceKind::kMean) {
      int64_t count = 1;
      for (int64_t i = 0; i < rank; ++i)
        if (reduced[i])
          count *= inType.getDimSize(i);
      auto sumType = cast<RankedTensorType>(result.getType());
      result = buildElementwise(
          rewriter, loc, result, sumType,
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            if (isFloat(elem)) {
              Value n = b.create<arith::ConstantOp>(
                  l, b.getFloatAttr(elem, static_cast<double>(count)));
              return b.create<arith::DivFOp>(l, args[0], n);
            }
            Value n = b.create<arith::ConstantOp>(
                l, b.getIntegerAttr(elem, count == 0 ? 1 : count));
            return b.create<arith::DivSIOp>(l, args[0], n);
          });
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, result,
                                     cast<RankedTensorType>(op.getType())));
    return success();
  }
};

struct ConvertKilnToLinalgPass
    : public impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    // Feeds belong to the caller: no kernel may write into them.
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.setArgAttr(i, "bufferization.writable", BoolAttr::get(ctx, false));

    ConversionTarget target(*ctx);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, tensor::TensorDialect,
                           func::FuncDialect>();
    RewritePatternSet patterns(ctx);
    patterns
        .add<ElementwiseLowering<AddOp>, ElementwiseLowering<SubOp>,
             ElementwiseLowering<MulOp>, ElementwiseLowering<DivOp>,
             ElementwiseLowering<ReluOp>, ElementwiseLowering<NegOp>,
             ElementwiseLowering<SigmoidOp>, ElementwiseLowering<TanhOp>,
             ElementwiseLowering<ExpOp>, ElementwiseLowering<LogOp>,
             ElementwiseLowering<SqrtOp>, ConstantLowering, IdentityLowering,
             ReshapeLowering, TransposeLowering, MatMulLowering, GemmLowering,
             SoftmaxLowering, ReduceLowering<ReduceSumOp, ReduceKind::kSum>,
             ReduceLowering<ReduceMeanOp, ReduceKind::kMean>,
             ReduceLowering<ReduceMaxOp, ReduceKind::kMax>>(ctx);
    if (failed(applyPartialConversion(func, target, std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
