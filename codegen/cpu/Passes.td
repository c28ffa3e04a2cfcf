//===- Passes.td - The CPU backend's tuning passes ---------*- tablegen -*-===//
//
// Part of Kiln. Passes the CPU backend adds on linalg on tensors, before
// bufferization: how a kernel's loops are tiled and ordered for the cache
// and the vector units of a CPU core.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_PASSES_TD
#define KILN_CODEGEN_CPU_PASSES_TD

include "mlir/Pass/PassBase.td"

def CpuOutputChannelsLast
    : Pass<"kiln-cpu-output-channels-last", "mlir::func::FuncOp"> {
  let summary = "Store narrow convolutions' constant filters channels last";
  let description = [{
    A convolution whose output rows are narrow (fewer than
    `narrow-width` elements, as in a CNN's last stages: 7x7 maps) gets its
    constant filter W[O, I, kh, kw] stored as W[I, kh, kw, O] at compile
    time, so that it is contiguous along the output channels: the
    vectorized convolution (kiln-cpu-vectorize-contractions) then runs its
    vectors along the channels, all lanes busy, where along a row of 7 it
    would leave most of them idle.
  }];
  let options = [
    Option<"narrowWidth", "narrow-width", "int64_t", "8",
           "Output rows narrower than this take the filter channels last">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def CpuDeinterleaveStridedConvolutions
    : Pass<"kiln-cpu-deinterleave-strided-convolutions", "mlir::func::FuncOp"> {
  let summary = "Store stride-2 convolutions' images as even and odd columns";
  let description = [{
    A convolution reading its image as X[.., 2 ow + kw] (stride 2 along the
    output's last dimension, which its vectors run along) reads
    D[.., kw mod 2, ow + kw floordiv 2] instead, D[.., p, w] = X[.., 2 w + p]
    being computed once by a copy marked `kiln.whole` (not tiled with
    the convolution): the vectorized convolution then loads plain vectors
    where it would shuffle every other element out of two. Images with an
    odd last dimension, and convolutions whose vectors run along another
    dimension (a filter stored channels last), are left as they are.
  }];
  let dependentDialects = ["mlir::tensor::TensorDialect",
                           "mlir::linalg::LinalgDialect"];
}

def CpuPackWeights : Pass<"kiln-cpu-pack-weights", "mlir::func::FuncOp"> {
  let summary = "Store matmuls' constant right-hand matrices as panels";
  let description = [{
    A contraction reading a constant B[K][N] as B[k][j] (j the output's
    innermost dimension; a tile's slice of B after kiln-cpu-tile-fusions)
    reads panels Bp[N/P][K][P] instead, packed at compile time through
    the map (j floordiv P, k, j mod P): each block of the microkernel
    (P columns) then streams contiguous memory over the reduction. P is
    `panel-bits` over the element's width; B is left as it is where N, the
    tile's width or its column offset is not a multiple of P.
  }];
  let options = [
    Option<"panelBits", "panel-bits", "int64_t", "0",
           "The bits of one panel row: the microkernel's block of vectors "
           "(0: no packing)">,
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::tensor::TensorDialect"];
}

def CpuTileFusions : Pass<"kiln-cpu-tile-fusions", "mlir::func::FuncOp"> {
  let summary = "Tile each fusion's root with its producers in the tile loop";
  let description = [{
    In each kiln.fusion (linalg on tensors), the root op (the one whose
    result the fusion yields) is tiled over its parallel loops and every
    producer inside the fusion is computed tile by tile in the same loop: a
    contraction's epilogue is applied to each tile while it is in cache;
    softmax and layer normalization run as one loop over row tiles. A loop
    is tiled only where every fused producer's slice moves with it (no
    element computed twice, no reduction split); tile sizes divide the loop
    ranges. The outermost tile loop is marked `kiln.parallel`.
  }];
  let options = [
    Option<"tileElements", "tile-elements", "int64_t", "4096",
           "Points per tile of a fusion root; 0 keeps each fused op its own "
           "loop nest">,
  ];
  let dependentDialects = ["mlir::scf::SCFDialect",
                           "mlir::tensor::TensorDialect"];
}

def CpuOrderLoops : Pass<"kiln-cpu-order-loops", "mlir::func::FuncOp"> {
  let summary = "Order contractions' loops for vectorization";
  let description = [{
    Contractions (MatMul, Gemm, convolutions) run with the output's last
    dimension innermost where an input streams along it, so that the inner
    loop is C[i, :] += A[i, k] * B[k, :] (vectorizable without reassociating
    a sum); in a tile loop a matmul's reductions go outermost so that each
    row of B serves the whole tile.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect"];
}

def CpuVectorizeContractions
    : Pass<"kiln-cpu-vectorize-contractions", "mlir::func::FuncOp"> {
  let summary = "Register-blocked vector code for contractions on buffers";
  let description = [{
    Rewrites each linalg.generic on memrefs that computes
    `C[...] += A[...] * S[...]` (a matmul, a batched matmul, a
    convolution, in f32 or f64) where one input S is read along a parallel
    dimension `j` contiguously, or every other element (a stride-2
    convolution: a masked load twice as long and a shuffle), and the other
    input A does not read `j`. Of several such `j`, the one vectors fill
    best is taken, then the one C is contiguous along; otherwise C is
    gathered and scattered (a channels-last convolution). The output is
    computed in blocks of MR rows (another parallel dimension, preferably
    one S does not depend on, so each vector of S serves all MR rows) by
    NV vectors along `j`, its MR x NV accumulators held in registers
    across the whole reduction: per reduction step, the vectors of S are
    loaded, A's scalar for each row broadcast, and MR x NV FMAs issued.
    Block sizes come from the vector width and register count; the edge
    columns use masked loads and stores; a reduction whose reads of S
    by one block of rows exceed `chunk-bytes` (what stays in L2 for the
    next blocks) runs in chunks, C holding the partial sums; so does one
    whose A (a convolution's filter) every output row reads again and
    which would not stay in L1 for the next row. A
    `linalg.fill` of C just before the op becomes the accumulators'
    initial value. An elementwise linalg.generic right after it that reads
    C where it writes (a bias, an activation, a residual add: the
    epilogue of a tiled fusion) is applied to the accumulators in
    registers before the store, its other inputs loaded as vectors along
    `j` or broadcast; C itself is then not written when it is the
    kernel's own (kiln.local) buffer. The last, narrower block of columns
    takes more rows per block, from the same accumulator budget. A
    contraction whose C and S end in the same two parallel dimensions,
    contiguous across both, that A does not read (a 1x1 stride-1
    convolution over an unpadded image) runs over them collapsed into one,
    where vectors do not already divide the inner one. Window reductions (max pooling, average pooling's sum:
    C = max/min/add(C, X[.., s * j + ..]) over the window, s 1 or 2) become
    loops over vector blocks along the output row, each block's
    accumulator kept in a register over the window, X read with one vector
    per window position (stride 2: a span and every other element). Other
    generics are left to the scalar loop lowering.
  }];
  let options = [
    Option<"vectorBits", "vector-bits", "int64_t", "0",
           "Width of a vector register in bits (512 for AVX-512, 256 for "
           "AVX2, 128 for SSE or NEON); 0 leaves contractions alone">,
    Option<"vectorRegisters", "vector-registers", "int64_t", "32",
           "Number of vector registers (32 with AVX-512 or NEON, 16 with "
           "AVX2)">,
    Option<"chunkBytes", "chunk-bytes", "int64_t", "131072",
           "A reduction whose reads of S by one block of rows exceed this "
           "many bytes runs in chunks of at most that many (0: never)">,
    Option<"fuseEpilogues", "fuse-epilogues", "bool", "true",
           "Apply the elementwise op after a contraction to its "
           "accumulators before the store">,
  ];
  let dependentDialects = ["mlir::affine::AffineDialect",
                           "mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def CpuVectorizeTransposes
    : Pass<"kiln-cpu-vectorize-transposes", "mlir::func::FuncOp"> {
  let summary = "Transpose the innermost dimension in 8 x 8 vector blocks";
  let description = [{
    A linalg.transpose (on buffers) that moves the innermost dimension of a
    statically shaped, 32-bit input whose rows and output rows are
    contiguous becomes loops over 8 x 8 blocks: 8 vector loads of input
    rows, three rounds of vector.shuffle, 8 vector stores of output rows,
    instead of reading one element per input row (an L1 miss per element
    when the rows are a multiple of 4 KiB apart). The edges beyond the
    last whole block stay linalg.transpose ops on subviews.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect",
                           "mlir::vector::VectorDialect"];
}

def CpuReassociateReductions
    : Pass<"kiln-cpu-reassociate-reductions", "mlir::func::FuncOp"> {
  let summary = "Let LLVM keep vector partial sums in reductions";
  let description = [{
    Marks the combiner of each linalg.generic reduction that is not a
    multiply-accumulate contraction (addf, mulf, and the max and min ops,
    taking the accumulator and yielding its next value) with the `reassoc`
    fast-math flag, so that LLVM's loop vectorizer keeps vector partial
    sums instead of one serial chain of dependent adds. The summation order
    is fixed by the compiled code (not by tiles or threads); max and min are
    exact in any order. Contractions are left in their scalar order.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect"];
}

def CpuApproximateMath : Pass<"kiln-cpu-approximate-math", "mlir::func::FuncOp"> {
  let summary = "f32 transcendental functions as polynomials LLVM vectorizes";
  let description = [{
    Rewrites f32 exp, expm1, log, log1p, log2, tanh and erf as MLIR's
    polynomial approximations (arithmetic only; within 3e-7 relative error
    of float64 over the whole range, measured), so that the loops around
    them (GELU's erf, softmax's exp, tanh, sigmoid) vectorize instead of
    calling libm for one element at a time. Sine, cosine and arctangent,
    whose approximations are less accurate, and f64 keep libm.
  }];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::math::MathDialect",
                           "mlir::vector::VectorDialect"];
}

#endif // KILN_CODEGEN_CPU_PASSES_TD
