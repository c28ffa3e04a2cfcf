//===- onnx_ops_nn.cc - ONNX reductions, normalizations, pooling ----------===//
//
// Part of Kiln. Converters for ONNX's reductions (whose axes moved from an
// attribute to an input), Softmax's opset-13 change, the normalizations
// (decomposed into kiln arithmetic), global and max pooling, and TopK.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/str_cat.h"
#include "graph/onnx_ops.h"
#include "graph/op_table.h"

namespace kiln {

using mlir::FailureOr;
using mlir::Value;
using namespace onnx_ops;

namespace {

/// `axes` became an input in opset 13 (ReduceSum) or 18 (the others).
template <typename OpT, int Since, int FirstOpsetWithAxesInput>
FailureOr<Values> convertReduce(NodeContext &ctx) {
  auto axes = axesOf<Since, FirstOpsetWithAxesInput>(ctx);
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

/// The reductions ONNX defines as functions of others, built from them:
/// L1 = sum |x|, L2 = sqrt(sum x^2), SumSquare = sum x^2, LogSum =
/// log(sum x), LogSumExp = log(sum exp(x - max)) + max (the max taken out
/// so that exp cannot overflow). Axes as the reduction's opset gives them.
enum class Composite { kL1, kL2, kSumSquare, kLogSum, kLogSumExp };

template <Composite C, int Since>
FailureOr<Values> convertCompositeReduce(NodeContext &ctx) {
  auto axes = axesOf<Since, 18>(ctx);
  if (mlir::failed(axes))
    return mlir::failure();
  auto attrsWith = [&](int64_t keepdims) {
    llvm::SmallVector<mlir::NamedAttribute> attrs = {
        named(ctx, "keepdims", i64(ctx, keepdims)),
        named(ctx, "noop_with_empty_axes",
              i64(ctx, ctx.getInt("noop_with_empty_axes", 0)))};
    if (*axes)
      attrs.push_back(named(ctx, "axes", ints(ctx, **axes)));
    return attrs;
  };
  auto attrs = attrsWith(ctx.getInt("keepdims", 1));
  Value x = ctx.input(0);
  auto sumOf = [&](FailureOr<Value> v) -> FailureOr<Value> {
    if (mlir::failed(v))
      return mlir::failure();
    return ctx.build<ReduceSumOp>(*v, attrs);
  };
  switch (C) {
  case Composite::kL1:
    return one(sumOf(ctx.build<AbsOp>(x)));
  case Composite::kSumSquare:
    return one(sumOf(ctx.build<MulOp>({x, x})));
  case Composite::kL2: {
    FailureOr<Value> sum = sumOf(ctx.build<MulOp>({x, x}));
    if (mlir::failed(sum))
      return mlir::failure();
    return one(ctx.build<SqrtOp>(*sum));
  }
  case Composite::kLogSum: {
    FailureOr<Value> sum = ctx.build<ReduceSumOp>(x, attrs);
    if (mlir::failed(sum))
      return mlir::failure();
    return one(ctx.build<LogOp>(*sum));
  }
  case Composite::kLogSumExp: {
    FailureOr<Value> peak = ctx.build<ReduceMaxOp>(x, attrsWith(1));
    if (mlir::failed(peak))
      return mlir::failure();
    FailureOr<Value> shifted = ctx.build<SubOp>({x, *peak});
    if (mlir::failed(shifted))
      return mlir::failure();
    FailureOr<Value> sum = sumOf(ctx.build<ExpOp>(*shifted));
    FailureOr<Value> max = ctx.build<ReduceMaxOp>(x, attrs);
    if (mlir::failed(sum) || mlir::failed(max))
      return mlir::failure();
    FailureOr<Value> log = ctx.build<LogOp>(*sum);
    if (mlir::failed(log))
      return mlir::failure();
    return one(ctx.build<AddOp>({*log, *max}));
  }
  }
  return mlir::failure();
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

/// NegativeLogLikelihoodLoss as ONNX defines it, from kiln ops: loss[n,
/// d...] = -input[n, target[n, d...], d...] * weight[target], 0 where the
/// target is ignore_index; then no reduction, the sum, or the mean (the sum
/// over the sum of the weights taken, when there are weights or an
/// ignore_index). A target out of [0, C) that is not ignored fails the run
/// (GatherElements' run-time check).
FailureOr<Value> negativeLogLikelihood(NodeContext &ctx, Value input,
                                       Value target, Value weight) {
  auto inputType = mlir::cast<mlir::RankedTensorType>(input.getType());
  auto targetType = mlir::cast<mlir::RankedTensorType>(target.getType());
  std::string reduction = ctx.getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    ctx.error("unknown reduction '" + reduction + "' (none, sum or mean)");
    return mlir::failure();
  }
  if (inputType.getRank() < 2 ||
      targetType.getRank() != inputType.getRank() - 1) {
    ctx.error("expects input [N, C, d...] and target [N, d...]");
    return mlir::failure();
  }
  mlir::Type elem = inputType.getElementType();
  bool ignores = ctx.hasAttr("ignore_index");
  Value ignored; // bool [N, d...]: the target is ignore_index
  if (ignores) {
    FailureOr<Value> eq =
        ctx.build<EqualOp>({target, ctx.scalar(targetType.getElementType(),
                                               ctx.getInt("ignore_index", 0))});
    if (mlir::failed(eq))
      return mlir::failure();
    ignored = *eq;
    FailureOr<Value> safe = ctx.build<WhereOp>(
        {ignored, ctx.scalar(targetType.getElementType(), 0), target});
    if (mlir::failed(safe))
      return mlir::failure();
    target = *safe;
  }
  llvm::SmallVector<int64_t> unsqueezed(targetType.getShape());
  unsqueezed.insert(unsqueezed.begin() + 1, 1);
  FailureOr<Value> index = ctx.reshape(target, unsqueezed);
  if (mlir::failed(index))
    return mlir::failure();
  FailureOr<Value> picked = ctx.build<GatherElementsOp>(
      {input, *index}, {named(ctx, "axis", i64(ctx, 1))});
  if (mlir::failed(picked))
    return mlir::failure();
  FailureOr<Value> flat = ctx.reshape(*picked, targetType.getShape());
  if (mlir::failed(flat))
    return mlir::failure();
  FailureOr<Value> loss = ctx.build<NegOp>(*flat);
  if (mlir::failed(loss))
    return mlir::failure();
  Value weights; // [N, d...], or null for all ones
  if (weight) {
    FailureOr<Value> w = ctx.build<GatherOp>({weight, target});
    if (mlir::failed(w))
      return mlir::failure();
    weights = *w;
  }
  if (ignores) {
    FailureOr<Value> w =
        ctx.build<WhereOp>({ignored, ctx.scalar(elem, 0),
                            weights ? weights : ctx.scalar(elem, 1)});
    if (mlir::failed(w))
      return mlir::failure();
    weights = *w;
  }
  if (weights) {
    loss = ctx.build<MulOp>({*loss, weights});
    if (mlir::failed(loss))
      return mlir::failure();
  }
  if (reduction == "none")
    return loss;
  llvm::SmallVector<mlir::NamedAttribute> all = {
      named(ctx, "keepdims", i64(ctx, 0))};
  if (reduction == "mean" && !weights)
    return ctx.build<ReduceMeanOp>(*loss, all);
  FailureOr<Value> sum = ctx.build<ReduceSumOp>(*loss, all);
  if (reduction == "sum" || mlir::failed(sum))
    return sum;
  FailureOr<Value> total = ctx.build<ReduceSumOp>(weights, all);
  if (mlir::failed(total))
    return mlir::failure();
  return ctx.build<DivOp>({*sum, *total});
}

FailureOr<Values> convertNegativeLogLikelihoodLoss(NodeContext &ctx) {
  return one(
      negativeLogLikelihood(ctx, ctx.input(0), ctx.input(1), ctx.input(2)));
}

/// SoftmaxCrossEntropyLoss: the negative log-likelihood of LogSoftmax along
/// axis 1; the second output, when asked for, is that LogSoftmax.
FailureOr<Values> convertSoftmaxCrossEntropyLoss(NodeContext &ctx) {
  FailureOr<Value> logProb =
      ctx.build<LogSoftmaxOp>(ctx.input(0), {named(ctx, "axis", i64(ctx, 1))});
  if (mlir::failed(logProb))
    return mlir::failure();
  FailureOr<Value> loss =
      negativeLogLikelihood(ctx, *logProb, ctx.input(1), ctx.input(2));
  if (mlir::failed(loss))
    return mlir::failure();
  return Values{*loss, *logProb};
}

/// Before opset 13, Softmax and LogSoftmax flatten the input to 2-D at
/// `axis` (default 1) and normalize each row.
template <typename OpT, int Since>
FailureOr<Values> convertSoftmax(NodeContext &ctx) {
  auto t = ctx.type(0);
  if constexpr (Since >= 13)
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

/// Opset 10 moved `k` from an attribute to an input.
template <int Since> FailureOr<Values> convertTopK(NodeContext &ctx) {
  int64_t k;
  if constexpr (Since < 10) {
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

} // namespace

void RegisterNNOnnxOps(OnnxRegistry &r) {
  r.onOp("ReduceSum", 1, convertReduce<ReduceSumOp, 1, 13>, 1, 1);
  r.onOp("ReduceSum", 13, convertReduce<ReduceSumOp, 13, 13>, 1, 2);
  r.onOp("ReduceMean", 1, convertReduce<ReduceMeanOp, 1, 18>, 1, 1);
  r.onOp("ReduceMean", 18, convertReduce<ReduceMeanOp, 18, 18>, 1, 2);
  r.onOp("ReduceMax", 1, convertReduce<ReduceMaxOp, 1, 18>, 1, 1);
  r.onOp("ReduceMax", 18, convertReduce<ReduceMaxOp, 18, 18>, 1, 2);
  r.onOp("ReduceMin", 1, convertReduce<ReduceMinOp, 1, 18>, 1, 1);
  r.onOp("ReduceMin", 18, convertReduce<ReduceMinOp, 18, 18>, 1, 2);
  r.onOp("ReduceProd", 1, convertReduce<ReduceProdOp, 1, 18>, 1, 1);
  r.onOp("ReduceProd", 18, convertReduce<ReduceProdOp, 18, 18>, 1, 2);
  r.onOp("ReduceL1", 1, convertCompositeReduce<Composite::kL1, 1>, 1, 1);
  r.onOp("ReduceL1", 18, convertCompositeReduce<Composite::kL1, 18>, 1, 2);
  r.onOp("ReduceL2", 1, convertCompositeReduce<Composite::kL2, 1>, 1, 1);
  r.onOp("ReduceL2", 18, convertCompositeReduce<Composite::kL2, 18>, 1, 2);
  r.onOp("ReduceSumSquare", 1, convertCompositeReduce<Composite::kSumSquare, 1>,
         1, 1);
  r.onOp("ReduceSumSquare", 18,
         convertCompositeReduce<Composite::kSumSquare, 18>, 1, 2);
  r.onOp("ReduceLogSum", 1, convertCompositeReduce<Composite::kLogSum, 1>, 1,
         1);
  r.onOp("ReduceLogSum", 18, convertCompositeReduce<Composite::kLogSum, 18>, 1,
         2);
  r.onOp("ReduceLogSumExp", 1, convertCompositeReduce<Composite::kLogSumExp, 1>,
         1, 1);
  r.onOp("ReduceLogSumExp", 18,
         convertCompositeReduce<Composite::kLogSumExp, 18>, 1, 2);
  r.onOp("CumSum", 1, convertCumSum, 2, 2);
  r.onOp("Softmax", 1, convertSoftmax<SoftmaxOp, 1>, 1, 1);
  r.onOp("Softmax", 13, convertSoftmax<SoftmaxOp, 13>, 1, 1);
  r.onOp("LogSoftmax", 1, convertSoftmax<LogSoftmaxOp, 1>, 1, 1);
  r.onOp("LogSoftmax", 13, convertSoftmax<LogSoftmaxOp, 13>, 1, 1);
  r.onOp("BatchNormalization", 1, convertBatchNorm, 5, 5);
  r.onOp("InstanceNormalization", 1, convertInstanceNorm, 3, 3);
  r.onOp("LayerNormalization", 1, convertLayerNorm, 2, 3);
  r.onOp("GlobalAveragePool", 1, convertGlobalPool<ReduceMeanOp>, 1, 1);
  r.onOp("GlobalMaxPool", 1, convertGlobalPool<ReduceMaxOp>, 1, 1);
  r.onOp("MaxPool", 1, convertMaxPool, 1, 1, {"kernel_shape"});
  r.onOp("NegativeLogLikelihoodLoss", 1, convertNegativeLogLikelihoodLoss, 2,
         3);
  r.onOp("SoftmaxCrossEntropyLoss", 1, convertSoftmaxCrossEntropyLoss, 2, 3);
  r.onOp("TopK", 1, convertTopK<1>, 1, 1, {"k"});
  r.onOp("TopK", 10, convertTopK<10>, 2, 2);
}

namespace onnx_ops {

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

} // namespace onnx_ops

} // namespace kiln
