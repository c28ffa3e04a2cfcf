//===- Passes.h - Target-independent codegen passes -------------*- C++ -*-===//
//
// Part of Kiln. Declared in codegen/common/Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMMON_PASSES_H
#define KILN_CODEGEN_COMMON_PASSES_H

#include <memory>

#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "codegen/common/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/common/Passes.h.inc"

} // namespace kiln

#endif // KILN_CODEGEN_COMMON_PASSES_H
