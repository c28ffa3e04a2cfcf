//===- cuda_code.h - What a cuda artifact's code holds ----------*- C++ -*-===//
//
// Part of Kiln. For --target=cuda, an artifact's code is not a shared
// object but this: the GPU kernels as PTX (and as a cubin for the chip,
// when ptxas was there at compile time), and for each kernel of the launch
// plan the GPU launches that make it, in order. No CUDA header is needed
// to read or write it.
//
// The bytes (little-endian): magic "KILNCUDA", format version (u32), the
// chip (string), the PTX (string), the cubin (string, may be empty), the
// number of kernels (u32), then per kernel the number of launches (u32)
// and per launch its function (string), its threads (i64) and threads per
// block (u32), and whether it is a matmul (u8); a matmul then has batch, m,
// n, k (i64), A, B and C (each buffer i32, offset, batch, rows, cols i64),
// the bias (buffer i32, offset i64), relu and accumulate (u8 each). A
// string is its length (u32) and its bytes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_CODE_H
#define KILN_RUNTIME_CUDA_CODE_H

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

/// A matrix of a library matmul: in the kernel's buffer `buffer` (its
/// index among the kernel's buffers), element (r, c) of batch item i at
/// element offset + i * batch + r * rows + c * cols. One of rows and cols
/// is 1 (row-major or transposed); batch may be 0 (one matrix for all).
struct CudaMatrix {
  int32_t buffer = -1;
  int64_t offset = 0, batch = 0, rows = 0, cols = 0;
};

/// C = A B (C += A B when `accumulate`) in f32 for each of `batch` items,
/// A m x k, B k x n, C m x n; then, when `bias` is set, C[r][c] +=
/// bias[c] (bias.buffer and bias.offset; its other fields unused), then
/// max(C, 0) when `relu`. The runtime runs it with cuBLASLt, the cuda-on-
/// cpu target with loops on the host.
struct CudaMatmul {
  int64_t batch = 1, m = 0, n = 0, k = 0;
  CudaMatrix a, b, c, bias;
  bool relu = false;
  bool accumulate = false;
  /// Products on TF32 tensor cores (10-bit mantissas), sums in f32
  /// (`--allow-tf32`); otherwise f32 throughout.
  bool tf32 = false;
};

/// One launch of a GPU function: ceil(threads / block) blocks of `block`
/// threads, each function taking its kernel's buffers (device pointers);
/// or, when `matmul` is set (and `function` names it for messages), a
/// library matmul on those buffers.
struct CudaLaunch {
  std::string function;
  int64_t threads = 0;
  int32_t block = 1;
  std::optional<CudaMatmul> matmul;
};

struct CudaCode {
  std::string chip; ///< "sm_90".
  std::string ptx;
  std::string cubin; ///< For `chip`; empty when ptxas was not found.
  /// Per kernel of the launch plan (by table index), its launches.
  std::vector<std::vector<CudaLaunch>> kernels;
};

std::string SerializeCudaCode(const CudaCode &code);
/// A DataLoss error for bytes that are not a CudaCode.
absl::StatusOr<CudaCode> ParseCudaCode(std::string_view bytes);

} // namespace kiln

#endif // KILN_RUNTIME_CUDA_CODE_H
