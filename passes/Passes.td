//===- Passes.td - Kiln's passes ---------------------------*- tablegen -*-===//
//
// Part of Kiln. The graph-level passes, on the kiln dialect: their flags,
// summaries and options. Code generation declares its own passes
// (codegen/common/Passes.td, codegen/cpu/Passes.td). Passes never read
// global flags; options reach them through the pipeline's options struct
// (codegen/Pipeline.h).
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

def Winograd : Pass<"kiln-winograd", "mlir::func::FuncOp"> {
  let summary = "3x3 stride-1 convolutions as 1-D Winograd F(4,3) along H";
  let description = [{
    Rewrites a 2-D f32 Conv with a constant 3x3 filter, one group, strides
    and dilations of 1, at least `min-channels` input and output channels
    and an output at least `min-width` wide as kiln.winograd_input (the
    padded input's rows transformed by BT, six rows per tile of four output
    rows), kiln.winograd_conv (the filter transformed by G at compile time,
    applied per transformed row: 6 x 3 multiplications per four outputs,
    channel pair and column instead of 4 x 9) and kiln.winograd_output (AT
    and the bias; the convolution's epilogue fuses with it). Results agree
    with the direct convolution to a few ulp of the largest output
    (ir/Winograd.h's points keep the transforms' coefficients small).
  }];
  let options = [
    Option<"minChannels", "min-channels", "int64_t", "32",
           "Fewest input and output channels to rewrite (below, the "
           "transforms cost more than the multiplications saved)">,
    Option<"minWidth", "min-width", "int64_t", "7",
           "Narrowest output to rewrite (each tile's row carries the two "
           "padding columns, a larger share of a narrower image; 7 wide, "
           "resnet18's layer 4: 2.6 -> 1.9 ms a convolution)">,
  ];
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
    both. Each group of 2 to 64 ops becomes one kiln.fusion. Tensors of
    floats, signless integers and booleans fuse; unsigned integers do not.
  }];
}

def InsertChecks : Pass<"kiln-insert-checks", "mlir::ModuleOp"> {
  let summary = "Check indices and integer divisors: at compile time, or at run time";
  let description = [{
    Each op declaring RuntimeCheckOpInterface names the rules its operands
    must obey (Gather's indices within the axis, an integer divisor other
    than 0). A constant operand that breaks one is an error now, naming the
    node; any other gets a kiln.check that @main returns after the fetches,
    its message in @main's `kiln.checks`, and a run that breaks the rule
    fails with that message (docs/semantics.md). Runs at every -O level;
    disabling it (--disable-pass) leaves out-of-range indices reading
    index 0 and x / 0 giving 0.
  }];
}

#endif // KILN_PASSES_TD
