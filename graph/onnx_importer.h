//===- onnx_importer.h - ONNX models to the kiln dialect --------*- C++ -*-===//
//
// Part of Kiln. Reads ONNX ModelProtos through Debian's libonnx. For opsets
// libonnx knows (up to 17) the model is first checked by ONNX's checker,
// each node against its op schema, and attribute defaults come from those
// schemas. ONNX's shape inference is not run (libonnx 1.12's crashes on
// some malformed models): Kiln infers every type itself, for every opset,
// and checks it against the types the model declares. Unsupported nodes
// are all reported at once, before anything compiles.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_ONNX_IMPORTER_H
#define KILN_GRAPH_ONNX_IMPORTER_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/tensor.h"

namespace kiln {

class GraphSource;

/// Loads an .onnx file; tensors stored outside it (external data) are read
/// from the file's directory. Unsupported ops or types give an
/// Unimplemented status that lists every such node.
absl::StatusOr<std::unique_ptr<GraphSource>>
LoadOnnxSource(const std::string &path);

/// The same from the bytes of a ModelProto; `base_dir` resolves external
/// data.
absl::StatusOr<std::unique_ptr<GraphSource>>
ParseOnnxSource(const std::string &bytes, const std::string &base_dir,
                const std::string &source_name);

/// Reads a serialized onnx.TensorProto (the .pb files of ONNX's test data).
absl::StatusOr<Tensor> ReadOnnxTensorFile(const std::string &path);

} // namespace kiln

#endif // KILN_GRAPH_ONNX_IMPORTER_H
