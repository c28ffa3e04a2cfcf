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

/// Whether every operand and result is a ranked tensor of floats, signless
/// integers or booleans: a comparison, Where, Cast or Not fuses like any
/// other elementwise op, so attention masks and clips stay in registers.
/// (Unsigned tensors are left out: a fusion body's arguments do not go
/// through the conversion to signless types.)
bool allNumeric(Operation *op) {
  auto isNumericTensor = [](Type t) {
    auto tensor = dyn_cast<RankedTensorType>(t);
    if (!tensor)
      return false;
    Type element = tensor.getElementType();
    return isa<FloatType>(element) || element.isSignlessInteger();
  };
  return llvm::all_of(op->getOperandTypes(), isNumericTensor) &&
         llvm::all_of(op->getResultTypes(), isNumericTensor);
}

/// Most ops in one fusion. Fused loop bodies grow with every op, and
/// lowering merges them pairwise, so huge groups would cost quadratic time
/// for no gain.
constexpr size_t kMaxFusionOps = 64;

bool isHero(Operation *op) { return op->hasTrait<KilnFusionHero>(); }
bool isContraction(Operation *op) { return op->hasTrait<KilnContraction>(); }
bool fusible(Operation *op) {
  return isa_and_nonnull<KilnDialect>(op->getDialect()) &&
         (isa<ElementwiseOpInterface>(op) || isHero(op)) && allNumeric(op) &&
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

    // Each group's output op: its seed, the member that others feed.
    SmallVector<SmallVector<Operation *, 1>> outputs;
    for (SmallVector<Operation *> &members : groups)
      outputs.push_back({members.front()});
    mergeSiblings(groups, outputs);

    int index = 0;
    for (auto [members, outs] : llvm::zip(groups, outputs)) {
      if (members.size() < 2)
        continue;
      llvm::sort(members, [](Operation *a, Operation *b) {
        return a->isBeforeInBlock(b);
      });
      llvm::sort(outs, [](Operation *a, Operation *b) {
        return a->isBeforeInBlock(b);
      });
      buildFusion(members, outs, index++);
    }
  }

  /// Sibling (multi-output) fusion: elementwise groups that read the same
  /// non-constant value and produce results of one shape merge into one
  /// kernel, which lowering turns into one loop reading that value once.
  /// Only when neither depends on the other, and the earlier one's users
  /// all come after the later one (where the merged kernel will stand).
  void mergeSiblings(SmallVector<SmallVector<Operation *>> &groups,
                     SmallVector<SmallVector<Operation *, 1>> &outputs) {
    auto elementwiseOnly = [](ArrayRef<Operation *> members) {
      return llvm::none_of(members, isHero);
    };
    auto lastOf = [](ArrayRef<Operation *> ops) {
      Operation *last = ops.front();
      for (Operation *op : ops)
        if (last->isBeforeInBlock(op))
          last = op;
      return last;
    };
    DenseMap<Operation *, int> groupOf;
    for (auto [g, members] : llvm::enumerate(groups))
      for (Operation *op : members)
        groupOf[op] = g;
    // The groups reading each value from outside themselves (constants
    // apart): siblings are looked for only among them.
    DenseMap<Value, SmallVector<size_t>> readers;
    SmallVector<SmallVector<Value>> reads(groups.size());
    for (auto [g, members] : llvm::enumerate(groups)) {
      for (Operation *op : members)
        for (Value v : op->getOperands()) {
          auto it = groupOf.find(v.getDefiningOp());
          if ((it != groupOf.end() && it->second == static_cast<int>(g)) ||
              isa_and_nonnull<ConstantOp>(v.getDefiningOp()) ||
              llvm::is_contained(reads[g], v))
            continue;
          reads[g].push_back(v);
          readers[v].push_back(g);
        }
    }
    SmallVector<bool> merged(groups.size(), false);
    for (size_t a = 0; a < groups.size(); ++a) {
      if (merged[a] || !elementwiseOnly(groups[a]))
        continue;
      SmallVector<size_t> candidates;
      for (Value v : reads[a])
        for (size_t b : readers[v])
          if (b > a)
            candidates.push_back(b);
      llvm::sort(candidates);
      candidates.erase(std::unique(candidates.begin(), candidates.end()),
                       candidates.end());
      for (size_t b : candidates) {
        if (merged[b] || !elementwiseOnly(groups[b]) ||
            groups[a].size() + groups[b].size() > kMaxFusionOps ||
            outputs[a].front()->getResultTypes() !=
                outputs[b].front()->getResultTypes())
          continue;
        Operation *lastA = lastOf(groups[a]), *lastB = lastOf(groups[b]);
        bool aFirst = lastA->isBeforeInBlock(lastB);
        size_t early = aFirst ? a : b;
        Operation *at = aFirst ? lastB : lastA;
        if (dependsOn(groups[a], groups[b], groupOf, b) ||
            dependsOn(groups[b], groups[a], groupOf, a) ||
            !usersAfter(outputs[early], at))
          continue;
        groups[a].append(groups[b].begin(), groups[b].end());
        outputs[a].append(outputs[b].begin(), outputs[b].end());
        for (Operation *op : groups[b])
          groupOf[op] = a;
        groups[b].clear();
        merged[b] = true;
      }
    }
    SmallVector<SmallVector<Operation *>> keptGroups;
    SmallVector<SmallVector<Operation *, 1>> keptOutputs;
    for (size_t g = 0; g < groups.size(); ++g)
      if (!merged[g]) {
        keptGroups.push_back(std::move(groups[g]));
        keptOutputs.push_back(std::move(outputs[g]));
      }
    groups = std::move(keptGroups);
    outputs = std::move(keptOutputs);
  }

  /// Whether group `to` reads, through any chain of ops, a result of group
  /// `from` (index `fromIndex` in `groupOf`).
  static bool dependsOn(ArrayRef<Operation *> to, ArrayRef<Operation *> from,
                        const DenseMap<Operation *, int> &groupOf,
                        int fromIndex) {
    llvm::SmallPtrSet<Operation *, 16> seen;
    SmallVector<Operation *> worklist(to.begin(), to.end());
    Operation *earliest = from.front();
    for (Operation *op : from)
      if (op->isBeforeInBlock(earliest))
        earliest = op;
    while (!worklist.empty()) {
      Operation *op = worklist.pop_back_val();
      for (Value v : op->getOperands()) {
        Operation *producer = v.getDefiningOp();
        if (!producer || producer->getBlock() != earliest->getBlock() ||
            producer->isBeforeInBlock(earliest) ||
            !seen.insert(producer).second)
          continue;
        auto it = groupOf.find(producer);
        if (it != groupOf.end() && it->second == fromIndex)
          return true;
        worklist.push_back(producer);
      }
    }
    return false;
  }

  /// Whether every user of `outs`' results comes after `at`.
  static bool usersAfter(ArrayRef<Operation *> outs, Operation *at) {
    for (Operation *out : outs)
      for (Operation *user : out->getUsers())
        if (user != at && !at->isBeforeInBlock(user))
          return false;
    return true;
  }

  /// Replaces `members` (in program order) by one kiln.fusion placed where
  /// the last one was; the results of `outs` (the only members used
  /// outside) become its results.
  void buildFusion(ArrayRef<Operation *> members, ArrayRef<Operation *> outs,
                   int index) {
    llvm::SmallPtrSet<Operation *, 8> inside(members.begin(), members.end());
    SmallVector<Value> inputs;
    for (Operation *op : members)
      for (Value v : op->getOperands())
        if (!inside.contains(v.getDefiningOp()) &&
            !llvm::is_contained(inputs, v))
          inputs.push_back(v);
    Operation *last = members.back();
    SmallVector<Type> resultTypes;
    for (Operation *out : outs)
      resultTypes.push_back(out->getResult(0).getType());
    OpBuilder builder(last);
    auto fusion = builder.create<FusionOp>(
        last->getLoc(), resultTypes, inputs,
        builder.getStringAttr(kernelName(index, members)));
    Block *body = new Block();
    fusion.getBody().push_back(body);
    IRMapping mapping;
    for (Value in : inputs)
      mapping.map(in, body->addArgument(in.getType(), in.getLoc()));
    builder.setInsertionPointToStart(body);
    for (Operation *op : members)
      builder.clone(*op, mapping);
    SmallVector<Value> yielded;
    for (Operation *out : outs)
      yielded.push_back(mapping.lookup(out->getResult(0)));
    builder.create<YieldOp>(last->getLoc(), yielded);
    for (auto [out, result] : llvm::zip(outs, fusion.getResults()))
      out->getResult(0).replaceAllUsesWith(result);
    for (Operation *op : llvm::reverse(members))
      op->erase();
  }
};

} // namespace
} // namespace kiln
