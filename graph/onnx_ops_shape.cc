//===- onnx_ops_shape.cc - ONNX shape and data-movement ops ---------------===//
//
// Part of Kiln. Converters for ONNX ops that reshape or move data: inputs
// that must be compile-time constants (shapes, axes, pads, split sizes),
// their opset variants, and the ops that static shapes turn into others
// (Flatten, Squeeze and Unsqueeze into Reshape; Shape, Size, Range and
// ConstantOfShape into constants).
//
//===----------------------------------------------------------------------===//
#include <algorithm>
#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/onnx_ops.h"
#include "graph/onnx_registry.h"
#include "graph/onnx_tensor.h"
#include "graph/op_table.h"
#include "mlir/IR/Matchers.h"

namespace kiln {

using mlir::FailureOr;
using mlir::Value;
using namespace onnx_ops;

namespace {

/// Opset 1 takes the shape as an attribute, opset 5 as a constant input.
template <int Since> FailureOr<Values> convertReshape(NodeContext &ctx) {
  llvm::SmallVector<int64_t> shape;
  if constexpr (Since < 5) {
    shape = ctx.getInts("shape").value_or(llvm::SmallVector<int64_t>{});
  } else {
    FailureOr<llvm::SmallVector<int64_t>> s = ctx.constantInts(1, "shape");
    if (mlir::failed(s))
      return mlir::failure();
    shape = *s;
  }
  return one(ctx.build<ReshapeOp>(
      ctx.input(0),
      {named(ctx, "shape", ints(ctx, shape)),
       named(ctx, "allowzero", i64(ctx, ctx.getInt("allowzero", 0)))}));
}

FailureOr<Values> convertFlatten(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t axis = ctx.getInt("axis", 1);
  if (axis < 0)
    axis += t.getRank();
  if (axis < 0 || axis > t.getRank()) {
    ctx.error(absl::StrCat("axis ", ctx.getInt("axis", 1),
                           " is out of range for rank ", t.getRank()));
    return mlir::failure();
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < t.getRank(); ++i)
    (i < axis ? outer : inner) *= t.getDimSize(i);
  return one(ctx.reshape(ctx.input(0), {outer, inner}));
}

/// Opset 13 moved `axes` from an attribute to an input.
template <int Since> FailureOr<Values> convertSqueeze(NodeContext &ctx) {
  auto axes = axesOf<Since, 13>(ctx);
  if (mlir::failed(axes))
    return mlir::failure();
  auto t = ctx.type(0);
  llvm::SmallVector<bool> drop(t.getRank(), false);
  if (*axes) {
    for (int64_t a : **axes) {
      int64_t n = normalizeAxis(a, t.getRank());
      if (n < 0 || t.getDimSize(n) != 1) {
        ctx.error(absl::StrCat("cannot squeeze axis ", a));
        return mlir::failure();
      }
      drop[n] = true;
    }
  } else {
    for (int64_t i = 0; i < t.getRank(); ++i)
      drop[i] = t.getDimSize(i) == 1;
  }
  llvm::SmallVector<int64_t> shape;
  for (int64_t i = 0; i < t.getRank(); ++i)
    if (!drop[i])
      shape.push_back(t.getDimSize(i));
  return one(ctx.reshape(ctx.input(0), shape));
}

/// Opset 13 moved `axes` from an attribute to an input.
template <int Since> FailureOr<Values> convertUnsqueeze(NodeContext &ctx) {
  auto axes = axesOf<Since, 13>(ctx);
  if (mlir::failed(axes))
    return mlir::failure();
  if (!*axes) {
    ctx.error("Unsqueeze needs axes");
    return mlir::failure();
  }
  auto t = ctx.type(0);
  int64_t rank = t.getRank() + (*axes)->size();
  llvm::SmallVector<bool> inserted(rank, false);
  for (int64_t a : **axes) {
    int64_t n = normalizeAxis(a, rank);
    if (n < 0 || inserted[n]) {
      ctx.error(absl::StrCat("axis ", a, " is out of range or repeated"));
      return mlir::failure();
    }
    inserted[n] = true;
  }
  llvm::SmallVector<int64_t> shape;
  int64_t next = 0;
  for (int64_t i = 0; i < rank; ++i)
    shape.push_back(inserted[i] ? 1 : t.getDimSize(next++));
  return one(ctx.reshape(ctx.input(0), shape));
}

FailureOr<Values> convertShape(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank();
  auto clamp = [&](int64_t v) {
    if (v < 0)
      v += rank;
    return std::min(std::max<int64_t>(v, 0), rank);
  };
  int64_t start = clamp(ctx.getInt("start", 0));
  int64_t end = clamp(ctx.getInt("end", rank));
  llvm::SmallVector<int64_t> dims;
  for (int64_t i = start; i < end; ++i)
    dims.push_back(t.getDimSize(i));
  return Values{int64Constant(ctx, dims, {int64_t(dims.size())})};
}

FailureOr<Values> convertSize(NodeContext &ctx) {
  return Values{int64Constant(ctx, {ctx.type(0).getNumElements()}, {})};
}

FailureOr<Values> convertConstantOfShape(NodeContext &ctx) {
  FailureOr<llvm::SmallVector<int64_t>> shape = ctx.constantInts(0, "shape");
  if (mlir::failed(shape))
    return mlir::failure();
  if (!ShapeWithinLimit(*shape, int64_t{1} << 31)) {
    ctx.error("shape has a negative or too large dimension");
    return mlir::failure();
  }
  mlir::Attribute element = ctx.builder().getF32FloatAttr(0);
  mlir::Type elem = ctx.builder().getF32Type();
  if (const Attr *a = ctx.attr("value", Attr::TENSOR)) {
    mlir::FailureOr<mlir::DenseElementsAttr> v = ctx.decodeTensor(a->t());
    if (mlir::failed(v))
      return mlir::failure();
    if (v->getNumElements() != 1) {
      ctx.error("value must hold one element");
      return mlir::failure();
    }
    elem = v->getElementType();
    element = *v->value_begin<mlir::Attribute>();
  } else if (ctx.reported()) {
    return mlir::failure();
  }
  auto type = mlir::RankedTensorType::get(*shape, elem);
  return Values{ctx.constant(mlir::DenseElementsAttr::get(type, element))};
}

FailureOr<Values> convertRange(NodeContext &ctx) {
  const char *names[] = {"start", "limit", "delta"};
  for (size_t i = 0; i < 3; ++i)
    if (!ctx.constantInput(i)) {
      ctx.unsupported("start, limit and delta must be known at compile time");
      return mlir::failure();
    }
  mlir::Type elem = ctx.type(0).getElementType();
  if (ctx.type(1).getElementType() != elem ||
      ctx.type(2).getElementType() != elem) {
    ctx.error("start, limit and delta differ in element type");
    return mlir::failure();
  }
  bool isFloat = mlir::isa<mlir::FloatType>(elem);
  if (!isFloat && (!elem.isInteger() || elem.isInteger(1))) {
    ctx.error("start, limit and delta must be numbers");
    return mlir::failure();
  }
  double v[3];
  for (size_t i = 0; i < 3; ++i) {
    FailureOr<double> x = ctx.constantScalar(i, names[i]);
    if (mlir::failed(x))
      return mlir::failure();
    v[i] = *x;
  }
  // Integers are stepped in int64 (wrapping, as the element type would),
  // floats in double.
  int64_t is[3] = {0, 0, 0};
  if (!isFloat)
    for (size_t i = 0; i < 3; ++i)
      is[i] = (*ctx.constantInts(i, names[i]))[0];
  double s = v[0], l = v[1], d = v[2];
  if (d == 0) {
    ctx.error("delta must not be 0");
    return mlir::failure();
  }
  double count = std::ceil((l - s) / d);
  if (!isFloat) {
    // Exactly, in 128 bits: doubles round int64 differences near the
    // limits (Range(INT64_MIN, INT64_MAX, INT64_MAX) has 3 elements).
    __int128 span = static_cast<__int128>(is[1]) - is[0], step = is[2];
    __int128 q = span / step;
    if (q * step != span && (span > 0) == (step > 0))
      ++q; // ceil for a quotient that is positive
    count = static_cast<double>(q);
  }
  if (!(count <= double(int64_t{1} << 24))) { // NaN too
    ctx.error("Range is too long");
    return mlir::failure();
  }
  int64_t n = count > 0 ? int64_t(count) : 0;
  llvm::SmallVector<mlir::Attribute> values;
  for (int64_t i = 0; i < n; ++i) {
    if (isFloat)
      values.push_back(ctx.builder().getFloatAttr(elem, s + i * d));
    else
      values.push_back(ctx.builder().getIntegerAttr(
          elem, int64_t(uint64_t(is[0]) + uint64_t(i) * uint64_t(is[2]))));
  }
  auto type = mlir::RankedTensorType::get({n}, elem);
  return Values{ctx.constant(mlir::DenseElementsAttr::get(type, values))};
}

/// Opset 13 moved `split` to an input; opset 18 added `num_outputs`.
template <int Since> FailureOr<Values> convertSplit(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t axis = normalizeAxis(ctx.getInt("axis", 0), t.getRank());
  if (axis < 0) {
    ctx.error("axis is out of range");
    return mlir::failure();
  }
  int64_t outputs = ctx.node().output_size();
  llvm::SmallVector<int64_t> sizes;
  if (Since >= 13 && ctx.input(1)) {
    FailureOr<llvm::SmallVector<int64_t>> s = ctx.constantInts(1, "split");
    if (mlir::failed(s))
      return mlir::failure();
    sizes = *s;
  } else if (auto s = ctx.getInts("split")) {
    sizes = *s;
  } else {
    // Opset 18 asks for one of the `split` input and `num_outputs`; older
    // opsets split evenly into as many parts as there are outputs.
    if (Since >= 18 && !ctx.hasAttr("num_outputs")) {
      ctx.error("needs the 'split' input or the 'num_outputs' attribute "
                "(opset 18)");
      return mlir::failure();
    }
    int64_t dim = t.getDimSize(axis);
    int64_t n = ctx.getInt("num_outputs", outputs);
    if (n < 1 || n > std::max(dim, outputs)) {
      ctx.error(absl::StrCat("cannot split an axis of size ", dim, " into ", n,
                             " parts"));
      return mlir::failure();
    }
    int64_t chunk = (dim + n - 1) / n;
    for (int64_t i = 0; i < n; ++i)
      sizes.push_back(std::max<int64_t>(0, std::min(chunk, dim - i * chunk)));
  }
  int64_t total = 0;
  for (int64_t size : sizes) {
    if (size < 0 || size > t.getDimSize(axis) - total) {
      total = -1;
      break;
    }
    total += size;
  }
  if (total != t.getDimSize(axis)) {
    ctx.error("split sizes do not add up to the axis");
    return mlir::failure();
  }
  Values results;
  int64_t start = 0;
  for (int64_t size : sizes) {
    FailureOr<Value> part = ctx.build<SliceOp>(
        ctx.input(0), {named(ctx, "starts", ints(ctx, {start})),
                       named(ctx, "ends", ints(ctx, {start + size})),
                       named(ctx, "axes", ints(ctx, {axis}))});
    if (mlir::failed(part))
      return mlir::failure();
    results.push_back(*part);
    start += size;
  }
  return results;
}

/// Opset 10 moved starts, ends, axes and steps to inputs.
/// `v` without the reshapes in front of it (Unsqueeze and Squeeze of a
/// scalar).
Value throughReshapes(Value v) {
  while (auto r = v.getDefiningOp<ReshapeOp>())
    v = r.getData();
  return v;
}

/// A Slice along one axis whose start is computed at run time and whose
/// end is that start plus a constant k (x[i : i + k], as exported loop
/// bodies write it): a Gather of the k positions from the start. The
/// output has k entries along the axis, so the start must leave room for
/// them (a Gather out of range fails the run, outside loop bodies).
FailureOr<Values> sliceAtRuntimeStart(NodeContext &ctx) {
  auto refuse = [&]() -> FailureOr<Values> {
    ctx.unsupported("starts and ends computed at run time make the output's "
                    "shape known only then; Kiln compiles static shapes: "
                    "starts and ends must be known at compile time "
                    "(constants, or inputs frozen with --freeze), or give a "
                    "slice of constant length (ends = starts + k along one "
                    "axis)");
    return mlir::failure();
  };
  auto startType = ctx.type(1);
  if (startType.getNumElements() != 1 || ctx.constantInput(1))
    return refuse();
  Value start = throughReshapes(ctx.input(1));
  auto add = throughReshapes(ctx.input(2)).getDefiningOp<AddOp>();
  if (!add)
    return refuse();
  Value other;
  if (throughReshapes(add.getA()) == start)
    other = add.getB();
  else if (throughReshapes(add.getB()) == start)
    other = add.getA();
  mlir::DenseElementsAttr k;
  if (!other || !mlir::matchPattern(other, mlir::m_Constant(&k)) ||
      k.getNumElements() != 1 || !k.getElementType().isInteger(64))
    return refuse();
  int64_t length = (*k.getValues<llvm::APInt>().begin()).getSExtValue();
  int64_t axis = 0;
  if (ctx.input(3)) {
    FailureOr<llvm::SmallVector<int64_t>> axes = ctx.constantInts(3, "axes");
    if (mlir::failed(axes) || axes->size() != 1)
      return mlir::failure();
    axis = normalizeAxis((*axes)[0], ctx.type(0).getRank());
  }
  if (ctx.input(4)) {
    FailureOr<llvm::SmallVector<int64_t>> steps = ctx.constantInts(4, "steps");
    if (mlir::failed(steps) || *steps != llvm::SmallVector<int64_t>{1})
      return refuse();
  }
  if (axis < 0 || length < 1 || !startType.getElementType().isInteger(64))
    return refuse();
  int64_t dim = ctx.type(0).getDimSize(axis);
  if (length > dim) {
    ctx.error(absl::StrCat(
        "a slice of ", length, " positions (ends = starts + ", length,
        ") along axis ", axis, " of length ", dim, " cannot fit"));
    return mlir::failure();
  }
  // ONNX counts a negative start from the back and clamps the end, so a
  // window that does not fit is shorter (x[-1:1] is empty): here it fails
  // the run instead. A start in [0, dim - k], or a negative one whose end
  // start + k is still negative (x[-3:-1]), gives k positions; a Gather
  // takes negative positions counted from the back as well.
  Chain c(ctx, ctx.builder().getI64Type());
  auto check = [&](Value v, int64_t lower, int64_t upper,
                   const std::string &what) {
    return c.op<InRangeOp>(
        {v}, {named(ctx, "lower", i64(ctx, lower)),
              named(ctx, "upper", i64(ctx, upper)),
              named(ctx, "what", ctx.builder().getStringAttr(what))});
  };
  Value from = check(
      c.reshape(ctx.input(1), {}), -dim, dim - length,
      absl::StrCat("start (of a slice of ", length, " along axis ", axis, ")"));
  Value negative = c.op<LessOp>({from, c.f(0)});
  Value end = check(
      c.where(negative, c.add(from, c.f(length)), c.f(-1)), length - dim, -1,
      absl::StrCat("end (= start + ", length, "; the start is negative)"));
  // The start again, from the checked end where it is negative, so that
  // both checks stay on the path to the result.
  from = c.where(negative, c.sub(end, c.f(length)), from);
  std::vector<int64_t> offsets(length);
  for (int64_t i = 0; i < length; ++i)
    offsets[i] = i;
  Value positions = c.add(from, int64Constant(ctx, offsets, {length}));
  if (!positions)
    return mlir::failure();
  return one(ctx.build<GatherOp>({ctx.input(0), positions},
                                 {named(ctx, "axis", i64(ctx, axis))}));
}

template <int Since> FailureOr<Values> convertSlice(NodeContext &ctx) {
  if constexpr (Since >= 10) {
    if (!ctx.constantInput(1) || !ctx.constantInput(2))
      return sliceAtRuntimeStart(ctx);
  }
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  const char *names[] = {"starts", "ends", "axes", "steps"};
  for (size_t i = 0; i < 4; ++i) {
    std::optional<llvm::SmallVector<int64_t>> v;
    if constexpr (Since < 10) {
      v = ctx.getInts(names[i]);
    } else if (ctx.input(i + 1)) {
      FailureOr<llvm::SmallVector<int64_t>> c =
          ctx.constantInts(i + 1, names[i]);
      if (mlir::failed(c))
        return mlir::failure();
      v = *c;
    }
    if (v)
      attrs.push_back(named(ctx, names[i], ints(ctx, *v)));
  }
  return one(ctx.build<SliceOp>(ctx.input(0), attrs));
}

/// Opset 2 renamed `paddings` to `pads`; opset 11 moved `pads` and the
/// value to inputs (and opset 18 added `axes`).
template <int Since> FailureOr<Values> convertPad(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank();
  llvm::SmallVector<int64_t> pads;
  double value = 0;
  if constexpr (Since < 11) {
    pads = ctx.getInts(Since < 2 ? "paddings" : "pads")
               .value_or(llvm::SmallVector<int64_t>{});
    value = ctx.getFloat("value", 0);
  } else {
    FailureOr<llvm::SmallVector<int64_t>> p = ctx.constantInts(1, "pads");
    if (mlir::failed(p))
      return mlir::failure();
    pads = *p;
    if (ctx.input(2)) {
      FailureOr<double> v = ctx.constantScalar(2, "constant_value");
      if (mlir::failed(v))
        return mlir::failure();
      value = *v;
    }
    if (ctx.input(3)) {
      FailureOr<llvm::SmallVector<int64_t>> axes = ctx.constantInts(3, "axes");
      if (mlir::failed(axes))
        return mlir::failure();
      llvm::SmallVector<int64_t> full(2 * rank, 0);
      size_t n = axes->size();
      if (pads.size() != 2 * n) {
        ctx.error("pads must have two entries per axis");
        return mlir::failure();
      }
      for (size_t i = 0; i < n; ++i) {
        int64_t a = normalizeAxis((*axes)[i], rank);
        if (a < 0) {
          ctx.error("pad axis out of range");
          return mlir::failure();
        }
        full[a] = pads[i];
        full[rank + a] = pads[n + i];
      }
      pads = full;
    }
  }
  std::string mode = ctx.getString("mode", "constant");
  return one(ctx.build<PadOp>(
      ctx.input(0),
      {named(ctx, "pads", ints(ctx, pads)),
       named(ctx, "mode", ctx.builder().getStringAttr(mode)),
       named(ctx, "value", ctx.builder().getF64FloatAttr(value))}));
}

FailureOr<Values> convertExpand(NodeContext &ctx) {
  FailureOr<llvm::SmallVector<int64_t>> shape = ctx.constantInts(1, "shape");
  if (mlir::failed(shape))
    return mlir::failure();
  return one(ctx.build<ExpandOp>(ctx.input(0),
                                 {named(ctx, "shape", ints(ctx, *shape))}));
}

FailureOr<Values> convertTile(NodeContext &ctx) {
  FailureOr<llvm::SmallVector<int64_t>> repeats =
      ctx.constantInts(1, "repeats");
  if (mlir::failed(repeats))
    return mlir::failure();
  return one(ctx.build<TileOp>(ctx.input(0),
                               {named(ctx, "repeats", ints(ctx, *repeats))}));
}

FailureOr<Values> convertTrilu(NodeContext &ctx) {
  int64_t k = 0;
  if (ctx.input(1)) {
    FailureOr<llvm::SmallVector<int64_t>> v = ctx.constantInts(1, "k");
    if (mlir::failed(v))
      return mlir::failure();
    if (v->size() != 1) {
      ctx.error(absl::StrCat("k must hold one value, got ", v->size()));
      return mlir::failure();
    }
    k = (*v)[0];
  }
  return one(ctx.build<TriluOp>(
      ctx.input(0), {named(ctx, "upper", i64(ctx, ctx.getInt("upper", 1))),
                     named(ctx, "k", i64(ctx, k))}));
}

/// Reshape, transpose, reshape: the data movement of DepthToSpace and
/// SpaceToDepth.
FailureOr<Values> shuffle(NodeContext &ctx, llvm::ArrayRef<int64_t> split,
                          llvm::ArrayRef<int64_t> perm,
                          llvm::ArrayRef<int64_t> shape) {
  FailureOr<Value> r = ctx.reshape(ctx.input(0), split);
  if (mlir::failed(r))
    return mlir::failure();
  FailureOr<Value> t =
      ctx.build<TransposeOp>(*r, {named(ctx, "perm", ints(ctx, perm))});
  if (mlir::failed(t))
    return mlir::failure();
  return one(ctx.reshape(*t, shape));
}

/// DepthToSpace (DCR or CRD order) and SpaceToDepth on [N, C, H, W].
template <bool ToSpace> FailureOr<Values> convertDepthSpace(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t b = ctx.getInt("blocksize", 0);
  if (t.getRank() != 4 || b < 1) {
    ctx.error("expects input [N, C, H, W] and a blocksize of at least 1");
    return mlir::failure();
  }
  int64_t n = t.getDimSize(0), c = t.getDimSize(1), h = t.getDimSize(2),
          w = t.getDimSize(3);
  if constexpr (ToSpace) {
    if (b > c / b || c % (b * b) != 0) {
      ctx.error(absl::StrCat("channels (", c, ") are not a multiple of ",
                             "blocksize^2 (blocksize ", b, ")"));
      return mlir::failure();
    }
    std::string mode = ctx.getString("mode", "DCR");
    if (mode == "DCR")
      return shuffle(ctx, {n, b, b, c / (b * b), h, w}, {0, 3, 4, 1, 5, 2},
                     {n, c / (b * b), h * b, w * b});
    if (mode == "CRD")
      return shuffle(ctx, {n, c / (b * b), b, b, h, w}, {0, 1, 4, 2, 5, 3},
                     {n, c / (b * b), h * b, w * b});
    ctx.error("mode must be DCR or CRD, not '" + mode + "'");
    return mlir::failure();
  } else {
    if (h % b != 0 || w % b != 0) {
      ctx.error(absl::StrCat("height and width (", h, ", ", w,
                             ") are not multiples of blocksize ", b));
      return mlir::failure();
    }
    return shuffle(ctx, {n, c, h / b, b, w / b, b}, {0, 3, 5, 1, 2, 4},
                   {n, c * b * b, h / b, w / b});
  }
}

/// EyeLike: ones on diagonal k of a matrix of the input's shape, in
/// `dtype` (default the input's).
FailureOr<Values> convertEyeLike(NodeContext &ctx) {
  auto t = ctx.type(0);
  if (t.getRank() != 2) {
    ctx.error("expects a 2-D input");
    return mlir::failure();
  }
  mlir::Type elem = t.getElementType();
  if (ctx.hasAttr("dtype")) {
    int64_t dtype = ctx.getInt("dtype", 0);
    elem = OnnxElementType(static_cast<int>(dtype), ctx.context());
    if (!elem) {
      ctx.unsupported(absl::StrCat("element type ",
                                   OnnxTypeName(static_cast<int>(dtype)),
                                   " is not supported"));
      return mlir::failure();
    }
  }
  int64_t k = ctx.getInt("k", 0), rows = t.getDimSize(0),
          cols = t.getDimSize(1);
  std::vector<double> ones(rows * cols, 0.0);
  for (int64_t i = 0; i < rows; ++i)
    if (i + k >= 0 && i + k < cols)
      ones[i * cols + i + k] = 1.0;
  FailureOr<Value> eye = ctx.reshape(
      int64Constant(ctx, std::vector<int64_t>(ones.begin(), ones.end()),
                    {rows * cols}),
      {rows, cols});
  if (mlir::failed(eye))
    return mlir::failure();
  return one(
      ctx.build<CastOp>(*eye, {named(ctx, "to", mlir::TypeAttr::get(elem))}));
}

/// OneHot: along a new axis of length depth, values[1] where the (wrapped)
/// index is, values[0] elsewhere; an index out of [-depth, depth) gives a
/// row of values[0], as ONNX says.
FailureOr<Values> convertOneHot(NodeContext &ctx) {
  FailureOr<double> depthValue = ctx.constantScalar(1, "depth");
  if (mlir::failed(depthValue))
    return mlir::failure();
  auto idxType = ctx.type(0), valuesType = ctx.type(2);
  if (!(*depthValue >= 1) || valuesType.getNumElements() != 2) {
    ctx.error("expects depth >= 1 and values [off, on]");
    return mlir::failure();
  }
  // The output has depth entries along the new axis, and a constant holds
  // the depth positions: both within Kiln's limits before anything is sized.
  llvm::SmallVector<int64_t> outShape(idxType.getShape());
  outShape.push_back(static_cast<int64_t>(
      std::min(*depthValue, static_cast<double>(kMaxConstantElements) + 1)));
  if (*depthValue > static_cast<double>(kMaxConstantElements) ||
      !ShapeWithinLimit(outShape)) {
    ctx.error(absl::StrCat("depth ", *depthValue,
                           " makes the output larger than Kiln's limit of "
                           "2^32 elements"));
    return mlir::failure();
  }
  int64_t depth = static_cast<int64_t>(*depthValue);
  int64_t rank = idxType.getRank() + 1;
  int64_t axis = normalizeAxis(ctx.getInt("axis", -1), rank);
  if (axis < 0) {
    ctx.error(absl::StrCat("axis ", ctx.getInt("axis", -1),
                           " is out of range for rank ", rank));
    return mlir::failure();
  }
  auto i64Type = ctx.builder().getIntegerType(64);
  FailureOr<Value> idx = ctx.build<CastOp>(
      ctx.input(0), {named(ctx, "to", mlir::TypeAttr::get(i64Type))});
  if (mlir::failed(idx))
    return mlir::failure();
  FailureOr<Value> negative = ctx.build<LessOp>({*idx, ctx.scalar(i64Type, 0)});
  FailureOr<Value> shifted =
      ctx.build<AddOp>({*idx, ctx.scalar(i64Type, depth)});
  if (mlir::failed(negative) || mlir::failed(shifted))
    return mlir::failure();
  idx = ctx.build<WhereOp>({*negative, *shifted, *idx});
  if (mlir::failed(idx))
    return mlir::failure();
  llvm::SmallVector<int64_t> expanded(idxType.getShape());
  expanded.insert(expanded.begin() + axis, 1);
  FailureOr<Value> column = ctx.reshape(*idx, expanded);
  llvm::SmallVector<int64_t> rangeShape(rank, 1);
  rangeShape[axis] = depth;
  std::vector<int64_t> positions(depth);
  for (int64_t i = 0; i < depth; ++i)
    positions[i] = i;
  FailureOr<Value> range =
      ctx.reshape(int64Constant(ctx, positions, {depth}), rangeShape);
  if (mlir::failed(column) || mlir::failed(range))
    return mlir::failure();
  FailureOr<Value> hot = ctx.build<EqualOp>({*column, *range});
  FailureOr<Value> flat = ctx.reshape(ctx.input(2), {2});
  if (mlir::failed(hot) || mlir::failed(flat))
    return mlir::failure();
  auto pick = [&](int64_t i) -> FailureOr<Value> {
    FailureOr<Value> v =
        ctx.build<SliceOp>(*flat, {named(ctx, "starts", ints(ctx, {i})),
                                   named(ctx, "ends", ints(ctx, {i + 1}))});
    if (mlir::failed(v))
      return mlir::failure();
    return ctx.reshape(*v, {});
  };
  FailureOr<Value> off = pick(0), on = pick(1);
  if (mlir::failed(off) || mlir::failed(on))
    return mlir::failure();
  return one(ctx.build<WhereOp>({*hot, *on, *off}));
}

/// ReverseSequence: batch b's first sequence_lens[b] steps along
/// time_axis reversed, the rest kept: a GatherElements along the time
/// axis at t < L[b] ? L[b] - 1 - t : t. A length outside [0, T] fails the
/// run.
FailureOr<Values> convertReverseSequence(NodeContext &ctx) {
  auto t = ctx.type(0), lensType = ctx.type(1);
  int64_t rank = t.getRank();
  int64_t timeAxis = normalizeAxis(ctx.getInt("time_axis", 0), rank);
  int64_t batchAxis = normalizeAxis(ctx.getInt("batch_axis", 1), rank);
  if (rank < 2 || timeAxis < 0 || batchAxis < 0 || timeAxis > 1 ||
      batchAxis > 1 || timeAxis == batchAxis) {
    ctx.error("expects a tensor of rank 2 or more and time_axis, batch_axis "
              "0 and 1 (either way round)");
    return mlir::failure();
  }
  int64_t steps = t.getDimSize(timeAxis), batch = t.getDimSize(batchAxis);
  if (lensType.getRank() != 1 || lensType.getDimSize(0) != batch) {
    ctx.error(absl::StrCat("sequence_lens must hold ", batch,
                           " lengths, one per batch entry"));
    return mlir::failure();
  }
  auto i64Type = ctx.builder().getIntegerType(64);
  FailureOr<Value> lens = ctx.input(1);
  if (lensType.getElementType() != i64Type)
    lens = ctx.build<CastOp>(ctx.input(1),
                             {named(ctx, "to", mlir::TypeAttr::get(i64Type))});
  if (mlir::succeeded(lens))
    lens = ctx.build<InRangeOp>(
        *lens,
        {named(ctx, "lower", i64(ctx, 0)), named(ctx, "upper", i64(ctx, steps)),
         named(ctx, "what", ctx.builder().getStringAttr("sequence length"))});
  if (mlir::failed(lens))
    return mlir::failure();
  // L along the batch axis, t along the time axis, both of rank 2.
  llvm::SmallVector<int64_t> lensShape = {1, 1}, stepShape = {1, 1};
  lensShape[batchAxis] = batch;
  stepShape[timeAxis] = steps;
  std::vector<int64_t> positions(steps);
  for (int64_t i = 0; i < steps; ++i)
    positions[i] = i;
  FailureOr<Value> l = ctx.reshape(*lens, lensShape);
  FailureOr<Value> step =
      ctx.reshape(int64Constant(ctx, positions, {steps}), stepShape);
  if (mlir::failed(l) || mlir::failed(step))
    return mlir::failure();
  FailureOr<Value> inside = ctx.build<LessOp>({*step, *l});
  FailureOr<Value> mirrored = ctx.build<SubOp>({*l, *step});
  if (mlir::succeeded(mirrored))
    mirrored = ctx.build<SubOp>({*mirrored, ctx.scalar(i64Type, 1)});
  if (mlir::failed(inside) || mlir::failed(mirrored))
    return mlir::failure();
  FailureOr<Value> index = ctx.build<WhereOp>({*inside, *mirrored, *step});
  if (mlir::failed(index))
    return mlir::failure();
  // [T, B] (or [B, T]) -> the input's shape, broadcast over the rest.
  llvm::SmallVector<int64_t> expanded(t.getShape().take_front(2));
  expanded.append(rank - 2, 1);
  FailureOr<Value> shaped = ctx.reshape(*index, expanded);
  if (mlir::failed(shaped))
    return mlir::failure();
  FailureOr<Value> full = ctx.build<ExpandOp>(
      *shaped, {named(ctx, "shape", ints(ctx, t.getShape()))});
  if (mlir::failed(full))
    return mlir::failure();
  return one(ctx.build<GatherElementsOp>(
      {ctx.input(0), *full}, {named(ctx, "axis", i64(ctx, timeAxis))}));
}

/// ScatterElements and ScatterND through the table, refusing the
/// reductions the node's opset does not define.
template <int Since>
FailureOr<Values> convertScatterWith(NodeContext &ctx, const char *op) {
  std::string reduction = ctx.getString("reduction", "none");
  if (Since < 18 && (reduction == "max" || reduction == "min")) {
    ctx.error("reduction '" + reduction +
              "' needs opset 18; this opset knows none, add and mul");
    return mlir::failure();
  }
  return ConvertWithTable(ctx, *LookupOp(op));
}
template <int Since> FailureOr<Values> convertScatter(NodeContext &ctx) {
  return convertScatterWith<Since>(ctx, "ScatterElements");
}
template <int Since> FailureOr<Values> convertScatterND(NodeContext &ctx) {
  return convertScatterWith<Since>(ctx, "ScatterND");
}

} // namespace

void RegisterShapeOnnxOps(OnnxRegistry &r) {
  r.onOp("Reshape", 1, convertReshape<1>, 1, 1);
  r.onOp("Reshape", 5, convertReshape<5>, 2, 2);
  r.onOp("Flatten", 1, convertFlatten, 1, 1);
  r.onOp("Squeeze", 1, convertSqueeze<1>, 1, 1);
  r.onOp("Squeeze", 13, convertSqueeze<13>, 1, 2);
  r.onOp("Unsqueeze", 1, convertUnsqueeze<1>, 1, 1, {"axes"});
  r.onOp("Unsqueeze", 13, convertUnsqueeze<13>, 2, 2);
  r.onOp("Shape", 1, convertShape, 1, 1);
  r.onOp("Size", 1, convertSize, 1, 1);
  r.onOp("ConstantOfShape", 1, convertConstantOfShape, 1, 1);
  r.onOp("Range", 1, convertRange, 3, 3);
  r.onOp("Split", 1, convertSplit<1>, 1, 2);
  r.onOp("Split", 13, convertSplit<13>, 1, 2);
  r.onOp("Split", 18, convertSplit<18>, 1, 2);
  r.onOp("Slice", 1, convertSlice<1>, 1, 1, {"starts", "ends"});
  r.onOp("Slice", 10, convertSlice<10>, 3, 5);
  r.onOp("Pad", 1, convertPad<1>, 1, 1, {"paddings"});
  r.onOp("Pad", 2, convertPad<2>, 1, 1, {"pads"});
  r.onOp("Pad", 11, convertPad<11>, 2, 4);
  r.onOp("Expand", 1, convertExpand, 2, 2);
  r.onOp("Tile", 1, convertTile, 2, 2);
  r.onOp("Trilu", 1, convertTrilu, 1, 2);
  // Opsets 16 and 17 know the reductions none, add and mul; 18 adds max
  // and min.
  r.onOp("ScatterElements", 1, convertScatter<1>, 3, 3);
  r.onOp("ScatterElements", 16, convertScatter<16>, 3, 3);
  r.onOp("ScatterElements", 18, convertScatter<18>, 3, 3);
  r.onOp("ScatterND", 1, convertScatterND<1>, 3, 3);
  r.onOp("ScatterND", 16, convertScatterND<16>, 3, 3);
  r.onOp("ScatterND", 18, convertScatterND<18>, 3, 3);
  r.onOp("DepthToSpace", 1, convertDepthSpace<true>, 1, 1, {"blocksize"});
  r.onOp("SpaceToDepth", 1, convertDepthSpace<false>, 1, 1, {"blocksize"});
  r.onOp("EyeLike", 1, convertEyeLike, 1, 1);
  r.onOp("OneHot", 1, convertOneHot, 3, 3);
  r.onOp("ReverseSequence", 1, convertReverseSequence, 2, 2);
  // Scatter (opsets 9 and 10) is ScatterElements under its old name.
  r.onOp(
      "Scatter", 1,
      [](NodeContext &ctx) {
        return ConvertWithTable(ctx, *LookupOp("ScatterElements"));
      },
      3, 3);
}

namespace onnx_ops {

FailureOr<std::optional<llvm::SmallVector<int64_t>>>
intsFromInputOrAttr(NodeContext &ctx, size_t index, const char *name) {
  if (!ctx.input(index))
    return ctx.getInts(name);
  FailureOr<llvm::SmallVector<int64_t>> v = ctx.constantInts(index, name);
  if (mlir::failed(v))
    return mlir::failure();
  return std::optional<llvm::SmallVector<int64_t>>(*v);
}

} // namespace onnx_ops

} // namespace kiln
