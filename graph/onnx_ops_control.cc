//===- onnx_ops_control.cc - ONNX control flow ----------------------------===//
//
// Part of Kiln. If, when its condition is known at compile time (a
// constant, or computed from inputs frozen with graph-compile --freeze or
// GraphSource::Freeze): the branch taken is imported in the If's place,
// the other never is. A condition known only at run time is not supported
// yet (docs/onnx.md).
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "graph/onnx_ops.h"

namespace kiln {

using mlir::FailureOr;
using namespace onnx_ops;

namespace {

using Attr = onnx::AttributeProto;

FailureOr<Values> convertIf(NodeContext &ctx) {
  std::optional<mlir::DenseElementsAttr> cond = ctx.constantInput(0);
  if (!cond) {
    ctx.unsupported(
        "its condition is computed at run time; Kiln compiles an If whose "
        "condition is known at compile time: a constant, or computed from "
        "inputs frozen with graph-compile --freeze NAME=FILE.npy "
        "(GraphSource::Freeze)");
    return mlir::failure();
  }
  if (cond->getNumElements() != 1 || !cond->getElementType().isInteger(1)) {
    ctx.error("the condition must hold one bool");
    return mlir::failure();
  }
  bool taken = *cond->getValues<bool>().begin();
  const char *branch = taken ? "then_branch" : "else_branch";
  const Attr *graph = ctx.attr(branch, Attr::GRAPH);
  if (!graph) {
    if (!ctx.reported())
      ctx.error(absl::StrCat("missing attribute '", branch, "'"));
    return mlir::failure();
  }
  FailureOr<Values> outputs = ctx.importSubgraph(graph->g());
  if (mlir::failed(outputs)) {
    // Its nodes said why.
    ctx.unsupported(absl::StrCat("its ", branch, " cannot be compiled"));
    return mlir::failure();
  }
  if (outputs->size() != static_cast<size_t>(ctx.node().output_size())) {
    ctx.error(absl::StrCat(branch, " has ", outputs->size(),
                           " outputs; the If has ", ctx.node().output_size()));
    return mlir::failure();
  }
  return outputs;
}

} // namespace

void RegisterControlOnnxOps(OnnxRegistry &r) {
  //       op type  since  converter   inputs  required attributes
  r.onOp("If", 1, convertIf, 1, 1, {"then_branch", "else_branch"});
}

} // namespace kiln
