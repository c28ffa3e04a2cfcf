//===- DataMovementLowering.cc - Constants, reshapes, gathers, pads -------===//
//
// Part of Kiln. Ops that move elements without arithmetic. Where an output
// element reads one input element at an affine position (Transpose, Slice,
// Tile, Expand) the position is an indexing map; where the position depends
// needs a branch (Pad, Trilu) the body computes it from linalg.index and
// reads with tensor.extract. Positions that depend on data (Gather, Scatter)
// are in IndexedLowering.cc.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

SmallVector<IteratorType> allParallel(int64_t rank) {
  return SmallVector<IteratorType>(rank, IteratorType::parallel);
}

/// A generic over `outType` that reads `input` at `inputMap`.
Value buildCopy(OpBuilder &b, Location loc, Value input, AffineMap inputMap,
                RankedTensorType outType) {
  return buildGeneric(
      b, loc, input, inputMap, emptyTensor(b, loc, outType),
      b.getMultiDimIdentityMap(outType.getRank()),
      allParallel(outType.getRank()),
      [](OpBuilder &, Location, ValueRange args) { return args[0]; });
}

/// A generic over `outType` with no inputs whose body computes each element
/// from its indices.
Value buildFromIndices(
    OpBuilder &b, Location loc, RankedTensorType outType,
    function_ref<Value(OpBuilder &, Location, ArrayRef<Value> indices)> body) {
  int64_t rank = outType.getRank();
  return buildGeneric(b, loc, ValueRange{}, {}, emptyTensor(b, loc, outType),
                      b.getMultiDimIdentityMap(rank), allParallel(rank),
                      [&](OpBuilder &nb, Location l, ValueRange) {
                        SmallVector<Value> indices;
                        for (int64_t i = 0; i < rank; ++i)
                          indices.push_back(nb.create<linalg::IndexOp>(l, i));
                        return body(nb, l, indices);
                      });
}

Value indexConstant(OpBuilder &b, Location loc, int64_t v) {
  return b.create<arith::ConstantIndexOp>(loc, v);
}

/// min(max(v, lo), hi) on index values.
Value clampIndex(OpBuilder &b, Location loc, Value v, int64_t lo, int64_t hi) {
  Value r = b.create<arith::MaxSIOp>(loc, v, indexConstant(b, loc, lo));
  return b.create<arith::MinSIOp>(loc, r, indexConstant(b, loc, hi));
}

struct ConstantLowering : public OpConversionPattern<ConstantOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ConstantOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto value = dyn_cast<DenseElementsAttr>(op.getValue());
    if (!value)
      return rewriter.notifyMatchFailure(op, "only dense constants lower");
    // arith works on signless integers; the bits stay the same.
    if (isUnsignedInt(value.getType()))
      value = value.bitcast(signless(value.getElementType()));
    rewriter.replaceOpWithNewOp<arith::ConstantOp>(op, value);
    return success();
  }
};

struct IdentityLowering : public OpConversionPattern<IdentityOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(IdentityOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    rewriter.replaceOp(op, adaptor.getX());
    return success();
  }
};

/// The run-time check was taken out by kiln-insert-checks; the value
/// passes through.
struct InRangeLowering : public OpConversionPattern<InRangeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(InRangeOp op, OpAdaptor adaptor,
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
    rewriter.replaceOp(op, reshapeTo(rewriter, op.getLoc(), adaptor.getData(),
                                     resultType(op)));
    return success();
  }
};

struct TransposeLowering : public OpConversionPattern<TransposeOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TransposeOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = resultType(op);
    auto inType = cast<RankedTensorType>(adaptor.getData().getType());
    SmallVector<int64_t> perm =
        transposePermutation(op.getPerm(), inType.getRank());
    Value init = emptyTensor(rewriter, op.getLoc(), outType);
    auto transpose = rewriter.create<linalg::TransposeOp>(
        op.getLoc(), adaptor.getData(), init, perm);
    rewriter.replaceOp(op, transpose.getResult());
    return success();
  }
};

struct ConcatLowering : public OpConversionPattern<ConcatOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Each input is inserted into the result at its offset on the axis.
  LogicalResult
  matchAndRewrite(ConcatOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = resultType(op);
    int64_t rank = outType.getRank();
    int64_t axis = normalizeAxis(op.getAxis(), rank);
    Value result = emptyTensor(rewriter, op.getLoc(), outType);
    int64_t offset = 0;
    for (Value in : adaptor.getInputs()) {
      auto inType = cast<RankedTensorType>(in.getType());
      if (inType.getNumElements() == 0)
        continue;
      SmallVector<int64_t> offsets(rank, 0), strides(rank, 1);
      offsets[axis] = offset;
      result = rewriter.create<tensor::InsertSliceOp>(
          op.getLoc(), in, result, ValueRange{}, ValueRange{}, ValueRange{},
          rewriter.getDenseI64ArrayAttr(offsets),
          rewriter.getDenseI64ArrayAttr(inType.getShape()),
          rewriter.getDenseI64ArrayAttr(strides));
      offset += inType.getDimSize(axis);
    }
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct SliceLowering : public OpConversionPattern<SliceOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Output index i reads start + i * step on every axis.
  LogicalResult
  matchAndRewrite(SliceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto inType = cast<RankedTensorType>(adaptor.getData().getType());
    auto outType = resultType(op);
    auto dims = computeSlice(std::nullopt, inType.getShape(), op.getStarts(),
                             op.getEnds(), op.getAxes(), op.getSteps());
    if (failed(dims))
      return rewriter.notifyMatchFailure(op, "bad slice");
    if (outType.getNumElements() == 0) {
      rewriter.replaceOp(op, emptyTensor(rewriter, op.getLoc(), outType));
      return success();
    }
    // An extract_slice takes the elements in ascending order; axes with a
    // negative step are then reversed by a generic. (linalg infers loop
    // sizes from plain dimension maps, so the generic must see a tensor of
    // the output's shape.)
    SmallVector<int64_t> offsets, sizes, strides;
    bool reversed = false;
    for (const SliceDim &d : *dims) {
      int64_t step = std::abs(d.step);
      offsets.push_back(d.step > 0 ? d.start : d.start - (d.count - 1) * step);
      sizes.push_back(d.count);
      strides.push_back(step);
      reversed |= d.step < 0 && d.count > 1;
    }
    Value window = rewriter.create<tensor::ExtractSliceOp>(
        op.getLoc(), outType, adaptor.getData(), ValueRange{}, ValueRange{},
        ValueRange{}, rewriter.getDenseI64ArrayAttr(offsets),
        rewriter.getDenseI64ArrayAttr(sizes),
        rewriter.getDenseI64ArrayAttr(strides));
    if (!reversed) {
      rewriter.replaceOp(op, window);
      return success();
    }
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> exprs;
    for (auto [i, d] : llvm::enumerate(*dims))
      exprs.push_back(d.step < 0 ? getAffineConstantExpr(d.count - 1, ctx) -
                                       getAffineDimExpr(i, ctx)
                                 : getAffineDimExpr(i, ctx));
    rewriter.replaceOp(
        op,
        buildCopy(rewriter, op.getLoc(), window,
                  AffineMap::get(outType.getRank(), 0, exprs, ctx), outType));
    return success();
  }
};

struct ExpandLowering : public OpConversionPattern<ExpandOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(ExpandOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto outType = resultType(op);
    rewriter.replaceOp(
        op, buildElementwise(rewriter, op.getLoc(), adaptor.getInput(), outType,
                             [](OpBuilder &, Location, ValueRange args) {
                               return args[0];
                             }));
    return success();
  }
};

struct TileLowering : public OpConversionPattern<TileOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Output index i reads i mod (input size) on every axis.
  LogicalResult
  matchAndRewrite(TileOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto inType = cast<RankedTensorType>(adaptor.getInput().getType());
    auto outType = resultType(op);
    if (outType.getNumElements() == 0) {
      rewriter.replaceOp(op, emptyTensor(rewriter, op.getLoc(), outType));
      return success();
    }
    MLIRContext *ctx = rewriter.getContext();
    SmallVector<AffineExpr> exprs;
    for (int64_t i = 0; i < inType.getRank(); ++i)
      exprs.push_back(getAffineDimExpr(i, ctx) % inType.getDimSize(i));
    rewriter.replaceOp(
        op,
        buildCopy(rewriter, op.getLoc(), adaptor.getInput(),
                  AffineMap::get(outType.getRank(), 0, exprs, ctx), outType));
    return success();
  }
};

struct PadLowering : public OpConversionPattern<PadOp> {
  using OpConversionPattern::OpConversionPattern;
  /// Each output element maps back to an input index per axis: outside the
  /// input, "constant" yields the value, "edge" clamps, "reflect" mirrors.
  LogicalResult
  matchAndRewrite(PadOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Value data = adaptor.getData();
    auto inType = cast<RankedTensorType>(data.getType());
    auto outType = resultType(op);
    int64_t rank = inType.getRank();
    ArrayRef<int64_t> pads = op.getPads();
    StringRef mode = op.getMode();
    double value = op.getValue().convertToDouble();
    if (outType.getNumElements() == 0 || inType.getNumElements() == 0) {
      Type elem = outType.getElementType();
      TypedAttr fill = isFloat(elem)
                           ? TypedAttr(rewriter.getFloatAttr(elem, value))
                           : TypedAttr(rewriter.getIntegerAttr(
                                 elem, static_cast<int64_t>(value)));
      rewriter.replaceOp(op,
                         filledTensor(rewriter, op.getLoc(), outType, fill));
      return success();
    }
    Value result = buildFromIndices(
        rewriter, op.getLoc(), outType,
        [&](OpBuilder &b, Location l, ArrayRef<Value> indices) -> Value {
          SmallVector<Value> src;
          Value inside;
          for (int64_t d = 0; d < rank; ++d) {
            int64_t size = inType.getDimSize(d);
            Value i = b.create<arith::SubIOp>(l, indices[d],
                                              indexConstant(b, l, pads[d]));
            if (mode == "wrap") {
              // ((i mod size) + size) mod size, for negative i too.
              Value s = indexConstant(b, l, size);
              i = b.create<arith::RemSIOp>(
                  l,
                  b.create<arith::AddIOp>(l, b.create<arith::RemSIOp>(l, i, s),
                                          s),
                  s);
            } else if (mode == "reflect") {
              // Mirror without repeating the edge: -1 -> 1, size -> size-2.
              Value neg = b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt,
                                                  i, indexConstant(b, l, 0));
              i = b.create<arith::SelectOp>(
                  l, neg, b.create<arith::SubIOp>(l, indexConstant(b, l, 0), i),
                  i);
              Value over = b.create<arith::CmpIOp>(
                  l, arith::CmpIPredicate::sge, i, indexConstant(b, l, size));
              i = b.create<arith::SelectOp>(
                  l, over,
                  b.create<arith::SubIOp>(l, indexConstant(b, l, 2 * size - 2),
                                          i),
                  i);
            } else if (mode == "constant") {
              Value ok = b.create<arith::AndIOp>(
                  l,
                  b.create<arith::CmpIOp>(l, arith::CmpIPredicate::sge, i,
                                          indexConstant(b, l, 0)),
                  b.create<arith::CmpIOp>(l, arith::CmpIPredicate::slt, i,
                                          indexConstant(b, l, size)));
              inside = inside ? b.create<arith::AndIOp>(l, inside, ok) : ok;
            }
            src.push_back(clampIndex(b, l, i, 0, size - 1));
          }
          Value element = b.create<tensor::ExtractOp>(l, data, src);
          if (!inside)
            return element;
          return b.create<arith::SelectOp>(
              l, inside, element,
              scalarConstant(b, l, outType.getElementType(), value));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

struct TriluLowering : public OpConversionPattern<TriluOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(TriluOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    auto type = resultType(op);
    int64_t rank = type.getRank();
    bool upper = op.getUpper() != 0;
    int64_t k = op.getK();
    Value result = buildGeneric(
        rewriter, op.getLoc(), adaptor.getInput(),
        rewriter.getMultiDimIdentityMap(rank),
        emptyTensor(rewriter, op.getLoc(), type),
        rewriter.getMultiDimIdentityMap(rank), allParallel(rank),
        [&](OpBuilder &b, Location l, ValueRange args) -> Value {
          Value row = b.create<arith::IndexCastOp>(
              l, b.getI64Type(), b.create<linalg::IndexOp>(l, rank - 2));
          Value col = b.create<arith::IndexCastOp>(
              l, b.getI64Type(), b.create<linalg::IndexOp>(l, rank - 1));
          Value diff = b.create<arith::SubIOp>(l, col, row);
          Value kv = b.create<arith::ConstantOp>(l, b.getI64IntegerAttr(k));
          Value keep = b.create<arith::CmpIOp>(
              l, upper ? arith::CmpIPredicate::sge : arith::CmpIPredicate::sle,
              diff, kv);
          return b.create<arith::SelectOp>(
              l, keep, args[0], scalarConstant(b, l, type.getElementType(), 0));
        });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateDataMovementLowering(RewritePatternSet &patterns,
                                  TypeConverter &converter) {
  patterns
      .add<ConstantLowering, IdentityLowering, InRangeLowering, ReshapeLowering,
           TransposeLowering, ConcatLowering, SliceLowering, ExpandLowering,
           TileLowering, PadLowering, TriluLowering>(converter,
                                                     patterns.getContext());
}

} // namespace kiln
