//===- ElementwiseLowering.cc - Elementwise kiln ops to linalg ------------===//
//
// Part of Kiln. One pattern lowers every op with the ElementwiseOpInterface
// (ir/Interfaces.td) to one linalg.generic whose body is the op's own
// buildScalar (ir/ScalarBodies.cc). Broadcasting lives in the indexing maps
// (LoweringUtils.cc), so none is materialized.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LoweringUtils.h"
#include "ir/Dialect.h"

using namespace mlir;

namespace kiln {
namespace {

struct ElementwiseLowering
    : public OpInterfaceConversionPattern<ElementwiseOpInterface> {
  using OpInterfaceConversionPattern::OpInterfaceConversionPattern;
  LogicalResult
  matchAndRewrite(ElementwiseOpInterface op, ArrayRef<Value> operands,
                  ConversionPatternRewriter &rewriter) const override {
    Value result =
        buildElementwise(rewriter, op->getLoc(), operands, resultType(op),
                         [&](OpBuilder &b, Location loc, ValueRange args) {
                           return op.buildScalar(b, loc, args.drop_back());
                         });
    rewriter.replaceOp(op, result);
    return success();
  }
};

} // namespace

void populateElementwiseLowering(RewritePatternSet &patterns,
                                 TypeConverter &converter) {
  patterns.add<ElementwiseLowering>(converter, patterns.getContext());
}

} // namespace kiln
