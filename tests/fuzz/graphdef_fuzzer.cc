//===- graphdef_fuzzer.cc - libFuzzer target for GraphDef import ----------===//
//
// Part of Kiln. Feeds arbitrary bytes to the text and binary GraphDef
// parsers and imports whatever parses. Run with tools/fuzz.sh graphdef.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <string>

#include "graph/importer.h"
#include "graph/loader.h"
#include "mlir/IR/MLIRContext.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  std::string bytes(reinterpret_cast<const char *>(data), size);
  static mlir::MLIRContext *context = [] {
    auto *c = new mlir::MLIRContext(mlir::MLIRContext::Threading::DISABLED);
    kiln::LoadImporterDialects(*c);
    return c;
  }();
  kiln::GraphDef graph;
  absl::StatusOr<kiln::GraphDef> text = kiln::ParseGraphDefText(bytes, "fuzz");
  if (text.ok())
    graph = *text;
  else if (!graph.ParseFromString(bytes))
    return 0;
  std::vector<std::string> fetches;
  for (const kiln::NodeDef &node : graph.node())
    fetches.push_back(node.name());
  (void)kiln::ImportGraphDef(graph, fetches, *context);
  return 0;
}
