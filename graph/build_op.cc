//===- build_op.cc - Create kiln ops with inferred types ------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/build_op.h"

#include "ir/Dialect.h"
#include "mlir/IR/Matchers.h"
#include "mlir/IR/Verifier.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"

namespace kiln {

bool ShapeWithinLimit(llvm::ArrayRef<int64_t> shape, int64_t limit) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0 || (d != 0 && n > limit / d))
      return false;
    if (d != 0)
      n *= d;
  }
  return true;
}

mlir::LogicalResult CheckTensorSize(mlir::Location loc, mlir::Type type) {
  auto tensor = mlir::dyn_cast<mlir::RankedTensorType>(type);
  if (!tensor || ShapeWithinLimit(tensor.getShape()))
    return mlir::success();
  return mlir::emitError(loc) << "result of shape "
                              << "[" << tensor.getShape()
                              << "] is larger than Kiln's limit of 2^32 "
                                 "elements";
}

mlir::FailureOr<llvm::SmallVector<mlir::Value>>
BuildOpByName(mlir::OpBuilder &builder, mlir::Location loc,
              llvm::StringRef name, mlir::ValueRange operands,
              llvm::ArrayRef<mlir::NamedAttribute> attrs, bool foldConstants) {
  mlir::MLIRContext *context = builder.getContext();
  std::optional<mlir::RegisteredOperationName> opName =
      mlir::RegisteredOperationName::lookup(name, context);
  assert(opName && "the op table names an op the dialect does not define");
#ifndef NDEBUG
  // An attribute the op does not declare would be kept as a discardable
  // attribute and silently ignored.
  for (const mlir::NamedAttribute &attr : attrs)
    assert(llvm::is_contained(opName->getAttributeNames(), attr.getName()) &&
           "an attribute the op does not declare");
#endif
  mlir::OperationState state(loc, *opName);
  state.addOperands(operands);
  state.addAttributes(attrs);
  opName->populateDefaultAttrs(state.attributes);
  auto *infer = opName->getInterface<mlir::InferTypeOpInterface>();
  assert(infer && "every kiln op infers its result type");
  llvm::SmallVector<mlir::Type> types;
  if (mlir::failed(infer->inferReturnTypes(
          context, loc, state.operands, state.attributes.getDictionary(context),
          state.getRawProperties(), state.regions, types)))
    return mlir::failure();
  for (mlir::Type t : types)
    if (mlir::failed(CheckTensorSize(loc, t)))
      return mlir::failure();
  state.addTypes(types);
  mlir::Operation *op = builder.create(state);
  // Folders assume the op's ODS constraints (an index operand holds
  // integers, say): an op that breaks them is refused, never folded. The
  // error names the node; the op's generic form would add nothing to it.
  bool printOp = context->shouldPrintOpOnDiagnostic();
  context->printOpOnDiagnostic(false);
  mlir::LogicalResult verified = mlir::verify(op);
  context->printOpOnDiagnostic(printOp);
  if (mlir::failed(verified)) {
    op->erase();
    return mlir::failure();
  }
  llvm::SmallVector<mlir::Value> results(op->getResults());
  if (!foldConstants)
    return results;
  std::optional<llvm::SmallVector<mlir::Value>> folded = foldToConstants(op);
  if (!folded)
    return results;
  op->erase();
  return *folded;
}

} // namespace kiln
