//===- onnx_ops_quant.cc - ONNX quantization ops --------------------------===//
//
// Part of Kiln. QuantizeLinear, DequantizeLinear, DynamicQuantizeLinear,
// MatMulInteger, ConvInteger, QLinearMatMul and QLinearConv, built from
// kiln ops exactly as ONNX specifies them:
//
//   quantize(x)   = saturate(round_half_even(x / scale) + zero_point)
//   dequantize(q) = (q - zero_point) * scale
//
// Integer products subtract the zero points in i32 and accumulate in i32
// (kiln.matmul and kiln.conv on i32 tensors), so they are exact; the
// QLinear ops then requantize the i32 sums with the multiplier
// a_scale * b_scale / y_scale, in float32 as ONNX's reference does.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/importer.h"
#include "graph/onnx_ops.h"
#include "graph/op_table.h"
#include "runtime/tensor.h"

namespace kiln {

using mlir::FailureOr;
using mlir::Value;
using namespace onnx_ops;

namespace {

mlir::RankedTensorType typeOf(Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

FailureOr<Value> castTo(NodeContext &ctx, Value v, mlir::Type elem) {
  if (typeOf(v).getElementType() == elem)
    return v;
  return ctx.build<CastOp>(v, {named(ctx, "to", mlir::TypeAttr::get(elem))});
}

/// A scale or zero point: a scalar (or one value), or, when `axis` >= 0,
/// one value per index of that axis of a rank-`rank` tensor whose axis has
/// length `length`, shaped [1, .., length, .., 1] so that it broadcasts.
FailureOr<Value> perAxis(NodeContext &ctx, Value v, int64_t rank, int64_t axis,
                         int64_t length, const char *what) {
  auto t = typeOf(v);
  if (t.getNumElements() == 1 && t.getRank() <= 1)
    return t.getRank() == 0 ? FailureOr<Value>(v) : ctx.reshape(v, {});
  if (axis < 0 || t.getRank() != 1 || t.getDimSize(0) != length) {
    ctx.error(absl::StrCat(what, " must be a scalar",
                           axis < 0 ? ""
                                    : absl::StrCat(" or hold ", length,
                                                   " values (one per index of "
                                                   "axis ",
                                                   axis, ")"),
                           ", got shape [", absl::StrJoin(t.getShape(), ", "),
                           "]"));
    return mlir::failure();
  }
  llvm::SmallVector<int64_t> shape(rank, 1);
  shape[axis] = length;
  return ctx.reshape(v, shape);
}

/// The range of a quantized element type; failure (reported) for others.
FailureOr<std::pair<double, double>>
quantizedRange(NodeContext &ctx, mlir::Type elem, const char *what) {
  if (elem.isUnsignedInteger(8))
    return std::make_pair(0.0, 255.0);
  if (elem.isSignedInteger(8) || elem.isSignlessInteger(8))
    return std::make_pair(-128.0, 127.0);
  if (elem.isUnsignedInteger(16))
    return std::make_pair(0.0, 65535.0);
  if (elem.isSignedInteger(16) || elem.isSignlessInteger(16))
    return std::make_pair(-32768.0, 32767.0);
  ctx.unsupported(absl::StrCat(what, " of element type ",
                               DTypeName(MlirToDType(elem)),
                               " is not supported (uint8, int8, uint16, int16 "
                               "are)"));
  return mlir::failure();
}

/// saturate(round(v) + zeroPoint) in `elem`; `zeroPoint` may be null (0).
FailureOr<Value> roundAndSaturate(NodeContext &ctx, Value v, Value zeroPoint,
                                  mlir::Type elem) {
  FailureOr<std::pair<double, double>> range =
      quantizedRange(ctx, elem, "the quantized output");
  if (mlir::failed(range))
    return mlir::failure();
  mlir::Type fp = typeOf(v).getElementType();
  FailureOr<Value> q = ctx.build<RoundOp>(v);
  if (mlir::succeeded(q) && zeroPoint) {
    FailureOr<Value> zp = castTo(ctx, zeroPoint, fp);
    q = mlir::succeeded(zp) ? ctx.build<AddOp>({*q, *zp}) : zp;
  }
  if (mlir::succeeded(q))
    q = ctx.build<ClipOp>(
        *q, {named(ctx, "min", ctx.builder().getF64FloatAttr(range->first)),
             named(ctx, "max", ctx.builder().getF64FloatAttr(range->second))});
  if (mlir::failed(q))
    return mlir::failure();
  return castTo(ctx, *q, elem);
}

/// saturate(round(x / scale) + zeroPoint) in `elem`: x and scale share a
/// float type.
FailureOr<Value> quantize(NodeContext &ctx, Value x, Value scale,
                          Value zeroPoint, mlir::Type elem) {
  FailureOr<Value> q = ctx.build<DivOp>({x, scale});
  if (mlir::failed(q))
    return mlir::failure();
  return roundAndSaturate(ctx, *q, zeroPoint, elem);
}

/// Whether the zero point (input `i`, when given) is of an 8-bit integer
/// type, as the integer and QLinear ops require; reports when not.
bool eightBitZeroPoint(NodeContext &ctx, size_t i, const char *what) {
  if (!ctx.input(i))
    return true;
  mlir::Type elem = ctx.type(i).getElementType();
  if (elem.isInteger(8) && !elem.isInteger(1))
    return true;
  ctx.error(absl::StrCat(what, " must be int8 or uint8, got ",
                         DTypeName(MlirToDType(elem))));
  return false;
}

/// q - zeroPoint in i32 (zeroPoint may be null).
FailureOr<Value> shifted(NodeContext &ctx, Value q, Value zeroPoint) {
  auto i32 = ctx.builder().getIntegerType(32);
  FailureOr<Value> v = castTo(ctx, q, i32);
  if (mlir::failed(v) || !zeroPoint)
    return v;
  FailureOr<Value> zp = castTo(ctx, zeroPoint, i32);
  if (mlir::failed(zp))
    return mlir::failure();
  return ctx.build<SubOp>({*v, *zp});
}

/// The axis of a per-axis scale (opset 13's `axis`, default 1); -1 for a
/// per-tensor one, whose axis is not read.
FailureOr<int64_t> quantAxis(NodeContext &ctx, int64_t rank) {
  if (ctx.type(1).getNumElements() == 1)
    return int64_t{-1};
  int64_t axis = ctx.getInt("axis", 1);
  int64_t n = normalizeAxis(axis, std::max<int64_t>(rank, 1));
  if (n < 0) {
    ctx.error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
    return mlir::failure();
  }
  return rank == 0 ? int64_t{-1} : n;
}

/// QuantizeLinear's and DequantizeLinear's scale (input 1) and zero point
/// (input 2, null when absent), shaped to broadcast against x (input 0):
/// per tensor, or per index of `axis`.
struct ScaleAndZeroPoint {
  Value scale, zeroPoint;
};
FailureOr<ScaleAndZeroPoint> scaleAndZeroPoint(NodeContext &ctx,
                                               const char *scaleName,
                                               const char *zeroPointName) {
  auto xType = ctx.type(0);
  if (ctx.getInt("block_size", 0) != 0) {
    ctx.unsupported("blocked quantization (block_size) is not supported yet");
    return mlir::failure();
  }
  FailureOr<int64_t> axis = quantAxis(ctx, xType.getRank());
  if (mlir::failed(axis))
    return mlir::failure();
  int64_t length = *axis < 0 ? 1 : xType.getDimSize(*axis);
  ScaleAndZeroPoint result;
  FailureOr<Value> scale =
      perAxis(ctx, ctx.input(1), xType.getRank(), *axis, length, scaleName);
  if (mlir::failed(scale))
    return mlir::failure();
  result.scale = *scale;
  if (ctx.input(2)) {
    FailureOr<Value> z = perAxis(ctx, ctx.input(2), xType.getRank(), *axis,
                                 length, zeroPointName);
    if (mlir::failed(z))
      return mlir::failure();
    result.zeroPoint = *z;
  }
  return result;
}

FailureOr<Values> convertQuantizeLinear(NodeContext &ctx) {
  auto xType = ctx.type(0);
  if (!mlir::isa<mlir::FloatType>(xType.getElementType())) {
    ctx.error("x must be a floating-point tensor");
    return mlir::failure();
  }
  mlir::Type elem =
      mlir::IntegerType::get(&ctx.context(), 8, mlir::IntegerType::Unsigned);
  if (ctx.input(2)) {
    elem = ctx.type(2).getElementType();
    if (ctx.type(2).getShape() != ctx.type(1).getShape()) {
      ctx.error("y_zero_point must have y_scale's shape");
      return mlir::failure();
    }
  }
  FailureOr<ScaleAndZeroPoint> params =
      scaleAndZeroPoint(ctx, "y_scale", "y_zero_point");
  if (mlir::failed(params))
    return mlir::failure();
  FailureOr<Value> s = castTo(ctx, params->scale, xType.getElementType());
  if (mlir::failed(s))
    return mlir::failure();
  return one(quantize(ctx, ctx.input(0), *s, params->zeroPoint, elem));
}
FailureOr<Values> convertDequantizeLinear(NodeContext &ctx) {
  auto xType = ctx.type(0);
  if (xType.getElementType().isSignlessInteger(32) && ctx.input(2)) {
    ctx.error("an int32 x takes no x_zero_point");
    return mlir::failure();
  }
  if (!xType.getElementType().isSignlessInteger(32) &&
      mlir::failed(quantizedRange(ctx, xType.getElementType(), "x")))
    return mlir::failure();
  FailureOr<ScaleAndZeroPoint> params =
      scaleAndZeroPoint(ctx, "x_scale", "x_zero_point");
  if (mlir::failed(params))
    return mlir::failure();
  mlir::Type fp = typeOf(params->scale).getElementType();
  FailureOr<Value> x = castTo(ctx, ctx.input(0), fp);
  if (mlir::succeeded(x) && params->zeroPoint) {
    FailureOr<Value> zp = castTo(ctx, params->zeroPoint, fp);
    x = mlir::succeeded(zp) ? ctx.build<SubOp>({*x, *zp}) : zp;
  }
  if (mlir::failed(x))
    return mlir::failure();
  return one(ctx.build<MulOp>({*x, params->scale}));
}

/// DynamicQuantizeLinear: uint8 with the scale and zero point that map
/// [min(0, min x), max(0, max x)] onto [0, 255].
FailureOr<Values> convertDynamicQuantizeLinear(NodeContext &ctx) {
  auto xType = ctx.type(0);
  if (!xType.getElementType().isF32()) {
    ctx.error("x must be a float32 tensor");
    return mlir::failure();
  }
  mlir::Type f32 = xType.getElementType();
  auto u8 =
      mlir::IntegerType::get(&ctx.context(), 8, mlir::IntegerType::Unsigned);
  mlir::NamedAttribute scalarResult = named(ctx, "keepdims", i64(ctx, 0));
  FailureOr<Value> lo = ctx.build<ReduceMinOp>(ctx.input(0), {scalarResult});
  FailureOr<Value> hi = ctx.build<ReduceMaxOp>(ctx.input(0), {scalarResult});
  if (mlir::succeeded(lo))
    lo = ctx.build<MinOp>({*lo, ctx.scalar(f32, 0)});
  if (mlir::succeeded(hi))
    hi = ctx.build<MaxOp>({*hi, ctx.scalar(f32, 0)});
  if (mlir::failed(lo) || mlir::failed(hi))
    return mlir::failure();
  FailureOr<Value> scale = ctx.build<SubOp>({*hi, *lo});
  if (mlir::succeeded(scale))
    scale = ctx.build<DivOp>({*scale, ctx.scalar(f32, 255)});
  if (mlir::failed(scale))
    return mlir::failure();
  // zero point = saturate(round(0 - lo / scale)), in [0, 255].
  FailureOr<Value> zp = ctx.build<DivOp>({*lo, *scale});
  if (mlir::succeeded(zp))
    zp = ctx.build<SubOp>({ctx.scalar(f32, 0), *zp});
  if (mlir::succeeded(zp))
    zp = ctx.build<RoundOp>(*zp);
  if (mlir::succeeded(zp))
    zp = ctx.build<ClipOp>(
        *zp, {named(ctx, "min", ctx.builder().getF64FloatAttr(0)),
              named(ctx, "max", ctx.builder().getF64FloatAttr(255))});
  if (mlir::failed(zp))
    return mlir::failure();
  FailureOr<Value> y = quantize(ctx, ctx.input(0), *scale, *zp, u8);
  FailureOr<Value> zpU8 = castTo(ctx, *zp, u8);
  if (mlir::failed(y) || mlir::failed(zpU8))
    return mlir::failure();
  return Values{*y, *scale, *zpU8};
}

/// The zero point of A's rows ([M] -> [M, 1]) or of B's columns ([N]),
/// or a scalar; null when absent.
FailureOr<Value> matmulZeroPoint(NodeContext &ctx, size_t i, bool rows,
                                 int64_t length, const char *what) {
  if (!ctx.input(i))
    return Value();
  // N-D products may give one zero point per row of each matrix of the
  // batch ([D..., M, 1] for A) or per column ([D..., 1, N] for B): they
  // broadcast as they are.
  auto t = typeOf(ctx.input(i));
  if (t.getRank() >= 2 &&
      t.getDimSize(t.getRank() - 1) == (rows ? 1 : length) &&
      t.getDimSize(t.getRank() - 2) == (rows ? length : 1))
    return ctx.input(i);
  return perAxis(ctx, ctx.input(i), rows ? 2 : 1, 0, length, what);
}

/// (A - a_zero_point) x (B - b_zero_point) in i32; the zero points are
/// inputs `aZp` and `bZp` (absent: 0), scalars, or per row of A / per
/// column of B.
FailureOr<Value> integerMatMul(NodeContext &ctx, size_t a, size_t aZp, size_t b,
                               size_t bZp) {
  auto aType = ctx.type(a), bType = ctx.type(b);
  if (aType.getRank() < 1 || bType.getRank() < 1) {
    ctx.error("A and B must have rank 1 or more");
    return mlir::failure();
  }
  int64_t rows =
      aType.getRank() >= 2 ? aType.getDimSize(aType.getRank() - 2) : 1;
  int64_t cols = bType.getDimSize(bType.getRank() - 1);
  FailureOr<Value> az = matmulZeroPoint(ctx, aZp, true, rows, "a_zero_point");
  FailureOr<Value> bz = matmulZeroPoint(ctx, bZp, false, cols, "b_zero_point");
  if (mlir::failed(az) || mlir::failed(bz))
    return mlir::failure();
  FailureOr<Value> av = shifted(ctx, ctx.input(a), *az);
  FailureOr<Value> bv = shifted(ctx, ctx.input(b), *bz);
  if (mlir::failed(av) || mlir::failed(bv))
    return mlir::failure();
  return ctx.build<MatMulOp>({*av, *bv});
}

/// conv(X - x_zero_point, W - w_zero_point) + B in i32; w_zero_point is a
/// scalar or one per output channel.
FailureOr<Value> integerConv(NodeContext &ctx, size_t x, size_t xZp, size_t w,
                             size_t wZp, Value bias) {
  auto wType = ctx.type(w);
  if (wType.getRank() < 3) {
    ctx.error("W must be [M, C/group, kernel...]");
    return mlir::failure();
  }
  Value xz, wz;
  if (ctx.input(xZp)) {
    FailureOr<Value> z = perAxis(ctx, ctx.input(xZp), 1, -1, 1, "x_zero_point");
    if (mlir::failed(z))
      return mlir::failure();
    xz = *z;
  }
  if (ctx.input(wZp)) {
    FailureOr<Value> z = perAxis(ctx, ctx.input(wZp), wType.getRank(), 0,
                                 wType.getDimSize(0), "w_zero_point");
    if (mlir::failed(z))
      return mlir::failure();
    wz = *z;
  }
  FailureOr<Value> xv = shifted(ctx, ctx.input(x), xz);
  FailureOr<Value> wv = shifted(ctx, ctx.input(w), wz);
  if (mlir::failed(xv) || mlir::failed(wv))
    return mlir::failure();
  FailureOr<llvm::SmallVector<mlir::NamedAttribute>> attrs =
      TableAttributes(ctx, *LookupOp("Conv"));
  if (mlir::failed(attrs))
    return mlir::failure();
  llvm::SmallVector<Value> operands = {*xv, *wv};
  if (bias) {
    FailureOr<Value> b = castTo(ctx, bias, ctx.builder().getIntegerType(32));
    if (mlir::failed(b))
      return mlir::failure();
    operands.push_back(*b);
  }
  return ctx.build<ConvOp>(operands, *attrs);
}

FailureOr<Values> convertMatMulInteger(NodeContext &ctx) {
  if (!eightBitZeroPoint(ctx, 2, "a_zero_point") ||
      !eightBitZeroPoint(ctx, 3, "b_zero_point"))
    return mlir::failure();
  return one(integerMatMul(ctx, 0, 2, 1, 3));
}

FailureOr<Values> convertConvInteger(NodeContext &ctx) {
  if (!eightBitZeroPoint(ctx, 2, "x_zero_point") ||
      !eightBitZeroPoint(ctx, 3, "w_zero_point"))
    return mlir::failure();
  return one(integerConv(ctx, 0, 2, 1, 3, Value()));
}

/// Requantizes i32 sums: saturate(round(acc * (sa * sb / sy)) + y_zp).
FailureOr<Value> requantize(NodeContext &ctx, Value acc, Value sa, Value sb,
                            Value sy, Value yZp) {
  mlir::Type fp = typeOf(sa).getElementType();
  FailureOr<Value> multiplier = ctx.build<MulOp>({sa, sb});
  if (mlir::succeeded(multiplier))
    multiplier = ctx.build<DivOp>({*multiplier, sy});
  FailureOr<Value> accF = castTo(ctx, acc, fp);
  if (mlir::failed(multiplier) || mlir::failed(accF))
    return mlir::failure();
  FailureOr<Value> scaled = ctx.build<MulOp>({*accF, *multiplier});
  if (mlir::failed(scaled))
    return mlir::failure();
  return roundAndSaturate(ctx, *scaled, yZp, typeOf(yZp).getElementType());
}

/// QLinearMatMul(a, a_scale, a_zp, b, b_scale, b_zp, y_scale, y_zp).
FailureOr<Values> convertQLinearMatMul(NodeContext &ctx) {
  if (!eightBitZeroPoint(ctx, 2, "a_zero_point") ||
      !eightBitZeroPoint(ctx, 5, "b_zero_point") ||
      !eightBitZeroPoint(ctx, 7, "y_zero_point"))
    return mlir::failure();
  auto aType = ctx.type(0), bType = ctx.type(3);
  FailureOr<Value> acc = integerMatMul(ctx, 0, 2, 3, 5);
  if (mlir::failed(acc))
    return mlir::failure();
  int64_t rows =
      aType.getRank() >= 2 ? aType.getDimSize(aType.getRank() - 2) : 1;
  int64_t cols = bType.getDimSize(bType.getRank() - 1);
  FailureOr<Value> sa = perAxis(ctx, ctx.input(1), 2, 0, rows, "a_scale");
  FailureOr<Value> sb = perAxis(ctx, ctx.input(4), 1, 0, cols, "b_scale");
  FailureOr<Value> sy = perAxis(ctx, ctx.input(6), 0, -1, 1, "y_scale");
  FailureOr<Value> zy = perAxis(ctx, ctx.input(7), 0, -1, 1, "y_zero_point");
  if (mlir::failed(sa) || mlir::failed(sb) || mlir::failed(sy) ||
      mlir::failed(zy))
    return mlir::failure();
  return one(requantize(ctx, *acc, *sa, *sb, *sy, *zy));
}

/// QLinearConv(x, x_scale, x_zp, w, w_scale, w_zp, y_scale, y_zp, B).
FailureOr<Values> convertQLinearConv(NodeContext &ctx) {
  if (!eightBitZeroPoint(ctx, 2, "x_zero_point") ||
      !eightBitZeroPoint(ctx, 5, "w_zero_point") ||
      !eightBitZeroPoint(ctx, 7, "y_zero_point"))
    return mlir::failure();
  auto xType = ctx.type(0), wType = ctx.type(3);
  FailureOr<Value> acc = integerConv(ctx, 0, 2, 3, 5, ctx.input(8));
  if (mlir::failed(acc))
    return mlir::failure();
  int64_t rank = xType.getRank();
  FailureOr<Value> sx = perAxis(ctx, ctx.input(1), 0, -1, 1, "x_scale");
  FailureOr<Value> sw =
      perAxis(ctx, ctx.input(4), rank, 1, wType.getDimSize(0), "w_scale");
  FailureOr<Value> sy = perAxis(ctx, ctx.input(6), 0, -1, 1, "y_scale");
  FailureOr<Value> zy = perAxis(ctx, ctx.input(7), 0, -1, 1, "y_zero_point");
  if (mlir::failed(sx) || mlir::failed(sw) || mlir::failed(sy) ||
      mlir::failed(zy))
    return mlir::failure();
  return one(requantize(ctx, *acc, *sx, *sw, *sy, *zy));
}

} // namespace

void RegisterQuantOnnxOps(OnnxRegistry &r) {
  r.onOp("QuantizeLinear", 1, convertQuantizeLinear, 2, 3);
  r.onOp("DequantizeLinear", 1, convertDequantizeLinear, 2, 3);
  r.onOp("DynamicQuantizeLinear", 1, convertDynamicQuantizeLinear, 1, 1);
  r.onOp("MatMulInteger", 1, convertMatMulInteger, 2, 4);
  r.onOp("ConvInteger", 1, convertConvInteger, 2, 4);
  r.onOp("QLinearMatMul", 1, convertQLinearMatMul, 8, 8);
  r.onOp("QLinearConv", 1, convertQLinearConv, 8, 9);
}

} // namespace kiln
