//===- WindowLowering.cc - Convolution and pooling ------------------------===//
//
// Part of Kiln. Conv and ConvTranspose become reduction generics over
// padded windows, with strides and dilations in their input maps; pooling
// slides a reduction over the same windows; the three steps of a Winograd
// convolution (kiln-winograd) are contractions with constant transforms.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"
#include "ir/Winograd.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Matchers.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

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

/// init + sum of x * w over the iterators' reductions, each operand read
/// at its expressions of the iteration.
Value buildMultiplyAccumulate(OpBuilder &b, Location loc, Value x, Value w,
                              Value init, ArrayRef<AffineExpr> xExprs,
                              ArrayRef<AffineExpr> wExprs,
                              ArrayRef<AffineExpr> outExprs,
                              ArrayRef<IteratorType> iterators) {
  MLIRContext *ctx = b.getContext();
  int64_t numDims = iterators.size();
  return buildGeneric(
      b, loc, {x, w},
      {AffineMap::get(numDims, 0, xExprs, ctx),
       AffineMap::get(numDims, 0, wExprs, ctx)},
      init, AffineMap::get(numDims, 0, outExprs, ctx), iterators,
      [](OpBuilder &nb, Location l, ValueRange args) {
        return addValues(nb, l, args[2], mulValues(nb, l, args[0], args[1]));
      });
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
  return buildMultiplyAccumulate(b, loc, x, w, init, xExprs, wExprs, outExprs,
                                 iterators);
}

/// A depthwise convolution (one input and one output channel per group)
/// over an already padded X [N, C, S..], W [C, 1, K..]: out[n, c, o..] =
/// init + sum over k.. of x[n, c, o*s + k*d] * w[c, 0, k..], with no
/// reshapes around it, so that its epilogue fuses and tiles with it (a
/// MobileNet's depthwise layers had a grid of 1: no threads).
Value buildDepthwiseConv(OpBuilder &b, Location loc, Value x, Value w,
                         Value init, ArrayRef<int64_t> strides,
                         ArrayRef<int64_t> dilations) {
  MLIRContext *ctx = b.getContext();
  int64_t spatial = cast<RankedTensorType>(w.getType()).getRank() - 2;
  // Iteration: n, c, o_1..o_s, k_1..k_s.
  auto dim = [&](int64_t i) { return getAffineDimExpr(i, ctx); };
  SmallVector<AffineExpr> xExprs = {dim(0), dim(1)},
                          wExprs = {dim(1), getAffineConstantExpr(0, ctx)},
                          outExprs = {dim(0), dim(1)};
  for (int64_t i = 0; i < spatial; ++i) {
    AffineExpr o = dim(2 + i), k = dim(2 + spatial + i);
    xExprs.push_back(o * strides[i] + k * dilations[i]);
    wExprs.push_back(k);
    outExprs.push_back(o);
  }
  SmallVector<IteratorType> iterators(2 + spatial, IteratorType::parallel);
  iterators.append(spatial, IteratorType::reduction);
  return buildMultiplyAccumulate(b, loc, x, w, init, xExprs, wExprs, outExprs,
                                 iterators);
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
  auto wType = cast<RankedTensorType>(w.getType());
  bool depthwise = groups > 1 && wType.getDimSize(1) == 1 &&
                   wType.getDimSize(0) == groups &&
                   outType.getDimSize(1) == groups;
  if (groups == 1 || depthwise) {
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
    if (depthwise)
      return buildDepthwiseConv(b, loc, paddedX, w, init, strides, dilations);
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
    // Counts are small integers, exact in every float type; each is
    // converted to the element type's own semantics (a raw double buffer
    // read as f16 or bf16 would be garbage).
    const llvm::fltSemantics &semantics =
        cast<FloatType>(elem).getFloatSemantics();
    SmallVector<APFloat> countFloats;
    for (double c : countValues) {
      APFloat v(c);
      bool lost;
      v.convert(semantics, APFloat::rmNearestTiesToEven, &lost);
      countFloats.push_back(v);
    }
    DenseElementsAttr countAttr =
        DenseElementsAttr::get(countType, countFloats);
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

/// A constant tensor of `elem` holding the rows of `matrix`.
template <size_t Rows, size_t Columns>
Value matrixConstant(OpBuilder &b, Location loc, Type elem,
                     const double (&matrix)[Rows][Columns]) {
  SmallVector<APFloat> values;
  for (const auto &row : matrix)
    for (double v : row) {
      APFloat value(v);
      bool lost;
      value.convert(cast<FloatType>(elem).getFloatSemantics(),
                    APFloat::rmNearestTiesToEven, &lost);
      values.push_back(value);
    }
  auto type = RankedTensorType::get(
      {static_cast<int64_t>(Rows), static_cast<int64_t>(Columns)}, elem);
  return b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(type, values));
}

/// A multiply-accumulate generic (acc + a * b) over `parallel` loops and
/// then `reduced` ones, into `init`: each Winograd step is a contraction
/// that kiln-cpu-vectorize-contractions makes a microkernel of.
Value buildContraction(OpBuilder &b, Location loc, ValueRange inputs,
                       ArrayRef<AffineMap> maps, Value init, AffineMap outMap,
                       int64_t parallel, int64_t reduced) {
  SmallVector<utils::IteratorType> iterators(parallel,
                                             utils::IteratorType::parallel);
  iterators.append(reduced, utils::IteratorType::reduction);
  return buildGeneric(b, loc, inputs, maps, init, outMap, iterators,
                      [](OpBuilder &nb, Location l, ValueRange args) {
                        return addValues(nb, l, args[2],
                                         mulValues(nb, l, args[0], args[1]));
                      });
}

Value zeros(OpBuilder &b, Location loc, RankedTensorType type) {
  return filledTensor(b, loc, type, b.getZeroAttr(type.getElementType()));
}

/// V[n, e, c, t, w] = sum over i of BT[e][i] * Xp[n, c, 4t + i, w], Xp the
/// input padded (at the bottom up to the last tile's six rows).
struct WinogradInputLowering : public OpConversionPattern<WinogradInputOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WinogradInputOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType outType = resultType(op);
    auto xType = cast<RankedTensorType>(adaptor.getX().getType());
    ArrayRef<int64_t> pads = op.getPads();
    int64_t tiles = outType.getDimSize(3);
    int64_t extra = winograd::kOutputs * tiles + 2 -
                    (xType.getDimSize(2) + pads[0] + pads[2]);
    Type elem = outType.getElementType();
    Value x =
        padSpatial(rewriter, loc, adaptor.getX(), {pads[0], pads[1]},
                   {pads[2] + extra, pads[3]}, rewriter.getZeroAttr(elem));
    Value bt = matrixConstant(rewriter, loc, elem, winograd::kBT);
    // Iteration: n, e, c, t, w, then i (reduced).
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap xMap = AffineMap::get(
        6, 0, {d(0), d(2), d(3) * winograd::kOutputs + d(5), d(4)}, ctx);
    AffineMap btMap = AffineMap::get(6, 0, {d(1), d(5)}, ctx);
    AffineMap outMap =
        AffineMap::get(6, 0, {d(0), d(1), d(2), d(3), d(4)}, ctx);
    rewriter.replaceOp(
        op, buildContraction(rewriter, loc, {x, bt}, {xMap, btMap},
                             zeros(rewriter, loc, outType), outMap, 5, 1));
    return success();
  }
};

/// P[n, e, m, j] = sum over c and kw of U[e, m, c, kw] * V'[n, e, c, j + kw],
/// V' the tiles' rows of V one after another (a view).
struct WinogradConvLowering : public OpConversionPattern<WinogradConvOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WinogradConvOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType outType = resultType(op);
    Value rows = rewriter.create<tensor::CollapseShapeOp>(
        loc, adaptor.getV(),
        ArrayRef<ReassociationIndices>{{0}, {1}, {2}, {3, 4}});
    // Iteration: n, e, m, j, then c and kw (reduced).
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap vMap = AffineMap::get(6, 0, {d(0), d(1), d(4), d(3) + d(5)}, ctx);
    AffineMap uMap = AffineMap::get(6, 0, {d(1), d(2), d(4), d(5)}, ctx);
    AffineMap outMap = AffineMap::get(6, 0, {d(0), d(1), d(2), d(3)}, ctx);
    rewriter.replaceOp(
        op,
        buildContraction(rewriter, loc, {rows, adaptor.getU()}, {vMap, uMap},
                         zeros(rewriter, loc, outType), outMap, 4, 2));
    return success();
  }
};

/// Y[n, m, h, w] = B[m] + sum over e of AT[h mod 4][e] *
/// P[n, e, m, (h floordiv 4) * (W + 2) + w]: the output in its own layout,
/// so that the convolution's epilogue fuses and tiles with it.
struct WinogradOutputLowering : public OpConversionPattern<WinogradOutputOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(WinogradOutputOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    MLIRContext *ctx = rewriter.getContext();
    RankedTensorType outType = resultType(op);
    Type elem = outType.getElementType();
    Value init;
    if (Value bias = adaptor.getB()) {
      init = buildGeneric(
          rewriter, loc, bias,
          AffineMap::get(4, 0, {getAffineDimExpr(1, ctx)}, ctx),
          emptyTensor(rewriter, loc, outType),
          rewriter.getMultiDimIdentityMap(4),
          SmallVector<utils::IteratorType>(4, utils::IteratorType::parallel),
          [](OpBuilder &, Location, ValueRange args) { return args[0]; });
    } else {
      init = zeros(rewriter, loc, outType);
    }
    Value at = matrixConstant(rewriter, loc, elem, winograd::kAT);
    // Iteration: n, m, h, w, then e (reduced).
    auto d = [&](unsigned i) { return getAffineDimExpr(i, ctx); };
    AffineMap pMap = AffineMap::get(
        5, 0,
        {d(0), d(4), d(1),
         d(2).floorDiv(winograd::kOutputs) * (op.getWidth() + 2) + d(3)},
        ctx);
    AffineMap atMap =
        AffineMap::get(5, 0, {d(2) % winograd::kOutputs, d(4)}, ctx);
    AffineMap outMap = AffineMap::get(5, 0, {d(0), d(1), d(2), d(3)}, ctx);
    rewriter.replaceOp(op, buildContraction(rewriter, loc, {adaptor.getP(), at},
                                            {pMap, atMap}, init, outMap, 4, 1));
    return success();
  }
};

} // namespace

void populateWindowLowering(RewritePatternSet &patterns,
                            TypeConverter &converter) {
  patterns
      .add<ConvLowering, ConvTransposeLowering, PoolLowering<MaxPoolOp, true>,
           PoolLowering<AveragePoolOp, false>, WinogradInputLowering,
           WinogradConvLowering, WinogradOutputLowering>(converter,
                                                         patterns.getContext());
}

} // namespace kiln
