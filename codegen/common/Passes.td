//===- Passes.td - Target-independent code generation ------*- tablegen -*-===//
//
// Part of Kiln. From the kiln dialect to outlined kernels on buffers and the
// launch plan: the part of code generation every target shares.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_COMMON_PASSES_TD
#define KILN_CODEGEN_COMMON_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"convert-kiln-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Each elementwise op becomes one linalg.generic whose indexing maps encode
    NumPy broadcasting; MatMul and Gemm become a reduction linalg.generic;
    Softmax and the reductions become reduction generics. The function's
    arguments (the feeds) are marked read-only for bufferization so that no
    kernel writes into a caller's buffer.

    Each kiln.fusion stays, its body lowered too and fused into as few
    linalg ops as elementwise fusion allows (a producer with one use merges
    into its consumer; siblings reading one input become one multi-result
    generic). A target backend may then tile it; kiln-inline-fusions
    dissolves it.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::scf::SCFDialect",
    "mlir::math::MathDialect",
    "mlir::tensor::TensorDialect",
    "mlir::bufferization::BufferizationDialect",
  ];
}

def InlineFusions : Pass<"kiln-inline-fusions", "mlir::func::FuncOp"> {
  let summary = "Inline each kiln.fusion's body, marking its kernel";
  let description = [{
    Bufferization works on straight-line code, so each kiln.fusion's body
    (linalg on tensors) replaces the fusion. Every op of the body gets
    `kiln.kernel = "<fusion's name>"`, and so does each other op that will
    compute (the ops one unfused kiln op lowered to share its location and
    get its node's name); names are unique in the function. After
    bufferization kiln-outline-kernels makes one kernel of each name.
  }];
}

def PadInPlace : Pass<"kiln-pad-in-place", "mlir::func::FuncOp"> {
  let summary = "Compute a padded tensor's interior in place, not copied";
  let description = [{
    A tensor.pad by a constant whose source is computed into a
    tensor.empty (through destination-passing linalg ops and scf.for
    loops, each intermediate used once) becomes a linalg.fill of the padded
    shape before the producer, whose tensor.empty is replaced by the
    interior's extract_slice of the fill, and an insert_slice of the source
    into the fill where the pad was. Bufferization then writes the producer
    into the padded buffer directly: the copy of the source into the
    interior, a kernel of its own, goes. The fill takes the pad's
    kiln.kernel name.
  }];
  let dependentDialects = ["mlir::linalg::LinalgDialect",
                           "mlir::tensor::TensorDialect"];
}

def FetchesInPlace : Pass<"kiln-fetches-in-place", "mlir::func::FuncOp"> {
  let summary = "Compute each fetch in the caller's buffer, not copied there";
  let description = [{
    After bufferization each result is an out-parameter filled by a copy
    from the buffer that computed it (memref.copy or linalg.copy before the
    return). Where that buffer is a memref.alloc of the same type that
    nothing uses after the copy, every use of it takes the out-parameter
    instead and the copy goes: the kernels write the fetch directly, and a
    run saves a pass over the result. A fed or constant result, or a
    second fetch of the same buffer, keeps its copy.
  }];
  let dependentDialects = ["mlir::memref::MemRefDialect"];
}

def PlanMemory : Pass<"kiln-plan-memory", "mlir::func::FuncOp"> {
  let summary = "Place every intermediate buffer at an offset in one arena";
  let description = [{
    Runs after bufferization, on straight-line functions. Each memref.alloc
    lives from its definition to the last use of it or of any view of it;
    buffers are placed greedily, largest first, at the lowest 64-byte
    aligned offset that overlaps no buffer live at the same time. The
    allocs become memref.view ops into the arena, a new last argument of
    the function (marked `kiln.arena`) that the caller allocates. An
    elementwise kernel (all-parallel linalg.generic) shares its output's
    slot with an input of the same size read at the same index that dies
    there, when the two have the same element size and element count (so
    each element overwrites exactly the bytes it was read from): it writes
    in place. A tile loop's temporary, hoisted out of the loop, is marked
    `kiln.scratch`. With `reuse=false` no two buffers share bytes and
    nothing is written in place (for differential testing of the plan). The
    function records kiln.arena_bytes, kiln.arena_lower_bound (the most
    bytes live at once) and kiln.unplanned_bytes (every buffer apart).
  }];
  let options = [
    Option<"reuse", "reuse", "bool", /*default=*/"true",
           "Let buffers whose lifetimes do not overlap share bytes, and "
           "elementwise kernels write in place over a dying input">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::memref::MemRefDialect"];
}

def OutlineKernels : Pass<"kiln-outline-kernels", "mlir::ModuleOp"> {
  let summary = "Outline each kernel of @main into a function over a grid";
  let description = [{
    Runs after kiln-plan-memory. The ops of @main that compute (the ops
    with one `kiln.kernel` name, or one op) each become a function
    `@k<N>_<name>(buffers..., %begin: index, %end: index)`: its buffers are
    the roots the ops read and write (feeds, fetches, arena views, and
    constant globals of more than 256 bytes that are not splats, which the
    launch plan moves to its constants region); the views, index
    constants and small constant globals it needs are cloned into it. A
    buffer that shares no byte with another of the kernel's is
    `llvm.noalias`; arena and constants buffers are `llvm.align = 64`; an
    arena buffer that no op outside the kernel uses, when the kernel is in
    no loop, is `kiln.local` (what it holds dies with the kernel: a
    fusion's intermediate result). Its
    outer parallel loop becomes a grid: a tile loop marked `kiln.parallel`, or the
    first parallel loop of extent above one of a lone linalg op (tiled by
    one; never the innermost loop, which stays whole for vectorization),
    runs from %begin to %end; a kernel without one has a grid of 1.
    With `grids=false` no loop is tiled into a grid (a GPU backend maps
    the parallel iterations to its own threads). @main keeps only the
    arena views and one kiln.dispatch per kernel, in order: the launch
    plan.
  }];
  let options = [
    Option<"grids", "grids", "bool", "true",
           "Make a lone linalg op's outer parallel loop a grid">,
  ];
  let dependentDialects = ["mlir::arith::ArithDialect",
                           "mlir::func::FuncDialect",
                           "mlir::memref::MemRefDialect",
                           "mlir::scf::SCFDialect"];
}

def TakeLaunchPlan : Pass<"kiln-take-launch-plan", "mlir::ModuleOp"> {
  let summary = "Take the launch plan (@main) out of the module";
  let description = [{
    Runs after kiln-outline-kernels. When the compiler asks for it (Compile
    does), @main's dispatches are recorded as the runtime's LaunchPlan: for
    each, its kernel, grid and buffers as feeds, fetches, arena offsets or
    constants offsets, the constant globals' bytes copied into the plan's
    constants region. Then @main is erased, and every global no kernel
    uses, so the backend lowers only the kernels and LLVM never sees the
    weights. Built by
    createTakeLaunchPlan (codegen/common/LaunchPlan.h).
  }];
}

#endif // KILN_CODEGEN_COMMON_PASSES_TD
