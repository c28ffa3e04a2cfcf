//===- Simplify.cc - Algebraic simplification -----------------------------===//
//
// Part of Kiln. Rewrites that never make a result less exact: identity
// elements (only where IEEE 754 agrees), merged reshapes and transposes,
// transposes of unit dimensions as reshapes and transposes absorbed into
// Gemm change no bit; x ^ 2 as x * x gives the correctly rounded square,
// which a call to pow may miss by an ulp.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_SIMPLIFY
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// `x op c` is x when splat constant c is an identity element of op (the
/// op says which, ir/Folders.cc) and the result has x's type (a broadcast
/// that grows x is not an identity).
struct IdentityElement
    : public OpInterfaceRewritePattern<IdentityElementOpInterface> {
  using OpInterfaceRewritePattern::OpInterfaceRewritePattern;
  LogicalResult matchAndRewrite(IdentityElementOpInterface op,
                                PatternRewriter &rewriter) const override {
    for (unsigned side = 0; side < 2; ++side) {
      Value x = op->getOperand(side), c = op->getOperand(1 - side);
      DenseElementsAttr constant;
      if (x.getType() != op->getResult(0).getType() ||
          !matchPattern(c, m_Constant(&constant)) || !constant.isSplat() ||
          !op.isIdentityElement(constant, side))
        continue;
      rewriter.replaceOp(op, x);
      return success();
    }
    return failure();
  }
};

struct ReshapeOfReshape : public OpRewritePattern<ReshapeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(ReshapeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getData().getDefiningOp<ReshapeOp>();
    if (!inner)
      return failure();
    rewriter.replaceOpWithNewOp<ReshapeOp>(
        op, op.getType(), inner.getData(),
        rewriter.getDenseI64ArrayAttr(op.getType().getShape()),
        rewriter.getI64IntegerAttr(1));
    return success();
  }
};

SmallVector<int64_t> permOf(TransposeOp op) {
  return transposePermutation(op.getPerm(), op.getData().getType().getRank());
}

struct TransposeOfTranspose : public OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto inner = op.getData().getDefiningOp<TransposeOp>();
    if (!inner)
      return failure();
    SmallVector<int64_t> outerPerm = permOf(op), innerPerm = permOf(inner);
    SmallVector<int64_t> perm;
    for (int64_t p : outerPerm)
      perm.push_back(innerPerm[p]);
    rewriter.replaceOpWithNewOp<TransposeOp>(
        op, op.getType(), inner.getData(), rewriter.getDenseI64ArrayAttr(perm));
    return success();
  }
};

/// x ^ 2 is x * x: one multiply, the correctly rounded square (which a
/// call to pow approximates to within an ulp), and a loop LLVM vectorizes
/// (a layer normalization's variance).
struct PowOfTwo : public OpRewritePattern<PowOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(PowOp op,
                                PatternRewriter &rewriter) const override {
    DenseFPElementsAttr exponent;
    if (op.getA().getType() != op.getType() ||
        !matchPattern(op.getB(), m_Constant(&exponent)) ||
        !exponent.isSplat() ||
        !exponent.getSplatValue<APFloat>().isExactlyValue(2.0))
      return failure();
    rewriter.replaceOpWithNewOp<MulOp>(op, op.getType(), op.getA(), op.getA());
    return success();
  }
};

/// A transpose that moves only dimensions of size 1 keeps every element
/// where it was in memory: it is a reshape, which costs no copy (an
/// exporter's [S, 1, H] -> [1, S, H] around attention).
struct TransposeOfUnitDims : public OpRewritePattern<TransposeOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(TransposeOp op,
                                PatternRewriter &rewriter) const override {
    auto type = cast<RankedTensorType>(op.getData().getType());
    if (!type.hasStaticShape() || !op.getType().hasStaticShape())
      return failure();
    int64_t last = -1;
    for (int64_t p : permOf(op)) {
      if (type.getDimSize(p) == 1)
        continue;
      if (p < last)
        return failure(); // Two dimensions that hold data change order.
      last = p;
    }
    rewriter.replaceOpWithNewOp<ReshapeOp>(
        op, op.getType(), op.getData(),
        rewriter.getDenseI64ArrayAttr(op.getType().getShape()),
        rewriter.getI64IntegerAttr(1));
    return success();
  }
};

/// A 2-D MatMul is a Gemm, which the transposes below can then fold into.
struct MatMulToGemm : public OpRewritePattern<MatMulOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(MatMulOp op,
                                PatternRewriter &rewriter) const override {
    if (cast<RankedTensorType>(op.getA().getType()).getRank() != 2 ||
        cast<RankedTensorType>(op.getB().getType()).getRank() != 2)
      return failure();
    rewriter.replaceOpWithNewOp<GemmOp>(
        op, op.getType(), op.getA(), op.getB(), Value(),
        rewriter.getF32FloatAttr(1), rewriter.getF32FloatAttr(1),
        rewriter.getI64IntegerAttr(0), rewriter.getI64IntegerAttr(0));
    return success();
  }
};

/// Gemm(Transpose(A)) reads A with transA flipped; the same for B.
struct TransposeIntoGemm : public OpRewritePattern<GemmOp> {
  using OpRewritePattern::OpRewritePattern;
  LogicalResult matchAndRewrite(GemmOp op,
                                PatternRewriter &rewriter) const override {
    auto a = op.getA().getDefiningOp<TransposeOp>();
    auto b = op.getB().getDefiningOp<TransposeOp>();
    bool foldA = a && permOf(a) == SmallVector<int64_t>{1, 0};
    bool foldB = b && permOf(b) == SmallVector<int64_t>{1, 0};
    if (!foldA && !foldB)
      return failure();
    rewriter.modifyOpInPlace(op, [&] {
      if (foldA) {
        op.getAMutable().assign(a.getData());
        op.setTransA(op.getTransA() ? 0 : 1);
      }
      if (foldB) {
        op.getBMutable().assign(b.getData());
        op.setTransB(op.getTransB() ? 0 : 1);
      }
    });
    return success();
  }
};

struct SimplifyPass : public impl::SimplifyBase<SimplifyPass> {
  void runOnOperation() override {
    RewritePatternSet patterns(&getContext());
    patterns
        .add<IdentityElement, ReshapeOfReshape, TransposeOfTranspose,
             TransposeOfUnitDims, PowOfTwo, MatMulToGemm, TransposeIntoGemm>(
            &getContext());
    if (failed(
            applyPatternsAndFoldGreedily(getOperation(), std::move(patterns))))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
