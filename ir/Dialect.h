//===- Dialect.h - The kiln dialect -----------------------------*- C++ -*-===//
//
// Part of Kiln. Include this header to use the kiln dialect's ops.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_IR_DIALECT_H
#define KILN_IR_DIALECT_H

#include <string>

#include "mlir/Bytecode/BytecodeOpInterface.h"
#include "mlir/IR/Builders.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/Dialect.h"
#include "mlir/IR/OpDefinition.h"
#include "mlir/IR/SymbolTable.h"
#include "mlir/IR/TypeUtilities.h"
#include "mlir/Interfaces/InferTypeOpInterface.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include "ir/KilnDialect.h.inc"

namespace kiln {
/// Op traits of the kiln dialect (see Ops.td); markers only. The categories
/// with methods are op interfaces (Interfaces.td).
template <typename ConcreteType>
class KilnFusionHero
    : public mlir::OpTrait::TraitBase<ConcreteType, KilnFusionHero> {};
template <typename ConcreteType>
class KilnContraction
    : public mlir::OpTrait::TraitBase<ConcreteType, KilnContraction> {};
} // namespace kiln

namespace kiln::detail {
// Type inference shared by op classes; see TypeInference.cc.
mlir::LogicalResult inferBroadcast(std::optional<mlir::Location> loc,
                                   mlir::ValueRange operands, bool boolResult,
                                   llvm::SmallVectorImpl<mlir::Type> &inferred);
mlir::LogicalResult inferSameType(std::optional<mlir::Location> loc,
                                  mlir::ValueRange operands,
                                  llvm::SmallVectorImpl<mlir::Type> &inferred);
mlir::LogicalResult
inferAxisPreserving(std::optional<mlir::Location> loc, mlir::Value input,
                    int64_t axis, llvm::SmallVectorImpl<mlir::Type> &inferred);
mlir::LogicalResult inferReduce(std::optional<mlir::Location> loc,
                                mlir::Value data,
                                std::optional<llvm::ArrayRef<int64_t>> axes,
                                int64_t keepdims, int64_t noopWithEmptyAxes,
                                llvm::SmallVectorImpl<mlir::Type> &inferred);
mlir::LogicalResult inferArgReduce(std::optional<mlir::Location> loc,
                                   mlir::Value data, int64_t axis,
                                   int64_t keepdims,
                                   llvm::SmallVectorImpl<mlir::Type> &inferred);
} // namespace kiln::detail

namespace kiln {
/// A rule on the values of one operand, checked when the graph runs
/// (RuntimeCheckOpInterface). A value v at position p of the operand's last
/// axis is good when lower[p] <= v <= upper[p] (`inside`), or when it lies
/// outside that range (not `inside`: a divisor, lower = upper = 0). lower
/// and upper hold one entry for every position, or one per position of the
/// last axis (GatherND's index tuples). `message` says what broke, with
/// "{value}" standing for an offending value: "index {value} is out of
/// range [-5, 4] of axis 0".
struct RuntimeRule {
  unsigned operand = 0;
  llvm::SmallVector<int64_t, 1> lower, upper;
  bool inside = true;
  std::string message;
};
} // namespace kiln

#include "ir/KilnInterfaces.h.inc"

#define GET_OP_CLASSES
#include "ir/KilnOps.h.inc"

namespace kiln {

/// NumPy broadcasting of two static shapes; failure when they don't
/// broadcast.
mlir::LogicalResult broadcastShapes(llvm::ArrayRef<int64_t> a,
                                    llvm::ArrayRef<int64_t> b,
                                    llvm::SmallVectorImpl<int64_t> &result);

/// Resolves a possibly negative axis against `rank`; -1 when out of range.
int64_t normalizeAxis(int64_t axis, int64_t rank);

/// Evaluates `op` when every operand is a constant: the values its folder
/// gives, with new kiln.constant ops created before `op` for folded
/// attributes. Null when an operand is not constant or the folder gives up;
/// `op` itself is left for the caller to replace and erase. The one place
/// where the importers (graph/build_op.cc) and kiln-fold-constants fold.
std::optional<llvm::SmallVector<mlir::Value>>
foldToConstants(mlir::Operation *op);

/// The permutation a TransposeOp applies: its `perm`, or (ONNX's default)
/// the dimensions reversed.
llvm::SmallVector<int64_t>
transposePermutation(std::optional<llvm::ArrayRef<int64_t>> perm, int64_t rank);
/// `data` with its dimensions permuted (result dim i is input dim
/// perm[i]); null when it cannot be computed.
mlir::DenseElementsAttr transposeElements(mlir::DenseElementsAttr data,
                                          llvm::ArrayRef<int64_t> perm);

/// The constant `value` holds, looking through a kiln.fusion's region
/// argument to the fusion's input (weights arrive in a fusion that way);
/// null when it is not a constant.
mlir::DenseElementsAttr constantThroughFusion(mlir::Value value);

/// The axes a reduction reduces, one flag per input dimension; empty when
/// the op is a no-op (no axes and noop_with_empty_axes).
llvm::SmallVector<bool> reducedAxes(std::optional<llvm::ArrayRef<int64_t>> axes,
                                    int64_t rank, bool noopWithEmptyAxes);

/// Where sliding windows (Conv, pooling) sit on each spatial axis.
struct WindowGeometry {
  llvm::SmallVector<int64_t> kernel, strides, dilations;
  llvm::SmallVector<int64_t> padBegin, padEnd; ///< As given or computed.
  llvm::SmallVector<int64_t> output;           ///< Output size per axis.
};

/// ONNX's window arithmetic, auto_pad and ceil_mode included.
mlir::FailureOr<WindowGeometry>
computeWindows(std::optional<mlir::Location> loc,
               llvm::ArrayRef<int64_t> inputSpatial,
               llvm::ArrayRef<int64_t> kernel,
               std::optional<llvm::ArrayRef<int64_t>> strides,
               std::optional<llvm::ArrayRef<int64_t>> dilations,
               std::optional<llvm::ArrayRef<int64_t>> pads,
               llvm::StringRef autoPad, bool ceilMode);

/// One axis of a Slice: the first index, the step, and how many elements.
struct SliceDim {
  int64_t start, step, count;
};

/// ONNX Slice with constant bounds, clamped; one entry per input axis.
mlir::FailureOr<llvm::SmallVector<SliceDim>>
computeSlice(std::optional<mlir::Location> loc, llvm::ArrayRef<int64_t> shape,
             llvm::ArrayRef<int64_t> starts, llvm::ArrayRef<int64_t> ends,
             std::optional<llvm::ArrayRef<int64_t>> axes,
             std::optional<llvm::ArrayRef<int64_t>> steps);

/// An einsum equation resolved against its inputs' shapes: iteration
/// dimensions are the output's axes, then the summed ones.
struct EinsumSpec {
  llvm::SmallVector<int64_t> dimSizes;
  unsigned numOutputDims = 0;
  /// Per input axis, the iteration dimension it follows, or -1 for a size-1
  /// axis that broadcasts.
  llvm::SmallVector<llvm::SmallVector<int64_t>> inputDims;
};
mlir::FailureOr<EinsumSpec> parseEinsum(std::optional<mlir::Location> loc,
                                        llvm::StringRef equation,
                                        mlir::TypeRange inputs);

/// ConvTranspose's pads and output size per spatial axis.
struct TransposedConvGeometry {
  llvm::SmallVector<int64_t> kernel, strides, dilations, padBegin, padEnd,
      output;
};
mlir::FailureOr<TransposedConvGeometry>
computeConvTranspose(std::optional<mlir::Location> loc,
                     ConvTransposeOp::Adaptor adaptor);

} // namespace kiln

#endif // KILN_IR_DIALECT_H
