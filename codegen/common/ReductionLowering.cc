//===- ReductionLowering.cc - Softmax, reductions, CumSum -----------------===//
//
// Part of Kiln. Softmax and LogSoftmax, the reductions, the arg-reductions
// and CumSum reduce (or scan) along axes; kiln.check reduces the values it
// checks to a count. One pattern serves every op with
// the ReductionOpInterface (ir/Interfaces.td): the op gives its init value
// and combiner.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

template <typename OpTy, bool Log>
struct SoftmaxLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  /// The row's max m, e = exp(x - m), its sum s, then e * (1 / s) (one
  /// division per row, not per element, as ONNX Runtime computes it), or
  /// for LogSoftmax (x - m) - log s.

  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    Type elem = type.getElementType();
    int64_t rank = type.getRank();
    if (rank == 0) {
      rewriter.replaceOp(
          op, filledTensor(rewriter, loc, type,
                           rewriter.getFloatAttr(elem, Log ? 0 : 1)));
      return success();
    }
    SmallVector<bool> reduced(rank, false);
    reduced[normalizeAxis(op.getAxis(), rank)] = true;
    Value max =
        buildReduction(rewriter, loc, x, reduced, lowestAttr(rewriter, elem),
                       [](OpBuilder &b, Location l, Value x, Value y) {
                         return maxValues(b, l, x, y);
                       });
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    AffineMap dropAxis = dropDimsMap(rank, reduced, rewriter.getContext());
    SmallVector<IteratorType> parallel(rank, IteratorType::parallel);
    // x - m, then exp of it (Softmax: in one op, no tensor between).
    auto shiftedBy = [&](bool exp) {
      return buildGeneric(
          rewriter, loc, {x, max}, {identity, dropAxis},
          emptyTensor(rewriter, loc, type), identity, parallel,
          [exp](OpBuilder &b, Location l, ValueRange args) -> Value {
            Value d = b.create<arith::SubFOp>(l, args[0], args[1]);
            return exp ? b.create<math::ExpOp>(l, d).getResult() : d;
          });
    };
    Value shifted = Log ? shiftedBy(false) : Value();
    Value exps =
        Log ? buildElementwise(rewriter, loc, shifted, type,
                               [](OpBuilder &b, Location l, ValueRange args) {
                                 return b.create<math::ExpOp>(l, args[0]);
                               })
            : shiftedBy(true);
    Value sum = buildReduction(rewriter, loc, exps, reduced,
                               zeroAttr(rewriter, elem), addValues);
    auto sumType = cast<RankedTensorType>(sum.getType());
    Value perRow = buildElementwise(
        rewriter, loc, sum, sumType,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          if (Log)
            return b.create<math::LogOp>(l, args[0]);
          return b.create<arith::DivFOp>(l, scalarConstant(b, l, elem, 1.0),
                                         args[0]);
        });
    Value result = buildGeneric(
        rewriter, loc, {Log ? shifted : exps, perRow}, {identity, dropAxis},
        emptyTensor(rewriter, loc, type), identity, parallel,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          if (Log)
            return b.create<arith::SubFOp>(l, args[0], args[1]);
          return b.create<arith::MulFOp>(l, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// Every op with the ReductionOpInterface: one reduction generic from the
/// op's init with its combiner, divided by the count for a mean.
struct ReduceLowering
    : public OpInterfaceConversionPattern<ReductionOpInterface> {
  using OpInterfaceConversionPattern::OpInterfaceConversionPattern;
  LogicalResult
  matchAndRewrite(ReductionOpInterface op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op->getLoc();
    Value data = operands[0];
    auto inType = cast<RankedTensorType>(data.getType());
    Type elem = inType.getElementType();
    int64_t rank = inType.getRank();
    SmallVector<bool> reduced =
        reducedAxes(op.getReductionAxes(), rank, op.isNoopWithEmptyAxes());
    bool isUnsigned = op.computesOnUnsigned();
    Value result = buildReduction(
        rewriter, loc, data, reduced, op.getReductionInit(rewriter, elem),
        [&](OpBuilder &b, Location l, Value element, Value accumulator) {
          return op.combineReduction(b, l, element, accumulator);
        });
    if (op.dividesByCount()) {
      int64_t count = 1;
      for (int64_t i = 0; i < rank; ++i)
        if (reduced[i])
          count *= inType.getDimSize(i);
      auto sumType = cast<RankedTensorType>(result.getType());
      result = buildElementwise(
          rewriter, loc, result, sumType,
          [&](OpBuilder &b, Location l, ValueRange args) -> Value {
            if (isFloat(elem))
              return b.create<arith::DivFOp>(
                  l, args[0], scalarConstant(b, l, elem, double(count)));
            Value n = scalarConstant(b, l, elem, count ? count : 1);
            if (isUnsigned)
              return b.create<arith::DivUIOp>(l, args[0], n);
            return b.create<arith::DivSIOp>(l, args[0], n);
          });
    }
    rewriter.replaceOp(op, reshapeTo(rewriter, loc, result, resultType(op)));
    return success();
  }
};

template <typename OpTy, bool IsMax>
struct ArgReduceLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  /// One reduction generic carrying (best value, its index); ties keep the
  /// first index unless select_last_index.
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData();
    auto inType = cast<RankedTensorType>(data.getType());
    Type elem = inType.getElementType();
    int64_t rank = inType.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), rank);
    SmallVector<bool> reduced(rank, false);
    reduced[axis] = true;
    SmallVector<int64_t> shape;
    SmallVector<IteratorType> iterators;
    for (int64_t i = 0; i < rank; ++i) {
      iterators.push_back(i == axis ? IteratorType::reduction
                                    : IteratorType::parallel);
      if (i != axis)
        shape.push_back(inType.getDimSize(i));
    }
    Type i64 = rewriter.getI64Type();
    bool isUnsigned = isUnsignedInt(op.getData().getType());
    Value bestInit =
        filledTensor(rewriter, loc, RankedTensorType::get(shape, elem),
                     IsMax ? lowestAttr(rewriter, elem, isUnsigned)
                           : highestAttr(rewriter, elem, isUnsigned));
    Value indexInit =
        filledTensor(rewriter, loc, RankedTensorType::get(shape, i64),
                     rewriter.getI64IntegerAttr(0));
    AffineMap outMap = dropDimsMap(rank, reduced, rewriter.getContext());
    bool last = op.getSelectLastIndex() != 0;
    auto generic = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{bestInit.getType(), indexInit.getType()}, data,
        ValueRange{bestInit, indexInit},
        ArrayRef<AffineMap>{rewriter.getMultiDimIdentityMap(rank), outMap,
                            outMap},
        iterators, [&](OpBuilder &b, Location l, ValueRange args) {
          Value x = args[0], best = args[1], bestIndex = args[2];
          Value index = b.create<arith::IndexCastOp>(
              l, i64, b.create<linalg::IndexOp>(l, axis));
          Value better;
          if (isFloat(elem)) {
            auto strict =
                IsMax ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT;
            auto loose =
                IsMax ? arith::CmpFPredicate::OGE : arith::CmpFPredicate::OLE;
            better = b.create<arith::CmpFOp>(l, last ? loose : strict, x, best);
          } else {
            auto strict = IsMax ? (isUnsigned ? arith::CmpIPredicate::ugt
                                              : arith::CmpIPredicate::sgt)
                                : (isUnsigned ? arith::CmpIPredicate::ult
                                              : arith::CmpIPredicate::slt);
            auto loose = IsMax ? (isUnsigned ? arith::CmpIPredicate::uge
                                             : arith::CmpIPredicate::sge)
                               : (isUnsigned ? arith::CmpIPredicate::ule
                                             : arith::CmpIPredicate::sle);
            better = b.create<arith::CmpIOp>(l, last ? loose : strict, x, best);
          }
          // The first element always wins, whatever the initial value.
          Value first = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::eq, index,
              b.create<arith::ConstantOp>(l, b.getI64IntegerAttr(0)));
          better = b.create<arith::OrIOp>(l, better, first);
          b.create<linalg::YieldOp>(
              l, ValueRange{
                     b.create<arith::SelectOp>(l, better, x, best),
                     b.create<arith::SelectOp>(l, better, index, bestIndex)});
        });
    rewriter.replaceOp(
        op, reshapeTo(rewriter, loc, generic.getResult(1), resultType(op)));
    return success();
  }
};

struct CumSumLowering : public OpConversionPattern<CumSumOp> {
  using OpConversionPattern::OpConversionPattern;
  /// out[.., i, ..] = sum over j of in[.., j, ..] where j is before i (or
  /// after, reversed; strictly, when exclusive).
  LogicalResult
  matchAndRewrite(CumSumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getInput();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), std::max<int64_t>(rank, 1));
    if (rank == 0) {
      rewriter.replaceOp(op, x);
      return success();
    }
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> inExprs;
    for (int64_t i = 0; i < rank; ++i)
      inExprs.push_back(getAffineDimExpr(i == axis ? rank : i, ctx));
    SmallVector<AffineExpr> outExprs;
    for (int64_t i = 0; i < rank; ++i)
      outExprs.push_back(getAffineDimExpr(i, ctx));
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    iterators.push_back(IteratorType::reduction);
    Type elem = type.getElementType();
    bool exclusive = op.getExclusive() != 0, reverse = op.getReverse() != 0;
    Value init = filledTensor(rewriter, loc, type, rewriter.getZeroAttr(elem));
    Value result = buildGeneric(
        rewriter, loc, x, AffineMap::get(rank + 1, 0, inExprs, ctx), init,
        AffineMap::get(rank + 1, 0, outExprs, ctx), iterators,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value i = b.create<linalg::IndexOp>(l, axis);
          Value j = b.create<linalg::IndexOp>(l, rank);
          arith::CmpIPredicate pred =
              reverse ? (exclusive ? arith::CmpIPredicate::ugt
                                   : arith::CmpIPredicate::uge)
                      : (exclusive ? arith::CmpIPredicate::ult
                                   : arith::CmpIPredicate::ule);
          Value include = b.create<arith::CmpIOp>(l, pred, j, i);
          Value term = b.create<arith::SelectOp>(l, include, args[0],
                                                 scalarConstant(b, l, elem, 0));
          return addValues(b, l, args[1], term);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

/// kiln.check: one generic over [2] x the values' shape, reducing the
/// values into [count of bad values, largest bad value].
struct CheckLowering : public OpConversionPattern<CheckOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(CheckOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value values = adaptor.getValues();
    auto type = cast<RankedTensorType>(values.getType());
    // Bools are 0 or 1, not 0 or -1.
    Type valueType = op.getValues().getType().getElementType();
    bool isUnsigned = valueType.isUnsignedInteger() || valueType.isInteger(1);
    int64_t rank = type.getRank();
    MLIRContext *ctx = rewriter.getContext();
    Type i64 = rewriter.getI64Type();
    auto outType = RankedTensorType::get({2}, i64);
    // Both start at INT64_MIN (one fill, no constant to copy); the count
    // reads it as 0, and the values are never empty (kiln-insert-checks).
    Value init = filledTensor(
        rewriter, loc, outType,
        rewriter.getI64IntegerAttr(std::numeric_limits<int64_t>::min()));
    SmallVector<AffineExpr> inExprs;
    for (int64_t i = 0; i < rank; ++i)
      inExprs.push_back(getAffineDimExpr(i + 1, ctx));
    SmallVector<IteratorType> iterators(rank + 1, IteratorType::reduction);
    iterators[0] = IteratorType::parallel;
    ArrayRef<int64_t> lower = op.getLower(), upper = op.getUpper();
    bool inside = op.getInside();
    Value result = buildGeneric(
        rewriter, loc, values, AffineMap::get(rank + 1, 0, inExprs, ctx), init,
        AffineMap::get(rank + 1, 0, {getAffineDimExpr(0, ctx)}, ctx), iterators,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value v = args[0];
          if (v.getType() != i64)
            v = isUnsigned ? b.create<arith::ExtUIOp>(l, i64, v).getResult()
                           : b.create<arith::ExtSIOp>(l, i64, v).getResult();
          auto bound = [&](ArrayRef<int64_t> bounds) -> Value {
            Value r = b.create<arith::ConstantIntOp>(l, bounds[0], 64);
            if (bounds.size() == 1)
              return r;
            // One bound per position of the last axis.
            Value position = b.create<linalg::IndexOp>(l, rank);
            for (size_t p = 1; p < bounds.size(); ++p) {
              Value here = b.create<arith::CmpIOp>(
                  l, arith::CmpIPredicate::eq, position,
                  b.create<arith::ConstantIndexOp>(l, p));
              r = b.create<arith::SelectOp>(
                  l, here, b.create<arith::ConstantIntOp>(l, bounds[p], 64), r);
            }
            return r;
          };
          Value inRange = b.create<arith::AndIOp>(
              l,
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle,
                                      bound(lower), v),
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sle, v,
                                      bound(upper)));
          Value bad =
              inside ? b.create<arith::XOrIOp>(
                            l, inRange, b.create<arith::ConstantIntOp>(l, 1, 1))
                           .getResult()
                     : inRange;
          Value minimum = b.create<arith::ConstantIntOp>(
              l, std::numeric_limits<int64_t>::min(), 64);
          Value counted = b.create<arith::SelectOp>(
              l,
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, args[1],
                                      minimum),
              b.create<arith::ConstantIntOp>(l, 0, 64), args[1]);
          Value count = b.create<arith::AddIOp>(
              l, counted, b.create<arith::ExtUIOp>(l, i64, bad));
          Value largest = b.create<arith::SelectOp>(
              l, bad, b.create<arith::MaxSIOp>(l, args[1], v), args[1]);
          Value isCount = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::eq, b.create<linalg::IndexOp>(l, 0),
              b.create<arith::ConstantIndexOp>(l, 0));
          return b.create<arith::SelectOp>(l, isCount, count, largest);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateReductionLowering(RewritePatternSet &patterns,
                               TypeConverter &converter) {
  patterns.add<
      SoftmaxLowering<SoftmaxOp, false>, SoftmaxLowering<LogSoftmaxOp, true>,
      ReduceLowering, ArgReduceLowering<ArgMaxOp, true>,
      ArgReduceLowering<ArgMinOp, false>, CumSumLowering, CheckLowering>(
      converter, patterns.getContext());
}

} // namespace kiln
