//===- PipelineOptions.h - How the pipeline compiles ------------*- C++ -*-===//
//
// Part of Kiln. The one options struct the pipeline (codegen/Pipeline.h) is
// built from, in a header of its own so that target backends read it
// without depending on the pipeline.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_PIPELINEOPTIONS_H
#define KILN_CODEGEN_PIPELINEOPTIONS_H

#include <cstdint>
#include <set>
#include <string>

namespace kiln {

/// How far the pipeline lowers.
enum class Stage {
  kGraph,   ///< Optimized kiln-dialect graph.
  kLinalg,  ///< linalg/tensor/arith/math on tensors.
  kBuffers, ///< linalg on memrefs, every temporary placed in one arena.
  kKernels, ///< Outlined kernel functions; @main is the launch plan.
  kLLVM,    ///< The kernels in the LLVM dialect, ready for translation.
};

struct PipelineOptions {
  /// 0 runs only what lowering needs; 1 folds constants and removes dead
  /// and duplicate ops; 2 and 3 also simplify algebraically.
  int opt_level = 2;
  /// Passes to leave out, by flag name ("kiln-simplify", "cse", ...).
  std::set<std::string> disabled_passes;
  /// Print the module after every pass, or after the named ones, to stderr.
  bool print_ir_after_all = false;
  std::set<std::string> print_ir_after;
  /// When set, write the module after each pass to DIR/NN-<pass>.mlir.
  std::string dump_dir;
  /// Print how long each pass took to stderr.
  bool pass_timing = false;
  /// Most bytes of new constant data constant folding may create.
  int64_t max_fold_bytes = int64_t{64} << 20;
  /// Let the memory plan place buffers whose lifetimes do not overlap at the
  /// same bytes, and elementwise kernels write in place. Off, every buffer
  /// has bytes of its own: a run must give bit-identical results either way.
  bool reuse_memory = true;
  /// Verify the IR after every pass (cheap at Kiln's sizes; on by default).
  bool verify_each = true;
  /// The target backend (TargetBackendNames() lists them).
  std::string target = "cpu";
  /// The machine to compile for, when not this one: an LLVM target triple
  /// ("aarch64-linux-gnu") and CPU ("x86-64-v3", "znver4"). Empty, the
  /// host's triple; with it, the host's CPU and all its features.
  std::string target_triple;
  std::string target_cpu;
  /// For the cuda target: the chip ("sm_80", "sm_90"; empty: sm_90).
  std::string gpu_arch;
  /// For the cuda targets: matmuls on buffers as cuBLASLt calls (off,
  /// every matmul is a kernel Kiln generates, for a machine without
  /// cuBLAS).
  bool gpu_libraries = true;
  /// For the cuda targets: the library matmuls may multiply on TF32
  /// tensor cores (10-bit mantissas, f32 sums); off, they run in f32.
  bool allow_tf32 = false;
};

} // namespace kiln

#endif // KILN_CODEGEN_PIPELINEOPTIONS_H
