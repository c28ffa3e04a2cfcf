//===- cuda_device.h - Running launch plans on an NVIDIA GPU ----*- C++ -*-===//
//
// Part of Kiln. The CUDA driver (libcuda.so.1) is loaded with dlopen when a
// cuda artifact is loaded, so that every binary builds and runs on a
// machine with no GPU, no driver and no CUDA toolkit; only loading a cuda
// artifact there fails, with an Unavailable error that starts "no CUDA
// device". $KILN_CUDA_DRIVER names another driver library to load (a test
// double, a driver outside the loader's path). No CUDA header is included:
// the few driver entry points used are declared in cuda_device.cc.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_RUNTIME_CUDA_DEVICE_H
#define KILN_RUNTIME_CUDA_DEVICE_H

#include <memory>
#include <string>

#include "absl/status/statusor.h"
#include "runtime/cuda_code.h"
#include "runtime/executable.h"

namespace kiln {

/// OK when a CUDA driver and at least one device are there; else an
/// Unavailable error that says which is missing ("no CUDA device: ...").
absl::Status CudaAvailable();

/// The first CUDA device's name and architecture ("NVIDIA H200, sm_90"),
/// or the error of CudaAvailable.
absl::StatusOr<std::string> CudaDeviceDescription();

/// Loads `code` on the first CUDA device for `plan` (which must be the
/// plan the code was compiled with): the cubin when it is for the device's
/// architecture, else the PTX, which the driver compiles. Device memory
/// for the constants (copied once), the arena, the feeds and the fetches
/// is allocated here, once. A FailedPrecondition error when the device is
/// older than the code's chip.
absl::StatusOr<std::shared_ptr<Device>>
LoadCudaDevice(const Signature &signature, const LaunchPlan &plan,
               const CudaCode &code);

} // namespace kiln

#endif // KILN_RUNTIME_CUDA_DEVICE_H
