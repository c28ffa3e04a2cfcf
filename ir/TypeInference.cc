//===- TypeInference.cc - kiln dialect: type inference --------------------===//
//
// Part of Kiln. Type inference here is the single source of truth for
// result shapes: the importers build ops without result types, and the
// verifier checks declared types against it. Errors are emitted at the op's
// location, which is the user's node name.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "ir/OpsInternal.h"

#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinAttributes.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/ADT/SmallSet.h"

#include <cctype>
#include <cmath>
#include <cstring>
#include <functional>
#include <limits>
#include <map>

using namespace mlir;
using namespace kiln;
using namespace kiln::detail;

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
    // With no elements in the other dimensions the -1 could be anything
    // (ONNX Runtime and NumPy refuse it too).
    if (known == 0)
      return emitOptionalError(loc, "cannot reshape ", shapeStr(t.getShape()),
                               " to ", shapeStr(adaptor.getShape()),
                               ": the -1 cannot be inferred when the other "
                               "dimensions hold 0 elements");
    if (total % known != 0)
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

LogicalResult TopKOp::inferReturnTypes(MLIRContext *ctx,
                                       std::optional<Location> loc,
                                       Adaptor adaptor,
                                       SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getX());
  int64_t axis = normalizeAxis(adaptor.getAxis(), t.getRank());
  if (axis < 0)
    return emitOptionalError(loc, "axis ",
                             static_cast<int64_t>(adaptor.getAxis()),
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

LogicalResult DetOp::inferReturnTypes(MLIRContext *,
                                      std::optional<Location> loc,
                                      Adaptor adaptor,
                                      SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType t = rankedType(adaptor.getX());
  int64_t rank = t.getRank();
  if (rank < 2 || t.getDimSize(rank - 1) != t.getDimSize(rank - 2))
    return emitOptionalError(loc,
                             "Det expects square matrices [..., M, M]; "
                             "the input is ",
                             t);
  inferred.push_back(
      RankedTensorType::get(t.getShape().drop_back(2), t.getElementType()));
  return success();
}

LogicalResult CumSumOp::inferReturnTypes(MLIRContext *,
                                         std::optional<Location> loc,
                                         Adaptor adaptor,
                                         SmallVectorImpl<Type> &inferred) {
  return detail::inferAxisPreserving(loc, adaptor.getInput(), adaptor.getAxis(),
                                     inferred);
}

LogicalResult
WinogradInputOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                  Adaptor adaptor,
                                  SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType x = rankedType(adaptor.getX());
  ArrayRef<int64_t> pads = adaptor.getPads();
  if (x.getRank() != 4 || pads.size() != 4 ||
      llvm::any_of(pads, [](int64_t p) { return p < 0; }))
    return emitOptionalError(loc, "winograd_input expects X [N, C, H, W] and "
                                  "4 pads of at least 0");
  int64_t rows = x.getDimSize(2) + pads[0] + pads[2];
  if (rows < 3)
    return emitOptionalError(loc, "winograd_input: fewer than 3 rows");
  int64_t tiles = (rows - 2 + 3) / 4;
  inferred.push_back(
      RankedTensorType::get({x.getDimSize(0), 6, x.getDimSize(1), tiles,
                             x.getDimSize(3) + pads[1] + pads[3]},
                            x.getElementType()));
  return success();
}

LogicalResult
WinogradConvOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                 Adaptor adaptor,
                                 SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType v = rankedType(adaptor.getV()),
                   u = rankedType(adaptor.getU());
  if (v.getRank() != 5 || u.getRank() != 4 || v.getDimSize(1) != 6 ||
      u.getDimSize(0) != 6 || u.getDimSize(2) != v.getDimSize(2) ||
      u.getDimSize(3) != 3 || v.getDimSize(4) < 3 ||
      u.getElementType() != v.getElementType())
    return emitOptionalError(loc, "winograd_conv expects V [N, 6, C, T, Wp] "
                                  "and U [6, M, C, 3] of one element type");
  inferred.push_back(
      RankedTensorType::get({v.getDimSize(0), 6, u.getDimSize(1),
                             v.getDimSize(3) * v.getDimSize(4) - 2},
                            v.getElementType()));
  return success();
}

LogicalResult
WinogradOutputOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType p = rankedType(adaptor.getP());
  int64_t height = adaptor.getHeight(), width = adaptor.getWidth();
  int64_t row = width + 2; // A tile's row in P, the padded width.
  if (p.getRank() != 4 || p.getDimSize(1) != 6 || width < 1 || height < 1 ||
      (p.getDimSize(3) + 2) % row != 0)
    return emitOptionalError(loc, "winograd_output expects P [N, 6, M, "
                                  "T * (width + 2) - 2]");
  int64_t tiles = (p.getDimSize(3) + 2) / row;
  if (height > 4 * tiles || height <= 4 * (tiles - 1))
    return emitOptionalError(loc, "winograd_output: a height of ", height,
                             " does not need exactly ", tiles,
                             " tiles of four rows");
  if (Value b = adaptor.getB();
      b && (rankedType(b).getRank() != 1 ||
            rankedType(b).getDimSize(0) != p.getDimSize(2) ||
            rankedType(b).getElementType() != p.getElementType()))
    return emitOptionalError(loc, "winograd_output: B must be [",
                             p.getDimSize(2), "]");
  inferred.push_back(RankedTensorType::get(
      {p.getDimSize(0), p.getDimSize(2), height, width}, p.getElementType()));
  return success();
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
  Value b = adaptor.getB();
  if (w.getElementType() != x.getElementType() ||
      (b && rankedType(b).getElementType() != x.getElementType()))
    return emitOptionalError(loc, "X, W and B must have one element type");
  int64_t group = adaptor.getGroup();
  if (group < 1)
    return emitOptionalError(loc, "group must be at least 1, not ", group);
  if (x.getDimSize(1) % group)
    return emitOptionalError(loc, "group ", group, " does not divide X's ",
                             x.getDimSize(1), " input channels");
  if (w.getDimSize(0) % group)
    return emitOptionalError(loc, "group ", group, " does not divide W's ",
                             w.getDimSize(0), " output channels (W is [",
                             w.getDimSize(0), ", ", w.getDimSize(1), ", ...])");
  if (x.getDimSize(1) / group != w.getDimSize(1))
    return emitOptionalError(loc, "channels do not match: X has ",
                             x.getDimSize(1), ", so ", x.getDimSize(1) / group,
                             " per group of ", group, ", but W [",
                             w.getDimSize(0), ", ", w.getDimSize(1),
                             ", ...] expects ", w.getDimSize(1), " per group");
  if (b && (rankedType(b).getRank() != 1 ||
            rankedType(b).getDimSize(0) != w.getDimSize(0)))
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
  if (x.getRank() < 3 || w.getRank() != x.getRank())
    return emitOptionalError(loc,
                             "ConvTranspose expects X [N, C, ...] and W "
                             "[C, M/group, kernel...] of the same rank, "
                             "not ranks ",
                             x.getRank(), " and ", w.getRank());
  if (adaptor.getGroup() < 1)
    return emitOptionalError(loc, "group must be at least 1, not ",
                             static_cast<int64_t>(adaptor.getGroup()));
  if (w.getDimSize(0) != x.getDimSize(1))
    return emitOptionalError(loc, "W's first axis (", w.getDimSize(0),
                             ") must be X's channels (", x.getDimSize(1),
                             "): W is [C, M/group, kernel...]");
  if (x.getDimSize(1) % adaptor.getGroup())
    return emitOptionalError(
        loc, "group ", static_cast<int64_t>(adaptor.getGroup()),
        " does not divide X's ", x.getDimSize(1), " input channels");
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
    return emitOptionalError(loc, "axis ",
                             static_cast<int64_t>(adaptor.getAxis()),
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
    return emitOptionalError(loc, "axis ",
                             static_cast<int64_t>(adaptor.getAxis()),
                             " is out of range for rank ", data.getRank());
  SmallVector<int64_t> shape(data.getShape().take_front(axis));
  shape.append(indices.getShape().begin(), indices.getShape().end());
  shape.append(data.getShape().begin() + axis + 1, data.getShape().end());
  inferred.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
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

LogicalResult CheckOp::inferReturnTypes(MLIRContext *context,
                                        std::optional<Location> loc,
                                        Adaptor adaptor,
                                        SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  inferred.push_back(RankedTensorType::get({2}, IntegerType::get(context, 64)));
  return success();
}

/// GatherElements' and ScatterElements' indices: data's rank (at least 1),
/// a valid axis, and no larger than data off the axis.
static LogicalResult verifyElementIndices(std::optional<Location> loc,
                                          RankedTensorType data,
                                          RankedTensorType indices,
                                          int64_t axisAttr) {
  if (data.getRank() != indices.getRank() || data.getRank() == 0)
    return emitOptionalError(loc, "indices have rank ", indices.getRank(),
                             " but data has rank ", data.getRank(),
                             " (they must agree, and be at least 1)");
  int64_t axis = normalizeAxis(axisAttr, data.getRank());
  if (axis < 0)
    return emitOptionalError(loc, "axis ", axisAttr,
                             " is out of range for rank ", data.getRank());
  for (int64_t d = 0; d < data.getRank(); ++d)
    if (d != axis && indices.getDimSize(d) > data.getDimSize(d))
      return emitOptionalError(loc, "indices ", shapeStr(indices.getShape()),
                               " are larger than data ",
                               shapeStr(data.getShape()), " in axis ", d);
  return success();
}

LogicalResult
GatherElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                   Adaptor adaptor,
                                   SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  if (failed(verifyElementIndices(loc, data, indices,
                                  static_cast<int64_t>(adaptor.getAxis()))))
    return failure();
  inferred.push_back(
      RankedTensorType::get(indices.getShape(), data.getElementType()));
  return success();
}

LogicalResult GatherNDOp::inferReturnTypes(MLIRContext *,
                                           std::optional<Location> loc,
                                           Adaptor adaptor,
                                           SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  int64_t b = adaptor.getBatchDims();
  if (indices.getRank() < 1)
    return emitOptionalError(loc, "indices need rank at least 1");
  int64_t k = indices.getShape().back();
  if (b < 0 || b >= std::min(data.getRank(), indices.getRank()))
    return emitOptionalError(
        loc, "batch_dims = ", b, " must be less than both ranks (data ",
        data.getRank(), ", indices ", indices.getRank(), ")");
  if (k < 1 || k > data.getRank() - b)
    return emitOptionalError(loc, "index tuples of length ", k,
                             " do not fit data of rank ", data.getRank(),
                             " with batch_dims = ", b);
  for (int64_t d = 0; d < b; ++d)
    if (data.getDimSize(d) != indices.getDimSize(d))
      return emitOptionalError(loc, "batch axis ", d, " differs: data ",
                               shapeStr(data.getShape()), ", indices ",
                               shapeStr(indices.getShape()));
  SmallVector<int64_t> shape(indices.getShape().drop_back());
  shape.append(data.getShape().begin() + b + k, data.getShape().end());
  inferred.push_back(RankedTensorType::get(shape, data.getElementType()));
  return success();
}

/// Scatter's shared checks: updates of data's element type, a known
/// reduction.
static LogicalResult verifyScatter(std::optional<Location> loc,
                                   RankedTensorType data,
                                   RankedTensorType updates,
                                   StringRef reduction) {
  if (data.getElementType() != updates.getElementType())
    return emitOptionalError(loc, "updates of ", updates.getElementType(),
                             " into data of ", data.getElementType());
  if (!llvm::is_contained({"none", "add", "mul", "max", "min"}, reduction))
    return emitOptionalError(loc, "unknown reduction '", reduction,
                             "' (none, add, mul, max or min)");
  return success();
}

LogicalResult
ScatterElementsOp::inferReturnTypes(MLIRContext *, std::optional<Location> loc,
                                    Adaptor adaptor,
                                    SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  RankedTensorType updates = rankedType(adaptor.getUpdates());
  if (failed(verifyScatter(loc, data, updates, adaptor.getReduction())))
    return failure();
  if (indices.getShape() != updates.getShape())
    return emitOptionalError(loc, "indices ", shapeStr(indices.getShape()),
                             " and updates ", shapeStr(updates.getShape()),
                             " differ in shape");
  if (failed(verifyElementIndices(loc, data, indices,
                                  static_cast<int64_t>(adaptor.getAxis()))))
    return failure();
  inferred.push_back(data);
  return success();
}

LogicalResult ScatterNDOp::inferReturnTypes(MLIRContext *,
                                            std::optional<Location> loc,
                                            Adaptor adaptor,
                                            SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType data = rankedType(adaptor.getData());
  RankedTensorType indices = rankedType(adaptor.getIndices());
  RankedTensorType updates = rankedType(adaptor.getUpdates());
  if (failed(verifyScatter(loc, data, updates, adaptor.getReduction())))
    return failure();
  if (indices.getRank() < 1)
    return emitOptionalError(loc, "indices need rank at least 1");
  int64_t k = indices.getShape().back();
  if (k < 1 || k > data.getRank())
    return emitOptionalError(loc, "index tuples of length ", k,
                             " do not fit data of rank ", data.getRank());
  SmallVector<int64_t> want(indices.getShape().drop_back());
  want.append(data.getShape().begin() + k, data.getShape().end());
  if (updates.getShape() != ArrayRef<int64_t>(want))
    return emitOptionalError(loc, "updates are ", shapeStr(updates.getShape()),
                             ", not ", shapeStr(want),
                             " (indices.shape[:-1] + data.shape[k:])");
  inferred.push_back(data);
  return success();
}

LogicalResult RecurrenceOp::inferReturnTypes(MLIRContext *,
                                             std::optional<Location> loc,
                                             Adaptor adaptor,
                                             SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType inputs = rankedType(adaptor.getInputs());
  RankedTensorType r = rankedType(adaptor.getRecurrence());
  if (inputs.getRank() != 3 || r.getRank() != 2)
    return emitOptionalError(loc,
                             "expects inputs [seq, batch, G*H] and "
                             "recurrence [H, G*H], got ",
                             shapeStr(inputs.getShape()), " and ",
                             shapeStr(r.getShape()));
  int64_t seq = inputs.getDimSize(0), batch = inputs.getDimSize(1);
  int64_t hidden = r.getDimSize(0);
  Type elem = inputs.getElementType();
  inferred.push_back(RankedTensorType::get({seq, batch, hidden}, elem));
  inferred.push_back(RankedTensorType::get({batch, hidden}, elem));
  inferred.push_back(RankedTensorType::get({batch, hidden}, elem));
  return success();
}
