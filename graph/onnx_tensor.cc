//===- onnx_tensor.cc - ONNX tensors and element types --------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "graph/onnx_tensor.h"

#include <cstring>
#include <fstream>
#include <sstream>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/importer.h"
#include "graph/onnx_importer.h"
#include "runtime/tensor.h"

namespace kiln {

std::string ReadWholeFile(const std::string &path, bool *ok) {
  std::ifstream in(path, std::ios::binary);
  *ok = static_cast<bool>(in);
  std::stringstream buffer;
  buffer << in.rdbuf();
  return buffer.str();
}

std::string DirName(const std::string &path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : path.substr(0, slash);
}

namespace {

/// How many values `proto` holds in the typed field that `dtype` is stored
/// in (ONNX keeps the narrower integers, bool and the 16-bit floats' bit
/// patterns in int32_data).
int64_t ValuesInFields(const onnx::TensorProto &proto, DType dtype) {
  switch (dtype) {
  case DType::kF32:
    return proto.float_data_size();
  case DType::kF64:
    return proto.double_data_size();
  case DType::kI64:
    return proto.int64_data_size();
  case DType::kU32:
  case DType::kU64:
    return proto.uint64_data_size();
  default:
    return proto.int32_data_size();
  }
}

/// Decodes a TensorProto into a host tensor.
absl::StatusOr<Tensor> DecodeTensor(const onnx::TensorProto &proto,
                                    const std::string &base_dir) {
  DType dtype = DTypeFromOnnx(proto.data_type());
  if (dtype == DType::kInvalid)
    return absl::UnimplementedError(absl::StrCat(
        "element type ", OnnxTypeName(proto.data_type()), " is not supported"));
  std::vector<int64_t> shape(proto.dims().begin(), proto.dims().end());
  absl::StatusOr<int64_t> n = NumElements(shape);
  if (!n.ok())
    return n.status();
  if (!ShapeWithinLimit(shape, kMaxConstantElements))
    return absl::InvalidArgumentError(absl::StrCat(
        "tensor '", proto.name(), "' of shape ", ShapeToString(shape),
        " is larger than Kiln's limit of 2^31 elements for a constant"));
  int64_t bytes = *n * DTypeSize(dtype);
  std::string external;
  const std::string *raw = proto.has_raw_data() ? &proto.raw_data() : nullptr;
  if (proto.data_location() == onnx::TensorProto::EXTERNAL) {
    std::string location;
    int64_t offset = 0, length = -1;
    for (const onnx::StringStringEntryProto &e : proto.external_data()) {
      if (e.key() == "location") {
        location = e.value();
      } else if (e.key() == "offset" || e.key() == "length") {
        int64_t v;
        if (!absl::SimpleAtoi(e.value(), &v) || v < 0)
          return absl::InvalidArgumentError(
              absl::StrCat("tensor '", proto.name(), "': external data ",
                           e.key(), " '", e.value(), "' is not a count"));
        (e.key() == "offset" ? offset : length) = v;
      }
    }
    if (location.empty() || location.find("..") != std::string::npos ||
        location[0] == '/')
      return absl::InvalidArgumentError(
          absl::StrCat("tensor '", proto.name(),
                       "': bad external data location '", location, "'"));
    bool ok;
    std::string file = ReadWholeFile(base_dir + "/" + location, &ok);
    if (!ok)
      return absl::NotFoundError(absl::StrCat(
          "tensor '", proto.name(), "': cannot read external data file ",
          base_dir, "/", location));
    if (length < 0)
      length = static_cast<int64_t>(file.size()) - offset;
    if (offset < 0 || offset > static_cast<int64_t>(file.size()) ||
        length > static_cast<int64_t>(file.size()) - offset)
      return absl::InvalidArgumentError(absl::StrCat(
          "tensor '", proto.name(), "': external data out of range"));
    external = file.substr(offset, length);
    raw = &external;
  }
  // The values present must match the shape before anything is allocated
  // for it (a shape of 10^9 with no values would allocate gigabytes).
  int64_t count = raw ? static_cast<int64_t>(raw->size()) / DTypeSize(dtype)
                      : ValuesInFields(proto, dtype);
  if ((raw && static_cast<int64_t>(raw->size()) != bytes) ||
      (!raw && count != *n))
    return absl::InvalidArgumentError(
        absl::StrCat("tensor '", proto.name(), "' has ", count,
                     " values for shape ", ShapeToString(shape)));
  absl::StatusOr<Tensor> t = Tensor::Allocate(dtype, shape);
  if (!t.ok())
    return t.status();
  if (raw) {
    std::memcpy(t->raw_data(), raw->data(), bytes);
    return t;
  }
  auto copy = [&](const auto &field, auto *out) -> absl::Status {
    for (int64_t i = 0; i < *n; ++i)
      out[i] = static_cast<std::remove_pointer_t<decltype(out)>>(field[i]);
    return absl::OkStatus();
  };
  absl::Status s;
  switch (dtype) {
  case DType::kF32:
    s = copy(proto.float_data(), t->data<float>());
    break;
  case DType::kF64:
    s = copy(proto.double_data(), t->data<double>());
    break;
  case DType::kI32:
    s = copy(proto.int32_data(), t->data<int32_t>());
    break;
  case DType::kI64:
    s = copy(proto.int64_data(), t->data<int64_t>());
    break;
  case DType::kBool:
    s = copy(proto.int32_data(), t->data<uint8_t>());
    break;
  case DType::kI8:
    s = copy(proto.int32_data(), t->data<int8_t>());
    break;
  case DType::kI16:
    s = copy(proto.int32_data(), t->data<int16_t>());
    break;
  case DType::kF16:
  case DType::kBF16: // the bit patterns, in int32_data
    s = copy(proto.int32_data(), t->data<uint16_t>());
    break;
  case DType::kU8:
    s = copy(proto.int32_data(), t->data<uint8_t>());
    break;
  case DType::kU16:
    s = copy(proto.int32_data(), t->data<uint16_t>());
    break;
  case DType::kU32:
    s = copy(proto.uint64_data(), t->data<uint32_t>());
    break;
  case DType::kU64:
    s = copy(proto.uint64_data(), t->data<uint64_t>());
    break;
  default:
    break;
  }
  if (!s.ok())
    return s;
  return t;
}

} // namespace

mlir::Type OnnxElementType(int data_type, mlir::MLIRContext &context) {
  return DTypeToMlir(DTypeFromOnnx(data_type), context);
}

std::string OnnxTypeName(int data_type) {
  if (onnx::TensorProto::DataType_IsValid(data_type))
    return onnx::TensorProto::DataType_Name(
        static_cast<onnx::TensorProto::DataType>(data_type));
  return absl::StrCat("<", data_type, ">");
}

absl::StatusOr<mlir::DenseElementsAttr>
OnnxTensorToAttr(const onnx::TensorProto &proto, const std::string &base_dir,
                 mlir::MLIRContext &context) {
  absl::StatusOr<Tensor> t = DecodeTensor(proto, base_dir);
  if (!t.ok())
    return t.status();
  auto type =
      mlir::RankedTensorType::get(t->shape(), DTypeToMlir(t->dtype(), context));
  if (t->dtype() == DType::kBool) {
    llvm::SmallVector<bool> values;
    for (int64_t i = 0; i < t->num_elements(); ++i)
      values.push_back(t->data<uint8_t>()[i] != 0);
    return mlir::DenseElementsAttr::get(type, llvm::ArrayRef<bool>(values));
  }
  llvm::ArrayRef<char> raw(static_cast<const char *>(t->raw_data()),
                           t->size_bytes());
  return mlir::DenseElementsAttr::getFromRawBuffer(type, raw);
}

absl::StatusOr<Tensor> ReadOnnxTensorFile(const std::string &path) {
  bool ok;
  std::string bytes = ReadWholeFile(path, &ok);
  if (!ok)
    return absl::NotFoundError(absl::StrCat(path, ": cannot open file"));
  onnx::TensorProto proto;
  if (!proto.ParseFromString(bytes))
    return absl::InvalidArgumentError(
        absl::StrCat(path, ": not a serialized onnx.TensorProto"));
  absl::StatusOr<Tensor> t = DecodeTensor(proto, DirName(path));
  if (!t.ok())
    return absl::Status(t.status().code(),
                        absl::StrCat(path, ": ", t.status().message()));
  return t;
}

} // namespace kiln
