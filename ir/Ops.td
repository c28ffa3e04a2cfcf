//===- Ops.td - kiln dialect operations --------------------*- tablegen -*-===//
//
// Part of Kiln. Each op: summary, IR example, type inference; folders where
// they apply. Semantics follow the ONNX operator of the same name.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "ir/Dialect.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"

/// Element types Kiln computes in.
def Kiln_ElementType : AnyTypeOf<[F32, F64, I32, I64, I1]>;
def Kiln_Tensor : RankedTensorOf<[F32, F64, I32, I64, I1]>;
def Kiln_FloatTensor : RankedTensorOf<[F32, F64]>;

class Kiln_Op<string mnemonic, list<Trait> traits = []>
    : Op<Kiln_Dialect, mnemonic,
         !listconcat(traits, [Pure, InferTypeOpAdaptor])> {
  let assemblyFormat =
      "operands attr-dict `:` functional-type(operands, results)";
}

//===----------------------------------------------------------------------===//
// Constants
//===----------------------------------------------------------------------===//

def Kiln_ConstantOp : Kiln_Op<"constant", [ConstantLike]> {
  let summary = "a dense tensor known at compile time";
  let description = [{
    ```mlir
    %w = kiln.constant dense<[[1.0, 2.0]]> : tensor<1x2xf32>
    ```
  }];
  let arguments = (ins ElementsAttr:$value);
  let results = (outs Kiln_Tensor:$output);
  let assemblyFormat = "attr-dict $value";
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

/// Binary ops with NumPy (multidirectional) broadcasting.
class Kiln_BroadcastBinaryOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, traits> {
  let arguments = (ins Kiln_Tensor:$A, Kiln_Tensor:$B);
  let results = (outs Kiln_Tensor:$C);
  let hasFolder = 1;
}

def Kiln_AddOp : Kiln_BroadcastBinaryOp<"add", [Commutative]> {
  let summary = "elementwise A + B with broadcasting";
  let description = [{
    ```mlir
    %y = kiln.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
}
def Kiln_SubOp : Kiln_BroadcastBinaryOp<"sub"> {
  let summary = "elementwise A - B with broadcasting";
}
def Kiln_MulOp : Kiln_BroadcastBinaryOp<"mul", [Commutative]> {
  let summary = "elementwise A * B with broadcasting";
}
def Kiln_DivOp : Kiln_BroadcastBinaryOp<"div"> {
  let summary = "elementwise A / B with broadcasting";
  let description = [{
    Integer division truncates toward zero, as in ONNX.
  }];
}

/// Unary ops whose result has the operand's type.
class Kiln_UnaryOp<string mnemonic, Type operandType = Kiln_Tensor,
                   list<Trait> traits = []>
    : Kiln_Op<mnemonic, traits> {
  let arguments = (ins operandType:$X);
  let results = (outs operandType:$Y);
  let hasFolder = 1;
}

def Kiln_ReluOp : Kiln_UnaryOp<"relu"> {
  let summary = "max(x, 0)";
  let description = [{
    ```mlir
    %y = kiln.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
}
def Kiln_NegOp : Kiln_UnaryOp<"neg"> { let summary = "-x"; }
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", Kiln_FloatTensor> {
  let summary = "1 / (1 + exp(-x))";
}
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", Kiln_FloatTensor> {
  let summary = "hyperbolic tangent";
}
def Kiln_ExpOp : Kiln_UnaryOp<"exp", Kiln_FloatTensor> {
  let summary = "e^x";
}
def Kiln_LogOp : Kiln_UnaryOp<"log", Kiln_FloatTensor> {
  let summary = "natural logarithm";
}
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", Kiln_FloatTensor> {
  let summary = "square root";
}

def Kiln_IdentityOp : Kiln_Op<"identity"> {
  let summary = "returns its input";
  let arguments = (ins Kiln_Tensor:$input);
  let results = (outs Kiln_Tensor:$output);
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul"> {
  let summary = "matrix product with NumPy matmul semantics";
  let description = [{
    Batched over leading dimensions, which broadcast; a 1-D operand is
    treated as a row (A) or column (B) vector and that dimension is dropped
    from the result.

    ```mlir
    %y = kiln.matmul %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$A, Kiln_Tensor:$B);
  let results = (outs Kiln_Tensor:$Y);
}

def Kiln_GemmOp : Kiln_Op<"gemm"> {
  let summary = "alpha * op(A) * op(B) + beta * C";
  let description = [{
    A and B are 2-D; op() transposes when transA / transB is 1. C is
    optional and broadcasts to the [M, N] result.

    ```mlir
    %y = kiln.gemm %a, %b, %c {transB = 1 : i64}
        : (tensor<2x3xf32>, tensor<4x3xf32>, tensor<4xf32>) -> tensor<2x4xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$A, Kiln_Tensor:$B,
                   Optional<Kiln_Tensor>:$C,
                   DefaultValuedAttr<F32Attr, "1.0">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.0">:$beta,
                   DefaultValuedAttr<I64Attr, "0">:$transA,
                   DefaultValuedAttr<I64Attr, "0">:$transB);
  let results = (outs Kiln_Tensor:$Y);
}

//===----------------------------------------------------------------------===//
// Normalizations and reductions
//===----------------------------------------------------------------------===//

def Kiln_SoftmaxOp : Kiln_Op<"softmax"> {
  let summary = "exp(x) / sum(exp(x)) along one axis (ONNX opset 13)";
  let description = [{
    ```mlir
    %y = kiln.softmax %x {axis = -1 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$input,
                   DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Kiln_FloatTensor:$output);
}

class Kiln_ReduceOp<string mnemonic, string what>
    : Kiln_Op<mnemonic> {
  let summary = what # " over the axes (all axes when none are given)";
  let description = [{
    `axes` may be negative (counted from the back); `keepdims` keeps the
    reduced axes as size 1.

    ```mlir
    %y = kiln.reduce_sum %x {axes = array<i64: 1>, keepdims = 0 : i64}
        : (tensor<2x3xf32>) -> tensor<2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data,
                   OptionalAttr<DenseI64ArrayAttr>:$axes,
                   DefaultValuedAttr<I64Attr, "1">:$keepdims);
  let results = (outs Kiln_Tensor:$reduced);
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "sum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "arithmetic mean">;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "maximum">;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_Op<"reshape"> {
  let summary = "the same elements in a new shape";
  let description = [{
    `shape` follows ONNX Reshape: 0 copies the input's dimension at that
    position, and one -1 is inferred from the element count.

    ```mlir
    %y = kiln.reshape %x {shape = array<i64: 0, -1>} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, DenseI64ArrayAttr:$shape);
  let results = (outs Kiln_Tensor:$reshaped);
  let hasFolder = 1;
}

def Kiln_TransposeOp : Kiln_Op<"transpose"> {
  let summary = "permutes dimensions: result dim i is input dim perm[i]";
  let description = [{
    Without `perm`, the dimensions are reversed.

    ```mlir
    %y = kiln.transpose %x {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data,
                   OptionalAttr<DenseI64ArrayAttr>:$perm);
  let results = (outs Kiln_Tensor:$transposed);
  let hasFolder = 1;
}

#endif // KILN_OPS_TD
