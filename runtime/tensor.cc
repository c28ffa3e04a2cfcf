//===- tensor.cc - Dense host tensors -------------------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "runtime/tensor.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"

namespace kiln {

namespace {

constexpr DTypeInfo kInvalidInfo = {
    DType::kInvalid, "invalid", "DT_INVALID", 0, DTypeKind::kInvalid, 0, 0};

} // namespace

const std::vector<DTypeInfo> &AllDTypes() {
  static const std::vector<DTypeInfo> *table = new std::vector<DTypeInfo>{
      {DType::kF32, "f32", "DT_FLOAT", 1, DTypeKind::kFloat, 32, 4},
      {DType::kF64, "f64", "DT_DOUBLE", 11, DTypeKind::kFloat, 64, 8},
      {DType::kI32, "i32", "DT_INT32", 6, DTypeKind::kSigned, 32, 4},
      {DType::kI64, "i64", "DT_INT64", 7, DTypeKind::kSigned, 64, 8},
      {DType::kBool, "bool", "DT_BOOL", 9, DTypeKind::kBool, 1, 1},
      {DType::kF16, "f16", "DT_HALF", 10, DTypeKind::kFloat, 16, 2},
      {DType::kBF16, "bf16", "DT_BFLOAT16", 16, DTypeKind::kBFloat, 16, 2},
      {DType::kI8, "i8", "DT_INT8", 3, DTypeKind::kSigned, 8, 1},
      {DType::kI16, "i16", "DT_INT16", 5, DTypeKind::kSigned, 16, 2},
      {DType::kU8, "u8", "DT_UINT8", 2, DTypeKind::kUnsigned, 8, 1},
      {DType::kU16, "u16", "DT_UINT16", 4, DTypeKind::kUnsigned, 16, 2},
      {DType::kU32, "u32", "DT_UINT32", 12, DTypeKind::kUnsigned, 32, 4},
      {DType::kU64, "u64", "DT_UINT64", 13, DTypeKind::kUnsigned, 64, 8},
  };
  return *table;
}

const DTypeInfo &DTypeInfoOf(DType dtype) {
  for (const DTypeInfo &info : AllDTypes())
    if (info.dtype == dtype)
      return info;
  return kInvalidInfo;
}

DType DTypeFromOnnx(int onnx_code) {
  for (const DTypeInfo &info : AllDTypes())
    if (info.onnx == onnx_code)
      return info.dtype;
  return DType::kInvalid;
}

int64_t DTypeSize(DType dtype) { return DTypeInfoOf(dtype).bytes; }

std::string DTypeName(DType dtype) { return DTypeInfoOf(dtype).name; }

float HalfToFloat(uint16_t bits) {
  uint32_t sign = (bits & 0x8000u) << 16, exponent = (bits >> 10) & 0x1f,
           mantissa = bits & 0x3ff, out;
  if (exponent == 0x1f) { // inf or NaN
    out = sign | 0x7f800000u | (mantissa << 13);
  } else if (exponent != 0) {
    out = sign | ((exponent + 112) << 23) | (mantissa << 13);
  } else if (mantissa == 0) {
    out = sign;
  } else { // subnormal: normalize
    exponent = 113;
    while (!(mantissa & 0x400)) {
      mantissa <<= 1;
      --exponent;
    }
    out = sign | (exponent << 23) | ((mantissa & 0x3ff) << 13);
  }
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

float BFloat16ToFloat(uint16_t bits) {
  uint32_t out = uint32_t{bits} << 16;
  float f;
  std::memcpy(&f, &out, sizeof f);
  return f;
}

absl::StatusOr<int64_t> NumElements(const std::vector<int64_t> &shape) {
  int64_t n = 1;
  for (int64_t d : shape) {
    if (d < 0)
      return absl::InvalidArgumentError(
          absl::StrCat("negative dimension in shape ", ShapeToString(shape)));
    if (d != 0 && n > std::numeric_limits<int64_t>::max() / d)
      return absl::InvalidArgumentError(absl::StrCat(
          "shape ", ShapeToString(shape), " has too many elements"));
    n *= d;
  }
  return n;
}

std::string ShapeToString(const std::vector<int64_t> &shape) {
  return absl::StrCat("[", absl::StrJoin(shape, ","), "]");
}

std::string Tensor::TypeString() const {
  return DTypeName(dtype_) + ShapeToString(shape_);
}

double Tensor::ElementAsDouble(int64_t i) const {
  switch (dtype_) {
  case DType::kF32:
    return data<float>()[i];
  case DType::kF64:
    return data<double>()[i];
  case DType::kI32:
    return data<int32_t>()[i];
  case DType::kI64:
    return static_cast<double>(data<int64_t>()[i]);
  case DType::kBool:
  case DType::kU8:
    return data<uint8_t>()[i];
  case DType::kI8:
    return data<int8_t>()[i];
  case DType::kI16:
    return data<int16_t>()[i];
  case DType::kF16:
    return HalfToFloat(data<uint16_t>()[i]);
  case DType::kBF16:
    return BFloat16ToFloat(data<uint16_t>()[i]);
  case DType::kU16:
    return data<uint16_t>()[i];
  case DType::kU32:
    return data<uint32_t>()[i];
  case DType::kU64:
    return static_cast<double>(data<uint64_t>()[i]);
  case DType::kInvalid:
    break;
  }
  return 0;
}

std::string Tensor::ValuesString(int64_t max_elements) const {
  auto element = [&](int64_t i) -> std::string {
    switch (dtype_) {
    case DType::kF32:
      return absl::StrCat(data<float>()[i]);
    case DType::kF64:
      return absl::StrCat(data<double>()[i]);
    case DType::kI32:
      return absl::StrCat(data<int32_t>()[i]);
    case DType::kI64:
      return absl::StrCat(data<int64_t>()[i]);
    case DType::kI8:
      return absl::StrCat(data<int8_t>()[i]);
    case DType::kI16:
      return absl::StrCat(data<int16_t>()[i]);
    case DType::kF16:
      return absl::StrCat(HalfToFloat(data<uint16_t>()[i]));
    case DType::kBF16:
      return absl::StrCat(BFloat16ToFloat(data<uint16_t>()[i]));
    case DType::kU8:
      return absl::StrCat(data<uint8_t>()[i]);
    case DType::kU16:
      return absl::StrCat(data<uint16_t>()[i]);
    case DType::kU32:
      return absl::StrCat(data<uint32_t>()[i]);
    case DType::kU64:
      return absl::StrCat(data<uint64_t>()[i]);
    case DType::kBool:
      return static_cast<const uint8_t *>(data_)[i] ? "true" : "false";
    default:
      return "?";
    }
  };
  if (shape_.empty())
    return element(0);
  std::string out;
  int64_t printed = 0, index = 0;
  // Walks the elements in order, opening and closing brackets at the
  // boundaries of each dimension.
  std::vector<int64_t> counter(shape_.size(), 0);
  out.append(shape_.size(), '[');
  if (num_elements_ == 0) {
    out.append(shape_.size(), ']');
    return out;
  }
  while (true) {
    if (printed == max_elements) {
      out += "...";
      out.append(shape_.size(), ']'); // every level is open mid-walk
      return out;
    }
    out += element(index++);
    ++printed;
    int d = static_cast<int>(shape_.size()) - 1;
    while (d >= 0 && ++counter[d] == shape_[d]) {
      counter[d] = 0;
      out += ']';
      --d;
    }
    if (d < 0)
      return out;
    out += ", ";
    out.append(shape_.size() - 1 - d, '[');
  }
}

absl::StatusOr<Tensor> Tensor::Allocate(DType dtype,
                                        std::vector<int64_t> shape) {
  absl::StatusOr<Tensor> t = AllocateUninitialized(dtype, std::move(shape));
  if (t.ok())
    std::memset(t->data_, 0, std::max<int64_t>(t->size_bytes(), 1));
  return t;
}

absl::StatusOr<Tensor>
Tensor::AllocateUninitialized(DType dtype, std::vector<int64_t> shape) {
  if (dtype != DType::kF32 && dtype != DType::kF64 && dtype != DType::kI32 &&
      dtype != DType::kI64 && dtype != DType::kBool && dtype != DType::kI8 &&
      dtype != DType::kI16 && dtype != DType::kU8 && dtype != DType::kU16 &&
      dtype != DType::kU32 && dtype != DType::kU64 && dtype != DType::kF16 &&
      dtype != DType::kBF16)
    return absl::InvalidArgumentError(
        absl::StrCat("unsupported element type ", DTypeName(dtype)));
  absl::StatusOr<int64_t> n = NumElements(shape);
  if (!n.ok())
    return n.status();
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.num_elements_ = *n;
  int64_t bytes = std::max<int64_t>(t.size_bytes(), 1);
  t.owned_ = std::shared_ptr<uint8_t[]>(new (std::nothrow) uint8_t[bytes]);
  if (!t.owned_)
    return absl::ResourceExhaustedError(
        absl::StrCat("cannot allocate ", bytes, " bytes for a tensor"));
  t.data_ = t.owned_.get();
  return t;
}

absl::StatusOr<Tensor> Tensor::Borrow(DType dtype, std::vector<int64_t> shape,
                                      void *data) {
  absl::StatusOr<int64_t> n = NumElements(shape);
  if (!n.ok())
    return n.status();
  if (data == nullptr && *n != 0)
    return absl::InvalidArgumentError("Tensor::Borrow: null data pointer");
  if (DTypeSize(dtype) == 0)
    return absl::InvalidArgumentError("Tensor::Borrow: invalid dtype");
  Tensor t;
  t.dtype_ = dtype;
  t.shape_ = std::move(shape);
  t.num_elements_ = *n;
  t.data_ = data;
  return t;
}

} // namespace kiln
