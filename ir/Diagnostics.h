//===- Diagnostics.h - MLIR diagnostics to user messages --------*- C++ -*-===//
//
// Part of Kiln. Ops are located at the user's node name (a NameLoc); this
// turns MLIR's diagnostics into lines like "node 'fc1' (MatMul): inner
// dimensions differ ..." and collects them so that every problem is
// reported at once.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_DIAGNOSTICS_H
#define KILN_IR_DIAGNOSTICS_H

#include <map>
#include <memory>
#include <string>
#include <vector>

namespace mlir {
class Diagnostic;
class Location;
class MLIRContext;
class ScopedDiagnosticHandler;
} // namespace mlir

namespace kiln {

/// "node 'fc1'" for a NameLoc, "file:line:col" for a file location.
std::string DescribeLocation(mlir::Location loc);

/// The node name `loc` holds (the first, in a fused location), or "".
std::string NodeName(mlir::Location loc);

/// Where the importers place the ops of node `name` of type `op_type`
/// ("Gather", as the user's graph names it): a NameLoc of the name whose
/// child is a NameLoc of the op type.
mlir::Location NodeLocation(mlir::MLIRContext *context, const std::string &name,
                            const std::string &op_type);

/// The op type NodeLocation recorded in `loc` (the first, in a fused
/// location), or "".
std::string NodeOpType(mlir::Location loc);

/// While alive, captures every error (and its notes) emitted in `context`.
class DiagnosticCollector {
public:
  explicit DiagnosticCollector(mlir::MLIRContext &context);
  ~DiagnosticCollector();

  /// Errors located at node `node` (a NameLoc) then name its op type as
  /// the importers' own checks do: "node 'fc' (MatMul): ...". The importer
  /// calls this for each node it builds: the op type is the user's (ONNX
  /// "Flatten", not the kiln.reshape it becomes).
  void SetOpType(const std::string &node, const std::string &op_type) {
    op_types_[node] = op_type;
  }

  const std::vector<std::string> &errors() const { return errors_; }
  /// All errors, one per line, each indented by two spaces.
  std::string Joined() const;

private:
  std::vector<std::string> errors_;
  std::map<std::string, std::string> op_types_; ///< node name -> op type
  std::unique_ptr<mlir::ScopedDiagnosticHandler> handler_;
};

} // namespace kiln

#endif // KILN_IR_DIAGNOSTICS_H
