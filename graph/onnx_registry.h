//===- onnx_registry.h - ONNX op types to their converters ------*- C++ -*-===//
//
// Part of Kiln. Internal to graph/: the one registry of ONNX ops. Each entry
// is an op type with the opset its form starts at (its since-version), the
// converter for that form, the form's arity and its required attributes. A
// node of opset V is converted by the newest entry of its op type whose
// since-version is at most V, so an op whose inputs changed between opsets
// (ReduceSum's axes became an input in opset 13) registers one converter
// per form instead of branching on the opset. Ops the GraphDef op table
// maps directly (graph/op_table.h) are registered as table entries.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_ONNX_REGISTRY_H
#define KILN_GRAPH_ONNX_REGISTRY_H

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "graph/onnx_node.h"

namespace kiln {

struct OpSpec;

/// The newest opset Debian's libonnx (1.12) has schemas for. Nodes of
/// newer opsets are checked against the registry's arities instead.
constexpr int kMaxKnownOpset = 17;

/// Converts one node: its output values, in order, or failure after
/// reporting why through the NodeContext (or an op's inference).
using OnnxConverter =
    std::function<mlir::FailureOr<llvm::SmallVector<mlir::Value>>(
        NodeContext &)>;

struct OnnxOpEntry {
  std::string op_type;
  int since_version; ///< The first opset this form applies to.
  OnnxConverter convert;
  int min_inputs; ///< Inputs 0 .. min_inputs-1 are required.
  int max_inputs; ///< kVariadic for any number.
  std::vector<std::string> required_attrs;
};

class OnnxRegistry {
public:
  /// Registers `convert` for `op_type` nodes of opset `since_version` and
  /// newer (until a newer entry of the same op type); `min_inputs`,
  /// `max_inputs` and `required_attrs` describe that form. Registering the
  /// same op type and since-version twice is a programming error.
  void onOp(const std::string &op_type, int since_version,
            OnnxConverter convert, int min_inputs, int max_inputs,
            std::vector<std::string> required_attrs = {});
  /// Registers `op_type` from `since_version` on as its op table entry
  /// converts it (ConvertWithTable); its arity and required attributes are
  /// the table's.
  void onTableOp(const std::string &op_type, int since_version = 1);

  /// The entry that converts an `op_type` node of opset `opset`: the one
  /// with the greatest since-version <= `opset`; null when there is none.
  const OnnxOpEntry *lookup(std::string_view op_type, int opset) const;
  /// Every form of `op_type`, oldest first; empty when unknown.
  const std::vector<OnnxOpEntry> &forms(std::string_view op_type) const;
  /// Every registered op type, sorted.
  std::vector<std::string> opTypes() const;

private:
  std::map<std::string, std::vector<OnnxOpEntry>, std::less<>> entries_;
};

/// The registry of every ONNX op Kiln converts, built on first use from the
/// registration functions of graph/onnx_ops.h.
const OnnxRegistry &OnnxOps();

/// Converts a node through the op table: its inputs as operands, its
/// attributes by the table's kinds (each checked against its declared
/// type), defaults from ONNX's schema; attributes named in `ignored` are
/// left out.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
ConvertWithTable(NodeContext &ctx, const OpSpec &spec,
                 llvm::ArrayRef<llvm::StringRef> ignored = {});
/// The kiln attributes ConvertWithTable gives the node: its own, checked
/// against `spec`, and the schema's defaults for the rest. For converters
/// that build the table's op from operands of their own (ConvInteger
/// builds kiln.conv from zero-point-shifted inputs).
mlir::FailureOr<llvm::SmallVector<mlir::NamedAttribute>>
TableAttributes(NodeContext &ctx, const OpSpec &spec,
                llvm::ArrayRef<llvm::StringRef> ignored = {});

/// Why `node` does not fit ONNX's schema for it (how many inputs there
/// are, a required one left out as "", a required attribute missing, an
/// attribute given twice), or "" when it does. Converters can then rely on
/// what the schema requires. libonnx knows opsets up to kMaxKnownOpset; a
/// node of a newer opset is checked only against the arity and required
/// attributes of the registry entry that converts it, never against an
/// older schema, which may take other inputs (ReduceMax's `axes` became an
/// input in opset 18).
std::string CheckAgainstSchema(const onnx::NodeProto &node,
                               llvm::ArrayRef<mlir::Value> inputs, int opset);

} // namespace kiln

#endif // KILN_GRAPH_ONNX_REGISTRY_H
