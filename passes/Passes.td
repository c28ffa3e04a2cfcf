//===- Passes.td - Kiln's passes ---------------------------*- tablegen -*-===//
//
// Part of Kiln. Every pass is declared here: its flag, summary and options.
// Passes never read global flags; options reach them through the pipeline's
// options struct (codegen/Pipeline.h).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_PASSES_TD
#define KILN_PASSES_TD

include "mlir/Pass/PassBase.td"

def ConvertKilnToLinalg : Pass<"convert-kiln-to-linalg", "mlir::func::FuncOp"> {
  let summary = "Lower kiln ops to linalg, tensor, arith and math on tensors";
  let description = [{
    Each elementwise op becomes one linalg.generic whose indexing maps encode
    NumPy broadcasting; MatMul and Gemm become a reduction linalg.generic;
    Softmax and the reductions become reduction generics. The function's
    arguments (the feeds) are marked read-only for bufferization so that no
    kernel writes into a caller's buffer.
  }];
  let dependentDialects = [
    "mlir::arith::ArithDialect",
    "mlir::linalg::LinalgDialect",
    "mlir::math::MathDialect",
    "mlir::tensor::TensorDialect",
    "mlir::bufferization::BufferizationDialect",
  ];
}

#endif // KILN_PASSES_TD
