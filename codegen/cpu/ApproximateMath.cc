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
/// their whole range (measured: exp 8e-8, tanh 2.6e-7, log 8e-8 relative
/// error; f32 erf is expandErf's, 4.5e-7). Sine and cosine are left to libm:
/// the approximations' range reduction loses digits near multiples of pi (3e-2
/// relative error at sin(-5 pi)), and arctangent is at 4e-6.
bool accurateEnough(Operation *op) {
  return isa<math::ExpOp, math::ExpM1Op, math::LogOp, math::Log1pOp,
             math::Log2Op, math::TanhOp, math::ErfOp>(op);
}

/// erf of f32 (scalar or vector) as one rational function of x clamped
/// to [-4, 4] (beyond, erf rounds to +-1 in f32): x P(x^2) / Q(x^2), P
/// of degree 6 and Q of degree 4 in x^2, the monomial coefficients of
/// Eigen's and XLA's f32 erf. Within 4.5e-7 of float64 over the whole
/// range (ops_e2e_test's TranscendentalsMatchFloat64 checks 1e-6 relative), it
/// costs 12 FMAs and one division where MLIR's approximation blends three
/// intervals' rational functions (two divisions, a dozen blends): GELU
/// with erf on 128 x 3072 floats took 0.49 ms on one AVX2 core.
void expandErf(math::ErfOp op) {
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type type = op.getType();
  auto constant = [&](double v) -> Value {
    TypedAttr value = b.getF32FloatAttr(static_cast<float>(v));
    if (auto vector = dyn_cast<VectorType>(type))
      value = DenseElementsAttr::get(vector, value);
    return b.create<arith::ConstantOp>(loc, value);
  };
  Value x = b.create<arith::MaximumFOp>(
      loc, b.create<arith::MinimumFOp>(loc, op.getOperand(), constant(4.0)),
      constant(-4.0));
  Value x2 = b.create<arith::MulFOp>(loc, x, x);
  auto horner = [&](ArrayRef<double> coefficients) {
    Value acc = constant(coefficients.front());
    for (double c : coefficients.drop_front())
      acc = b.create<math::FmaOp>(loc, x2, acc, constant(c));
    return acc;
  };
  Value p = b.create<arith::MulFOp>(
      loc, x,
      horner({-2.72614225801306e-10, 2.77068142495902e-08,
              -2.10102402082508e-06, -5.69250639462346e-05,
              -7.34990630326855e-04, -2.95459980854025e-03,
              -1.60960333262415e-02}));
  Value q = horner({-1.45660718464996e-05, -2.13374055278905e-04,
                    -1.68282697438203e-03, -7.37332916720468e-03,
                    -1.42647390514189e-02});
  op.replaceAllUsesWith(b.create<arith::DivFOp>(loc, p, q).getResult());
  op.erase();
}

struct CpuApproximateMathPass
    : public impl::CpuApproximateMathBase<CpuApproximateMathPass> {
  void runOnOperation() override {
    SmallVector<math::ErfOp> erfs;
    getOperation().walk([&](math::ErfOp op) {
      if (getElementTypeOrSelf(op.getType()).isF32())
        erfs.push_back(op);
    });
    for (math::ErfOp op : erfs)
      expandErf(op);
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
