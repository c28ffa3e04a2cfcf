//===- onnx_ops.cc - ONNX ops that need more than the op table ------------===//
//
// Part of Kiln. Converters for ONNX ops whose form differs from the kiln op:
// inputs that must be compile-time constants (shapes, axes, pads), opset
// variants, variadic ops, and the few ops that decompose into others
// (normalizations, Flatten/Squeeze/Unsqueeze into Reshape, Shape and Size
// into constants, which static shapes make possible).
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/onnx_internal.h"
#include "graph/op_table.h"
#include "ir/Dialect.h"

namespace kiln {
namespace {

using mlir::FailureOr;
using mlir::Value;
using Values = llvm::SmallVector<Value>;
using Attr = onnx::AttributeProto;

FailureOr<Values> one(FailureOr<Value> v) {
  if (mlir::failed(v))
    return mlir::failure();
  return Values{*v};
}

mlir::NamedAttribute named(NodeContext &ctx, const char *name,
                           mlir::Attribute value) {
  return ctx.builder().getNamedAttr(name, value);
}
mlir::Attribute ints(NodeContext &ctx, llvm::ArrayRef<int64_t> v) {
  return ctx.builder().getDenseI64ArrayAttr(v);
}
mlir::Attribute i64(NodeContext &ctx, int64_t v) {
  return ctx.builder().getI64IntegerAttr(v);
}

/// An i64 tensor constant.
Value int64Constant(NodeContext &ctx, llvm::ArrayRef<int64_t> values,
                    llvm::ArrayRef<int64_t> shape) {
  auto type =
      mlir::RankedTensorType::get(shape, ctx.builder().getIntegerType(64));
  return ctx.constant(mlir::DenseElementsAttr::get(type, values));
}

/// Axes from attribute `axes` (older opsets) or input `index` (newer ones);
/// nullopt when neither is given.
FailureOr<std::optional<llvm::SmallVector<int64_t>>>
axesFrom(NodeContext &ctx, int firstOpsetWithInput, size_t index) {
  if (ctx.opset() < firstOpsetWithInput || !ctx.input(index))
    return ctx.getInts("axes");
  FailureOr<llvm::SmallVector<int64_t>> v = ctx.constantInts(index, "axes");
  if (mlir::failed(v))
    return mlir::failure();
  return std::optional<llvm::SmallVector<int64_t>>(*v);
}

FailureOr<Values> convertConstant(NodeContext &ctx) {
  mlir::Builder b(&ctx.context());
  if (const Attr *a = ctx.attr("value", Attr::TENSOR)) {
    absl::StatusOr<mlir::DenseElementsAttr> t =
        OnnxTensorToAttr(a->t(), ctx.base_dir(), ctx.context());
    if (!t.ok()) {
      if (t.status().code() == absl::StatusCode::kUnimplemented)
        ctx.unsupported(std::string(t.status().message()));
      else
        ctx.error(std::string(t.status().message()));
      return mlir::failure();
    }
    return Values{ctx.constant(*t)};
  }
  if (const Attr *a = ctx.attr("value_float", Attr::FLOAT))
    return Values{ctx.scalar(b.getF32Type(), a->f())};
  if (const Attr *a = ctx.attr("value_int", Attr::INT))
    return Values{int64Constant(ctx, {a->i()}, {})};
  if (const Attr *a = ctx.attr("value_floats", Attr::FLOATS)) {
    llvm::SmallVector<float> v(a->floats().begin(), a->floats().end());
    auto type =
        mlir::RankedTensorType::get({int64_t(v.size())}, b.getF32Type());
    return Values{ctx.constant(
        mlir::DenseElementsAttr::get(type, llvm::ArrayRef<float>(v)))};
  }
  if (const Attr *a = ctx.attr("value_ints", Attr::INTS)) {
    llvm::SmallVector<int64_t> v(a->ints().begin(), a->ints().end());
    return Values{int64Constant(ctx, v, {int64_t(v.size())})};
  }
  if (ctx.reported()) // One of the above, mistyped.
    return mlir::failure();
  ctx.unsupported("only dense tensor, float(s) and int(s) constants are "
                  "supported");
  return mlir::failure();
}

FailureOr<Values> convertReshape(NodeContext &ctx) {
  llvm::SmallVector<int64_t> shape;
  if (ctx.opset() < 5) {
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

FailureOr<Values> convertSqueeze(NodeContext &ctx) {
  auto axes = axesFrom(ctx, 13, 1);
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

FailureOr<Values> convertUnsqueeze(NodeContext &ctx) {
  auto axes = axesFrom(ctx, 13, 1);
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
    absl::StatusOr<mlir::DenseElementsAttr> v =
        OnnxTensorToAttr(a->t(), ctx.base_dir(), ctx.context());
    if (!v.ok()) {
      if (v.status().code() == absl::StatusCode::kUnimplemented)
        ctx.unsupported(std::string(v.status().message()));
      else
        ctx.error(std::string(v.status().message()));
      return mlir::failure();
    }
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

FailureOr<Values> convertClip(NodeContext &ctx) {
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  mlir::Builder b(&ctx.context());
  if (ctx.opset() < 11) {
    for (const char *name : {"min", "max"})
      if (const Attr *a = ctx.attr(name, Attr::FLOAT))
        attrs.push_back(named(ctx, name, b.getF64FloatAttr(a->f())));
  } else {
    const char *names[] = {"min", "max"};
    for (size_t i = 1; i <= 2; ++i) {
      if (!ctx.input(i))
        continue;
      FailureOr<double> d = ctx.constantScalar(i, names[i - 1]);
      if (mlir::failed(d))
        return mlir::failure();
      attrs.push_back(named(ctx, names[i - 1], b.getF64FloatAttr(*d)));
    }
  }
  return one(ctx.build<ClipOp>(ctx.input(0), attrs));
}

FailureOr<Values> convertSplit(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t axis = normalizeAxis(ctx.getInt("axis", 0), t.getRank());
  if (axis < 0) {
    ctx.error("axis is out of range");
    return mlir::failure();
  }
  int64_t outputs = ctx.node().output_size();
  llvm::SmallVector<int64_t> sizes;
  if (ctx.opset() >= 13 && ctx.input(1)) {
    FailureOr<llvm::SmallVector<int64_t>> s = ctx.constantInts(1, "split");
    if (mlir::failed(s))
      return mlir::failure();
    sizes = *s;
  } else if (auto s = ctx.getInts("split")) {
    sizes = *s;
  } else {
    // Opset 18 asks for one of the `split` input and `num_outputs`; older
    // opsets split evenly into as many parts as there are outputs.
    if (ctx.opset() >= 18 && !ctx.hasAttr("num_outputs")) {
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

FailureOr<Values> convertSlice(NodeContext &ctx) {
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  const char *names[] = {"starts", "ends", "axes", "steps"};
  for (size_t i = 0; i < 4; ++i) {
    std::optional<llvm::SmallVector<int64_t>> v;
    if (ctx.opset() < 10) {
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

FailureOr<Values> convertPad(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank();
  llvm::SmallVector<int64_t> pads;
  double value = 0;
  if (ctx.opset() < 11) {
    pads = ctx.getInts(ctx.opset() < 2 ? "paddings" : "pads")
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

template <typename OpT, int FirstOpsetWithAxesInput>
FailureOr<Values> convertReduce(NodeContext &ctx) {
  auto axes = axesFrom(ctx, FirstOpsetWithAxesInput, 1);
  if (mlir::failed(axes))
    return mlir::failure();
  llvm::SmallVector<mlir::NamedAttribute> attrs = {
      named(ctx, "keepdims", i64(ctx, ctx.getInt("keepdims", 1))),
      named(ctx, "noop_with_empty_axes",
            i64(ctx, ctx.getInt("noop_with_empty_axes", 0)))};
  if (*axes)
    attrs.push_back(named(ctx, "axes", ints(ctx, **axes)));
  return one(ctx.build<OpT>(ctx.input(0), attrs));
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

FailureOr<Values> convertCumSum(NodeContext &ctx) {
  FailureOr<llvm::SmallVector<int64_t>> axis = ctx.constantInts(1, "axis");
  if (mlir::failed(axis))
    return mlir::failure();
  if (axis->size() != 1) {
    ctx.error(absl::StrCat("axis must hold one value, got ", axis->size()));
    return mlir::failure();
  }
  return one(ctx.build<CumSumOp>(
      ctx.input(0),
      {named(ctx, "axis", i64(ctx, (*axis)[0])),
       named(ctx, "exclusive", i64(ctx, ctx.getInt("exclusive", 0))),
       named(ctx, "reverse", i64(ctx, ctx.getInt("reverse", 0)))}));
}

/// Before opset 13, Softmax and LogSoftmax flatten the input to 2-D at
/// `axis` (default 1) and normalize each row.
template <typename OpT> FailureOr<Values> convertSoftmax(NodeContext &ctx) {
  auto t = ctx.type(0);
  if (ctx.opset() >= 13)
    return one(ctx.build<OpT>(
        ctx.input(0), {named(ctx, "axis", i64(ctx, ctx.getInt("axis", -1)))}));
  int64_t axis = ctx.getInt("axis", 1);
  if (axis < 0)
    axis += t.getRank();
  if (axis < 0 || axis > t.getRank()) {
    ctx.error("axis is out of range");
    return mlir::failure();
  }
  int64_t outer = 1, inner = 1;
  for (int64_t i = 0; i < t.getRank(); ++i)
    (i < axis ? outer : inner) *= t.getDimSize(i);
  FailureOr<Value> flat = ctx.reshape(ctx.input(0), {outer, inner});
  if (mlir::failed(flat))
    return mlir::failure();
  FailureOr<Value> y = ctx.build<OpT>(*flat, {named(ctx, "axis", i64(ctx, 1))});
  if (mlir::failed(y))
    return mlir::failure();
  return one(ctx.reshape(*y, t.getShape()));
}

/// Sum, Mean, Max and Min take any number of inputs: `OpT` folds them
/// pairwise, and Mean divides by their count.
template <typename OpT, bool Mean = false>
FailureOr<Values> convertVariadic(NodeContext &ctx) {
  if (ctx.numInputs() == 0) {
    ctx.error("needs at least one input");
    return mlir::failure();
  }
  Value acc = ctx.input(0);
  for (size_t i = 1; i < ctx.numInputs(); ++i) {
    FailureOr<Value> next = ctx.build<OpT>({acc, ctx.input(i)});
    if (mlir::failed(next))
      return mlir::failure();
    acc = *next;
  }
  if (Mean && ctx.numInputs() > 1) {
    Value n = ctx.scalar(ctx.type(0).getElementType(), ctx.numInputs());
    return one(ctx.build<DivOp>({acc, n}));
  }
  if (ctx.numInputs() == 1)
    return one(ctx.build<IdentityOp>(acc));
  return Values{acc};
}

/// Rounding to bfloat16 is where ONNX versions disagree (the test data of
/// ONNX 1.12 truncates, later ONNX rounds to nearest even), so Kiln does
/// not offer it yet.
bool refuseCastToBfloat16(NodeContext &ctx, mlir::Type to) {
  if (!to.isBF16())
    return false;
  ctx.unsupported("casting to bfloat16 is not supported yet");
  return true;
}

FailureOr<Values> convertCast(NodeContext &ctx) {
  const Attr *to = ctx.attr("to", Attr::INT);
  if (!to) {
    if (!ctx.reported())
      ctx.error("missing attribute 'to'");
    return mlir::failure();
  }
  mlir::Type type = OnnxElementType(static_cast<int>(to->i()), ctx.context());
  if (!type) {
    ctx.unsupported(absl::StrCat("element type ",
                                 OnnxTypeName(static_cast<int>(to->i())),
                                 " is not supported"));
    return mlir::failure();
  }
  if (refuseCastToBfloat16(ctx, type))
    return mlir::failure();
  return one(ctx.build<CastOp>(ctx.input(0),
                               {named(ctx, "to", mlir::TypeAttr::get(type))}));
}

FailureOr<Values> convertCastLike(NodeContext &ctx) {
  if (refuseCastToBfloat16(ctx, ctx.type(1).getElementType()))
    return mlir::failure();
  return one(ctx.build<CastOp>(
      ctx.input(0),
      {named(ctx, "to", mlir::TypeAttr::get(ctx.type(1).getElementType()))}));
}

FailureOr<Values> convertDropout(NodeContext &ctx) {
  if (ctx.input(2)) {
    FailureOr<double> training = ctx.constantScalar(2, "training_mode");
    if (mlir::failed(training))
      return mlir::failure();
    if (*training != 0) {
      ctx.unsupported("training mode is not supported");
      return mlir::failure();
    }
  }
  FailureOr<Value> y = ctx.build<IdentityOp>(ctx.input(0));
  if (mlir::failed(y))
    return mlir::failure();
  // In inference the mask is all true.
  auto maskType = mlir::RankedTensorType::get(ctx.type(0).getShape(),
                                              ctx.builder().getI1Type());
  return Values{*y, ctx.constant(mlir::DenseElementsAttr::get(maskType, true))};
}

FailureOr<Values> convertPow(NodeContext &ctx) {
  Value base = ctx.input(0), exponent = ctx.input(1);
  mlir::Type elem = ctx.type(0).getElementType();
  // Integer powers are computed in f64, exact for every result an int64
  // can hold up to 2^53, then converted back.
  mlir::Type compute =
      mlir::isa<mlir::FloatType>(elem) ? elem : ctx.builder().getF64Type();
  auto castTo = [&](Value v, mlir::Type t) -> FailureOr<Value> {
    if (mlir::cast<mlir::RankedTensorType>(v.getType()).getElementType() == t)
      return v;
    return ctx.build<CastOp>(v, {named(ctx, "to", mlir::TypeAttr::get(t))});
  };
  FailureOr<Value> b = castTo(base, compute), e = castTo(exponent, compute);
  if (mlir::failed(b) || mlir::failed(e))
    return mlir::failure();
  FailureOr<Value> y = ctx.build<PowOp>({*b, *e});
  if (mlir::failed(y))
    return mlir::failure();
  return one(castTo(*y, elem));
}

/// [C] -> [C, 1, ...] so that it broadcasts over [N, C, spatial...].
FailureOr<Value> perChannel(NodeContext &ctx, Value v, int64_t rank) {
  if (rank < 2) {
    ctx.error("input must be [N, C, ...]");
    return mlir::failure();
  }
  auto t = mlir::cast<mlir::RankedTensorType>(v.getType());
  llvm::SmallVector<int64_t> shape = {t.getNumElements()};
  shape.append(rank - 2, 1);
  return ctx.reshape(v, shape);
}

/// (x - mean) / sqrt(var + epsilon) * scale + bias, all broadcasting.
FailureOr<Value> normalize(NodeContext &ctx, Value x, Value mean, Value var,
                           Value scale, Value bias, double epsilon) {
  mlir::Type elem =
      mlir::cast<mlir::RankedTensorType>(x.getType()).getElementType();
  FailureOr<Value> centered = ctx.build<SubOp>({x, mean});
  FailureOr<Value> shifted = ctx.build<AddOp>({var, ctx.scalar(elem, epsilon)});
  if (mlir::failed(centered) || mlir::failed(shifted))
    return mlir::failure();
  FailureOr<Value> stddev = ctx.build<SqrtOp>(*shifted);
  if (mlir::failed(stddev))
    return mlir::failure();
  FailureOr<Value> y = ctx.build<DivOp>({*centered, *stddev});
  if (mlir::failed(y))
    return mlir::failure();
  if (scale) {
    y = ctx.build<MulOp>({*y, scale});
    if (mlir::failed(y))
      return mlir::failure();
  }
  if (bias)
    y = ctx.build<AddOp>({*y, bias});
  return y;
}

FailureOr<Values> convertBatchNorm(NodeContext &ctx) {
  if (ctx.getInt("training_mode", 0) != 0 || ctx.node().output_size() > 1) {
    ctx.unsupported("training mode is not supported");
    return mlir::failure();
  }
  int64_t rank = ctx.type(0).getRank();
  if (rank < 2) {
    ctx.error("input must be [N, C, ...]");
    return mlir::failure();
  }
  Values params;
  for (size_t i = 1; i <= 4; ++i) {
    FailureOr<Value> p = perChannel(ctx, ctx.input(i), rank);
    if (mlir::failed(p))
      return mlir::failure();
    params.push_back(*p);
  }
  return one(normalize(ctx, ctx.input(0), params[2], params[3], params[0],
                       params[1], ctx.getFloat("epsilon", 1e-5f)));
}

/// Mean and variance of `x` over `axes`, kept as size-1 dims.
FailureOr<std::pair<Value, Value>> moments(NodeContext &ctx, Value x,
                                           llvm::ArrayRef<int64_t> axes) {
  llvm::SmallVector<mlir::NamedAttribute> attrs = {
      named(ctx, "axes", ints(ctx, axes)), named(ctx, "keepdims", i64(ctx, 1))};
  FailureOr<Value> mean = ctx.build<ReduceMeanOp>(x, attrs);
  if (mlir::failed(mean))
    return mlir::failure();
  FailureOr<Value> centered = ctx.build<SubOp>({x, *mean});
  if (mlir::failed(centered))
    return mlir::failure();
  FailureOr<Value> square = ctx.build<MulOp>({*centered, *centered});
  if (mlir::failed(square))
    return mlir::failure();
  FailureOr<Value> var = ctx.build<ReduceMeanOp>(*square, attrs);
  if (mlir::failed(var))
    return mlir::failure();
  return std::make_pair(*mean, *var);
}

FailureOr<Values> convertInstanceNorm(NodeContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  if (rank < 2) {
    ctx.error("input must be [N, C, ...]");
    return mlir::failure();
  }
  llvm::SmallVector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  auto m = moments(ctx, ctx.input(0), axes);
  FailureOr<Value> scale = perChannel(ctx, ctx.input(1), rank);
  FailureOr<Value> bias = perChannel(ctx, ctx.input(2), rank);
  if (mlir::failed(m) || mlir::failed(scale) || mlir::failed(bias))
    return mlir::failure();
  return one(normalize(ctx, ctx.input(0), m->first, m->second, *scale, *bias,
                       ctx.getFloat("epsilon", 1e-5f)));
}

FailureOr<Values> convertLayerNorm(NodeContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  int64_t axis = normalizeAxis(ctx.getInt("axis", -1), rank);
  if (axis < 0) {
    ctx.error("axis is out of range");
    return mlir::failure();
  }
  llvm::SmallVector<int64_t> axes;
  for (int64_t i = axis; i < rank; ++i)
    axes.push_back(i);
  auto m = moments(ctx, ctx.input(0), axes);
  if (mlir::failed(m))
    return mlir::failure();
  double epsilon = ctx.getFloat("epsilon", 1e-5f);
  FailureOr<Value> y = normalize(ctx, ctx.input(0), m->first, m->second,
                                 ctx.input(1), ctx.input(2), epsilon);
  if (mlir::failed(y))
    return mlir::failure();
  Values results = {*y};
  if (ctx.node().output_size() > 1) {
    mlir::Type elem = ctx.type(0).getElementType();
    FailureOr<Value> shifted =
        ctx.build<AddOp>({m->second, ctx.scalar(elem, epsilon)});
    if (mlir::failed(shifted))
      return mlir::failure();
    FailureOr<Value> stddev = ctx.build<SqrtOp>(*shifted);
    if (mlir::failed(stddev))
      return mlir::failure();
    FailureOr<Value> inv = ctx.build<ReciprocalOp>(*stddev);
    if (mlir::failed(inv))
      return mlir::failure();
    results.push_back(m->first);
    results.push_back(*inv);
  }
  return results;
}

template <typename OpT> FailureOr<Values> convertGlobalPool(NodeContext &ctx) {
  int64_t rank = ctx.type(0).getRank();
  llvm::SmallVector<int64_t> axes;
  for (int64_t i = 2; i < rank; ++i)
    axes.push_back(i);
  return one(
      ctx.build<OpT>(ctx.input(0), {named(ctx, "axes", ints(ctx, axes)),
                                    named(ctx, "keepdims", i64(ctx, 1))}));
}

FailureOr<Values> convertMaxPool(NodeContext &ctx) {
  if (ctx.node().output_size() > 1 && !ctx.node().output(1).empty()) {
    ctx.unsupported("the Indices output is not supported");
    return mlir::failure();
  }
  // storage_order only affects Indices.
  return ConvertWithTable(ctx, *LookupOp("MaxPool"), {"storage_order"});
}

/// Before opset 7, Add, Sub, Mul and Div broadcast only with broadcast=1,
/// B aligned with A at `axis` (or at the end).
template <typename OpT>
FailureOr<Values> convertLegacyBinary(NodeContext &ctx) {
  const OpSpec *spec = LookupOp(ctx.node().op_type());
  if (ctx.opset() >= 7)
    return ConvertWithTable(ctx, *spec);
  Value b = ctx.input(1);
  if (ctx.getInt("broadcast", 0) && ctx.hasAttr("axis")) {
    auto ta = ctx.type(0), tb = ctx.type(1);
    int64_t axis = ctx.getInt("axis", 0);
    if (axis < 0)
      axis += ta.getRank();
    if (axis < 0 || axis > ta.getRank() - tb.getRank()) {
      ctx.error(absl::StrCat("axis ", ctx.getInt("axis", 0),
                             " does not place B of rank ", tb.getRank(),
                             " within A of rank ", ta.getRank()));
      return mlir::failure();
    }
    llvm::SmallVector<int64_t> shape(tb.getShape());
    while (static_cast<int64_t>(shape.size()) + axis < ta.getRank())
      shape.push_back(1);
    FailureOr<Value> reshaped = ctx.reshape(b, shape);
    if (mlir::failed(reshaped))
      return mlir::failure();
    b = *reshaped;
  }
  return one(ctx.build<OpT>({ctx.input(0), b}));
}

/// Old exporters give PRelu a [C] slope meant per channel of [N, C, ...].
FailureOr<Values> convertPRelu(NodeContext &ctx) {
  auto tx = ctx.type(0), ts = ctx.type(1);
  Value slope = ctx.input(1);
  llvm::SmallVector<int64_t> ignored;
  if (ts.getRank() == 1 && tx.getRank() > 2 &&
      ts.getDimSize(0) == tx.getDimSize(1) &&
      mlir::failed(broadcastShapes(tx.getShape(), ts.getShape(), ignored))) {
    FailureOr<Value> perC = perChannel(ctx, slope, tx.getRank());
    if (mlir::failed(perC))
      return mlir::failure();
    slope = *perC;
  }
  return one(ctx.build<PReluOp>({ctx.input(0), slope}));
}

FailureOr<Values> convertTopK(NodeContext &ctx) {
  int64_t k;
  if (ctx.opset() < 10) {
    k = ctx.getInt("k", 0);
  } else {
    FailureOr<llvm::SmallVector<int64_t>> v = ctx.constantInts(1, "K");
    if (mlir::failed(v))
      return mlir::failure();
    if (v->size() != 1) {
      ctx.error(absl::StrCat("K must hold one value, got ", v->size()));
      return mlir::failure();
    }
    k = (*v)[0];
  }
  return ctx.buildAll<TopKOp>(
      ctx.input(0), {named(ctx, "k", i64(ctx, k)),
                     named(ctx, "axis", i64(ctx, ctx.getInt("axis", -1))),
                     named(ctx, "largest", i64(ctx, ctx.getInt("largest", 1))),
                     named(ctx, "sorted", i64(ctx, ctx.getInt("sorted", 1)))});
}

constexpr int kAny = kVariadic;

/// Each converter with the inputs and the required attribute of the newest
/// form of its op, which Kiln checks itself where libonnx has no schema of
/// the node's opset.
constexpr OnnxConverterEntry kConverters[] = {
    {"Constant", convertConstant, 0, 0, nullptr},
    {"Add", convertLegacyBinary<AddOp>, 2, 2, nullptr},
    {"Sub", convertLegacyBinary<SubOp>, 2, 2, nullptr},
    {"Mul", convertLegacyBinary<MulOp>, 2, 2, nullptr},
    {"Div", convertLegacyBinary<DivOp>, 2, 2, nullptr},
    {"Reshape", convertReshape, 2, 2, nullptr},
    {"Flatten", convertFlatten, 1, 1, nullptr},
    {"Squeeze", convertSqueeze, 1, 2, nullptr},
    {"Unsqueeze", convertUnsqueeze, 2, 2, nullptr},
    {"Shape", convertShape, 1, 1, nullptr},
    {"Size", convertSize, 1, 1, nullptr},
    {"ConstantOfShape", convertConstantOfShape, 1, 1, nullptr},
    {"Range", convertRange, 3, 3, nullptr},
    {"Clip", convertClip, 1, 3, nullptr},
    {"Split", convertSplit, 1, 2, nullptr},
    {"Slice", convertSlice, 3, 5, nullptr},
    {"Pad", convertPad, 2, 4, nullptr},
    {"ReduceSum", convertReduce<ReduceSumOp, 13>, 1, 2, nullptr},
    {"ReduceMean", convertReduce<ReduceMeanOp, 18>, 1, 2, nullptr},
    {"ReduceMax", convertReduce<ReduceMaxOp, 18>, 1, 2, nullptr},
    {"ReduceMin", convertReduce<ReduceMinOp, 18>, 1, 2, nullptr},
    {"ReduceProd", convertReduce<ReduceProdOp, 18>, 1, 2, nullptr},
    {"Expand", convertExpand, 2, 2, nullptr},
    {"Tile", convertTile, 2, 2, nullptr},
    {"Trilu", convertTrilu, 1, 2, nullptr},
    {"CumSum", convertCumSum, 2, 2, nullptr},
    {"Softmax", convertSoftmax<SoftmaxOp>, 1, 1, nullptr},
    {"LogSoftmax", convertSoftmax<LogSoftmaxOp>, 1, 1, nullptr},
    {"Sum", convertVariadic<AddOp>, 1, kAny, nullptr},
    {"Mean", convertVariadic<AddOp, true>, 1, kAny, nullptr},
    {"Max", convertVariadic<MaxOp>, 1, kAny, nullptr},
    {"Min", convertVariadic<MinOp>, 1, kAny, nullptr},
    {"Cast", convertCast, 1, 1, "to"},
    {"CastLike", convertCastLike, 2, 2, nullptr},
    {"Dropout", convertDropout, 1, 3, nullptr},
    {"Pow", convertPow, 2, 2, nullptr},
    {"PRelu", convertPRelu, 2, 2, nullptr},
    {"TopK", convertTopK, 2, 2, nullptr},
    {"BatchNormalization", convertBatchNorm, 5, 5, nullptr},
    {"InstanceNormalization", convertInstanceNorm, 3, 3, nullptr},
    {"LayerNormalization", convertLayerNorm, 2, 3, nullptr},
    {"GlobalAveragePool", convertGlobalPool<ReduceMeanOp>, 1, 1, nullptr},
    {"GlobalMaxPool", convertGlobalPool<ReduceMaxOp>, 1, 1, nullptr},
    {"MaxPool", convertMaxPool, 1, 1, "kernel_shape"},
};

} // namespace

std::vector<std::string> OnnxConverterNames() {
  std::vector<std::string> names;
  for (const OnnxConverterEntry &e : kConverters)
    names.push_back(e.op_type);
  return names;
}

const OnnxConverterEntry *LookupOnnxConverter(const std::string &op_type) {
  for (const OnnxConverterEntry &e : kConverters)
    if (op_type == e.op_type)
      return &e;
  return nullptr;
}

} // namespace kiln
