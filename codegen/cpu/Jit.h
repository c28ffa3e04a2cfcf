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

#include "absl/status/statusor.h"

namespace mlir {
class ExecutionEngine;
class ModuleOp;
} // namespace mlir

namespace kiln {

/// Machine code for @main. Call() may run from several threads at once: the
/// generated code keeps no state between calls.
class CpuExecutable {
public:
  CpuExecutable(std::unique_ptr<mlir::ExecutionEngine> engine,
                void (*entry)(void **));
  ~CpuExecutable();

  /// `args[i]` points to the i-th pointer argument of @main (feeds, then
  /// fetches).
  void Call(void **args) const { entry_(args); }

private:
  std::unique_ptr<mlir::ExecutionEngine> engine_;
  void (*entry_)(void **);
};

/// JIT-compiles `module` (LLVM dialect) at -O2 for the host CPU.
absl::StatusOr<std::unique_ptr<CpuExecutable>>
JitCompile(mlir::ModuleOp module);

/// Translates `module` (LLVM dialect) to LLVM IR text.
absl::StatusOr<std::string> TranslateToLlvmIr(mlir::ModuleOp module);

/// Registers the translations JitCompile and TranslateToLlvmIr need in the
/// module's context; call before either.
void RegisterLlvmTranslations(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_JIT_H
