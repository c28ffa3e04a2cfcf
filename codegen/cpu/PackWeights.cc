//===- PackWeights.cc - The kiln-cpu-pack-weights pass --------------------===//
//
// Part of Kiln. The vectorized matmul (kiln-cpu-vectorize-contractions)
// reads its right-hand matrix B[K][N] a block of NV vectors per reduction
// step, one row of B after the other: for bert's [768][3072] weights those
// reads are 12 KiB apart, so a block's stream over the reduction touches a
// new page every step and its lines collide in the L1 cache's sets. A
// constant B is stored here as panels Bp[N/P][K][P] instead (P = NV
// vectors: one block's columns), at compile time, so that each block reads
// one contiguous stream: Bp[j floordiv P][k][j mod P] = B[k][j]. The
// contraction reads the panels through that map; the microkernel's loads of
// a vector stay inside one panel because blocks start at multiples of P.
//
// Runs after kiln-cpu-tile-fusions: a tile's slice of B (columns j0 to
// j0 + T) becomes the panels j0 / P to (j0 + T) / P, so the tiles' column
// offsets and widths must be multiples of P; otherwise B stays as it is.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cpu/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

#include <cstring>

namespace kiln {
#define GEN_PASS_DEF_CPUPACKWEIGHTS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Whether `offset` is a multiple of `panel` whatever the tile: a constant
/// one, or a tile loop's induction variable starting at and stepping by
/// multiples of it.
bool alignedTo(OpFoldResult offset, int64_t panel) {
  if (std::optional<int64_t> c = getConstantIntValue(offset))
    return *c % panel == 0;
  auto iv = dyn_cast<BlockArgument>(dyn_cast<Value>(offset));
  auto loop = iv ? dyn_cast<scf::ForOp>(iv.getOwner()->getParentOp()) : nullptr;
  if (!loop || loop.getInductionVar() != iv)
    return false;
  std::optional<int64_t> lower = getConstantIntValue(loop.getLowerBound());
  std::optional<int64_t> step = getConstantIntValue(loop.getStep());
  return lower && step && *lower % panel == 0 && *step % panel == 0;
}

/// B's elements as panels: [K...][N] -> [N / panel][K...][panel].
DenseElementsAttr packPanels(DenseElementsAttr data, int64_t panel) {
  auto type = cast<RankedTensorType>(data.getType());
  int64_t columns = type.getShape().back();
  int64_t rows = type.getNumElements() / columns;
  size_t bytes = type.getElementTypeBitWidth() / 8;
  ArrayRef<char> from = data.getRawData();
  std::vector<char> to(from.size());
  for (int64_t k = 0; k < rows; ++k)
    for (int64_t j = 0; j < columns; j += panel)
      std::memcpy(&to[((j / panel) * rows + k) * panel * bytes],
                  &from[(k * columns + j) * bytes], panel * bytes);
  SmallVector<int64_t> shape = {columns / panel};
  llvm::append_range(shape, type.getShape().drop_back());
  shape.push_back(panel);
  return DenseElementsAttr::getFromRawBuffer(
      RankedTensorType::get(shape, type.getElementType()), to);
}

/// A contraction whose input `operand` is a constant B[K...][N] (or a
/// tile's slice of one) read as B[k...][j], the k reduction dimensions and
/// j an output dimension, to be read as panels of `panel`
/// columns instead: a matmul's B, a channels-last convolution filter
/// W[ic][kh][kw][oc] (kiln-cpu-output-channels-last).
struct Candidate {
  linalg::GenericOp op;
  unsigned operand;
  DenseElementsAttr data;
  SmallVector<OpFoldResult> offsets; ///< Of the tile's slice of B.
};

std::optional<Candidate> match(linalg::GenericOp op, int64_t panel) {
  // Any layout of an input is correct; this one pays where the microkernel
  // reads B: a multiply-accumulate of two inputs.
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0 ||
      !isMultiplyAccumulate(op))
    return std::nullopt;
  auto outType = cast<RankedTensorType>(op.getDpsInits()[0].getType());
  if (!(outType.getElementType().isF32() || outType.getElementType().isF64()))
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  auto isReduction = [&](AffineExpr e) {
    auto d = dyn_cast<AffineDimExpr>(e);
    return d && iterators[d.getPosition()] == utils::IteratorType::reduction;
  };
  for (unsigned w = 0; w < 2; ++w) {
    OpOperand *b = op.getDpsInputOperand(w);
    AffineMap map = op.getMatchingIndexingMap(b);
    AffineMap other = op.getMatchingIndexingMap(op.getDpsInputOperand(1 - w));
    // j: B's innermost index, an output dimension the other input does not
    // read (the microkernel's vectors run along it).
    if (map.getNumResults() < 2)
      continue;
    auto j = dyn_cast<AffineDimExpr>(map.getResults().back());
    if (!j || !out.getResultPosition(j) ||
        other.isFunctionOfDim(j.getPosition()) ||
        !llvm::all_of(map.getResults().drop_back(), isReduction))
      continue;
    auto type = cast<RankedTensorType>(b->get().getType());
    if (!type.hasStaticShape() || type.getShape().back() % panel != 0)
      continue;
    Value source = b->get();
    SmallVector<OpFoldResult> offsets(type.getRank(),
                                      OpBuilder(op).getIndexAttr(0));
    if (auto slice = source.getDefiningOp<tensor::ExtractSliceOp>()) {
      if (slice.getSourceType().getRank() != type.getRank() ||
          !slice.hasUnitStride() || slice.getType() != type)
        continue;
      offsets = slice.getMixedOffsets();
      source = slice.getSource();
    }
    DenseElementsAttr data = constantThroughFusion(source);
    // One panel would be the same bytes as B: nothing to gain.
    if (!data || data.isSplat() ||
        data.getType().getShape().back() % panel != 0 ||
        data.getType().getShape().back() == panel ||
        !alignedTo(offsets.back(), panel))
      continue;
    return Candidate{op, b->getOperandNumber(), data, offsets};
  }
  return std::nullopt;
}

struct CpuPackWeightsPass
    : public impl::CpuPackWeightsBase<CpuPackWeightsPass> {
  using CpuPackWeightsBase::CpuPackWeightsBase;
  void runOnOperation() override {
    if (panelBits <= 0)
      return;
    SmallVector<Candidate> found;
    getOperation().walk([&](linalg::GenericOp op) {
      int64_t bits = getElementTypeOrSelf(op.getDpsInits()[0].getType())
                         .getIntOrFloatBitWidth();
      if (std::optional<Candidate> c = match(op, panelBits / bits))
        found.push_back(*c);
    });
    // One packed constant per weight and kernel, at the start of the
    // fusion's body (or the function's), outside the tile loops.
    llvm::DenseMap<std::pair<Block *, Attribute>, Value> packed;
    for (Candidate &c : found) {
      linalg::GenericOp op = c.op;
      OpOperand &b = op->getOpOperand(c.operand);
      auto type = cast<RankedTensorType>(b.get().getType());
      int64_t panel = panelBits / type.getElementTypeBitWidth();
      auto fusion = op->getParentOfType<FusionOp>();
      Block *top = fusion ? &fusion.getBody().front()
                          : &getOperation().getBody().front();
      Value &panels = packed[{top, c.data}];
      if (!panels) {
        OpBuilder atTop = OpBuilder::atBlockBegin(top);
        panels = atTop.create<arith::ConstantOp>(op.getLoc(),
                                                 packPanels(c.data, panel));
      }
      OpBuilder builder(op);
      Location loc = op.getLoc();
      OpFoldResult first = affine::makeComposedFoldedAffineApply(
          builder, loc, builder.getAffineDimExpr(0).floorDiv(panel),
          {c.offsets.back()});
      SmallVector<OpFoldResult> offsets = {first}, sizes, strides;
      sizes.push_back(builder.getIndexAttr(type.getShape().back() / panel));
      for (int64_t d = 0; d + 1 < type.getRank(); ++d) {
        offsets.push_back(c.offsets[d]);
        sizes.push_back(builder.getIndexAttr(type.getDimSize(d)));
      }
      offsets.push_back(builder.getIndexAttr(0));
      sizes.push_back(builder.getIndexAttr(panel));
      strides.assign(offsets.size(), builder.getIndexAttr(1));
      Value slice = builder.create<tensor::ExtractSliceOp>(loc, panels, offsets,
                                                           sizes, strides);
      b.set(slice);
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      AffineMap &map = maps[c.operand];
      AffineExpr jExpr = map.getResults().back();
      SmallVector<AffineExpr> results = {jExpr.floorDiv(panel)};
      llvm::append_range(results, map.getResults().drop_back());
      results.push_back(jExpr % panel);
      map = AffineMap::get(map.getNumDims(), 0, results, op.getContext());
      op.setIndexingMapsAttr(builder.getAffineMapArrayAttr(maps));
    }
  }
};

} // namespace
} // namespace kiln
