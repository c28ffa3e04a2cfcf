//===- dot.cc - The optimized graph as Graphviz DOT -----------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "tools/cli/dot.h"

#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/DenseMap.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {
namespace {

std::string TypeLabel(mlir::Type type) {
  std::string s;
  llvm::raw_string_ostream os(s);
  type.print(os);
  return s;
}

/// The node name a value comes from: a feed, an op, or (for a value inside
/// a fusion) the op that produced it there.
class DotWriter {
public:
  std::string Write(mlir::func::FuncOp func) {
    os_ << "digraph kiln {\n  rankdir=TB;\n  node [shape=box, "
           "fontname=\"Helvetica\"];\n";
    for (auto [i, arg] : llvm::enumerate(func.getArguments())) {
      std::string name = "feed" + std::to_string(i);
      auto attr =
          func.getArgAttrOfType<mlir::StringAttr>(i, KilnDialect::kNameAttr);
      os_ << "  " << name << " [shape=ellipse, label=\""
          << (attr ? attr.str() : name) << "\\n"
          << TypeLabel(arg.getType()) << "\"];\n";
      source_[arg] = name;
    }
    for (mlir::Operation &op : func.getBody().front()) {
      if (auto fusion = mlir::dyn_cast<FusionOp>(op))
        WriteFusion(fusion);
      else if (auto ret = mlir::dyn_cast<mlir::func::ReturnOp>(op))
        WriteFetches(func, ret);
      else if (!mlir::isa<ConstantOp>(op))
        WriteOp(op, "  ");
    }
    os_ << "}\n";
    return out_;
  }

private:
  void Edges(mlir::Operation &op, const std::string &to,
             const std::string &indent) {
    for (mlir::Value v : op.getOperands()) {
      auto it = source_.find(v);
      if (it != source_.end())
        os_ << indent << it->second << " -> " << to << ";\n";
    }
  }

  void WriteOp(mlir::Operation &op, const std::string &indent) {
    std::string name = "op" + std::to_string(next_++);
    os_ << indent << name << " [label=\"" << op.getName().stripDialect()
        << "\\n"
        << TypeLabel(op.getResult(0).getType()) << "\"];\n";
    Edges(op, name, indent);
    for (mlir::Value r : op.getResults())
      source_[r] = name;
  }

  void WriteFusion(FusionOp fusion) {
    mlir::Block &body = fusion.getBody().front();
    for (auto [arg, input] : llvm::zip(body.getArguments(), fusion.getInputs()))
      if (source_.count(input))
        source_[arg] = source_[input];
    os_ << "  subgraph cluster_" << clusters_++ << " {\n    label=\""
        << fusion.getKernel() << "\";\n    style=rounded; color=blue;\n";
    for (mlir::Operation &op : body.without_terminator())
      WriteOp(op, "    ");
    os_ << "  }\n";
    auto yield = mlir::cast<YieldOp>(body.getTerminator());
    for (auto [result, value] :
         llvm::zip(fusion.getResults(), yield.getValues()))
      source_[result] = source_[value];
  }

  void WriteFetches(mlir::func::FuncOp func, mlir::func::ReturnOp ret) {
    for (auto [i, v] : llvm::enumerate(ret.getOperands())) {
      std::string name = "fetch" + std::to_string(i);
      auto attr =
          func.getResultAttrOfType<mlir::StringAttr>(i, KilnDialect::kNameAttr);
      os_ << "  " << name << " [shape=ellipse, label=\""
          << (attr ? attr.str() : name) << "\"];\n";
      auto it = source_.find(v);
      if (it != source_.end())
        os_ << "  " << it->second << " -> " << name << ";\n";
    }
  }

  std::string out_;
  llvm::raw_string_ostream os_{out_};
  llvm::DenseMap<mlir::Value, std::string> source_;
  int next_ = 0, clusters_ = 0;
};

} // namespace

std::string GraphToDot(mlir::ModuleOp module) {
  auto func = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (!func)
    return "digraph kiln {}\n";
  return DotWriter().Write(func);
}

} // namespace kiln
