//===- DeinterleaveStridedConvolutions.cc - kiln-cpu-deinterleave-... -----===//
//
// Part of Kiln. A stride-2 convolution reads its image X[.., 2 ow + kw]:
// the vectorized convolution (kiln-cpu-vectorize-contractions) loads each
// vector of 8 or 16 outputs as twice as many elements and shuffles out
// every other one, one shuffle per vector per reduction step, which the
// FMAs wait on (resnet18's stride-2 convolutions ran at about 45% of an
// AVX2 core's peak, its stride-1 ones at 70-80%). Here the image is
// stored once as its even and odd columns, D[.., p, w] = X[.., 2 w + p],
// and the convolution reads D[.., kw mod 2, ow + kw floordiv 2]: stride 1
// along the outputs, plain vector loads.
//
// The copy is one pass over the image, a kernel of its own (like the
// padding it reads): kiln-cpu-tile-fusions leaves ops marked kiln.whole
// out of the tiles, or each tile would copy it again, and kiln-inline-
// fusions keeps the kernel name it is given.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cpu/Passes.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"

namespace kiln {
#define GEN_PASS_DEF_CPUDEINTERLEAVESTRIDEDCONVOLUTIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// A stride-2 convolution's image operand and the two loops of its last
/// index `2 d_j + d_k`: j the output column, k the filter column.
struct Strided {
  linalg::GenericOp op;
  unsigned image;
  unsigned j, k;
};

/// `expr` as `2 d_j + d_k` (either order), if it is.
std::optional<std::pair<unsigned, unsigned>> twiceJPlusK(AffineExpr expr) {
  auto sum = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!sum || sum.getKind() != AffineExprKind::Add)
    return std::nullopt;
  for (auto [scaled, plain] : {std::pair(sum.getLHS(), sum.getRHS()),
                               std::pair(sum.getRHS(), sum.getLHS())}) {
    auto mul = dyn_cast<AffineBinaryOpExpr>(scaled);
    auto k = dyn_cast<AffineDimExpr>(plain);
    if (!mul || mul.getKind() != AffineExprKind::Mul || !k)
      continue;
    auto j = dyn_cast<AffineDimExpr>(mul.getLHS());
    auto two = dyn_cast<AffineConstantExpr>(mul.getRHS());
    if (j && two && two.getValue() == 2)
      return std::pair(j.getPosition(), k.getPosition());
  }
  return std::nullopt;
}

std::optional<Strided> match(linalg::GenericOp op) {
  if (!op.hasPureTensorSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || op.getNumReductionLoops() == 0 ||
      !isMultiplyAccumulate(op))
    return std::nullopt;
  AffineMap out = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  for (unsigned x = 0; x < 2; ++x) {
    OpOperand *image = op.getDpsInputOperand(x);
    AffineMap map = op.getMatchingIndexingMap(image);
    AffineMap other = op.getMatchingIndexingMap(op.getDpsInputOperand(1 - x));
    auto type = dyn_cast<RankedTensorType>(image->get().getType());
    if (!type || !type.hasStaticShape() || map.getNumResults() == 0 ||
        type.getShape().back() % 2 != 0)
      continue;
    std::optional<std::pair<unsigned, unsigned>> jk =
        twiceJPlusK(map.getResults().back());
    if (!jk)
      continue;
    auto [j, k] = *jk;
    // A filter stored channels last (its last index a parallel loop, the
    // output channels): the vectors run along it and the image is
    // broadcast, nothing to gain.
    if (other.getNumResults() > 0) {
      auto last = dyn_cast<AffineDimExpr>(other.getResults().back());
      if (last &&
          iterators[last.getPosition()] == utils::IteratorType::parallel)
        continue;
    }
    // j: the output's last index, which the vectors run along; k: a filter
    // column.
    if (out.getResults().back() != getAffineDimExpr(j, op.getContext()) ||
        iterators[j] != utils::IteratorType::parallel ||
        iterators[k] != utils::IteratorType::reduction || ranges[k] < 2 ||
        other.isFunctionOfDim(j) ||
        llvm::any_of(map.getResults().drop_back(), [&](AffineExpr e) {
          return e.isFunctionOfDim(j) || e.isFunctionOfDim(k);
        }))
      continue;
    return Strided{op, image->getOperandNumber(), j, k};
  }
  return std::nullopt;
}

struct CpuDeinterleaveStridedConvolutionsPass
    : public impl::CpuDeinterleaveStridedConvolutionsBase<
          CpuDeinterleaveStridedConvolutionsPass> {
  void runOnOperation() override {
    SmallVector<Strided> found;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Strided> s = match(op))
        found.push_back(*s);
    });
    for (Strided &s : found) {
      linalg::GenericOp op = s.op;
      MLIRContext *context = op.getContext();
      Location loc = op.getLoc();
      OpOperand &image = op->getOpOperand(s.image);
      auto type = cast<RankedTensorType>(image.get().getType());
      int64_t rank = type.getRank();
      SmallVector<int64_t> shape(type.getShape().drop_back());
      shape.push_back(2);
      shape.push_back(type.getShape().back() / 2);
      // D[.., p, w] = X[.., 2 w + p], where X is defined (outside the tile
      // loops kiln-cpu-tile-fusions makes around the convolution).
      OpBuilder b(op);
      if (Operation *def = image.get().getDefiningOp())
        b.setInsertionPointAfter(def);
      else
        b.setInsertionPointToStart(cast<BlockArgument>(image.get()).getOwner());
      Value empty =
          b.create<tensor::EmptyOp>(loc, shape, type.getElementType());
      SmallVector<AffineExpr> read;
      for (int64_t d = 0; d + 1 < rank; ++d)
        read.push_back(getAffineDimExpr(d, context));
      read.push_back(getAffineDimExpr(rank, context) * 2 +
                     getAffineDimExpr(rank - 1, context));
      AffineMap readMap = AffineMap::get(rank + 1, 0, read, context);
      AffineMap identity = AffineMap::getMultiDimIdentityMap(rank + 1, context);
      auto copy = b.create<linalg::GenericOp>(
          loc, empty.getType(), ValueRange{image.get()}, ValueRange{empty},
          ArrayRef<AffineMap>{readMap, identity},
          SmallVector<utils::IteratorType>(rank + 1,
                                           utils::IteratorType::parallel),
          [](OpBuilder &nb, Location nloc, ValueRange args) {
            nb.create<linalg::YieldOp>(nloc, args[0]);
          });
      // Its own kernel, with its own grid, named like a pad's copy.
      copy->setAttr(KilnDialect::kWholeAttr, UnitAttr::get(context));
      copy->setAttr(KilnDialect::kKernelAttr,
                    b.getStringAttr(NodeName(loc) + "_deinterleave"));
      image.set(copy.getResult(0));
      // X[.., 2 j + k] -> D[.., k mod 2, j + k floordiv 2].
      SmallVector<AffineMap> maps = op.getIndexingMapsArray();
      AffineMap &map = maps[s.image];
      SmallVector<AffineExpr> results(map.getResults().drop_back());
      AffineExpr j = getAffineDimExpr(s.j, context);
      AffineExpr k = getAffineDimExpr(s.k, context);
      results.push_back(k % 2);
      results.push_back(j + k.floorDiv(2));
      map = AffineMap::get(map.getNumDims(), 0, results, context);
      op.setIndexingMapsAttr(b.getAffineMapArrayAttr(maps));
    }
  }
};

} // namespace
} // namespace kiln
