//===- SortLowering.cc - TopK ---------------------------------------------===//
//
// Part of Kiln. TopK by ranking: each entry's rank along the axis is counted
// in one generic, and output position r takes the entry of rank r.
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

} // namespace

void populateSortLowering(RewritePatternSet &patterns,
                          TypeConverter &converter) {
  patterns.add<TopKLowering>(converter, patterns.getContext());
}

} // namespace kiln
