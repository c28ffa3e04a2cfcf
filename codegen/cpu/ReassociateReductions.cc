//===- ReassociateReductions.cc - kiln-cpu-reassociate-reductions ---------===//
//
// Part of Kiln. A reduction that is not a contraction (a mean, a sum of
// squares, softmax's sum and max) lowers to a loop that adds one element
// at a time into one accumulator: each add waits for the previous one, so
// a row of 768 costs 768 FP add latencies (bert_layer's normalization
// kernels: 65 us each). Marking the combiner `reassoc` lets LLVM's loop
// vectorizer keep vector partial sums and add them up after the loop. The
// order of the additions is then fixed by the compiled code, not by tiles
// or threads, so results stay bit-identical across runs and thread
// counts (a reduction is never split across tiles); they may differ in
// the last bits between vector widths. max and min give the same result in
// any order. Contractions keep the scalar order that
// kiln-cpu-vectorize-contractions' microkernels follow.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"

namespace kiln {
#define GEN_PASS_DEF_CPUREASSOCIATEREDUCTIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct CpuReassociateReductionsPass
    : public impl::CpuReassociateReductionsBase<CpuReassociateReductionsPass> {
  void runOnOperation() override {
    getOperation().walk([&](linalg::GenericOp op) {
      if (op.getNumReductionLoops() == 0 || isMultiplyAccumulate(op))
        return;
      Block &body = op.getRegion().front();
      Operation *yield = body.getTerminator();
      // A combiner: an op of the body that takes an output's accumulator
      // and yields the next one.
      for (auto [i, accumulator] : llvm::enumerate(
               body.getArguments().take_back(op.getNumDpsInits()))) {
        Operation *combiner = yield->getOperand(i).getDefiningOp();
        if (!combiner ||
            !llvm::is_contained(combiner->getOperands(), accumulator))
          continue;
        if (!isa<arith::AddFOp, arith::MulFOp, arith::MaximumFOp,
                 arith::MinimumFOp, arith::MaxNumFOp, arith::MinNumFOp>(
                combiner))
          continue;
        auto fastmath = cast<arith::ArithFastMathInterface>(combiner);
        combiner->setAttr(
            fastmath.getFastMathAttrName(),
            arith::FastMathFlagsAttr::get(
                op.getContext(), fastmath.getFastMathFlagsAttr().getValue() |
                                     arith::FastMathFlags::reassoc));
      }
    });
  }
};

} // namespace
} // namespace kiln
