//===- Passes.td - The CUDA backend's passes ---------------*- tablegen -*-===//
//
// Part of Kiln. Passes the CUDA backend adds on the outlined kernels.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CUDA_PASSES_TD
#define KILN_CODEGEN_CUDA_PASSES_TD

include "mlir/Pass/PassBase.td"

def CudaMapKernels : Pass<"kiln-cuda-map-kernels", "mlir::ModuleOp"> {
  let summary = "Turn each outlined kernel into GPU kernels, one thread per "
                "parallel iteration";
  let description = [{
    Each outlined kernel (a func.func over buffers, with its tile range)
    becomes one or more gpu.func kernels in the gpu.module @kiln_kernels,
    launched in order on one stream:

    - every linalg op (after generalization) has its parallel dimensions
      moved outermost and becomes one launch with one thread per point of
      its parallel iteration space (the flattened global thread index,
      innermost dimension fastest, so that neighbouring threads touch
      neighbouring elements); its reduction dimensions are a loop in each
      thread, in the order the CPU runs them;
    - adjacent such launches over the same points become one when each
      thread reads only what its own iteration of the first wrote and the
      second writes nothing the first reads through another buffer that
      may share bytes with it (a fill, the matmul accumulating into it and
      its bias and activation: one launch);
    - what is left between such ops (loops over time, scf.if, scf.while
      with linalg ops inside them) runs as one launch of one thread.

    Each gpu.func takes the kernel's buffers, in order, and records the
    host kernel it belongs to (`kiln.kernel`); the module's
    `kiln.launches` lists every launch in order as [kernel, function,
    threads, threads per block] (blocks of 256 threads, or fewer when the
    launch has fewer). Side
    effect free values a launch uses (constants, memref.get_global, views)
    are cloned into it, and the memref.globals it reads into the gpu.module.
    Math ops that MLIR's NVVM lowering does not know (acos, cosh, round,
    ...) become calls to their libdevice functions (__nv_acosf, ...).
  }];
  let options = [
    Option<"libdevice", "libdevice", "bool", "true",
           "Call libdevice for the math ops NVVM lowering does not know">,
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def CudaEmulateOnHost : Pass<"kiln-cuda-emulate-on-host", "mlir::ModuleOp"> {
  let summary = "Run the GPU launches of kiln-cuda-map-kernels as host loops";
  let description = [{
    For the cuda-on-cpu target, which checks the GPU mapping on a machine
    without a GPU: each kernel of the module's `kiln.launches` becomes a
    host kernel again (its buffers, then its tile range, as the CPU
    backend's kernels), whose body runs each of its launches in order as a
    loop over the launch's threads: thread t has block t / B and thread
    t mod B in a block of B, as on the GPU. The gpu.module goes away; what
    follows is the CPU backend's lowering.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // KILN_CODEGEN_CUDA_PASSES_TD
