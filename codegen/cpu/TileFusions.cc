//===- TileFusions.cc - The kiln-cpu-tile-fusions pass --------------------===//
//
// Part of Kiln. After elementwise fusion, a kiln.fusion body is a few linalg
// ops: a hero (a contraction, a convolution or a reduction) feeding the
// linalg.generic that applies its epilogue. Left alone, the hero writes its
// whole result to memory and the epilogue reads it back. Here the root op
// (the one whose result the fusion yields) is tiled over its parallel loops
// and every producer inside the fusion is computed tile by tile in the same
// loop (scf::tileConsumerAndFuseProducersUsingSCF): the epilogue is applied
// while the hero's tile is still in cache, and only the root's result is
// stored whole. Softmax and normalizations become one loop over rows.
//
// A loop of the root is tiled only when every fused producer's slice moves
// with it, so no element of any producer is computed twice, and never
// across a producer's reduction.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cpu/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"

#include "mlir/Dialect/SCF/Transforms/TileUsingInterface.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/Transforms/Transforms.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/GreedyPatternRewriteDriver.h"
#include "llvm/ADT/SmallBitVector.h"

#include <numeric>

namespace kiln {
#define GEN_PASS_DEF_CPUTILEFUSIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Whether `expr` is 0 at every point of loops with `ranges`: the constant
/// or a loop of one iteration.
bool alwaysZero(AffineExpr expr, ArrayRef<int64_t> ranges) {
  if (auto constant = dyn_cast<AffineConstantExpr>(expr))
    return constant.getValue() == 0;
  auto dim = dyn_cast<AffineDimExpr>(expr);
  return dim && ranges[dim.getPosition()] == 1;
}

/// When `v` is a reshape (tensor.reshape or tensor.expand_shape) of a
/// static tensor that only adds dimensions of size 1 (a keepdims
/// reduction's result, [N, S] -> [N, S, 1]), the reshaped tensor.
Value unitExpansionSource(Value v) {
  Value source;
  if (auto reshape = v.getDefiningOp<tensor::ReshapeOp>())
    source = reshape.getSource();
  else if (auto expand = v.getDefiningOp<tensor::ExpandShapeOp>())
    source = expand.getSrc();
  if (!source)
    return {};
  auto from = cast<RankedTensorType>(source.getType());
  auto to = cast<RankedTensorType>(v.getType());
  auto withoutUnits = [](ArrayRef<int64_t> shape) {
    SmallVector<int64_t> rest;
    llvm::copy_if(shape, std::back_inserter(rest),
                  [](int64_t d) { return d != 1; });
    return rest;
  };
  if (!from.hasStaticShape() || !to.hasStaticShape() ||
      from.getRank() > to.getRank() ||
      withoutUnits(from.getShape()) != withoutUnits(to.getShape()))
    return {};
  return source;
}

/// A generic that reads a unit expansion of %x (above) reads %x instead,
/// its indexing map dropping the added dimensions (each indexed at 0).
/// Tiling can then reach the op that computes %x through the generic (a
/// layer normalization's mean and variance move with its rows) instead of
/// stopping at the reshape, which left such fusions untiled, on one thread.
void readThroughUnitExpansions(Block &body) {
  IRRewriter rewriter(body.getParentOp()->getContext());
  body.walk([&](linalg::GenericOp op) {
    SmallVector<int64_t> ranges = op.getStaticLoopRanges();
    SmallVector<AffineMap> maps = op.getIndexingMapsArray();
    bool changed = false;
    for (OpOperand *operand : op.getDpsInputOperands()) {
      Value source = unitExpansionSource(operand->get());
      if (!source)
        continue;
      ArrayRef<int64_t> from =
          cast<RankedTensorType>(source.getType()).getShape();
      ArrayRef<int64_t> to =
          cast<RankedTensorType>(operand->get().getType()).getShape();
      AffineMap map = maps[operand->getOperandNumber()];
      // Match the source's dimensions in order; a dimension of size 1 that
      // does not match must be indexed at 0 to be dropped.
      SmallVector<AffineExpr> exprs;
      size_t next = 0;
      bool foldable = true;
      for (auto [d, size] : llvm::enumerate(to)) {
        if (next < from.size() && from[next] == size) {
          exprs.push_back(map.getResult(d));
          ++next;
        } else if (size != 1 || !alwaysZero(map.getResult(d), ranges)) {
          foldable = false;
        }
      }
      if (!foldable || next != from.size())
        continue;
      SmallVector<AffineMap> folded = maps;
      folded[operand->getOperandNumber()] =
          AffineMap::get(map.getNumDims(), 0, exprs, op.getContext());
      // Every loop must still be indexed somewhere, or its range is lost.
      llvm::SmallBitVector used(map.getNumDims());
      for (AffineMap m : folded)
        for (AffineExpr e : m.getResults())
          e.walk([&](AffineExpr sub) {
            if (auto dim = dyn_cast<AffineDimExpr>(sub))
              used.set(dim.getPosition());
          });
      if (!used.all())
        continue;
      maps = std::move(folded);
      Operation *reshape = operand->get().getDefiningOp();
      rewriter.modifyOpInPlace(op, [&] { operand->set(source); });
      if (reshape->use_empty()) // Else a user outside would keep it whole.
        rewriter.eraseOp(reshape);
      changed = true;
    }
    if (changed)
      rewriter.modifyOpInPlace(op, [&] {
        op.setIndexingMapsAttr(rewriter.getAffineMapArrayAttr(maps));
      });
  });
}

/// The linalg ops of `body` that `root` reads, directly or through other
/// such ops, whose every user is the root or another of them: computing
/// them tile by tile leaves nothing else needing their whole result.
llvm::SetVector<Operation *> producersToFuse(linalg::LinalgOp root,
                                             Block &body) {
  llvm::SetVector<Operation *> set;
  SmallVector<Operation *> worklist = {root};
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    for (Value v : op->getOperands()) {
      Operation *producer = v.getDefiningOp();
      if (producer && producer->getBlock() == &body &&
          isa<linalg::LinalgOp>(producer) && producer->getNumResults() == 1 &&
          !producer->hasAttr(KilnDialect::kWholeAttr) && set.insert(producer))
        worklist.push_back(producer);
    }
  }
  // Drop ops with a user outside {root} U set, until none is left.
  bool changed = true;
  while (changed) {
    changed = false;
    for (Operation *op : llvm::make_early_inc_range(set)) {
      bool inside = llvm::all_of(op->getUsers(), [&](Operation *user) {
        return user == root.getOperation() || set.contains(user);
      });
      if (!inside) {
        set.remove(op);
        changed = true;
      }
    }
  }
  // Ops now unreachable from the root through the set are not fused either.
  llvm::SetVector<Operation *> reachable;
  worklist = {root};
  while (!worklist.empty()) {
    Operation *op = worklist.pop_back_val();
    for (Value v : op->getOperands())
      if (Operation *producer = v.getDefiningOp())
        if (set.contains(producer) && reachable.insert(producer))
          worklist.push_back(producer);
  }
  return reachable;
}

/// Whether tiling loop `loop` of `op` gives every fused producer (in `set`)
/// a slice that moves with the tile: the loop must index each such operand
/// directly and map to a parallel loop of its producer, recursively.
bool tileable(linalg::LinalgOp op, unsigned loop,
              const llvm::SetVector<Operation *> &set) {
  if (op.getIteratorTypesArray()[loop] != utils::IteratorType::parallel)
    return false;
  for (OpOperand &operand : op->getOpOperands()) {
    auto producer = operand.get().getDefiningOp<linalg::LinalgOp>();
    if (!producer || !set.contains(producer))
      continue;
    AffineMap map = op.getMatchingIndexingMap(&operand);
    std::optional<unsigned> position =
        map.getResultPosition(getAffineDimExpr(loop, op->getContext()));
    if (!position)
      return false; // Every tile would recompute the same slice.
    AffineMap producerMap =
        producer.getIndexingMapMatchingResult(cast<OpResult>(operand.get()));
    if (!producerMap.isProjectedPermutation())
      return false;
    if (!tileable(producer, producerMap.getDimPosition(*position), set))
      return false;
  }
  return true;
}

/// What a tile of loop `loop` of `op` must be a multiple of: every c of a
/// `floordiv c` or `mod c` of that loop in the maps of `op` and of the
/// producers in `set` it reaches (a Winograd output transform's
/// P[h floordiv 4] and AT[h mod 4]), so that each tile's indices, counted
/// from its first point, still give the right rows.
int64_t tileMultiple(linalg::LinalgOp op, unsigned loop,
                     const llvm::SetVector<Operation *> &set) {
  int64_t multiple = 1;
  for (AffineMap map : op.getIndexingMapsArray())
    for (AffineExpr result : map.getResults())
      result.walk([&](AffineExpr e) {
        auto binary = dyn_cast<AffineBinaryOpExpr>(e);
        if (!binary || !binary.getLHS().isFunctionOfDim(loop) ||
            (e.getKind() != AffineExprKind::FloorDiv &&
             e.getKind() != AffineExprKind::CeilDiv &&
             e.getKind() != AffineExprKind::Mod))
          return;
        if (auto c = dyn_cast<AffineConstantExpr>(binary.getRHS()))
          multiple = std::lcm(multiple, c.getValue());
      });
  for (OpOperand &operand : op->getOpOperands()) {
    auto producer = operand.get().getDefiningOp<linalg::LinalgOp>();
    if (!producer || !set.contains(producer))
      continue;
    std::optional<unsigned> position =
        op.getMatchingIndexingMap(&operand).getResultPosition(
            getAffineDimExpr(loop, op->getContext()));
    AffineMap producerMap =
        producer.getIndexingMapMatchingResult(cast<OpResult>(operand.get()));
    if (position && producerMap.isProjectedPermutation())
      multiple = std::lcm(
          multiple,
          tileMultiple(producer, producerMap.getDimPosition(*position), set));
  }
  return multiple;
}

/// The largest divisor of `n` that is at most `limit` (at least 1).
int64_t largestDivisorAtMost(int64_t n, int64_t limit) {
  for (int64_t d = std::min(n, std::max<int64_t>(limit, 1)); d > 1; --d)
    if (n % d == 0)
      return d;
  return 1;
}

/// Tile sizes for `root`'s loops (0: not tiled). Innermost loops first, a
/// tile holds about `tileElements` output points; sizes divide the loop
/// ranges so every tile has a static shape. Empty when nothing is tiled.
SmallVector<int64_t> chooseTileSizes(linalg::LinalgOp root,
                                     const llvm::SetVector<Operation *> &set,
                                     int64_t tileElements) {
  SmallVector<int64_t> ranges = root.getStaticLoopRanges();
  SmallVector<int64_t> sizes(ranges.size(), 0);
  if (llvm::any_of(ranges, ShapedType::isDynamic))
    return {};
  // An output point of a reduction (a mean, softmax's sum) costs its whole
  // reduction: a tile of a layer normalization's rows holds rows x width
  // of work, not rows. Contractions keep their tiles of output points,
  // which the vectorized contraction's blocks are sized for.
  int64_t elements = 1;
  auto countWork = [&](Operation *op) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    if (!generic || generic.getNumReductionLoops() == 0 ||
        isMultiplyAccumulate(generic) || !generic.getShapesToLoopsMap())
      return;
    int64_t work = 1;
    SmallVector<int64_t> opRanges = generic.getStaticLoopRanges();
    for (auto [range, iterator] :
         llvm::zip(opRanges, generic.getIteratorTypesArray()))
      if (iterator == utils::IteratorType::reduction)
        work *= ShapedType::isDynamic(range) ? 1 : range;
    elements = std::max(elements, work);
  };
  countWork(root);
  llvm::for_each(set, countWork);
  bool tiled = false;
  auto isConvolution = [](Operation *op) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    return linalgOp && linalgOp.getNumReductionLoops() > 0 &&
           llvm::any_of(linalgOp.getIndexingMapsArray(), [](AffineMap map) {
             return !map.isProjectedPermutation();
           });
  };
  auto isMatmul = [&](Operation *op) {
    auto generic = dyn_cast<linalg::GenericOp>(op);
    return generic && generic.getNumReductionLoops() > 0 &&
           isMultiplyAccumulate(generic) && !isConvolution(op);
  };
  bool convolution = isConvolution(root) || llvm::any_of(set, isConvolution);
  // The innermost tiled loop takes at most 1/16 of the tile, so a tile has
  // rows to share what it reads: a contraction's tile of 16 rows x 256
  // columns reads each weight row once for 16 output rows, where a tile of
  // one long row would stream all the weights once per output row.
  //
  // A matmul's tiles are twice as large and take 64 columns (its weights'
  // panels are at most that wide), so up to 128 rows: a tile's rows read
  // its columns of B from the cache, and B is streamed from memory once
  // per 128 rows instead of once per 16 (bert_layer's FFN weights are
  // 9.4 MB, more than an L2 and, with neighbours, than a share of L3:
  // 28.7 -> 24.6 ms on one thread of an AVX2 host). With no more rows
  // than that, only the columns are tiled: the grid runs along them. A
  // matmul of at most 16 rows keeps the usual tiles (each reads B once
  // anyway; mlp_b1's tiles of 1 x 64 were slower than 1 x 256).
  SmallVector<utils::IteratorType> iterators = root.getIteratorTypesArray();
  int64_t rows = 1;
  bool columns = true; // The innermost parallel loop is not a row.
  for (int64_t loop = ranges.size() - 1; loop >= 0; --loop)
    if (iterators[loop] == utils::IteratorType::parallel) {
      if (!columns)
        rows *= ranges[loop];
      columns = false;
    }
  int64_t budget = tileElements;
  int64_t innerLimit = std::max<int64_t>(tileElements / 16, 8);
  if (!convolution && rows > 16 &&
      (isMatmul(root) || llvm::any_of(set, isMatmul))) {
    budget = 2 * tileElements;
    innerLimit = std::max<int64_t>(tileElements / 64, 8);
  }
  bool inner = true;
  // In a convolution's tile the rows loop keeps up to kRows of its range
  // for itself, so that a tile spans several output channels: the
  // vectorized convolution then has rows that share each load of the
  // input (VectorizeContractions.cc). The rows loop is the outermost one
  // the root's image does not read (the output channels; a Winograd
  // middle's m, inside its components), else the outermost loop (a
  // depthwise convolution, a fusion whose root is elementwise).
  constexpr int64_t kRows = 8;
  std::optional<int64_t> rowsLoop;
  if (convolution) {
    llvm::SmallBitVector imageReads(ranges.size());
    for (OpOperand *input : root.getDpsInputOperands()) {
      AffineMap map = root.getMatchingIndexingMap(input);
      if (map.isProjectedPermutation())
        continue;
      for (unsigned d = 0; d < map.getNumDims(); ++d)
        if (map.isFunctionOfDim(d))
          imageReads.set(d);
    }
    for (int64_t loop = 0; loop < static_cast<int64_t>(ranges.size()); ++loop)
      if (ranges[loop] > 1 && tileable(root, loop, set)) {
        if (!rowsLoop)
          rowsLoop = loop;
        if (imageReads.any() && !imageReads.test(loop)) {
          rowsLoop = loop;
          break;
        }
      }
  }
  int64_t reserved =
      rowsLoop ? largestDivisorAtMost(ranges[*rowsLoop], kRows) : 1;
  for (int64_t loop = ranges.size() - 1; loop >= 0; --loop) {
    if (iterators[loop] == utils::IteratorType::reduction)
      continue; // Not an output dimension; never tiled.
    bool innermost = inner;
    inner = false;
    if (!tileable(root, loop, set)) {
      elements *= ranges[loop];
      continue;
    }
    int64_t limit = budget / elements;
    if (rowsLoop && loop != *rowsLoop)
      limit = std::max<int64_t>(limit / reserved, 1);
    if (innermost)
      limit = std::min(limit, innerLimit);
    // The largest divisor of the range within the limit that is a
    // multiple of what the loop's indices need (at least that multiple;
    // the whole range when it is not one).
    int64_t multiple = tileMultiple(root, loop, set);
    int64_t size = ranges[loop];
    if (ranges[loop] % multiple == 0)
      size = multiple *
             largestDivisorAtMost(ranges[loop] / multiple, limit / multiple);
    if (size < ranges[loop]) {
      sizes[loop] = size;
      tiled = true;
    }
    elements *= size;
  }
  return tiled ? sizes : SmallVector<int64_t>{};
}

/// Tiles `root` with the producers in `set` fused into its tile loop.
void tileWithProducers(RewriterBase &rewriter, linalg::LinalgOp root,
                       const llvm::SetVector<Operation *> &set,
                       int64_t tileElements) {
  SmallVector<int64_t> sizes = chooseTileSizes(root, set, tileElements);
  if (sizes.empty())
    return;
  scf::SCFTileAndFuseOptions options;
  options.tilingOptions.setTileSizes(
      getAsIndexOpFoldResult(rewriter.getContext(), sizes));
  options.setFusionControlFn(
      [&](tensor::ExtractSliceOp, OpResult producer, bool) {
        return std::make_tuple(set.contains(producer.getOwner()), false);
      });
  rewriter.setInsertionPoint(root);
  FailureOr<scf::SCFTileAndFuseResult> result =
      scf::tileConsumerAndFuseProducersUsingSCF(
          rewriter, cast<TilingInterface>(root.getOperation()), options);
  if (failed(result))
    return; // The untiled form is correct too.
  for (OpResult r : root->getResults())
    rewriter.replaceAllUsesWith(r, result->replacements.lookup(r));
  // Tiles of the root's parallel loops are independent: the outermost
  // tile loop can be a kernel's grid.
  if (!result->loops.empty())
    result->loops.front()->setAttr(KilnDialect::kParallelAttr,
                                   rewriter.getUnitAttr());
}

/// Erases what tiling left dead, gives each tile a tile-sized temporary
/// (slices of empty tensors become small empty tensors) and merges the
/// copies of a producer fused once per path that reads it (softmax's exp
/// feeds both the sum and the division): they are identical, CSE keeps one.
void cleanUpAfterTiling(RewriterBase &rewriter, Operation *scope) {
  for (Region &region : scope->getRegions())
    for (Block &block : region)
      for (Operation &op : llvm::make_early_inc_range(llvm::reverse(block)))
        if (isOpTriviallyDead(&op))
          rewriter.eraseOp(&op);
  RewritePatternSet patterns(scope->getContext());
  tensor::populateFoldTensorEmptyPatterns(patterns);
  (void)applyPatternsAndFoldGreedily(scope, std::move(patterns));
  DominanceInfo dominance(scope);
  eliminateCommonSubExpressions(rewriter, dominance, scope);
}

/// Tiles each op whose result a fusion body yields, with its producers in
/// the body computed tile by tile in the same loop nest.
void tileFusionRoots(Block &body, int64_t tileElements) {
  IRRewriter rewriter(body.getParentOp()->getContext());
  SmallVector<linalg::LinalgOp> roots;
  for (Value v : body.getTerminator()->getOperands())
    if (auto root = v.getDefiningOp<linalg::LinalgOp>())
      if (!llvm::is_contained(roots, root))
        roots.push_back(root);
  for (linalg::LinalgOp root : roots) {
    llvm::SetVector<Operation *> set = producersToFuse(root, body);
    if (!set.empty() && root->getNumResults() > 0)
      tileWithProducers(rewriter, root, set, tileElements);
  }
  cleanUpAfterTiling(rewriter, body.getParentOp());
}

/// Tiles each contraction, convolution or reduction that is a kernel of
/// its own (no fusion took it, e.g. a convolution whose consumer fused
/// with a reduction, or an attention's softmax between two matmuls) like a
/// fusion: the last op its node lowered to (Gemm's bias add, the
/// convolution, softmax's division) is the root, computed tile by tile
/// with the node's other ops that produce its operands (the contraction,
/// its bias, its padding; softmax's max and sum). The kernel is then one
/// loop nest with a grid that the runtime can split over threads. A
/// node's ops share its location.
void tileUnfusedNodes(Block &body, int64_t tileElements) {
  IRRewriter rewriter(body.getParentOp()->getContext());
  SmallVector<linalg::LinalgOp> roots;
  std::optional<Location> node;
  bool hero = false; // The node has a contraction or a reduction.
  linalg::LinalgOp last;
  auto finishNode = [&] {
    if (hero && last)
      roots.push_back(last);
    hero = false;
    last = nullptr;
  };
  for (Operation &op : body) {
    auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
    if (!linalgOp || linalgOp->getNumResults() != 1)
      continue;
    if (!node || *node != op.getLoc())
      finishNode();
    node = op.getLoc();
    last = linalgOp;
    hero |= linalgOp.getNumReductionLoops() > 0;
  }
  finishNode();
  for (linalg::LinalgOp root : roots) {
    llvm::SetVector<Operation *> set;
    for (Operation *op : producersToFuse(root, body))
      if (op->getLoc() == root->getLoc())
        set.insert(op);
    tileWithProducers(rewriter, root, set, tileElements);
  }
  cleanUpAfterTiling(rewriter, body.getParentOp());
}

struct CpuTileFusionsPass
    : public impl::CpuTileFusionsBase<CpuTileFusionsPass> {
  using CpuTileFusionsBase::CpuTileFusionsBase;
  void runOnOperation() override {
    if (tileElements <= 0)
      return;
    getOperation().walk([&](FusionOp fusion) {
      readThroughUnitExpansions(fusion.getBody().front());
      tileFusionRoots(fusion.getBody().front(), tileElements);
    });
    readThroughUnitExpansions(getOperation().getBody().front());
    tileUnfusedNodes(getOperation().getBody().front(), tileElements);
  }
};

} // namespace
} // namespace kiln
