//===- onnx_ops_signal.cc - ONNX signal processing ops --------------------===//
//
// Part of Kiln. DFT, STFT, the window functions (HannWindow, HammingWindow,
// BlackmanWindow) and MelWeightMatrix (opset 17), built from kiln ops.
//
// The windows and the mel filter bank depend only on sizes and
// frequencies, which must be known at compile time (static shapes): they
// become constants, computed in double as ONNX's definitions say. A DFT of
// length L along an axis is two products with constant [L, K] matrices
// (the cosines and sines of 2 pi k n / L, K = L or L / 2 + 1 when
// onesided): O(L K) per transform rather than an FFT's O(L log L), exact
// to float32 rounding, and a MatMul the CPU backend runs fast. STFT
// gathers the frames with one Gather of constant indices, applies the
// window and takes the DFT of every frame at once.
//
//===----------------------------------------------------------------------===//
#include <cmath>

#include "absl/strings/str_cat.h"
#include "graph/build_op.h"
#include "graph/importer.h"
#include "graph/onnx_ops.h"
#include "graph/onnx_tensor.h"

namespace kiln {

using mlir::FailureOr;
using mlir::Value;
using namespace onnx_ops;

namespace {

constexpr double kPi = 3.14159265358979323846;

mlir::RankedTensorType typeOf(Value v) {
  return mlir::cast<mlir::RankedTensorType>(v.getType());
}

/// `values` as a constant of the node's output_datatype (default float).
FailureOr<Value> outputConstant(NodeContext &ctx, llvm::ArrayRef<double> values,
                                llvm::ArrayRef<int64_t> shape) {
  int64_t dtype = ctx.getInt("output_datatype", 1);
  mlir::Type elem = OnnxElementType(static_cast<int>(dtype), ctx.context());
  if (!elem) {
    ctx.unsupported(absl::StrCat("output_datatype ",
                                 OnnxTypeName(static_cast<int>(dtype)),
                                 " is not supported"));
    return mlir::failure();
  }
  Value v = floatConstant(ctx, ctx.builder().getF64Type(), values, shape);
  if (elem.isF64())
    return v;
  return ctx.build<CastOp>(v, {named(ctx, "to", mlir::TypeAttr::get(elem))});
}

/// Input `i` as a compile-time integer at least `least`.
FailureOr<int64_t> constantSize(NodeContext &ctx, size_t i, const char *what,
                                int64_t least) {
  FailureOr<double> v = ctx.constantScalar(i, what);
  if (mlir::failed(v))
    return mlir::failure();
  if (*v != std::floor(*v) || *v < static_cast<double>(least)) {
    ctx.error(absl::StrCat(what, " is ", *v,
                           ": must be an integer of at least ", least));
    return mlir::failure();
  }
  if (*v > static_cast<double>(int64_t{1} << 31)) {
    ctx.error(
        absl::StrCat(what, " is ", *v, ": more than Kiln's limit of 2^31"));
    return mlir::failure();
  }
  return static_cast<int64_t>(*v);
}

/// The cosine-sum windows: a0 - a1 cos(2 pi n / N) + a2 cos(4 pi n / N),
/// N = size (periodic) or size - 1 (symmetric).
template <int Kind> FailureOr<Values> convertWindow(NodeContext &ctx) {
  FailureOr<int64_t> size = constantSize(ctx, 0, "size", 1);
  if (mlir::failed(size))
    return mlir::failure();
  double a0 = Kind == 0 ? 0.5 : Kind == 1 ? 25.0 / 46.0 : 0.42;
  double a1 = Kind == 0 ? 0.5 : Kind == 1 ? 1 - 25.0 / 46.0 : 0.5;
  double a2 = Kind == 2 ? 0.08 : 0.0;
  bool periodic = ctx.getInt("periodic", 1) != 0;
  double n = static_cast<double>(periodic ? *size : *size - 1);
  std::vector<double> w(*size);
  for (int64_t i = 0; i < *size; ++i) {
    double x = n == 0 ? 0.0 : 2 * kPi * static_cast<double>(i) / n;
    w[i] = a0 - a1 * std::cos(x) + a2 * std::cos(2 * x);
  }
  return one(outputConstant(ctx, w, {*size}));
}

/// MelWeightMatrix: triangular filters of peak 1 between mel-spaced
/// frequency bins, [dft_length / 2 + 1, num_mel_bins], as ONNX's reference
/// computes them.
FailureOr<Values> convertMelWeightMatrix(NodeContext &ctx) {
  FailureOr<int64_t> bins = constantSize(ctx, 0, "num_mel_bins", 1);
  FailureOr<int64_t> dft = constantSize(ctx, 1, "dft_length", 1);
  FailureOr<int64_t> rate = constantSize(ctx, 2, "sample_rate", 1);
  FailureOr<double> lower = ctx.constantScalar(3, "lower_edge_hertz");
  FailureOr<double> upper = ctx.constantScalar(4, "upper_edge_hertz");
  if (mlir::failed(bins) || mlir::failed(dft) || mlir::failed(rate) ||
      mlir::failed(lower) || mlir::failed(upper))
    return mlir::failure();
  if (!(*lower >= 0) || !(*upper > *lower)) {
    ctx.error(absl::StrCat("the edges must satisfy 0 <= lower < upper, got ",
                           *lower, " and ", *upper));
    return mlir::failure();
  }
  int64_t spectrum = *dft / 2 + 1;
  auto mel = [](double hz) { return 2595 * std::log10(1 + hz / 700); };
  double low = mel(static_cast<float>(*lower)),
         high = mel(static_cast<float>(*upper));
  double step = (high - low) / static_cast<double>(*bins + 2);
  std::vector<int64_t> edge(*bins + 2);
  for (int64_t i = 0; i < *bins + 2; ++i) {
    double hz =
        700 * (std::pow(10, (static_cast<double>(i) * step + low) / 2595) - 1);
    edge[i] = static_cast<int64_t>(std::floor(static_cast<double>(*dft + 1) *
                                              hz / static_cast<double>(*rate)));
  }
  std::vector<double> w(spectrum * *bins, 0.0);
  auto at = [&](int64_t j, int64_t i) -> double * {
    return j >= 0 && j < spectrum ? &w[j * *bins + i] : nullptr;
  };
  for (int64_t i = 0; i < *bins; ++i) {
    int64_t left = edge[i], center = edge[i + 1], right = edge[i + 2];
    if (center == left) {
      if (double *p = at(center, i))
        *p = 1;
    } else {
      for (int64_t j = left; j <= center; ++j)
        if (double *p = at(j, i))
          *p = static_cast<double>(j - left) /
               static_cast<double>(center - left);
    }
    for (int64_t j = center; j < right; ++j)
      if (double *p = at(j, i))
        *p = static_cast<double>(right - j) /
             static_cast<double>(right - center);
  }
  return one(outputConstant(ctx, w, {spectrum, *bins}));
}

/// `v` with axis `from` moved to position `to` (the others in order).
FailureOr<Value> moveAxis(NodeContext &ctx, Value v, int64_t from, int64_t to) {
  int64_t rank = typeOf(v).getRank();
  if (from == to)
    return v;
  llvm::SmallVector<int64_t> perm;
  for (int64_t i = 0; i < rank; ++i)
    if (i != from)
      perm.push_back(i);
  perm.insert(perm.begin() + to, from);
  return ctx.build<TransposeOp>(v, {named(ctx, "perm", ints(ctx, perm))});
}

/// The DFT of length `length` of (re, im) along `axis` (im may be null: a
/// real signal); the input is cut or zero-padded to `length` along it.
/// Returns the real and imaginary parts, `axis` now of length `length` or
/// length / 2 + 1 (onesided).
FailureOr<std::pair<Value, Value>> dft(NodeContext &ctx, Value re, Value im,
                                       int64_t axis, int64_t length,
                                       bool onesided, bool inverse) {
  auto t = typeOf(re);
  int64_t rank = t.getRank(), n = t.getDimSize(axis);
  mlir::Type elem = t.getElementType();
  auto fit = [&](Value v) -> FailureOr<Value> {
    if (!v || n == length)
      return v;
    if (n > length)
      return ctx.build<SliceOp>(v, {named(ctx, "starts", ints(ctx, {0})),
                                    named(ctx, "ends", ints(ctx, {length})),
                                    named(ctx, "axes", ints(ctx, {axis}))});
    llvm::SmallVector<int64_t> pads(2 * rank, 0);
    pads[rank + axis] = length - n;
    return ctx.build<PadOp>(v, {named(ctx, "pads", ints(ctx, pads))});
  };
  FailureOr<Value> r = fit(re), i = fit(im);
  if (mlir::failed(r) || mlir::failed(i))
    return mlir::failure();
  r = moveAxis(ctx, *r, axis, rank - 1);
  if (mlir::succeeded(i) && *i)
    i = moveAxis(ctx, *i, axis, rank - 1);
  if (mlir::failed(r) || mlir::failed(i))
    return mlir::failure();
  int64_t bins = onesided ? length / 2 + 1 : length;
  // The transform is a constant matrix of length x bins entries.
  if (bins > kMaxConstantElements / length) {
    ctx.error(absl::StrCat("a DFT of length ", length, " needs a ", length,
                           " x ", bins,
                           " matrix of constants, more than Kiln's limit of "
                           "2^31 elements"));
    return mlir::failure();
  }
  std::vector<double> cosines(length * bins), sines(length * bins);
  double sign = inverse ? 1.0 : -1.0, scale = inverse ? 1.0 / length : 1.0;
  for (int64_t s = 0; s < length; ++s)
    for (int64_t k = 0; k < bins; ++k) {
      // The angle reduced exactly: (k * s) mod length.
      double angle = 2 * kPi * static_cast<double>((k * s) % length) / length;
      cosines[s * bins + k] = scale * std::cos(angle);
      sines[s * bins + k] = scale * sign * std::sin(angle);
    }
  Value c = floatConstant(ctx, elem, cosines, {length, bins});
  Value sn = floatConstant(ctx, elem, sines, {length, bins});
  // (a + ib)(cos + i sin') = (a cos - b sin') + i (a sin' + b cos).
  FailureOr<Value> yr = ctx.build<MatMulOp>({*r, c});
  FailureOr<Value> yi = ctx.build<MatMulOp>({*r, sn});
  if (mlir::failed(yr) || mlir::failed(yi))
    return mlir::failure();
  if (*i) {
    FailureOr<Value> bs = ctx.build<MatMulOp>({*i, sn});
    FailureOr<Value> bc = ctx.build<MatMulOp>({*i, c});
    if (mlir::succeeded(bs))
      yr = ctx.build<SubOp>({*yr, *bs});
    if (mlir::succeeded(bc))
      yi = ctx.build<AddOp>({*yi, *bc});
    if (mlir::failed(yr) || mlir::failed(yi))
      return mlir::failure();
  }
  yr = moveAxis(ctx, *yr, rank - 1, axis);
  yi = moveAxis(ctx, *yi, rank - 1, axis);
  if (mlir::failed(yr) || mlir::failed(yi))
    return mlir::failure();
  return std::make_pair(*yr, *yi);
}

/// The real and imaginary parts of a [..., 1] or [..., 2] signal, without
/// that last axis (the imaginary part null for a real signal).
FailureOr<std::pair<Value, Value>> splitComplex(NodeContext &ctx, Value x) {
  auto t = typeOf(x);
  if (!mlir::isa<mlir::FloatType>(t.getElementType())) {
    ctx.error("the signal must be a floating-point tensor");
    return mlir::failure();
  }
  int64_t rank = t.getRank();
  int64_t parts = rank >= 2 ? t.getDimSize(rank - 1) : 0;
  if (parts != 1 && parts != 2) {
    ctx.error("the signal's last axis must hold 1 (real) or 2 (real, "
              "imaginary) values");
    return mlir::failure();
  }
  llvm::ArrayRef<int64_t> shape = t.getShape().drop_back();
  auto part = [&](int64_t k) -> FailureOr<Value> {
    FailureOr<Value> s =
        ctx.build<SliceOp>(x, {named(ctx, "starts", ints(ctx, {k})),
                               named(ctx, "ends", ints(ctx, {k + 1})),
                               named(ctx, "axes", ints(ctx, {rank - 1}))});
    if (mlir::failed(s))
      return mlir::failure();
    return ctx.reshape(*s, shape);
  };
  FailureOr<Value> re = part(0);
  if (mlir::failed(re))
    return mlir::failure();
  if (parts == 1)
    return std::make_pair(*re, Value());
  FailureOr<Value> im = part(1);
  if (mlir::failed(im))
    return mlir::failure();
  return std::make_pair(*re, *im);
}

/// [..., 2] from the real and imaginary parts.
FailureOr<Value> joinComplex(NodeContext &ctx, Value re, Value im) {
  llvm::SmallVector<int64_t> shape(typeOf(re).getShape());
  shape.push_back(1);
  FailureOr<Value> r = ctx.reshape(re, shape), i = ctx.reshape(im, shape);
  if (mlir::failed(r) || mlir::failed(i))
    return mlir::failure();
  return ctx.build<ConcatOp>(
      {*r, *i},
      {named(ctx, "axis", i64(ctx, static_cast<int64_t>(shape.size()) - 1))});
}

/// DFT (opset 17): along `axis` (default 1, not the last, which holds the
/// real and imaginary parts), of length dft_length (input 1, default the
/// axis's length).
FailureOr<Values> convertDFT(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank();
  int64_t axis = ctx.getInt("axis", 1);
  int64_t a = normalizeAxis(axis, rank);
  if (rank < 2 || a < 0 || a == rank - 1) {
    ctx.error(absl::StrCat("axis ", axis, " must name a signal axis of the ",
                           "rank-", rank, " input (not its last, which holds ",
                           "the real and imaginary parts)"));
    return mlir::failure();
  }
  int64_t length = t.getDimSize(a);
  // dft_length is checked to be at least 1 below; a DFT of the signal's
  // own length needs a signal (length 0 divided by zero sizing the
  // transform's matrix: the fuzzer found it).
  if (!ctx.input(1) && length == 0) {
    ctx.error(absl::StrCat("the signal axis ", axis,
                           " is empty: a DFT needs at least one element"));
    return mlir::failure();
  }
  if (ctx.input(1)) {
    FailureOr<int64_t> l = constantSize(ctx, 1, "dft_length", 1);
    if (mlir::failed(l))
      return mlir::failure();
    length = *l;
  }
  bool inverse = ctx.getInt("inverse", 0) != 0,
       onesided = ctx.getInt("onesided", 0) != 0;
  if (inverse && onesided) {
    ctx.error("an inverse DFT cannot be onesided");
    return mlir::failure();
  }
  FailureOr<std::pair<Value, Value>> parts = splitComplex(ctx, ctx.input(0));
  if (mlir::failed(parts))
    return mlir::failure();
  FailureOr<std::pair<Value, Value>> y =
      dft(ctx, parts->first, parts->second, a, length, onesided, inverse);
  if (mlir::failed(y))
    return mlir::failure();
  return one(joinComplex(ctx, y->first, y->second));
}

/// STFT: [batch, length, 1 or 2] -> [batch, frames, bins, 2], frames of
/// frame_length every frame_step samples, each times the window (input 2,
/// when given) before its DFT.
FailureOr<Values> convertSTFT(NodeContext &ctx) {
  auto t = ctx.type(0);
  if (t.getRank() != 3) {
    ctx.error("signal must be [batch, length, 1 or 2]");
    return mlir::failure();
  }
  FailureOr<int64_t> step = constantSize(ctx, 1, "frame_step", 1);
  if (mlir::failed(step))
    return mlir::failure();
  Value window = ctx.input(2);
  int64_t frameLength = window ? ctx.type(2).getNumElements() : 0;
  if (window && ctx.type(2).getRank() != 1) {
    ctx.error("window must be 1-D");
    return mlir::failure();
  }
  if (ctx.input(3)) {
    FailureOr<int64_t> l = constantSize(ctx, 3, "frame_length", 1);
    if (mlir::failed(l))
      return mlir::failure();
    if (window && *l != frameLength) {
      ctx.error(absl::StrCat("frame_length (", *l, ") differs from the ",
                             "window's length (", frameLength, ")"));
      return mlir::failure();
    }
    frameLength = *l;
  }
  int64_t samples = t.getDimSize(1);
  if (frameLength < 1 || frameLength > samples) {
    ctx.error(absl::StrCat("needs frame_length or a window, of at most the ",
                           "signal's length (", samples, ")"));
    return mlir::failure();
  }
  bool onesided = ctx.getInt("onesided", 1) != 0;
  if (onesided && t.getDimSize(2) == 2) {
    ctx.error("a complex signal cannot have a onesided STFT");
    return mlir::failure();
  }
  int64_t frames = (samples - frameLength) / *step + 1;
  std::vector<int64_t> positions(frames * frameLength);
  for (int64_t f = 0; f < frames; ++f)
    for (int64_t s = 0; s < frameLength; ++s)
      positions[f * frameLength + s] = f * *step + s;
  FailureOr<Value> framed = ctx.build<GatherOp>(
      {ctx.input(0), int64Constant(ctx, positions, {frames, frameLength})},
      {named(ctx, "axis", i64(ctx, 1))});
  if (mlir::failed(framed))
    return mlir::failure();
  if (window) {
    FailureOr<Value> w = ctx.reshape(window, {1, 1, frameLength, 1});
    if (mlir::succeeded(w))
      framed = ctx.build<MulOp>({*framed, *w});
    if (mlir::failed(framed))
      return mlir::failure();
  }
  FailureOr<std::pair<Value, Value>> parts = splitComplex(ctx, *framed);
  if (mlir::failed(parts))
    return mlir::failure();
  FailureOr<std::pair<Value, Value>> y =
      dft(ctx, parts->first, parts->second, 2, frameLength, onesided, false);
  if (mlir::failed(y))
    return mlir::failure();
  return one(joinComplex(ctx, y->first, y->second));
}

} // namespace

void RegisterSignalOnnxOps(OnnxRegistry &r) {
  r.onOp("HannWindow", 1, convertWindow<0>, 1, 1);
  r.onOp("HammingWindow", 1, convertWindow<1>, 1, 1);
  r.onOp("BlackmanWindow", 1, convertWindow<2>, 1, 1);
  r.onOp("MelWeightMatrix", 1, convertMelWeightMatrix, 5, 5);
  r.onOp("DFT", 1, convertDFT, 1, 2);
  r.onOp("STFT", 1, convertSTFT, 2, 4);
}

} // namespace kiln
