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
// block (u32). A string is its length (u32) and its bytes.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_CODE_H
#define KILN_RUNTIME_CUDA_CODE_H

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "absl/status/statusor.h"

namespace kiln {

/// One launch of a GPU function: ceil(threads / block) blocks of `block`
/// threads, each function taking its kernel's buffers (device pointers).
struct CudaLaunch {
  std::string function;
  int64_t threads = 0;
  int32_t block = 1;
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
