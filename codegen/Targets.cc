//===- Targets.cc - The target backends Kiln has --------------------------===//
//
// Part of Kiln. One line per backend.
//
//===----------------------------------------------------------------------===//
#include "codegen/TargetBackend.h"
#include "codegen/cpu/CpuBackend.h"
#include "codegen/cuda/CudaBackend.h"

namespace kiln {

const TargetBackend *FindTargetBackend(const std::string &name) {
  static const CpuBackend cpu;
  static const CudaBackend cuda;
  static const CudaOnCpuBackend cuda_on_cpu;
  for (const TargetBackend *backend :
       std::initializer_list<const TargetBackend *>{&cpu, &cuda, &cuda_on_cpu})
    if (name == backend->name())
      return backend;
  return nullptr;
}

std::vector<std::string> TargetBackendNames() {
  return {"cpu", "cuda", "cuda-on-cpu"};
}

} // namespace kiln
