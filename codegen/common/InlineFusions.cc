//===- InlineFusions.cc - The kiln-inline-fusions pass --------------------===//
//
// Part of Kiln. Bufferization needs straight-line code, so kiln.fusion ops
// dissolve here; which ops form one kernel is kept as `kiln.kernel` on
// each op that computes, for kiln-outline-kernels after bufferization.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/Passes.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/IR/Builders.h"
#include "llvm/ADT/ScopeExit.h"

namespace kiln {
#define GEN_PASS_DEF_INLINEFUSIONS
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Whether `op` computes something a kernel must run (rather than naming a
/// constant or an empty tensor that bufferization turns into an alloc).
bool computes(Operation &op) {
  return !op.hasTrait<OpTrait::ConstantLike>() && !isa<tensor::EmptyOp>(op) &&
         !op.hasTrait<OpTrait::IsTerminator>();
}

/// The location convert-kiln-to-linalg tagged, without the tag.
Location untagged(Location loc) {
  auto fused = dyn_cast<FusedLoc>(loc);
  if (fused && fused.getLocations().size() == 1 && fused.getMetadata() &&
      isa<IntegerAttr>(fused.getMetadata()) &&
      cast<IntegerAttr>(fused.getMetadata()).getType().isIndex())
    return fused.getLocations().front();
  return loc;
}

struct InlineFusionsPass : public impl::InlineFusionsBase<InlineFusionsPass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    // Kernels are told apart by the tagged locations; the tags go after.
    auto restoreLocations = llvm::make_scope_exit([&] {
      func.walk([](Operation *op) { op->setLoc(untagged(op->getLoc())); });
    });
    Block &block = func.getBody().front();
    OpBuilder builder(func.getContext());
    // Kernel names are unique in the function: a name seen before gets a
    // suffix.
    llvm::StringMap<int> seen;
    auto unique = [&](std::string name) {
      if (name.empty())
        name = "kernel";
      int n = seen[name]++;
      return n == 0 ? name : name + "_" + std::to_string(n);
    };
    auto mark = [&](Operation &op, StringRef kernel) {
      op.setAttr(KilnDialect::kKernelAttr, builder.getStringAttr(kernel));
    };
    // An op a pass made a kernel of its own (kiln.whole, kiln.kernel: a
    // stride-2 convolution's deinterleaved image) keeps its name, in a
    // fusion or not.
    auto ownKernel = [](Operation &op) {
      auto own = op.getAttrOfType<StringAttr>(KilnDialect::kKernelAttr);
      return own && op.hasAttr(KilnDialect::kWholeAttr) ? own : StringAttr();
    };
    // The ops one unfused kiln op lowered to follow each other and share
    // its (tagged, so unique) location.
    std::optional<Location> lastLoc;
    std::string kernel;
    for (Operation &op : llvm::make_early_inc_range(block)) {
      auto fusion = dyn_cast<FusionOp>(op);
      if (!fusion) {
        if (!computes(op))
          continue;
        if (StringAttr own = ownKernel(op)) {
          mark(op, unique(own.str())); // The node's other ops keep theirs.
          continue;
        }
        if (!lastLoc || *lastLoc != op.getLoc())
          kernel = unique(NodeName(op.getLoc()));
        lastLoc = op.getLoc();
        mark(op, kernel);
        continue;
      }
      lastLoc.reset();
      kernel = unique(fusion.getKernel().str());
      Block &body = fusion.getBody().front();
      auto yield = cast<YieldOp>(body.getTerminator());
      SmallVector<Value> results(yield.getValues());
      for (Operation &inner : body.without_terminator())
        if (computes(inner)) {
          StringAttr own = ownKernel(inner);
          mark(inner, own ? unique(own.str()) : kernel);
        }
      for (auto [arg, input] :
           llvm::zip(body.getArguments(), fusion.getInputs()))
        arg.replaceAllUsesWith(input);
      yield.erase();
      block.getOperations().splice(Block::iterator(fusion),
                                   body.getOperations());
      fusion->replaceAllUsesWith(results);
      fusion.erase();
    }
  }
};

} // namespace
} // namespace kiln
