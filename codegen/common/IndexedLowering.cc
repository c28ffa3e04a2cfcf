//===- IndexedLowering.cc - Gathers and scatters --------------------------===//
//
// Part of Kiln. Ops that read or write at positions the data decides:
// Gather, GatherElements, GatherND, ScatterElements, ScatterND. Each is one
// linalg.generic whose body computes the position from linalg.index and the
// indices, and reads with tensor.extract. An index out of range never
// reaches memory: a gather reads index 0 in its place, a scatter skips it
// (kiln-insert-checks fails such a run). Scatters iterate over the output
// and reduce over the updates that could land on each element, so that the
// output is written once per element, in parallel.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

Value indexConstant(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

/// An index element (i32 or i64) into an axis of `size`, negative counting
/// from the back, as an index value; `inRange` (when given) says whether
/// it was in [-size, size). Out of range it becomes 0.
Value axisPosition(OpBuilder &b, Location loc, Value element, int64_t size,
                   Value *inRange = nullptr) {
  Value i = b.create<arith::IndexCastOp>(loc, b.getIndexType(), element);
  Value negative = b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, i,
                                           indexConstant(b, loc, 0));
  i = b.create<arith::SelectOp>(
      loc, negative,
      b.create<arith::AddIOp>(loc, i, indexConstant(b, loc, size)), i);
  Value ok = b.create<arith::AndIOp>(
      loc,
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::sge, i,
                              indexConstant(b, loc, 0)),
      b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::slt, i,
                              indexConstant(b, loc, size)));
  if (inRange)
    *inRange = ok;
  return b.create<arith::SelectOp>(loc, ok, i, indexConstant(b, loc, 0));
}

SmallVector<Value> loopIndices(OpBuilder &b, Location loc, int64_t first,
                               int64_t count) {
  SmallVector<Value> out;
  for (int64_t d = first; d < first + count; ++d)
    out.push_back(b.create<linalg::IndexOp>(loc, d));
  return out;
}

/// How a scatter combines an update with the element it lands on.
Value combineScatter(OpBuilder &b, Location loc, StringRef reduction,
                     Value element, Value update, bool isUnsigned) {
  if (reduction == "add")
    return addValues(b, loc, element, update);
  if (reduction == "mul")
    return mulValues(b, loc, element, update);
  if (reduction == "max")
    return maxValues(b, loc, element, update, isUnsigned);
  if (reduction == "min")
    return minValues(b, loc, element, update, isUnsigned);
  return update;
}

struct GatherLowering : public OpConversionPattern<GatherOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dataType = cast<RankedTensorType>(data.getType());
    auto indicesType = cast<RankedTensorType>(indices.getType());
    auto outType = resultType(op);
    int64_t rank = outType.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), dataType.getRank());
    int64_t irank = indicesType.getRank();
    int64_t dim = dataType.getDimSize(axis);
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> indexExprs;
    for (int64_t i = 0; i < irank; ++i)
      indexExprs.push_back(getAffineDimExpr(axis + i, ctx));
    Value result = buildGeneric(
        rewriter, loc, indices, AffineMap::get(rank, 0, indexExprs, ctx),
        emptyTensor(rewriter, loc, outType),
        rewriter.getMultiDimIdentityMap(rank),
        SmallVector<IteratorType>(rank, IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange args) {
          SmallVector<Value> coords = loopIndices(b, l, 0, axis);
          coords.push_back(axisPosition(b, l, args[0], dim));
          coords.append(loopIndices(b, l, axis + irank, rank - axis - irank));
          return b.create<tensor::ExtractOp>(l, data, coords);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GatherElementsLowering : public OpConversionPattern<GatherElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(GatherElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData();
    auto dataType = cast<RankedTensorType>(data.getType());
    auto outType = resultType(op);
    int64_t rank = outType.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), rank);
    int64_t dim = dataType.getDimSize(axis);
    AffineMap identity = rewriter.getMultiDimIdentityMap(rank);
    Value result =
        buildGeneric(rewriter, loc, adaptor.getIndices(), identity,
                     emptyTensor(rewriter, loc, outType), identity,
                     SmallVector<IteratorType>(rank, IteratorType::parallel),
                     [&](OpBuilder &b, Location l, ValueRange args) {
                       SmallVector<Value> coords = loopIndices(b, l, 0, rank);
                       coords[axis] = axisPosition(b, l, args[0], dim);
                       return b.create<tensor::ExtractOp>(l, data, coords);
                     });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct GatherNDLowering : public OpConversionPattern<GatherNDOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Output (i[0..q-2], rest): data[i[0..b-1], indices[i][0..k-1], rest].
  LogicalResult
  matchAndRewrite(GatherNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value data = adaptor.getData(), indices = adaptor.getIndices();
    auto dataType = cast<RankedTensorType>(data.getType());
    auto indicesType = cast<RankedTensorType>(indices.getType());
    auto outType = resultType(op);
    int64_t rank = outType.getRank();
    int64_t q = indicesType.getRank(), k = indicesType.getShape().back();
    int64_t batch = op.getBatchDims();
    Value result = buildGeneric(
        rewriter, loc, ValueRange{}, {}, emptyTensor(rewriter, loc, outType),
        rewriter.getMultiDimIdentityMap(rank),
        SmallVector<IteratorType>(rank, IteratorType::parallel),
        [&](OpBuilder &b, Location l, ValueRange) {
          SmallVector<Value> tuple = loopIndices(b, l, 0, q - 1);
          SmallVector<Value> coords(tuple.begin(), tuple.begin() + batch);
          for (int64_t j = 0; j < k; ++j) {
            SmallVector<Value> at = tuple;
            at.push_back(indexConstant(b, l, j));
            Value element = b.create<tensor::ExtractOp>(l, indices, at);
            coords.push_back(
                axisPosition(b, l, element, dataType.getDimSize(batch + j)));
          }
          coords.append(loopIndices(b, l, q - 1, rank - (q - 1)));
          return b.create<tensor::ExtractOp>(l, data, coords);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ScatterElementsLowering : public OpConversionPattern<ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Over (output position p, m along the axis): the update at p with its
  /// axis coordinate m lands on p when its index is p's axis coordinate.
  LogicalResult
  matchAndRewrite(ScatterElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto outType = resultType(op);
    auto indicesType = cast<RankedTensorType>(indices.getType());
    int64_t rank = outType.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), rank);
    int64_t dim = outType.getDimSize(axis);
    bool isUnsigned = isUnsignedInt(op.getData().getType());
    StringRef reduction = op.getReduction();
    if (indicesType.getNumElements() == 0) {
      rewriter.replaceOp(op, adaptor.getData());
      return success();
    }
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    iterators.push_back(IteratorType::reduction);
    // The indices, read at [0, ..., m, ..., 0], give the loop over m its
    // bounds; the body reads them where it needs.
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> alongAxis(rank, getAffineConstantExpr(0, ctx));
    alongAxis[axis] = getAffineDimExpr(rank, ctx);
    Value result = buildGeneric(
        rewriter, loc, indices, AffineMap::get(rank + 1, 0, alongAxis, ctx),
        adaptor.getData(),
        AffineMap::getMultiDimIdentityMap(rank + 1, ctx).getMajorSubMap(rank),
        iterators, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value m = b.create<linalg::IndexOp>(l, rank);
          SmallVector<Value> at = loopIndices(b, l, 0, rank);
          Value target = at[axis];
          at[axis] = m;
          // Indices may be smaller than data off the axis: positions past
          // them take no update.
          Value within = b.create<arith::ConstantIntOp>(l, 1, 1);
          for (int64_t d = 0; d < rank; ++d) {
            if (d == axis || indicesType.getDimSize(d) == outType.getDimSize(d))
              continue;
            Value inside = b.create<arith::CmpIOp>(
                l, arith::CmpIPredicate::ult, at[d],
                indexConstant(b, l, indicesType.getDimSize(d)));
            within = b.create<arith::AndIOp>(l, within, inside);
            at[d] = b.create<arith::SelectOp>(l, inside, at[d],
                                              indexConstant(b, l, 0));
          }
          Value inRange;
          Value position = axisPosition(
              b, l, b.create<tensor::ExtractOp>(l, indices, at), dim, &inRange);
          Value match = b.create<arith::AndIOp>(
              l, within,
              b.create<arith::AndIOp>(
                  l, inRange,
                  b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq, position,
                                          target)));
          Value update = b.create<tensor::ExtractOp>(l, updates, at);
          return b.create<arith::SelectOp>(
              l, match,
              combineScatter(b, l, reduction, args[1], update, isUnsigned),
              args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ScatterNDLowering : public OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Over (output position p, tuple t): the slice of update t lands on p
  /// when p's first k coordinates are tuple t.
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    Value indices = adaptor.getIndices(), updates = adaptor.getUpdates();
    auto outType = resultType(op);
    auto indicesType = cast<RankedTensorType>(indices.getType());
    int64_t rank = outType.getRank();
    int64_t tupleRank = indicesType.getRank() - 1;
    int64_t k = indicesType.getShape().back();
    bool isUnsigned = isUnsignedInt(op.getData().getType());
    StringRef reduction = op.getReduction();
    if (indicesType.getNumElements() == 0) {
      rewriter.replaceOp(op, adaptor.getData());
      return success();
    }
    SmallVector<IteratorType> iterators(rank, IteratorType::parallel);
    iterators.append(tupleRank, IteratorType::reduction);
    // The indices, read at [t, 0], give the loops over tuples t their
    // bounds; the body reads every coordinate where it needs.
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> tupleExprs;
    for (int64_t d = 0; d < tupleRank; ++d)
      tupleExprs.push_back(getAffineDimExpr(rank + d, ctx));
    tupleExprs.push_back(getAffineConstantExpr(0, ctx));
    Value result = buildGeneric(
        rewriter, loc, indices,
        AffineMap::get(rank + tupleRank, 0, tupleExprs, ctx), adaptor.getData(),
        AffineMap::getMultiDimIdentityMap(rank + tupleRank, ctx)
            .getMajorSubMap(rank),
        iterators, [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          SmallVector<Value> p = loopIndices(b, l, 0, rank);
          SmallVector<Value> tuple = loopIndices(b, l, rank, tupleRank);
          Value match = b.create<arith::ConstantIntOp>(l, 1, 1);
          for (int64_t j = 0; j < k; ++j) {
            SmallVector<Value> at = tuple;
            at.push_back(indexConstant(b, l, j));
            Value inRange;
            Value position =
                axisPosition(b, l, b.create<tensor::ExtractOp>(l, indices, at),
                             outType.getDimSize(j), &inRange);
            match = b.create<arith::AndIOp>(
                l, match,
                b.create<arith::AndIOp>(
                    l, inRange,
                    b.create<arith::CmpIOp>(l, arith::CmpIPredicate::eq,
                                            position, p[j])));
          }
          SmallVector<Value> at = tuple;
          at.append(p.begin() + k, p.end());
          Value update = b.create<tensor::ExtractOp>(l, updates, at);
          return b.create<arith::SelectOp>(
              l, match,
              combineScatter(b, l, reduction, args[1], update, isUnsigned),
              args[1]);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateIndexedLowering(RewritePatternSet &patterns,
                             TypeConverter &converter) {
  patterns.add<GatherLowering, GatherElementsLowering, GatherNDLowering,
               ScatterElementsLowering, ScatterNDLowering>(
      converter, patterns.getContext());
}

} // namespace kiln
