//===- onnx_ops_nn.cc - ONNX reductions, normalizations, pooling ----------===//
//
// Part of Kiln. Converters for ONNX's reductions (whose axes moved from an
// attribute to an input), Softmax's opset-13 change, the normalizations
// (decomposed into kiln arithmetic), global and max pooling, and TopK.
//
//===----------------------------------------------------------------------===//
#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "graph/importer.h"
#include "graph/onnx_ops.h"
#include "graph/op_table.h"
#include "mlir/IR/Matchers.h"

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
  // Integers (which ONNX allows) through float64 and back, truncated as
  // ONNX Runtime's static_cast does: sqrt, log and exp take floats.
  mlir::Type elem = ctx.type(0).getElementType();
  bool viaFloat = !mlir::isa<mlir::FloatType>(elem) &&
                  (C == Composite::kL2 || C == Composite::kLogSum ||
                   C == Composite::kLogSumExp);
  auto castTo = [&](Value v, mlir::Type to) {
    return ctx.build<CastOp>(v, {named(ctx, "to", mlir::TypeAttr::get(to))});
  };
  if (viaFloat) {
    FailureOr<Value> f = castTo(x, ctx.builder().getF64Type());
    if (mlir::failed(f))
      return mlir::failure();
    x = *f;
  }
  auto back = [&](FailureOr<Value> v) -> FailureOr<Values> {
    if (!viaFloat || mlir::failed(v))
      return one(v);
    return one(castTo(*v, elem));
  };
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
    return back(ctx.build<SqrtOp>(*sum));
  }
  case Composite::kLogSum: {
    FailureOr<Value> sum = ctx.build<ReduceSumOp>(x, attrs);
    if (mlir::failed(sum))
      return mlir::failure();
    return back(ctx.build<LogOp>(*sum));
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
    return back(ctx.build<AddOp>({*log, *max}));
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
/// (kiln.in_range).
/// "[3,4]".
std::string ShapeText(mlir::RankedTensorType type) {
  std::string out = "[";
  for (int64_t i = 0; i < type.getRank(); ++i)
    out += (i ? "," : "") + std::to_string(type.getDimSize(i));
  return out + "]";
}

FailureOr<Value> negativeLogLikelihood(NodeContext &ctx, Value input,
                                       Value target, Value weight) {
  auto inputType = mlir::cast<mlir::RankedTensorType>(input.getType());
  auto targetType = mlir::cast<mlir::RankedTensorType>(target.getType());
  std::string reduction = ctx.getString("reduction", "mean");
  if (reduction != "none" && reduction != "sum" && reduction != "mean") {
    ctx.error("unknown reduction '" + reduction + "' (none, sum or mean)");
    return mlir::failure();
  }
  llvm::SmallVector<int64_t> targetShape;
  if (inputType.getRank() >= 2) {
    targetShape.assign(inputType.getShape().begin(),
                       inputType.getShape().end());
    targetShape.erase(targetShape.begin() + 1);
  }
  if (inputType.getRank() < 2 ||
      targetType.getShape() != llvm::ArrayRef<int64_t>(targetShape)) {
    ctx.error("expects input [N, C, d...] and target [N, d...]; got input " +
              ShapeText(inputType) + " and target " + ShapeText(targetType));
    return mlir::failure();
  }
  const int64_t classes = inputType.getDimSize(1);
  if (weight) {
    auto weightType = mlir::cast<mlir::RankedTensorType>(weight.getType());
    if (weightType.getShape() != llvm::ArrayRef<int64_t>{classes}) {
      ctx.error("weight must be [" + std::to_string(classes) +
                "] (one per class), not " + ShapeText(weightType));
      return mlir::failure();
    }
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
  // ONNX wants classes in [0, C) (the GatherElements below would also take
  // negative ones, counting from the back).
  FailureOr<Value> checked = ctx.build<InRangeOp>(
      target, {named(ctx, "lower", i64(ctx, 0)),
               named(ctx, "upper", i64(ctx, classes - 1)),
               named(ctx, "what", ctx.builder().getStringAttr("target"))});
  if (mlir::failed(checked))
    return mlir::failure();
  target = *checked;
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

/// What an RNN, GRU or LSTM activation is called in ONNX (matched without
/// regard to case, as ONNX Runtime does), its default alpha and beta, and
/// which of them it reads from activation_alpha / activation_beta.
struct RecurrentActivation {
  const char *name;
  double alpha, beta;
  bool takesAlpha, takesBeta;
};
const RecurrentActivation *FindRecurrentActivation(const std::string &name) {
  static const RecurrentActivation kAll[] = {
      {"Relu", 0, 0, false, false},
      {"Tanh", 0, 0, false, false},
      {"Sigmoid", 0, 0, false, false},
      {"Affine", 1, 0, true, true},
      {"LeakyRelu", 0.01, 0, true, false},
      {"ThresholdedRelu", 1, 0, true, false},
      {"ScaledTanh", 1, 1, true, true},
      {"HardSigmoid", 0.2, 0.5, true, true},
      {"Elu", 1, 0, true, false},
      {"Softsign", 0, 0, false, false},
      {"Softplus", 0, 0, false, false},
  };
  for (const RecurrentActivation &a : kAll)
    if (absl::EqualsIgnoreCase(name, a.name))
      return &a;
  return nullptr;
}

/// ONNX RNN (Gates = 1), GRU (3) and LSTM (4), each direction a
/// kiln.recurrence: the input projection X W^T + Wb of every time step is
/// one MatMul (with W constant, its transpose folds), the recurrence a
/// loop over time. Outputs Y [seq, dirs, batch, H], Y_h and Y_c
/// [dirs, batch, H] (batch first with layout = 1).
template <int Gates> FailureOr<Values> convertRecurrent(NodeContext &ctx) {
  const char *cell = Gates == 1 ? "rnn" : Gates == 3 ? "gru" : "lstm";
  const size_t functions = Gates == 4 ? 3 : Gates == 3 ? 2 : 1;
  std::string direction = ctx.getString("direction", "forward");
  if (direction != "forward" && direction != "reverse" &&
      direction != "bidirectional") {
    ctx.error("direction must be forward, reverse or bidirectional, not '" +
              direction + "'");
    return mlir::failure();
  }
  const int64_t dirs = direction == "bidirectional" ? 2 : 1;
  const bool batchFirst = ctx.getInt("layout", 0) != 0;
  Value x = ctx.input(0), w = ctx.input(1), r = ctx.input(2);
  Value b = ctx.input(3), lens = ctx.input(4), h0 = ctx.input(5);
  Value c0 = Gates == 4 ? ctx.input(6) : Value();
  Value p = Gates == 4 ? ctx.input(7) : Value();
  auto xType = ctx.type(0), wType = ctx.type(1);
  if (xType.getRank() != 3 || wType.getRank() != 3 ||
      wType.getDimSize(0) != dirs || wType.getDimSize(1) % Gates != 0) {
    ctx.error(absl::StrCat("expects X of rank 3 and W [", dirs, ", ", Gates,
                           "*hidden_size, input_size]"));
    return mlir::failure();
  }
  const int64_t hidden = wType.getDimSize(1) / Gates;
  if (ctx.hasAttr("hidden_size") && ctx.getInt("hidden_size", 0) != hidden) {
    ctx.error(absl::StrCat("hidden_size is ", ctx.getInt("hidden_size", 0),
                           " but W holds ", Gates, " gates of ", hidden));
    return mlir::failure();
  }
  mlir::Type elem = xType.getElementType();
  auto build = [&](auto op, mlir::ValueRange operands,
                   llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    return ctx.build<decltype(op)>(operands, attrs);
  };
  auto transpose = [&](Value v, llvm::ArrayRef<int64_t> perm) {
    return build(TransposeOp(), v, {named(ctx, "perm", ints(ctx, perm))});
  };
  const int64_t batch = xType.getDimSize(batchFirst ? 0 : 1);
  if (ctx.getInt("layout", 0) != 0 && ctx.getInt("layout", 0) != 1) {
    ctx.error(
        absl::StrCat("layout must be 0 or 1, not ", ctx.getInt("layout", 0)));
    return mlir::failure();
  }
  if (ctx.hasAttr("clip") && !(ctx.getFloat("clip", 0) > 0)) {
    ctx.error(
        absl::StrCat("clip must be positive, not ", ctx.getFloat("clip", 0)));
    return mlir::failure();
  }
  // Each optional input's shape, named as ONNX names it.
  auto expectShape = [&](Value v, const char *what,
                         llvm::ArrayRef<int64_t> shape,
                         const char *meaning) -> bool {
    if (!v)
      return true;
    auto type = mlir::cast<mlir::RankedTensorType>(v.getType());
    if (type.getShape() == shape)
      return true;
    auto text = [](llvm::ArrayRef<int64_t> dims) {
      std::string out = "[";
      for (size_t i = 0; i < dims.size(); ++i)
        out += (i ? ", " : "") + std::to_string(dims[i]);
      return out + "]";
    };
    ctx.error(absl::StrCat(what, " must be ", text(shape), " (", meaning,
                           "), not ", text(type.getShape())));
    return false;
  };
  const int64_t inputSize = wType.getDimSize(2);
  const char *stateMeaning = batchFirst ? "batch, directions, hidden_size"
                                        : "directions, batch, hidden_size";
  llvm::SmallVector<int64_t> stateShape = {dirs, batch, hidden};
  if (batchFirst)
    stateShape = {batch, dirs, hidden};
  int64_t xInput =
      mlir::cast<mlir::RankedTensorType>(x.getType()).getDimSize(2);
  if (xInput != inputSize) {
    ctx.error(absl::StrCat("X has input size ", xInput, " but W expects ",
                           inputSize));
    return mlir::failure();
  }
  if (!expectShape(r, "R", {dirs, Gates * hidden, hidden},
                   "directions, gates x hidden_size, hidden_size") ||
      !expectShape(b, "B", {dirs, 2 * Gates * hidden},
                   "directions, 2 x gates x hidden_size") ||
      !expectShape(ctx.input(5), "initial_h", stateShape, stateMeaning) ||
      !expectShape(Gates == 4 ? ctx.input(6) : Value(), "initial_c", stateShape,
                   stateMeaning) ||
      !expectShape(p, "P", {dirs, 3 * hidden}, "directions, 3 x hidden_size") ||
      !expectShape(lens, "sequence_lens", {batch}, "batch"))
    return mlir::failure();
  if (lens && !mlir::isa<mlir::IntegerType>(
                  mlir::cast<mlir::RankedTensorType>(lens.getType())
                      .getElementType())) {
    ctx.error("sequence_lens must hold integers");
    return mlir::failure();
  }
  // Batch first: X [batch, seq, in], the states [batch, dirs, H].
  if (batchFirst) {
    for (Value *v : {&x, &h0, &c0}) {
      if (!*v)
        continue;
      FailureOr<Value> t = transpose(*v, {1, 0, 2});
      if (mlir::failed(t))
        return mlir::failure();
      *v = *t;
    }
  }
  // The activations of each direction, with their alphas and betas.
  std::vector<std::string> names;
  if (auto given = ctx.getStrings("activations"))
    names = *given;
  else
    for (int64_t d = 0; d < dirs; ++d)
      for (const char *n :
           Gates == 1   ? std::vector<const char *>{"Tanh"}
           : Gates == 3 ? std::vector<const char *>{"Sigmoid", "Tanh"}
                        : std::vector<const char *>{"Sigmoid", "Tanh", "Tanh"})
        names.push_back(n);
  if (names.size() != functions * dirs) {
    ctx.error(absl::StrCat("activations lists ", names.size(), " functions; a ",
                           direction, " ", cell, " takes ", functions * dirs));
    return mlir::failure();
  }
  std::vector<float> alphaList, betaList;
  if (auto a = ctx.getFloats("activation_alpha"))
    alphaList = *a;
  if (auto a = ctx.getFloats("activation_beta"))
    betaList = *a;
  size_t nextAlpha = 0, nextBeta = 0;
  llvm::SmallVector<mlir::Attribute> actNames, alphas, betas;
  for (const std::string &n : names) {
    const RecurrentActivation *a = FindRecurrentActivation(n);
    if (!a) {
      ctx.unsupported("activation '" + n + "'");
      return mlir::failure();
    }
    double alpha = a->alpha, beta = a->beta;
    if (a->takesAlpha && nextAlpha < alphaList.size())
      alpha = alphaList[nextAlpha++];
    if (a->takesBeta && nextBeta < betaList.size())
      beta = betaList[nextBeta++];
    actNames.push_back(ctx.builder().getStringAttr(a->name));
    alphas.push_back(ctx.builder().getF64FloatAttr(alpha));
    betas.push_back(ctx.builder().getF64FloatAttr(beta));
  }
  auto zeros = [&](llvm::ArrayRef<int64_t> shape) {
    auto type = mlir::RankedTensorType::get(shape, elem);
    return ctx.constant(
        mlir::DenseElementsAttr::get(type, ctx.builder().getZeroAttr(elem)));
  };
  // Slice [d] of a per-direction tensor, without that axis; columns
  // [from, from + size) of its last axis when size > 0.
  auto direction_slice = [&](Value v, int64_t d, int64_t from = 0,
                             int64_t size = 0) -> FailureOr<Value> {
    auto type = mlir::cast<mlir::RankedTensorType>(v.getType());
    int64_t last = type.getRank() - 1;
    // A constant's direction is a contiguous block of its bytes: cut it
    // here, whatever its size (a Slice folds only small tensors).
    mlir::DenseElementsAttr constant;
    if (size == 0 && mlir::matchPattern(v, mlir::m_Constant(&constant)) &&
        !type.getElementType().isInteger(1)) {
      auto sliceType = mlir::RankedTensorType::get(type.getShape().drop_front(),
                                                   type.getElementType());
      if (constant.isSplat())
        return ctx.constant(constant.resizeSplat(sliceType));
      llvm::ArrayRef<char> raw = constant.getRawData();
      size_t bytes = raw.size() / type.getDimSize(0);
      return ctx.constant(mlir::DenseElementsAttr::getFromRawBuffer(
          sliceType, raw.slice(d * bytes, bytes)));
    }
    llvm::SmallVector<int64_t> starts = {d}, ends = {d + 1}, axes = {0};
    if (size > 0) {
      starts.push_back(from);
      ends.push_back(from + size);
      axes.push_back(last);
    }
    FailureOr<Value> s = build(SliceOp(), v,
                               {named(ctx, "starts", ints(ctx, starts)),
                                named(ctx, "ends", ints(ctx, ends)),
                                named(ctx, "axes", ints(ctx, axes))});
    if (mlir::failed(s))
      return mlir::failure();
    llvm::SmallVector<int64_t> shape(
        mlir::cast<mlir::RankedTensorType>(s->getType())
            .getShape()
            .drop_front());
    return ctx.reshape(*s, shape);
  };
  const int64_t gh = Gates * hidden;
  Values ys, yhs, ycs;
  for (int64_t d = 0; d < dirs; ++d) {
    FailureOr<Value> wd = direction_slice(w, d), rd = direction_slice(r, d);
    if (mlir::failed(wd) || mlir::failed(rd))
      return mlir::failure();
    FailureOr<Value> wt = transpose(*wd, {1, 0});
    if (mlir::failed(wt))
      return mlir::failure();
    FailureOr<Value> xw = build(MatMulOp(), {x, *wt});
    if (mlir::failed(xw))
      return mlir::failure();
    Value rb = zeros({gh});
    if (b) {
      FailureOr<Value> wb = direction_slice(b, d, 0, gh),
                       rbd = direction_slice(b, d, gh, gh);
      if (mlir::failed(wb) || mlir::failed(rbd))
        return mlir::failure();
      xw = build(AddOp(), {*xw, *wb});
      if (mlir::failed(xw))
        return mlir::failure();
      rb = *rbd;
    }
    auto state = [&](Value given, int64_t size0,
                     int64_t size1) -> FailureOr<Value> {
      if (!given)
        return size1 ? zeros({size0, size1}) : zeros({size0});
      return direction_slice(given, d);
    };
    FailureOr<Value> hd = state(h0, batch, hidden),
                     cd = state(c0, batch, hidden),
                     pd = state(p, 3 * hidden, 0);
    if (mlir::failed(hd) || mlir::failed(cd) || mlir::failed(pd))
      return mlir::failure();
    bool reverse = direction == "reverse" || d == 1;
    llvm::SmallVector<mlir::NamedAttribute> attrs = {
        named(ctx, "cell", ctx.builder().getStringAttr(cell)),
        named(ctx, "activations",
              ctx.builder().getArrayAttr(
                  llvm::ArrayRef(actNames).slice(d * functions, functions))),
        named(ctx, "activation_alpha",
              ctx.builder().getArrayAttr(
                  llvm::ArrayRef(alphas).slice(d * functions, functions))),
        named(ctx, "activation_beta",
              ctx.builder().getArrayAttr(
                  llvm::ArrayRef(betas).slice(d * functions, functions))),
        named(ctx, "reverse", ctx.builder().getBoolAttr(reverse)),
        named(ctx, "input_forget", i64(ctx, ctx.getInt("input_forget", 0))),
        named(ctx, "linear_before_reset",
              i64(ctx, ctx.getInt("linear_before_reset", 0)))};
    if (ctx.hasAttr("clip"))
      attrs.push_back(named(
          ctx, "clip", ctx.builder().getF64FloatAttr(ctx.getFloat("clip", 0))));
    // R^T: the recurrence reads it along its rows (a constant R folds).
    FailureOr<Value> rt = transpose(*rd, {1, 0});
    if (mlir::failed(rt))
      return mlir::failure();
    llvm::SmallVector<Value> operands = {*xw, *rt, rb, *hd, *cd, *pd};
    if (lens)
      operands.push_back(lens);
    FailureOr<Values> rec = ctx.buildAll<RecurrenceOp>(operands, attrs);
    if (mlir::failed(rec))
      return mlir::failure();
    int64_t seq = xType.getDimSize(batchFirst ? 1 : 0);
    FailureOr<Value> y = ctx.reshape((*rec)[0], {seq, 1, batch, hidden});
    FailureOr<Value> yh = ctx.reshape((*rec)[1], {1, batch, hidden});
    FailureOr<Value> yc = ctx.reshape((*rec)[2], {1, batch, hidden});
    if (mlir::failed(y) || mlir::failed(yh) || mlir::failed(yc))
      return mlir::failure();
    ys.push_back(*y);
    yhs.push_back(*yh);
    ycs.push_back(*yc);
  }
  Values outputs;
  for (auto [parts, axis] :
       {std::pair{&ys, int64_t{1}}, {&yhs, int64_t{0}}, {&ycs, int64_t{0}}}) {
    FailureOr<Value> joined =
        parts->size() == 1
            ? FailureOr<Value>((*parts)[0])
            : build(ConcatOp(), *parts, {named(ctx, "axis", i64(ctx, axis))});
    if (mlir::failed(joined))
      return mlir::failure();
    outputs.push_back(*joined);
  }
  if (batchFirst) {
    FailureOr<Value> y = transpose(outputs[0], {2, 0, 1, 3});
    FailureOr<Value> yh = transpose(outputs[1], {1, 0, 2});
    FailureOr<Value> yc = transpose(outputs[2], {1, 0, 2});
    if (mlir::failed(y) || mlir::failed(yh) || mlir::failed(yc))
      return mlir::failure();
    outputs = {*y, *yh, *yc};
  }
  if (Gates != 4)
    outputs.pop_back();
  return outputs;
}

/// Hardmax: 1 where the first maximum along the axis is, 0 elsewhere;
/// before opset 13 along the input flattened to 2-D at `axis` (default 1),
/// as Softmax.
template <int Since> FailureOr<Values> convertHardmax(NodeContext &ctx) {
  auto t = ctx.type(0);
  Value x = ctx.input(0);
  int64_t axis = ctx.getInt("axis", Since >= 13 ? -1 : 1);
  int64_t rank = t.getRank();
  if (Since >= 13 && rank == 0) {
    ctx.error("expects an input of rank 1 or more, not a scalar");
    return mlir::failure();
  }
  if (normalizeAxis(axis, std::max<int64_t>(rank, 1)) < 0) {
    ctx.error(absl::StrCat("axis ", axis, " is out of range for rank ", rank));
    return mlir::failure();
  }
  if constexpr (Since < 13) {
    axis = normalizeAxis(axis, rank);
    int64_t rows = 1, cols = 1;
    for (int64_t d = 0; d < rank; ++d)
      (d < axis ? rows : cols) *= t.getDimSize(d);
    FailureOr<Value> flat = ctx.reshape(x, {rows, cols});
    if (mlir::failed(flat))
      return mlir::failure();
    x = *flat;
    axis = 1;
    rank = 2;
  }
  axis = normalizeAxis(axis, rank);
  auto xType = mlir::cast<mlir::RankedTensorType>(x.getType());
  FailureOr<Value> arg =
      ctx.build<ArgMaxOp>(x, {named(ctx, "axis", i64(ctx, axis)),
                              named(ctx, "keepdims", i64(ctx, 1)),
                              named(ctx, "select_last_index", i64(ctx, 0))});
  int64_t n = xType.getDimSize(axis);
  std::vector<int64_t> positions(n);
  for (int64_t i = 0; i < n; ++i)
    positions[i] = i;
  llvm::SmallVector<int64_t> rangeShape(rank, 1);
  rangeShape[axis] = n;
  if (mlir::failed(arg))
    return mlir::failure();
  FailureOr<Value> range =
      ctx.reshape(int64Constant(ctx, positions, {n}), rangeShape);
  if (mlir::failed(range))
    return mlir::failure();
  FailureOr<Value> hot = ctx.build<EqualOp>({*arg, *range});
  if (mlir::failed(hot))
    return mlir::failure();
  mlir::Type elem = xType.getElementType();
  FailureOr<Value> y =
      ctx.build<WhereOp>({*hot, ctx.scalar(elem, 1), ctx.scalar(elem, 0)});
  if (mlir::failed(y) || Since >= 13)
    return one(y);
  return one(ctx.reshape(*y, t.getShape()));
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

/// BatchNormalization. In training mode (training_mode = 1 from opset 14,
/// more than one output before) Y is normalized with the batch's own mean
/// and (population) variance, and the running mean and variance come out
/// updated with `momentum`.
template <int Since> FailureOr<Values> convertBatchNorm(NodeContext &ctx) {
  int outputs = ctx.node().output_size();
  bool training =
      Since >= 14 ? ctx.getInt("training_mode", 0) != 0 : outputs > 1;
  if (outputs > 3) {
    ctx.unsupported("saved_mean and saved_var (training internals of "
                    "opsets before 14) are not supported");
    return mlir::failure();
  }
  if (!training && outputs > 1) {
    ctx.error("running_mean and running_var are outputs of training mode "
              "only (training_mode = 1)");
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
  double epsilon = ctx.getFloat("epsilon", 1e-5f);
  if (!training)
    return one(normalize(ctx, ctx.input(0), params[2], params[3], params[0],
                         params[1], epsilon));
  Value x = ctx.input(0);
  mlir::Type elem = ctx.type(0).getElementType();
  llvm::SmallVector<int64_t> axes = {0};
  for (int64_t d = 2; d < rank; ++d)
    axes.push_back(d);
  FailureOr<std::pair<Value, Value>> stats = moments(ctx, x, axes);
  if (mlir::failed(stats))
    return mlir::failure();
  auto [mean, var] = *stats;
  FailureOr<Value> y =
      normalize(ctx, x, mean, var, params[0], params[1], epsilon);
  if (mlir::failed(y))
    return mlir::failure();
  Values results = {*y};
  // running = given * momentum + batch * (1 - momentum), shaped [C].
  double momentum = ctx.getFloat("momentum", 0.9f);
  int64_t channels = ctx.type(0).getDimSize(1);
  for (auto [given, batch] :
       {std::pair{ctx.input(3), mean}, std::pair{ctx.input(4), var}}) {
    if (static_cast<int>(results.size()) == outputs)
      break;
    FailureOr<Value> flat = ctx.reshape(batch, {channels});
    FailureOr<Value> kept =
        ctx.build<MulOp>({given, ctx.scalar(elem, momentum)});
    if (mlir::failed(flat) || mlir::failed(kept))
      return mlir::failure();
    FailureOr<Value> added =
        ctx.build<MulOp>({*flat, ctx.scalar(elem, 1.0 - momentum)});
    if (mlir::succeeded(added))
      added = ctx.build<AddOp>({*kept, *added});
    if (mlir::failed(added))
      return mlir::failure();
    results.push_back(*added);
  }
  return results;
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

/// A bool constant of `shape`.
Value boolConstant(NodeContext &ctx, llvm::ArrayRef<bool> values,
                   llvm::ArrayRef<int64_t> shape) {
  auto type = mlir::RankedTensorType::get(shape, ctx.builder().getI1Type());
  return ctx.constant(mlir::DenseElementsAttr::get(type, values));
}

/// MaxPool's Indices output: for each window, the flat index into X
/// (over N, C and the spatial axes; the spatial part row-major, or
/// column-major with storage_order 1) of the first position, in the
/// window's scan order, that holds the pooled maximum `y`. Built per kernel
/// offset: the strided slice of X under that offset is compared with `y`,
/// and the first match (among positions inside X) wins.
FailureOr<Value> maxPoolIndices(NodeContext &ctx, Value y) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank(), spatial = rank - 2;
  llvm::ArrayRef<int64_t> in = t.getShape().drop_front(2);
  std::optional<llvm::SmallVector<int64_t>> kernel =
      ctx.getInts("kernel_shape");
  std::optional<llvm::SmallVector<int64_t>> strides = ctx.getInts("strides"),
                                            dilations =
                                                ctx.getInts("dilations"),
                                            pads = ctx.getInts("pads");
  auto opt = [](const std::optional<llvm::SmallVector<int64_t>> &v)
      -> std::optional<llvm::ArrayRef<int64_t>> {
    if (!v)
      return std::nullopt;
    return llvm::ArrayRef<int64_t>(*v);
  };
  if (!kernel)
    return mlir::failure(); // reported by the table conversion
  mlir::FailureOr<WindowGeometry> g = computeWindows(
      ctx.loc(), in, *kernel, opt(strides), opt(dilations), opt(pads),
      ctx.getString("auto_pad", "NOTSET"), ctx.getInt("ceil_mode", 0) != 0);
  if (mlir::failed(g))
    return mlir::failure();
  bool columnMajor = ctx.getInt("storage_order", 0) != 0;
  // The flat spatial index of a position, in storage order.
  llvm::SmallVector<int64_t> stride(spatial, 1);
  for (int64_t i = 0; i < spatial; ++i)
    for (int64_t j = 0; j < spatial; ++j)
      if (columnMajor ? j < i : j > i)
        stride[i] *= in[j];
  int64_t outCount = 1, kernelCount = 1, inCount = 1;
  for (int64_t i = 0; i < spatial; ++i) {
    outCount *= g->output[i];
    kernelCount *= g->kernel[i];
    inCount *= in[i];
  }
  // Pad X so that every window's slice lies inside; what the padding
  // holds does not matter, since only positions inside X may match.
  llvm::SmallVector<int64_t> padding(2 * rank, 0);
  for (int64_t i = 0; i < spatial; ++i) {
    int64_t reach = (g->output[i] - 1) * g->strides[i] +
                    (g->kernel[i] - 1) * g->dilations[i] + 1;
    padding[2 + i] = g->padBegin[i];
    padding[rank + 2 + i] =
        std::max<int64_t>(reach - in[i] - g->padBegin[i], 0);
  }
  FailureOr<Value> x =
      ctx.build<PadOp>(ctx.input(0), {named(ctx, "pads", ints(ctx, padding))});
  if (mlir::failed(x))
    return mlir::failure();
  llvm::SmallVector<int64_t> outShape = {1, 1};
  outShape.append(g->output.begin(), g->output.end());
  llvm::SmallVector<int64_t> axes;
  for (int64_t i = 0; i < spatial; ++i)
    axes.push_back(2 + i);
  auto i64Type = ctx.builder().getIntegerType(64);
  Value index = ctx.scalar(i64Type, 0);
  Value found = boolConstant(ctx, {false}, {});
  bool isNaNable = mlir::isa<mlir::FloatType>(t.getElementType());
  Value yNaN;
  if (isNaNable) {
    FailureOr<Value> same = ctx.build<EqualOp>({y, y});
    if (mlir::succeeded(same))
      same = ctx.build<NotOp>(*same);
    if (mlir::failed(same))
      return mlir::failure();
    yNaN = *same;
  }
  for (int64_t k = 0; k < kernelCount; ++k) {
    // Kernel offset k, the last axis fastest.
    llvm::SmallVector<int64_t> offset(spatial);
    for (int64_t i = spatial - 1, rest = k; i >= 0; --i) {
      offset[i] = rest % g->kernel[i];
      rest /= g->kernel[i];
    }
    llvm::SmallVector<bool> valid(outCount);
    std::vector<int64_t> position(outCount);
    bool any = false;
    for (int64_t o = 0; o < outCount; ++o) {
      bool inside = true;
      int64_t flat = 0;
      for (int64_t i = spatial - 1, rest = o; i >= 0; --i) {
        int64_t oi = rest % g->output[i];
        rest /= g->output[i];
        int64_t p =
            oi * g->strides[i] + offset[i] * g->dilations[i] - g->padBegin[i];
        inside = inside && p >= 0 && p < in[i];
        flat += p * stride[i];
      }
      valid[o] = inside;
      position[o] = inside ? flat : 0;
      any = any || inside;
    }
    if (!any)
      continue;
    llvm::SmallVector<int64_t> starts, ends;
    for (int64_t i = 0; i < spatial; ++i) {
      starts.push_back(offset[i] * g->dilations[i]);
      ends.push_back(starts.back() + (g->output[i] - 1) * g->strides[i] + 1);
    }
    FailureOr<Value> window =
        ctx.build<SliceOp>(*x, {named(ctx, "starts", ints(ctx, starts)),
                                named(ctx, "ends", ints(ctx, ends)),
                                named(ctx, "axes", ints(ctx, axes)),
                                named(ctx, "steps", ints(ctx, g->strides))});
    if (mlir::failed(window))
      return mlir::failure();
    FailureOr<Value> hit = ctx.build<EqualOp>({*window, y});
    if (mlir::succeeded(hit) && isNaNable) {
      // The pooled maximum is NaN where the window holds one: the first
      // NaN is its position.
      FailureOr<Value> windowNaN = ctx.build<EqualOp>({*window, *window});
      if (mlir::succeeded(windowNaN))
        windowNaN = ctx.build<NotOp>(*windowNaN);
      if (mlir::succeeded(windowNaN))
        windowNaN = ctx.build<AndOp>({*windowNaN, yNaN});
      if (mlir::succeeded(windowNaN))
        hit = ctx.build<OrOp>({*hit, *windowNaN});
      else
        return mlir::failure();
    }
    if (mlir::succeeded(hit))
      hit = ctx.build<AndOp>({*hit, boolConstant(ctx, valid, outShape)});
    FailureOr<Value> fresh = ctx.build<NotOp>(found);
    if (mlir::succeeded(hit) && mlir::succeeded(fresh))
      hit = ctx.build<AndOp>({*hit, *fresh});
    if (mlir::failed(hit))
      return mlir::failure();
    FailureOr<Value> next = ctx.build<WhereOp>(
        {*hit, int64Constant(ctx, position, outShape), index});
    FailureOr<Value> seen = ctx.build<OrOp>({found, *hit});
    if (mlir::failed(next) || mlir::failed(seen))
      return mlir::failure();
    index = *next;
    found = *seen;
  }
  // Plus (n * C + c) times the spatial size.
  int64_t n = t.getDimSize(0), c = t.getDimSize(1);
  std::vector<int64_t> base(n * c);
  for (int64_t i = 0; i < n * c; ++i)
    base[i] = i * inCount;
  llvm::SmallVector<int64_t> baseShape = {n, c};
  baseShape.append(spatial, 1);
  return ctx.build<AddOp>({index, int64Constant(ctx, base, baseShape)});
}

FailureOr<Values> convertMaxPool(NodeContext &ctx) {
  // storage_order only affects Indices.
  FailureOr<Values> y =
      ConvertWithTable(ctx, *LookupOp("MaxPool"), {"storage_order"});
  if (mlir::failed(y) || ctx.node().output_size() < 2 ||
      ctx.node().output(1).empty())
    return y;
  FailureOr<Value> indices = maxPoolIndices(ctx, (*y)[0]);
  if (mlir::failed(indices))
    return mlir::failure();
  y->push_back(*indices);
  return y;
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

/// MaxUnpool: zeros of the output's shape with each X element written at
/// its flat index (MaxPool's Indices: into the whole tensor, row-major).
/// The output's spatial size is output_shape (input 2, a constant) when
/// given, else (in - 1) * stride + kernel - pads on each spatial axis.
FailureOr<Values> convertMaxUnpool(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t rank = t.getRank(), spatial = std::max<int64_t>(rank - 2, 0);
  std::optional<llvm::SmallVector<int64_t>> kernel =
      ctx.getInts("kernel_shape");
  llvm::SmallVector<int64_t> strides(spatial, 1), pads(2 * spatial, 0);
  if (auto given = ctx.getInts("strides"))
    strides = *given;
  if (auto given = ctx.getInts("pads"))
    pads = *given;
  if (rank < 3 || !kernel || static_cast<int64_t>(kernel->size()) != spatial ||
      static_cast<int64_t>(strides.size()) != spatial ||
      static_cast<int64_t>(pads.size()) != 2 * spatial) {
    ctx.error("expects X [N, C, spatial...] and kernel_shape, strides and "
              "pads (begins, then ends) for each spatial axis");
    return mlir::failure();
  }
  if (ctx.type(1).getShape() != t.getShape()) {
    ctx.error(absl::StrCat("I is ", TypeString(ctx.type(1)),
                           "; it must have X's shape ", TypeString(t)));
    return mlir::failure();
  }
  llvm::SmallVector<int64_t> shape = {t.getDimSize(0), t.getDimSize(1)};
  FailureOr<std::optional<std::vector<double>>> given =
      ctx.constantDoubles(2, "output_shape");
  if (mlir::failed(given))
    return mlir::failure();
  if (*given) {
    if (static_cast<int64_t>((*given)->size()) != rank ||
        (**given)[0] != static_cast<double>(shape[0]) ||
        (**given)[1] != static_cast<double>(shape[1])) {
      ctx.error(absl::StrCat("output_shape must have ", rank,
                             " entries and keep X's N and C"));
      return mlir::failure();
    }
    for (int64_t d = 0; d < spatial; ++d)
      shape.push_back(static_cast<int64_t>((**given)[2 + d]));
  } else {
    for (int64_t d = 0; d < spatial; ++d)
      shape.push_back((t.getDimSize(2 + d) - 1) * strides[d] + (*kernel)[d] -
                      pads[d] - pads[spatial + d]);
  }
  int64_t total = 1;
  for (int64_t n : shape) {
    if (n < 1) {
      ctx.error("the output would have a dimension smaller than 1");
      return mlir::failure();
    }
    total *= n;
  }
  auto zerosType = mlir::RankedTensorType::get({total}, t.getElementType());
  Value zeros = ctx.constant(mlir::DenseElementsAttr::get(
      zerosType, ctx.builder().getZeroAttr(t.getElementType())));
  FailureOr<Value> values = ctx.reshape(ctx.input(0), {t.getNumElements()});
  // MaxPool's indices are positions in [0, total); ONNX Runtime refuses
  // others (the ScatterElements alone would take negative ones too).
  FailureOr<Value> at = ctx.build<InRangeOp>(
      ctx.input(1), {named(ctx, "lower", i64(ctx, 0)),
                     named(ctx, "upper", i64(ctx, total - 1)),
                     named(ctx, "what", ctx.builder().getStringAttr("index"))});
  if (mlir::succeeded(at))
    at = ctx.reshape(*at, {t.getNumElements()});
  if (mlir::failed(values) || mlir::failed(at))
    return mlir::failure();
  FailureOr<Value> flat = ctx.build<ScatterElementsOp>(
      {zeros, *at, *values}, {named(ctx, "axis", i64(ctx, 0))});
  if (mlir::failed(flat))
    return mlir::failure();
  return one(ctx.reshape(*flat, shape));
}

/// LRN: x / (bias + alpha / size * sum of x^2 over the channels
/// [c - floor((size - 1) / 2), c + ceil((size - 1) / 2)])^beta; the sum is
/// taken over shifted slices of the squares, zero-padded along C.
FailureOr<Values> convertLRN(NodeContext &ctx) {
  auto t = ctx.type(0);
  int64_t size = ctx.getInt("size", 0);
  if (t.getRank() < 3 || size < 1) {
    ctx.error("expects X [N, C, spatial...] and a size of at least 1");
    return mlir::failure();
  }
  mlir::Type elem = t.getElementType();
  int64_t rank = t.getRank(), channels = t.getDimSize(1);
  Value x = ctx.input(0);
  FailureOr<Value> square = ctx.build<MulOp>({x, x});
  if (mlir::failed(square))
    return mlir::failure();
  llvm::SmallVector<int64_t> pads(2 * rank, 0);
  pads[1] = (size - 1) / 2;
  pads[rank + 1] = size - 1 - pads[1];
  FailureOr<Value> padded =
      ctx.build<PadOp>(*square, {named(ctx, "pads", ints(ctx, pads))});
  if (mlir::failed(padded))
    return mlir::failure();
  Value sum;
  for (int64_t k = 0; k < size; ++k) {
    FailureOr<Value> window = ctx.build<SliceOp>(
        *padded, {named(ctx, "starts", ints(ctx, {k})),
                  named(ctx, "ends", ints(ctx, {k + channels})),
                  named(ctx, "axes", ints(ctx, {1}))});
    if (mlir::failed(window))
      return mlir::failure();
    FailureOr<Value> next =
        sum ? ctx.build<AddOp>({sum, *window}) : FailureOr<Value>(*window);
    if (mlir::failed(next))
      return mlir::failure();
    sum = *next;
  }
  double alpha = ctx.getFloat("alpha", 1e-4f),
         beta = ctx.getFloat("beta", 0.75f), bias = ctx.getFloat("bias", 1.0f);
  FailureOr<Value> d = ctx.build<MulOp>(
      {sum, ctx.scalar(elem, alpha / static_cast<double>(size))});
  if (mlir::succeeded(d))
    d = ctx.build<AddOp>({*d, ctx.scalar(elem, bias)});
  if (mlir::succeeded(d))
    d = ctx.build<PowOp>({*d, ctx.scalar(elem, beta)});
  if (mlir::failed(d))
    return mlir::failure();
  return one(ctx.build<DivOp>({x, *d}));
}

/// MeanVarianceNormalization, as ONNX's function body computes it:
/// (x - E[x]) / (sqrt(E[x^2] - E[x]^2) + 1e-9), over `axes` (default
/// [0, 2, 3]).
FailureOr<Values> convertMeanVarianceNormalization(NodeContext &ctx) {
  auto t = ctx.type(0);
  llvm::SmallVector<int64_t> axes = {0, 2, 3};
  if (std::optional<llvm::SmallVector<int64_t>> given = ctx.getInts("axes"))
    axes = *given;
  for (int64_t a : axes)
    if (normalizeAxis(a, t.getRank()) < 0) {
      ctx.error(
          absl::StrCat("axis ", a, " is out of range for rank ", t.getRank()));
      return mlir::failure();
    }
  mlir::Type elem = t.getElementType();
  Value x = ctx.input(0);
  llvm::SmallVector<mlir::NamedAttribute> attrs = {
      named(ctx, "axes", ints(ctx, axes)), named(ctx, "keepdims", i64(ctx, 1))};
  FailureOr<Value> mean = ctx.build<ReduceMeanOp>(x, attrs);
  FailureOr<Value> square = ctx.build<MulOp>({x, x});
  if (mlir::failed(mean) || mlir::failed(square))
    return mlir::failure();
  FailureOr<Value> meanOfSquares = ctx.build<ReduceMeanOp>(*square, attrs);
  FailureOr<Value> squaredMean = ctx.build<MulOp>({*mean, *mean});
  if (mlir::failed(meanOfSquares) || mlir::failed(squaredMean))
    return mlir::failure();
  FailureOr<Value> std = ctx.build<SubOp>({*meanOfSquares, *squaredMean});
  if (mlir::succeeded(std))
    std = ctx.build<SqrtOp>(*std);
  if (mlir::succeeded(std))
    std = ctx.build<AddOp>({*std, ctx.scalar(elem, 1e-9)});
  FailureOr<Value> centered = ctx.build<SubOp>({x, *mean});
  if (mlir::failed(std) || mlir::failed(centered))
    return mlir::failure();
  return one(ctx.build<DivOp>({*centered, *std}));
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
  r.onOp("BatchNormalization", 1, convertBatchNorm<1>, 5, 5);
  r.onOp("BatchNormalization", 14, convertBatchNorm<14>, 5, 5);
  r.onOp("InstanceNormalization", 1, convertInstanceNorm, 3, 3);
  r.onOp("LayerNormalization", 1, convertLayerNorm, 2, 3);
  r.onOp("LRN", 1, convertLRN, 1, 1, {"size"});
  r.onOp("MeanVarianceNormalization", 1, convertMeanVarianceNormalization, 1,
         1);
  r.onOp("GlobalAveragePool", 1, convertGlobalPool<ReduceMeanOp>, 1, 1);
  r.onOp("GlobalMaxPool", 1, convertGlobalPool<ReduceMaxOp>, 1, 1);
  r.onOp("MaxPool", 1, convertMaxPool, 1, 1, {"kernel_shape"});
  r.onOp("MaxUnpool", 1, convertMaxUnpool, 2, 3, {"kernel_shape"});
  r.onOp("NegativeLogLikelihoodLoss", 1, convertNegativeLogLikelihoodLoss, 2,
         3);
  r.onOp("SoftmaxCrossEntropyLoss", 1, convertSoftmaxCrossEntropyLoss, 2, 3);
  r.onOp("RNN", 1, convertRecurrent<1>, 3, 6);
  r.onOp("GRU", 1, convertRecurrent<3>, 3, 6);
  r.onOp("LSTM", 1, convertRecurrent<4>, 3, 8);
  r.onOp("Hardmax", 1, convertHardmax<1>, 1, 1);
  r.onOp("Hardmax", 13, convertHardmax<13>, 1, 1);
  r.onOp("TopK", 1, convertTopK<1>, 1, 1, {"k"});
  r.onOp("TopK", 10, convertTopK<10>, 2, 2);
}

namespace onnx_ops {

Value floatConstant(NodeContext &ctx, mlir::Type elem,
                    llvm::ArrayRef<double> values,
                    llvm::ArrayRef<int64_t> shape) {
  auto type = mlir::RankedTensorType::get(shape, elem);
  if (auto intType = mlir::dyn_cast<mlir::IntegerType>(elem)) {
    llvm::SmallVector<llvm::APInt> ints;
    for (double v : values)
      ints.emplace_back(intType.getWidth(),
                        static_cast<uint64_t>(std::llround(v)),
                        /*isSigned=*/true);
    return ctx.constant(mlir::DenseElementsAttr::get(type, ints));
  }
  auto floatType = mlir::cast<mlir::FloatType>(elem);
  llvm::SmallVector<llvm::APFloat> elems;
  for (double v : values) {
    llvm::APFloat f(v);
    bool lost = false;
    f.convert(floatType.getFloatSemantics(), llvm::APFloat::rmNearestTiesToEven,
              &lost);
    elems.push_back(f);
  }
  return ctx.constant(mlir::DenseElementsAttr::get(type, elems));
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

} // namespace onnx_ops

} // namespace kiln
