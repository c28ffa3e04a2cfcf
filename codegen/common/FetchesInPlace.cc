//===- FetchesInPlace.cc - The kiln-fetches-in-place pass -----------------===//
//
// Part of Kiln. Bufferization returns results in out-parameters (the
// fetch buffers the caller passes), each filled by a copy at the end of
// @main from the buffer that computed it. That copy was a kernel of its
// own, a whole pass over the result, on every run; here the computing
// buffer becomes the fetch itself.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"

namespace kiln {
#define GEN_PASS_DEF_FETCHESINPLACE
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// The source and target of `op` when it copies one whole buffer into
/// another.
std::optional<std::pair<Value, Value>> copied(Operation *op) {
  if (auto copy = dyn_cast<memref::CopyOp>(op))
    return std::make_pair(copy.getSource(), copy.getTarget());
  if (auto copy = dyn_cast<linalg::CopyOp>(op);
      copy && copy.hasPureBufferSemantics())
    return std::make_pair(copy.getInputs()[0], copy.getOutputs()[0]);
  return std::nullopt;
}

struct FetchesInPlacePass
    : public impl::FetchesInPlaceBase<FetchesInPlacePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    Block &entry = func.getBody().front();
    SmallVector<Operation *> copies;
    for (Operation &op : entry)
      if (std::optional<std::pair<Value, Value>> c = copied(&op)) {
        auto target = dyn_cast<BlockArgument>(c->second);
        auto alloc = c->first.getDefiningOp<memref::AllocOp>();
        if (target && target.getOwner() == &entry && alloc &&
            alloc->getBlock() == &entry && alloc.getType() == target.getType())
          copies.push_back(&op);
      }
    for (Operation *copy : copies) {
      auto [source, target] = *copied(copy);
      // Nothing may read or write the buffer after the copy, nor the
      // out-parameter before it.
      bool usedAfter = llvm::any_of(source.getUsers(), [&](Operation *user) {
        return user != copy &&
               copy->isBeforeInBlock(entry.findAncestorOpInBlock(*user));
      });
      bool targetUsed = llvm::any_of(
          target.getUsers(), [&](Operation *user) { return user != copy; });
      if (usedAfter || targetUsed)
        continue;
      Operation *alloc = source.getDefiningOp();
      // The fetch is an argument, so it dominates every use of the buffer.
      copy->erase();
      source.replaceAllUsesWith(target);
      alloc->erase();
    }
  }
};

} // namespace
} // namespace kiln
