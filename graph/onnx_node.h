//===- onnx_node.h - One ONNX node, as its converter sees it ----*- C++ -*-===//
//
// Part of Kiln. Internal to graph/: the binder the ONNX converters
// (onnx_ops_*.cc) get for one node. Every read of an input or attribute goes
// through it, so a converter never reads a field the node does not declare,
// and every problem is reported naming the node.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_ONNX_NODE_H
#define KILN_GRAPH_ONNX_NODE_H

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "onnx/onnx_pb.h"

namespace kiln {

/// One node being converted, as its converter sees it: the binder of its
/// inputs and attributes (typed, checked accessors that report a missing
/// constant or a mistyped attribute in the "node 'N' (Op): ..." form),
/// the builder of its kiln ops, and the ways to report a problem.
class NodeContext {
public:
  NodeContext(const onnx::NodeProto &node, std::string name, int opset,
              mlir::OpBuilder &builder, llvm::SmallVector<mlir::Value> inputs,
              const std::string &base_dir,
              std::vector<std::string> *unsupported,
              std::vector<std::string> *errors);

  const onnx::NodeProto &node() const { return node_; }
  const std::string &name() const { return name_; }
  int opset() const { return opset_; }
  mlir::OpBuilder &builder() { return builder_; }
  mlir::Location loc() const { return loc_; }
  mlir::MLIRContext &context() { return *builder_.getContext(); }
  const std::string &base_dir() const { return base_dir_; }

  size_t numInputs() const { return inputs_.size(); }
  /// Input `i`, or null when absent or given as "".
  mlir::Value input(size_t i) const {
    return i < inputs_.size() ? inputs_[i] : mlir::Value();
  }
  mlir::RankedTensorType type(size_t i) const;
  /// The value of input `i` when it is a compile-time constant.
  std::optional<mlir::DenseElementsAttr> constantInput(size_t i) const;
  /// Input `i` as integers; reports (and fails) when it is not a constant
  /// or its elements are not integers, naming `what` it stands for.
  mlir::FailureOr<llvm::SmallVector<int64_t>> constantInts(size_t i,
                                                           const char *what);
  /// The one element of constant input `i` as a double (any integer or
  /// float type); reports (and fails) when it is not a constant holding
  /// exactly one number, naming `what` it stands for.
  mlir::FailureOr<double> constantScalar(size_t i, const char *what);
  /// Input `i` as doubles (any integer or float type); nullopt when the
  /// input is absent or an empty tensor (how ONNX leaves an optional input
  /// out). Reports (and fails) when it is not a constant.
  mlir::FailureOr<std::optional<std::vector<double>>>
  constantDoubles(size_t i, const char *what);

  /// Whether the node has attribute `name`, whatever its type.
  bool hasAttr(const std::string &name) const;
  /// Attribute `name` when the node has it with type `type`; null when it
  /// is absent. An attribute of another declared type is reported as an
  /// error naming the node, the attribute and both types (and is null too):
  /// every read of an attribute goes through here or through the getters
  /// below, so no field is read that the attribute does not declare.
  const onnx::AttributeProto *attr(const std::string &name,
                                   onnx::AttributeProto::AttributeType type);
  int64_t getInt(const std::string &name, int64_t fallback);
  float getFloat(const std::string &name, float fallback);
  std::string getString(const std::string &name, const std::string &fallback);
  std::optional<llvm::SmallVector<int64_t>> getInts(const std::string &name);
  std::optional<std::vector<float>> getFloats(const std::string &name);
  std::optional<std::vector<std::string>> getStrings(const std::string &name);
  /// A tensor attribute's value (external data read beside the model);
  /// reports (and fails) when it cannot be decoded, as unsupported for an
  /// element type Kiln lacks and as an error otherwise.
  mlir::FailureOr<mlir::DenseElementsAttr>
  decodeTensor(const onnx::TensorProto &tensor);

  /// Creates an `OpT` (AddOp, ReshapeOp, ...) at the node's location,
  /// typed by the op's own inference and folded when its operands are
  /// constants; failure once something was reported.
  template <typename OpT>
  mlir::FailureOr<mlir::Value>
  build(mlir::ValueRange operands,
        llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    return buildNamed(OpT::getOperationName(), operands, attrs);
  }
  /// The same, for ops with several results.
  template <typename OpT>
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  buildAll(mlir::ValueRange operands,
           llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    return buildAllNamed(OpT::getOperationName(), operands, attrs);
  }
  /// build() for an op named by the data-driven op table (graph/op_table.h,
  /// whose names tests/op_table_test.cc checks against the dialect).
  mlir::FailureOr<mlir::Value>
  buildNamed(llvm::StringRef op, mlir::ValueRange operands,
             llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  buildAllNamed(llvm::StringRef op, mlir::ValueRange operands,
                llvm::ArrayRef<mlir::NamedAttribute> attrs = {});
  mlir::FailureOr<mlir::Value> reshape(mlir::Value v,
                                       llvm::ArrayRef<int64_t> shape);
  mlir::Value constant(mlir::DenseElementsAttr value);
  /// A scalar-shaped (rank 0) constant of element type `elem`.
  mlir::Value scalar(mlir::Type elem, double value);

  /// Imports the nodes of `graph` (a subgraph attribute: an If's branch,
  /// a Loop's or Scan's body) at the builder's insertion point, its inputs
  /// bound to `inputs` (one per graph input), seeing the values of the
  /// enclosing graphs, and returns its outputs; failure after its nodes
  /// reported why. Set by the importer.
  using SubgraphImporter =
      std::function<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(
          const onnx::GraphProto &graph, llvm::ArrayRef<mlir::Value> inputs)>;
  void setSubgraphImporter(SubgraphImporter importer) {
    subgraphs_ = std::move(importer);
  }
  mlir::FailureOr<llvm::SmallVector<mlir::Value>>
  importSubgraph(const onnx::GraphProto &graph,
                 llvm::ArrayRef<mlir::Value> inputs = {}) {
    if (!subgraphs_)
      return mlir::failure();
    return subgraphs_(graph, inputs);
  }

  /// Something Kiln does not support (skippable); an error in the model.
  void unsupported(const std::string &what);
  void error(const std::string &what);
  /// Whether unsupported() or error() was called: the node's conversion
  /// has failed even if its converter went on (a mistyped attribute read
  /// through a getter yields the getter's fallback).
  bool reported() const { return reported_; }

private:
  const onnx::NodeProto &node_;
  std::string name_;
  int opset_;
  mlir::OpBuilder &builder_;
  mlir::Location loc_;
  llvm::SmallVector<mlir::Value> inputs_;
  const std::string &base_dir_;
  std::vector<std::string> *unsupported_;
  std::vector<std::string> *errors_;
  SubgraphImporter subgraphs_;
  bool reported_ = false;
};

/// "INTS", "TENSOR", ... for an AttributeProto type.
std::string OnnxAttrTypeName(int type);

} // namespace kiln

#endif // KILN_GRAPH_ONNX_NODE_H
