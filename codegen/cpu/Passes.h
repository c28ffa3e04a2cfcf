//===- Passes.h - The CPU backend's passes ----------------------*- C++ -*-===//
//
// Part of Kiln. Declared in codegen/cpu/Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_PASSES_H
#define KILN_CODEGEN_CPU_PASSES_H

#include <memory>

#include "mlir/Pass/Pass.h"

namespace mlir::linalg {
class GenericOp;
} // namespace mlir::linalg

namespace kiln {

#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

/// Whether `op`'s body is `out + in0 * in1` (in either order): the
/// contractions kiln-cpu-vectorize-contractions turns into microkernels.
bool isMultiplyAccumulate(mlir::linalg::GenericOp op);

/// The vectors one block of the contraction microkernel spans along its
/// columns (kiln-cpu-vectorize-contractions' NV), on a target with
/// `registers` vector registers; kiln-cpu-pack-weights' panels are as wide.
inline int64_t microkernelVectors(int64_t registers) {
  return registers >= 32 ? 4 : 3;
}

} // namespace kiln

#endif // KILN_CODEGEN_CPU_PASSES_H
