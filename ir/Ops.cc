//===- Ops.cc - kiln dialect: type inference, folders ---------------------===//
//
// Part of Kiln. Type inference here is the single source of truth for
// result shapes: the importers build ops without result types, and the
// verifier checks declared types against it. Errors are emitted at the op's
// location, which is the user's node name.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"

#include "mlir/Dialect/CommonFolders.h"
#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

#include <cmath>
#include <functional>

using namespace mlir;
using namespace kiln;

#include "ir/KilnDialect.cpp.inc"

void KilnDialect::initialize() {
  addOperations<
#define GET_OP_LIST
#include "ir/KilnOps.cpp.inc"
      >();
}

Operation *KilnDialect::materializeConstant(OpBuilder &builder, Attribute value,
                                            Type type, Location loc) {
  auto elements = dyn_cast<ElementsAttr>(value);
  if (!elements || elements.getType() != type)
    return nullptr;
  return builder.create<ConstantOp>(loc, type, elements);
}

//===----------------------------------------------------------------------===//
// Shared helpers
//===----------------------------------------------------------------------===//

LogicalResult kiln::broadcastShapes(ArrayRef<int64_t> a, ArrayRef<int64_t> b,
                                    SmallVectorImpl<int64_t> &result) {
  result.clear();
  return success(OpTrait::util::getBroadcastedShape(a, b, result));
}

int64_t kiln::normalizeAxis(int64_t axis, int64_t rank) {
  if (axis < -rank || axis >= rank)
    return -1;
  return axis < 0 ? axis + rank : axis;
}

namespace {

std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, ",");
  os << "]";
  return s;
}

RankedTensorType rankedType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// Every kiln tensor must have a static shape.
LogicalResult requireStatic(std::optional<Location> loc, ValueRange operands) {
  for (auto [i, v] : llvm::enumerate(operands)) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return emitOptionalError(loc, "operand #", i,
                               " must have a static shape, got ", v.getType());
  }
  return success();
}

LogicalResult inferBroadcastBinary(std::optional<Location> loc, Value a,
                                   Value b, SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, {a, b})))
    return failure();
  RankedTensorType ta = rankedType(a), tb = rankedType(b);
  if (ta.getElementType() != tb.getElementType())
    return emitOptionalError(loc, "operand element types differ: ",
                             ta.getElementType(), " and ", tb.getElementType());
  SmallVector<int64_t> shape;
  if (failed(broadcastShapes(ta.getShape(), tb.getShape(), shape)))
    return emitOptionalError(loc, "shapes ", shapeStr(ta.getShape()), " and ",
                             shapeStr(tb.getShape()), " do not broadcast");
  inferred.push_back(RankedTensorType::get(shape, ta.getElementType()));
  return success();
}

/// Constant-folds a binary op whose operands are constants of one type.
OpFoldResult
foldBinary(ArrayRef<Attribute> operands,
           function_ref<APFloat(APFloat, APFloat)> floatFn,
           function_ref<std::optional<APInt>(APInt, APInt)> intFn) {
  if (operands.size() != 2 || !operands[0] || !operands[1])
    return {};
  auto lhs = dyn_cast<DenseElementsAttr>(operands[0]);
  auto rhs = dyn_cast<DenseElementsAttr>(operands[1]);
  if (!lhs || !rhs || lhs.getType() != rhs.getType())
    return {};
  Type elem = lhs.getType().getElementType();
  if (isa<FloatType>(elem))
    return constFoldBinaryOp<FloatAttr, APFloat, void>(operands, floatFn);
  if (elem.isInteger(1) || !intFn)
    return {};
  // Any element whose computation is undefined stops the fold.
  SmallVector<APInt> values;
  for (auto [x, y] :
       llvm::zip(lhs.getValues<APInt>(), rhs.getValues<APInt>())) {
    std::optional<APInt> r = intFn(x, y);
    if (!r)
      return {};
    values.push_back(*r);
  }
  return DenseElementsAttr::get(lhs.getType(), values);
}

/// Constant-folds a float unary op element by element in double precision.
OpFoldResult foldUnaryFloat(Attribute operand,
                            const std::function<double(double)> &fn) {
  auto input = dyn_cast_or_null<DenseElementsAttr>(operand);
  if (!input || !isa<FloatType>(input.getType().getElementType()))
    return {};
  const llvm::fltSemantics &sem =
      cast<FloatType>(input.getType().getElementType()).getFloatSemantics();
  SmallVector<APFloat> values;
  for (APFloat x : input.getValues<APFloat>()) {
    APFloat r(fn(x.convertToDouble()));
    bool lost;
    r.convert(sem, APFloat::rmNearestTiesToEven, &lost);
    values.push_back(r);
  }
  return DenseElementsAttr::get(input.getType(), values);
}

} // namespace

//===----------------------------------------------------------------------===//
// ConstantOp
//===----------------------------------------------------------------------===//

LogicalResult ConstantOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  auto type = dyn_cast<RankedTensorType>(adaptor.getValue().getType());
  if (!type || !type.hasStaticShape())
    return emitOptionalError(loc,
                             "constant must be a statically shaped tensor");
  inferred.push_back(type);
  return success();
}

OpFoldResult ConstantOp::fold(FoldAdaptor) { return getValue(); }

//===----------------------------------------------------------------------===//
// Elementwise ops
//===----------------------------------------------------------------------===//

#define KILN_BINARY_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferBroadcastBinary(loc, adaptor.getA(), adaptor.getB(),           \
                                inferred);                                     \
  }
KILN_BINARY_INFER(AddOp)
KILN_BINARY_INFER(SubOp)
KILN_BINARY_INFER(MulOp)
KILN_BINARY_INFER(DivOp)
#undef KILN_BINARY_INFER

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), [](APFloat a, APFloat b) { return a + b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a + b; });
}
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), [](APFloat a, APFloat b) { return a - b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a - b; });
}
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), [](APFloat a, APFloat b) { return a * b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a * b; });
}
OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), [](APFloat a, APFloat b) { return a / b; },
      [](APInt a, APInt b) -> std::optional<APInt> {
        // Division by zero and INT_MIN / -1 are left to run time.
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        return a.sdiv(b);
      });
}

#define KILN_UNARY_INFER(OP)                                                   \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &inferred) {                                       \
    if (failed(requireStatic(loc, adaptor.getOperands())))                     \
      return failure();                                                        \
    inferred.push_back(adaptor.getOperands()[0].getType());                    \
    return success();                                                          \
  }
KILN_UNARY_INFER(ReluOp)
KILN_UNARY_INFER(NegOp)
KILN_UNARY_INFER(SigmoidOp)
KILN_UNARY_INFER(TanhOp)
KILN_UNARY_INFER(ExpOp)
KILN_UNARY_INFER(LogOp)
KILN_UNARY_INFER(SqrtOp)
KILN_UNARY_INFER(IdentityOp)
#undef KILN_UNARY_INFER

OpFoldResult ReluOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(),
                        [](double x) { return x > 0 ? x : 0.0; });
}
OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return -x; });
}
OpFoldResult SigmoidOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(),
                        [](double x) { return 1.0 / (1.0 + std::exp(-x)); });
}
OpFoldResult TanhOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::tanh(x); });
}
OpFoldResult ExpOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::exp(x); });
}
OpFoldResult LogOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::log(x); });
}
OpFoldResult SqrtOp::fold(FoldAdaptor adaptor) {
  return foldUnaryFloat(adaptor.getX(), [](double x) { return std::sqrt(x); });
}
OpFoldResult IdentityOp::fold(FoldAdaptor) { return getInput(); }

//===----------------------------------------------------------------------===//
// MatMulOp, GemmOp
//===----------------------------------------------------------------------===//

LogicalResult MatMulOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType ta = rankedType(adaptor.getA());
  RankedTensorType tb = rankedType(adaptor.getB());
  if (ta.getElementType() != tb.getElementType())
    return emitOptionalError(loc, "operand element types differ: ",
                             ta.getElementType(), " and ", tb.getElementType());
  if (ta.getRank() < 1 || tb.getRank() < 1)
    return emitOptionalError(loc, "MatMul operands must have rank >= 1");
  ArrayRef<int64_t> a = ta.getShape(), b = tb.getShape();
  int64_t k_a = a.back();
  int64_t k_b = b.size() == 1 ? b[0] : b[b.size() - 2];
  if (k_a != k_b)
    return emitOptionalError(loc, "inner dimensions differ: A is ", shapeStr(a),
                             ", B is ", shapeStr(b));
  SmallVector<int64_t> batch;
  ArrayRef<int64_t> batchA =
      a.size() > 2 ? a.drop_back(2) : ArrayRef<int64_t>();
  ArrayRef<int64_t> batchB =
      b.size() > 2 ? b.drop_back(2) : ArrayRef<int64_t>();
  if (failed(broadcastShapes(batchA, batchB, batch)))
    return emitOptionalError(loc, "batch dimensions of ", shapeStr(a), " and ",
                             shapeStr(b), " do not broadcast");
  SmallVector<int64_t> shape(batch);
  if (a.size() >= 2)
    shape.push_back(a[a.size() - 2]);
  if (b.size() >= 2)
    shape.push_back(b.back());
  inferred.push_back(RankedTensorType::get(shape, ta.getElementType()));
  return success();
}

LogicalResult GemmOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType ta = rankedType(adaptor.getA());
  RankedTensorType tb = rankedType(adaptor.getB());
  if (ta.getRank() != 2 || tb.getRank() != 2)
    return emitOptionalError(loc, "Gemm operands A and B must be 2-D, got ",
                             shapeStr(ta.getShape()), " and ",
                             shapeStr(tb.getShape()));
  if (ta.getElementType() != tb.getElementType())
    return emitOptionalError(loc, "operand element types differ: ",
                             ta.getElementType(), " and ", tb.getElementType());
  bool transA = adaptor.getTransA() != 0, transB = adaptor.getTransB() != 0;
  int64_t m = ta.getDimSize(transA ? 1 : 0), k = ta.getDimSize(transA ? 0 : 1);
  int64_t kb = tb.getDimSize(transB ? 1 : 0), n = tb.getDimSize(transB ? 0 : 1);
  if (k != kb)
    return emitOptionalError(loc, "inner dimensions differ: op(A) is [", m, ",",
                             k, "], op(B) is [", kb, ",", n, "]");
  SmallVector<int64_t> shape = {m, n};
  if (Value c = adaptor.getC()) {
    RankedTensorType tc = rankedType(c);
    SmallVector<int64_t> out;
    if (tc.getElementType() != ta.getElementType() ||
        failed(broadcastShapes(tc.getShape(), shape, out)) ||
        ArrayRef<int64_t>(out) != ArrayRef<int64_t>(shape))
      return emitOptionalError(loc, "C of type ", tc,
                               " does not broadcast to the result [", m, ",", n,
                               "]");
  }
  inferred.push_back(RankedTensorType::get(shape, ta.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// SoftmaxOp, reductions
//===----------------------------------------------------------------------===//

LogicalResult SoftmaxOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getInput());
  if (normalizeAxis(adaptor.getAxis(), t.getRank()) < 0)
    return emitOptionalError(loc, "axis ", adaptor.getAxis(),
                             " is out of range for rank ", t.getRank());
  inferred.push_back(t);
  return success();
}

/// Shared by the reductions: validates `axes` and computes the result shape.
static LogicalResult inferReduce(std::optional<Location> loc, Value data,
                                 std::optional<ArrayRef<int64_t>> axes,
                                 int64_t keepdims,
                                 SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, {data})))
    return failure();
  RankedTensorType t = rankedType(data);
  int64_t rank = t.getRank();
  SmallVector<bool> reduced(rank, !axes || axes->empty());
  if (axes) {
    for (int64_t axis : *axes) {
      int64_t a = normalizeAxis(axis, rank);
      if (a < 0)
        return emitOptionalError(loc, "axis ", axis,
                                 " is out of range for rank ", rank);
      if (reduced[a] && !axes->empty() && llvm::count(*axes, axis) > 1)
        return emitOptionalError(loc, "axis ", axis, " appears twice");
      reduced[a] = true;
    }
  }
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (!reduced[i])
      shape.push_back(t.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

#define KILN_REDUCE_INFER(OP)                                                  \
  LogicalResult OP::inferReturnTypes(                                          \
      MLIRContext *, std::optional<Location> loc, Adaptor adaptor,             \
      SmallVectorImpl<Type> &inferred) {                                       \
    return inferReduce(loc, adaptor.getData(), adaptor.getAxes(),              \
                       adaptor.getKeepdims(), inferred);                       \
  }
KILN_REDUCE_INFER(ReduceSumOp)
KILN_REDUCE_INFER(ReduceMeanOp)
KILN_REDUCE_INFER(ReduceMaxOp)
#undef KILN_REDUCE_INFER

//===----------------------------------------------------------------------===//
// ReshapeOp, TransposeOp
//===----------------------------------------------------------------------===//

LogicalResult ReshapeOp::inferReturnTypes(MLIRContext *,
                                          std::optional<Location> loc,
                                          Adaptor adaptor,
                                          SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getData());
  SmallVector<int64_t> shape(adaptor.getShape());
  int64_t inferIndex = -1, known = 1;
  for (auto [i, d] : llvm::enumerate(shape)) {
    if (d == 0) {
      if (static_cast<int64_t>(i) >= t.getRank())
        return emitOptionalError(loc, "shape entry ", i,
                                 " is 0 but the input has rank ", t.getRank());
      d = t.getDimSize(i);
    } else if (d == -1) {
      if (inferIndex >= 0)
        return emitOptionalError(loc, "shape ", shapeStr(adaptor.getShape()),
                                 " has more than one -1");
      inferIndex = i;
      continue;
    } else if (d < -1) {
      return emitOptionalError(loc, "shape ", shapeStr(adaptor.getShape()),
                               " has a negative entry");
    }
    known *= d;
  }
  int64_t total = t.getNumElements();
  if (inferIndex >= 0) {
    if (known == 0 || total % known != 0)
      return emitOptionalError(loc, "cannot reshape ", shapeStr(t.getShape()),
                               " to ", shapeStr(adaptor.getShape()));
    shape[inferIndex] = total / known;
  } else if (known != total) {
    return emitOptionalError(loc, "cannot reshape ", shapeStr(t.getShape()),
                             " (", total, " elements) to ",
                             shapeStr(adaptor.getShape()), " (", known,
                             " elements)");
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

OpFoldResult ReshapeOp::fold(FoldAdaptor adaptor) {
  if (getData().getType() == getType())
    return getData();
  if (auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData()))
    return input.reshape(getType());
  return {};
}

/// The permutation a TransposeOp applies: `perm`, or reversed dimensions.
static SmallVector<int64_t> transposePerm(std::optional<ArrayRef<int64_t>> perm,
                                          int64_t rank) {
  if (perm)
    return SmallVector<int64_t>(*perm);
  SmallVector<int64_t> reversed;
  for (int64_t i = rank - 1; i >= 0; --i)
    reversed.push_back(i);
  return reversed;
}

LogicalResult TransposeOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getData());
  SmallVector<int64_t> perm = transposePerm(adaptor.getPerm(), t.getRank());
  SmallVector<bool> seen(t.getRank(), false);
  if (static_cast<int64_t>(perm.size()) != t.getRank())
    return emitOptionalError(loc, "perm ", shapeStr(perm), " has ", perm.size(),
                             " entries for an input of rank ", t.getRank());
  SmallVector<int64_t> shape;
  for (int64_t p : perm) {
    if (p < 0 || p >= t.getRank() || seen[p])
      return emitOptionalError(loc, "perm ", shapeStr(perm),
                               " is not a permutation of 0..", t.getRank() - 1);
    seen[p] = true;
    shape.push_back(t.getDimSize(p));
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

OpFoldResult TransposeOp::fold(FoldAdaptor) {
  SmallVector<int64_t> perm =
      transposePerm(getPerm(), getData().getType().getRank());
  for (auto [i, p] : llvm::enumerate(perm))
    if (static_cast<int64_t>(i) != p)
      return {};
  return getData();
}

#define GET_OP_CLASSES
#include "ir/KilnOps.cpp.inc"
