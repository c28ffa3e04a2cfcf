//===- Interfaces.td - The kiln dialect's op interfaces ----*- tablegen -*-===//
//
// Part of Kiln. The categories that passes and lowerings ask an op about,
// each with the methods they need, so that none of them keeps a list of ops:
// an op joins a category by declaring the interface in Ops.td and
// implementing its methods (the scalar bodies are in ScalarBodies.cc).
//
//===----------------------------------------------------------------------===//
#ifndef KILN_INTERFACES_TD
#define KILN_INTERFACES_TD

include "mlir/IR/OpBase.td"

def Kiln_ElementwiseOpInterface : OpInterface<"ElementwiseOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op that computes each output element from the elements at the same
    (NumPy-broadcast) position of its operands, and nothing else. Fusion
    chains these freely (passes/Fuse.cc), and one conversion pattern lowers
    every one of them to a linalg.generic whose body is `buildScalar`
    (codegen/common/ElementwiseLowering.cc).
  }];
  let methods = [
    InterfaceMethod<[{
        Builds what one output element computes from `elements`, the
        operands' elements in operand order, with `b` inside the loop body.
        The elements are signless (a ui8 operand's element is an i8):
        `computesOnUnsigned` says when integers are unsigned. Uses arith
        and math ops only.
      }],
      "::mlir::Value", "buildScalar",
      (ins "::mlir::OpBuilder &":$b, "::mlir::Location":$loc,
           "::mlir::ValueRange":$elements)>,
    InterfaceMethod<[{
        Whether the op's integer elements are unsigned, which picks the
        unsigned arith ops (divui, maxui, cmpi ult, uitofp). By default,
        from the last operand: both operands of a binary op, Where's
        values, Cast's input.
      }],
      "bool", "computesOnUnsigned", (ins), [{}], [{
        ::mlir::Operation *op = $_op.getOperation();
        return ::mlir::getElementTypeOrSelf(
                   op->getOperand(op->getNumOperands() - 1).getType())
            .isUnsignedInteger();
      }]>,
  ];
}

def Kiln_ReductionOpInterface : OpInterface<"ReductionOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op that folds the elements of its input along some axes with an
    associative combiner: ONNX's Reduce* family. One conversion pattern
    lowers every one of them (codegen/common/ReductionLowering.cc): a
    linalg.generic reduction starting from `getReductionInit`, combining
    with `combineReduction`, then a division by the element count when
    `dividesByCount` (the mean).
  }];
  let methods = [
    InterfaceMethod<[{
        The accumulator's initial value of signless element type
        `elementType`: the combiner's identity (0 for a sum, -inf or the
        smallest integer for a maximum).
      }],
      "::mlir::TypedAttr", "getReductionInit",
      (ins "::mlir::OpBuilder &":$b, "::mlir::Type":$elementType)>,
    InterfaceMethod<[{
        The next accumulator from one input element and the accumulator
        (signless scalars).
      }],
      "::mlir::Value", "combineReduction",
      (ins "::mlir::OpBuilder &":$b, "::mlir::Location":$loc,
           "::mlir::Value":$element, "::mlir::Value":$accumulator)>,
    InterfaceMethod<[{
        Whether the result is the combined value divided by the number of
        elements combined (ReduceMean). Integers divide truncating.
      }],
      "bool", "dividesByCount", (ins), [{}], [{ return false; }]>,
    InterfaceMethod<"The tensor reduced.", "::mlir::Value",
      "getReductionInput", (ins), [{}], [{ return $_op.getData(); }]>,
    InterfaceMethod<[{
        The axes reduced, possibly negative; all of them when absent
        (unless `isNoopWithEmptyAxes`).
      }],
      "std::optional<::llvm::ArrayRef<int64_t>>", "getReductionAxes", (ins),
      [{}], [{ return $_op.getAxes(); }]>,
    InterfaceMethod<"Whether no axes means no reduction at all.", "bool",
      "isNoopWithEmptyAxes", (ins), [{}],
      [{ return $_op.getNoopWithEmptyAxes() != 0; }]>,
    InterfaceMethod<"Whether integer elements are unsigned.", "bool",
      "computesOnUnsigned", (ins), [{}], [{
        return ::mlir::getElementTypeOrSelf(
                   $_op.getReductionInput().getType())
            .isUnsignedInteger();
      }]>,
  ];
}

def Kiln_IdentityElementOpInterface
    : OpInterface<"IdentityElementOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    A binary op with identity elements: constants c for which `x op c` (or
    `c op x`) is x itself, bit for bit, for every x. kiln-simplify
    (passes/Simplify.cc) removes such an op when the other operand already
    has the result's type.
  }];
  let methods = [
    InterfaceMethod<[{
        Whether splat constant `constant`, as the other operand, leaves
        operand `side` (0 or 1) unchanged for every value, -0.0 and NaN
        included (x + 0.0 is not x: it turns -0.0 into +0.0).
      }],
      "bool", "isIdentityElement",
      (ins "::mlir::DenseElementsAttr":$constant, "unsigned":$side)>,
  ];
}

def Kiln_RuntimeCheckOpInterface : OpInterface<"RuntimeCheckOpInterface"> {
  let cppNamespace = "::kiln";
  let description = [{
    An op with operands whose values must obey a rule the types cannot
    express (an index within its axis, an integer divisor other than 0).
    kiln-insert-checks (passes/InsertChecks.cc) checks a constant operand
    at compile time and adds a kiln.check of any other, so that a run that
    breaks the rule fails with the node named (docs/semantics.md). The
    op's own lowering must still never read or write out of bounds.
  }];
  let methods = [
    InterfaceMethod<[{
        Appends the rules the op's operands must obey (RuntimeRule,
        ir/Dialect.h).
      }],
      "void", "getRuntimeRules",
      (ins "::llvm::SmallVectorImpl<::kiln::RuntimeRule> &":$rules)>,
  ];
}

#endif // KILN_INTERFACES_TD
