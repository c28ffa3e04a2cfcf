//===- StructuredLowering.cc - Contractions, reductions, windows ----------===//
//
// Part of Kiln. MatMul, Gemm, Conv and ConvTranspose become reduction
// linalg.generic ops whose input maps encode batching, transposes, strides
// and dilations; pooling slides a reduction over padded windows; Softmax,
// the reductions and the arg-reductions reduce along axes.
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

TypedAttr zeroAttr(OpBuilder &b, Type t) { return b.getZeroAttr(t); }

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

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
    auto outType = resultType(op);
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

/// `value` transposed, when it is a 2-D constant: Gemm's transB with
/// constant weights (PyTorch's Linear) then reads B row by row, along the
/// output's columns, which vectorizes.
Value transposedConstant(OpBuilder &b, Location loc, Value value) {
  // Inside a kiln.fusion, weights arrive as the region's arguments.
  if (auto arg = dyn_cast<BlockArgument>(value))
    if (auto fusion = dyn_cast<FusionOp>(arg.getOwner()->getParentOp()))
      value = fusion.getInputs()[arg.getArgNumber()];
  DenseElementsAttr attr;
  if (!matchPattern(value, m_Constant(&attr)) ||
      cast<ShapedType>(attr.getType()).getRank() != 2)
    return nullptr;
  DenseElementsAttr transposed = transposeElements(attr, {1, 0});
  if (!transposed)
    return nullptr;
  return b.create<arith::ConstantOp>(loc, transposed);
}

struct GemmLowering : public OpConversionPattern<GemmOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GemmOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = resultType(op);
    MLIRContext *ctx = rewriter.getContext();
    Location loc = op.getLoc();
    AffineExpr m = getAffineDimExpr(0, ctx), n = getAffineDimExpr(1, ctx),
               k = getAffineDimExpr(2, ctx);
    AffineMap aMap = AffineMap::get(3, 0,
                                    op.getTransA() ? ArrayRef<AffineExpr>{k, m}
                                                   : ArrayRef<AffineExpr>{m, k},
                                    ctx);
    Value bValue = adaptor.getB();
    bool transB = op.getTransB();
    if (transB) {
      if (Value t = transposedConstant(rewriter, loc, bValue)) {
        bValue = t;
        transB = false;
      }
    }
    AffineMap bMap = AffineMap::get(
        3, 0, transB ? ArrayRef<AffineExpr>{n, k} : ArrayRef<AffineExpr>{k, n},
        ctx);
    Value product = buildContraction(rewriter, loc, adaptor.getA(), aMap,
                                     bValue, bMap, outType);
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

struct TopKLowering : public OpConversionPattern<TopKOp> {
  using OpConversionPattern::OpConversionPattern;
  /// rank[i] = how many entries come before entry i (better, or equal with
  /// a lower index); output position r then takes the entry of rank r.
  /// Quadratic in the axis length, which TopK's uses keep small.
  LogicalResult
  matchAndRewrite(TopKOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value x = adaptor.getX();
    auto type = cast<RankedTensorType>(x.getType());
    int64_t rank = type.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), rank);
    bool largest = op.getLargest() != 0;
    bool isUnsigned = isUnsignedInt(op.getX().getType());
    MLIRContext *ctx = rewriter.getContext();
    Type i64 = rewriter.getI64Type();
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    // Iteration (..., i, ...) + j: the extra dim `rank` is j on the axis.
    SmallVector<AffineExpr> at_i, at_j;
    for (int64_t d = 0; d < rank; ++d) {
      at_i.push_back(dim(d));
      at_j.push_back(d == axis ? dim(rank) : dim(d));
    }
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    iterators.push_back(IteratorType::reduction);
    auto rankType = RankedTensorType::get(type.getShape(), i64);
    Value zeros =
        filledTensor(rewriter, loc, rankType, rewriter.getI64IntegerAttr(0));
    Value ranks = buildGeneric(
        rewriter, loc, {x, x},
        {AffineMap::get(rank + 1, 0, at_i, ctx),
         AffineMap::get(rank + 1, 0, at_j, ctx)},
        zeros, AffineMap::get(rank + 1, 0, at_i, ctx), iterators,
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value xi = args[0], xj = args[1];
          Value better, equal;
          if (isFloat(xi.getType())) {
            better = b.create<arith::CmpFOp>(
                l,
                largest ? arith::CmpFPredicate::OGT : arith::CmpFPredicate::OLT,
                xj, xi);
            equal =
                b.create<arith::CmpFOp>(l, arith::CmpFPredicate::OEQ, xj, xi);
          } else {
            arith::CmpIPredicate p =
                largest ? (isUnsigned ? arith::CmpIPredicate::ugt
                                      : arith::CmpIPredicate::sgt)
                        : (isUnsigned ? arith::CmpIPredicate::ult
                                      : arith::CmpIPredicate::slt);
            better = b.create<arith::CmpIOp>(l, p, xj, xi);
            equal =
                b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, xj, xi);
          }
          Value earlier = b.create<arith::CmpIOp>(
              l, arith::CmpIPredicate::ult, b.create<linalg::IndexOp>(l, rank),
              b.create<linalg::IndexOp>(l, axis));
          Value before = b.create<arith::OrIOp>(
              l, better, b.create<arith::AndIOp>(l, equal, earlier));
          return b.create<arith::AddIOp>(
              l, args[2], b.create<arith::ExtUIOp>(l, i64, before));
        });
    // Iteration (..., r, ...) + i: output r takes the entry of rank r.
    RankedTensorType valuesType = resultType(op, 0);
    RankedTensorType indicesType = resultType(op, 1);
    Value valuesInit = filledTensor(
        rewriter, loc, valuesType, rewriter.getZeroAttr(type.getElementType()));
    Value indicesInit =
        filledTensor(rewriter, loc, indicesType, rewriter.getI64IntegerAttr(0));
    AffineMap outMap = AffineMap::get(rank + 1, 0, at_i, ctx);
    AffineMap inMap = AffineMap::get(rank + 1, 0, at_j, ctx);
    auto select = rewriter.create<linalg::GenericOp>(
        loc, TypeRange{valuesType, indicesType}, ValueRange{x, ranks},
        ValueRange{valuesInit, indicesInit},
        ArrayRef<AffineMap>{inMap, inMap, outMap, outMap}, iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          Value r = b.create<arith::IndexCastOp>(
              l, i64, b.create<linalg::IndexOp>(l, axis));
          Value i = b.create<arith::IndexCastOp>(
              l, i64, b.create<linalg::IndexOp>(l, rank));
          Value match =
              b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, args[1], r);
          b.create<linalg::YieldOp>(
              l,
              ValueRange{b.create<arith::SelectOp>(l, match, args[0], args[2]),
                         b.create<arith::SelectOp>(l, match, i, args[3])});
        });
    rewriter.replaceOp(op, select.getResults());
    return success();
  }
};

struct EinsumLowering : public OpConversionPattern<EinsumOp> {
  using OpConversionPattern::OpConversionPattern;
  /// One generic: output axes parallel, summed axes reduction; the body
  /// multiplies the inputs' elements into the accumulator.
  LogicalResult
  matchAndRewrite(EinsumOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto spec =
        parseEinsum(std::nullopt, op.getEquation(), op.getInputs().getTypes());
    if (failed(spec))
      return rewriter.notifyMatchFailure(op, "bad equation");
    MLIRContext *ctx = rewriter.getContext();
    int64_t numDims = spec->dimSizes.size();
    SmallVector<AffineMap> maps;
    for (const SmallVector<int64_t> &dims : spec->inputDims) {
      SmallVector<AffineExpr> exprs;
      for (int64_t d : dims)
        exprs.push_back(d < 0 ? getAffineConstantExpr(0, ctx)
                              : getAffineDimExpr(d, ctx));
      maps.push_back(AffineMap::get(numDims, 0, exprs, ctx));
    }
    SmallVector<AffineExpr> outExprs;
    for (unsigned d = 0; d < spec->numOutputDims; ++d)
      outExprs.push_back(getAffineDimExpr(d, ctx));
    SmallVector<IteratorType> iterators(spec->numOutputDims,
                                        IteratorType::parallel);
    iterators.append(numDims - spec->numOutputDims, IteratorType::reduction);
    RankedTensorType outType = resultType(op);
    Value init = filledTensor(rewriter, op.getLoc(), outType,
                              rewriter.getZeroAttr(outType.getElementType()));
    Value result =
        buildGeneric(rewriter, op.getLoc(), adaptor.getInputs(), maps, init,
                     AffineMap::get(numDims, 0, outExprs, ctx), iterators,
                     [](OpBuilder &b, Location l, ValueRange args) {
                       Value product = args[0];
                       for (Value v : args.drop_front().drop_back())
                         product = mulValues(b, l, product, v);
                       return addValues(b, l, args.back(), product);
                     });
    rewriter.replaceOp(op, result);
    return success();
  }
};

//===----------------------------------------------------------------------===//
// Softmax, reductions
//===----------------------------------------------------------------------===//

template <typename OpTy, bool Log>
struct SoftmaxLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  /// max, exp(x - max), sum, then divide (or subtract the log of the sum).
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
    Value shifted =
        buildGeneric(rewriter, loc, {x, max}, {identity, dropAxis},
                     emptyTensor(rewriter, loc, type), identity, parallel,
                     [](OpBuilder &b, Location l, ValueRange args) -> Value {
                       return b.create<arith::SubFOp>(l, args[0], args[1]);
                     });
    Value exps = buildElementwise(
        rewriter, loc, shifted, type,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return b.create<math::ExpOp>(l, args[0]);
        });
    Value sum = buildReduction(rewriter, loc, exps, reduced,
                               zeroAttr(rewriter, elem), addValues);
    Value result = buildGeneric(
        rewriter, loc, {Log ? shifted : exps, sum}, {identity, dropAxis},
        emptyTensor(rewriter, loc, type), identity, parallel,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          if (Log)
            return b.create<arith::SubFOp>(l, args[0],
                                           b.create<math::LogOp>(l, args[1]));
          return b.create<arith::DivFOp>(l, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

enum class ReduceKind { kSum, kMean, kMax, kMin, kProd };

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
    SmallVector<bool> reduced =
        reducedAxes(op.getAxes(), rank, op.getNoopWithEmptyAxes() != 0);
    bool isUnsigned = isUnsignedInt(op.getData().getType());
    auto max = [&](OpBuilder &b, Location l, Value x, Value y) {
      return maxValues(b, l, x, y, isUnsigned);
    };
    auto min = [&](OpBuilder &b, Location l, Value x, Value y) {
      return minValues(b, l, x, y, isUnsigned);
    };
    Value result;
    switch (Kind) {
    case ReduceKind::kMax:
      result = buildReduction(rewriter, loc, data, reduced,
                              lowestAttr(rewriter, elem, isUnsigned), max);
      break;
    case ReduceKind::kMin:
      result = buildReduction(rewriter, loc, data, reduced,
                              highestAttr(rewriter, elem, isUnsigned), min);
      break;
    case ReduceKind::kProd:
      result = buildReduction(rewriter, loc, data, reduced,
                              isFloat(elem)
                                  ? TypedAttr(rewriter.getFloatAttr(elem, 1))
                                  : TypedAttr(rewriter.getIntegerAttr(elem, 1)),
                              mulValues);
      break;
    case ReduceKind::kSum:
    case ReduceKind::kMean:
      result = buildReduction(rewriter, loc, data, reduced,
                              zeroAttr(rewriter, elem), addValues);
      break;
    }
    if (Kind == ReduceKind::kMean) {
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

//===----------------------------------------------------------------------===//
// Convolution and pooling
//===----------------------------------------------------------------------===//

/// Pads the spatial axes of `x` ([N, C, spatial...]) with `value`.
Value padSpatial(OpBuilder &b, Location loc, Value x, ArrayRef<int64_t> begin,
                 ArrayRef<int64_t> end, TypedAttr value) {
  if (llvm::all_of(begin, [](int64_t p) { return p == 0; }) &&
      llvm::all_of(end, [](int64_t p) { return p == 0; }))
    return x;
  auto type = cast<RankedTensorType>(x.getType());
  SmallVector<int64_t> low = {0, 0}, high = {0, 0}, shape;
  low.append(begin.begin(), begin.end());
  high.append(end.begin(), end.end());
  for (int64_t i = 0; i < type.getRank(); ++i)
    shape.push_back(type.getDimSize(i) + low[i] + high[i]);
  auto padded = RankedTensorType::get(shape, type.getElementType());
  Value pad = b.create<arith::ConstantOp>(loc, value);
  return b.create<tensor::PadOp>(
      loc, padded, x, getAsIndexOpFoldResult(b.getContext(), low),
      getAsIndexOpFoldResult(b.getContext(), high), pad);
}

/// Conv over an already padded X: out[n, g, m, o..] = init + sum over
/// (c, k..) of x[n, g, c, o*s + k*d] * w[g, m, c, k..]. X is
/// [N, G, C/G, S..], W is [G, M/G, C/G, K..], `init` is [N, G, M/G, O..].
/// With `grouped`, X is [N, G, C/G, ...], W [G, M/G, C/G, K...] and the
/// result [N, G, M/G, ...]; without (one group), the usual [N, C, ...],
/// [M, C, K...] and [N, M, ...], with no reshapes around the kernel, so
/// that a fused epilogue reads its result directly.
Value buildConv(OpBuilder &b, Location loc, Value x, Value w, Value init,
                ArrayRef<int64_t> strides, ArrayRef<int64_t> dilations,
                bool grouped) {
  MLIRContext *ctx = b.getContext();
  auto wType = cast<RankedTensorType>(w.getType());
  int64_t lead = grouped ? 3 : 2; // n, (g,) m
  int64_t spatial = wType.getRank() - lead;
  // Iteration: n, (g,) m, o_1..o_s, c, k_1..k_s.
  int64_t numDims = lead + spatial + 1 + spatial;
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  AffineExpr n = dim(0), m = dim(lead - 1), c = dim(lead + spatial);
  SmallVector<AffineExpr> xExprs = {n, c}, wExprs = {m, c}, outExprs = {n, m};
  if (grouped) {
    AffineExpr g = dim(1);
    xExprs = {n, g, c};
    wExprs = {g, m, c};
    outExprs = {n, g, m};
  }
  for (int64_t i = 0; i < spatial; ++i) {
    AffineExpr o = dim(lead + i), k = dim(lead + spatial + 1 + i);
    xExprs.push_back(o * strides[i] + k * dilations[i]);
    wExprs.push_back(k);
    outExprs.push_back(o);
  }
  SmallVector<IteratorType> iterators(lead + spatial, IteratorType::parallel);
  iterators.append(1 + spatial, IteratorType::reduction);
  return buildGeneric(
      b, loc, {x, w},
      {AffineMap::get(numDims, 0, xExprs, ctx),
       AffineMap::get(numDims, 0, wExprs, ctx)},
      init, AffineMap::get(numDims, 0, outExprs, ctx), iterators,
      [](OpBuilder &nb, Location l, ValueRange args) {
        return addValues(nb, l, args[2], mulValues(nb, l, args[0], args[1]));
      });
}

/// [d0, d1, rest..] -> [d0, groups, d1 / groups, rest..] (or the reverse
/// when `split` is false and the input has the extra axis).
Value splitChannels(OpBuilder &b, Location loc, Value v, int64_t axis,
                    int64_t groups) {
  auto type = cast<RankedTensorType>(v.getType());
  SmallVector<int64_t> shape(type.getShape().take_front(axis));
  shape.push_back(groups);
  shape.push_back(type.getDimSize(axis) / groups);
  shape.append(type.getShape().begin() + axis + 1, type.getShape().end());
  return reshapeTo(b, loc, v,
                   RankedTensorType::get(shape, type.getElementType()));
}

/// Shared by Conv and ConvTranspose: X padded, W as [M, C/G, K..]; adds B.
Value lowerConv(OpBuilder &b, Location loc, Value paddedX, Value w, Value bias,
                int64_t groups, ArrayRef<int64_t> strides,
                ArrayRef<int64_t> dilations, RankedTensorType outType) {
  Type elem = outType.getElementType();
  if (groups == 1) {
    Value init;
    if (bias) {
      int64_t rank = outType.getRank();
      MLIRContext *ctx = b.getContext();
      init = buildGeneric(
          b, loc, bias,
          AffineMap::get(rank, 0, {getAffineDimExpr(1, ctx)}, ctx),
          emptyTensor(b, loc, outType), b.getMultiDimIdentityMap(rank),
          SmallVector<IteratorType>(rank, IteratorType::parallel),
          [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    } else {
      init = filledTensor(b, loc, outType, b.getZeroAttr(elem));
    }
    return buildConv(b, loc, paddedX, w, init, strides, dilations,
                     /*grouped=*/false);
  }
  int64_t mPerGroup = outType.getDimSize(1) / groups;
  SmallVector<int64_t> groupedShape = {outType.getDimSize(0), groups,
                                       mPerGroup};
  groupedShape.append(outType.getShape().begin() + 2, outType.getShape().end());
  auto groupedType = RankedTensorType::get(groupedShape, elem);
  Value init;
  if (bias) {
    // Start from the bias, broadcast along every axis but the channel.
    Value groupedBias = reshapeTo(
        b, loc, bias, RankedTensorType::get({groups, mPerGroup}, elem));
    int64_t rank = groupedType.getRank();
    MLIRContext *ctx = b.getContext();
    AffineMap biasMap = AffineMap::get(
        rank, 0, {getAffineDimExpr(1, ctx), getAffineDimExpr(2, ctx)}, ctx);
    init = buildGeneric(
        b, loc, groupedBias, biasMap, emptyTensor(b, loc, groupedType),
        b.getMultiDimIdentityMap(rank),
        SmallVector<IteratorType>(rank, IteratorType::parallel),
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
  } else {
    init = filledTensor(b, loc, groupedType, b.getZeroAttr(elem));
  }
  Value x = splitChannels(b, loc, paddedX, 1, groups);
  Value wg = splitChannels(b, loc, w, 0, groups);
  Value out = buildConv(b, loc, x, wg, init, strides, dilations,
                        /*grouped=*/true);
  return reshapeTo(b, loc, out, outType);
}

struct ConvLowering : public OpConversionPattern<ConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    auto wType = cast<RankedTensorType>(adaptor.getW().getType());
    auto g =
        computeWindows(std::nullopt, xType.getShape().drop_front(2),
                       wType.getShape().drop_front(2), op.getStrides(),
                       op.getDilations(), op.getPads(), op.getAutoPad(), false);
    if (failed(g))
      return rewriter.notifyMatchFailure(op, "bad window geometry");
    Value x =
        padSpatial(rewriter, op.getLoc(), adaptor.getX(), g->padBegin,
                   g->padEnd, rewriter.getZeroAttr(xType.getElementType()));
    rewriter.replaceOp(op, lowerConv(rewriter, op.getLoc(), x, adaptor.getW(),
                                     adaptor.getB(), op.getGroup(), g->strides,
                                     g->dilations, resultType(op)));
    return success();
  }
};

struct ConvTransposeLowering : public OpConversionPattern<ConvTransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  /// A stride-1 Conv over X spread out by the strides (zeros between) and
  /// padded by (k - 1) * d - pad, with W flipped and its channel axes
  /// swapped per group.
  LogicalResult
  matchAndRewrite(ConvTransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto g = computeConvTranspose(std::nullopt, ConvTransposeOp::Adaptor(op));
    if (failed(g))
      return rewriter.notifyMatchFailure(op, "bad geometry");
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    auto wType = cast<RankedTensorType>(adaptor.getW().getType());
    auto outType = resultType(op);
    Type elem = xType.getElementType();
    int64_t spatial = xType.getRank() - 2;
    int64_t groups = op.getGroup();

    // Spread and pad X.
    SmallVector<int64_t> spreadShape = {xType.getDimSize(0),
                                        xType.getDimSize(1)};
    SmallVector<int64_t> offsets = {0, 0}, strides = {1, 1};
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t in = xType.getDimSize(i + 2);
      int64_t extent = (g->kernel[i] - 1) * g->dilations[i];
      int64_t before = extent - g->padBegin[i];
      int64_t size = g->output[i] + extent; // conv input for stride 1
      if (before < 0 || before + (in - 1) * g->strides[i] + 1 > size)
        return rewriter.notifyMatchFailure(op, "pads larger than the kernel");
      spreadShape.push_back(size);
      offsets.push_back(before);
      strides.push_back(g->strides[i]);
    }
    Value zeros =
        filledTensor(rewriter, loc, RankedTensorType::get(spreadShape, elem),
                     rewriter.getZeroAttr(elem));
    SmallVector<int64_t> sizes(xType.getShape());
    Value spread = rewriter.create<tensor::InsertSliceOp>(
        loc, adaptor.getX(), zeros, ValueRange{}, ValueRange{}, ValueRange{},
        rewriter.getDenseI64ArrayAttr(offsets),
        rewriter.getDenseI64ArrayAttr(sizes),
        rewriter.getDenseI64ArrayAttr(strides));

    // W [G*Cg, Mg, K..] -> W' [G*Mg, Cg, K..], flipped.
    int64_t cg = wType.getDimSize(0) / groups, mg = wType.getDimSize(1);
    SmallVector<int64_t> flippedShape = {groups * mg, cg};
    flippedShape.append(wType.getShape().begin() + 2, wType.getShape().end());
    auto flippedType = RankedTensorType::get(flippedShape, elem);
    MLIRContext *ctx = rewriter.getContext();
    int64_t rank = flippedType.getRank();
    // Iterate W' as [G, Mg, Cg, K..] and read W as [G, Cg, Mg, K - 1 - k].
    SmallVector<int64_t> gw = {groups, mg, cg};
    gw.append(wType.getShape().begin() + 2, wType.getShape().end());
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineExpr> readExprs = {dim(0), dim(2), dim(1)};
    for (int64_t i = 0; i < spatial; ++i)
      readExprs.push_back(getAffineConstantExpr(g->kernel[i] - 1, ctx) -
                          dim(3 + i));
    Value wGrouped = splitChannels(rewriter, loc, adaptor.getW(), 0, groups);
    Value flipped = buildGeneric(
        rewriter, loc, wGrouped, AffineMap::get(rank + 1, 0, readExprs, ctx),
        emptyTensor(rewriter, loc, RankedTensorType::get(gw, elem)),
        rewriter.getMultiDimIdentityMap(rank + 1),
        SmallVector<IteratorType>(rank + 1, IteratorType::parallel),
        [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    flipped = reshapeTo(rewriter, loc, flipped, flippedType);
    SmallVector<int64_t> ones(spatial, 1);
    rewriter.replaceOp(op,
                       lowerConv(rewriter, loc, spread, flipped, adaptor.getB(),
                                 groups, ones, g->dilations, outType));
    return success();
  }
};

template <typename OpTy, bool IsMax>
struct PoolLowering : public OpConversionPattern<OpTy> {
  using OpConversionPattern<OpTy>::OpConversionPattern;
  LogicalResult
  matchAndRewrite(OpTy op, typename OpTy::Adaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    auto outType = resultType(op);
    Type elem = xType.getElementType();
    ArrayRef<int64_t> in = xType.getShape().drop_front(2);
    auto g = computeWindows(std::nullopt, in, op.getKernelShape(),
                            op.getStrides(), op.getDilations(), op.getPads(),
                            op.getAutoPad(), op.getCeilMode() != 0);
    if (failed(g))
      return rewriter.notifyMatchFailure(op, "bad window geometry");
    int64_t spatial = in.size();
    // Extra padding at the end for ceil_mode windows that run past it.
    SmallVector<int64_t> padEnd(g->padEnd);
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t need = (g->output[i] - 1) * g->strides[i] +
                     (g->kernel[i] - 1) * g->dilations[i] + 1;
      padEnd[i] = std::max(padEnd[i], need - in[i] - g->padBegin[i]);
    }
    bool isUnsigned = isUnsignedInt(op.getX().getType());
    Value x = padSpatial(rewriter, loc, adaptor.getX(), g->padBegin, padEnd,
                         IsMax ? lowestAttr(rewriter, elem, isUnsigned)
                               : rewriter.getZeroAttr(elem));
    MLIRContext *ctx = rewriter.getContext();
    int64_t numDims = 2 + 2 * spatial;
    auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
    SmallVector<AffineExpr> xExprs = {dim(0), dim(1)},
                            outExprs = {dim(0), dim(1)};
    for (int64_t i = 0; i < spatial; ++i) {
      xExprs.push_back(dim(2 + i) * g->strides[i] +
                       dim(2 + spatial + i) * g->dilations[i]);
      outExprs.push_back(dim(2 + i));
    }
    SmallVector<IteratorType> iterators(2 + spatial, IteratorType::parallel);
    iterators.append(spatial, IteratorType::reduction);
    // The window itself is a constant tensor of the kernel's shape, which
    // only gives the loops their extent.
    Value window =
        emptyTensor(rewriter, loc, RankedTensorType::get(g->kernel, elem));
    SmallVector<AffineExpr> windowExprs;
    for (int64_t i = 0; i < spatial; ++i)
      windowExprs.push_back(dim(2 + spatial + i));
    Value init = filledTensor(rewriter, loc, outType,
                              IsMax ? lowestAttr(rewriter, elem, isUnsigned)
                                    : rewriter.getZeroAttr(elem));
    Value pooled = buildGeneric(
        rewriter, loc, {x, window},
        {AffineMap::get(numDims, 0, xExprs, ctx),
         AffineMap::get(numDims, 0, windowExprs, ctx)},
        init, AffineMap::get(numDims, 0, outExprs, ctx), iterators,
        [&](OpBuilder &b, Location l, ValueRange args) {
          return IsMax ? maxValues(b, l, args[0], args[2], isUnsigned)
                       : addValues(b, l, args[0], args[2]);
        });
    if (IsMax) {
      rewriter.replaceOp(op, pooled);
      return success();
    }
    // Divide by how many elements each window covered: inside the input, or
    // inside the explicit padding too with count_include_pad.
    bool includePad = op.getCountIncludePad() != 0;
    SmallVector<SmallVector<int64_t>> counts(spatial);
    for (int64_t i = 0; i < spatial; ++i) {
      int64_t lo = includePad ? -g->padBegin[i] : 0;
      int64_t hi = includePad ? in[i] + g->padEnd[i] : in[i];
      for (int64_t o = 0; o < g->output[i]; ++o) {
        int64_t count = 0;
        for (int64_t k = 0; k < g->kernel[i]; ++k) {
          int64_t pos =
              o * g->strides[i] + k * g->dilations[i] - g->padBegin[i];
          count += pos >= lo && pos < hi;
        }
        counts[i].push_back(std::max<int64_t>(count, 1));
      }
    }
    SmallVector<int64_t> countShape(g->output);
    SmallVector<double> countValues;
    int64_t total = 1;
    for (int64_t o : g->output)
      total *= o;
    for (int64_t idx = 0; idx < total; ++idx) {
      int64_t rem = idx;
      double c = 1;
      for (int64_t i = spatial - 1; i >= 0; --i) {
        c *= counts[i][rem % g->output[i]];
        rem /= g->output[i];
      }
      countValues.push_back(c);
    }
    auto countType = RankedTensorType::get(countShape, elem);
    DenseElementsAttr countAttr;
    if (elem.isF32())
      countAttr = DenseElementsAttr::get(
          countType, ArrayRef<float>(SmallVector<float>(countValues.begin(),
                                                        countValues.end())));
    else
      countAttr =
          DenseElementsAttr::get(countType, ArrayRef<double>(countValues));
    Value countTensor = rewriter.create<arith::ConstantOp>(loc, countAttr);
    Value result = buildElementwise(
        rewriter, loc, {pooled, countTensor}, outType,
        [](OpBuilder &b, Location l, ValueRange args) -> Value {
          return b.create<arith::DivFOp>(l, args[0], args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateStructuredLowering(RewritePatternSet &patterns,
                                TypeConverter &converter) {
  patterns.add<
      MatMulLowering, GemmLowering, EinsumLowering, TopKLowering,
      SoftmaxLowering<SoftmaxOp, false>, SoftmaxLowering<LogSoftmaxOp, true>,
      ReduceLowering<ReduceSumOp, ReduceKind::kSum>,
      ReduceLowering<ReduceMeanOp, ReduceKind::kMean>,
      ReduceLowering<ReduceMaxOp, ReduceKind::kMax>,
      ReduceLowering<ReduceMinOp, ReduceKind::kMin>,
      ReduceLowering<ReduceProdOp, ReduceKind::kProd>,
      ArgReduceLowering<ArgMaxOp, true>, ArgReduceLowering<ArgMinOp, false>,
      CumSumLowering, ConvLowering, ConvTransposeLowering,
      PoolLowering<MaxPoolOp, true>, PoolLowering<AveragePoolOp, false>>(
      converter, patterns.getContext());
}

} // namespace kiln
