//===- ApproximateMath.cc - The kiln-cpu-approximate-math pass ------------===//
//
// Part of Kiln. LLVM vectorizes a loop only when every call in it has a
// vector form; with no vector math library, `expf` or `erff` keeps GELU's
// epilogue and softmax scalar. MLIR's polynomial approximations are plain
// arithmetic, accurate to a few ulp in f32.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/Math/Transforms/Approximation.h"
#include "mlir/Dialect/Math/Transforms/Passes.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"

namespace kiln {
#define GEN_PASS_DEF_CPUAPPROXIMATEMATH
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The functions whose approximations are within 3e-7 of float64 over
/// their whole range (measured: exp 8e-8, tanh 2.6e-7, erf 2.1e-7, log
/// 8e-8 relative error). Sine and cosine are left to libm: the
/// approximations' range reduction loses digits near multiples of pi
/// (3e-2 relative error at sin(-5 pi)), and arctangent is at 4e-6.
bool accurateEnough(Operation *op) {
  return isa<math::ExpOp, math::ExpM1Op, math::LogOp, math::Log1pOp,
             math::Log2Op, math::TanhOp, math::ErfOp>(op);
}

struct CpuApproximateMathPass
    : public impl::CpuApproximateMathBase<CpuApproximateMathPass> {
  void runOnOperation() override {
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (accurateEnough(op))
        ops.push_back(op);
    });
    if (ops.empty())
      return;
    RewritePatternSet patterns(&getContext());
    populateMathPolynomialApproximationPatterns(patterns);
    // Only those ops, and what their expansions create.
    GreedyRewriteConfig config;
    config.strictMode = GreedyRewriteStrictness::ExistingAndNewOps;
    if (failed(applyOpPatternsAndFold(ops, std::move(patterns), config)))
      signalPassFailure();
  }
};

} // namespace
} // namespace kiln
