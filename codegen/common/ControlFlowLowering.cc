//===- ControlFlowLowering.cc - kiln.if and kiln.loop to scf --------------===//
//
// Part of Kiln. kiln.if becomes scf.if, kiln.loop one scf.for (one
// scf.while when it has no trip count), never unrolled; the ops of their
// regions are moved in and lowered by the other patterns like any others. Each
// becomes one kernel (a top-level scf op with no kernel name of its own), so
// only the branch taken runs.
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
    // Unsigned integer results become signless, like every tensor here.
    SmallVector<Type> types;
    if (failed(getTypeConverter()->convertTypes(op.getResultTypes(), types)))
      return failure();
    SmallVector<Value> dests;
    for (Type t : types)
      dests.push_back(freshTensor(rewriter, loc, t));
    Value cond = extractScalar(rewriter, loc, adaptor.getCond());
    auto ifOp = rewriter.create<scf::IfOp>(loc, types, cond,
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
            rewriter
                .create<linalg::CopyOp>(loc, rewriter.getRemappedValue(v), dest)
                .getResult(0));
      rewriter.create<scf::YieldOp>(loc, copies);
      rewriter.eraseOp(yield);
    }
    rewriter.replaceOp(op, ifOp.getResults());
    return success();
  }
};

/// The end of one iteration of a lowered kiln.loop: the body's yield
/// (already in `block`, whose arguments from `firstCarried` on are the
/// carried values) becomes the new condition written into `condTensor`
/// (`cond` and the body's), and the carried values: the new ones where
/// the iteration ran, the old ones where it did not, chosen into
/// temporaries first (they read the old values, as may the scan values),
/// then copied over the old (a copy stays when the selection folds away,
/// so the buffers stay in place). `scans` stores the body's other (scan)
/// values before those copies, which may overwrite what they read. Returns
/// what the loop yields: the condition, the carried values, then what
/// `scans` gave.
SmallVector<Value>
endIteration(ConversionPatternRewriter &rewriter, Location loc, YieldOp yield,
             Block *block, unsigned firstCarried, size_t carried, Value cond,
             Value condTensor,
             function_ref<SmallVector<Value>(ValueRange)> scans) {
  rewriter.setInsertionPoint(yield);
  // The body's values in their converted (signless) types.
  SmallVector<Value> values;
  for (Value v : yield.getValues())
    values.push_back(rewriter.getRemappedValue(v));
  Value stillTrue = rewriter.create<arith::AndIOp>(
      loc, cond, extractScalar(rewriter, loc, values[0]));
  SmallVector<Value> next = {rewriter.create<tensor::InsertOp>(
      loc, stillTrue, condTensor, ValueRange{})};
  SmallVector<Value> chosen;
  for (size_t k = 0; k < carried; ++k) {
    Value old = block->getArgument(firstCarried + k);
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
  SmallVector<Value> stored = scans(ValueRange(values).drop_front(1 + carried));
  for (size_t k = 0; k < carried; ++k)
    next.push_back(rewriter
                       .create<linalg::CopyOp>(
                           loc, chosen[k], block->getArgument(firstCarried + k))
                       .getResult(0));
  llvm::append_range(next, stored);
  return next;
}

/// The iteration number as the body's tensor<i64> argument.
Value iterationTensor(OpBuilder &b, Location loc, Value iv) {
  return b.create<tensor::FromElementsOp>(
      loc, RankedTensorType::get({}, b.getI64Type()),
      ValueRange{b.create<arith::IndexCastOp>(loc, b.getI64Type(), iv)});
}

/// Moves kiln.loop `op`'s body (its arguments converted to signless types)
/// into `block` of the scf loop, whose arguments from 2 on are the carried
/// values: the body reads the iteration number `iv` as a tensor<i64>, the
/// condition `condTensor` and those. Returns the body's kiln.yield, now
/// at the end of `block`.
FailureOr<YieldOp> moveBody(ConversionPatternRewriter &rewriter,
                            const TypeConverter &converter, LoopOp op,
                            Block *block, Value iv, Value condTensor,
                            size_t carried) {
  SmallVector<Value> args = {iterationTensor(rewriter, op.getLoc(), iv),
                             condTensor};
  for (size_t k = 0; k < carried; ++k)
    args.push_back(block->getArgument(2 + k));
  FailureOr<Block *> body =
      rewriter.convertRegionTypes(&op.getBody(), converter);
  if (failed(body))
    return failure();
  auto yield = cast<YieldOp>((*body)->getTerminator());
  rewriter.mergeBlocks(*body, block, args);
  return yield;
}

struct LoopLowering : public OpConversionPattern<LoopOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(LoopOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    // I64Attr's getter reads the bits as unsigned; -1 is no trip count.
    int64_t trips = static_cast<int64_t>(op.getTripCount());
    if (trips < 0)
      return lowerToWhile(op, adaptor, rewriter);
    Location loc = op.getLoc();
    size_t carried = op.getInits().size();
    size_t scans = op.getNumResults() - carried;
    // The condition is carried as a tensor<i1> and read inside the loop,
    // so that the kernel reads it from its buffer.
    SmallVector<Value> inits = {adaptor.getCond()};
    llvm::append_range(inits, adaptor.getInits());
    for (size_t k = 0; k < scans; ++k)
      inits.push_back(freshTensor(rewriter, loc,
                                  getTypeConverter()->convertType(
                                      op.getResult(carried + k).getType())));
    auto index = [&](int64_t v) {
      return rewriter.create<arith::ConstantIndexOp>(loc, v).getResult();
    };
    auto loop = rewriter.create<scf::ForOp>(loc, index(0), index(trips),
                                            index(1), inits);
    Block *body = loop.getBody();
    rewriter.setInsertionPointToStart(body);
    Value iv = body->getArgument(0), condTensor = body->getArgument(1);
    Value cond = extractScalar(rewriter, loc, condTensor);
    FailureOr<YieldOp> yield = moveBody(rewriter, *getTypeConverter(), op, body,
                                        iv, condTensor, carried);
    if (failed(yield))
      return failure();
    // Scan values into row `iv` of their stacked outputs.
    auto stack = [&](ValueRange scanValues) {
      SmallVector<Value> stored;
      for (auto [k, v] : llvm::enumerate(scanValues)) {
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
        stored.push_back(rewriter.create<tensor::InsertSliceOp>(
            loc, v, stacked, offsets, sizes, strides));
      }
      return stored;
    };
    SmallVector<Value> next = endIteration(rewriter, loc, *yield, body, 2,
                                           carried, cond, condTensor, stack);
    rewriter.create<scf::YieldOp>(loc, next);
    rewriter.eraseOp(*yield);
    rewriter.replaceOp(op, loop.getResults().drop_front());
    return success();
  }

  /// A loop without a trip count: one scf.while carrying the condition
  /// (as the tensor<i1> the kernel reads), the iteration number and the
  /// carried values; the before region reads the condition, the after
  /// region runs the body.
  LogicalResult lowerToWhile(LoopOp op, OpAdaptor adaptor,
                             ConversionPatternRewriter &rewriter) const {
    Location loc = op.getLoc();
    size_t carried = op.getInits().size();
    SmallVector<Value> inits = {
        adaptor.getCond(), rewriter.create<arith::ConstantIndexOp>(loc, 0)};
    llvm::append_range(inits, adaptor.getInits());
    SmallVector<Type> types;
    for (Value v : inits)
      types.push_back(v.getType());
    SmallVector<Location> locs(types.size(), loc);
    auto loop = rewriter.create<scf::WhileOp>(loc, types, inits);
    Block *before = rewriter.createBlock(&loop.getBefore(), {}, types, locs);
    rewriter.setInsertionPointToStart(before);
    rewriter.create<scf::ConditionOp>(
        loc, extractScalar(rewriter, loc, before->getArgument(0)),
        before->getArguments());
    Block *after = rewriter.createBlock(&loop.getAfter(), {}, types, locs);
    rewriter.setInsertionPointToStart(after);
    Value condTensor = after->getArgument(0), iv = after->getArgument(1);
    // The body runs only while the condition holds.
    Value cond = rewriter.create<arith::ConstantIntOp>(loc, 1, 1);
    FailureOr<YieldOp> yield = moveBody(rewriter, *getTypeConverter(), op,
                                        after, iv, condTensor, carried);
    if (failed(yield))
      return failure();
    SmallVector<Value> next =
        endIteration(rewriter, loc, *yield, after, 2, carried, cond, condTensor,
                     [](ValueRange) { return SmallVector<Value>(); });
    next.insert(next.begin() + 1,
                rewriter.create<arith::AddIOp>(
                    loc, iv, rewriter.create<arith::ConstantIndexOp>(loc, 1)));
    rewriter.create<scf::YieldOp>(loc, next);
    rewriter.eraseOp(*yield);
    SmallVector<Value> results(loop.getResults().drop_front(2));
    rewriter.replaceOp(op, results);
    return success();
  }
};

} // namespace

void populateControlFlowLowering(RewritePatternSet &patterns,
                                 TypeConverter &converter) {
  patterns.add<IfLowering, LoopLowering>(converter, patterns.getContext());
}

} // namespace kiln
