//===- PlanMemory.cc - Static memory planning -----------------------------===//
//
// Part of Kiln. Every intermediate buffer of a kernel function gets an
// offset in one arena, computed at compile time, so that a run makes one
// allocation instead of one per buffer and reuses memory as soon as a
// buffer is dead. Placement is greedy by size (largest first, lowest
// fitting offset), which is what TFLite's and XLA's planners start from.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Interfaces/CallInterfaces.h"
#include "mlir/Interfaces/ControlFlowInterfaces.h"
#include "mlir/Interfaces/ViewLikeInterface.h"

#include "llvm/ADT/DenseSet.h"

#include <algorithm>
#include <functional>

namespace kiln {
#define GEN_PASS_DEF_PLANMEMORY
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

constexpr int64_t kAlignment = 64;

int64_t alignUp(int64_t n) {
  return (n + kAlignment - 1) / kAlignment * kAlignment;
}

/// One slot of the arena: an alloc, or several when elementwise kernels
/// write in place over an input that dies there.
struct Buffer {
  SmallVector<memref::AllocOp, 1> allocs;
  int64_t bytes = 0;        ///< Rounded up to the alignment.
  int64_t elementBytes = 0; ///< Storage size of one element.
  int64_t numElements = 0;
  int64_t start = 0, end = 0; ///< Op positions, inclusive.
  /// Position of the first op that uses the buffer (INT64_MAX if none).
  int64_t firstUse = INT64_MAX;
  int64_t offset = -1;
};

/// Storage bytes of one element of `type` (an i1 takes a byte).
int64_t elementBytes(MemRefType type) {
  return std::max<int64_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
}

/// Bytes of a statically shaped memref.
int64_t memrefBytes(MemRefType type) {
  return type.getNumElements() * elementBytes(type);
}

/// Places `order`'s buffers one by one: each takes the fitting gap (among
/// buffers live at the same time) that is lowest (first fit) or tightest
/// (best fit). Returns the arena size; offsets go in `offsets`.
int64_t placeInOrder(ArrayRef<Buffer *> order, bool bestFit,
                     DenseMap<Buffer *, int64_t> &offsets) {
  int64_t arena = 0;
  SmallVector<Buffer *> placed;
  for (Buffer *b : order) {
    SmallVector<std::pair<int64_t, int64_t>> taken;
    for (Buffer *p : placed)
      if (p->start <= b->end && b->start <= p->end)
        taken.push_back({offsets[p], offsets[p] + p->bytes});
    llvm::sort(taken);
    int64_t best = -1, bestGap = INT64_MAX, cursor = 0;
    for (auto [lo, hi] : taken) {
      if (lo - cursor >= b->bytes && lo - cursor < bestGap) {
        best = cursor;
        bestGap = lo - cursor;
        if (!bestFit)
          break;
      }
      cursor = std::max(cursor, hi);
    }
    if (best < 0 || (bestFit && bestGap == INT64_MAX))
      best = best < 0 ? cursor : best;
    offsets[b] = best;
    arena = std::max(arena, best + b->bytes);
    placed.push_back(b);
  }
  return arena;
}

/// Tries a few orders (largest first, earliest first, longest-lived first,
/// biggest size x lifetime first) with first and best fit, and keeps the
/// smallest arena. Writes the offsets into the buffers.
int64_t planArena(MutableArrayRef<Buffer> buffers) {
  using Key = std::function<bool(Buffer *, Buffer *)>;
  SmallVector<Key> keys = {
      [](Buffer *a, Buffer *b) { return a->bytes > b->bytes; },
      [](Buffer *a, Buffer *b) {
        return a->start != b->start ? a->start < b->start : a->bytes > b->bytes;
      },
      [](Buffer *a, Buffer *b) {
        return a->end - a->start > b->end - b->start;
      },
      [](Buffer *a, Buffer *b) {
        return a->bytes * (a->end - a->start + 1) >
               b->bytes * (b->end - b->start + 1);
      },
  };
  int64_t bestArena = INT64_MAX;
  DenseMap<Buffer *, int64_t> bestOffsets;
  for (const Key &key : keys) {
    SmallVector<Buffer *> order;
    for (Buffer &b : buffers)
      order.push_back(&b);
    llvm::stable_sort(order, key);
    for (bool bestFit : {false, true}) {
      DenseMap<Buffer *, int64_t> offsets;
      int64_t arena = placeInOrder(order, bestFit, offsets);
      if (arena < bestArena) {
        bestArena = arena;
        bestOffsets = offsets;
      }
    }
  }
  for (Buffer &b : buffers)
    b.offset = bestOffsets.lookup(&b);
  return buffers.empty() ? 0 : bestArena;
}

/// The buffer's allocs and every view of them.
DenseSet<Value> aliasesOf(const Buffer &b) {
  DenseSet<Value> aliases;
  SmallVector<Value> worklist;
  for (memref::AllocOp a : b.allocs)
    worklist.push_back(a.getResult());
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    if (!aliases.insert(v).second)
      continue;
    for (Operation *user : v.getUsers())
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v)
          llvm::append_range(worklist, user->getResults());
  }
  return aliases;
}

/// An elementwise kernel (all-parallel linalg.generic) whose output is a
/// planned buffer and one of whose inputs is a planned buffer read at the
/// same index and dying at this kernel, can write over that input: the two
/// share a slot. That is safe only when element i of the output occupies
/// exactly the bytes of element i of the input, so both must have the same
/// element size and count: an f32 written over i1 or f16 elements would
/// overwrite inputs not yet read (the aligned slot sizes can still agree).
void writeInPlace(Block &body, DenseMap<Operation *, int64_t> &position,
                  SmallVector<Buffer> &buffers) {
  DenseMap<Value, int64_t> slotOf;
  for (auto [i, b] : llvm::enumerate(buffers))
    slotOf[b.allocs.front().getResult()] = i;
  SmallVector<bool> merged(buffers.size(), false);
  for (Operation &op : body) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || generic.getNumDpsInits() != 1 ||
        generic.getNumReductionLoops() != 0)
      continue;
    OpOperand *out = generic.getDpsInitOperand(0);
    auto outSlot = slotOf.find(out->get());
    if (outSlot == slotOf.end() || merged[outSlot->second])
      continue;
    AffineMap outMap = generic.getMatchingIndexingMap(out);
    for (OpOperand *in : generic.getDpsInputOperands()) {
      auto inSlot = slotOf.find(in->get());
      if (inSlot == slotOf.end() || inSlot->second == outSlot->second ||
          merged[inSlot->second])
        continue;
      int64_t srcIndex = inSlot->second, dstIndex = outSlot->second;
      Buffer &src = buffers[srcIndex], &dst = buffers[dstIndex];
      // The kernel must reach the input's bytes through that one operand
      // only: not through a second operand (a view of the same buffer),
      // nor from inside its body (Gather reads its data with loads there).
      DenseSet<Value> aliases = aliasesOf(src);
      bool readOnce =
          llvm::count_if(op.getOperands(),
                         [&](Value v) { return aliases.contains(v); }) == 1 &&
          llvm::none_of(aliases, [&](Value v) {
            return llvm::any_of(v.getUsers(), [&](Operation *u) {
              return op.isProperAncestor(u);
            });
          });
      // The output must be first touched by this kernel: an output written
      // earlier (the kernel updates it in place) is live together with the
      // input until here, and the two cannot share bytes.
      if (src.elementBytes != dst.elementBytes ||
          src.numElements != dst.numElements || src.end != position[&op] ||
          dst.firstUse != position[&op] || !readOnce ||
          generic.getMatchingIndexingMap(in) != outMap ||
          !outMap.isPermutation())
        continue;
      src.start = std::min(src.start, dst.start);
      src.end = std::max(src.end, dst.end);
      src.firstUse = std::min(src.firstUse, dst.firstUse);
      src.allocs.append(dst.allocs.begin(), dst.allocs.end());
      for (memref::AllocOp a : dst.allocs)
        slotOf[a.getResult()] = srcIndex;
      merged[dstIndex] = true;
      break;
    }
  }
  SmallVector<Buffer> kept;
  for (auto [i, b] : llvm::enumerate(buffers))
    if (!merged[i])
      kept.push_back(b);
  buffers = std::move(kept);
}

/// Whether `alloc`'s buffer, through any view of it, is only read and
/// written where it is made: never yielded from a region or passed into one.
bool staysLocal(memref::AllocOp alloc) {
  SmallVector<Value> worklist = {alloc.getResult()};
  while (!worklist.empty()) {
    Value v = worklist.pop_back_val();
    for (OpOperand &use : v.getUses()) {
      Operation *user = use.getOwner();
      if (user->hasTrait<OpTrait::IsTerminator>() ||
          isa<RegionBranchOpInterface, CallOpInterface>(user))
        return false;
      if (auto view = dyn_cast<ViewLikeOpInterface>(user))
        if (view.getViewSource() == v)
          llvm::append_range(worklist, user->getResults());
    }
  }
  return true;
}

/// Moves statically sized allocs out of loops (a tiled kernel's temporary
/// tile) to just before the top-level op that holds them. A fresh alloc's
/// contents are undefined, so every iteration writes such a tile before
/// reading it, and iterations run one after another: one buffer serves
/// them all. (Parallel loops need one per thread: the hoisted allocs are
/// returned, and their arena views marked kiln.scratch.)
llvm::DenseSet<Operation *> hoistNestedAllocs(Block &body) {
  SmallVector<memref::AllocOp> nested;
  body.walk([&](memref::AllocOp alloc) {
    if (alloc->getBlock() != &body && alloc.getDynamicSizes().empty() &&
        alloc.getSymbolOperands().empty() && staysLocal(alloc))
      nested.push_back(alloc);
  });
  for (memref::AllocOp alloc : nested) {
    Operation *top = alloc;
    while (top->getBlock() != &body)
      top = top->getParentOp();
    alloc->moveBefore(top);
  }
  return llvm::DenseSet<Operation *>(nested.begin(), nested.end());
}

struct PlanMemoryPass : public impl::PlanMemoryBase<PlanMemoryPass> {
  using PlanMemoryBase::PlanMemoryBase;
  void runOnOperation() override {
    func::FuncOp func = getOperation();
    if (func.isExternal())
      return;
    if (!llvm::hasSingleElement(func.getBody())) {
      func.emitError("memory planning expects a single-block function");
      return signalPassFailure();
    }
    Block &body = func.getBody().front();
    llvm::DenseSet<Operation *> scratch = hoistNestedAllocs(body);

    // Positions of the top-level ops; a nested use counts at its ancestor.
    DenseMap<Operation *, int64_t> position;
    for (auto [i, op] : llvm::enumerate(body))
      position[&op] = i;
    auto topLevel = [&](Operation *op) {
      while (op->getBlock() != &body)
        op = op->getParentOp();
      return position.lookup(op);
    };

    SmallVector<Buffer> buffers;
    for (Operation &op : body) {
      auto alloc = dyn_cast<memref::AllocOp>(op);
      if (!alloc)
        continue;
      MemRefType type = alloc.getType();
      if (!type.hasStaticShape() || !type.getLayout().isIdentity() ||
          !alloc.getDynamicSizes().empty())
        continue; // Left as it is (not produced by Kiln's lowering).
      Buffer b;
      b.allocs.push_back(alloc);
      b.bytes = alignUp(memrefBytes(type));
      b.elementBytes = elementBytes(type);
      b.numElements = type.getNumElements();
      b.start = b.end = position[&op];
      // The last use of the buffer or of any view of it.
      SmallVector<Value> worklist = {alloc.getResult()};
      while (!worklist.empty()) {
        Value v = worklist.pop_back_val();
        for (OpOperand &use : v.getUses()) {
          Operation *user = use.getOwner();
          b.end = std::max(b.end, topLevel(user));
          b.firstUse = std::min(b.firstUse, topLevel(user));
          // Views alias their source; so may any other op returning a
          // buffer (a loop's results are its iteration arguments).
          auto view = dyn_cast<ViewLikeOpInterface>(user);
          if (view && view.getViewSource() != v)
            continue;
          for (Value r : user->getResults())
            if (isa<BaseMemRefType>(r.getType()))
              worklist.push_back(r);
          // A buffer a region yields lives on as its op's result (an
          // scf.if's branches write their results in place).
          if (isa<scf::YieldOp>(user) && user->getParentOp() &&
              use.getOperandNumber() < user->getParentOp()->getNumResults())
            worklist.push_back(
                user->getParentOp()->getResult(use.getOperandNumber()));
        }
      }
      buffers.push_back(b);
    }

    int64_t unplanned = 0;
    for (Buffer &b : buffers)
      unplanned += b.bytes;
    if (reuse) {
      writeInPlace(body, position, buffers);
    } else {
      // Every buffer lives through the whole function: none shares bytes.
      for (Buffer &b : buffers) {
        b.start = 0;
        b.end = static_cast<int64_t>(position.size());
      }
    }
    int64_t arena = planArena(buffers);
    // The lower bound: the most bytes live at any one position.
    int64_t lowerBound = 0;
    for (Buffer &b : buffers) {
      int64_t live = 0;
      for (Buffer &other : buffers)
        if (other.start <= b.start && b.start <= other.end)
          live += other.bytes;
      lowerBound = std::max(lowerBound, live);
    }

    OpBuilder builder(&body, body.begin());
    MLIRContext *ctx = &getContext();
    func->setAttr(KilnDialect::kArenaBytesAttr,
                  builder.getI64IntegerAttr(arena));
    func->setAttr(KilnDialect::kArenaLowerBoundAttr,
                  builder.getI64IntegerAttr(lowerBound));
    func->setAttr(KilnDialect::kUnplannedBytesAttr,
                  builder.getI64IntegerAttr(unplanned));
    // The arena is the caller's: a new last argument.
    Location loc = func.getLoc();
    auto arenaType = MemRefType::get({arena}, IntegerType::get(ctx, 8));
    unsigned arenaIndex = func.getNumArguments();
    func.insertArgument(arenaIndex, arenaType,
                        builder.getDictionaryAttr(builder.getNamedAttr(
                            KilnDialect::kArenaAttr, builder.getUnitAttr())),
                        loc);
    Value arenaValue = func.getArgument(arenaIndex);
    for (Buffer &b : buffers)
      for (memref::AllocOp alloc : b.allocs) {
        builder.setInsertionPoint(alloc);
        Value offset =
            builder.create<arith::ConstantIndexOp>(alloc.getLoc(), b.offset);
        auto view = builder.create<memref::ViewOp>(
            alloc.getLoc(), alloc.getType(), arenaValue, offset, ValueRange{});
        if (scratch.contains(alloc))
          view->setAttr(KilnDialect::kScratchAttr, builder.getUnitAttr());
        alloc.replaceAllUsesWith(view.getResult());
        alloc.erase();
      }
    // Temporaries are never freed one by one.
    for (Operation &op : llvm::make_early_inc_range(body))
      if (auto dealloc = dyn_cast<memref::DeallocOp>(op))
        if (!dealloc.getMemref().getDefiningOp<memref::AllocOp>())
          dealloc.erase();
  }
};

} // namespace
} // namespace kiln
