//===- OpsInternal.h - Shared by the kiln dialect's sources -----*- C++ -*-===//
//
// Part of Kiln. Internal to ir/: helpers of type inference that the op
// classes ODS generates (Dialect.cc), the inference (TypeInference.cc) and
// the index arithmetic (Geometry.cc) share.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_OPSINTERNAL_H
#define KILN_IR_OPSINTERNAL_H

#include <optional>
#include <string>

#include "ir/Dialect.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Diagnostics.h"
#include "llvm/ADT/STLExtras.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln::detail {

// Internal to ir/: the helpers speak MLIR unqualified, like the sources.
using namespace mlir;

inline std::string shapeStr(ArrayRef<int64_t> shape) {
  std::string s = "[";
  llvm::raw_string_ostream os(s);
  llvm::interleave(shape, os, ",");
  os << "]";
  return s;
}

inline RankedTensorType rankedType(Value v) {
  return cast<RankedTensorType>(v.getType());
}

/// "B 'W2' [8,3]": an operand's role, the node that produced it (when its
/// location is the user's node name) and its shape, for error messages.
inline std::string operandStr(StringRef role, Value v) {
  std::string s = role.str();
  if (auto name = dyn_cast<NameLoc>(v.getLoc()))
    s += " '" + name.getName().str() + "'";
  return s + " " + shapeStr(rankedType(v).getShape());
}

/// Every kiln tensor must have a static shape.
inline LogicalResult requireStatic(std::optional<Location> loc,
                                   ValueRange operands) {
  for (auto [i, v] : llvm::enumerate(operands)) {
    auto t = dyn_cast<RankedTensorType>(v.getType());
    if (!t || !t.hasStaticShape())
      return emitOptionalError(loc, "operand #", i,
                               " must have a static shape, got ", v.getType());
  }
  return success();
}

/// Pooling keeps N and C and slides windows over the spatial axes.
template <typename Adaptor>
LogicalResult inferPool(std::optional<Location> loc, Adaptor adaptor,
                        SmallVectorImpl<Type> &inferred) {
  if (failed(requireStatic(loc, adaptor.getOperands())))
    return failure();
  RankedTensorType x = rankedType(adaptor.getX());
  if (x.getRank() < 3)
    return emitOptionalError(loc, "pooling input must be [N, C, spatial...]");
  auto g = computeWindows(loc, x.getShape().drop_front(2),
                          adaptor.getKernelShape(), adaptor.getStrides(),
                          adaptor.getDilations(), adaptor.getPads(),
                          adaptor.getAutoPad(), adaptor.getCeilMode() != 0);
  if (failed(g))
    return failure();
  // A window wholly in the padding would pool nothing (ONNX Runtime
  // refuses these too).
  for (size_t i = 0; i < g->kernel.size(); ++i)
    if (g->padBegin[i] >= g->kernel[i] || g->padEnd[i] >= g->kernel[i])
      return emitOptionalError(loc, "pads (", g->padBegin[i], ", ",
                               g->padEnd[i], ") of spatial axis ", i,
                               " must be smaller than the kernel (",
                               g->kernel[i], ")");
  SmallVector<int64_t> shape = {x.getDimSize(0), x.getDimSize(1)};
  shape.append(g->output);
  inferred.push_back(RankedTensorType::get(shape, x.getElementType()));
  return success();
}

} // namespace kiln::detail

#endif // KILN_IR_OPSINTERNAL_H
