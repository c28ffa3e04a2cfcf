//===- Targets.cc - The target backends Kiln has --------------------------===//
//
// Part of Kiln. One line per backend.
//
//===----------------------------------------------------------------------===//
#include "codegen/TargetBackend.h"
#include "codegen/cpu/CpuBackend.h"

namespace kiln {

const TargetBackend *FindTargetBackend(const std::string &name) {
  static const CpuBackend cpu;
  if (name == cpu.name())
    return &cpu;
  return nullptr;
}

std::vector<std::string> TargetBackendNames() { return {"cpu"}; }

} // namespace kiln
