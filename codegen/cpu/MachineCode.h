//===- MachineCode.h - Kernels in the LLVM dialect to machine code -*- C++ -*-//
//
// Part of Kiln. The CPU backend's last step: the kernels (LLVM dialect) are
// translated to LLVM IR, given packed entry points, optimized at -O3 for
// the target machine and emitted as an ELF object, which LLD (linked in as
// a library) links into the shared object an artifact carries. The same
// code serves the in-process compile, `-o model.kiln` and `--emit=obj`.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_MACHINECODE_H
#define KILN_CODEGEN_CPU_MACHINECODE_H

#include <string>
#include <utility>
#include <vector>

#include "absl/status/statusor.h"
#include "runtime/artifact.h"

namespace mlir {
class ModuleOp;
} // namespace mlir

namespace kiln {

/// The machine code is for; empty fields mean the host.
struct CpuTargetOptions {
  std::string triple; ///< "aarch64-linux-gnu", "x86_64-linux-gnu", ...
  /// "x86-64-v3", "znver4", "neoverse-v1", ...; with the host's triple and
  /// no CPU, the host's CPU and every feature it has.
  std::string cpu;
};

/// The target `options` describe, as an artifact records it: the triple,
/// the CPU and the features of CheckableCpuFeatures() it has. An unknown
/// triple or CPU is an InvalidArgument error listing how to find valid
/// ones.
absl::StatusOr<TargetDescription>
DescribeCpuTarget(const CpuTargetOptions &options);

/// What EmitObjects puts in the object besides the kernels.
struct ObjectData {
  std::string symbol; ///< A global, read-only, 64-byte aligned.
  std::string bytes;
};

/// ELF objects for `target` holding, for each of `kernels` (functions of
/// `module`, in the LLVM dialect, in the bare-pointer convention), an
/// entry point `symbol_prefix + name` that takes its arguments packed
/// (runtime/executable.h's KernelFn), and the `data` symbols. Identical
/// kernels are merged first. With `partitions` > 1 the kernels are split
/// into that many objects compiled on as many threads, their other symbols
/// hidden (for a shared object); with 1, everything but the entry points
/// and the data is local to the one object (for linking into a program).
absl::StatusOr<std::vector<std::string>>
EmitObjects(mlir::ModuleOp module, const std::vector<std::string> &kernels,
            const std::string &symbol_prefix, const CpuTargetOptions &target,
            const std::vector<ObjectData> &data = {}, unsigned partitions = 1);

/// Links objects into a shared object with LLD, in process.
absl::StatusOr<std::string>
LinkSharedObject(const std::vector<std::string> &objects);

/// Translates `module` (LLVM dialect) to LLVM IR text.
absl::StatusOr<std::string> TranslateToLlvmIr(mlir::ModuleOp module);

/// Registers the translations EmitObjects and TranslateToLlvmIr need in the
/// module's context; call before either.
void RegisterLlvmTranslations(mlir::ModuleOp module);

} // namespace kiln

#endif // KILN_CODEGEN_CPU_MACHINECODE_H
