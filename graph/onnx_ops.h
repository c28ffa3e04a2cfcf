//===- onnx_ops.h - Shared by the ONNX op converters ------------*- C++ -*-===//
//
// Part of Kiln. Internal to graph/: the registration function of each
// family of ONNX converters and the small helpers they share. A converter
// reads its node through the NodeContext binder and builds kiln ops by
// class (ctx.build<AddOp>(...)); docs/adding_an_op.md shows how one is
// added.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_ONNX_OPS_H
#define KILN_GRAPH_ONNX_OPS_H

#include <optional>

#include "graph/onnx_node.h"
#include "graph/onnx_registry.h"
#include "ir/Dialect.h"

namespace kiln {

/// Elementwise arithmetic and activations, casts, Constant-like sources
/// of values (onnx_ops_elementwise.cc).
void RegisterElementwiseOnnxOps(OnnxRegistry &registry);
/// Shapes and data movement: Reshape and its relatives, Shape, Slice,
/// Split, Pad, Expand, Tile, Range (onnx_ops_shape.cc).
void RegisterShapeOnnxOps(OnnxRegistry &registry);
/// Reductions, normalizations, softmax, pooling, TopK (onnx_ops_nn.cc).
void RegisterNNOnnxOps(OnnxRegistry &registry);
/// Control flow (onnx_ops_control.cc): If.
void RegisterControlOnnxOps(OnnxRegistry &registry);
/// Resize and Upsample (onnx_ops_resize.cc).
void RegisterResizeOnnxOps(OnnxRegistry &registry);
/// QuantizeLinear, DequantizeLinear and the integer and QLinear products
/// (onnx_ops_quant.cc).
void RegisterQuantOnnxOps(OnnxRegistry &registry);
/// DFT, STFT, the window functions and MelWeightMatrix
/// (onnx_ops_signal.cc).
void RegisterSignalOnnxOps(OnnxRegistry &registry);

namespace onnx_ops {

using Values = llvm::SmallVector<mlir::Value>;
using Attr = onnx::AttributeProto;

/// A single result as a converter's list of outputs.
inline mlir::FailureOr<Values> one(mlir::FailureOr<mlir::Value> v) {
  if (mlir::failed(v))
    return mlir::failure();
  return Values{*v};
}

inline mlir::NamedAttribute named(NodeContext &ctx, const char *name,
                                  mlir::Attribute value) {
  return ctx.builder().getNamedAttr(name, value);
}
inline mlir::Attribute ints(NodeContext &ctx, llvm::ArrayRef<int64_t> v) {
  return ctx.builder().getDenseI64ArrayAttr(v);
}
inline mlir::Attribute i64(NodeContext &ctx, int64_t v) {
  return ctx.builder().getI64IntegerAttr(v);
}

/// An i64 tensor constant.
inline mlir::Value int64Constant(NodeContext &ctx,
                                 llvm::ArrayRef<int64_t> values,
                                 llvm::ArrayRef<int64_t> shape) {
  auto type =
      mlir::RankedTensorType::get(shape, ctx.builder().getIntegerType(64));
  return ctx.constant(mlir::DenseElementsAttr::get(type, values));
}

/// A constant of type `elem` and `shape` from doubles, each rounded once to
/// `elem` (an integer `elem` takes them rounded to nearest: Resize's nearest
/// mode on integers has weights 0 and 1 only).
mlir::Value floatConstant(NodeContext &ctx, mlir::Type elem,
                          llvm::ArrayRef<double> values,
                          llvm::ArrayRef<int64_t> shape);

/// [C] -> [C, 1, ...] so that it broadcasts over [N, C, spatial...];
/// reports when `rank` < 2.
mlir::FailureOr<mlir::Value> perChannel(NodeContext &ctx, mlir::Value v,
                                        int64_t rank);

/// The form of an op whose list of integers (axes, say) is an attribute up
/// to some opset and an optional input from then on: the input `index`
/// when given (it must be a constant), else the attribute `name`; nullopt
/// when neither is. Older forms read only the attribute.
mlir::FailureOr<std::optional<llvm::SmallVector<int64_t>>>
intsFromInputOrAttr(NodeContext &ctx, size_t index, const char *name);

/// `axes` (input 1) of an op that took it as an attribute before opset
/// `FirstOpsetWithInput`, for the form starting at opset `Since`.
template <int Since, int FirstOpsetWithInput>
mlir::FailureOr<std::optional<llvm::SmallVector<int64_t>>>
axesOf(NodeContext &ctx) {
  if constexpr (Since < FirstOpsetWithInput)
    return ctx.getInts("axes");
  else
    return intsFromInputOrAttr(ctx, 1, "axes");
}

/// Builds the ops of a converter whose every step can fail (reported
/// through the NodeContext): a failed step yields a null Value, and so does
/// every step with a null operand, so that a chain is checked once, at its
/// end.
class Chain {
public:
  Chain(NodeContext &ctx, mlir::Type elem) : ctx_(ctx), elem_(elem) {}

  template <typename OpT>
  mlir::Value op(llvm::ArrayRef<mlir::Value> operands,
                 llvm::ArrayRef<mlir::NamedAttribute> attrs = {}) {
    for (mlir::Value v : operands)
      if (!v)
        return mlir::Value();
    mlir::FailureOr<mlir::Value> r =
        ctx_.build<OpT>(mlir::ValueRange(operands), attrs);
    return mlir::succeeded(r) ? *r : mlir::Value();
  }
  mlir::Value add(mlir::Value a, mlir::Value b) { return op<AddOp>({a, b}); }
  mlir::Value sub(mlir::Value a, mlir::Value b) { return op<SubOp>({a, b}); }
  mlir::Value mul(mlir::Value a, mlir::Value b) { return op<MulOp>({a, b}); }
  mlir::Value div(mlir::Value a, mlir::Value b) { return op<DivOp>({a, b}); }
  mlir::Value where(mlir::Value c, mlir::Value a, mlir::Value b) {
    return op<WhereOp>({c, a, b});
  }
  mlir::Value floor(mlir::Value a) { return op<FloorOp>({a}); }
  /// A scalar of the chain's float type.
  mlir::Value f(double v) { return ctx_.scalar(elem_, v); }
  mlir::Value clamp(mlir::Value a, double lo, double hi) {
    return op<ClipOp>({a}, {named(ctx_, "min", b().getF64FloatAttr(lo)),
                            named(ctx_, "max", b().getF64FloatAttr(hi))});
  }
  mlir::Value cast(mlir::Value a, mlir::Type to) {
    return op<CastOp>({a}, {named(ctx_, "to", mlir::TypeAttr::get(to))});
  }
  mlir::Value reshape(mlir::Value a, llvm::ArrayRef<int64_t> shape) {
    if (!a)
      return a;
    mlir::FailureOr<mlir::Value> r = ctx_.reshape(a, shape);
    return mlir::succeeded(r) ? *r : mlir::Value();
  }
  mlir::OpBuilder &b() { return ctx_.builder(); }

private:
  NodeContext &ctx_;
  mlir::Type elem_;
};

} // namespace onnx_ops
} // namespace kiln

#endif // KILN_GRAPH_ONNX_OPS_H
