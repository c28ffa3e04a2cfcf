//===- OutputChannelsLast.cc - The kiln-cpu-output-channels-last pass -----===//
//
// Part of Kiln. The vectorized convolution runs its vectors along a
// dimension one input is contiguous in: the output row (the input image's
// row) or, with the filter stored channels last, the output channels. In
// a CNN's last stages the rows are 7 wide, so the filter of such a
// convolution is transposed once, here, at compile time.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {
#define GEN_PASS_DEF_CPUOUTPUTCHANNELSLAST
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The operand number of `op`'s filter when `op` is a convolution
/// (2 inputs, a sliding window over one of them, a reduction) whose
/// output rows are narrower than `narrow` and whose constant f32/f64
/// filter's leading dimension is an output dimension of at least 8.
std::optional<unsigned> narrowConvolutionFilter(linalg::GenericOp op,
                                                int64_t narrow) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0)
    return std::nullopt;
  auto outType = dyn_cast<RankedTensorType>(op.getDpsInits()[0].getType());
  if (!outType || outType.getRank() < 3 || !outType.hasStaticShape() ||
      outType.getShape().back() >= narrow ||
      !(outType.getElementType().isF32() || outType.getElementType().isF64()))
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  for (unsigned w = 0; w < 2; ++w) {
    AffineMap filter = op.getMatchingIndexingMap(op.getDpsInputOperand(w));
    AffineMap image = op.getMatchingIndexingMap(op.getDpsInputOperand(1 - w));
    if (!filter.isProjectedPermutation() || image.isProjectedPermutation() ||
        filter.getNumResults() < 3)
      continue;
    unsigned channel = filter.getDimPosition(0);
    DenseElementsAttr data = constantThroughFusion(op.getDpsInputs()[w]);
    if (!out.getResultPosition(getAffineDimExpr(channel, op.getContext())) ||
        image.isFunctionOfDim(channel) || !data ||
        cast<ShapedType>(data.getType()).getDimSize(0) < 8)
      continue;
    return op.getDpsInputOperand(w)->getOperandNumber();
  }
  return std::nullopt;
}

struct CpuOutputChannelsLastPass
    : public impl::CpuOutputChannelsLastBase<CpuOutputChannelsLastPass> {
  using CpuOutputChannelsLastBase::CpuOutputChannelsLastBase;
  void runOnOperation() override {
    SmallVector<std::pair<linalg::GenericOp, unsigned>> convolutions;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<unsigned> w = narrowConvolutionFilter(op, narrowWidth))
        convolutions.emplace_back(op, *w);
    });
    for (auto [op, operand] : convolutions) {
      OpOperand &filter = op->getOpOperand(operand);
      DenseElementsAttr data = constantThroughFusion(filter.get());
      int64_t rank = cast<ShapedType>(data.getType()).getRank();
      SmallVector<int64_t> perm;
      for (int64_t d = 1; d < rank; ++d)
        perm.push_back(d);
      perm.push_back(0);
      DenseElementsAttr transposed = transposeElements(data, perm);
      if (!transposed)
        continue;
      OpBuilder b(op);
      filter.set(b.create<arith::ConstantOp>(op.getLoc(), transposed));
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      AffineMap &map = maps[operand];
      SmallVector<AffineExpr> results(map.getResults().drop_front());
      results.push_back(map.getResult(0));
      map = AffineMap::get(map.getNumDims(), 0, results, op.getContext());
      op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
    }
  }
};

} // namespace
} // namespace kiln
