//===- main_builder.cc - The @main function both importers build ----------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/main_builder.h"

#include "ir/Diagnostics.h"
#include "ir/Dialect.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Verifier.h"
#include "llvm/ADT/BitVector.h"

namespace kiln {

MainBuilder::MainBuilder(mlir::MLIRContext &context) : builder_(&context) {
  LoadImporterDialects(context);
  module_ = mlir::ModuleOp::create(builder_.getUnknownLoc());
  builder_.setInsertionPointToEnd(module_->getBody());
  func_ = builder_.create<mlir::func::FuncOp>(builder_.getUnknownLoc(), "main",
                                              builder_.getFunctionType({}, {}));
  builder_.setInsertionPointToStart(func_.addEntryBlock());
}

mlir::Value MainBuilder::AddArgument(const std::string &name, mlir::Type type) {
  arg_names_.push_back(name);
  return func_.getBody().front().addArgument(
      type, mlir::NameLoc::get(builder_.getStringAttr(name)));
}

mlir::Value MainBuilder::AddConstant(const std::string &name,
                                     mlir::DenseElementsAttr value) {
  return builder_.create<ConstantOp>(
      mlir::NameLoc::get(builder_.getStringAttr(name)), value.getType(), value);
}

absl::StatusOr<ImportedGraph>
MainBuilder::Finish(mlir::ValueRange results,
                    const std::vector<std::string> &fetch_names,
                    const DiagnosticCollector &diagnostics) {
  assert(results.size() == fetch_names.size() && "one name per fetch");
  mlir::Block *body = &func_.getBody().front();
  builder_.setInsertionPointToEnd(body);
  builder_.create<mlir::func::ReturnOp>(builder_.getUnknownLoc(), results);

  // Ops were built in topological order, so walking back erases each
  // unused op after its users.
  llvm::SmallVector<mlir::Operation *> ops;
  for (mlir::Operation &op : body->without_terminator())
    ops.push_back(&op);
  for (mlir::Operation *op : llvm::reverse(ops))
    if (op->use_empty())
      op->erase();

  auto spec_of = [](const std::string &name, mlir::Type type) {
    auto t = mlir::cast<mlir::RankedTensorType>(type);
    return TensorSpec{
        name, MlirToDType(t.getElementType()),
        std::vector<int64_t>(t.getShape().begin(), t.getShape().end())};
  };
  ImportedGraph result;
  llvm::BitVector unused(body->getNumArguments());
  for (unsigned a = 0; a < body->getNumArguments(); ++a) {
    if (body->getArgument(a).use_empty())
      unused.set(a);
    else
      result.feeds.push_back(
          spec_of(arg_names_[a], body->getArgument(a).getType()));
  }
  body->eraseArguments(unused);
  func_.setFunctionType(builder_.getFunctionType(body->getArgumentTypes(),
                                                 mlir::TypeRange(results)));
  for (size_t k = 0; k < results.size(); ++k)
    result.fetches.push_back(spec_of(fetch_names[k], results[k].getType()));
  for (size_t k = 0; k < result.feeds.size(); ++k)
    func_.setArgAttr(k, KilnDialect::kNameAttr,
                     builder_.getStringAttr(result.feeds[k].name));
  for (size_t k = 0; k < result.fetches.size(); ++k)
    func_.setResultAttr(k, KilnDialect::kNameAttr,
                        builder_.getStringAttr(result.fetches[k].name));
  if (mlir::failed(mlir::verify(*module_)))
    return absl::InternalError("imported module does not verify:\n" +
                               diagnostics.Joined());
  result.module = std::move(module_);
  return result;
}

} // namespace kiln
