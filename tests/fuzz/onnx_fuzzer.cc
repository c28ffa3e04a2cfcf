//===- onnx_fuzzer.cc - libFuzzer target for ONNX import ------------------===//
//
// Part of Kiln. Feeds arbitrary bytes to the ONNX importer as a serialized
// ModelProto (libonnx's checker and shape inference included) and imports
// every fetchable value of whatever loads. External data resolves against a
// folder that does not exist, so no input can make it read the disk. Run
// with tools/fuzz.sh onnx.
//
//===----------------------------------------------------------------------===//
#include <cstdint>
#include <string>

#include "graph/importer.h"
#include "graph/onnx_importer.h"
#include "graph/source.h"
#include "mlir/IR/MLIRContext.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  static mlir::MLIRContext *context = [] {
    auto *c = new mlir::MLIRContext(mlir::MLIRContext::Threading::DISABLED);
    kiln::LoadImporterDialects(*c);
    return c;
  }();
  std::string bytes(reinterpret_cast<const char *>(data), size);
  absl::StatusOr<std::unique_ptr<kiln::GraphSource>> source =
      kiln::ParseOnnxSource(bytes, "/nonexistent-kiln-fuzz", "fuzz.onnx");
  if (!source.ok())
    return 0;
  (void)(*source)->Import((*source)->AllFetchable(), *context);
  (void)(*source)->Import({}, *context);
  return 0;
}
