//===- PadInPlace.cc - The kiln-pad-in-place pass -------------------------===//
//
// Part of Kiln. A tensor.pad with a constant value (a convolution's or a
// max pool's zero or -inf border) bufferizes to a buffer filled with the
// value everywhere and a copy of the source into its interior: two kernels,
// and a whole pass over the source that only moves it. When the source is
// computed by ops that write into a tensor.empty (an elementwise op, a
// fusion's tile loops), the producer can write into the padded buffer's
// interior instead: the fill moves before the producer, the producer's
// tensor.empty becomes the interior's slice of the filled tensor, and the
// pad becomes an insert_slice of the result at the same place, which
// bufferization recognizes as already in place. The copy kernel goes.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/Passes.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

namespace kiln {
#define GEN_PASS_DEF_PADINPLACE
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The use of a tensor.empty that `value` is computed into, through ops
/// that write their result into an operand (destination-passing linalg
/// ops, scf.for loops), each value on the way used once: the place where
/// the padded tensor's interior can take the empty tensor's part.
OpOperand *emptyDestination(Value value) {
  while (value.hasOneUse()) {
    auto result = dyn_cast<OpResult>(value);
    if (!result)
      return nullptr;
    Operation *op = result.getOwner();
    OpOperand *init = nullptr;
    if (auto linalgOp = dyn_cast<linalg::LinalgOp>(op))
      init = linalgOp.getDpsInitOperand(result.getResultNumber());
    else if (auto loop = dyn_cast<scf::ForOp>(op))
      init = &loop.getInitArgsMutable()[result.getResultNumber()];
    if (!init)
      return nullptr;
    if (init->get().getDefiningOp<tensor::EmptyOp>())
      return init;
    value = init->get();
  }
  return nullptr;
}

/// The constant a pad yields, if it yields one.
Value constantPadValue(tensor::PadOp pad) {
  Value value = pad.getConstantPaddingValue();
  if (!value || !value.getDefiningOp<arith::ConstantOp>())
    return nullptr;
  return value;
}

struct PadInPlacePass : public impl::PadInPlaceBase<PadInPlacePass> {
  void runOnOperation() override {
    SmallVector<tensor::PadOp> pads;
    getOperation().walk([&](tensor::PadOp pad) { pads.push_back(pad); });
    for (tensor::PadOp pad : pads)
      rewrite(pad);
  }

  void rewrite(tensor::PadOp pad) {
    RankedTensorType sourceType = pad.getSourceType();
    RankedTensorType type = pad.getResultType();
    Value padValue = constantPadValue(pad);
    if (!padValue || !sourceType.hasStaticShape() || !type.hasStaticShape() ||
        pad.getNofold())
      return;
    SmallVector<OpFoldResult> offsets = pad.getMixedLowPad();
    if (llvm::any_of(offsets, [](OpFoldResult o) { return isa<Value>(o); }))
      return;
    OpOperand *destination = emptyDestination(pad.getSource());
    if (!destination)
      return;
    // The filled tensor, just before the producer's kernel: before the
    // first op marked with the same kiln.kernel (an untiled fusion's ops
    // are several), so that the fill does not split it in two.
    Operation *producer = destination->getOwner();
    if (Attribute kernel = producer->getAttr("kiln.kernel"))
      for (Operation *op = producer->getPrevNode(); op;
           op = op->getPrevNode()) {
        if (op->getAttr("kiln.kernel") == kernel)
          producer = op;
        else if (op->getAttr("kiln.kernel") || !isMemoryEffectFree(op) ||
                 op->getNumRegions() != 0)
          break;
      }
    OpBuilder b(producer);
    Location loc = pad.getLoc();
    Value empty =
        b.create<tensor::EmptyOp>(loc, type.getShape(), type.getElementType());
    Value value = b.clone(*padValue.getDefiningOp())->getResult(0);
    auto fill = b.create<linalg::FillOp>(loc, value, empty);
    // Its own kernel, named after the pad's with "_pad" so that a profile
    // does not show two kernels of one name (the fill and the consumer).
    if (auto kernel = pad->getAttrOfType<StringAttr>("kiln.kernel"))
      fill->setAttr("kiln.kernel",
                    b.getStringAttr(kernel.getValue().str() + "_pad"));
    SmallVector<OpFoldResult> sizes, strides(type.getRank(), b.getIndexAttr(1));
    for (int64_t size : sourceType.getShape())
      sizes.push_back(b.getIndexAttr(size));
    Value interior = b.create<tensor::ExtractSliceOp>(
        loc, sourceType, fill.getResult(0), offsets, sizes, strides);
    destination->set(interior);
    OpBuilder after(pad);
    Value padded = after.create<tensor::InsertSliceOp>(
        loc, pad.getSource(), fill.getResult(0), offsets, sizes, strides);
    pad.replaceAllUsesWith(padded);
    pad.erase();
  }
};

} // namespace
} // namespace kiln
