//===- Winograd.cc - The kiln-winograd pass -------------------------------===//
//
// Part of Kiln. A 3x3 stride-1 convolution (most of a ResNet's work) as 1-D
// Winograd F(4,3) along its height: half the multiplications of the direct
// form, in three ops that each lower to a contraction the CPU backend
// vectorizes along the width (ir/Ops.td's kiln.winograd_*). The filter is
// transformed here, at compile time, in double precision.
//
//===----------------------------------------------------------------------===//
#include "ir/Winograd.h"
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/PatternMatch.h"

namespace kiln {
#define GEN_PASS_DEF_WINOGRAD
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool allOnes(std::optional<ArrayRef<int64_t>> values) {
  return !values || llvm::all_of(*values, [](int64_t v) { return v == 1; });
}

/// U[e, m, c, kw] = sum over kh of G[e][kh] * W[m, c, kh, kw].
DenseElementsAttr transformFilter(DenseFPElementsAttr filter) {
  auto type = cast<RankedTensorType>(filter.getType());
  int64_t m = type.getDimSize(0), c = type.getDimSize(1);
  std::vector<float> w(filter.getValues<float>().begin(),
                       filter.getValues<float>().end());
  std::vector<float> u(winograd::kInputs * m * c * 3);
  for (int64_t e = 0; e < winograd::kInputs; ++e)
    for (int64_t i = 0; i < m * c; ++i)
      for (int64_t kw = 0; kw < 3; ++kw) {
        double sum = 0;
        for (int64_t kh = 0; kh < winograd::kTaps; ++kh)
          sum += winograd::kG[e][kh] * double(w[(i * 3 + kh) * 3 + kw]);
        u[(e * m * c + i) * 3 + kw] = static_cast<float>(sum);
      }
  return DenseElementsAttr::get(
      RankedTensorType::get({winograd::kInputs, m, c, 3},
                            type.getElementType()),
      ArrayRef<float>(u));
}

struct WinogradPass : public impl::WinogradBase<WinogradPass> {
  using WinogradBase::WinogradBase;

  void runOnOperation() override {
    SmallVector<ConvOp> convs;
    getOperation().walk([&](ConvOp op) {
      if (suitable(op))
        convs.push_back(op);
    });
    IRRewriter rewriter(&getContext());
    for (ConvOp op : convs)
      rewrite(rewriter, op);
  }

  bool suitable(ConvOp op) {
    auto x = cast<RankedTensorType>(op.getX().getType());
    auto w = cast<RankedTensorType>(op.getW().getType());
    auto y = cast<RankedTensorType>(op.getY().getType());
    DenseFPElementsAttr filter;
    return x.getRank() == 4 && x.getElementType().isF32() &&
           x.hasStaticShape() && w.hasStaticShape() && op.getGroup() == 1 &&
           w.getDimSize(2) == 3 && w.getDimSize(3) == 3 &&
           allOnes(op.getStrides()) && allOnes(op.getDilations()) &&
           x.getDimSize(1) >= minChannels && w.getDimSize(0) >= minChannels &&
           y.getDimSize(3) >= minWidth &&
           matchPattern(op.getW(), m_Constant(&filter));
  }

  void rewrite(IRRewriter &rewriter, ConvOp op) {
    auto x = cast<RankedTensorType>(op.getX().getType());
    auto w = cast<RankedTensorType>(op.getW().getType());
    FailureOr<WindowGeometry> g =
        computeWindows(op.getLoc(), x.getShape().drop_front(2),
                       w.getShape().drop_front(2), op.getStrides(),
                       op.getDilations(), op.getPads(), op.getAutoPad(), false);
    if (failed(g))
      return; // The convolution's own verifier reports it.
    DenseFPElementsAttr filter;
    matchPattern(op.getW(), m_Constant(&filter));
    rewriter.setInsertionPoint(op);
    Location loc = op.getLoc();
    Value v = rewriter.create<WinogradInputOp>(
        loc, op.getX(),
        rewriter.getDenseI64ArrayAttr(
            {g->padBegin[0], g->padBegin[1], g->padEnd[0], g->padEnd[1]}));
    Value u = rewriter.create<ConstantOp>(loc, transformFilter(filter));
    Value p = rewriter.create<WinogradConvOp>(loc, v, u);
    rewriter.replaceOpWithNewOp<WinogradOutputOp>(
        op, op.getType(), p, op.getB(),
        rewriter.getI64IntegerAttr(g->output[0]),
        rewriter.getI64IntegerAttr(g->output[1]));
  }
};

} // namespace
} // namespace kiln
