//===- RecurrenceLowering.cc - RNN, GRU and LSTM over time ----------------===//
//
// Part of Kiln. kiln.recurrence becomes one scf.for over the time steps,
// never unrolled: the input projection of every step was one matrix
// product before it (graph/onnx_ops_nn.cc), so each step computes h R^T
// (a contraction the backend vectorizes like any other, R^T given as
// [H, G*H] so that it is read along its rows) and one
// elementwise generic that applies the cell's equations and writes the
// new state over the old one and the step's output into its slice of y.
// GRU without linear_before_reset needs (r * h) R_h^T: one more
// elementwise generic and contraction in the step.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"
#include "ir/ScalarBuilders.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

using namespace mlir;

namespace kiln {
namespace {

using utils::IteratorType;

/// ONNX's recurrent activation `name` of x (docs of RNN, GRU, LSTM).
Value activate(OpBuilder &b, Location loc, StringRef name, double alpha,
               double beta, Value x) {
  Type t = x.getType();
  auto c = [&](double v) { return scalarConstant(b, loc, t, v); };
  auto mul = [&](Value a, Value y) {
    return b.create<arith::MulFOp>(loc, a, y).getResult();
  };
  auto add = [&](Value a, Value y) {
    return b.create<arith::AddFOp>(loc, a, y).getResult();
  };
  auto nonNegative = [&](Value v) {
    return b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGE, v, c(0))
        .getResult();
  };
  if (name == "Relu")
    return b.create<arith::MaximumFOp>(loc, x, c(0));
  if (name == "Tanh")
    return b.create<math::TanhOp>(loc, x);
  if (name == "Sigmoid")
    return b.create<arith::DivFOp>(
        loc, c(1),
        add(c(1), b.create<math::ExpOp>(loc, b.create<arith::NegFOp>(loc, x))));
  if (name == "Affine")
    return add(mul(c(alpha), x), c(beta));
  if (name == "LeakyRelu")
    return b.create<arith::SelectOp>(loc, nonNegative(x), x, mul(c(alpha), x));
  if (name == "ThresholdedRelu")
    return b.create<arith::SelectOp>(
        loc,
        b.create<arith::CmpFOp>(loc, arith::CmpFPredicate::OGT, x, c(alpha)), x,
        c(0));
  if (name == "ScaledTanh")
    return mul(c(alpha), b.create<math::TanhOp>(loc, mul(c(beta), x)));
  if (name == "HardSigmoid")
    return b.create<arith::MaximumFOp>(
        loc, c(0),
        b.create<arith::MinimumFOp>(loc, c(1), add(mul(c(alpha), x), c(beta))));
  if (name == "Elu")
    return b.create<arith::SelectOp>(
        loc, nonNegative(x), x, mul(c(alpha), b.create<math::ExpM1Op>(loc, x)));
  if (name == "Softsign")
    return b.create<arith::DivFOp>(loc, x,
                                   add(c(1), b.create<math::AbsFOp>(loc, x)));
  // Softplus: log(1 + e^x) = max(x, 0) + log1p(e^-|x|), which cannot
  // overflow.
  Value negAbs = b.create<arith::NegFOp>(loc, b.create<math::AbsFOp>(loc, x));
  return add(b.create<arith::MaximumFOp>(loc, x, c(0)),
             b.create<math::Log1pOp>(loc, b.create<math::ExpOp>(loc, negAbs)));
}

/// out[b, j] = sum_k a[b, k] * rt[k, j + offset]: a [batch, K] times
/// columns offset .. offset + columns of rt ([K, G*H], R transposed, so
/// that the backend's microkernel reads it along j).
Value productWithColumns(OpBuilder &b, Location loc, Value a, Value rt,
                         int64_t offset, int64_t columns) {
  auto aType = cast<RankedTensorType>(a.getType());
  MLIRContext *ctx = b.getContext();
  AffineExpr bi = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx),
             k = getAffineDimExpr(2, ctx);
  Type elem = aType.getElementType();
  Value zero = filledTensor(
      b, loc, RankedTensorType::get({aType.getDimSize(0), columns}, elem),
      zeroAttr(b, elem));
  auto rType = cast<RankedTensorType>(rt.getType());
  if (rType.getDimSize(1) != columns)
    rt = b.create<tensor::ExtractSliceOp>(
        loc, RankedTensorType::get({rType.getDimSize(0), columns}, elem), rt,
        ArrayRef<OpFoldResult>{b.getIndexAttr(0), b.getIndexAttr(offset)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(rType.getDimSize(0)),
                               b.getIndexAttr(columns)},
        ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
  return buildGeneric(
      b, loc, {a, rt},
      {AffineMap::get(3, 0, {bi, k}, ctx), AffineMap::get(3, 0, {k, j}, ctx)},
      zero, AffineMap::get(3, 0, {bi, j}, ctx),
      {IteratorType::parallel, IteratorType::parallel, IteratorType::reduction},
      [](OpBuilder &nb, Location l, ValueRange args) -> Value {
        return nb.create<arith::AddFOp>(
            l, args[2], nb.create<arith::MulFOp>(l, args[0], args[1]));
      });
}

struct RecurrenceLowering : public OpConversionPattern<RecurrenceOp> {
  using OpConversionPattern::OpConversionPattern;
  LogicalResult
  matchAndRewrite(RecurrenceOp op, OpAdaptor adaptor,
                  ConversionPatternRewriter &rewriter) const override {
    Location loc = op.getLoc();
    RankedTensorType yType = resultType(op, 0);
    int64_t seq = yType.getDimSize(0), batch = yType.getDimSize(1),
            hidden = yType.getDimSize(2);
    Type elem = yType.getElementType();
    StringRef cell = op.getCell();
    bool lstm = cell == "lstm", gru = cell == "gru";
    int64_t gates = lstm ? 4 : gru ? 3 : 1;
    bool resetAfter = gru && op.getLinearBeforeReset() == 0;
    bool inputForget = lstm && op.getInputForget() != 0;
    bool reverse = op.getReverse();
    std::optional<double> clip;
    if (op.getClip())
      clip = op.getClip()->convertToDouble();
    SmallVector<std::string> names;
    SmallVector<double> alphas, betas;
    for (auto [name, alpha, beta] :
         llvm::zip(op.getActivations(), op.getActivationAlpha(),
                   op.getActivationBeta())) {
      names.push_back(cast<StringAttr>(name).str());
      alphas.push_back(cast<FloatAttr>(alpha).getValueAsDouble());
      betas.push_back(cast<FloatAttr>(beta).getValueAsDouble());
    }
    // `clip` bounds the gates' inputs, not the cell state LSTM's h() reads.
    auto act = [&](int i, OpBuilder &b, Location l, Value x,
                   bool clipped = true) {
      if (clip && clipped) {
        Value c = scalarConstant(b, l, elem, *clip);
        x = b.create<arith::MinimumFOp>(
            l,
            b.create<arith::MaximumFOp>(l, x,
                                        scalarConstant(b, l, elem, -*clip)),
            c);
      }
      return activate(b, l, names[i], alphas[i], betas[i], x);
    };
    Value inputs = adaptor.getInputs(), r = adaptor.getRecurrence(),
          bias = adaptor.getBias(), peepholes = adaptor.getPeepholes(),
          lens = adaptor.getSequenceLens();
    MLIRContext *ctx = rewriter.getContext();
    auto stateType = RankedTensorType::get({batch, hidden}, elem);
    auto stepType = RankedTensorType::get({batch, gates * hidden}, elem);
    AffineExpr bi = getAffineDimExpr(0, ctx), j = getAffineDimExpr(1, ctx);
    AffineMap identity = AffineMap::get(2, 0, {bi, j}, ctx);

    Value lower = rewriter.create<arith::ConstantIndexOp>(loc, 0);
    Value upper = rewriter.create<arith::ConstantIndexOp>(loc, seq);
    Value one = rewriter.create<arith::ConstantIndexOp>(loc, 1);
    Value y0 = emptyTensor(rewriter, loc, yType);
    auto loop = rewriter.create<scf::ForOp>(
        loc, lower, upper, one,
        ValueRange{adaptor.getInitialH(), adaptor.getInitialC(), y0},
        [&](OpBuilder &b, Location l, Value t, ValueRange state) {
          Value h = state[0], c = state[1], y = state[2];
          Value at = t;
          if (reverse)
            at = b.create<arith::SubIOp>(
                l, b.create<arith::ConstantIndexOp>(l, seq - 1), t);
          SmallVector<OpFoldResult> offsets = {at, b.getIndexAttr(0),
                                               b.getIndexAttr(0)};
          SmallVector<OpFoldResult> strides(3, b.getIndexAttr(1));
          Value x = b.create<tensor::ExtractSliceOp>(
              l, stepType, inputs, offsets,
              SmallVector<OpFoldResult>{b.getIndexAttr(1),
                                        b.getIndexAttr(batch),
                                        b.getIndexAttr(gates * hidden)},
              strides);
          SmallVector<OpFoldResult> ySizes = {
              b.getIndexAttr(1), b.getIndexAttr(batch), b.getIndexAttr(hidden)};
          Value ySlice = b.create<tensor::ExtractSliceOp>(
              l, stateType, y, offsets, ySizes, strides);
          Value hr = productWithColumns(b, l, h, r, 0, gates * hidden);

          // The step's inputs: x, h R^T and Rb at each gate's columns, then
          // what the cell needs besides.
          SmallVector<Value> ins;
          SmallVector<AffineMap> maps;
          // Column block g of a [batch, gates * H] or [gates * H] tensor,
          // as a view: the generics' loops take their bounds from it.
          auto block = [&](Value v, int64_t g) -> Value {
            auto type = cast<RankedTensorType>(v.getType());
            if (type.getRank() == 1)
              return b.create<tensor::ExtractSliceOp>(
                  l, RankedTensorType::get({hidden}, elem), v,
                  ArrayRef<OpFoldResult>{b.getIndexAttr(g * hidden)},
                  ArrayRef<OpFoldResult>{b.getIndexAttr(hidden)},
                  ArrayRef<OpFoldResult>{b.getIndexAttr(1)});
            return b.create<tensor::ExtractSliceOp>(
                l, stateType, v,
                ArrayRef<OpFoldResult>{b.getIndexAttr(0),
                                       b.getIndexAttr(g * hidden)},
                ArrayRef<OpFoldResult>{b.getIndexAttr(batch),
                                       b.getIndexAttr(hidden)},
                ArrayRef<OpFoldResult>{b.getIndexAttr(1), b.getIndexAttr(1)});
          };
          AffineMap columns = AffineMap::get(2, 0, {j}, ctx);
          auto gateColumns = [&](Value v, bool perBatch) {
            for (int64_t g = 0; g < gates; ++g) {
              ins.push_back(block(v, g));
              maps.push_back(perBatch ? identity : columns);
            }
          };
          gateColumns(x, true);
          gateColumns(hr, true);
          gateColumns(bias, false);
          size_t peepholeAt = ins.size();
          if (lstm)
            for (int64_t k = 0; k < 3; ++k) {
              ins.push_back(block(peepholes, k));
              maps.push_back(columns);
            }
          size_t lensAt = ins.size();
          if (lens) {
            ins.push_back(lens);
            maps.push_back(AffineMap::get(2, 0, {bi}, ctx));
          }
          size_t resetAt = ins.size();
          if (resetAfter) {
            // (r * h) R_h^T, r from the reset gate's columns.
            Value rh = buildGeneric(
                b, l, {block(x, 1), block(hr, 1), block(bias, 1), h},
                {identity, identity, columns, identity},
                emptyTensor(b, l, stateType), identity,
                {IteratorType::parallel, IteratorType::parallel},
                [&](OpBuilder &nb, Location nl, ValueRange args) -> Value {
                  Value pre = nb.create<arith::AddFOp>(
                      nl, nb.create<arith::AddFOp>(nl, args[0], args[1]),
                      args[2]);
                  return nb.create<arith::MulFOp>(nl, act(0, nb, nl, pre),
                                                  args[3]);
                });
            ins.push_back(productWithColumns(b, l, rh, r, 2 * hidden, hidden));
            maps.push_back(identity);
          }
          SmallVector<AffineMap> allMaps = maps;
          allMaps.append(3, identity);
          auto step = b.create<linalg::GenericOp>(
              l, TypeRange{stateType, stateType, stateType}, ins,
              ValueRange{h, c, ySlice}, allMaps,
              SmallVector<IteratorType>(2, IteratorType::parallel),
              [&](OpBuilder &nb, Location nl, ValueRange args) {
                auto gate = [&](int64_t g) {
                  return nb
                      .create<arith::AddFOp>(nl,
                                             nb.create<arith::AddFOp>(
                                                 nl, args[g], args[gates + g]),
                                             args[2 * gates + g])
                      .getResult();
                };
                auto add = [&](Value p, Value q) {
                  return nb.create<arith::AddFOp>(nl, p, q).getResult();
                };
                auto mul = [&](Value p, Value q) {
                  return nb.create<arith::MulFOp>(nl, p, q).getResult();
                };
                auto sub = [&](Value p, Value q) {
                  return nb.create<arith::SubFOp>(nl, p, q).getResult();
                };
                size_t n = ins.size();
                Value hOld = args[n], cOld = args[n + 1];
                Value oneF = scalarConstant(nb, nl, elem, 1);
                Value hNew, cNew = cOld;
                if (lstm) {
                  // Gates i, o, f, c; peepholes i, o, f.
                  Value pi = args[peepholeAt], po = args[peepholeAt + 1],
                        pf = args[peepholeAt + 2];
                  Value i = act(0, nb, nl, add(gate(0), mul(pi, cOld)));
                  Value f = inputForget
                                ? sub(oneF, i)
                                : act(0, nb, nl, add(gate(2), mul(pf, cOld)));
                  Value g = act(1, nb, nl, gate(3));
                  cNew = add(mul(f, cOld), mul(i, g));
                  Value o = act(0, nb, nl, add(gate(1), mul(po, cNew)));
                  hNew = mul(o, act(2, nb, nl, cNew, /*clipped=*/false));
                } else if (gru) {
                  // Gates z, r, h.
                  Value z = act(0, nb, nl, gate(0));
                  Value candidate;
                  if (resetAfter) {
                    candidate = act(
                        1, nb, nl,
                        add(add(args[2], args[resetAt]), args[2 * gates + 2]));
                  } else {
                    Value reset = act(0, nb, nl, gate(1));
                    candidate =
                        act(1, nb, nl,
                            add(args[2], mul(reset, add(args[gates + 2],
                                                        args[2 * gates + 2]))));
                  }
                  hNew = add(mul(sub(oneF, z), candidate), mul(z, hOld));
                } else {
                  hNew = act(0, nb, nl, gate(0));
                }
                Value valid;
                if (lens) {
                  Value length = nb.create<arith::IndexCastOp>(
                      nl, nb.getIndexType(), args[lensAt]);
                  valid = nb.create<arith::CmpIOp>(
                      nl, arith::CmpIPredicate::slt, at, length);
                } else {
                  valid = nb.create<arith::ConstantIntOp>(nl, 1, 1);
                }
                auto pick = [&](Value v, Value otherwise) {
                  return nb.create<arith::SelectOp>(nl, valid, v, otherwise)
                      .getResult();
                };
                nb.create<linalg::YieldOp>(
                    nl,
                    ValueRange{pick(hNew, hOld), pick(cNew, cOld),
                               pick(hNew, scalarConstant(nb, nl, elem, 0))});
              });
          Value yNext = b.create<tensor::InsertSliceOp>(
              l, step.getResult(2), y, offsets, ySizes, strides);
          b.create<scf::YieldOp>(
              l, ValueRange{step.getResult(0), step.getResult(1), yNext});
        });
    rewriter.replaceOp(
        op, {loop.getResult(2), loop.getResult(0), loop.getResult(1)});
    return success();
  }
};

} // namespace

void populateRecurrenceLowering(RewritePatternSet &patterns,
                                TypeConverter &converter) {
  patterns.add<RecurrenceLowering>(converter, patterns.getContext());
}

} // namespace kiln
