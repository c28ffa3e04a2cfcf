//===- dot.h - The optimized graph as Graphviz DOT --------------*- C++ -*-===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_TOOLS_CLI_DOT_H
#define KILN_TOOLS_CLI_DOT_H

#include <string>

namespace mlir {
class ModuleOp;
}

namespace kiln {

/// The kiln-dialect graph of @main as DOT: one node per feed, op and fetch,
/// edges along the data flow, and each kiln.fusion as a cluster labelled
/// with its kernel name. Constants are left out.
std::string GraphToDot(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_TOOLS_CLI_DOT_H
