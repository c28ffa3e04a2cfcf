//===- build_op.h - Create kiln ops with inferred types ---------*- C++ -*-===//
//
// Part of Kiln. The importers create ops with result types from each op's
// own inference, so that a shape or dtype mismatch is reported at the
// node's location rather than asserted. Converters name the op by its
// class (BuildOp<AddOp>), so a misspelt op does not compile; only the
// data-driven GraphDef op table (graph/op_table.h) names ops by string, and
// tests/op_table_test.cc checks those names against the dialect.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_GRAPH_BUILD_OP_H
#define KILN_GRAPH_BUILD_OP_H

#include "mlir/IR/Builders.h"
#include "mlir/IR/Operation.h"

namespace kiln {

/// Largest tensor Kiln compiles: 2^32 elements. Larger shapes (an
/// exporter's mistake, or a hostile model) are refused before anything is
/// allocated.
constexpr int64_t kMaxTensorElements = int64_t{1} << 32;
/// Largest constant (a GraphDef Constant, an ONNX initializer or tensor
/// attribute): 2^31 elements, since its bytes are read into memory first.
constexpr int64_t kMaxConstantElements = int64_t{1} << 31;

/// Whether no dimension of `shape` is negative and its nonzero dimensions
/// multiply to at most `limit`. Bounding that product, not just the element
/// count, keeps out empty tensors of absurd dimensions ([0, 2^62, 4]),
/// whose other dimensions would overflow later shape arithmetic.
bool ShapeWithinLimit(llvm::ArrayRef<int64_t> shape,
                      int64_t limit = kMaxTensorElements);

/// Emits an error at `loc` when `type` holds more than kMaxTensorElements
/// (or its element count overflows, or it is empty with dimensions that
/// multiply past the limit).
mlir::LogicalResult CheckTensorSize(mlir::Location loc, mlir::Type type);

/// Creates the op named `name` (e.g. "kiln.add", which must be registered)
/// with `operands` and `attrs` (each one the op declares), defaults filled
/// in and result types inferred. When `foldConstants` is set and every
/// operand is a constant, the op is evaluated now and replaced by
/// kiln.constant ops. Returns the results, or failure after the op's
/// inference or verifier has emitted its error at `loc`. For the op table;
/// code that knows its op uses BuildOp<OpT>.
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
BuildOpByName(mlir::OpBuilder &builder, mlir::Location loc,
              llvm::StringRef name, mlir::ValueRange operands,
              llvm::ArrayRef<mlir::NamedAttribute> attrs,
              bool foldConstants = false);

/// BuildOpByName for the op class `OpT` (AddOp, ReshapeOp, ...).
template <typename OpT>
mlir::FailureOr<llvm::SmallVector<mlir::Value>>
BuildOp(mlir::OpBuilder &builder, mlir::Location loc, mlir::ValueRange operands,
        llvm::ArrayRef<mlir::NamedAttribute> attrs,
        bool foldConstants = false) {
  return BuildOpByName(builder, loc, OpT::getOperationName(), operands, attrs,
                       foldConstants);
}

} // namespace kiln

#endif // KILN_GRAPH_BUILD_OP_H
