//===- Ops.td - kiln dialect operations --------------------*- tablegen -*-===//
//
// Part of Kiln. Each op: summary, IR example, type inference; folders where
// they apply. Semantics follow the ONNX operator of the same name.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_OPS_TD
#define KILN_OPS_TD

include "ir/Dialect.td"
include "ir/Interfaces.td"
include "mlir/Interfaces/InferTypeOpInterface.td"
include "mlir/Interfaces/SideEffectInterfaces.td"
include "mlir/IR/SymbolInterfaces.td"

/// Element types Kiln computes in.
def Kiln_ElementType : AnyTypeOf<[F16, BF16, F32, F64, I8, I16, I32, I64, UI8,
                                  UI16, UI32, UI64, I1]>;
def Kiln_Tensor : RankedTensorOf<[F16, BF16, F32, F64, I8, I16, I32, I64, UI8,
                                  UI16, UI32, UI64, I1]>;
def Kiln_FloatTensor : RankedTensorOf<[F16, BF16, F32, F64]>;
/// Tensors that add and multiply: every element type but bool.
def Kiln_NumericTensor : RankedTensorOf<[F16, BF16, F32, F64, I8, I16, I32,
                                         I64, UI8, UI16, UI32, UI64]>;
def Kiln_BoolTensor : RankedTensorOf<[I1]>;
def Kiln_IndexTensor : RankedTensorOf<[I32, I64]>;

/// Ops that compute each output element from the elements at the same
/// (broadcast) position of their operands: what fusion chains freely. Each
/// implements buildScalar (ScalarBodies.cc), its loop body.
def Kiln_Elementwise : DeclareOpInterfaceMethods<Kiln_ElementwiseOpInterface>;
/// Binary ops with identity elements, which kiln-simplify removes
/// (isIdentityElement in Folders.cc).
def Kiln_IdentityElement
    : DeclareOpInterfaceMethods<Kiln_IdentityElementOpInterface>;
/// Marks the ops a fusion is built around (contractions, reductions): one
/// per kernel, never duplicated.
def Kiln_FusionHero : NativeOpTrait<"KilnFusionHero"> {
  let cppNamespace = "::kiln";
}

/// Marks contractions (MatMul, Gemm, Conv): heroes whose inputs are read
/// many times each, so fusion never recomputes a producer inside them.
def Kiln_Contraction : NativeOpTrait<"KilnContraction"> {
  let cppNamespace = "::kiln";
}

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

/// Binary ops with NumPy (multidirectional) broadcasting; both operands
/// have one element type, which the result shares.
class Kiln_BroadcastBinaryOp<string mnemonic, list<Trait> traits = [],
                             Type operandType = Kiln_Tensor>
    : Kiln_Op<mnemonic, !listconcat(traits, [Kiln_Elementwise])> {
  let arguments = (ins operandType:$A, operandType:$B);
  let results = (outs operandType:$C);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferBroadcast(loc, adaptor.getOperands(),
                                            /*boolResult=*/false, inferred);
    }
  }];
}

/// Comparisons: broadcasting, bool result.
class Kiln_CompareOp<string mnemonic, list<Trait> traits = []>
    : Kiln_Op<mnemonic, !listconcat(traits, [Kiln_Elementwise])> {
  let arguments = (ins Kiln_Tensor:$A, Kiln_Tensor:$B);
  let results = (outs Kiln_BoolTensor:$C);
  let hasFolder = 1;
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferBroadcast(loc, adaptor.getOperands(),
                                            /*boolResult=*/true, inferred);
    }
  }];
}

def Kiln_AddOp : Kiln_BroadcastBinaryOp<"add", [Commutative, Kiln_IdentityElement]> {
  let summary = "elementwise A + B with broadcasting";
  let description = [{
    ```mlir
    %y = kiln.add %x, %b : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
    ```
  }];
  let hasFolder = 1;
}
def Kiln_SubOp : Kiln_BroadcastBinaryOp<"sub", [Kiln_IdentityElement]> {
  let summary = "elementwise A - B with broadcasting";
  let hasFolder = 1;
}
def Kiln_MulOp : Kiln_BroadcastBinaryOp<"mul", [Commutative, Kiln_IdentityElement]> {
  let summary = "elementwise A * B with broadcasting";
  let hasFolder = 1;
}
def Kiln_DivOp : Kiln_BroadcastBinaryOp<"div", [Kiln_IdentityElement,
    DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "elementwise A / B with broadcasting";
  let description = [{
    Integer division truncates toward zero, as in ONNX, and INT_MIN / -1
    is INT_MIN. An integer divisor of 0 fails the run (a constant one, the
    compile); the kernel itself computes x / 0 as 0 and never traps
    (docs/semantics.md).
  }];
  let hasFolder = 1;
}
def Kiln_ModOp : Kiln_BroadcastBinaryOp<"mod", [
    DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "elementwise remainder of A / B with broadcasting (ONNX Mod)";
  let description = [{
    With `fmod = 0` (integers only) the remainder takes the divisor's sign,
    as Python's %; with `fmod = 1` it takes the dividend's, as C's fmod (the
    only form for floats). An integer divisor of 0 fails the run, as in
    Div; INT_MIN mod -1 is 0.
  }];
  let arguments = (ins Kiln_Tensor:$A, Kiln_Tensor:$B,
                   DefaultValuedAttr<I64Attr, "0">:$fmod);
  let hasVerifier = 1;
}
def Kiln_BitShiftOp : Kiln_BroadcastBinaryOp<"bit_shift", [],
    RankedTensorOf<[UI8, UI16, UI32, UI64]>> {
  let summary = "elementwise A << B or A >> B on unsigned integers";
  let description = [{
    `direction` is "LEFT" or "RIGHT"; a shift by the bit width or more
    gives 0.
  }];
  let arguments = (ins RankedTensorOf<[UI8, UI16, UI32, UI64]>:$A,
                   RankedTensorOf<[UI8, UI16, UI32, UI64]>:$B,
                   StrAttr:$direction);
  let hasVerifier = 1;
}
def Kiln_PowOp : Kiln_BroadcastBinaryOp<"pow", [], Kiln_FloatTensor> {
  let summary = "elementwise A ^ B with broadcasting";
}
def Kiln_MaxOp : Kiln_BroadcastBinaryOp<"max", [Commutative]> {
  let summary = "elementwise maximum; NaN propagates";
}
def Kiln_MinOp : Kiln_BroadcastBinaryOp<"min", [Commutative]> {
  let summary = "elementwise minimum; NaN propagates";
}
def Kiln_PReluOp : Kiln_BroadcastBinaryOp<"prelu"> {
  let summary = "A < 0 ? B * A : A, the slope B broadcast to A";
}
def Kiln_AndOp : Kiln_BroadcastBinaryOp<"and", [Commutative], Kiln_BoolTensor> {
  let summary = "logical and";
}
def Kiln_OrOp : Kiln_BroadcastBinaryOp<"or", [Commutative], Kiln_BoolTensor> {
  let summary = "logical or";
}
def Kiln_EqualOp : Kiln_CompareOp<"equal", [Commutative]> {
  let summary = "A == B";
}
def Kiln_LessOp : Kiln_CompareOp<"less"> { let summary = "A < B"; }
def Kiln_GreaterOp : Kiln_CompareOp<"greater"> { let summary = "A > B"; }
def Kiln_LessOrEqualOp : Kiln_CompareOp<"less_or_equal"> {
  let summary = "A <= B (false where either is NaN)";
}
def Kiln_GreaterOrEqualOp : Kiln_CompareOp<"greater_or_equal"> {
  let summary = "A >= B (false where either is NaN)";
}

def Kiln_WhereOp : Kiln_Op<"where", [Kiln_Elementwise]> {
  let summary = "condition ? X : Y, all three broadcast together";
  let arguments = (ins Kiln_BoolTensor:$condition, Kiln_Tensor:$X,
                   Kiln_Tensor:$Y);
  let results = (outs Kiln_Tensor:$output);
}

/// Unary ops whose result has the operand's type.
class Kiln_UnaryOp<string mnemonic, Type operandType = Kiln_Tensor,
                   list<Trait> traits = [Kiln_Elementwise]>
    : Kiln_Op<mnemonic, traits> {
  let arguments = (ins operandType:$X);
  let results = (outs operandType:$Y);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferSameType(loc, adaptor.getOperands(),
                                           inferred);
    }
  }];
}

def Kiln_ReluOp : Kiln_UnaryOp<"relu"> {
  let summary = "max(x, 0)";
  let description = [{
    ```mlir
    %y = kiln.relu %x : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
  let hasFolder = 1;
}
def Kiln_NegOp : Kiln_UnaryOp<"neg"> {
  let summary = "-x";
  let hasFolder = 1;
}
def Kiln_AbsOp : Kiln_UnaryOp<"abs"> { let summary = "|x|"; }
def Kiln_SignOp : Kiln_UnaryOp<"sign"> { let summary = "-1, 0 or 1"; }
def Kiln_SigmoidOp : Kiln_UnaryOp<"sigmoid", Kiln_FloatTensor> {
  let summary = "1 / (1 + exp(-x))";
  let hasFolder = 1;
}
def Kiln_TanhOp : Kiln_UnaryOp<"tanh", Kiln_FloatTensor> {
  let summary = "hyperbolic tangent";
  let hasFolder = 1;
}
def Kiln_ExpOp : Kiln_UnaryOp<"exp", Kiln_FloatTensor> {
  let summary = "e^x";
  let hasFolder = 1;
}
def Kiln_LogOp : Kiln_UnaryOp<"log", Kiln_FloatTensor> {
  let summary = "natural logarithm";
  let hasFolder = 1;
}
def Kiln_SqrtOp : Kiln_UnaryOp<"sqrt", Kiln_FloatTensor> {
  let summary = "square root";
  let hasFolder = 1;
}
def Kiln_ErfOp : Kiln_UnaryOp<"erf", Kiln_FloatTensor> {
  let summary = "the error function";
}
def Kiln_FloorOp : Kiln_UnaryOp<"floor", Kiln_FloatTensor> {
  let summary = "round down";
  let hasFolder = 1;
}
def Kiln_CeilOp : Kiln_UnaryOp<"ceil", Kiln_FloatTensor> {
  let summary = "round up";
  let hasFolder = 1;
}
def Kiln_RoundOp : Kiln_UnaryOp<"round", Kiln_FloatTensor> {
  let summary = "round half to even";
  let hasFolder = 1;
}
def Kiln_ReciprocalOp : Kiln_UnaryOp<"reciprocal", Kiln_FloatTensor> {
  let summary = "1 / x";
}
def Kiln_CosOp : Kiln_UnaryOp<"cos", Kiln_FloatTensor> { let summary = "cosine"; }
def Kiln_SinOp : Kiln_UnaryOp<"sin", Kiln_FloatTensor> { let summary = "sine"; }
def Kiln_TanOp : Kiln_UnaryOp<"tan", Kiln_FloatTensor> { let summary = "tangent"; }
def Kiln_AtanOp : Kiln_UnaryOp<"atan", Kiln_FloatTensor> {
  let summary = "arctangent";
}
def Kiln_SinhOp : Kiln_UnaryOp<"sinh", Kiln_FloatTensor> {
  let summary = "hyperbolic sine";
}
def Kiln_CoshOp : Kiln_UnaryOp<"cosh", Kiln_FloatTensor> {
  let summary = "hyperbolic cosine";
}
def Kiln_AsinOp : Kiln_UnaryOp<"asin", Kiln_FloatTensor> {
  let summary = "arcsine";
}
def Kiln_AcosOp : Kiln_UnaryOp<"acos", Kiln_FloatTensor> {
  let summary = "arccosine";
}
def Kiln_AsinhOp : Kiln_UnaryOp<"asinh", Kiln_FloatTensor> {
  let summary = "inverse hyperbolic sine";
}
def Kiln_AcoshOp : Kiln_UnaryOp<"acosh", Kiln_FloatTensor> {
  let summary = "inverse hyperbolic cosine";
}
def Kiln_AtanhOp : Kiln_UnaryOp<"atanh", Kiln_FloatTensor> {
  let summary = "inverse hyperbolic tangent";
}
def Kiln_SoftplusOp : Kiln_UnaryOp<"softplus", Kiln_FloatTensor> {
  let summary = "log(exp(x) + 1)";
}
def Kiln_HardSwishOp : Kiln_UnaryOp<"hard_swish", Kiln_FloatTensor> {
  let summary = "x * max(0, min(1, x / 6 + 1 / 2))";
}
def Kiln_SoftsignOp : Kiln_UnaryOp<"softsign", Kiln_FloatTensor> {
  let summary = "x / (1 + |x|)";
  let description = [{
    ```mlir
    %y = kiln.softsign %x : (tensor<4xf32>) -> tensor<4xf32>
    ```
  }];
}
def Kiln_NotOp : Kiln_UnaryOp<"not", Kiln_BoolTensor> {
  let summary = "logical not";
}

def Kiln_EluOp : Kiln_UnaryOp<"elu", Kiln_FloatTensor> {
  let summary = "x < 0 ? alpha * (exp(x) - 1) : x";
  let arguments = (ins Kiln_FloatTensor:$X,
                   DefaultValuedAttr<F32Attr, "1.0">:$alpha);
}
def Kiln_SeluOp : Kiln_UnaryOp<"selu", Kiln_FloatTensor> {
  let summary = "gamma * (x <= 0 ? alpha * (exp(x) - 1) : x)";
  let arguments = (ins Kiln_FloatTensor:$X,
                   DefaultValuedAttr<F32Attr, "1.67326319217681884765625">:$alpha,
                   DefaultValuedAttr<F32Attr, "1.05070102214813232421875">:$gamma);
}
def Kiln_LeakyReluOp : Kiln_UnaryOp<"leaky_relu", Kiln_FloatTensor> {
  let summary = "x < 0 ? alpha * x : x";
  let arguments = (ins Kiln_FloatTensor:$X,
                   DefaultValuedAttr<F32Attr, "0.01">:$alpha);
}
def Kiln_HardSigmoidOp : Kiln_UnaryOp<"hard_sigmoid", Kiln_FloatTensor> {
  let summary = "max(0, min(1, alpha * x + beta))";
  let arguments = (ins Kiln_FloatTensor:$X,
                   DefaultValuedAttr<F32Attr, "0.2">:$alpha,
                   DefaultValuedAttr<F32Attr, "0.5">:$beta);
}
def Kiln_GeluOp : Kiln_UnaryOp<"gelu", Kiln_FloatTensor> {
  let summary = "x * Phi(x); approximate = \"tanh\" uses the tanh formula";
  let arguments = (ins Kiln_FloatTensor:$X,
                   DefaultValuedStrAttr<StrAttr, "none">:$approximate);
}
def Kiln_ClipOp : Kiln_UnaryOp<"clip"> {
  let summary = "min(max(x, min), max); NaN propagates";
  let arguments = (ins Kiln_Tensor:$X, OptionalAttr<F64Attr>:$min,
                   OptionalAttr<F64Attr>:$max);
}

/// Not elementwise: it moves nothing, its folder removes it and its lowering
/// forwards the input.
def Kiln_IdentityOp : Kiln_UnaryOp<"identity", Kiln_Tensor, []> {
  let summary = "returns its input";
  let hasFolder = 1;
}

def Kiln_CastOp : Kiln_Op<"cast", [Kiln_Elementwise]> {
  let summary = "converts each element to the element type `to`";
  let description = [{
    Floats to integers truncate toward zero; to bool, nonzero is true.

    ```mlir
    %y = kiln.cast %x {to = i64} : (tensor<3xf32>) -> tensor<3xi64>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$input, TypeAttr:$to);
  let results = (outs Kiln_Tensor:$output);
  let hasFolder = 1;
}

//===----------------------------------------------------------------------===//
// Contractions
//===----------------------------------------------------------------------===//

def Kiln_MatMulOp : Kiln_Op<"matmul", [Kiln_FusionHero, Kiln_Contraction]> {
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

def Kiln_GemmOp : Kiln_Op<"gemm", [Kiln_FusionHero, Kiln_Contraction]> {
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

class Kiln_SoftmaxLikeOp<string mnemonic>
    : Kiln_Op<mnemonic, [Kiln_FusionHero]> {
  let arguments = (ins Kiln_FloatTensor:$input,
                   DefaultValuedAttr<I64Attr, "-1">:$axis);
  let results = (outs Kiln_FloatTensor:$output);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferAxisPreserving(loc, adaptor.getInput(),
                                                 adaptor.getAxis(), inferred);
    }
  }];
}

def Kiln_SoftmaxOp : Kiln_SoftmaxLikeOp<"softmax"> {
  let summary = "exp(x) / sum(exp(x)) along one axis (ONNX opset 13)";
  let description = [{
    ```mlir
    %y = kiln.softmax %x {axis = -1 : i64} : (tensor<2x10xf32>) -> tensor<2x10xf32>
    ```
  }];
}
def Kiln_LogSoftmaxOp : Kiln_SoftmaxLikeOp<"log_softmax"> {
  let summary = "log(softmax(x)) along one axis (ONNX opset 13)";
}

def Kiln_CumSumOp : Kiln_Op<"cumsum"> {
  let summary = "running sum along an axis";
  let arguments = (ins Kiln_Tensor:$input, I64Attr:$axis,
                   DefaultValuedAttr<I64Attr, "0">:$exclusive,
                   DefaultValuedAttr<I64Attr, "0">:$reverse);
  let results = (outs Kiln_Tensor:$output);
}

/// The Reduce* family; `overrides` names the ReductionOpInterface methods
/// with defaults that the op implements itself.
class Kiln_ReduceOp<string mnemonic, string what, list<string> overrides = []>
    : Kiln_Op<mnemonic,
              [Kiln_FusionHero,
               DeclareOpInterfaceMethods<Kiln_ReductionOpInterface,
                                         overrides>]> {
  let summary = what # " over the axes (all axes when none are given)";
  let description = [{
    `axes` may be negative (counted from the back); `keepdims` keeps the
    reduced axes as size 1. With no axes and `noop_with_empty_axes` = 1 the
    input is returned unchanged.

    ```mlir
    %y = kiln.reduce_sum %x {axes = array<i64: 1>, keepdims = 0 : i64}
        : (tensor<2x3xf32>) -> tensor<2xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data,
                   OptionalAttr<DenseI64ArrayAttr>:$axes,
                   DefaultValuedAttr<I64Attr, "1">:$keepdims,
                   DefaultValuedAttr<I64Attr, "0">:$noop_with_empty_axes);
  let results = (outs Kiln_Tensor:$reduced);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferReduce(
          loc, adaptor.getData(), adaptor.getAxes(), adaptor.getKeepdims(),
          adaptor.getNoopWithEmptyAxes(), inferred);
    }
  }];
}

def Kiln_ReduceSumOp : Kiln_ReduceOp<"reduce_sum", "sum">;
def Kiln_ReduceMeanOp : Kiln_ReduceOp<"reduce_mean", "arithmetic mean",
                                      ["dividesByCount"]>;
def Kiln_ReduceMaxOp : Kiln_ReduceOp<"reduce_max", "maximum">;
def Kiln_ReduceMinOp : Kiln_ReduceOp<"reduce_min", "minimum">;
def Kiln_ReduceProdOp : Kiln_ReduceOp<"reduce_prod", "product">;

def Kiln_DetOp : Kiln_Op<"det"> {
  let summary = "determinant of each square matrix in the last two axes";
  let description = [{
    ONNX Det: X is [..., M, M], the result [...]. Computed by Gaussian
    elimination with partial pivoting (the largest magnitude in each
    column), as LAPACK's getrf does, in X's element type.

    ```mlir
    %d = kiln.det %x : (tensor<3x4x4xf32>) -> tensor<3xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$X);
  let results = (outs Kiln_FloatTensor:$Y);
}

def Kiln_TopKOp : Kiln_Op<"topk"> {
  let summary = "the k largest (or smallest) entries along an axis, sorted";
  let description = [{
    Values come in order (largest first, or smallest first with largest =
    0); equal values keep their original order. Indices are i64.
  }];
  let arguments = (ins Kiln_Tensor:$X, I64Attr:$k,
                   DefaultValuedAttr<I64Attr, "-1">:$axis,
                   DefaultValuedAttr<I64Attr, "1">:$largest,
                   DefaultValuedAttr<I64Attr, "1">:$sorted);
  let results = (outs Kiln_Tensor:$values, RankedTensorOf<[I64]>:$indices);
}

class Kiln_ArgOp<string mnemonic, string what> : Kiln_Op<mnemonic> {
  let summary = "index of the " # what # " along an axis (i64)";
  let description = [{
    Ties give the first index, or the last with `select_last_index` = 1.
  }];
  let arguments = (ins Kiln_Tensor:$data,
                   DefaultValuedAttr<I64Attr, "0">:$axis,
                   DefaultValuedAttr<I64Attr, "1">:$keepdims,
                   DefaultValuedAttr<I64Attr, "0">:$select_last_index);
  let results = (outs RankedTensorOf<[I64]>:$reduced);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *ctx, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferArgReduce(loc, adaptor.getData(),
                                            adaptor.getAxis(),
                                            adaptor.getKeepdims(), inferred);
    }
  }];
}
def Kiln_ArgMaxOp : Kiln_ArgOp<"argmax", "maximum">;
def Kiln_ArgMinOp : Kiln_ArgOp<"argmin", "minimum">;

//===----------------------------------------------------------------------===//
// Convolution and pooling (NCHW, any number of spatial dimensions)
//===----------------------------------------------------------------------===//

def Kiln_ConvOp : Kiln_Op<"conv", [Kiln_FusionHero, Kiln_Contraction]> {
  let summary = "N-D convolution with groups, strides, dilations and pads";
  let description = [{
    X is [N, C, spatial...], W is [M, C/group, kernel...], B is [M], all of
    one element type (integers too: ConvInteger and QLinearConv accumulate
    in i32). `pads` lists the begin pads of each spatial axis, then the end
    pads; `auto_pad` (SAME_UPPER, SAME_LOWER, VALID) computes them instead.

    ```mlir
    %y = kiln.conv %x, %w {pads = array<i64: 1, 1, 1, 1>}
        : (tensor<1x3x8x8xf32>, tensor<4x3x3x3xf32>) -> tensor<1x4x8x8xf32>
    ```
  }];
  let arguments = (ins Kiln_NumericTensor:$X, Kiln_NumericTensor:$W,
                   Optional<Kiln_NumericTensor>:$B,
                   DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
                   OptionalAttr<DenseI64ArrayAttr>:$dilations,
                   DefaultValuedAttr<I64Attr, "1">:$group,
                   OptionalAttr<DenseI64ArrayAttr>:$kernel_shape,
                   OptionalAttr<DenseI64ArrayAttr>:$pads,
                   OptionalAttr<DenseI64ArrayAttr>:$strides);
  let results = (outs Kiln_NumericTensor:$Y);
}

// A 3x3 stride-1 convolution as 1-D Winograd F(4,3) along its height
// (kiln-winograd): four output rows from six input rows take 6 x 3
// multiplications per channel pair and column instead of 4 x 9. The three
// steps are ops of their own so that each is a kernel with a grid and the
// last fuses with the convolution's epilogue (bias, activation, residual).

def Kiln_WinogradInputOp : Kiln_Op<"winograd_input"> {
  let summary = "Winograd F(4,3) input transform along H (padding included)";
  let description = [{
    X is [N, C, H, W]; `pads` are the convolution's [top, left, bottom,
    right]. With Hp = H + top + bottom and T = ceil((Hp - 2) / 4) tiles of
    four output rows, X is padded with zeros (and with more rows at the
    bottom up to 4T + 2) into Xp, and the result V is [N, 6, C, T, Wp]
    (Wp = W + left + right) with V[n, e, c, t, w] = sum over i of
    BT[e][i] * Xp[n, c, 4t + i, w].

    ```mlir
    %v = kiln.winograd_input %x {pads = array<i64: 1, 1, 1, 1>}
        : (tensor<1x32x16x16xf32>) -> tensor<1x6x32x4x18xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$X, DenseI64ArrayAttr:$pads);
  let results = (outs Kiln_FloatTensor:$V);
}

def Kiln_WinogradConvOp
    : Kiln_Op<"winograd_conv", [Kiln_FusionHero, Kiln_Contraction]> {
  let summary = "Winograd F(4,3): the transformed filter applied per point";
  let description = [{
    V is [N, 6, C, T, Wp] (kiln.winograd_input), U the filter transformed
    along its height, [6, M, C, 3] (U[e, m, c, kw] = sum over kh of
    G[e][kh] * W[m, c, kh, kw]). Each tile's rows are taken as one long row
    (V' [N, 6, C, T * Wp], so that narrow images still fill vectors), and
    the result is P [N, 6, M, T * Wp - 2] with P[n, e, m, j] = sum over c
    and kw of U[e, m, c, kw] * V'[n, e, c, j + kw]: P[.., t * Wp + w] for
    w < Wp - 2 is tile t's column w, the rest is never read.

    ```mlir
    %p = kiln.winograd_conv %v, %u
        : (tensor<1x6x32x4x18xf32>, tensor<6x32x32x3xf32>)
        -> tensor<1x6x32x70xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$V, Kiln_FloatTensor:$U);
  let results = (outs Kiln_FloatTensor:$P);
}

def Kiln_WinogradOutputOp
    : Kiln_Op<"winograd_output", [Kiln_FusionHero, Kiln_Contraction]> {
  let summary = "Winograd F(4,3) output transform along H, plus the bias";
  let description = [{
    P is [N, 6, M, T * (W + 2) - 2] (kiln.winograd_conv), B an optional
    bias [M]. The result Y is [N, M, `height`, `width`] (4T - 3 <= height
    <= 4T) with Y[n, m, h, w] = B[m] + sum over e of AT[h mod 4][e] *
    P[n, e, m, (h floordiv 4) * (W + 2) + w].

    ```mlir
    %y = kiln.winograd_output %p, %b {height = 16 : i64, width = 16 : i64}
        : (tensor<1x6x32x70xf32>, tensor<32xf32>) -> tensor<1x32x16x16xf32>
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$P, Optional<Kiln_FloatTensor>:$B,
                   I64Attr:$height, I64Attr:$width);
  let results = (outs Kiln_FloatTensor:$Y);
}

def Kiln_ConvTransposeOp : Kiln_Op<"conv_transpose"> {
  let summary = "N-D transposed convolution (the gradient of Conv)";
  let description = [{
    X is [N, C, spatial...], W is [C, M/group, kernel...]. Output size per
    axis: stride * (in - 1) + output_padding + (kernel - 1) * dilation + 1
    - pad_begin - pad_end, or `output_shape` with pads computed to match.
  }];
  let arguments = (ins Kiln_FloatTensor:$X, Kiln_FloatTensor:$W,
                   Optional<Kiln_FloatTensor>:$B,
                   DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
                   OptionalAttr<DenseI64ArrayAttr>:$dilations,
                   DefaultValuedAttr<I64Attr, "1">:$group,
                   OptionalAttr<DenseI64ArrayAttr>:$kernel_shape,
                   OptionalAttr<DenseI64ArrayAttr>:$output_padding,
                   OptionalAttr<DenseI64ArrayAttr>:$output_shape,
                   OptionalAttr<DenseI64ArrayAttr>:$pads,
                   OptionalAttr<DenseI64ArrayAttr>:$strides);
  let results = (outs Kiln_FloatTensor:$Y);
}

class Kiln_PoolOp<string mnemonic, string what, Type tensorType>
    : Kiln_Op<mnemonic> {
  let summary = what # " pooling over windows of the spatial axes";
  let arguments = (ins tensorType:$X,
                   DefaultValuedStrAttr<StrAttr, "NOTSET">:$auto_pad,
                   DefaultValuedAttr<I64Attr, "0">:$ceil_mode,
                   DefaultValuedAttr<I64Attr, "0">:$count_include_pad,
                   OptionalAttr<DenseI64ArrayAttr>:$dilations,
                   DenseI64ArrayAttr:$kernel_shape,
                   OptionalAttr<DenseI64ArrayAttr>:$pads,
                   OptionalAttr<DenseI64ArrayAttr>:$strides);
  let results = (outs tensorType:$Y);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      return ::kiln::detail::inferPool(loc, adaptor, inferred);
    }
  }];
}
def Kiln_MaxPoolOp : Kiln_PoolOp<"max_pool", "maximum", Kiln_Tensor>;
def Kiln_AveragePoolOp
    : Kiln_PoolOp<"average_pool", "average", Kiln_FloatTensor>;

//===----------------------------------------------------------------------===//
// Data movement
//===----------------------------------------------------------------------===//

def Kiln_ReshapeOp : Kiln_Op<"reshape"> {
  let summary = "the same elements in a new shape";
  let description = [{
    `shape` follows ONNX Reshape: 0 copies the input's dimension at that
    position (unless `allowzero` is 1, when it means size 0), and one -1 is
    inferred from the element count.

    ```mlir
    %y = kiln.reshape %x {shape = array<i64: 0, -1>} : (tensor<2x3x4xf32>) -> tensor<2x12xf32>
    ```
  }];
  let arguments = (ins Kiln_Tensor:$data, DenseI64ArrayAttr:$shape,
                   DefaultValuedAttr<I64Attr, "0">:$allowzero);
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

def Kiln_EinsumOp : Kiln_Op<"einsum"> {
  let summary = "Einstein summation, as numpy.einsum";
  let description = [{
    Labels in `equation` name axes; labels missing from the output are
    summed over. "..." stands for broadcast leading axes; without "->" the
    output is the ellipsis axes, then the labels used once, in order.

    ```mlir
    %y = kiln.einsum %a, %b {equation = "bij,bjk->bik"}
        : (tensor<5x2x3xf32>, tensor<5x3x4xf32>) -> tensor<5x2x4xf32>
    ```
  }];
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, StrAttr:$equation);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_ConcatOp : Kiln_Op<"concat"> {
  let summary = "joins tensors along an axis";
  let arguments = (ins Variadic<Kiln_Tensor>:$inputs, I64Attr:$axis);
  let results = (outs Kiln_Tensor:$concat_result);
  let hasFolder = 1;
}

def Kiln_SliceOp : Kiln_Op<"slice"> {
  let summary = "a strided window, as ONNX Slice with constant bounds";
  let description = [{
    For each listed axis (all, in order, when `axes` is absent) the window
    runs from `starts` to `ends` (exclusive) by `steps` (default 1);
    negative values count from the back and out-of-range values clamp.
  }];
  let arguments = (ins Kiln_Tensor:$data, DenseI64ArrayAttr:$starts,
                   DenseI64ArrayAttr:$ends,
                   OptionalAttr<DenseI64ArrayAttr>:$axes,
                   OptionalAttr<DenseI64ArrayAttr>:$steps);
  let results = (outs Kiln_Tensor:$output);
  let hasFolder = 1;
}

def Kiln_GatherOp : Kiln_Op<"gather",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "picks entries of `data` along `axis` at `indices`";
  let description = [{
    The result shape is data.shape[:axis] + indices.shape +
    data.shape[axis+1:]. Negative indices count from the back. Constant
    indices out of range are refused by the verifier; a fed index out of
    range fails the run (the kernel reads index 0 in its place, never out
    of bounds; docs/semantics.md).
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Kiln_Tensor:$output);
  let hasFolder = 1;
  let hasVerifier = 1;
}

def Kiln_GatherElementsOp : Kiln_Op<"gather_elements",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "output[p] = data[p with its `axis` coordinate = indices[p]]";
  let description = [{
    ONNX GatherElements: the output has the shape of `indices`, whose
    dimensions other than `axis` are at most data's. Negative indices count
    from the back; a fed index out of range fails the run.
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$axis);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_GatherNDOp : Kiln_Op<"gather_nd",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "gathers slices of `data` at index tuples (ONNX GatherND)";
  let description = [{
    The last axis of `indices` (length k) holds coordinates into data's axes
    batch_dims .. batch_dims + k - 1; the first `batch_dims` axes are shared
    by data and indices. The output shape is indices.shape[:-1] +
    data.shape[batch_dims + k:]. Negative coordinates count from the back;
    a fed one out of range fails the run.
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                   DefaultValuedAttr<I64Attr, "0">:$batch_dims);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_ScatterElementsOp : Kiln_Op<"scatter_elements",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "data with updates[p] written at p's `axis` coordinate = indices[p]";
  let description = [{
    ONNX ScatterElements (and Scatter): `indices` and `updates` share a
    shape. `reduction` is "none" (the update replaces the element; of
    several updates to one element the last in index order wins), "add",
    "mul", "max" or "min" (each combines with the element). Negative
    indices count from the back; a fed index out of range fails the run.
    Each output element looks at every update along the axis: the cost is
    the output's size times the updates' length along `axis`.
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                   Kiln_Tensor:$updates,
                   DefaultValuedAttr<I64Attr, "0">:$axis,
                   DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_ScatterNDOp : Kiln_Op<"scatter_nd",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "data with slices of `updates` written at index tuples";
  let description = [{
    ONNX ScatterND: the last axis of `indices` (length k) holds coordinates
    into data's first k axes; updates has the shape indices.shape[:-1] +
    data.shape[k:]. `reduction` as in ScatterElements. Each output element
    looks at every index tuple: the cost is the output's size times the
    number of tuples.
  }];
  let arguments = (ins Kiln_Tensor:$data, Kiln_IndexTensor:$indices,
                   Kiln_Tensor:$updates,
                   DefaultValuedStrAttr<StrAttr, "none">:$reduction);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_ExpandOp : Kiln_Op<"expand"> {
  let summary = "broadcasts the input with `shape` (NumPy rules)";
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$shape);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_TileOp : Kiln_Op<"tile"> {
  let summary = "repeats the input `repeats[i]` times along axis i";
  let arguments = (ins Kiln_Tensor:$input, DenseI64ArrayAttr:$repeats);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_PadOp : Kiln_Op<"pad"> {
  let summary = "pads with a constant, or by reflecting or repeating edges";
  let description = [{
    `pads` holds the begin pads of every axis, then the end pads.
    `mode` is "constant" (with `value`), "reflect", "edge" or "wrap".
  }];
  let arguments = (ins Kiln_Tensor:$data, DenseI64ArrayAttr:$pads,
                   DefaultValuedStrAttr<StrAttr, "constant">:$mode,
                   DefaultValuedAttr<F64Attr, "0.0">:$value);
  let results = (outs Kiln_Tensor:$output);
}

def Kiln_TriluOp : Kiln_Op<"trilu"> {
  let summary = "keeps the upper (or lower) triangle of the last two axes";
  let arguments = (ins Kiln_Tensor:$input,
                   DefaultValuedAttr<I64Attr, "1">:$upper,
                   DefaultValuedAttr<I64Attr, "0">:$k);
  let results = (outs Kiln_Tensor:$output);
}

//===----------------------------------------------------------------------===//
// Recurrent layers
//===----------------------------------------------------------------------===//

def Kiln_RecurrenceOp : Kiln_Op<"recurrence",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "one direction of an ONNX RNN, GRU or LSTM layer, over time";
  let description = [{
    The recurrence once the input projection is done: `inputs` is
    X W^T + Wb for every time step at once ([seq, batch, G*H], G gates: 1
    for "rnn", 3 for "gru" (z, r, h), 4 for "lstm" (i, o, f, c)),
    `recurrence` R^T ([H, G*H]: ONNX's R of one direction transposed, so
    that h R^T reads it along its rows) and `bias` Rb ([G*H]), `initial_h` and `initial_c` ([batch, H]; c is read by
    LSTM only) and `peepholes` ([3H]: i, o, f; LSTM only). Step t (from
    the last step back with `reverse`) computes the gates from
    inputs[t] + h R^T + Rb with ONNX's equations, `activations` (f, g, h;
    one per cell function) with `activation_alpha` and `activation_beta`
    (one each per activation, filled in by the importer), `clip` applied to
    every gate's input, `input_forget` (LSTM) and `linear_before_reset`
    (GRU). With `sequence_lens`, steps at or past a batch entry's length
    leave its state as it is and output 0 (a length outside [0, seq] fails
    the run). Results: every step's h
    ([seq, batch, H]), the last h and the last c ([batch, H]). Lowers to
    one loop over the steps, each a matrix product and one elementwise
    kernel (two of each for GRU without linear_before_reset).

    ```mlir
    %y, %h, %c = kiln.recurrence %xw, %rt, %rb, %h0, %c0, %p
        {cell = "lstm", activations = ["Sigmoid", "Tanh", "Tanh"],
         activation_alpha = [0.0, 0.0, 0.0], activation_beta = [0.0, 0.0, 0.0]}
        : (tensor<5x2x12xf32>, tensor<3x12xf32>, tensor<12xf32>,
           tensor<2x3xf32>, tensor<2x3xf32>, tensor<9xf32>)
        -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
    ```
  }];
  let arguments = (ins Kiln_FloatTensor:$inputs, Kiln_FloatTensor:$recurrence,
                   Kiln_FloatTensor:$bias, Kiln_FloatTensor:$initial_h,
                   Kiln_FloatTensor:$initial_c, Kiln_FloatTensor:$peepholes,
                   Optional<Kiln_IndexTensor>:$sequence_lens,
                   StrAttr:$cell, StrArrayAttr:$activations,
                   F64ArrayAttr:$activation_alpha,
                   F64ArrayAttr:$activation_beta, OptionalAttr<F64Attr>:$clip,
                   DefaultValuedAttr<BoolAttr, "false">:$reverse,
                   DefaultValuedAttr<I64Attr, "0">:$input_forget,
                   DefaultValuedAttr<I64Attr, "0">:$linear_before_reset);
  let results = (outs Kiln_FloatTensor:$y, Kiln_FloatTensor:$y_h,
                 Kiln_FloatTensor:$y_c);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Run-time checks
//===----------------------------------------------------------------------===//

def Kiln_InRangeOp : Kiln_Op<"in_range",
    [DeclareOpInterfaceMethods<Kiln_RuntimeCheckOpInterface>]> {
  let summary = "its operand, whose values must lie in [lower, upper]";
  let description = [{
    For converters, where ONNX restricts values more than the ops they
    build from do: NegativeLogLikelihoodLoss's targets lie in [0, C), where
    the GatherElements it becomes would take [-C, C). kiln-insert-checks
    checks it like any rule ("`what` 7 is out of range [0, 3]"); the
    lowering passes the operand through.
  }];
  let arguments = (ins Kiln_IndexTensor:$input, I64Attr:$lower,
                   I64Attr:$upper, StrAttr:$what);
  let results = (outs Kiln_IndexTensor:$output);
  let extraClassDefinition = [{
    ::llvm::LogicalResult $cppClass::inferReturnTypes(
        ::mlir::MLIRContext *, std::optional<::mlir::Location> loc,
        Adaptor adaptor, ::llvm::SmallVectorImpl<::mlir::Type> &inferred) {
      inferred.push_back(adaptor.getInput().getType());
      return ::mlir::success();
    }
  }];
}

def Kiln_CheckOp : Kiln_Op<"check"> {
  let summary = "counts the values that break a run-time rule";
  let description = [{
    Made by kiln-insert-checks from an op's RuntimeRule: a value v at
    position p of the last axis is good when lower[p] <= v <= upper[p]
    (`inside`) or when it lies outside that range (not `inside`); lower
    and upper hold one entry or one per position of the last axis. The
    result is [the number of bad values, the largest bad value] (the
    second is INT64_MIN when none is bad). @main returns it; the runtime
    reads it after the run and fails the run with `message`, "{value}"
    replaced by the bad value.

    ```mlir
    %c = kiln.check %idx {lower = array<i64: -5>, upper = array<i64: 4>,
        inside = true, message = "node 'g' (Gather): index {value} ..."}
        : (tensor<3xi64>) -> tensor<2xi64>
    ```
  }];
  let arguments = (ins RankedTensorOf<[I1, I8, I16, I32, I64, UI8, UI16,
                                       UI32, UI64]>:$values,
                   DenseI64ArrayAttr:$lower, DenseI64ArrayAttr:$upper,
                   BoolAttr:$inside, StrAttr:$message);
  let results = (outs RankedTensorOf<[I64]>:$result);
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Fusion
//===----------------------------------------------------------------------===//

def Kiln_FusionOp : Op<Kiln_Dialect, "fusion",
                       [IsolatedFromAbove, Pure,
                        SingleBlockImplicitTerminator<"YieldOp">]> {
  let summary = "a region of ops that becomes exactly one kernel";
  let description = [{
    Made by the kiln-fuse pass, as XLA's fusion computations are: the body
    computes the results from the block arguments (the inputs), and code
    generation emits it as one kernel. At most one op in it is a fusion hero
    (a contraction or reduction); the rest are elementwise.

    ```mlir
    %y = kiln.fusion "fusion_0_gemm_add_relu" (%x, %w, %b)
        : (tensor<2x4xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x8xf32> {
    ^bb0(%a: tensor<2x4xf32>, %c: tensor<4x8xf32>, %d: tensor<8xf32>):
      ...
      kiln.yield %r : tensor<2x8xf32>
    }
    ```
  }];
  let arguments = (ins Variadic<AnyRankedTensor>:$inputs, StrAttr:$kernel);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let assemblyFormat = [{
    $kernel `(` $inputs `)` attr-dict `:` functional-type($inputs, results)
    $body
  }];
  let hasVerifier = 1;
}

//===----------------------------------------------------------------------===//
// Control flow
//===----------------------------------------------------------------------===//

def Kiln_IfOp : Op<Kiln_Dialect, "if",
                   [RecursiveMemoryEffects, NoRegionArguments]> {
  let summary = "runs one of two regions, as a bool known at run time says";
  let description = [{
    ONNX If on a condition computed at run time (one known at compile time
    is resolved by the importer). Each region computes the results from the
    values around it and yields them; both yield the result types, static
    shapes included. The whole op becomes one kernel, in which only the
    branch taken runs (scf.if); kiln-insert-checks gives it one more result
    per run-time check inside (docs/semantics.md).

    ```mlir
    %y = "kiln.if"(%c) ({
      %a = kiln.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
      kiln.yield %a : tensor<4xf32>
    }, {
      kiln.yield %x : tensor<4xf32>
    }) : (tensor<i1>) -> tensor<4xf32>
    ```
  }];
  let arguments = (ins Kiln_BoolTensor:$cond);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$thenRegion,
                        SizedRegion<1>:$elseRegion);
  let hasVerifier = 1;
}

def Kiln_LoopOp : Op<Kiln_Dialect, "loop", [RecursiveMemoryEffects]> {
  let summary = "ONNX Loop: up to a trip count, or while a condition holds";
  let description = [{
    Runs `body` up to `trip_count` times while the condition holds, or,
    with `trip_count` = -1, for as long as it holds. The body's block
    arguments are the iteration number (tensor<i64>), the condition
    (tensor<i1>) and the loop-carried values (`inits` on entry); it yields
    the next condition, the next carried values (of the same types) and
    the values of this iteration's scan outputs. The results are the final
    carried values, then each scan output's values of every iteration
    stacked along a new first axis of length `trip_count` (only when the
    condition cannot turn false: the importer checks; never with
    `trip_count` = -1). Once the condition is false the carried values stay
    as they are. Lowered to one scf.for (scf.while for -1) in one kernel,
    never unrolled; kiln-insert-checks gives it one more carried value per
    run-time check inside (docs/semantics.md). ONNX Scan becomes a kiln.loop too; a trip count
    known only at run time is part of the condition.
  }];
  let arguments = (ins Kiln_BoolTensor:$cond,
                   Variadic<AnyRankedTensor>:$inits, I64Attr:$trip_count);
  let results = (outs Variadic<AnyRankedTensor>:$results);
  let regions = (region SizedRegion<1>:$body);
  let hasVerifier = 1;
}

def Kiln_YieldOp : Op<Kiln_Dialect, "yield",
                      [Pure, Terminator,
                       ParentOneOf<["FusionOp", "IfOp", "LoopOp"]>]> {
  let summary = "the results of a kiln.fusion, kiln.if or kiln.loop region";
  let arguments = (ins Variadic<AnyRankedTensor>:$values);
  let assemblyFormat = "$values attr-dict `:` type($values)";
  let builders = [OpBuilder<(ins), [{ }]>];
}

//===----------------------------------------------------------------------===//
// The launch plan
//===----------------------------------------------------------------------===//

def Kiln_DispatchOp : Op<Kiln_Dialect, "dispatch",
                         [DeclareOpInterfaceMethods<SymbolUserOpInterface>]> {
  let summary = "runs one outlined kernel over its grid";
  let description = [{
    What is left of `@main` after kiln-outline-kernels: each dispatch calls
    kernel function `$kernel` once per point of a one-dimensional grid of
    `$grid` tiles (the kernel takes its buffers, then the first and the end
    tile of the range it computes). The buffers are feeds and fetches (the
    entry function's arguments) or views of the arena at constant offsets;
    dispatches run in order.

    ```mlir
    kiln.dispatch @k0_dense grid(4) (%x, %view) : memref<64x784xf32>, memref<64x512xf32>
    ```
  }];
  let arguments = (ins FlatSymbolRefAttr:$kernel, I64Attr:$grid,
                       Variadic<AnyMemRef>:$buffers);
  let assemblyFormat = [{
    $kernel `grid` `(` $grid `)` (`(` $buffers^ `)` `:` type($buffers))?
    attr-dict
  }];
}

#endif // KILN_OPS_TD
