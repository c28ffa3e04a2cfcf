//===- LinearAlgebraLowering.cc - Det
//--------------------------------------===//
//
// Part of Kiln. kiln.det by Gaussian elimination with partial pivoting: one
// scf.for over the columns, never unrolled, carrying the matrices (written
// in place), which rows have been pivots, and the determinant so far. Rows
// are not swapped: step k picks the unused row p with the largest
// |A[p, k]| (the first of equal ones), eliminates column k from the other
// unused rows (the columns after k only; column k is not read again), and
// multiplies the determinant by A[p, k], negated once for every earlier
// pivot row below p (the row swaps LAPACK's getrf would have made).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

struct DetLowering : public OpConversionPattern<DetOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(DetOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    auto inType = cast<RankedTensorType>(adaptor.getX().getType());
    RankedTensorType outType = resultType(op);
    Type elem = inType.getElementType();
    int64_t m = inType.getShape().back();
    int64_t batch = outType.getNumElements();
    auto detType = RankedTensorType::get({batch}, elem);
    Value det = filledTensor(rewriter, loc, detType, rewriter.getOneAttr(elem));
    if (m == 0 || batch == 0) {
      rewriter.replaceOp(op, reshapeTo(rewriter, loc, det, outType));
      return success();
    }
    MLIRContext *ctx = rewriter.getContext();
    Type i64 = rewriter.getI64Type();
    auto matrixType = RankedTensorType::get({batch, m, m}, elem);
    auto rowsType = RankedTensorType::get({batch, m}, elem);
    auto usedType = RankedTensorType::get({batch, m}, rewriter.getI1Type());
    auto pivotType = RankedTensorType::get({batch}, i64);
    Value a = reshapeTo(rewriter, loc, adaptor.getX(), matrixType);
    Value used =
        filledTensor(rewriter, loc, usedType, rewriter.getBoolAttr(false));
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    auto map = [&](unsigned dims, ArrayRef<AffineExpr> exprs) {
      return AffineMap::get(dims, 0, exprs, ctx);
    };
    auto index = [&](OpBuilder &b, Location l, unsigned dim) {
      return b.create<linalg::IndexOp>(l, dim).getResult();
    };
    auto c = [&](OpBuilder &b, Location l, double v) {
      return scalarConstant(b, l, elem, v);
    };
    Value lower = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value upper = rewriter.create<arith::ConstantIndexOp>(loc, m);
    Value step = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    auto loop = rewriter.create<scf::ForOp>(
        loc, lower, upper, step, ValueRange{a, used, det},
        [&](OpBuilder &b, Location l, Value k, ValueRange state) {
          Value a = state[0], used = state[1], det = state[2];
          auto par = IteratorType::parallel, red = IteratorType::reduction;
          // Column k, copied out of the matrices that step writes.
          Value column = b.create<tensor::ExtractSliceOp>(
              l, a,
              ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(0), k},
              ArrayRef<OpFoldResult>{b.getIndexAttr(batch), b.getIndexAttr(m),
                                     b.getIndexAttr(1)},
              ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1),
                                     b.getIndexAttr(1)});
          Value col = buildGeneric(
              b, l, column, {map(2, {d(0), d(1), b.getAffineConstantExpr(0)})},
              emptyTensor(b, l, rowsType), map(2, {d(0), d(1)}), {par, par},
              [](OpBuilder &, Location, ValueRange args) { return args[0]; });
          // The pivot: the first unused row of largest magnitude (NaN never
          // beats the first unused row, so p is always one).
          auto pick = b.create<linalg::GenericOp>(
              l, TypeRange{detType, pivotType}, ValueRange{col, used},
              ValueRange{
                  filledTensor(b, l, detType, b.getZeroAttr(elem)),
                  filledTensor(b, l, pivotType, b.getI64IntegerAttr(-1))},
              ArrayRef<AffineMap>{map(2, {d(0), d(1)}), map(2, {d(0), d(1)}),
                                  map(2, {d(0)}), map(2, {d(0)})},
              ArrayRef<IteratorType>{par, red},
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                Value magnitude = nb.create<math::AbsFOp>(nl, args[0]);
                Value unset = nb.create<arith::CmpIOp>(
                    nl, arith::CmpIPredicate::slt, args[3],
                    nb.create<arith::ConstantIntOp>(nl, 0, 64));
                Value larger = nb.create<arith::CmpFOp>(
                    nl, arith::CmpFPredicate::OGT, magnitude, args[2]);
                Value take = nb.create<arith::AndIOp>(
                    nl,
                    nb.create<arith::XOrIOp>(
                        nl, args[1], nb.create<arith::ConstantIntOp>(nl, 1, 1)),
                    nb.create<arith::OrIOp>(nl, unset, larger));
                Value row =
                    nb.create<arith::IndexCastOp>(nl, i64, index(nb, nl, 1));
                nb.create<linalg::YieldOp>(
                    nl, ValueRange{nb.create<arith::SelectOp>(
                                       nl, take, magnitude, args[2]),
                                   nb.create<arith::SelectOp>(nl, take, row,
                                                              args[3])});
              });
          Value pivot = pick.getResult(1);
          auto rowOf = [&](OpBuilder &nb, Location nl, Value p) {
            return nb.create<arith::IndexCastOp>(nl, nb.getIndexType(), p)
                .getResult();
          };
          // The pivot row, copied out too.
          Value prow = buildGeneric(
              b, l, pivot, {map(2, {d(0)})}, emptyTensor(b, l, rowsType),
              map(2, {d(0), d(1)}), {par, par},
              [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                return nb.create<tensor::ExtractOp>(
                    nl, a,
                    ValueRange{index(nb, nl, 0), rowOf(nb, nl, args[0]),
                               index(nb, nl, 1)});
              });
          // Elimination, in place: row i -= (A[i, k] / A[p, k]) * row p on
          // the unused rows but p, columns after k. A zero pivot eliminates
          // nothing (the determinant is 0 from then on).
          Value eliminated = buildGeneric(
              b, l, {col, used, pivot, prow},
              {map(3, {d(0), d(1)}), map(3, {d(0), d(1)}), map(3, {d(0)}),
               map(3, {d(0), d(2)})},
              a, map(3, {d(0), d(1), d(2)}), {par, par, par},
              [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                Value pv = nb.create<tensor::ExtractOp>(
                    nl, prow, ValueRange{index(nb, nl, 0), k});
                Value zero = nb.create<arith::CmpFOp>(
                    nl, arith::CmpFPredicate::OEQ, pv, c(nb, nl, 0));
                Value factor = nb.create<arith::SelectOp>(
                    nl, zero, c(nb, nl, 0),
                    nb.create<arith::DivFOp>(nl, args[0], pv));
                Value updated = nb.create<arith::SubFOp>(
                    nl, args[4], nb.create<arith::MulFOp>(nl, factor, args[3]));
                Value i = index(nb, nl, 1), j = index(nb, nl, 2);
                Value other = nb.create<arith::CmpIOp>(
                    nl, arith::CmpIPredicate::ne, i, rowOf(nb, nl, args[2]));
                Value after = nb.create<arith::CmpIOp>(
                    nl, arith::CmpIPredicate::ugt, j, k);
                Value unused = nb.create<arith::XOrIOp>(
                    nl, args[1], nb.create<arith::ConstantIntOp>(nl, 1, 1));
                Value apply = nb.create<arith::AndIOp>(
                    nl, nb.create<arith::AndIOp>(nl, other, after), unused);
                return nb.create<arith::SelectOp>(nl, apply, updated, args[4]);
              });
          // The determinant: times the pivot (at q = 0), negated for every
          // used row q below p; then p joins the used rows.
          Value nextDet = buildGeneric(
              b, l, {used, pivot, prow},
              {map(2, {d(0), d(1)}), map(2, {d(0)}),
               map(2, {d(0), b.getAffineConstantExpr(0)})},
              det, map(2, {d(0)}), {par, red},
              [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                Value q = index(nb, nl, 1);
                Value first = nb.create<arith::CmpIOp>(
                    nl, arith::CmpIPredicate::eq, q,
                    nb.create<arith::ConstantIndexOp>(nl, 0));
                Value pv = nb.create<tensor::ExtractOp>(
                    nl, prow, ValueRange{index(nb, nl, 0), k});
                Value scaled = nb.create<arith::SelectOp>(
                    nl, first, nb.create<arith::MulFOp>(nl, args[3], pv),
                    args[3]);
                Value below = nb.create<arith::AndIOp>(
                    nl, args[0],
                    nb.create<arith::CmpIOp>(nl, arith::CmpIPredicate::ugt, q,
                                             rowOf(nb, nl, args[1])));
                return nb.create<arith::SelectOp>(
                    nl, below, nb.create<arith::NegFOp>(nl, scaled), scaled);
              });
          Value nextUsed = buildGeneric(
              b, l, pivot, {map(2, {d(0)})}, used, map(2, {d(0), d(1)}),
              {par, par},
              [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                Value isPivot = nb.create<arith::CmpIOp>(
                    nl, arith::CmpIPredicate::eq, index(nb, nl, 1),
                    rowOf(nb, nl, args[0]));
                return nb.create<arith::OrIOp>(nl, args[1], isPivot);
              });
          b.create<scf::YieldOp>(l, ValueRange{eliminated, nextUsed, nextDet});
        });
    rewriter.replaceOp(op,
                       reshapeTo(rewriter, loc, loop.getResult(2), outType));
    return success();
  }
};

} // namespace

void populateLinearAlgebraLowering(RewritePatternSet &patterns,
                                   TypeConverter &converter) {
  patterns.add<DetLowering>(converter, patterns.getContext());
}

} // namespace kiln
