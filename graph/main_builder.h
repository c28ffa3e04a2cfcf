//===- main_builder.h - The @main function both importers build -*- C++ -*-===//
//
// Part of Kiln. Both importers (GraphDef and ONNX) produce the same thing: a
// module with one function, @main, whose arguments are the feeds and whose
// results are the fetches, each named by a `kiln.name` attribute, and the
// signature (TensorSpecs) that describes them. MainBuilder is that one
// shared piece; the importers only decide which values are feeds,
// constants and fetches.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_MAIN_BUILDER_H
#define KILN_GRAPH_MAIN_BUILDER_H

#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/importer.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Builders.h"

namespace kiln {

class DiagnosticCollector;

class MainBuilder {
public:
  /// Loads the importer's dialects and creates the module and an empty
  /// @main; builder() inserts into its body.
  explicit MainBuilder(mlir::MLIRContext &context);

  mlir::OpBuilder &builder() { return builder_; }

  /// Appends a feed named `name` (its location, too) of type `type`.
  mlir::Value AddArgument(const std::string &name, mlir::Type type);
  /// A kiln.constant located at `name` (an initializer, a frozen input).
  mlir::Value AddConstant(const std::string &name,
                          mlir::DenseElementsAttr value);

  /// Returns `results` as the fetches named `fetch_names`, drops the ops
  /// and arguments no fetch needs (kiln ops have no side effects), and
  /// fills in the function type, the `kiln.name` attributes and the
  /// signature: feeds in argument order, fetches in `results` order. An
  /// Internal error, with what `diagnostics` caught, if the module does not
  /// verify.
  absl::StatusOr<ImportedGraph>
  Finish(mlir::ValueRange results, const std::vector<std::string> &fetch_names,
         const DiagnosticCollector &diagnostics);

private:
  mlir::OpBuilder builder_;
  mlir::OwningOpRef<mlir::ModuleOp> module_;
  mlir::func::FuncOp func_;
  std::vector<std::string> arg_names_; ///< One per argument of @main.
};

} // namespace kiln

#endif // KILN_GRAPH_MAIN_BUILDER_H
