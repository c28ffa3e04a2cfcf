//===- ControlFlowLowering.cc - kiln.if and kiln.loop to scf --------------===//
//
// Part of Kiln. kiln.if becomes scf.if, kiln.loop one scf.for, never
// unrolled; the ops of their regions are moved in and lowered by the other
// patterns like any others. Each becomes one kernel (a top-level scf op
// with no kernel name of its own), so only the branch taken runs.
//
// Results are written in place, so that bufferization gives the kernel
// buffers of the memory plan and nothing else: an scf.if's branches copy
// their values into destination tensors made before it (both branches
// then yield the same buffers, which the outliner takes for its results;
// the load of its condition joins its kernel); a loop's scf.for carries
// the condition as a tensor<i1>,
// writes each iteration's carried values over the previous ones
// (keeping them once the condition is false) and each scan value into its
// slice of the stacked output.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {
namespace {

/// A new tensor of `type` to write into: an alloc_tensor, which CSE does
/// not merge with another (two identical tensor.empty ops would become one
/// destination for two results).
Value freshTensor(OpBuilder &b, Location loc, Type type) {
  return b.create<bufferization::AllocTensorOp>(
      loc, cast<RankedTensorType>(type), ValueRange{});
}

Value extractScalar(OpBuilder &b, Location loc, Value tensor) {
  return b.create<tensor::ExtractOp>(loc, tensor, ValueRange{});
}

struct IfLowering : public OpConversionPattern<IfOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IfOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    SmallVector<Value> dests;
    for (Type t : op.getResultTypes())
      dests.push_back(freshTensor(rewriter, loc, t));
    Value cond = extractScalar(rewriter, loc, adaptor.getCond());
    auto ifOp = rewriter.create<scf::IfOp>(loc, op.getResultTypes(), cond,
                                           /*addThenBlock=*/false,
                                           /*addElseBlock=*/false);
    for (auto [from, to] :
         {std::make_pair(&op.getThenRegion(), &ifOp.getThenRegion()),
          std::make_pair(&op.getElseRegion(), &ifOp.getElseRegion())}) {
      rewriter.inlineRegionBefore(*from, *to, to->end());
      auto yield = cast<YieldOp>(to->front().getTerminator());
      rewriter.setInsertionPoint(yield);
      SmallVector<Value> copies;
      for (auto [v, dest] : llvm::zip(yield.getValues(), dests))
        copies.push_back(
            rewriter.create<linalg::CopyOp>(loc, v, dest).getResult(0));
      rewriter.create<scf::YieldOp>(loc, copies);
      rewriter.eraseOp(yield);
    }
    rewriter.replaceOp(op, ifOp.getResults());
    return success();
  }
};

struct LoopLowering : public OpConversionPattern<LoopOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LoopOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    size_t carried = op.getInits().size();
    size_t scans = op.getNumResults() - carried;
    // The condition is carried as a tensor<i1> and read inside the loop,
    // so that the kernel reads it from its buffer.
    SmallVector<Value> inits = {adaptor.getCond()};
    llvm::append_range(inits, adaptor.getInits());
    for (size_t k = 0; k < scans; ++k)
      inits.push_back(
          freshTensor(rewriter, loc, op.getResult(carried + k).getType()));
    auto index = [&](int64_t v) {
      return rewriter.create<arith::ConstantIndexOp>(loc, v).getResult();
    };
    auto loop = rewriter.create<scf::ForOp>(
        loc, index(0), index(op.getTripCount()), index(1), inits);
    Block *body = loop.getBody();
    rewriter.setInsertionPointToStart(body);
    Value iv = body->getArgument(0), condTensor = body->getArgument(1);
    Value cond = extractScalar(rewriter, loc, condTensor);
    Value iteration = rewriter.create<tensor::FromElementsOp>(
        loc, RankedTensorType::get({}, rewriter.getI64Type()),
        ValueRange{rewriter.create<arith::IndexCastOp>(
            loc, rewriter.getI64Type(), iv)});
    SmallVector<Value> args = {iteration, condTensor};
    for (size_t k = 0; k < carried; ++k)
      args.push_back(body->getArgument(2 + k));
    Block &kilnBody = op.getBody().front();
    auto yield = cast<YieldOp>(kilnBody.getTerminator());
    rewriter.mergeBlocks(&kilnBody, body, args);
    rewriter.setInsertionPoint(yield);
    ValueRange values = yield.getValues();
    Value stillTrue = rewriter.create<arith::AndIOp>(
        loc, cond, extractScalar(rewriter, loc, values[0]));
    SmallVector<Value> next = {rewriter.create<tensor::InsertOp>(
        loc, stillTrue, condTensor, ValueRange{})};
    // Carried values: the new ones where the iteration ran, the old ones
    // where it did not, chosen into temporaries first (they read the old
    // values, as may the scan values), then copied over the old (a copy
    // stays when the selection folds away, so the buffers stay in place).
    SmallVector<Value> chosen;
    for (size_t k = 0; k < carried; ++k) {
      Value old = body->getArgument(2 + k);
      auto type = cast<RankedTensorType>(old.getType());
      AffineMap id = rewriter.getMultiDimIdentityMap(type.getRank());
      chosen.push_back(
          buildGeneric(rewriter, loc, ValueRange{values[1 + k], old}, {id, id},
                       emptyTensor(rewriter, loc, type), id,
                       SmallVector<utils::IteratorType>(
                           type.getRank(), utils::IteratorType::parallel),
                       [&](OpBuilder &b, Location l, ValueRange a) -> Value {
                         return b.create<arith::SelectOp>(l, cond, a[0], a[1]);
                       }));
    }
    // Scan values into row `iv` of their stacked outputs.
    SmallVector<Value> stackedNext;
    for (size_t k = 0; k < scans; ++k) {
      Value v = values[1 + carried + k];
      Value stacked = body->getArgument(2 + carried + k);
      auto type = cast<RankedTensorType>(v.getType());
      SmallVector<OpFoldResult> offsets = {iv},
                                sizes = {rewriter.getIndexAttr(1)},
                                strides(type.getRank() + 1,
                                        rewriter.getIndexAttr(1));
      for (int64_t d : type.getShape()) {
        offsets.push_back(rewriter.getIndexAttr(0));
        sizes.push_back(rewriter.getIndexAttr(d));
      }
      stackedNext.push_back(rewriter.create<tensor::InsertSliceOp>(
          loc, v, stacked, offsets, sizes, strides));
    }
    for (size_t k = 0; k < carried; ++k)
      next.push_back(
          rewriter
              .create<linalg::CopyOp>(loc, chosen[k], body->getArgument(2 + k))
              .getResult(0));
    llvm::append_range(next, stackedNext);
    rewriter.create<scf::YieldOp>(loc, next);
    rewriter.eraseOp(yield);
    rewriter.replaceOp(op, loop.getResults().drop_front());
    return success();
  }
};

} // namespace

void populateControlFlowLowering(RewritePatternSet &patterns,
                                 TypeConverter &converter) {
  patterns.add<IfLowering, LoopLowering>(converter, patterns.getContext());
}

} // namespace kiln
