//===- LinalgMatch.cc - What the backends look for in linalg -------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Interfaces/FunctionInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

using namespace mlir;

namespace kiln {

bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || body.getOperations().size() != 3)
    return false;
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc   ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return isa<BlockArgument>(v) || v.getDefiningOp<memref::GetGlobalOp>()
             ? v
             : Value();
}

bool mayAlias(Value a, Value b) {
  Value ra = rootOf(a), rb = rootOf(b);
  if (!ra || !rb || ra == rb)
    return true;
  if (ra.getDefiningOp<memref::GetGlobalOp>() ||
      rb.getDefiningOp<memref::GetGlobalOp>())
    return false;
  auto noalias = [](Value root) {
    auto arg = cast<BlockArgument>(root);
    auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    return func && func.getArgAttr(arg.getArgNumber(), "llvm.noalias");
  };
  return !noalias(ra) && !noalias(rb);
}

} // namespace kiln
