//===- Diagnostics.cc - MLIR diagnostics to user messages -----------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "ir/Diagnostics.h"

#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/Diagnostics.h"
#include "mlir/IR/Location.h"
#include "mlir/IR/MLIRContext.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {

std::string NodeName(mlir::Location loc) {
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc))
    return name.getName().str();
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location inner : fused.getLocations())
      if (std::string name = NodeName(inner); !name.empty())
        return name;
  return "";
}

mlir::Location NodeLocation(mlir::MLIRContext *context, const std::string &name,
                            const std::string &op_type) {
  return mlir::NameLoc::get(
      mlir::StringAttr::get(context, name),
      mlir::NameLoc::get(mlir::StringAttr::get(context, op_type)));
}

std::string NodeOpType(mlir::Location loc) {
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc)) {
    auto child = mlir::dyn_cast<mlir::NameLoc>(name.getChildLoc());
    return child ? child.getName().str() : "";
  }
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc))
    for (mlir::Location inner : fused.getLocations())
      if (std::string type = NodeOpType(inner); !type.empty())
        return type;
  return "";
}

std::string DescribeLocation(mlir::Location loc) {
  if (auto name = mlir::dyn_cast<mlir::NameLoc>(loc))
    return "node '" + name.getName().str() + "'";
  if (auto fused = mlir::dyn_cast<mlir::FusedLoc>(loc)) {
    std::string out;
    for (mlir::Location inner : fused.getLocations()) {
      if (!out.empty())
        out += " + ";
      out += DescribeLocation(inner);
    }
    return out;
  }
  std::string out;
  llvm::raw_string_ostream os(out);
  loc.print(os);
  return out;
}

DiagnosticCollector::DiagnosticCollector(mlir::MLIRContext &context)
    : handler_(std::make_unique<mlir::ScopedDiagnosticHandler>(
          &context, [this](mlir::Diagnostic &diag) {
            if (diag.getSeverity() != mlir::DiagnosticSeverity::Error)
              return mlir::success();
            std::string line = DescribeLocation(diag.getLocation());
            if (auto name = mlir::dyn_cast<mlir::NameLoc>(diag.getLocation())) {
              std::string type = NodeOpType(name);
              if (auto op = op_types_.find(name.getName().str());
                  op != op_types_.end())
                type = op->second;
              if (!type.empty())
                line += " (" + type + ")";
            }
            line += ": " + diag.str();
            for (mlir::Diagnostic &note : diag.getNotes())
              line += " (" + note.str() + ")";
            errors_.push_back(std::move(line));
            return mlir::success();
          })) {}

DiagnosticCollector::~DiagnosticCollector() = default;

std::string DiagnosticCollector::Joined() const {
  std::string out;
  for (const std::string &e : errors_) {
    if (!out.empty())
      out += "\n";
    out += "  " + e;
  }
  return out;
}

} // namespace kiln
