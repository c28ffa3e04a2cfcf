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
      with linalg ops inside them) runs as one launch of one thread;
    - with `library-calls`, an f32 matmul (C[b, m, n] += A[b, m, k] *
      B[b, k, n] on views with static layouts of the kernel's buffers, one
      batch dimension at most once those of one element are dropped and
      those laid out alike merged; A or B may be transposed) is not a
      generated kernel but a library call (cuBLASLt at run time): its zero
      fill just before it and its bias and ReLU epilogue just after it
      (C = max(C + bias[n], 0) in place) fold into the call.

    Each gpu.func takes the kernel's buffers, in order, and records the
    host kernel it belongs to (`kiln.kernel`); the module's
    `kiln.launches` lists every launch in order as [kernel, function,
    threads, threads per block] (blocks of 256 threads, or fewer when the
    launch has fewer), a library call as [kernel, name, 0, 1, matmul] (the
    matmul's fields: codegen/cuda/Matmul.h). Side
    effect free values a launch uses (constants, memref.get_global, views)
    are cloned into it, and the memref.globals it reads into the gpu.module.
    Math ops that MLIR's NVVM lowering does not know (acos, cosh, round,
    ...) become calls to their libdevice functions (__nv_acosf, ...).
  }];
  let options = [
    Option<"libdevice", "libdevice", "bool", "true",
           "Call libdevice for the math ops NVVM lowering does not know">,
    Option<"libraryCalls", "library-calls", "bool", "true",
           "Run matmuls as library calls (cuBLASLt) instead of generated "
           "kernels">,
    Option<"allowTf32", "allow-tf32", "bool", "false",
           "Let the library matmuls multiply on TF32 tensor cores (10-bit "
           "mantissas; sums stay f32)">,
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::gpu::GPUDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def CudaConvolutionsAsMatmuls
    : Pass<"kiln-cuda-convolutions-as-matmuls", "mlir::func::FuncOp"> {
  let summary = "Make each 2-D convolution an image-to-columns copy and a "
                "matmul";
  let description = [{
    On tensors, before the fusions dissolve: an f32 linalg.generic over
    (n, oc, oh, ow, ic, kh, kw) that accumulates in (n, ic, f(oh, kh),
    g(ow, kw)) * filter (oc, ic, kh, kw) into out (n, oc, oh, ow) (a
    convolution of any stride, dilation and padding, not grouped) becomes
    a copy of the input into columns [n, ic, kh, kw, oh, ow] and a matmul
    out[n, oc, oh*ow] += filter[oc, ic*kh*kw] * columns[n, ic*kh*kw,
    oh*ow] on collapsed views, which kiln-cuda-map-kernels makes a
    cuBLASLt call. The new ops keep the convolution's kernel name.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def CudaEmulateOnHost : Pass<"kiln-cuda-emulate-on-host", "mlir::ModuleOp"> {
  let summary = "Run the GPU launches of kiln-cuda-map-kernels as host loops";
  let description = [{
    For the cuda-on-cpu target, which checks the GPU mapping on a machine
    without a GPU: each kernel of the module's `kiln.launches` becomes a
    host kernel again (its buffers, then its tile range, as the CPU
    backend's kernels), whose body runs each of its launches in order as a
    loop over the launch's threads: thread t has block t / B and thread
    t mod B in a block of B, as on the GPU. A library matmul becomes a
    linalg contraction on views its fields describe (reinterpret_casts of
    the buffers), with its bias and ReLU after it: the matmul's fields are
    checked by running them. The gpu.module goes away; what follows is the
    CPU backend's lowering.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::linalg::LinalgDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

#endif // KILN_CODEGEN_CUDA_PASSES_TD
