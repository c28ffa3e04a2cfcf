//===- onnx_ops_resize.cc - ONNX Resize, Upsample, GridSample -------------===//
//
// Part of Kiln. Resize (opsets 10 to 19), Upsample and GridSample, built
// from kiln ops.
//
// Every mode ONNX defines (nearest, linear, cubic) is separable: the N-D
// resize is a 1-D interpolation along each resized axis in turn. Since
// shapes are static, the scales or sizes are constants, and so is each
// axis's sampling pattern: output position j of an axis reads input
// positions idx_k[j] with weights w_k[j] (k < 1, 2 or 4 taps). So an axis
// becomes, per tap, a Gather of constant indices times a constant weight
// vector, summed; positions that fall outside a tf_crop_and_resize box are
// replaced by the extrapolation value with a Where on a constant mask. The
// taps and weights follow the ONNX reference implementation (neighbours
// clamped to the edge, exclude_outside renormalizing the rest), computed
// in double and rounded once to the element type.
//
// GridSample's sampling points are data (the grid), so its taps are
// computed at run time: elementwise ops on the grid give each tap's pixel
// index (after the padding mode's clamping or reflection) and weight, and
// one GatherND per tap (1 nearest, 4 bilinear, 16 bicubic) reads the
// pixels of every channel at once from X laid out as [N, H*W, C].
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include <limits>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "graph/build_op.h"
#include "graph/onnx_ops.h"
#include "mlir/IR/Matchers.h"

namespace kiln {

using mlir::FailureOr;
using mlir::Value;
using namespace onnx_ops;

namespace {

/// How one axis is resampled: output position j is the sum over taps k of
/// weight[k][j] * input[index[k][j]], or the extrapolation value where
/// outside[j].
struct AxisSampling {
  std::vector<std::vector<int64_t>> index;
  std::vector<std::vector<double>> weight;
  std::vector<bool> outside;

  /// Whether output j is input j for every j (nothing to do on this axis).
  bool isIdentity(int64_t in) const {
    if (index.size() != 1 || static_cast<int64_t>(index[0].size()) != in)
      return false;
    for (int64_t j = 0; j < in; ++j)
      if (index[0][j] != j || weight[0][j] != 1.0 || outside[j])
        return false;
    return true;
  }
};

/// The attributes of one Resize node that shape every axis's sampling.
struct ResizeOptions {
  std::string mode = "nearest";         // nearest, linear, cubic
  std::string transform = "half_pixel"; // coordinate_transformation_mode
  std::string nearest = "round_prefer_floor";
  double cubicA = -0.75;
  bool excludeOutside = false;
  /// Before opset 11 (Resize-10, Upsample): asymmetric coordinates, and
  /// nearest takes floor when upsampling and ceil when downsampling, as
  /// ONNX Runtime does for those opsets.
  bool legacy = false;
};

/// The input coordinate output position `x` maps to; sets `outside` for a
/// tf_crop_and_resize position outside the input.
double sourceCoordinate(const ResizeOptions &o, double x, int64_t in,
                        int64_t outInt, double scale, double roiStart,
                        double roiEnd, bool &outside) {
  double out = scale * static_cast<double>(in); // ONNX's float width
  const std::string &t = o.transform;
  outside = false;
  if (o.legacy || t == "asymmetric")
    return x / scale;
  if (t == "half_pixel")
    return (x + 0.5) / scale - 0.5;
  if (t == "half_pixel_symmetric") {
    double adjustment = static_cast<double>(outInt) / out;
    double offset = static_cast<double>(in) / 2 * (1 - adjustment);
    return offset + (x + 0.5) / scale - 0.5;
  }
  if (t == "pytorch_half_pixel")
    return outInt > 1 ? (x + 0.5) / scale - 0.5 : 0.0;
  if (t == "align_corners")
    return out == 1 ? 0.0 : x * static_cast<double>(in - 1) / (out - 1);
  if (t == "tf_half_pixel_for_nn")
    return (x + 0.5) / scale;
  // tf_crop_and_resize.
  double span = static_cast<double>(in - 1);
  double v = out == 1 ? (roiEnd - roiStart) * span / 2
                      : x * (roiEnd - roiStart) * span / (out - 1);
  v += roiStart * span;
  outside = v < 0 || v > span;
  return v;
}

/// The interpolation coefficients of the taps around a coordinate whose
/// distance past floor() is `ratio` (in (0, 1], 1 on an input position).
std::vector<double> coefficients(const ResizeOptions &o, double ratio) {
  if (o.mode == "linear")
    return {1 - ratio, ratio};
  if (o.mode == "cubic") {
    double a = o.cubicA, r = ratio, s = 1 - ratio;
    return {((a * (r + 1) - 5 * a) * (r + 1) + 8 * a) * (r + 1) - 4 * a,
            ((a + 2) * r - (a + 3)) * r * r + 1,
            ((a + 2) * s - (a + 3)) * s * s + 1,
            ((a * (s + 1) - 5 * a) * (s + 1) + 8 * a) * (s + 1) - 4 * a};
  }
  // nearest: which of the two neighbours floor(x), floor(x) + 1.
  if (ratio == 1)
    return {0, 1};
  bool right = o.nearest == "round_prefer_floor"  ? ratio > 0.5
               : o.nearest == "round_prefer_ceil" ? ratio >= 0.5
               : o.nearest == "floor"             ? false
                                                  : true; // ceil
  return {right ? 0.0 : 1.0, right ? 1.0 : 0.0};
}

AxisSampling sampleAxis(const ResizeOptions &o, int64_t in, int64_t out,
                        double scale, double roiStart, double roiEnd) {
  AxisSampling s;
  s.outside.assign(out, false);
  auto clampIndex = [&](int64_t i) {
    return std::min<int64_t>(std::max<int64_t>(i, 0), in - 1);
  };
  if (o.legacy && o.mode == "nearest") {
    s.index.assign(1, std::vector<int64_t>(out));
    s.weight.assign(1, std::vector<double>(out, 1.0));
    for (int64_t j = 0; j < out; ++j) {
      double x = static_cast<double>(j) / scale;
      s.index[0][j] = clampIndex(
          static_cast<int64_t>(scale < 1 ? std::ceil(x) : std::floor(x)));
    }
    return s;
  }
  size_t taps = o.mode == "cubic" ? 4 : 2;
  std::vector<std::vector<int64_t>> index(taps, std::vector<int64_t>(out));
  std::vector<std::vector<double>> weight(taps, std::vector<double>(out));
  for (int64_t j = 0; j < out; ++j) {
    bool outside = false;
    double x = sourceCoordinate(o, static_cast<double>(j), in, out, scale,
                                roiStart, roiEnd, outside);
    s.outside[j] = outside;
    double base = std::floor(x);
    double ratio = x == base ? 1.0 : x - base;
    std::vector<double> c = coefficients(o, ratio);
    // The taps sit at floor(x) - taps/2 + 1 ... floor(x) + taps/2, or one
    // lower when x is an input position (ratio 1), as the reference picks
    // the nearest `taps` positions, preferring the lower on a tie.
    int64_t first = static_cast<int64_t>(base) -
                    static_cast<int64_t>(taps) / 2 + (ratio == 1 ? 0 : 1);
    double kept = 0;
    for (size_t k = 0; k < taps; ++k) {
      int64_t at = first + static_cast<int64_t>(k);
      if (o.excludeOutside && o.mode != "nearest" && (at < 0 || at >= in))
        c[k] = 0;
      kept += c[k];
    }
    for (size_t k = 0; k < taps; ++k) {
      index[k][j] = clampIndex(first + static_cast<int64_t>(k));
      weight[k][j] = o.excludeOutside && o.mode != "nearest" && kept != 0
                         ? c[k] / kept
                         : c[k];
    }
  }
  // Nearest keeps one tap: the neighbour whose coefficient is 1.
  if (o.mode == "nearest") {
    s.index.assign(1, std::vector<int64_t>(out));
    s.weight.assign(1, std::vector<double>(out, 1.0));
    for (int64_t j = 0; j < out; ++j)
      s.index[0][j] = weight[1][j] == 1.0 ? index[1][j] : index[0][j];
    return s;
  }
  // Taps whose weights are all zero read nothing.
  for (size_t k = 0; k < taps; ++k) {
    bool used = false;
    for (int64_t j = 0; j < out && !used; ++j)
      used = weight[k][j] != 0;
    if (!used)
      continue;
    s.index.push_back(std::move(index[k]));
    s.weight.push_back(std::move(weight[k]));
  }
  if (s.index.empty()) { // every weight zero: one tap of zeros
    s.index.push_back(std::vector<int64_t>(out, 0));
    s.weight.push_back(std::vector<double>(out, 0.0));
  }
  return s;
}

/// Resamples `x` along `axis` as `s` says.
FailureOr<Value> resampleAxis(NodeContext &ctx, Value x, int64_t axis,
                              const AxisSampling &s, double extrapolation) {
  auto type = mlir::cast<mlir::RankedTensorType>(x.getType());
  mlir::Type elem = type.getElementType();
  int64_t out = static_cast<int64_t>(s.outside.size());
  llvm::SmallVector<int64_t> along(type.getRank(), 1);
  along[axis] = out;
  Value sum;
  for (size_t k = 0; k < s.index.size(); ++k) {
    FailureOr<Value> g =
        ctx.build<GatherOp>({x, int64Constant(ctx, s.index[k], {out})},
                            {named(ctx, "axis", i64(ctx, axis))});
    if (mlir::failed(g))
      return mlir::failure();
    Value term = *g;
    bool ones = llvm::all_of(s.weight[k], [](double w) { return w == 1.0; });
    if (!ones) {
      FailureOr<Value> m = ctx.build<MulOp>(
          {term, floatConstant(ctx, elem, s.weight[k], along)});
      if (mlir::failed(m))
        return mlir::failure();
      term = *m;
    }
    if (!sum) {
      sum = term;
      continue;
    }
    FailureOr<Value> added = ctx.build<AddOp>({sum, term});
    if (mlir::failed(added))
      return mlir::failure();
    sum = *added;
  }
  if (llvm::none_of(s.outside, [](bool b) { return b; }))
    return sum;
  std::vector<int64_t> mask(s.outside.begin(), s.outside.end());
  FailureOr<Value> outsideMask = ctx.build<CastOp>(
      int64Constant(ctx, mask, along),
      {named(ctx, "to", mlir::TypeAttr::get(ctx.builder().getI1Type()))});
  if (mlir::failed(outsideMask))
    return mlir::failure();
  return ctx.build<WhereOp>(
      {*outsideMask, ctx.scalar(elem, extrapolation), sum});
}

bool oneOf(const std::string &v, std::initializer_list<const char *> names) {
  for (const char *n : names)
    if (v == n)
      return true;
  return false;
}

/// Resize of opset `Since` (10, 11, 13, 18, 19) and Upsample (`Since` 7 or
/// 9, scales as an attribute or input 1).
template <int Since, bool IsUpsample = false>
FailureOr<Values> convertResize(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank();
  ResizeOptions o;
  o.mode = ctx.getString("mode", "nearest");
  o.legacy = IsUpsample || Since < 11;
  if (o.mode == "bilinear" && IsUpsample) // Upsample-7's old spelling
    o.mode = "linear";
  if (!oneOf(o.mode, {"nearest", "linear", "cubic"}) ||
      (o.legacy && o.mode == "cubic")) {
    ctx.error("mode must be " +
              std::string(o.legacy ? "nearest or linear"
                                   : "nearest, linear "
                                     "or cubic") +
              ", not '" + o.mode + "'");
    return mlir::failure();
  }
  double extrapolation = 0;
  if (!o.legacy) {
    o.transform = ctx.getString("coordinate_transformation_mode", "half_pixel");
    o.nearest = ctx.getString("nearest_mode", "round_prefer_floor");
    o.cubicA = ctx.getFloat("cubic_coeff_a", -0.75f);
    o.excludeOutside = ctx.getInt("exclude_outside", 0) != 0;
    extrapolation = ctx.getFloat("extrapolation_value", 0.0f);
    bool symmetric = Since >= 19 && o.transform == "half_pixel_symmetric";
    if (!symmetric &&
        !oneOf(o.transform,
               {"half_pixel", "pytorch_half_pixel", "align_corners",
                "asymmetric", "tf_half_pixel_for_nn", "tf_crop_and_resize"})) {
      ctx.error("coordinate_transformation_mode '" + o.transform +
                "' is not one opset " + std::to_string(ctx.opset()) +
                " defines");
      return mlir::failure();
    }
    if (!oneOf(o.nearest,
               {"round_prefer_floor", "round_prefer_ceil", "floor", "ceil"})) {
      ctx.error("nearest_mode must be round_prefer_floor, round_prefer_ceil, "
                "floor or ceil, not '" +
                o.nearest + "'");
      return mlir::failure();
    }
  }
  if (Since >= 18 && ctx.getInt("antialias", 0) != 0) {
    ctx.unsupported("antialias is not supported yet");
    return mlir::failure();
  }
  if (ctx.reported())
    return mlir::failure();

  // The axes resized (opset 18), and the scales or sizes along them.
  llvm::SmallVector<int64_t> axes;
  std::optional<llvm::SmallVector<int64_t>> givenAxes;
  if (Since >= 18)
    givenAxes = ctx.getInts("axes");
  if (givenAxes) {
    for (int64_t a : *givenAxes) {
      int64_t n = normalizeAxis(a, rank);
      if (n < 0 || llvm::is_contained(axes, n)) {
        ctx.error(absl::StrCat("axes: ", a,
                               n < 0 ? " is out of range for rank "
                                     : " is repeated for rank ",
                               rank));
        return mlir::failure();
      }
      axes.push_back(n);
    }
  } else {
    for (int64_t a = 0; a < rank; ++a)
      axes.push_back(a);
  }
  std::optional<std::vector<double>> scales, sizes, roi;
  if constexpr (IsUpsample && Since < 9) {
    std::optional<std::vector<float>> s = ctx.getFloats("scales");
    if (!s) {
      ctx.error("needs the scales attribute");
      return mlir::failure();
    }
    scales = std::vector<double>(s->begin(), s->end());
  } else {
    size_t scalesInput = o.legacy ? 1 : 2;
    auto s = ctx.constantDoubles(scalesInput, "scales");
    if (mlir::failed(s))
      return mlir::failure();
    scales = *s;
    if (!o.legacy) {
      auto z = ctx.constantDoubles(3, "sizes");
      if (mlir::failed(z))
        return mlir::failure();
      sizes = *z;
    }
    if (o.transform == "tf_crop_and_resize") { // roi matters only there
      auto r = ctx.constantDoubles(1, "roi");
      if (mlir::failed(r))
        return mlir::failure();
      roi = *r;
    }
  }
  size_t n = axes.size();
  auto elemOf = [&](size_t i) {
    return ctx.input(i) ? ctx.type(i).getElementType() : mlir::Type();
  };
  if (!(IsUpsample && Since < 9) && scales && elemOf(o.legacy ? 1 : 2) &&
      !mlir::isa<mlir::FloatType>(elemOf(o.legacy ? 1 : 2))) {
    ctx.error("scales must be floating-point numbers");
    return mlir::failure();
  }
  if (sizes && !elemOf(3).isSignlessInteger(64)) {
    ctx.error("sizes must be int64");
    return mlir::failure();
  }
  if (scales.has_value() == sizes.has_value()) {
    ctx.error(scales ? "takes scales or sizes, not both"
                     : "needs scales or sizes (a non-empty constant)");
    return mlir::failure();
  }
  const std::vector<double> &given = scales ? *scales : *sizes;
  if (given.size() != n) {
    ctx.error(absl::StrCat(scales ? "scales" : "sizes", " has ", given.size(),
                           " values; the input has ", n, " axes to resize"));
    return mlir::failure();
  }
  if (o.transform == "tf_crop_and_resize" && (!roi || roi->size() != 2 * n)) {
    ctx.error(absl::StrCat("tf_crop_and_resize needs roi with ", 2 * n,
                           " values (starts, then ends)"));
    return mlir::failure();
  }

  // The output length and the scale of each resized axis.
  std::vector<double> scale(n);
  std::vector<int64_t> outLen(n);
  std::string policy =
      Since >= 18 ? ctx.getString("keep_aspect_ratio_policy", "stretch")
                  : "stretch";
  if (!oneOf(policy, {"stretch", "not_larger", "not_smaller"})) {
    ctx.error("keep_aspect_ratio_policy must be stretch, not_larger or "
              "not_smaller, not '" +
              policy + "'");
    return mlir::failure();
  }
  double common = policy == "not_larger" ? INFINITY : 0;
  for (size_t i = 0; i < n; ++i) {
    int64_t in = t.getDimSize(axes[i]);
    double v = given[i];
    if (!(v > 0) || !std::isfinite(v) || (sizes && v != std::floor(v))) {
      ctx.error(absl::StrCat(scales ? "scales" : "sizes", "[", i, "] is ", v,
                             ": must be ",
                             scales ? "a positive number"
                                    : "a positive "
                                      "integer"));
      return mlir::failure();
    }
    if (scales && IsUpsample && v < 1) {
      ctx.error(absl::StrCat("scales[", i, "] is ", v,
                             ": Upsample takes scales of at least 1"));
      return mlir::failure();
    }
    if (scales) {
      scale[i] = v;
      double len = std::floor(static_cast<double>(in) * v);
      if (len < 1 || len > static_cast<double>(int64_t{1} << 40)) {
        ctx.error(absl::StrCat("scales[", i, "] = ", v, " makes axis ", axes[i],
                               " (length ", in, ") ",
                               len < 1 ? "empty" : "too long"));
        return mlir::failure();
      }
      outLen[i] = static_cast<int64_t>(len);
    } else {
      if (v > static_cast<double>(int64_t{1} << 40)) {
        ctx.error(absl::StrCat("sizes[", i, "] = ", v, " makes axis ", axes[i],
                               " too long"));
        return mlir::failure();
      }
      scale[i] = v / static_cast<double>(in);
      outLen[i] = static_cast<int64_t>(v);
      common = policy == "not_larger" ? std::min(common, scale[i])
                                      : std::max(common, scale[i]);
    }
  }
  if (sizes && policy != "stretch") {
    for (size_t i = 0; i < n; ++i) {
      scale[i] = common;
      double len =
          std::round(common * static_cast<double>(t.getDimSize(axes[i])));
      if (len > static_cast<double>(int64_t{1} << 40)) {
        ctx.error(absl::StrCat("sizes with keep_aspect_ratio_policy '", policy,
                               "' make axis ", axes[i], " too long"));
        return mlir::failure();
      }
      outLen[i] = static_cast<int64_t>(len);
    }
  }
  // The whole output within Kiln's element limit before any axis's
  // sampling table is built (one entry per output position).
  llvm::SmallVector<int64_t> outShape(t.getShape());
  for (size_t i = 0; i < n; ++i)
    outShape[axes[i]] = outLen[i];
  if (!ShapeWithinLimit(outShape)) {
    ctx.error(absl::StrCat("the output, of shape [",
                           absl::StrJoin(outShape, ","),
                           "], is larger than Kiln's limit of 2^32 elements"));
    return mlir::failure();
  }
  if (!mlir::isa<mlir::FloatType>(t.getElementType()) && o.mode != "nearest") {
    ctx.unsupported("mode '" + o.mode +
                    "' on a tensor of integers is not supported yet");
    return mlir::failure();
  }

  Value x = ctx.input(0);
  for (size_t i = 0; i < n; ++i) {
    int64_t in = t.getDimSize(axes[i]);
    double start = roi ? (*roi)[i] : 0, end = roi ? (*roi)[n + i] : 1;
    AxisSampling s = sampleAxis(o, in, outLen[i], scale[i], start, end);
    if (s.isIdentity(in))
      continue;
    FailureOr<Value> r = resampleAxis(ctx, x, axes[i], s, extrapolation);
    if (mlir::failed(r))
      return mlir::failure();
    x = *r;
  }
  return Values{x};
}

/// ONNX Runtime's reflection of a coordinate into [lo, hi].
Value reflect(Chain &c, Value x, double lo, double hi) {
  double range = hi - lo;
  if (range <= 0)
    return c.clamp(x, lo, hi);
  Value below = c.op<LessOp>({x, c.f(lo)});
  Value above = c.op<GreaterOp>({x, c.f(hi)});
  Value d = c.where(below, c.sub(c.f(lo), x),
                    c.where(above, c.sub(x, c.f(hi)), c.f(0)));
  Value n = c.floor(c.div(d, c.f(range)));
  Value r = c.sub(d, c.mul(n, c.f(range)));
  Value half = c.mul(n, c.f(0.5));
  Value odd = c.op<NotOp>({c.op<EqualOp>({c.floor(half), half})});
  Value fromLo = c.add(c.f(lo), r), fromHi = c.sub(c.f(hi), r);
  return c.where(below, c.where(odd, fromHi, fromLo),
                 c.where(above, c.where(odd, fromLo, fromHi), x));
}

/// GridSample on [N, C, H, W] with a grid [N, Ho, Wo, 2] of (x, y) in
/// [-1, 1]: modes nearest, bilinear and bicubic (opset 20: linear, cubic),
/// padding zeros, border and reflection, as ONNX Runtime computes them.
template <int Since> FailureOr<Values> convertGridSample(NodeContext &ctx) {
  auto xType = ctx.type(0), gType = ctx.type(1);
  if (xType.getRank() != 4 || gType.getRank() != 4 ||
      gType.getDimSize(3) != 2 || gType.getDimSize(0) != xType.getDimSize(0)) {
    ctx.error("expects X [N, C, H, W] and grid [N, H_out, W_out, 2]");
    return mlir::failure();
  }
  mlir::Type elem = xType.getElementType();
  if (!mlir::isa<mlir::FloatType>(elem) || gType.getElementType() != elem) {
    ctx.error("X and grid must be floating-point tensors of one type");
    return mlir::failure();
  }
  std::string mode = ctx.getString("mode", Since >= 20 ? "linear" : "bilinear");
  std::string padding = ctx.getString("padding_mode", "zeros");
  bool alignCorners = ctx.getInt("align_corners", 0) != 0;
  int taps = mode == "nearest"                               ? 1
             : mode == (Since >= 20 ? "linear" : "bilinear") ? 2
             : mode == (Since >= 20 ? "cubic" : "bicubic")   ? 4
                                                             : 0;
  if (taps == 0) {
    ctx.error("mode must be nearest, " +
              std::string(Since >= 20 ? "linear or cubic"
                                      : "bilinear or "
                                        "bicubic") +
              ", not '" + mode + "'");
    return mlir::failure();
  }
  if (padding != "zeros" && padding != "border" && padding != "reflection") {
    ctx.error("padding_mode must be zeros, border or reflection, not '" +
              padding + "'");
    return mlir::failure();
  }
  if (ctx.reported())
    return mlir::failure();
  int64_t n = xType.getDimSize(0), channels = xType.getDimSize(1),
          h = xType.getDimSize(2), w = xType.getDimSize(3),
          ho = gType.getDimSize(1), wo = gType.getDimSize(2);
  Chain c(ctx, elem);
  auto i64Type = c.b().getIntegerType(64);
  auto coordinate = [&](int64_t k) {
    return c.reshape(
        c.op<SliceOp>({ctx.input(1)}, {named(ctx, "starts", ints(ctx, {k})),
                                       named(ctx, "ends", ints(ctx, {k + 1})),
                                       named(ctx, "axes", ints(ctx, {3}))}),
        {n, ho * wo});
  };
  // Pixel coordinates, then the padding mode's handling of points outside.
  auto pixel = [&](Value g, int64_t size, double &lo, double &hi) {
    Value v =
        alignCorners
            ? c.mul(c.add(g, c.f(1)), c.f(0.5 * double(size - 1)))
            : c.mul(c.sub(c.mul(c.add(g, c.f(1)), c.f(double(size))), c.f(1)),
                    c.f(0.5));
    lo = alignCorners ? 0 : -0.5;
    hi = alignCorners ? double(size - 1) : double(size) - 0.5;
    if (taps == 1)
      v = c.op<RoundOp>({v});
    if (padding == "border")
      v = c.clamp(v, 0, double(size - 1));
    else if (padding == "reflection")
      v = reflect(c, v, lo, hi);
    return v;
  };
  double xlo, xhi, ylo, yhi;
  Value x = pixel(coordinate(0), w, xlo, xhi);
  Value y = pixel(coordinate(1), h, ylo, yhi);
  // Each tap along one axis: its integer position (as a float) and weight.
  auto axisTaps = [&](Value v) {
    std::vector<std::pair<Value, Value>> t;
    if (taps == 1) {
      t.push_back({v, Value()});
      return t;
    }
    Value base = c.floor(v);
    Value frac = c.sub(v, base);
    if (taps == 2) {
      t.push_back({base, c.sub(c.f(1), frac)});
      t.push_back({c.add(base, c.f(1)), frac});
      return t;
    }
    // Cubic, a = -0.75, on the distances 1 + frac, frac, 1 - frac, 2 - frac.
    const double a = -0.75;
    Value s = c.sub(c.f(1), frac);
    auto outer = [&](Value d) { // |d| in [1, 2]
      return c.sub(c.mul(c.add(c.mul(c.sub(c.mul(c.f(a), d), c.f(5 * a)), d),
                               c.f(8 * a)),
                         d),
                   c.f(4 * a));
    };
    auto inner = [&](Value d) { // |d| in [0, 1]
      return c.add(c.mul(c.mul(c.sub(c.mul(c.f(a + 2), d), c.f(a + 3)), d), d),
                   c.f(1));
    };
    t.push_back({c.sub(base, c.f(1)), outer(c.add(frac, c.f(1)))});
    t.push_back({base, inner(frac)});
    t.push_back({c.add(base, c.f(1)), inner(s)});
    t.push_back({c.add(base, c.f(2)), outer(c.add(s, c.f(1)))});
    return t;
  };
  std::vector<std::pair<Value, Value>> xs = axisTaps(x), ys = axisTaps(y);
  // X as [N, H*W, C], read at index r * W + col for every channel.
  Value data = c.reshape(
      c.op<TransposeOp>({ctx.input(0)},
                        {named(ctx, "perm", ints(ctx, {0, 2, 3, 1}))}),
      {n, h * w, channels});
  Value sum;
  for (auto &[row, wy] : ys)
    for (auto &[col, wx] : xs) {
      Value weight = wy && wx ? c.mul(wy, wx) : wy ? wy : wx;
      Value r = row, k = col;
      if (padding == "zeros") {
        Value inside = c.op<AndOp>(
            {c.op<AndOp>({c.op<GreaterOrEqualOp>({k, c.f(0)}),
                          c.op<LessOrEqualOp>({k, c.f(double(w - 1))})}),
             c.op<AndOp>({c.op<GreaterOrEqualOp>({r, c.f(0)}),
                          c.op<LessOrEqualOp>({r, c.f(double(h - 1))})})});
        Value mask = c.cast(inside, elem);
        weight = weight ? c.mul(weight, mask) : mask;
      } else if (padding == "reflection" && taps != 1) {
        k = reflect(c, k, xlo, xhi);
        r = reflect(c, r, ylo, yhi);
      }
      // Always inside, whatever the mode: out-of-range points read pixel
      // 0 with weight 0.
      k = c.cast(c.clamp(k, 0, double(w - 1)), i64Type);
      r = c.cast(c.clamp(r, 0, double(h - 1)), i64Type);
      Value index = c.reshape(c.add(c.mul(r, ctx.scalar(i64Type, w)), k),
                              {n, ho * wo, 1});
      Value picked = c.op<GatherNDOp>({data, index},
                                      {named(ctx, "batch_dims", i64(ctx, 1))});
      Value term =
          weight ? c.mul(picked, c.reshape(weight, {n, ho * wo, 1})) : picked;
      sum = sum ? c.add(sum, term) : term;
    }
  Value out = c.op<TransposeOp>({c.reshape(sum, {n, ho, wo, channels})},
                                {named(ctx, "perm", ints(ctx, {0, 3, 1, 2}))});
  if (!out)
    return mlir::failure();
  return Values{out};
}

/// RoiAlign (opsets 10 and 16) as ONNX Runtime computes it: each output
/// bin of a region averages (or takes the largest of) a grid of bilinear
/// samples. Every sample's four taps are gathered from X viewed as
/// [N * H * W, C] at b * H * W + y * W + x, with weights that are 0 for a
/// sample outside [-1, H] x [-1, W]. In max mode each tap's weighted value
/// competes on its own, as in ONNX Runtime. An adaptive sampling_ratio (0)
/// samples ceil(bin size) points per bin, which the regions decide: the
/// rois must then be known at compile time.
template <int Since> FailureOr<Values> convertRoiAlign(NodeContext &ctx) {
  auto xType = ctx.type(0), rType = ctx.type(1), bType = ctx.type(2);
  if (xType.getRank() != 4 || rType.getRank() != 2 ||
      rType.getDimSize(1) != 4 || bType.getRank() != 1 ||
      bType.getDimSize(0) != rType.getDimSize(0)) {
    ctx.error("expects X [N, C, H, W], rois [R, 4] and batch_indices [R]");
    return mlir::failure();
  }
  mlir::Type elem = xType.getElementType();
  if (!mlir::isa<mlir::FloatType>(elem) || rType.getElementType() != elem) {
    ctx.error("X and rois must be floating-point tensors of one type");
    return mlir::failure();
  }
  std::string mode = ctx.getString("mode", "avg");
  std::string transform =
      ctx.getString("coordinate_transformation_mode",
                    Since >= 16 ? "half_pixel" : "output_half_pixel");
  int64_t oh = ctx.getInt("output_height", 1),
          ow = ctx.getInt("output_width", 1);
  int64_t ratio = ctx.getInt("sampling_ratio", 0);
  double scale = ctx.getFloat("spatial_scale", 1.0f);
  if (mode != "avg" && mode != "max") {
    ctx.error("mode must be avg or max, not '" + mode + "'");
    return mlir::failure();
  }
  if (transform != "half_pixel" && transform != "output_half_pixel") {
    ctx.error("coordinate_transformation_mode must be half_pixel or "
              "output_half_pixel, not '" +
              transform + "'");
    return mlir::failure();
  }
  if (oh < 1 || ow < 1 || ratio < 0) {
    ctx.error("output_height and output_width must be at least 1 and "
              "sampling_ratio at least 0");
    return mlir::failure();
  }
  if (ctx.reported())
    return mlir::failure();
  bool aligned = transform == "half_pixel";
  double offset = aligned ? 0.5 : 0.0;
  int64_t n = xType.getDimSize(0), channels = xType.getDimSize(1),
          h = xType.getDimSize(2), w = xType.getDimSize(3),
          rois = rType.getDimSize(0);
  // The region's start and size along one axis, [R, 1] each, from the
  // rois' columns `lo` and `lo + 2` (x1, y1, x2, y2).
  Chain c(ctx, elem);
  // rois must be finite (as ONNX Runtime requires): a NaN or infinite
  // value fails the run; the count of them, checked to be 0, stands in
  // for them, so that no NaN reaches an index.
  auto i64Type = c.b().getIntegerType(64);
  Value boxesIn = ctx.input(1);
  if (!ctx.constantInput(1)) {
    Value finite = c.op<EqualOp>({c.sub(boxesIn, boxesIn), c.f(0)});
    Value count = c.op<ReduceSumOp>({c.cast(c.op<NotOp>({finite}), i64Type)},
                                    {named(ctx, "keepdims", i64(ctx, 0))});
    Value checked = c.op<InRangeOp>(
        {count},
        {named(ctx, "lower", i64(ctx, 0)), named(ctx, "upper", i64(ctx, 0)),
         named(ctx, "what",
               c.b().getStringAttr("the number of NaN or infinite "
                                   "rois values"))});
    boxesIn = c.where(finite, boxesIn, c.cast(checked, elem));
  } else {
    FailureOr<std::optional<std::vector<double>>> given =
        ctx.constantDoubles(1, "rois");
    if (mlir::failed(given))
      return mlir::failure();
    if (*given &&
        llvm::any_of(**given, [](double v) { return !std::isfinite(v); })) {
      ctx.error("rois must be finite; the constant rois hold NaN or infinity");
      return mlir::failure();
    }
  }
  auto column = [&](int64_t k) {
    return c.op<SliceOp>({boxesIn}, {named(ctx, "starts", ints(ctx, {k})),
                                     named(ctx, "ends", ints(ctx, {k + 1})),
                                     named(ctx, "axes", ints(ctx, {1}))});
  };
  auto region = [&](int64_t lo) {
    Value start = c.sub(c.mul(column(lo), c.f(scale)), c.f(offset));
    Value size =
        c.sub(c.sub(c.mul(column(lo + 2), c.f(scale)), c.f(offset)), start);
    if (!aligned)
      size = c.op<MaxOp>({size, c.f(1)});
    return std::make_pair(start, size);
  };
  auto [startY, sizeY] = region(1);
  auto [startX, sizeX] = region(0);
  // Samples per bin along each axis: sampling_ratio, or per region
  // ceil(size / bins) (a constant [R, 1], from the constant rois), the
  // slots being the largest of these.
  std::optional<std::vector<double>> boxes;
  if (ratio == 0 && ctx.constantInput(1)) {
    FailureOr<std::optional<std::vector<double>>> given =
        ctx.constantDoubles(1, "rois");
    if (mlir::failed(given))
      return mlir::failure();
    boxes = *given;
  }
  if (ratio == 0 && !boxes) {
    ctx.unsupported("sampling_ratio 0 (adaptive) takes as many samples as "
                    "each region's size asks, which is known only when the "
                    "rois are (a constant, or frozen with --freeze); give "
                    "sampling_ratio > 0");
    return mlir::failure();
  }
  auto samples = [&](int64_t lo, int64_t bins, int64_t &slots) -> Value {
    if (ratio > 0) {
      slots = ratio;
      return Value();
    }
    std::vector<double> counts;
    slots = 1;
    for (int64_t r = 0; r < rois; ++r) {
      double start = (*boxes)[4 * r + lo] * scale - offset;
      double size = (*boxes)[4 * r + lo + 2] * scale - offset - start;
      if (!aligned)
        size = std::max(size, 1.0);
      double count = std::max(std::ceil(size / double(bins)), 0.0);
      counts.push_back(count);
      slots = std::max(slots, static_cast<int64_t>(count));
    }
    return floatConstant(ctx, elem, counts, {rois, 1});
  };
  int64_t slotsY = 0, slotsX = 0;
  Value countY = samples(1, oh, slotsY), countX = samples(0, ow, slotsX);
  // Every sample of every region is gathered: refuse what would not fit
  // before building any of it.
  if (double(rois) * double(oh) * double(slotsY) * double(ow) * double(slotsX) *
          double(channels) >
      double(int64_t{1} << 32)) {
    std::string sampling =
        ratio > 0 ? absl::StrCat("sampling_ratio ", ratio)
                  : "adaptive sampling (sampling_ratio 0) of these rois";
    ctx.error(absl::StrCat(sampling, " takes ", slotsY, " x ", slotsX,
                           " samples in each of ", oh, " x ", ow, " bins of ",
                           rois, " regions and ", channels,
                           " channels: more than Kiln's limit of 2^32 "
                           "elements"));
    return mlir::failure();
  }
  // Sample p = bin * slots + i along one axis, [R, bins * slots]: its
  // coordinate, the two taps (as i64) and their weights, 0 outside
  // [-1, size] and for slots past the region's own count.
  struct Taps {
    Value lo, hi, wlo, whi;
    Value slot; // [R, bins * slots]: the slot is one of the region's
                // samples (adaptive sampling only)
  };
  auto taps = [&](Value start, Value size, Value count, int64_t bins,
                  int64_t slots, int64_t extent) {
    std::vector<double> bin, at;
    for (int64_t k = 0; k < bins * slots; ++k) {
      bin.push_back(double(k / slots));
      at.push_back(double(k % slots) + 0.5);
    }
    Value binIndex = floatConstant(ctx, elem, bin, {1, bins * slots});
    Value slotCenter = floatConstant(ctx, elem, at, {1, bins * slots});
    Value binSize = c.div(size, c.f(double(bins)));
    Value perSample = count ? c.div(binSize, c.op<MaxOp>({count, c.f(1)}))
                            : c.div(binSize, c.f(double(slots)));
    Value v = c.add(c.add(start, c.mul(binIndex, binSize)),
                    c.mul(slotCenter, perSample));
    Value inside = c.op<AndOp>({c.op<GreaterOrEqualOp>({v, c.f(-1)}),
                                c.op<LessOrEqualOp>({v, c.f(double(extent))})});
    Value weight = c.cast(inside, elem);
    Value slot;
    if (count) {
      slot = c.op<LessOp>({slotCenter, count});
      weight = c.mul(weight, c.cast(slot, elem));
    }
    Value clamped = c.clamp(v, 0, double(extent - 1));
    Value lo = c.floor(clamped);
    Value frac = c.sub(clamped, lo);
    Value hi = c.clamp(c.add(lo, c.f(1)), 0, double(extent - 1));
    return Taps{c.cast(lo, i64Type), c.cast(hi, i64Type),
                c.mul(c.sub(c.f(1), frac), weight), c.mul(frac, weight), slot};
  };
  int64_t py = oh * slotsY, px = ow * slotsX;
  Taps ty = taps(startY, sizeY, countY, oh, slotsY, h);
  Taps tx = taps(startX, sizeX, countX, ow, slotsX, w);
  // ONNX Runtime reads batch_indices unchecked; Kiln fails the run on one
  // outside [0, N).
  FailureOr<Value> batch = ctx.build<InRangeOp>(
      ctx.input(2),
      {named(ctx, "lower", i64(ctx, 0)), named(ctx, "upper", i64(ctx, n - 1)),
       named(ctx, "what", c.b().getStringAttr("batch index"))});
  if (mlir::failed(batch))
    return mlir::failure();
  Value base = c.reshape(
      c.mul(c.cast(*batch, i64Type), ctx.scalar(i64Type, double(h * w))),
      {rois, 1, 1});
  Value data = c.reshape(
      c.op<TransposeOp>({ctx.input(0)},
                        {named(ctx, "perm", ints(ctx, {0, 2, 3, 1}))}),
      {n * h * w, channels});
  Value result;
  for (auto [row, wy] : {std::pair{ty.lo, ty.wlo}, std::pair{ty.hi, ty.whi}})
    for (auto [col, wx] :
         {std::pair{tx.lo, tx.wlo}, std::pair{tx.hi, tx.whi}}) {
      Value index = c.add(
          c.add(base, c.reshape(c.mul(row, ctx.scalar(i64Type, double(w))),
                                {rois, py, 1})),
          c.reshape(col, {rois, 1, px}));
      Value picked =
          c.op<GatherNDOp>({data, c.reshape(index, {rois, py, px, 1})});
      Value weight = c.mul(c.reshape(wy, {rois, py, 1, 1}),
                           c.reshape(wx, {rois, 1, px, 1}));
      Value term = c.mul(picked, weight);
      result = !result         ? term
               : mode == "avg" ? c.add(result, term)
                               : c.op<MaxOp>({result, term});
    }
  result = c.reshape(result, {rois, oh, slotsY, ow, slotsX, channels});
  if (mode == "max" && ty.slot) {
    // Slots past a region's count take no part in the maximum.
    Value exists =
        c.op<AndOp>({c.reshape(ty.slot, {rois, oh, slotsY, 1, 1, 1}),
                     c.reshape(tx.slot, {rois, 1, 1, ow, slotsX, 1})});
    result =
        c.where(exists, result, c.f(-std::numeric_limits<double>::infinity()));
  }
  llvm::SmallVector<mlir::NamedAttribute> pool = {
      named(ctx, "axes", ints(ctx, {2, 4})),
      named(ctx, "keepdims", i64(ctx, 0))};
  if (mode == "avg") {
    result = c.op<ReduceSumOp>({result}, pool);
    Value count = countY && countX
                      ? c.reshape(c.op<MaxOp>({c.mul(countY, countX), c.f(1)}),
                                  {rois, 1, 1, 1})
                      : c.f(double(slotsY * slotsX));
    result = c.div(result, count);
  } else {
    result = c.op<ReduceMaxOp>({result}, pool);
  }
  result = c.op<TransposeOp>({result},
                             {named(ctx, "perm", ints(ctx, {0, 3, 1, 2}))});
  if (!result)
    return mlir::failure();
  return Values{result};
}

} // namespace

void RegisterResizeOnnxOps(OnnxRegistry &r) {
  r.onOp("Upsample", 1, convertResize<7, true>, 1, 1, {"scales"});
  r.onOp("Upsample", 9, convertResize<9, true>, 2, 2);
  r.onOp("Resize", 1, convertResize<10>, 2, 2);
  r.onOp("Resize", 11, convertResize<11>, 1, 4);
  r.onOp("Resize", 13, convertResize<13>, 1, 4);
  r.onOp("Resize", 18, convertResize<18>, 1, 4);
  r.onOp("Resize", 19, convertResize<19>, 1, 4);
  r.onOp("GridSample", 1, convertGridSample<16>, 2, 2);
  r.onOp("RoiAlign", 1, convertRoiAlign<10>, 3, 3);
  r.onOp("RoiAlign", 16, convertRoiAlign<16>, 3, 3);
  r.onOp("GridSample", 20, convertGridSample<20>, 2, 2);
}

} // namespace kiln
