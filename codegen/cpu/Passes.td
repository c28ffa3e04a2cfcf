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

#endif // KILN_CODEGEN_CPU_PASSES_TD
