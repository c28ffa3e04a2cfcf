//===- onnx_internal.h - Shared by the ONNX importer's files ----*- C++ -*-===//
//
// Part of Kiln. Internal to graph/: the view of one ONNX node that the op
// converters (onnx_ops.cc) work with.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_ONNX_INTERNAL_H
#define KILN_GRAPH_ONNX_INTERNAL_H

#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "onnx/onnx_pb.h"

namespace kiln {

struct OpSpec;

/// onnx.TensorProto.DataType to an MLIR element type; null if unsupported.
mlir::Type OnnxElementType(int data_type, mlir::MLIRContext &context);
/// "FLOAT", "INT8", ...
std::string OnnxTypeName(int data_type);

/// Decodes a TensorProto (raw or typed data, or external data under
/// `base_dir`) into a dense attribute.
absl::StatusOr<mlir::DenseElementsAttr>
OnnxTensorToAttr(const onnx::TensorProto &proto, const std::string &base_dir,
                 mlir::MLIRContext &context);

/// One node being converted: its inputs, attributes, and ways to report.
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
  bool reported_ = false;
};

using OnnxConverter =
    mlir::FailureOr<llvm::SmallVector<mlir::Value>> (*)(NodeContext &);

/// A converter for an ONNX op whose form needs more than the op table
/// (inputs that are attributes in Kiln, decompositions, opset variants),
/// with the arity of the op's newest form.
struct OnnxConverterEntry {
  const char *op_type;
  OnnxConverter convert;
  int min_inputs; ///< Inputs 0 .. min_inputs-1 are required.
  int max_inputs;
  const char *required_attr; ///< Or null.
};

/// The op types that have a converter of their own.
std::vector<std::string> OnnxConverterNames();

/// The converter entry for `op_type`; null for ops the table maps directly.
const OnnxConverterEntry *LookupOnnxConverter(const std::string &op_type);

/// Converts a node through the op table: its inputs as operands, its
/// attributes by the table's kinds (each checked against its declared
/// type); attributes named in `ignored` are left out.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
ConvertWithTable(NodeContext &ctx, const OpSpec &spec,
                 llvm::ArrayRef<llvm::StringRef> ignored = {});

/// "INTS", "TENSOR", ... for an AttributeProto type.
std::string OnnxAttrTypeName(int type);

} // namespace kiln

#endif // KILN_GRAPH_ONNX_INTERNAL_H
