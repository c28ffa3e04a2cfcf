//===- Fuse.cc - Producer/consumer fusion into kiln.fusion ----------------===//
//
// Part of Kiln. Greedy, XLA-style: groups grow backwards from their last op
// through producers whose every user is already in the group, so fusing
// never duplicates work; a group holds at most one hero (contraction or
// reduction). Each group becomes a kiln.fusion region: one kernel.
//
//===----------------------------------------------------------------------===//
#include "ir/Dialect.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_FUSE
#include "passes/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

bool allFloat(Operation *op) {
  auto isFloatTensor = [](Type t) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    return tensor && isa<FloatType>(tensor.getElementType());
  };
  return llvm::all_of(op->getOperandTypes(), isFloatTensor) &&
         llvm::all_of(op->getResultTypes(), isFloatTensor);
}

/// Most ops in one fusion. Fused loop bodies grow with every op, and
/// lowering merges them pairwise, so huge groups would cost quadratic time
/// for no gain.
constexpr size_t kMaxFusionOps = 64;

bool isHero(Operation *op) { return op->hasTrait<KilnFusionHero>(); }
bool isContraction(Operation *op) { return isa<MatMulOp, GemmOp, ConvOp>(op); }
bool fusible(Operation *op) {
  return isa_and_nonnull<KilnDialect>(op->getDialect()) &&
         (op->hasTrait<KilnElementwise>() || isHero(op)) && allFloat(op) &&
         op->getNumResults() == 1;
}

/// "gemm_add_relu" from the ops' mnemonics, heroes first.
std::string kernelName(int index, ArrayRef<Operation *> ops) {
  std::string name = "fusion_" + std::to_string(index);
  for (bool heroes : {true, false})
    for (Operation *op : ops)
      if (isHero(op) == heroes && name.size() < 48)
        name += "_" + op->getName().stripDialect().str();
  return name;
}

struct FusePass : public impl::FuseBase<FusePass> {
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    SmallVector<Operation *> ops;
    func.walk([&](Operation *op) {
      if (op->getParentOp() == func.getOperation())
        ops.push_back(op);
    });
    DenseMap<Operation *, int> group;
    SmallVector<SmallVector<Operation *>> groups;
    for (Operation *seed : llvm::reverse(ops)) {
      if (group.count(seed) || !fusible(seed))
        continue;
      int g = groups.size();
      groups.emplace_back();
      SmallVector<Operation *> &members = groups.back();
      group[seed] = g;
      members.push_back(seed);
      bool hasHero = isHero(seed);
      SmallVector<Operation *> worklist = {seed};
      while (!worklist.empty() && members.size() < kMaxFusionOps) {
        Operation *op = worklist.pop_back_val();
        if (isContraction(op))
          continue; // Its inputs are read many times: never recompute them.
        for (Value v : op->getOperands()) {
          Operation *producer = v.getDefiningOp();
          if (!producer || group.count(producer) || !fusible(producer))
            continue;
          if ((isHero(producer) && hasHero) || members.size() >= kMaxFusionOps)
            continue;
          bool usersInside =
              llvm::all_of(producer->getUsers(), [&](Operation *u) {
                auto it = group.find(u);
                return it != group.end() && it->second == g;
              });
          if (!usersInside)
            continue;
          hasHero |= isHero(producer);
          group[producer] = g;
          members.push_back(producer);
          worklist.push_back(producer);
        }
      }
    }

    int index = 0;
    for (SmallVector<Operation *> &members : groups) {
      if (members.size() < 2)
        continue;
      llvm::sort(members, [](Operation *a, Operation *b) {
        return a->isBeforeInBlock(b);
      });
      buildFusion(members, index++);
    }
  }

  /// Replaces `members` (in program order; only the last has users outside)
  /// by one kiln.fusion placed where the last one was.
  void buildFusion(ArrayRef<Operation *> members, int index) {
    llvm::SmallPtrSet<Operation *, 8> inside(members.begin(), members.end());
    SmallVector<Value> inputs;
    for (Operation *op : members)
      for (Value v : op->getOperands())
        if (!inside.contains(v.getDefiningOp()) &&
            !llvm::is_contained(inputs, v))
          inputs.push_back(v);
    Operation *last = members.back();
    OpBuilder builder(last);
    auto fusion = builder.create<FusionOp>(
        last->getLoc(), last->getResultTypes(), inputs,
        builder.getStringAttr(kernelName(index, members)));
    Block *body = new Block();
    fusion.getBody().push_back(body);
    IRMapping mapping;
    for (Value in : inputs)
      mapping.map(in, body->addArgument(in.getType(), in.getLoc()));
    builder.setInsertionPointToStart(body);
    for (Operation *op : members)
      builder.clone(*op, mapping);
    builder.create<YieldOp>(last->getLoc(), mapping.lookup(last->getResult(0)));
    last->getResult(0).replaceAllUsesWith(fusion.getResult(0));
    for (Operation *op : llvm::reverse(members))
      op->erase();
  }
};

} // namespace
} // namespace kiln
