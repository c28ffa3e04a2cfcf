//===- onnx_ops_elementwise.cc - ONNX elementwise ops and casts -----------===//
//
// Part of Kiln. Converters for ONNX's elementwise ops whose form differs
// from the kiln op's: the broadcasting of opsets before 7, Clip's bounds,
// the variadic Sum/Mean/Max/Min, casts, Pow on integers, PRelu's
// per-channel slope, Dropout in inference, and Constant.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "graph/onnx_ops.h"

#include "graph/onnx_tensor.h"
#include "graph/op_table.h"
#include <limits>

namespace kiln {

using mlir::FailureOr;
using mlir::Value;
using namespace onnx_ops;

namespace {

FailureOr<Values> convertConstant(NodeContext &ctx) {
  mlir::Builder b(&ctx.context());
  if (const Attr *a = ctx.attr("value", Attr::TENSOR)) {
    mlir::FailureOr<mlir::DenseElementsAttr> t = ctx.decodeTensor(a->t());
    if (mlir::failed(t))
      return mlir::failure();
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

/// Before opset 7, Add, Sub, Mul and Div broadcast only with broadcast=1,
/// B aligned with A at `axis` (or at the end). From opset 7 on they
/// broadcast as NumPy does, and the op table converts them.
template <typename OpT>
FailureOr<Values> convertLegacyBinary(NodeContext &ctx) {
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

/// Opset 11 moved `min` and `max` from attributes to inputs.
template <int Since> FailureOr<Values> convertClip(NodeContext &ctx) {
  llvm::SmallVector<mlir::NamedAttribute> attrs;
  mlir::Builder b(&ctx.context());
  if constexpr (Since < 11) {
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
  return one(ctx.build<CastOp>(ctx.input(0),
                               {named(ctx, "to", mlir::TypeAttr::get(type))}));
}

FailureOr<Values> convertCastLike(NodeContext &ctx) {
  return one(ctx.build<CastOp>(
      ctx.input(0),
      {named(ctx, "to", mlir::TypeAttr::get(ctx.type(1).getElementType()))}));
}

/// Dropout: in inference the identity, with a mask of all kept; the mask
/// is bool from opset 10, of the input's type (ones) before.
template <int Since> FailureOr<Values> convertDropout(NodeContext &ctx) {
  if (ctx.input(2)) {
    FailureOr<double> training = ctx.constantScalar(2, "training_mode");
    if (mlir::failed(training))
      return mlir::failure();
    if (*training != 0) {
      // Training mode drops a random fraction `ratio` (input 1, default
      // 0.5) of the elements; only a ratio of 0 keeps them all.
      FailureOr<double> ratio = ctx.input(1) ? ctx.constantScalar(1, "ratio")
                                             : FailureOr<double>(0.5);
      if (mlir::failed(ratio))
        return mlir::failure();
      if (*ratio != 0) {
        ctx.unsupported(absl::StrCat(
            "training mode with ratio ", *ratio,
            " draws a random mask (random generators are outside Kiln's "
            "targets); in inference (training_mode = 0) Dropout is the "
            "identity"));
        return mlir::failure();
      }
    }
  }
  FailureOr<Value> y = ctx.build<IdentityOp>(ctx.input(0));
  if (mlir::failed(y))
    return mlir::failure();
  // In inference the mask is all true (all ones before opset 10).
  mlir::Type elem = ctx.type(0).getElementType();
  if constexpr (Since < 10) {
    auto maskType = mlir::RankedTensorType::get(ctx.type(0).getShape(), elem);
    return Values{*y, ctx.constant(mlir::DenseElementsAttr::get(
                          maskType, ctx.builder().getOneAttr(elem)))};
  }
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

} // namespace

/// Xor of booleans: a != b (NumPy broadcasting; the legacy `broadcast`
/// attribute of opsets before 7 is refused).
FailureOr<Values> convertXor(NodeContext &ctx) {
  if (ctx.opset() < 7 && ctx.getInt("broadcast", 0) != 0) {
    ctx.unsupported("the legacy 'broadcast' attribute (opsets before 7)");
    return mlir::failure();
  }
  FailureOr<Value> same = ctx.build<EqualOp>({ctx.input(0), ctx.input(1)});
  if (mlir::failed(same))
    return mlir::failure();
  return one(ctx.build<NotOp>(*same));
}

/// IsNaN: x != x.
FailureOr<Values> convertIsNaN(NodeContext &ctx) {
  FailureOr<Value> same = ctx.build<EqualOp>({ctx.input(0), ctx.input(0)});
  if (mlir::failed(same))
    return mlir::failure();
  return one(ctx.build<NotOp>(*same));
}

/// IsInf: x == +inf (detect_positive), x == -inf (detect_negative).
FailureOr<Values> convertIsInf(NodeContext &ctx) {
  mlir::Type elem = ctx.type(0).getElementType();
  if (!mlir::isa<mlir::FloatType>(elem)) {
    ctx.error("input must be a floating-point tensor");
    return mlir::failure();
  }
  bool positive = ctx.getInt("detect_positive", 1) != 0;
  bool negative = ctx.getInt("detect_negative", 1) != 0;
  double inf = std::numeric_limits<double>::infinity();
  auto is = [&](double v) {
    return ctx.build<EqualOp>({ctx.input(0), ctx.scalar(elem, v)});
  };
  if (positive && negative) {
    FailureOr<Value> pos = is(inf), neg = is(-inf);
    if (mlir::failed(pos) || mlir::failed(neg))
      return mlir::failure();
    return one(ctx.build<OrOp>({*pos, *neg}));
  }
  if (positive || negative)
    return one(is(positive ? inf : -inf));
  // Neither: all false (x == +inf and x == -inf).
  FailureOr<Value> pos = is(inf), neg = is(-inf);
  if (mlir::failed(pos) || mlir::failed(neg))
    return mlir::failure();
  return one(ctx.build<AndOp>({*pos, *neg}));
}

/// Celu: max(0, x) + min(0, alpha * (exp(x / alpha) - 1)).
FailureOr<Values> convertCelu(NodeContext &ctx) {
  mlir::Type elem = ctx.type(0).getElementType();
  if (!mlir::isa<mlir::FloatType>(elem)) {
    ctx.error("input must be a floating-point tensor");
    return mlir::failure();
  }
  double alpha = ctx.getFloat("alpha", 1.0f);
  if (alpha == 0) {
    ctx.error("alpha must not be 0");
    return mlir::failure();
  }
  Value x = ctx.input(0), zero = ctx.scalar(elem, 0);
  FailureOr<Value> e = ctx.build<DivOp>({x, ctx.scalar(elem, alpha)});
  if (mlir::succeeded(e))
    e = ctx.build<ExpOp>(*e);
  if (mlir::succeeded(e))
    e = ctx.build<SubOp>({*e, ctx.scalar(elem, 1)});
  if (mlir::succeeded(e))
    e = ctx.build<MulOp>({*e, ctx.scalar(elem, alpha)});
  if (mlir::succeeded(e))
    e = ctx.build<MinOp>({*e, zero});
  FailureOr<Value> positive = ctx.build<MaxOp>({x, zero});
  if (mlir::failed(e) || mlir::failed(positive))
    return mlir::failure();
  return one(ctx.build<AddOp>({*positive, *e}));
}

/// ThresholdedRelu: x > alpha ? x : 0.
FailureOr<Values> convertThresholdedRelu(NodeContext &ctx) {
  mlir::Type elem = ctx.type(0).getElementType();
  Value x = ctx.input(0);
  FailureOr<Value> above =
      ctx.build<GreaterOp>({x, ctx.scalar(elem, ctx.getFloat("alpha", 1.0f))});
  if (mlir::failed(above))
    return mlir::failure();
  return one(ctx.build<WhereOp>({*above, x, ctx.scalar(elem, 0)}));
}

/// Shrink: x < -lambd ? x + bias : x > lambd ? x - bias : 0.
FailureOr<Values> convertShrink(NodeContext &ctx) {
  mlir::Type elem = ctx.type(0).getElementType();
  Value x = ctx.input(0);
  double lambd = ctx.getFloat("lambd", 0.5f), bias = ctx.getFloat("bias", 0);
  FailureOr<Value> low = ctx.build<LessOp>({x, ctx.scalar(elem, -lambd)});
  FailureOr<Value> high = ctx.build<GreaterOp>({x, ctx.scalar(elem, lambd)});
  FailureOr<Value> plus = ctx.build<AddOp>({x, ctx.scalar(elem, bias)});
  FailureOr<Value> minus = ctx.build<SubOp>({x, ctx.scalar(elem, bias)});
  if (mlir::failed(low) || mlir::failed(high) || mlir::failed(plus) ||
      mlir::failed(minus))
    return mlir::failure();
  FailureOr<Value> upper =
      ctx.build<WhereOp>({*high, *minus, ctx.scalar(elem, 0)});
  if (mlir::failed(upper))
    return mlir::failure();
  return one(ctx.build<WhereOp>({*low, *plus, *upper}));
}

void RegisterElementwiseOnnxOps(OnnxRegistry &r) {
  // (Since opset 1: no earlier form of these differs.)
  r.onOp("Xor", 1, convertXor, 2, 2);
  r.onOp("IsNaN", 1, convertIsNaN, 1, 1);
  r.onOp("IsInf", 1, convertIsInf, 1, 1);
  r.onOp("ThresholdedRelu", 1, convertThresholdedRelu, 1, 1);
  r.onOp("Celu", 1, convertCelu, 1, 1);
  r.onOp("Shrink", 1, convertShrink, 1, 1);
  r.onOp("Constant", 1, convertConstant, 0, 0);
  r.onOp("Add", 1, convertLegacyBinary<AddOp>, 2, 2);
  r.onOp("Sub", 1, convertLegacyBinary<SubOp>, 2, 2);
  r.onOp("Mul", 1, convertLegacyBinary<MulOp>, 2, 2);
  r.onOp("Div", 1, convertLegacyBinary<DivOp>, 2, 2);
  for (const char *op : {"Add", "Sub", "Mul", "Div"})
    r.onTableOp(op, 7);
  r.onOp("Clip", 1, convertClip<1>, 1, 1);
  r.onOp("Clip", 11, convertClip<11>, 1, 3);
  r.onOp("Sum", 1, convertVariadic<AddOp>, 1, kVariadic);
  r.onOp("Mean", 1, convertVariadic<AddOp, /*Mean=*/true>, 1, kVariadic);
  r.onOp("Max", 1, convertVariadic<MaxOp>, 1, kVariadic);
  r.onOp("Min", 1, convertVariadic<MinOp>, 1, kVariadic);
  r.onOp("Cast", 1, convertCast, 1, 1, {"to"});
  r.onOp("CastLike", 1, convertCastLike, 2, 2);
  r.onOp("Dropout", 1, convertDropout<1>, 1, 3);
  r.onOp("Dropout", 10, convertDropout<10>, 1, 3);
  r.onOp("Pow", 1, convertPow, 2, 2);
  r.onOp("PRelu", 1, convertPRelu, 2, 2);
}

} // namespace kiln
