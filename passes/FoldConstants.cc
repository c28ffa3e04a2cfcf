//===- FoldConstants.cc - Evaluate constant subgraphs ---------------------===//
//
// Part of Kiln. Walks ops in program order and replaces each op whose
// operands are all constants by the constants its folder computes, so a
// chain of such ops collapses in one walk. The bytes of new constant data
// are capped (PipelineOptions::max_fold_bytes): folding must not blow up
// the compiled artifact.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/Matchers.h"

namespace kiln {
#define GEN_PASS_DEF_FOLDCONSTANTS
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Bytes a tensor of `type` holds (bools as bytes).
int64_t tensorBytes(Type type) {
  auto t = cast<RankedTensorType>(type);
  int64_t bits = t.getElementType().getIntOrFloatBitWidth();
  return t.getNumElements() * std::max<int64_t>(1, bits / 8);
}

struct FoldConstantsPass : public impl::FoldConstantsBase<FoldConstantsPass> {
  using FoldConstantsBase::FoldConstantsBase;

  void runOnOperation() override {
    int64_t budget = maxBytes;
    SmallVector<Operation *> ops;
    getOperation().walk([&](Operation *op) {
      if (isa<KilnDialect>(op->getDialect()) && !isa<ConstantOp>(op))
        ops.push_back(op);
    });
    for (Operation *op : ops) {
      if (op->getNumResults() == 0 ||
          !llvm::all_of(op->getOperands(),
                        [](Value v) { return matchPattern(v, m_Constant()); }))
        continue;
      int64_t bytes = 0;
      for (Value r : op->getResults())
        bytes += tensorBytes(r.getType());
      if (bytes > budget)
        continue;
      std::optional<SmallVector<Value>> replacements = foldToConstants(op);
      if (!replacements)
        continue;
      budget -= bytes;
      op->replaceAllUsesWith(*replacements);
      op->erase();
    }
  }
};

} // namespace
} // namespace kiln
