//===- Jit.h - In-process CPU compilation -----------------------*- C++ -*-===//
//
// Part of Kiln. Turns a module in the LLVM dialect into machine code with
// LLVM's ORC JIT, or into textual LLVM IR.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_JIT_H
#define KILN_CODEGEN_CPU_JIT_H

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace kiln {

/// Functions compiled by the JIT.
struct JitModule {
  /// The packed entry points (args[i] points to the i-th argument), in the
  /// order they were asked for.
  std::vector<void (*)(void **)> entries;
  /// Owns the machine code (the JIT's engine); keep it while `entries` are
  /// used.
  std::shared_ptr<const void> code;
};

/// JIT-compiles `module` (LLVM dialect) for the host CPU at LLVM's -O3
/// (the optimizer and the code generator both) and returns the packed
/// entry points of functions `names`.
absl::StatusOr<JitModule> JitCompile(mlir::ModuleOp module,
                                     const std::vector<std::string> &names);

/// Translates `module` (LLVM dialect) to LLVM IR text.
absl::StatusOr<std::string> TranslateToLlvmIr(mlir::ModuleOp module);

/// Registers the translations JitCompile and TranslateToLlvmIr need in the
/// module's context; call before either.
void RegisterLlvmTranslations(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_JIT_H
