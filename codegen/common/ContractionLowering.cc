//===- ContractionLowering.cc - MatMul, Gemm, Einsum ----------------------===//
//
// Part of Kiln. Contractions become reduction linalg.generic ops whose
// input maps encode batching, broadcasting and transposes.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

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
  DenseElementsAttr attr = constantThroughFusion(value);
  if (!attr || cast<ShapedType>(attr.getType()).getRank() != 2)
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

} // namespace

void populateContractionLowering(RewritePatternSet &patterns,
                                 TypeConverter &converter) {
  patterns.add<MatMulLowering, GemmLowering, EinsumLowering>(
      converter, patterns.getContext());
}

} // namespace kiln
