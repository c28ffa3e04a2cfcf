//===- tensor.h - Dense host tensors --------------------------------------===//
//
// Part of Kiln. A Tensor is a dense, C-ordered array with an element type and
// a static shape. It either owns its memory (shared between copies, so
// copying a Tensor is cheap) or borrows memory that the caller keeps alive.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_TENSOR_H
#define KILN_RUNTIME_TENSOR_H

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

/// Element types. The numbering matches graph.proto's DataType.
enum class DType : int {
  kInvalid = 0,
  kF32 = 1,
  kF64 = 2,
  kI32 = 3,
  kI64 = 4,
  kBool = 5, ///< One byte per element, 0 or 1.
  kF16 = 6,  ///< IEEE half precision.
  kBF16 = 7, ///< bfloat16.
  kI8 = 8,
  kI16 = 9,
  kU8 = 10,
  kU16 = 11,
  kU32 = 12,
  kU64 = 13,
};

/// What kind of number an element holds.
enum class DTypeKind { kInvalid, kFloat, kBFloat, kSigned, kUnsigned, kBool };

/// Everything Kiln knows of an element type, in one table
/// (runtime/tensor.cc) that GraphDef, ONNX, MLIR and the runtime all read:
/// there is no other mapping between them.
struct DTypeInfo {
  DType dtype;
  const char *name;     ///< "f32": messages and .npy descriptions.
  const char *graphdef; ///< graph.proto's DataType name: "DT_FLOAT".
  int onnx;             ///< onnx.TensorProto.DataType code (FLOAT = 1).
  DTypeKind kind;
  int bits;  ///< Bit width of the MLIR element type (1 for bool).
  int bytes; ///< Storage per element (a bool takes a byte).
};

/// The entry of `dtype` (kInvalid's for a value outside the enum).
const DTypeInfo &DTypeInfoOf(DType dtype);
/// Every supported element type (kInvalid excluded).
const std::vector<DTypeInfo> &AllDTypes();
/// The element type of an ONNX TensorProto.DataType code; kInvalid when
/// Kiln does not support it (strings, complex, 8-bit floats).
DType DTypeFromOnnx(int onnx_code);

/// Bytes per element; 0 for kInvalid.
int64_t DTypeSize(DType dtype);
/// "f32", "f64", "i32", "i64", "bool", "f16", "bf16", "u8", ...
std::string DTypeName(DType dtype);

/// The float value of an f16 or bf16 bit pattern.
float HalfToFloat(uint16_t bits);
float BFloat16ToFloat(uint16_t bits);

/// Product of the dimensions, or an error when a dimension is negative or
/// the product overflows int64.
absl::StatusOr<int64_t> NumElements(const std::vector<int64_t> &shape);
/// "[2,3]"; "[]" for a scalar.
std::string ShapeToString(const std::vector<int64_t> &shape);

template <typename T> struct DTypeOf;
template <> struct DTypeOf<float> {
  static constexpr DType value = DType::kF32;
};
template <> struct DTypeOf<double> {
  static constexpr DType value = DType::kF64;
};
template <> struct DTypeOf<int32_t> {
  static constexpr DType value = DType::kI32;
};
template <> struct DTypeOf<int64_t> {
  static constexpr DType value = DType::kI64;
};
template <> struct DTypeOf<int8_t> {
  static constexpr DType value = DType::kI8;
};
template <> struct DTypeOf<int16_t> {
  static constexpr DType value = DType::kI16;
};
template <> struct DTypeOf<uint8_t> {
  static constexpr DType value = DType::kU8;
};
template <> struct DTypeOf<uint16_t> {
  static constexpr DType value = DType::kU16;
};
template <> struct DTypeOf<uint32_t> {
  static constexpr DType value = DType::kU32;
};
template <> struct DTypeOf<uint64_t> {
  static constexpr DType value = DType::kU64;
};
template <> struct DTypeOf<bool> {
  static constexpr DType value = DType::kBool;
};

class Tensor {
public:
  /// An empty tensor of dtype kInvalid.
  Tensor() = default;

  /// Allocates a zero-filled tensor.
  static absl::StatusOr<Tensor> Allocate(DType dtype,
                                         std::vector<int64_t> shape);
  /// Allocates a tensor whose elements are left unset, for a result the
  /// caller writes in full (a run's fetches): filling megabytes with
  /// zeros only to overwrite them costs a memset and, on fresh pages, a
  /// page fault per 4 KiB.
  static absl::StatusOr<Tensor>
  AllocateUninitialized(DType dtype, std::vector<int64_t> shape);
  /// Wraps memory the caller owns and keeps alive while the tensor is used.
  static absl::StatusOr<Tensor> Borrow(DType dtype, std::vector<int64_t> shape,
                                       void *data);
  /// Copies `values` into a new tensor; sizes must match.
  template <typename T>
  static absl::StatusOr<Tensor> FromVector(std::vector<int64_t> shape,
                                           const std::vector<T> &values);

  DType dtype() const { return dtype_; }
  const std::vector<int64_t> &shape() const { return shape_; }
  int64_t num_elements() const { return num_elements_; }
  int64_t size_bytes() const { return num_elements_ * DTypeSize(dtype_); }
  bool owns_memory() const { return owned_ != nullptr; }

  void *raw_data() { return data_; }
  const void *raw_data() const { return data_; }
  /// Typed access; the caller must ask for the tensor's own dtype.
  template <typename T> T *data() { return static_cast<T *>(data_); }
  template <typename T> const T *data() const {
    return static_cast<const T *>(data_);
  }

  /// "f32[2,3]".
  std::string TypeString() const;
  /// Element `i` (C order) as a double, whatever the dtype (a bool is 0 or
  /// 1; 64-bit integers beyond 2^53 round). For comparisons and messages.
  double ElementAsDouble(int64_t i) const;
  /// The values, nested as NumPy prints them: "[[1, 2], [3, 4]]"; after
  /// `max_elements` values the rest is elided as "...".
  std::string ValuesString(int64_t max_elements = 64) const;

private:
  DType dtype_ = DType::kInvalid;
  std::vector<int64_t> shape_;
  int64_t num_elements_ = 0;
  std::shared_ptr<uint8_t[]> owned_;
  void *data_ = nullptr;
};

template <typename T>
absl::StatusOr<Tensor> Tensor::FromVector(std::vector<int64_t> shape,
                                          const std::vector<T> &values) {
  absl::StatusOr<Tensor> t = Allocate(DTypeOf<T>::value, std::move(shape));
  if (!t.ok())
    return t.status();
  if (static_cast<int64_t>(values.size()) != t->num_elements())
    return absl::InvalidArgumentError(
        "Tensor::FromVector: " + std::to_string(values.size()) +
        " values for shape " + ShapeToString(t->shape()));
  T *out = t->data<T>();
  for (size_t i = 0; i < values.size(); ++i)
    out[i] = values[i];
  return t;
}

} // namespace kiln

#endif // KILN_RUNTIME_TENSOR_H
