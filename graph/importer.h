//===- importer.h - GraphDef to the kiln dialect ----------------*- C++ -*-===//
//
// Part of Kiln. Builds an MLIR module with one function, @main, whose
// arguments are the Placeholders the fetches need and whose results are the
// fetches. Every op is located at its node's name.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_IMPORTER_H
#define KILN_GRAPH_IMPORTER_H

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"
#include "graph/graph.pb.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/OwningOpRef.h"
#include "runtime/executable.h"
#include "runtime/tensor.h"

namespace kiln {

struct ImportedGraph {
  mlir::OwningOpRef<mlir::ModuleOp> module;
  std::vector<TensorSpec> feeds;   ///< @main's arguments, in order.
  std::vector<TensorSpec> fetches; ///< @main's results, in order.
};

/// Imports `graph`, computing `fetches` ("node" or "node:0"); an empty list
/// means the signature's fetches. Every node is checked, whether the fetches
/// need it or not, and every problem is reported in one error, one line per
/// problem, each naming its node.
/// `frozen` Placeholders become constants; `shapes` gives Placeholders whose
/// declared shape has unknown (-1) dimensions their full shape.
absl::StatusOr<ImportedGraph>
ImportGraphDef(const GraphDef &graph, const std::vector<std::string> &fetches,
               mlir::MLIRContext &context,
               const std::map<std::string, Tensor> &frozen = {},
               const std::map<std::string, std::vector<int64_t>> &shapes = {});

/// The error for an input whose dimension `dim` of `declared` is still
/// unknown at import: it names the input and the dimension and says how
/// to give it.
std::string UnknownDimensionError(const std::string &input,
                                  const std::vector<int64_t> &declared,
                                  size_t dim, const std::string &symbol = "");
/// Whether one problem line of an import error is UnknownDimensionError's.
bool IsUnknownDimensionProblem(std::string_view problem);
/// Whether every problem an import error lists is an unknown dimension (a
/// model that imports once its shapes are given).
bool OnlyUnknownDimensions(const absl::Status &status);
/// Whether `shape` fits `declared`: same rank, and equal sizes wherever
/// `declared` is not -1 (unknown).
bool ShapeFits(const std::vector<int64_t> &declared,
               const std::vector<int64_t> &shape);

/// Registers the dialects the importer creates ops in.
void LoadImporterDialects(mlir::MLIRContext &context);

/// A host tensor as a dense attribute (a copy of its data).
mlir::DenseElementsAttr HostTensorToAttr(const Tensor &tensor,
                                         mlir::MLIRContext &context);

/// Maps Kiln's element types to MLIR types and back.
mlir::Type DTypeToMlir(DType dtype, mlir::MLIRContext &context);
DType MlirToDType(mlir::Type type);
/// A ranked tensor type as errors print it: "f32[2,3]".
std::string TypeString(mlir::Type type);

} // namespace kiln

#endif // KILN_GRAPH_IMPORTER_H
