//===- KilnToLinalg.cc - The convert-kiln-to-linalg pass ------------------===//
//
// Part of Kiln. Collects the patterns of the *Lowering.cc files beside it;
// every kiln op must lower, or the pass fails at that op's location.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "codegen/common/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Func/Transforms/FuncConversions.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_CONVERTKILNTOLINALG
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Sibling kernels of a multi-output fusion, each one elementwise generic
/// over the same iteration space, become one generic with one result per
/// sibling, so that the inputs they share are read once per point.
void mergeSiblingGenerics(Block &body) {
  auto mergeable = [](linalg::GenericOp g) {
    return g && g.getNumDpsInits() == 1 && g.getNumReductionLoops() == 0 &&
           g.getMatchingIndexingMap(g.getDpsInitOperand(0)).isIdentity() &&
           !g.hasIndexSemantics();
  };
  SmallVector<linalg::GenericOp> roots;
  for (Value v : body.getTerminator()->getOperands()) {
    auto g = v.getDefiningOp<linalg::GenericOp>();
    if (mergeable(g) && !llvm::is_contained(roots, g))
      roots.push_back(g);
  }
  if (roots.size() < 2)
    return;
  IRRewriter rewriter(body.getParentOp()->getContext());
  linalg::GenericOp first = roots.front();
  SmallVector<int64_t> ranges = first.getStaticLoopRanges();
  SmallVector<linalg::GenericOp> group = {first};
  for (linalg::GenericOp g : ArrayRef(roots).drop_front())
    if (g.getStaticLoopRanges() == ranges)
      group.push_back(g);
  if (group.size() < 2)
    return;
  Operation *last = group.front();
  SmallVector<Value> inputs, inits;
  SmallVector<AffineMap> inputMaps, initMaps;
  // Where each sibling's inputs land among the merged ones: an input read
  // the same way by two siblings is passed once.
  SmallVector<SmallVector<unsigned>> inputIndex(group.size());
  for (auto [i, g] : llvm::enumerate(group)) {
    if (last->isBeforeInBlock(g))
      last = g;
    for (OpOperand *in : g.getDpsInputOperands()) {
      AffineMap map = g.getMatchingIndexingMap(in);
      unsigned k = 0;
      while (k < inputs.size() &&
             (inputs[k] != in->get() || inputMaps[k] != map))
        ++k;
      if (k == inputs.size()) {
        inputs.push_back(in->get());
        inputMaps.push_back(map);
      }
      inputIndex[i].push_back(k);
    }
    inits.push_back(g.getDpsInitOperand(0)->get());
    initMaps.push_back(g.getMatchingIndexingMap(g.getDpsInitOperand(0)));
  }
  SmallVector<AffineMap> maps = inputMaps;
  maps.append(initMaps);
  rewriter.setInsertionPoint(last);
  auto merged = rewriter.create<linalg::GenericOp>(
      last->getLoc(), TypeRange(ValueRange(inits)), inputs, inits, maps,
      first.getIteratorTypesArray(),
      [&](OpBuilder &b, Location loc, ValueRange args) {
        IRMapping mapping;
        SmallVector<Value> yielded;
        size_t nextInit = inputs.size();
        for (auto [j, g] : llvm::enumerate(group)) {
          Block &gBody = g.getRegion().front();
          for (unsigned i = 0; i < g.getNumDpsInputs(); ++i)
            mapping.map(gBody.getArgument(i), args[inputIndex[j][i]]);
          mapping.map(gBody.getArgument(g.getNumDpsInputs()), args[nextInit++]);
          for (Operation &op : gBody.without_terminator())
            b.clone(op, mapping);
          for (Value v : gBody.getTerminator()->getOperands())
            yielded.push_back(mapping.lookupOrDefault(v));
        }
        b.create<linalg::YieldOp>(loc, yielded);
      });
  for (auto [g, result] : llvm::zip(group, merged.getResults()))
    rewriter.replaceOp(g, result);
}

/// Each kiln.fusion's body, now linalg on tensors, is fused into as few
/// linalg ops as elementwise fusion allows (a producer with one use merges
/// into its consumer) and its sibling generics merged. The fusion stays:
/// a backend may tile it before kiln-inline-fusions dissolves it.
void fuseFusionBodies(func::FuncOp func) {
  SmallVector<FusionOp> fusions;
  func.walk([&](FusionOp f) { fusions.push_back(f); });
  for (FusionOp fusion : fusions) {
    RewritePatternSet patterns(func.getContext());
    linalg::populateElementwiseOpsFusionPatterns(
        patterns, [](OpOperand *operand) {
          Operation *producer = operand->get().getDefiningOp();
          return producer && producer->hasOneUse();
        });
    (void)applyPatternsAndFoldGreedily(fusion.getBody(), std::move(patterns));
    mergeSiblingGenerics(fusion.getBody().front());
  }
}

struct ConvertKilnToLinalgPass
    : public impl::ConvertKilnToLinalgBase<ConvertKilnToLinalgPass> {
  using ConvertKilnToLinalgBase::ConvertKilnToLinalgBase;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    MLIRContext *ctx = &getContext();
    // The ops one kiln op lowers to share its location; tagging each op's
    // location with a number of its own tells them from the ops of another
    // node with the same name (ONNX does not require unique names), for
    // kiln-inline-fusions, which groups by it and removes the tags.
    int64_t id = 0;
    for (Operation &op : func.getBody().front())
      if (!isa<FusionOp>(op) && !op.hasTrait<OpTrait::IsTerminator>())
        op.setLoc(FusedLoc::get(ctx, {op.getLoc()},
                                IntegerAttr::get(IndexType::get(ctx), id++)));

    // Feeds belong to the caller: no kernel may write into them.
    for (unsigned i = 0; i < func.getNumArguments(); ++i)
      func.setArgAttr(i, "bufferization.writable", BoolAttr::get(ctx, false));

    // Unsigned integers become signless; the patterns pick unsigned arith
    // ops from the kiln op's types.
    SignlessTypeConverter converter;
    ConversionTarget target(*ctx);
    target.addIllegalDialect<KilnDialect>();
    target.addLegalDialect<arith::ArithDialect, linalg::LinalgDialect,
                           math::MathDialect, scf::SCFDialect,
                           tensor::TensorDialect>();
    // Control flow's distinct destinations (ControlFlowLowering.cc).
    target.addLegalOp<bufferization::AllocTensorOp>();
    target.addDynamicallyLegalOp<func::FuncOp>([&](func::FuncOp f) {
      return converter.isSignatureLegal(f.getFunctionType());
    });
    target.addDynamicallyLegalOp<func::ReturnOp>([&](func::ReturnOp r) {
      return converter.isLegal(r.getOperandTypes());
    });
    // Fusions stay until their bodies are lowered; unsigned integers do
    // not fuse, so their types need no conversion.
    target.addLegalOp<FusionOp, YieldOp>();
    RewritePatternSet patterns(ctx);
    populateElementwiseLowering(patterns, converter);
    populateContractionLowering(patterns, converter);
    populateReductionLowering(patterns, converter);
    populateWindowLowering(patterns, converter);
    populateSortLowering(patterns, converter);
    populateLinearAlgebraLowering(patterns, converter);
    populateDataMovementLowering(patterns, converter);
    populateIndexedLowering(patterns, converter);
    populateRecurrenceLowering(patterns, converter);
    populateControlFlowLowering(patterns, converter);
    populateFunctionOpInterfaceTypeConversionPattern<func::FuncOp>(patterns,
                                                                   converter);
    populateReturnOpTypeConversionPattern(patterns, converter);
    if (failed(applyPartialConversion(func, target, std::move(patterns))) ||
        failed(foldSignlessCasts(func)))
      return signalPassFailure();
    fuseFusionBodies(func);
  }
};

} // namespace
} // namespace kiln
