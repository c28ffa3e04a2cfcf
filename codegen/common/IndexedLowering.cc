//===- IndexedLowering.cc - Gathers and scatters --------------------------===//
//
// Part of Kiln. Ops that read or write at positions the data decides:
// Gather, GatherElements, GatherND, ScatterElements, ScatterND. A gather is
// one linalg.generic whose body computes the position from linalg.index and
// the indices, and reads with tensor.extract. A scatter starts from the
// data and visits each update once, in order (a loop nest over the updates
// writing in place): its cost is the data's copy plus one step per update.
// An index out of range never reaches memory: a gather reads index 0 in
// its place, a scatter skips it (kiln-insert-checks fails such a run).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
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

/// Visits every update position in order (a nest of scf.for over
/// `shape`, never parallel), threading the output tensor; `body` gives the
/// output position the update at `u` lands on and whether it lands at all.
/// A landing update is combined with the element there; one that does not
/// writes the element at position 0 back unchanged, so that no branch is
/// needed. Updates land in index order, so of several at one element the
/// last wins, as ONNX's "none" reduction asks.
Value scatterLoop(OpBuilder &b, Location loc, Value data, Value updates,
                  StringRef reduction, bool isUnsigned,
                  function_ref<std::pair<SmallVector<Value>, Value>(
                      OpBuilder &, Location, ValueRange)>
                      body) {
  auto updatesType = cast<RankedTensorType>(updates.getType());
  SmallVector<Value> lbs, ubs, steps;
  for (int64_t n : updatesType.getShape()) {
    lbs.push_back(indexConstant(b, loc, 0));
    ubs.push_back(indexConstant(b, loc, n));
    steps.push_back(indexConstant(b, loc, 1));
  }
  scf::LoopNest nest = scf::buildLoopNest(
      b, loc, lbs, ubs, steps, ValueRange{data},
      [&](OpBuilder &nb, Location l, ValueRange u,
          ValueRange acc) -> scf::ValueVector {
        auto [at, lands] = body(nb, l, u);
        Value element = nb.create<tensor::ExtractOp>(l, acc[0], at);
        Value update = nb.create<tensor::ExtractOp>(l, updates, u);
        Value value = nb.create<arith::SelectOp>(
            l, lands,
            combineScatter(nb, l, reduction, element, update, isUnsigned),
            element);
        return {nb.create<tensor::InsertOp>(l, value, acc[0], at)};
      });
  return nest.results.front();
}

struct ScatterElementsLowering : public OpConversionPattern<ScatterElementsOp> {
  using OpConversionPattern::OpConversionPattern;
  /// The update at position u lands at u with its axis coordinate replaced
  /// by indices[u].
  LogicalResult
  matchAndRewrite(ScatterElementsOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value indices = adaptor.getIndices();
    auto outType = resultType(op);
    int64_t axis = normalizeAxis(op.getAxis(), outType.getRank());
    int64_t dim = outType.getDimSize(axis);
    if (cast<RankedTensorType>(indices.getType()).getNumElements() == 0) {
      rewriter.replaceOp(op, adaptor.getData());
      return success();
    }
    Value result = scatterLoop(
        rewriter, op.getLoc(), adaptor.getData(), adaptor.getUpdates(),
        op.getReduction(), isUnsignedInt(op.getData().getType()),
        [&](OpBuilder &b, Location l, ValueRange u) {
          SmallVector<Value> at(u.begin(), u.end());
          Value inRange;
          at[axis] = axisPosition(
              b, l, b.create<tensor::ExtractOp>(l, indices, u), dim, &inRange);
          return std::make_pair(at, inRange);
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct ScatterNDLowering : public OpConversionPattern<ScatterNDOp> {
  using OpConversionPattern::OpConversionPattern;
  /// The update at (tuple t, slice position s) lands at (indices[t], s).
  LogicalResult
  matchAndRewrite(ScatterNDOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value indices = adaptor.getIndices();
    auto outType = resultType(op);
    auto indicesType = cast<RankedTensorType>(indices.getType());
    int64_t tupleRank = indicesType.getRank() - 1;
    int64_t k = indicesType.getShape().back();
    if (indicesType.getNumElements() == 0) {
      rewriter.replaceOp(op, adaptor.getData());
      return success();
    }
    Value result = scatterLoop(
        rewriter, op.getLoc(), adaptor.getData(), adaptor.getUpdates(),
        op.getReduction(), isUnsignedInt(op.getData().getType()),
        [&](OpBuilder &b, Location l, ValueRange u) {
          SmallVector<Value> at;
          Value lands = b.create<arith::ConstantIntOp>(l, 1, 1);
          for (int64_t j = 0; j < k; ++j) {
            SmallVector<Value> coordinate(u.take_front(tupleRank));
            coordinate.push_back(indexConstant(b, l, j));
            Value inRange;
            at.push_back(axisPosition(
                b, l, b.create<tensor::ExtractOp>(l, indices, coordinate),
                outType.getDimSize(j), &inRange));
            lands = b.create<arith::AndIOp>(l, lands, inRange);
          }
          llvm::append_range(at, u.drop_front(tupleRank));
          // A tuple with one coordinate out of range lands nowhere: all of
          // its coordinates go to 0 so that the element written back is
          // the one read.
          for (Value &c : at)
            c = b.create<arith::SelectOp>(l, lands, c, indexConstant(b, l, 0));
          return std::make_pair(at, lands);
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
