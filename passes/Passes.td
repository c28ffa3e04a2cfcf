//===- Passes.td - Kiln's passes ---------------------------*- tablegen -*-===//
//
// Part of Kiln. Every pass is declared here: its flag, summary and options.
// Passes never read global flags; options reach them through the pipeline's
// options struct (passes/Pipeline.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_TD
#define KILN_PASSES_TD

include "mlir/Pass/PassBase.td"

def FoldConstants : Pass<"kiln-fold-constants", "mlir::func::FuncOp"> {
  let summary = "Evaluate ops whose operands are all constants";
  let description = [{
    Each op whose operands are constants is evaluated by its folder and
    replaced by a kiln.constant, in program order, so whole constant
    subgraphs (the Shape -> Gather -> Concat -> Reshape chains exporters
    write, arithmetic on weights) collapse. New constant data is capped by
    `max-bytes`; an op whose result would pass the cap is left to run time.
  }];
  let options = [
    Option<"maxBytes", "max-bytes", "int64_t", "64 << 20",
           "Most bytes of new constant data the pass may create">,
  ];
}

def Simplify : Pass<"kiln-simplify", "mlir::func::FuncOp"> {
  let summary = "Algebraic simplification of kiln ops";
  let description = [{
    Removes what computes nothing, where IEEE semantics allow: x - 0,
    x + (-0.0), x * 1, x / 1 (x + 0 for integers; not x + 0.0 for floats,
    since -0.0 + 0.0 is +0.0). Merges reshape of reshape and transpose of
    transpose, turns 2-D MatMul into Gemm and folds 2-D transposes of Gemm
    operands into transA/transB.
  }];
}

def Fuse : Pass<"kiln-fuse", "mlir::func::FuncOp"> {
  let summary = "Group producers and consumers into kiln.fusion kernels";
  let description = [{
    XLA-style producer/consumer fusion. Walking from the results back, each
    elementwise op or fusion hero starts a group and pulls in the ops that
    produce its operands when they are elementwise (or the group's one
    hero) and every user of theirs is already in the group, so no work is
    duplicated. A contraction (MatMul, Gemm, Conv) takes its elementwise
    consumers (bias, activation) but never its producers; a reduction takes
    both. Each group of 2 to 64 ops becomes one kiln.fusion. Only
    floating-point tensors fuse.
  }];
}

def ConvertKilnToLinalg : Pass<"convert-kiln-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Each elementwise op becomes one linalg.generic whose indexing maps encode
    NumPy broadcasting; MatMul and Gemm become a reduction linalg.generic;
    Softmax and the reductions become reduction generics. The function's
    arguments (the feeds) are marked read-only for bufferization so that no
    kernel writes into a caller's buffer.

    Each kiln.fusion body is then fused into as few linalg ops as elementwise
    fusion allows, and its root (the op whose result it yields) is tiled over
    its parallel loops with the hero and every other producer in the fusion
    computed tile by tile in the same loop nest: a contraction's epilogue is
    applied to each tile before it is stored. Loops are tiled only where no
    producer element would be computed twice.
  }];
  let options = [
    Option<"tileElements", "tile-elements", "int64_t", "4096",
           "Points per tile of a fusion root; 0 keeps each fused op its own "
           "loop nest">,
    Option<"orderLoops", "order-loops", "bool", "true",
           "Run contractions' loops with the output's last dimension "
           "innermost (vectorizable) where an input streams along it">,
  ];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::scf::SCFDialect",
    "mlir::math::MathDialect",
    "mlir::tensor::TensorDialect",
    "mlir::bufferization::BufferizationDialect",
  ];
}

def PlanMemory : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Place every intermediate buffer at an offset in one arena";
  let description = [{
    Runs after bufferization, on straight-line functions. Each memref.alloc
    lives from its definition to the last use of it or of any view of it;
    buffers are placed greedily, largest first, at the lowest 64-byte
    aligned offset that overlaps no buffer live at the same time. The
    allocs become memref.view ops into one arena, allocated once per call
    and freed before the return. An elementwise kernel (all-parallel
    linalg.generic) shares its output's slot with an input of the same size
    read at the same index that dies there, when the two have the same
    element size and element count (so each element overwrites exactly the
    bytes it was read from): it writes in place. With `reuse=false` no two
    buffers share bytes and nothing is written in place (for differential
    testing of the plan). The function records kiln.arena_bytes,
    kiln.arena_lower_bound (the most bytes live at once) and
    kiln.unplanned_bytes (every buffer apart).
  }];
  let options = [
    Option<"reuse", "reuse", "bool", /*default=*/"true",
           "Let buffers whose lifetimes do not overlap share bytes, and "
           "elementwise kernels write in place over a dying input">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

#endif // KILN_PASSES_TD
