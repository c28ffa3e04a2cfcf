//===- Ops.cc - kiln dialect: type inference, folders ---------------------===//
//
// Part of Kiln. Type inference here is the single source of truth for
// result shapes: the importers build ops without result types, and the
// verifier checks declared types against it. Errors are emitted at the op's
// location, which is the user's node name.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"

#include <cstring>
#include <limits>

#include "mlir/Dialect/Traits.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "mlir/IR/DialectImplementation.h"
#include "mlir/IR/OpImplementation.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

#include <cctype>
#include <cmath>
#include <functional>
#include <map>

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

/// "B 'W2' [8,3]": an operand's role, the node that produced it (when its
/// location is the user's node name) and its shape, for error messages.
std::string operandStr(StringRef role, Value v) {
  std::string s = role.str();
  if (auto name = dyn_cast<NameLoc>(v.getLoc()))
    s += " '" + name.getName().str() + "'";
  return s + " " + shapeStr(rankedType(v).getShape());
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

/// Constant-folds a broadcasting binary op on constants (up to 2^16
/// result elements, the shape arithmetic exporters emit).
OpFoldResult
foldBinary(ArrayRef<Attribute> operands, Type resultType,
           function_ref<APFloat(APFloat, APFloat)> floatFn,
           function_ref<std::optional<APInt>(APInt, APInt)> intFn) {
  if (operands.size() != 2 || !operands[0] || !operands[1])
    return {};
  auto lhs = dyn_cast<DenseElementsAttr>(operands[0]);
  auto rhs = dyn_cast<DenseElementsAttr>(operands[1]);
  auto outType = dyn_cast<RankedTensorType>(resultType);
  if (!lhs || !rhs || !outType || !outType.hasStaticShape() ||
      outType.getNumElements() > (1 << 16))
    return {};
  Type elem = lhs.getType().getElementType();
  if (elem.isInteger(1) || (!isa<FloatType>(elem) && !intFn))
    return {};
  ArrayRef<int64_t> out = outType.getShape();
  // The element of `in` that output element `index` reads.
  auto source = [&](ShapedType in, int64_t index) {
    int64_t offset = out.size() - in.getRank(), result = 0, stride = 1;
    for (int64_t d = out.size() - 1; d >= 0; --d) {
      int64_t coord = index % out[d];
      index /= out[d];
      if (d < offset)
        continue;
      int64_t dim = in.getDimSize(d - offset);
      result += (dim == 1 ? 0 : coord) * stride;
      stride *= dim;
    }
    return result;
  };
  int64_t n = outType.getNumElements();
  if (isa<FloatType>(elem)) {
    SmallVector<APFloat> a(lhs.getValues<APFloat>()),
        b(rhs.getValues<APFloat>());
    SmallVector<APFloat> values;
    for (int64_t i = 0; i < n; ++i)
      values.push_back(
          floatFn(a[lhs.isSplat() ? 0 : source(lhs.getType(), i)],
                  b[rhs.isSplat() ? 0 : source(rhs.getType(), i)]));
    return DenseElementsAttr::get(outType, values);
  }
  // Any element whose computation is undefined stops the fold.
  SmallVector<APInt> a(lhs.getValues<APInt>()), b(rhs.getValues<APInt>());
  SmallVector<APInt> values;
  for (int64_t i = 0; i < n; ++i) {
    std::optional<APInt> r =
        intFn(a[lhs.isSplat() ? 0 : source(lhs.getType(), i)],
              b[rhs.isSplat() ? 0 : source(rhs.getType(), i)]);
    if (!r)
      return {};
    values.push_back(*r);
  }
  return DenseElementsAttr::get(outType, values);
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

OpFoldResult AddOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a + b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a + b; });
}
OpFoldResult SubOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a - b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a - b; });
}
OpFoldResult MulOp::fold(FoldAdaptor adaptor) {
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a * b; },
      [](APInt a, APInt b) -> std::optional<APInt> { return a * b; });
}
OpFoldResult DivOp::fold(FoldAdaptor adaptor) {
  if (cast<RankedTensorType>(getType()).getElementType().isUnsignedInteger())
    return foldBinary(
        adaptor.getOperands(), getType(),
        [](APFloat a, APFloat b) { return a / b; },
        [](APInt a, APInt b) -> std::optional<APInt> {
          if (b.isZero())
            return std::nullopt;
          return a.udiv(b);
        });
  return foldBinary(
      adaptor.getOperands(), getType(),
      [](APFloat a, APFloat b) { return a / b; },
      [](APInt a, APInt b) -> std::optional<APInt> {
        // Division by zero and INT_MIN / -1 are left to run time.
        if (b.isZero() || (a.isMinSignedValue() && b.isAllOnes()))
          return std::nullopt;
        return a.sdiv(b);
      });
}

/// Constant-folds an integer unary op element by element.
static OpFoldResult foldUnaryInt(Attribute operand,
                                 function_ref<APInt(const APInt &)> fn) {
  auto input = dyn_cast_or_null<DenseElementsAttr>(operand);
  if (!input || !input.getType().getElementType().isSignlessInteger() ||
      input.getType().getElementType().isInteger(1))
    return {}; // Unsigned Relu, say, would need other rules.
  SmallVector<APInt> values;
  for (const APInt &x : input.getValues<APInt>())
    values.push_back(fn(x));
  return DenseElementsAttr::get(input.getType(), values);
}

OpFoldResult ReluOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r = foldUnaryInt(adaptor.getX(), [](const APInt &x) {
        return x.isNegative() ? APInt::getZero(x.getBitWidth()) : x;
      }))
    return r;
  return foldUnaryFloat(adaptor.getX(),
                        [](double x) { return x > 0 ? x : 0.0; });
}
OpFoldResult NegOp::fold(FoldAdaptor adaptor) {
  if (OpFoldResult r =
          foldUnaryInt(adaptor.getX(), [](const APInt &x) { return -x; }))
    return r;
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
OpFoldResult IdentityOp::fold(FoldAdaptor) { return getX(); }

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
    return emitOptionalError(
        loc, "inner dimensions differ: ", operandStr("A", adaptor.getA()),
        " has ", k_a, a.size() == 1 ? " elements" : " columns", ", but ",
        operandStr("B", adaptor.getB()), " has ", k_b,
        b.size() == 1 ? " elements" : " rows");
  SmallVector<int64_t> batch;
  ArrayRef<int64_t> batchA =
      a.size() > 2 ? a.drop_back(2) : ArrayRef<int64_t>();
  ArrayRef<int64_t> batchB =
      b.size() > 2 ? b.drop_back(2) : ArrayRef<int64_t>();
  if (failed(broadcastShapes(batchA, batchB, batch)))
    return emitOptionalError(
        loc, "batch dimensions of ", operandStr("A", adaptor.getA()), " and ",
        operandStr("B", adaptor.getB()), " do not broadcast");
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
  if (k != kb) {
    // "A 'h' [2,8] has 8 columns, but B 'W2' [8,3] transposed by transB is
    // [3,8] with 3 rows": what each operand is after its flag, and which
    // flag, flipped, would make them agree.
    auto side = [](std::string operand, bool trans, const char *flag,
                   int64_t rows, int64_t cols, int64_t inner,
                   const char *what) {
      if (!trans)
        return operand + " has " + std::to_string(inner) + what;
      return operand + " transposed by " + flag + " is " +
             shapeStr({rows, cols}) + " with " + std::to_string(inner) + what;
    };
    std::string hint;
    if (ta.getDimSize(transA ? 1 : 0) == kb)
      hint = std::string(" (they would agree with transA=") +
             (transA ? "0" : "1") + ")";
    else if (tb.getDimSize(transB ? 0 : 1) == k)
      hint = std::string(" (they would agree with transB=") +
             (transB ? "0" : "1") + ")";
    return emitOptionalError(loc, "inner dimensions differ: ",
                             side(operandStr("A", adaptor.getA()), transA,
                                  "transA", m, k, k, " columns"),
                             ", but ",
                             side(operandStr("B", adaptor.getB()), transB,
                                  "transB", kb, n, kb, " rows"),
                             hint);
  }
  SmallVector<int64_t> shape = {m, n};
  if (Value c = adaptor.getC()) {
    RankedTensorType tc = rankedType(c);
    SmallVector<int64_t> out;
    if (tc.getElementType() != ta.getElementType())
      return emitOptionalError(loc, operandStr("C", c), " is ",
                               tc.getElementType(), " but A and B are ",
                               ta.getElementType());
    if (failed(broadcastShapes(tc.getShape(), shape, out)) ||
        ArrayRef<int64_t>(out) != ArrayRef<int64_t>(shape))
      return emitOptionalError(loc, operandStr("C", c),
                               " does not broadcast to the result ",
                               shapeStr(shape));
  }
  inferred.push_back(RankedTensorType::get(shape, ta.getElementType()));
  return success();
}

//===----------------------------------------------------------------------===//
// SoftmaxOp, reductions
//===----------------------------------------------------------------------===//

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
    if (d == 0 && !adaptor.getAllowzero()) {
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
    if (__builtin_mul_overflow(known, d, &known))
      return emitOptionalError(loc, "shape ", shapeStr(adaptor.getShape()),
                               " has too many elements");
  }
  int64_t total = t.getNumElements();
  if (inferIndex >= 0) {
    if (adaptor.getAllowzero() && known == 0)
      return emitOptionalError(loc, "shape ", shapeStr(adaptor.getShape()),
                               " has both 0 and -1");
    if (known == 0 ? total != 0 : total % known != 0)
      return emitOptionalError(loc, "cannot reshape ", shapeStr(t.getShape()),
                               " to ", shapeStr(adaptor.getShape()));
    shape[inferIndex] = known == 0 ? 0 : total / known;
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

SmallVector<int64_t>
kiln::transposePermutation(std::optional<ArrayRef<int64_t>> perm,
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
  SmallVector<int64_t> perm =
      transposePermutation(adaptor.getPerm(), t.getRank());
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

OpFoldResult TransposeOp::fold(FoldAdaptor adaptor) {
  SmallVector<int64_t> perm =
      transposePermutation(getPerm(), getData().getType().getRank());
  if (llvm::all_of(llvm::enumerate(perm), [](auto ip) {
        return static_cast<int64_t>(ip.index()) == ip.value();
      }))
    return getData();
  // A constant is stored transposed (weights that exporters transpose before
  // a MatMul).
  if (auto data = dyn_cast_or_null<DenseElementsAttr>(adaptor.getData()))
    return transposeElements(data, perm);
  return {};
}

//===----------------------------------------------------------------------===//
// Shared inference for op classes (declared in Dialect.h)
//===----------------------------------------------------------------------===//

LogicalResult kiln::detail::inferBroadcast(std::optional<Location> loc,
                                           ValueRange operands, bool boolResult,
                                           SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, operands)))
    return failure();
  Type elem = rankedType(operands[0]).getElementType();
  SmallVector<int64_t> shape;
  for (Value v : operands) {
    RankedTensorType t = rankedType(v);
    if (t.getElementType() != elem)
      return emitOptionalError(loc, "operand element types differ: ", elem,
                               " and ", t.getElementType());
    SmallVector<int64_t> next;
    if (failed(broadcastShapes(shape, t.getShape(), next)))
      return emitOptionalError(loc, "shapes ", shapeStr(shape), " and ",
                               shapeStr(t.getShape()), " do not broadcast");
    shape = next;
  }
  if (boolResult)
    elem = IntegerType::get(elem.getContext(), 1);
  inferred.push_back(RankedTensorType::get(shape, elem));
  return success();
}

LogicalResult kiln::detail::inferSameType(std::optional<Location> loc,
                                          ValueRange operands,
                                          SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, operands)))
    return failure();
  inferred.push_back(operands[0].getType());
  return success();
}

LogicalResult
kiln::detail::inferAxisPreserving(std::optional<Location> loc, Value input,
                                  int64_t axis,
                                  SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, {input})))
    return failure();
  RankedTensorType t = rankedType(input);
  if (normalizeAxis(axis, std::max<int64_t>(t.getRank(), 1)) < 0)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             t.getRank());
  inferred.push_back(t);
  return success();
}

SmallVector<bool> kiln::reducedAxes(std::optional<ArrayRef<int64_t>> axes,
                                    int64_t rank, bool noopWithEmptyAxes) {
  bool none = !axes || axes->empty();
  if (none && noopWithEmptyAxes)
    return SmallVector<bool>(rank, false);
  SmallVector<bool> reduced(rank, none);
  if (!none)
    for (int64_t a : *axes)
      if (int64_t n = normalizeAxis(a, rank); n >= 0)
        reduced[n] = true;
  return reduced;
}

LogicalResult kiln::detail::inferReduce(std::optional<Location> loc, Value data,
                                        std::optional<ArrayRef<int64_t>> axes,
                                        int64_t keepdims,
                                        int64_t noopWithEmptyAxes,
                                        SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, {data})))
    return failure();
  RankedTensorType t = rankedType(data);
  int64_t rank = t.getRank();
  if (axes) {
    llvm::SmallSet<int64_t, 4> seen;
    for (int64_t axis : *axes) {
      int64_t a = normalizeAxis(axis, rank);
      if (a < 0)
        return emitOptionalError(loc, "axis ", axis,
                                 " is out of range for rank ", rank);
      if (!seen.insert(a).second)
        return emitOptionalError(loc, "axis ", axis, " appears twice");
    }
  }
  SmallVector<bool> reduced = reducedAxes(axes, rank, noopWithEmptyAxes);
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

LogicalResult kiln::detail::inferArgReduce(std::optional<Location> loc,
                                           Value data, int64_t axis,
                                           int64_t keepdims,
                                           SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, {data})))
    return failure();
  RankedTensorType t = rankedType(data);
  int64_t a = normalizeAxis(axis, t.getRank());
  if (a < 0)
    return emitOptionalError(loc, "axis ", axis, " is out of range for rank ",
                             t.getRank());
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    if (i != a)
      shape.push_back(t.getDimSize(i));
    else if (keepdims)
      shape.push_back(1);
  }
  inferred.push_back(
      RankedTensorType::get(shape, IntegerType::get(t.getContext(), 64)));
  return success();
}

//===----------------------------------------------------------------------===//
// Window and slice arithmetic
//===----------------------------------------------------------------------===//

/// `values`, or `rank` copies of `fallback` when absent; failure when the
/// length is wrong.
static FailureOr<SmallVector<int64_t>>
perAxis(std::optional<Location> loc, std::optional<ArrayRef<int64_t>> values,
        size_t rank, int64_t fallback, StringRef name) {
  if (!values)
    return SmallVector<int64_t>(rank, fallback);
  if (values->size() != rank)
    return emitOptionalError(loc, name, " has ", values->size(),
                             " entries; expected ", rank);
  return SmallVector<int64_t>(*values);
}

FailureOr<WindowGeometry> kiln::computeWindows(
    std::optional<Location> loc, ArrayRef<int64_t> in, ArrayRef<int64_t> kernel,
    std::optional<ArrayRef<int64_t>> strides,
    std::optional<ArrayRef<int64_t>> dilations,
    std::optional<ArrayRef<int64_t>> pads, StringRef autoPad, bool ceilMode) {
  size_t n = in.size();
  WindowGeometry g;
  if (kernel.size() != n)
    return emitOptionalError(loc, "kernel has ", kernel.size(),
                             " spatial axes; the input has ", n);
  g.kernel.assign(kernel.begin(), kernel.end());
  auto s = perAxis(loc, strides, n, 1, "strides");
  auto d = perAxis(loc, dilations, n, 1, "dilations");
  if (failed(s) || failed(d))
    return failure();
  g.strides = *s;
  g.dilations = *d;
  SmallVector<int64_t> p(2 * n, 0);
  if (pads) {
    if (pads->size() != 2 * n)
      return emitOptionalError(loc, "pads has ", pads->size(),
                               " entries; expected ", 2 * n);
    p.assign(pads->begin(), pads->end());
  }
  for (size_t i = 0; i < n; ++i) {
    if (g.strides[i] < 1 || g.dilations[i] < 1 || g.kernel[i] < 1 || p[i] < 0 ||
        p[n + i] < 0)
      return emitOptionalError(loc, "kernel, strides and dilations must be "
                                    "positive and pads non-negative");
    int64_t extent = (g.kernel[i] - 1) * g.dilations[i] + 1;
    int64_t out;
    if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = (in[i] + g.strides[i] - 1) / g.strides[i];
      int64_t total =
          std::max<int64_t>(0, (out - 1) * g.strides[i] + extent - in[i]);
      int64_t small = total / 2, large = total - small;
      p[i] = autoPad == "SAME_UPPER" ? small : large;
      p[n + i] = total - p[i];
    } else if (autoPad == "VALID") {
      p[i] = p[n + i] = 0;
      out = in[i] < extent ? 0 : (in[i] - extent) / g.strides[i] + 1;
    } else if (autoPad == "NOTSET" || autoPad.empty()) {
      int64_t span = in[i] + p[i] + p[n + i] - extent;
      if (span < 0)
        return emitOptionalError(loc, "the window (", extent,
                                 ") is larger than the padded input (",
                                 in[i] + p[i] + p[n + i], ")");
      out = ceilMode ? (span + g.strides[i] - 1) / g.strides[i] + 1
                     : span / g.strides[i] + 1;
      // A window must start inside the input or its begin padding.
      if (ceilMode && (out - 1) * g.strides[i] >= in[i] + p[i])
        --out;
    } else {
      return emitOptionalError(loc, "unknown auto_pad '", autoPad, "'");
    }
    g.output.push_back(out);
  }
  g.padBegin.assign(p.begin(), p.begin() + n);
  g.padEnd.assign(p.begin() + n, p.end());
  return g;
}

FailureOr<SmallVector<SliceDim>>
kiln::computeSlice(std::optional<Location> loc, ArrayRef<int64_t> shape,
                   ArrayRef<int64_t> starts, ArrayRef<int64_t> ends,
                   std::optional<ArrayRef<int64_t>> axes,
                   std::optional<ArrayRef<int64_t>> steps) {
  int64_t rank = shape.size();
  SmallVector<SliceDim> dims;
  for (int64_t d : shape)
    dims.push_back({0, 1, d});
  if (starts.size() != ends.size() || (axes && axes->size() != starts.size()) ||
      (steps && steps->size() != starts.size()))
    return emitOptionalError(loc, "starts, ends, axes and steps must have "
                                  "the same length");
  SmallVector<bool> seen(rank, false);
  for (size_t i = 0; i < starts.size(); ++i) {
    int64_t axis = axes ? normalizeAxis((*axes)[i], rank) : int64_t(i);
    if (axis < 0 || axis >= rank || seen[axis])
      return emitOptionalError(loc, "slice axis ",
                               axes ? (*axes)[i] : int64_t(i),
                               " is out of range or repeated");
    seen[axis] = true;
    int64_t dim = shape[axis];
    int64_t step = steps ? (*steps)[i] : 1;
    if (step == 0)
      return emitOptionalError(loc, "slice step must not be 0");
    // Clamp as ONNX does: to [0, dim] for positive steps, [-1, dim-1] for
    // negative ones.
    auto clamp = [&](int64_t v, int64_t lo, int64_t hi) {
      if (v < 0)
        v += dim;
      return std::min(std::max(v, lo), hi);
    };
    int64_t start = starts[i], end = ends[i];
    if (start < -dim || start >= dim) // very large or small values
      start = start < 0 ? (step > 0 ? 0 : -1 - dim) : dim;
    if (end < -dim - 1 || end > dim)
      end = end < 0 ? -1 - dim : dim;
    int64_t count;
    if (step > 0) {
      start = clamp(start, 0, dim);
      end = clamp(end, 0, dim);
      count = end > start ? (end - start + step - 1) / step : 0;
    } else {
      start = start < 0 && start >= -dim ? start + dim
              : start < -dim             ? -1
                                         : std::min(start, dim - 1);
      end = end < 0 && end >= -dim ? end + dim
            : end < -dim           ? -1
                                   : std::min(end, dim - 1);
      count = start > end ? (start - end - step - 1) / -step : 0;
    }
    dims[axis] = {count > 0 ? start : 0, step, count};
  }
  return dims;
}

FailureOr<TransposedConvGeometry>
kiln::computeConvTranspose(std::optional<Location> loc,
                           ConvTransposeOp::Adaptor adaptor) {
  RankedTensorType x = rankedType(adaptor.getX()),
                   w = rankedType(adaptor.getW());
  size_t n = x.getRank() - 2;
  TransposedConvGeometry g;
  g.kernel.assign(w.getShape().begin() + 2, w.getShape().end());
  if (adaptor.getKernelShape() &&
      ArrayRef<int64_t>(*adaptor.getKernelShape()) !=
          ArrayRef<int64_t>(g.kernel))
    return emitOptionalError(loc, "kernel_shape does not match W");
  auto s = perAxis(loc, adaptor.getStrides(), n, 1, "strides");
  auto d = perAxis(loc, adaptor.getDilations(), n, 1, "dilations");
  auto op = perAxis(loc, adaptor.getOutputPadding(), n, 0, "output_padding");
  if (failed(s) || failed(d) || failed(op))
    return failure();
  g.strides = *s;
  g.dilations = *d;
  SmallVector<int64_t> p(2 * n, 0);
  if (auto pads = adaptor.getPads()) {
    if (pads->size() != 2 * n)
      return emitOptionalError(loc, "pads has ", pads->size(),
                               " entries; expected ", 2 * n);
    p.assign(pads->begin(), pads->end());
  }
  StringRef autoPad = adaptor.getAutoPad();
  for (size_t i = 0; i < n; ++i) {
    int64_t in = x.getDimSize(i + 2);
    int64_t full = g.strides[i] * (in - 1) + (*op)[i] +
                   (g.kernel[i] - 1) * g.dilations[i] + 1;
    int64_t out;
    if (auto shape = adaptor.getOutputShape()) {
      if (shape->size() != n)
        return emitOptionalError(loc, "output_shape must list ", n, " sizes");
      out = (*shape)[i];
      int64_t total = full - out;
      if (total < 0) {
        // Larger than the natural size: the positions past it receive no
        // input (only the bias).
        p[i] = 0;
        p[n + i] = total;
      } else {
        p[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
        p[n + i] = total - p[i];
      }
    } else if (autoPad == "SAME_UPPER" || autoPad == "SAME_LOWER") {
      out = in * g.strides[i];
      int64_t total = std::max<int64_t>(0, full - out);
      p[i] = autoPad == "SAME_UPPER" ? total / 2 : total - total / 2;
      p[n + i] = total - p[i];
    } else {
      if (autoPad == "VALID")
        p[i] = p[n + i] = 0;
      out = full - p[i] - p[n + i];
    }
    if (out <= 0)
      return emitOptionalError(loc, "the output would be empty");
    g.output.push_back(out);
  }
  g.padBegin.assign(p.begin(), p.begin() + n);
  g.padEnd.assign(p.begin() + n, p.end());
  return g;
}

namespace kiln::detail {
/// Pooling keeps N and C and slides windows over the spatial axes.
template <typename Adaptor>
LogicalResult inferPool(std::optional<Location> loc, Adaptor adaptor,
                        SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType x = rankedType(adaptor.getX());
  if (x.getRank() < 3)
    return emitOptionalError(loc, "pooling input must be [N, C, spatial...]");
  auto g = computeWindows(loc, x.getShape().drop_front(2),
                          adaptor.getKernelShape(), adaptor.getStrides(),
                          adaptor.getDilations(), adaptor.getPads(),
                          adaptor.getAutoPad(), adaptor.getCeilMode() != 0);
  if (failed(g))
    return failure();
  SmallVector<int64_t> shape = {x.getDimSize(0), x.getDimSize(1)};
  shape.append(g->output);
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}
} // namespace kiln::detail

//===----------------------------------------------------------------------===//
// Per-op inference and folders
//===----------------------------------------------------------------------===//

LogicalResult WhereOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  SmallVector<Type> values;
  if (failed(detail::inferBroadcast(loc, {adaptor.getX(), adaptor.getY()},
                                    false, values)))
    return failure();
  SmallVector<int64_t> shape;
  if (failed(broadcastShapes(rankedType(adaptor.getCondition()).getShape(),
                             cast<RankedTensorType>(values[0]).getShape(),
                             shape)))
    return emitOptionalError(loc, "the condition does not broadcast with X "
                                  "and Y");
  inferred.push_back(RankedTensorType::get(
      shape, cast<RankedTensorType>(values[0]).getElementType()));
  return success();
}

LogicalResult CastOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  Type to = adaptor.getTo();
  if (!isa<FloatType>(to) && !isa<IntegerType>(to))
    return emitOptionalError(loc, "cannot cast to ", to);
  inferred.push_back(
      RankedTensorType::get(rankedType(adaptor.getInput()).getShape(), to));
  return success();
}

OpFoldResult CastOp::fold(FoldAdaptor adaptor) {
  if (getInput().getType() == getType())
    return getInput();
  auto input = dyn_cast_or_null<DenseElementsAttr>(adaptor.getInput());
  if (!input)
    return {};
  Type from = input.getElementType(), to = getTo();
  auto type = cast<ShapedType>(getType());
  // Convert through double (floats) or int64 (integers): exact for the
  // small shape tensors this folds in practice.
  SmallVector<Attribute> values;
  for (Attribute a : input.getValues<Attribute>()) {
    double d = 0;
    int64_t i = 0;
    bool isFloat = isa<FloatType>(from);
    if (isFloat)
      d = cast<FloatAttr>(a).getValueAsDouble();
    else if (from.isInteger(1))
      i = cast<IntegerAttr>(a).getValue().getBoolValue();
    else if (from.isUnsignedInteger())
      i = static_cast<int64_t>(cast<IntegerAttr>(a).getValue().getZExtValue());
    else
      i = cast<IntegerAttr>(a).getValue().getSExtValue();
    if (isa<FloatType>(to))
      values.push_back(FloatAttr::get(to, isFloat ? d : double(i)));
    else if (to.isInteger(1))
      values.push_back(IntegerAttr::get(to, isFloat ? d != 0 : i != 0));
    else if (isFloat && !(std::isfinite(d) && std::fabs(d) < 9.2e18))
      return {};
    else
      values.push_back(IntegerAttr::get(to, isFloat ? int64_t(d) : i));
  }
  return DenseElementsAttr::get(type, values);
}

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getX());
  int64_t axis = normalizeAxis(adaptor.getAxis(), t.getRank());
  if (axis < 0)
    return emitOptionalError(loc, "axis ", adaptor.getAxis(),
                             " is out of range for rank ", t.getRank());
  int64_t k = adaptor.getK();
  if (k < 0 || k > t.getDimSize(axis))
    return emitOptionalError(loc, "k = ", k, " is not within [0, ",
                             t.getDimSize(axis), "]");
  SmallVector<int64_t> shape(t.getShape());
  shape[axis] = k;
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  inferred.push_back(RankedTensorType::get(shape, IntegerType::get(ctx, 64)));
  return success();
}

LogicalResult CumSumOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return detail::inferAxisPreserving(loc, adaptor.getInput(), adaptor.getAxis(),
                                     inferred);
}

LogicalResult ConvOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType x = rankedType(adaptor.getX()),
                   w = rankedType(adaptor.getW());
  if (x.getRank() < 3 || w.getRank() != x.getRank())
    return emitOptionalError(loc, "Conv expects X [N, C, spatial...] and W "
                                  "[M, C/group, kernel...] of the same rank");
  int64_t group = adaptor.getGroup();
  if (group < 1 || x.getDimSize(1) % group || w.getDimSize(0) % group ||
      x.getDimSize(1) / group != w.getDimSize(1))
    return emitOptionalError(loc, "channels do not match: X has ",
                             x.getDimSize(1), ", W expects ", w.getDimSize(1),
                             " per group, group = ", group);
  if (Value b = adaptor.getB())
    if (rankedType(b).getRank() != 1 ||
        rankedType(b).getDimSize(0) != w.getDimSize(0))
      return emitOptionalError(loc, "B must be [", w.getDimSize(0), "]");
  ArrayRef<int64_t> kernel = w.getShape().drop_front(2);
  if (auto k = adaptor.getKernelShape(); k && ArrayRef<int64_t>(*k) != kernel)
    return emitOptionalError(loc, "kernel_shape does not match W");
  auto g = computeWindows(loc, x.getShape().drop_front(2), kernel,
                          adaptor.getStrides(), adaptor.getDilations(),
                          adaptor.getPads(), adaptor.getAutoPad(), false);
  if (failed(g))
    return failure();
  SmallVector<int64_t> shape = {x.getDimSize(0), w.getDimSize(0)};
  shape.append(g->output);
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult
ConvTransposeOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType x = rankedType(adaptor.getX()),
                   w = rankedType(adaptor.getW());
  if (x.getRank() < 3 || w.getRank() != x.getRank() ||
      w.getDimSize(0) != x.getDimSize(1) || adaptor.getGroup() < 1 ||
      x.getDimSize(1) % adaptor.getGroup())
    return emitOptionalError(loc, "ConvTranspose expects X [N, C, ...] and W "
                                  "[C, M/group, kernel...]");
  auto g = computeConvTranspose(loc, adaptor);
  if (failed(g))
    return failure();
  SmallVector<int64_t> shape = {x.getDimSize(0),
                                w.getDimSize(1) *
                                    static_cast<int64_t>(adaptor.getGroup())};
  shape.append(g->output);
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

LogicalResult ConcatOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "Concat needs at least one input");
  if (failed(requireStatic(loc, inputs)))
    return failure();
  RankedTensorType first = rankedType(inputs[0]);
  int64_t axis = normalizeAxis(adaptor.getAxis(), first.getRank());
  if (axis < 0)
    return emitOptionalError(loc, "axis ", adaptor.getAxis(),
                             " is out of range for rank ", first.getRank());
  SmallVector<int64_t> shape(first.getShape());
  shape[axis] = 0;
  for (Value v : inputs) {
    RankedTensorType t = rankedType(v);
    if (t.getElementType() != first.getElementType() ||
        t.getRank() != first.getRank())
      return emitOptionalError(loc, "inputs differ in element type or rank");
    for (int64_t d = 0; d < t.getRank(); ++d)
      if (d != axis && t.getDimSize(d) != first.getDimSize(d))
        return emitOptionalError(loc, "input shapes ", shapeStr(t.getShape()),
                                 " and ", shapeStr(first.getShape()),
                                 " differ off the concat axis");
    shape[axis] += t.getDimSize(axis);
  }
  inferred.push_back(RankedTensorType::get(shape, first.getElementType()));
  return success();
}

FailureOr<EinsumSpec> kiln::parseEinsum(std::optional<Location> loc,
                                        StringRef equation, TypeRange inputs) {
  std::string eq;
  for (char c : equation)
    if (c != ' ')
      eq += c;
  size_t arrow = eq.find("->");
  std::string lhs = eq.substr(0, arrow);
  SmallVector<std::string> terms;
  for (size_t start = 0;;) {
    size_t comma = lhs.find(',', start);
    terms.push_back(lhs.substr(start, comma - start));
    if (comma == std::string::npos)
      break;
    start = comma + 1;
  }
  if (terms.size() != inputs.size())
    return emitOptionalError(loc, "equation '", equation, "' has ",
                             terms.size(), " inputs, the op ", inputs.size());
  // Labels are letters; the ellipsis axes get labels 256, 257, ... from the
  // right.
  std::map<int, int64_t> sizes;
  std::map<int, int> counts;
  SmallVector<SmallVector<int>> labels(terms.size());
  int64_t ellipsisRank = 0;
  for (auto [k, term] : llvm::enumerate(terms)) {
    auto type = dyn_cast<RankedTensorType>(inputs[k]);
    if (!type)
      return failure();
    size_t dots = term.find("...");
    int64_t letters = term.size() - (dots == std::string::npos ? 0 : 3);
    int64_t ellipsis = dots == std::string::npos ? 0 : type.getRank() - letters;
    if (ellipsis < 0 ||
        (dots == std::string::npos && letters != type.getRank()))
      return emitOptionalError(loc, "term '", term, "' does not match rank ",
                               type.getRank());
    ellipsisRank = std::max(ellipsisRank, ellipsis);
    int64_t axis = 0;
    for (size_t i = 0; i < term.size();) {
      if (term.compare(i, 3, "...") == 0) {
        for (int64_t e = 0; e < ellipsis; ++e)
          labels[k].push_back(256 + ellipsis - 1 - e);
        axis += ellipsis;
        i += 3;
        continue;
      }
      if (!std::isalpha(static_cast<unsigned char>(term[i])))
        return emitOptionalError(loc, "bad label '", term.substr(i, 1),
                                 "' in '", equation, "'");
      labels[k].push_back(term[i]);
      ++i;
      ++axis;
    }
  }
  // Sizes: letters must agree; ellipsis axes broadcast.
  for (auto [k, ls] : llvm::enumerate(labels)) {
    auto type = cast<RankedTensorType>(inputs[k]);
    for (auto [axis, label] : llvm::enumerate(ls)) {
      int64_t size = type.getDimSize(axis);
      ++counts[label];
      auto [it, inserted] = sizes.emplace(label, size);
      if (inserted || it->second == size)
        continue;
      if (label >= 256 && (it->second == 1 || size == 1)) {
        it->second = std::max(it->second, size);
        continue;
      }
      return emitOptionalError(loc, "label sizes differ in '", equation, "'");
    }
  }
  SmallVector<int> output;
  if (arrow != std::string::npos) {
    std::string rhs = eq.substr(arrow + 2);
    for (size_t i = 0; i < rhs.size();) {
      if (rhs.compare(i, 3, "...") == 0) {
        for (int64_t e = ellipsisRank - 1; e >= 0; --e)
          output.push_back(256 + e);
        i += 3;
        continue;
      }
      if (!sizes.count(rhs[i]))
        return emitOptionalError(loc, "output label '", rhs.substr(i, 1),
                                 "' is not in any input");
      output.push_back(rhs[i++]);
    }
  } else {
    for (int64_t e = ellipsisRank - 1; e >= 0; --e)
      output.push_back(256 + e);
    for (auto [label, count] : counts)
      if (label < 256 && count == 1)
        output.push_back(label);
  }
  EinsumSpec spec;
  std::map<int, int64_t> dimOf;
  for (int label : output) {
    dimOf[label] = spec.dimSizes.size();
    spec.dimSizes.push_back(sizes[label]);
  }
  spec.numOutputDims = output.size();
  for (auto [label, size] : sizes)
    if (!dimOf.count(label)) {
      dimOf[label] = spec.dimSizes.size();
      spec.dimSizes.push_back(size);
    }
  for (auto [k, ls] : llvm::enumerate(labels)) {
    auto type = cast<RankedTensorType>(inputs[k]);
    SmallVector<int64_t> dims;
    for (auto [axis, label] : llvm::enumerate(ls))
      dims.push_back(
          type.getDimSize(axis) == 1 && sizes[label] != 1 ? -1 : dimOf[label]);
    spec.inputDims.push_back(dims);
  }
  return spec;
}

LogicalResult EinsumOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  ValueRange inputs = adaptor.getInputs();
  if (inputs.empty())
    return emitOptionalError(loc, "Einsum needs an input");
  if (failed(requireStatic(loc, inputs)))
    return failure();
  Type elem = rankedType(inputs[0]).getElementType();
  for (Value v : inputs)
    if (rankedType(v).getElementType() != elem)
      return emitOptionalError(loc, "inputs differ in element type");
  auto spec = parseEinsum(loc, adaptor.getEquation(), inputs.getTypes());
  if (failed(spec))
    return failure();
  inferred.push_back(RankedTensorType::get(
      ArrayRef<int64_t>(spec->dimSizes).take_front(spec->numOutputDims), elem));
  return success();
}

OpFoldResult ConcatOp::fold(FoldAdaptor adaptor) {
  if (getInputs().size() == 1)
    return getInputs()[0];
  SmallVector<SmallVector<Attribute>> parts;
  for (Attribute a : adaptor.getInputs()) {
    auto d = dyn_cast_or_null<DenseElementsAttr>(a);
    if (!d)
      return {};
    parts.push_back(SmallVector<Attribute>(d.getValues<Attribute>()));
  }
  auto outType = cast<RankedTensorType>(getType());
  if (outType.getNumElements() > (1 << 16))
    return {};
  int64_t axis = normalizeAxis(getAxis(), outType.getRank());
  // Each output element reads input k at the axis offset within it.
  int64_t inner = 1;
  for (int64_t d = axis + 1; d < outType.getRank(); ++d)
    inner *= outType.getDimSize(d);
  SmallVector<Attribute> values;
  int64_t outer = outType.getNumElements() /
                  std::max<int64_t>(1, outType.getDimSize(axis) * inner);
  for (int64_t o = 0; o < outer; ++o)
    for (auto [k, input] : llvm::enumerate(getInputs())) {
      int64_t chunk =
          cast<RankedTensorType>(input.getType()).getDimSize(axis) * inner;
      for (int64_t i = 0; i < chunk; ++i)
        values.push_back(parts[k][o * chunk + i]);
    }
  return DenseElementsAttr::get(outType, values);
}

LogicalResult SliceOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getData());
  auto dims =
      computeSlice(loc, t.getShape(), adaptor.getStarts(), adaptor.getEnds(),
                   adaptor.getAxes(), adaptor.getSteps());
  if (failed(dims))
    return failure();
  SmallVector<int64_t> shape;
  for (const SliceDim &d : *dims)
    shape.push_back(d.count);
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

/// Element `index` (C order) of an `outShape` result reads which element of
/// the input; shared by the data-movement folders.
/// Results over `maxElements` are left unfolded: a folder may run in the
/// canonicalizer, which has no byte budget.
static OpFoldResult
foldByIndex(Attribute input, ShapedType outType,
            function_ref<int64_t(ArrayRef<int64_t> coords)> source,
            int64_t maxElements = 1 << 16) {
  auto data = dyn_cast_or_null<DenseElementsAttr>(input);
  if (!data || outType.getNumElements() > maxElements)
    return {};
  if (data.isSplat())
    return data.resizeSplat(outType);
  // Calls `fn(i, source)` for each result element i, in order; false when
  // a source is out of range.
  auto eachSource = [&](function_ref<void(int64_t, int64_t)> fn) {
    SmallVector<int64_t> coords(outType.getRank(), 0);
    for (int64_t i = 0; i < outType.getNumElements(); ++i) {
      int64_t rem = i;
      for (int64_t d = outType.getRank() - 1; d >= 0; --d) {
        coords[d] = rem % outType.getDimSize(d);
        rem /= outType.getDimSize(d);
      }
      int64_t src = source(coords);
      if (src < 0)
        return false;
      fn(i, src);
    }
    return true;
  };
  int64_t bits = outType.getElementTypeBitWidth();
  if (bits % 8 == 0 && !isa<ComplexType>(outType.getElementType())) {
    // Whole-byte elements move as bytes: fast enough for weight matrices.
    int64_t size = bits / 8;
    ArrayRef<char> raw = data.getRawData();
    std::vector<char> out(outType.getNumElements() * size);
    if (!eachSource([&](int64_t i, int64_t src) {
          std::memcpy(&out[i * size], &raw[src * size], size);
        }))
      return {};
    return DenseElementsAttr::getFromRawBuffer(outType, out);
  }
  SmallVector<Attribute> in(data.getValues<Attribute>());
  SmallVector<Attribute> out;
  if (!eachSource([&](int64_t, int64_t src) { out.push_back(in[src]); }))
    return {};
  return DenseElementsAttr::get(outType, out);
}

/// C-order offset of `coords` in `shape`.
static int64_t linearIndex(ArrayRef<int64_t> shape, ArrayRef<int64_t> coords) {
  int64_t index = 0;
  for (size_t d = 0; d < shape.size(); ++d)
    index = index * shape[d] + coords[d];
  return index;
}

DenseElementsAttr kiln::transposeElements(DenseElementsAttr data,
                                          ArrayRef<int64_t> perm) {
  auto inType = cast<ShapedType>(data.getType());
  SmallVector<int64_t> shape;
  for (int64_t p : perm)
    shape.push_back(inType.getDimSize(p));
  auto outType = RankedTensorType::get(shape, inType.getElementType());
  SmallVector<int64_t> in(inType.getRank());
  // No bigger than what it replaces, so any size.
  OpFoldResult result = foldByIndex(
      data, outType,
      [&](ArrayRef<int64_t> c) {
        for (auto [i, p] : llvm::enumerate(perm))
          in[p] = c[i];
        return linearIndex(inType.getShape(), in);
      },
      std::numeric_limits<int64_t>::max());
  return dyn_cast_or_null<DenseElementsAttr>(
      llvm::dyn_cast_if_present<Attribute>(result));
}

OpFoldResult SliceOp::fold(FoldAdaptor adaptor) {
  RankedTensorType in = getData().getType();
  if (in == getType()) {
    auto dims = computeSlice(std::nullopt, in.getShape(), getStarts(),
                             getEnds(), getAxes(), getSteps());
    if (succeeded(dims) && llvm::all_of(*dims, [](const SliceDim &d) {
          return d.start == 0 && d.step == 1;
        }))
      return getData();
  }
  auto dims = computeSlice(std::nullopt, in.getShape(), getStarts(), getEnds(),
                           getAxes(), getSteps());
  if (failed(dims))
    return {};
  return foldByIndex(adaptor.getData(), getType(), [&](ArrayRef<int64_t> c) {
    SmallVector<int64_t> src;
    for (size_t d = 0; d < c.size(); ++d)
      src.push_back((*dims)[d].start + c[d] * (*dims)[d].step);
    return linearIndex(in.getShape(), src);
  });
}

LogicalResult GatherOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  int64_t axis = normalizeAxis(adaptor.getAxis(), data.getRank());
  if (axis < 0)
    return emitOptionalError(loc, "axis ", adaptor.getAxis(),
                             " is out of range for rank ", data.getRank());
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  shape.append(indices.getShape().begin(), indices.getShape().end());
  shape.append(data.getShape().begin() + axis + 1, data.getShape().end());
  inferred.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

OpFoldResult GatherOp::fold(FoldAdaptor adaptor) {
  auto indices = dyn_cast_or_null<DenseElementsAttr>(adaptor.getIndices());
  if (!indices)
    return {};
  RankedTensorType in = getData().getType();
  int64_t axis = normalizeAxis(getAxis(), in.getRank());
  int64_t dim = in.getDimSize(axis);
  SmallVector<int64_t> idx;
  for (APInt v : indices.getValues<APInt>())
    idx.push_back(v.getSExtValue());
  int64_t irank = indices.getType().getRank();
  return foldByIndex(adaptor.getData(), getType(), [&](ArrayRef<int64_t> c) {
    SmallVector<int64_t> src(c.take_front(axis));
    int64_t flat = 0;
    for (int64_t d = 0; d < irank; ++d)
      flat = flat * indices.getType().getDimSize(d) + c[axis + d];
    int64_t i = idx[flat] < 0 ? idx[flat] + dim : idx[flat];
    if (i < 0 || i >= dim)
      return int64_t(-1);
    src.push_back(i);
    src.append(c.begin() + axis + irank, c.end());
    return linearIndex(in.getShape(), src);
  });
}

LogicalResult ExpandOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getInput());
  SmallVector<int64_t> shape;
  if (failed(broadcastShapes(t.getShape(), adaptor.getShape(), shape)))
    return emitOptionalError(loc, "cannot expand ", shapeStr(t.getShape()),
                             " to ", shapeStr(adaptor.getShape()));
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

LogicalResult TileOp::inferReturnTypes(MLIRContext *,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getInput());
  ArrayRef<int64_t> repeats = adaptor.getRepeats();
  if (static_cast<int64_t>(repeats.size()) != t.getRank())
    return emitOptionalError(loc, "repeats has ", repeats.size(),
                             " entries for rank ", t.getRank());
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i) {
    int64_t size;
    if (repeats[i] < 0 ||
        __builtin_mul_overflow(t.getDimSize(i), repeats[i], &size) ||
        size > (int64_t{1} << 40))
      return emitOptionalError(loc, "repeats ", shapeStr(repeats),
                               " are negative or too large");
    shape.push_back(size);
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

LogicalResult PadOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getData());
  ArrayRef<int64_t> pads = adaptor.getPads();
  int64_t rank = t.getRank();
  if (static_cast<int64_t>(pads.size()) != 2 * rank)
    return emitOptionalError(loc, "pads has ", pads.size(),
                             " entries; expected ", 2 * rank);
  StringRef mode = adaptor.getMode();
  if (mode != "constant" && mode != "reflect" && mode != "edge" &&
      mode != "wrap")
    return emitOptionalError(loc, "unknown pad mode '", mode, "'");
  SmallVector<int64_t> shape;
  for (int64_t i = 0; i < rank; ++i) {
    if (std::abs(pads[i]) > (int64_t{1} << 40) ||
        std::abs(pads[rank + i]) > (int64_t{1} << 40))
      return emitOptionalError(loc, "pads ", shapeStr(pads), " are too large");
    int64_t size = t.getDimSize(i) + pads[i] + pads[rank + i];
    if (size < 0)
      return emitOptionalError(loc, "pads remove more than axis ", i, " holds");
    if (mode == "reflect" &&
        (pads[i] >= t.getDimSize(i) || pads[rank + i] >= t.getDimSize(i)))
      return emitOptionalError(loc, "reflect pads must be smaller than the "
                                    "axis");
    if ((mode == "edge" || mode == "wrap") && t.getDimSize(i) == 0 && size > 0)
      return emitOptionalError(loc, "cannot ", mode, "-pad an empty axis");
    shape.push_back(size);
  }
  inferred.push_back(RankedTensorType::get(shape, t.getElementType()));
  return success();
}

LogicalResult TriluOp::inferReturnTypes(MLIRContext *,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  if (rankedType(adaptor.getInput()).getRank() < 2)
    return emitOptionalError(loc, "Trilu needs rank >= 2");
  inferred.push_back(adaptor.getInput().getType());
  return success();
}

LogicalResult FusionOp::verify() {
  Block &body = getBody().front();
  if (body.getNumArguments() != getInputs().size())
    return emitOpError("has ") << getInputs().size() << " inputs but "
                               << body.getNumArguments() << " block arguments";
  for (auto [arg, input] : llvm::zip(body.getArguments(), getInputs()))
    if (arg.getType() != input.getType())
      return emitOpError("block argument types differ from the inputs'");
  auto yield = cast<YieldOp>(body.getTerminator());
  if (TypeRange(yield.getValues()) != getResultTypes())
    return emitOpError("yields types that differ from its results");
  int heroes = 0;
  for (Operation &op : body.without_terminator())
    heroes += op.hasTrait<KilnFusionHero>();
  if (heroes > 1)
    return emitOpError("holds ") << heroes
                                 << " fusion heroes; a kernel has "
                                    "at most one";
  return success();
}

#define GET_OP_CLASSES
#include "ir/KilnOps.cpp.inc"
