//===- ConvolutionsAsMatmuls.cc - kiln-cuda-convolutions-as-matmuls -------===//
//
// Part of Kiln. A 2-D convolution on tensors as an image-to-columns copy
// and a matmul (Passes.td), so that the matmul becomes a cuBLASLt call.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cuda/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_CUDACONVOLUTIONSASMATMULS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Rewrites `op` when it is an f32 2-D convolution on tensors over
/// (n, oc, oh, ow, ic, kh, kw): out (n, oc, oh, ow) += in (n, ic, f(oh,
/// kh), g(ow, kw)) * filter (oc, ic, kh, kw).
void rewrite(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumLoops() != 7 ||
      !isMultiplyAccumulate(op))
    return;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  for (unsigned d = 0; d < 7; ++d)
    if ((iterators[d] == utils::IteratorType::parallel) != (d < 4))
      return;
  MLIRContext *ctx = op.getContext();
  auto dim = [&](unsigned d) { return getAffineDimExpr(d, ctx); };
  AffineMap in = op.getIndexingMapsArray()[0],
            filter = op.getIndexingMapsArray()[1],
            out = op.getIndexingMapsArray()[2];
  if (out != AffineMap::get(7, 0, {dim(0), dim(1), dim(2), dim(3)}, ctx) ||
      filter != AffineMap::get(7, 0, {dim(1), dim(4), dim(5), dim(6)}, ctx) ||
      in.getNumResults() != 4 || in.getResult(0) != dim(0) ||
      in.getResult(1) != dim(4) || in.getResult(2).isFunctionOfDim(1) ||
      in.getResult(3).isFunctionOfDim(1))
    return;
  Value input = op.getDpsInputs()[0], weights = op.getDpsInputs()[1],
        init = op.getDpsInits()[0];
  for (Value v : {input, weights, init})
    if (!cast<RankedTensorType>(v.getType()).hasStaticShape() ||
        !getElementTypeOrSelf(v.getType()).isF32())
      return;
  SmallVector<int64_t> r = op.getStaticLoopRanges();
  int64_t n = r[0], oc = r[1], oh = r[2], ow = r[3], ic = r[4], kh = r[5],
          kw = r[6];
  OpBuilder b(op);
  Location loc = op.getLoc();
  Type f32 = b.getF32Type();
  // The columns [n, ic, kh, kw, oh, ow]: the input as the convolution reads
  // it at each filter tap and output point.
  auto columnsType = RankedTensorType::get({n, ic, kh, kw, oh, ow}, f32);
  // (n, ic, kh, kw, oh, ow) -> the convolution's (n, oc, oh, ow, ic, kh,
  // kw), oc unused.
  AffineMap toConv = AffineMap::get(6, 0,
                                    {dim(0), getAffineConstantExpr(0, ctx),
                                     dim(4), dim(5), dim(1), dim(2), dim(3)},
                                    ctx);
  Value columns =
      b.create<linalg::GenericOp>(
           loc, columnsType, ValueRange{input},
           ValueRange{
               b.create<tensor::EmptyOp>(loc, columnsType.getShape(), f32)},
           ArrayRef<AffineMap>{in.compose(toConv),
                               AffineMap::getMultiDimIdentityMap(6, ctx)},
           SmallVector<utils::IteratorType>(6, utils::IteratorType::parallel),
           [](OpBuilder &nb, Location loc, ValueRange args) {
             nb.create<linalg::YieldOp>(loc, args[0]);
           })
          .getResult(0);
  Value x = b.create<tensor::CollapseShapeOp>(
      loc, columns, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}, {4, 5}});
  Value w = b.create<tensor::CollapseShapeOp>(
      loc, weights, ArrayRef<ReassociationIndices>{{0}, {1, 2, 3}});
  Value c = b.create<tensor::CollapseShapeOp>(
      loc, init, ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  // (n, oc, p, k): c[n, oc, p] += w[oc, k] * x[n, k, p].
  auto par = utils::IteratorType::parallel;
  Value product =
      b.create<linalg::GenericOp>(
           loc, c.getType(), ValueRange{w, x}, ValueRange{c},
           ArrayRef<AffineMap>{
               AffineMap::get(4, 0, {dim(1), dim(3)}, ctx),
               AffineMap::get(4, 0, {dim(0), dim(3), dim(2)}, ctx),
               AffineMap::get(4, 0, {dim(0), dim(1), dim(2)}, ctx)},
           ArrayRef<utils::IteratorType>{par, par, par,
                                         utils::IteratorType::reduction},
           [](OpBuilder &nb, Location loc, ValueRange args) {
             Value m = nb.create<arith::MulFOp>(loc, args[1], args[0]);
             nb.create<linalg::YieldOp>(
                 loc, ValueRange{nb.create<arith::AddFOp>(loc, args[2], m)});
           })
          .getResult(0);
  Value result = b.create<tensor::ExpandShapeOp>(
      loc, op.getResult(0).getType(), product,
      ArrayRef<ReassociationIndices>{{0}, {1}, {2, 3}});
  // The new ops keep the convolution's kernel (fusion) name, if any.
  if (Attribute kernel = op->getAttr("kiln.kernel"))
    for (Value v : {columns, x, w, c, product, result})
      v.getDefiningOp()->setAttr("kiln.kernel", kernel);
  op.getResult(0).replaceAllUsesWith(result);
  op.erase();
}

struct CudaConvolutionsAsMatmulsPass
    : public impl::CudaConvolutionsAsMatmulsBase<
          CudaConvolutionsAsMatmulsPass> {
  void runOnOperation() override {
    SmallVector<linalg::GenericOp> ops;
    getOperation().walk([&](linalg::GenericOp op) { ops.push_back(op); });
    for (linalg::GenericOp op : ops)
      rewrite(op);
  }
};

} // namespace
} // namespace kiln
