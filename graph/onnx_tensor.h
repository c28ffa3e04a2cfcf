//===- onnx_tensor.h - ONNX tensors and element types -----------*- C++ -*-===//
//
// Part of Kiln. Internal to graph/: decoding onnx.TensorProto (raw or typed
// data, or external data beside the model) and naming ONNX's element types.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_ONNX_TENSOR_H
#define KILN_GRAPH_ONNX_TENSOR_H

#include <string>

#include "absl/status/statusor.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "onnx/onnx_pb.h"

namespace kiln {

/// onnx.TensorProto.DataType to an MLIR element type; null if unsupported.
mlir::Type OnnxElementType(int data_type, mlir::MLIRContext &context);
/// "FLOAT", "INT8", ...
std::string OnnxTypeName(int data_type);

/// Decodes a TensorProto (raw or typed data, or external data under
/// `base_dir`) into a dense attribute. Unimplemented for element types
/// Kiln does not support, InvalidArgument for malformed tensors.
absl::StatusOr<mlir::DenseElementsAttr>
OnnxTensorToAttr(const onnx::TensorProto &proto, const std::string &base_dir,
                 mlir::MLIRContext &context);

/// The bytes of the file at `path`; `*ok` says whether it could be read.
std::string ReadWholeFile(const std::string &path, bool *ok);
/// The directory of `path` ("." for a bare file name).
std::string DirName(const std::string &path);

} // namespace kiln

#endif // KILN_GRAPH_ONNX_TENSOR_H
