//===- VectorizeContractions.cc - kiln-cpu-vectorize-contractions ---------===//
//
// Part of Kiln. The scalar loops LLVM would make of a contraction keep the
// output in memory: every multiply-add loads and stores C. Here a
// contraction on buffers (a linalg.generic `C += A * S`) becomes the loop
// nest of a register-blocked GEMM microkernel, written with the vector
// dialect:
//
//   for the other parallel dimensions p:
//     for each block of NV vectors along j (a parallel dimension, below):
//       for each block of MR rows along i (another parallel dimension):
//         acc[MR][NV] = C[p, i.., j..]   (or the fill value)
//         for the reduction dimensions k (in order):
//           s[v] = S[.., j + v * lanes]  (one set, or one per row when S
//                                          depends on i)
//           acc[r][v] = fma(broadcast(A[.., i + r, ..]), s[v], acc[r][v])
//         C[p, i.., j..] = acc
//
// `S` is the input that `j` advances by one element, or two, with unit
// stride (the right-hand matrix of a matmul, the input of a stride-1 or
// stride-2 convolution, a channels-last filter along its output
// channels); `A` does not depend on `j` (the left-hand matrix, the
// filter, the image). C is loaded and stored along `j` with vector loads
// where it is contiguous there, with gathers and scatters otherwise (and
// then, when the reduction goes in chunks, the partial sums between chunks
// stay in a small contiguous buffer on the stack: C is gathered once and
// scattered once). Each
// element's sum runs over the reduction in the same order as the scalar
// loops, so the result does not depend on tile or thread counts.
//
// Window reductions (pooling) get the same treatment without the rows: a
// vector block of outputs along the row, combined with one vector of the
// input per window position (see emitWindow).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cpu/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineExprVisitor.h"
#include "mlir/IR/BuiltinTypes.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"

#include <vector>

namespace kiln {
#define GEN_PASS_DEF_CPUVECTORIZECONTRACTIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {

namespace {

/// Whether `value`'s innermost dimension has stride 1.
bool unitInnerStride(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || type.getRank() == 0)
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) &&
         strides.back() == 1;
}

/// The largest stride along j read with shuffles (a stride-2 convolution).
constexpr int64_t kMaxStride = 2;

/// `s` when `expr` is `s * d_j + e` with `e` independent of `d_j` and
/// 1 <= s <= kMaxStride; 0 otherwise.
int64_t strideAlong(AffineExpr expr, unsigned j, unsigned dims) {
  MLIRContext *context = expr.getContext();
  AffineExpr dj = getAffineDimExpr(j, context);
  AffineExpr rest = expr.replace(dj, getAffineConstantExpr(0, context));
  if (rest.isFunctionOfDim(j))
    return 0;
  for (int64_t stride = 1; stride <= kMaxStride; ++stride) {
    auto difference = dyn_cast<AffineConstantExpr>(
        simplifyAffineExpr(expr - rest - dj * stride, dims, 0));
    if (difference && difference.getValue() == 0)
      return stride;
  }
  return 0;
}

/// `p` when `expr` is `d_j mod p`: S stored as panels of p columns
/// (kiln-cpu-pack-weights), read along j with unit stride within a panel;
/// 0 otherwise.
int64_t panelAlong(AffineExpr expr, unsigned j) {
  auto mod = dyn_cast<AffineBinaryOpExpr>(expr);
  if (!mod || mod.getKind() != AffineExprKind::Mod ||
      mod.getLHS() != getAffineDimExpr(j, expr.getContext()))
    return 0;
  auto p = dyn_cast<AffineConstantExpr>(mod.getRHS());
  return p ? p.getValue() : 0;
}

bool mapUsesDim(AffineMap map, unsigned dim) {
  return llvm::any_of(map.getResults(),
                      [&](AffineExpr e) { return e.isFunctionOfDim(dim); });
}

/// A constant mask of `size` lanes whose first `width` are set.
Value constantMask(OpBuilder &b, Location loc, int64_t width, int64_t size) {
  SmallVector<bool> bits(size, false);
  std::fill_n(bits.begin(), std::min(width, size), true);
  auto type = VectorType::get({size}, b.getI1Type());
  return b.create<arith::ConstantOp>(loc, DenseElementsAttr::get(type, bits));
}

/// The first `width` elements of a vector of `type` at `at` in `memref` (the
/// rest zero, not read): a plain load when that is all of them.
Value loadFirst(OpBuilder &b, Location loc, VectorType type, Value memref,
                ValueRange at, int64_t width) {
  int64_t size = type.getNumElements();
  if (width >= size)
    return b.create<vector::LoadOp>(loc, type, memref, at);
  Value zero = b.create<arith::ConstantOp>(loc, type, b.getZeroAttr(type));
  return b.create<vector::MaskedLoadOp>(
      loc, type, memref, at, constantMask(b, loc, width, size), zero);
}

/// `width` elements (of a vector of `type`) `stride` apart from `at`: the
/// span they lie in, then every stride-th element of it. The mask stops at
/// the last element used: nothing past it is read.
Value loadStrided(OpBuilder &b, Location loc, VectorType type, Value memref,
                  ValueRange at, int64_t width, int64_t stride) {
  int64_t lanes = type.getNumElements();
  if (stride == 2 && width == lanes && lanes > 1) {
    // A whole vector at stride 2 spans 2 lanes - 1 elements: two plain
    // loads, at `at` and `lanes - 1` further, cover it exactly (a masked
    // load of 2 lanes costs more on AVX2: vmaskmovps). The even elements
    // below `lanes` come from the first, the others from the second.
    SmallVector<Value> hiAt(at);
    Value step = b.create<arith::ConstantIndexOp>(loc, lanes - 1);
    hiAt.back() = b.create<arith::AddIOp>(loc, hiAt.back(), step);
    Value lo = b.create<vector::LoadOp>(loc, type, memref, at);
    Value hi = b.create<vector::LoadOp>(loc, type, memref, hiAt);
    SmallVector<int64_t> picks;
    for (int64_t l = 0; l < lanes; ++l)
      picks.push_back(2 * l < lanes ? 2 * l : 2 * l + 1);
    return b.create<vector::ShuffleOp>(loc, lo, hi, picks);
  }
  auto wide = VectorType::get({lanes * stride}, type.getElementType());
  Value span = loadFirst(b, loc, wide, memref, at, (width - 1) * stride + 1);
  SmallVector<int64_t> picks;
  for (int64_t l = 0; l < lanes; ++l)
    picks.push_back(l * stride);
  return b.create<vector::ShuffleOp>(loc, span, span, picks);
}

/// A contraction this pass rewrites, and how.
struct Contraction {
  linalg::GenericOp op;
  SmallVector<int64_t> ranges;
  AffineMap aMap, sMap, cMap;
  Value a, s, c;
  unsigned j = 0;
  std::optional<unsigned> i;
  /// The row dimensions, outermost first: i alone, or i and another
  /// dimension S does not read when i is short (a 7x7 convolution's output
  /// rows and columns: 49 rows). The microkernel's row index p runs over
  /// their product; i carries it (i = p / R, the other p mod R).
  SmallVector<unsigned> rows;
  SmallVector<unsigned> outer;      ///< Other parallel dims, range > 1.
  SmallVector<unsigned> reductions; ///< In loop order, range > 1.
  bool sUsesI = false;
  int64_t sStride = 1; ///< S's elements between consecutive j.
  /// The width of S's panels along j when S is packed (kiln-cpu-pack-
  /// weights), 0 otherwise.
  int64_t sPanel = 0;
  /// Whether C is contiguous along j; if not, its elements are loaded and
  /// stored one by one (once per output element, after the whole sum).
  bool cContiguous = true;

  int64_t rowCount() const {
    int64_t count = 1;
    for (unsigned d : rows)
      count *= ranges[d];
    return count;
  }
};

/// What C holds before `k`'s sum when the op just before it (only ops free
/// of memory effects between) copies into all of C a tensor that varies
/// along j only: a bias broadcast along the output channels. The
/// accumulators then start from the bias's vectors, one load per vector
/// for all the rows of a block, and the copy is redundant. Where C is not
/// contiguous along j (output channels last, written into NCHW) this saves
/// gathering C at every block's start: MobileNet's 1024 x 1024 pointwise
/// convolution on 7x7 pixels, 1.556 -> 1.50 ms.
struct ColumnInit {
  linalg::GenericOp op;
  Value source;
  AffineMap map; ///< The source's indices over the contraction's dims.
};

/// How well vectors of `lanes` fill a dimension of `range`: 1 when they
/// divide it, 7/16 for a range of 7 in vectors of 16.
double laneUse(int64_t range, int64_t lanes) {
  return double(range) / double((range + lanes - 1) / lanes * lanes);
}

/// `op` as a contraction to vectorize with `lanes` per vector, if it is.
std::optional<Contraction> match(linalg::GenericOp op, int64_t lanes) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMultiplyAccumulate(op))
    return std::nullopt;
  Contraction k;
  k.op = op;
  k.c = op.getDpsInitOperand(0)->get();
  auto cType = dyn_cast<MemRefType>(k.c.getType());
  if (!cType || cType.getRank() == 0 ||
      !(cType.getElementType().isF32() || cType.getElementType().isF64()))
    return std::nullopt;
  for (OpOperand *input : op.getDpsInputOperands()) {
    auto type = dyn_cast<MemRefType>(input->get().getType());
    if (!type || type.getElementType() != cType.getElementType())
      return std::nullopt;
  }
  k.ranges = op.getStaticLoopRanges();
  if (llvm::any_of(k.ranges,
                   [](int64_t r) { return ShapedType::isDynamic(r) || r < 1; }))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  unsigned dims = k.ranges.size();
  unsigned parallel = llvm::count(iterators, utils::IteratorType::parallel);
  k.cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!k.cMap.isProjectedPermutation() || k.cMap.getNumResults() != parallel)
    return std::nullopt;
  for (unsigned r = 0; r < k.cMap.getNumResults(); ++r)
    if (iterators[k.cMap.getDimPosition(r)] != utils::IteratorType::parallel)
      return std::nullopt;
  // The vector dimension j: a parallel dimension that one input (S) reads
  // contiguously, or every other element, and the other (A) does not
  // read. Of several, the one vectors fill best, then the one C is
  // contiguous along (a matmul's columns; a convolution's output row, or
  // its channels when the filter is stored channels last).
  unsigned cLast = k.cMap.getDimPosition(k.cMap.getNumResults() - 1);
  bool cUnit = unitInnerStride(k.c);
  std::optional<std::pair<double, bool>> best;
  for (unsigned j = 0; j < dims; ++j) {
    if (iterators[j] != utils::IteratorType::parallel)
      continue;
    for (unsigned s = 0; s < 2; ++s) {
      OpOperand *sOperand = op.getDpsInputOperand(s);
      OpOperand *aOperand = op.getDpsInputOperand(1 - s);
      AffineMap sMap = op.getMatchingIndexingMap(sOperand);
      AffineMap aMap = op.getMatchingIndexingMap(aOperand);
      if (sMap.getNumResults() == 0 || mapUsesDim(aMap, j) ||
          !unitInnerStride(sOperand->get()))
        continue;
      ArrayRef<AffineExpr> results = sMap.getResults();
      int64_t stride = strideAlong(results.back(), j, dims);
      // Panels whose width is a multiple of the vector's: a vector that
      // starts at a multiple of `lanes` (as each does) lies in one panel,
      // which another index (j floordiv p) selects.
      int64_t panel = panelAlong(results.back(), j);
      AffineExpr whichPanel;
      if (panel > 0 && panel % lanes == 0) {
        stride = 1;
        whichPanel = getAffineDimExpr(j, op.getContext()).floorDiv(panel);
      }
      if (stride == 0 || llvm::any_of(results.drop_back(), [&](AffineExpr e) {
            return e != whichPanel && e.isFunctionOfDim(j);
          }))
        continue;
      std::pair<double, bool> score = {laneUse(k.ranges[j], lanes),
                                       j == cLast && cUnit};
      if (best && score <= *best)
        continue;
      best = score;
      k.j = j;
      k.s = sOperand->get();
      k.a = aOperand->get();
      k.sMap = sMap;
      k.aMap = aMap;
      k.sStride = stride;
      k.sPanel = whichPanel ? panel : 0;
      k.cContiguous = score.second;
    }
  }
  if (!best)
    return std::nullopt;
  // Rows: a parallel dimension S does not read if there is one (each
  // vector of S then serves every row), the longest otherwise.
  auto score = [&](unsigned d) {
    return std::make_pair(mapUsesDim(k.sMap, d) ? 0 : 1, k.ranges[d]);
  };
  for (unsigned d = 0; d < dims; ++d) {
    if (d == k.j || iterators[d] != utils::IteratorType::parallel ||
        k.ranges[d] == 1)
      continue;
    if (!k.i || score(d) > score(*k.i))
      k.i = d;
  }
  if (k.i) {
    k.sUsesI = mapUsesDim(k.sMap, *k.i);
    k.rows = {*k.i};
  }
  // Rows shorter than a block: merged with the longest other parallel
  // dimension S does not read either, so that blocks are full and each
  // load of S serves more rows.
  constexpr int64_t kMergeBelow = 8;
  if (k.i && !k.sUsesI && k.ranges[*k.i] < kMergeBelow) {
    std::optional<unsigned> other;
    for (unsigned d = 0; d < dims; ++d)
      if (d != k.j && d != *k.i &&
          iterators[d] == utils::IteratorType::parallel && k.ranges[d] > 1 &&
          !mapUsesDim(k.sMap, d) && (!other || k.ranges[d] > k.ranges[*other]))
        other = d;
    if (other) {
      // Outermost first as C stores them, so that p runs along C.
      auto position = [&](unsigned d) {
        return *k.cMap.getResultPosition(getAffineDimExpr(d, op.getContext()));
      };
      k.rows = {*k.i, *other};
      if (position(*other) < position(*k.i))
        std::swap(k.rows[0], k.rows[1]);
      k.i = k.rows.front();
    }
  }
  for (unsigned d = 0; d < dims; ++d) {
    if (k.ranges[d] == 1 || d == k.j || llvm::is_contained(k.rows, d))
      continue;
    if (iterators[d] == utils::IteratorType::parallel)
      k.outer.push_back(d);
    else
      k.reductions.push_back(d);
  }
  return k;
}

/// Whether `value`'s last two dimensions are one contiguous run: unit
/// inner stride, and the next stride the inner size (static).
bool lastTwoContiguous(Value value) {
  auto type = dyn_cast<MemRefType>(value.getType());
  if (!type || type.getRank() < 2 || !type.hasStaticShape())
    return false;
  SmallVector<int64_t> strides;
  int64_t offset;
  return succeeded(getStridesAndOffset(type, strides, offset)) &&
         strides.back() == 1 &&
         strides[strides.size() - 2] == type.getShape().back();
}

/// A multiply-accumulate whose C and S end in the same two parallel
/// dimensions [.., a, b], each contiguous across them, that A does not
/// read (a 1x1 stride-1 convolution's output rows and columns, which S,
/// its unpadded input, shares), as one over the collapsed run a * b:
/// vectors then fill the whole 14 x 14 image (196 = 24.5 vectors), not
/// each 14-wide row (2 vectors, 14 lanes of 16); in S's and C's maps,
/// loops of one iteration (a 1x1 filter's) read index 0. Returns the new op, or
/// null when it does not apply or when vectors of `lanes` already divide b.
linalg::GenericOp mergeRowsIntoColumns(linalg::GenericOp op, int64_t lanes) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMultiplyAccumulate(op))
    return nullptr;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges,
                   [](int64_t r) { return ShapedType::isDynamic(r) || r < 1; }))
    return nullptr;
  MLIRContext *ctx = op.getContext();
  unsigned dims = ranges.size();
  // Loops of one iteration read index 0.
  DenseMap<AffineExpr, AffineExpr> unit;
  for (unsigned d = 0; d < dims; ++d)
    if (ranges[d] == 1)
      unit[getAffineDimExpr(d, ctx)] = getAffineConstantExpr(0, ctx);
  auto normalized = [&](AffineMap map) {
    SmallVector<AffineExpr> results;
    for (AffineExpr e : map.getResults())
      results.push_back(simplifyAffineExpr(e.replace(unit), dims, 0));
    return AffineMap::get(dims, 0, results, ctx);
  };
  SmallVector<AffineMap> maps;
  for (AffineMap map : op.getIndexingMapsArray())
    maps.push_back(normalized(map));
  AffineMap cMap = maps[2];
  unsigned nc = cMap.getNumResults();
  if (nc < 2)
    return nullptr;
  auto a = dyn_cast<AffineDimExpr>(cMap.getResult(nc - 2));
  auto b = dyn_cast<AffineDimExpr>(cMap.getResult(nc - 1));
  if (!a || !b || ranges[a.getPosition()] < 2 ||
      ranges[b.getPosition()] % lanes == 0)
    return nullptr;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (iterators[a.getPosition()] != utils::IteratorType::parallel ||
      iterators[b.getPosition()] != utils::IteratorType::parallel)
    return nullptr;
  // S ends in [a, b] too; A reads neither.
  std::optional<unsigned> s;
  for (unsigned n = 0; n < 2; ++n) {
    AffineMap m = maps[n];
    unsigned r = m.getNumResults();
    if (r >= 2 && m.getResult(r - 2) == a && m.getResult(r - 1) == b)
      s = n;
  }
  if (!s)
    return nullptr;
  AffineMap aMap = maps[1 - *s];
  if (aMap.isFunctionOfDim(a.getPosition()) ||
      aMap.isFunctionOfDim(b.getPosition()))
    return nullptr;
  for (unsigned n : {*s, 2u}) {
    AffineMap m = maps[n];
    // a and b nowhere else in the map; the buffer one run across them.
    for (AffineExpr e : m.getResults().drop_back(2))
      if (e.isFunctionOfDim(a.getPosition()) ||
          e.isFunctionOfDim(b.getPosition()))
        return nullptr;
    // Its last two dimensions exactly the loops' a and b (an S with more
    // rows or columns than the output would give the run another length).
    Value buffer = op->getOperand(n);
    ArrayRef<int64_t> shape = cast<MemRefType>(buffer.getType()).getShape();
    if (!lastTwoContiguous(buffer) ||
        shape.take_back(2) !=
            ArrayRef<int64_t>{ranges[a.getPosition()], ranges[b.getPosition()]})
      return nullptr;
  }
  // The new loops: the old ones but a, b standing for the run. The maps
  // are the old ones (loops of one iteration stay where they were, so
  // that every loop is still read), but for the run's last two results.
  SmallVector<utils::IteratorType> newIterators;
  DenseMap<AffineExpr, AffineExpr> renumber;
  for (unsigned d = 0; d < dims; ++d) {
    if (d == a.getPosition())
      continue;
    renumber[getAffineDimExpr(d, ctx)] =
        getAffineDimExpr(newIterators.size(), ctx);
    newIterators.push_back(iterators[d]);
  }
  unsigned newDims = newIterators.size();
  OpBuilder builder(op);
  Location loc = op.getLoc();
  SmallVector<Value> operands;
  SmallVector<AffineMap> newMaps;
  for (unsigned n = 0; n < 3; ++n) {
    Value buffer = op->getOperand(n);
    SmallVector<AffineExpr> results(op.getIndexingMapsArray()[n].getResults());
    if (n == *s || n == 2) {
      int64_t rank = cast<MemRefType>(buffer.getType()).getRank();
      SmallVector<ReassociationIndices> groups;
      for (int64_t r = 0; r + 2 < rank; ++r)
        groups.push_back({r});
      groups.push_back({rank - 2, rank - 1});
      buffer = builder.create<memref::CollapseShapeOp>(loc, buffer, groups);
      results.pop_back();
      results.back() = b;
    }
    for (AffineExpr &e : results)
      e = e.replace(renumber);
    operands.push_back(buffer);
    newMaps.push_back(AffineMap::get(newDims, 0, results, ctx));
  }
  auto merged = builder.create<linalg::GenericOp>(
      loc, ValueRange{operands[0], operands[1]}, ValueRange{operands[2]},
      newMaps, newIterators);
  IRMapping body;
  op.getRegion().cloneInto(&merged.getRegion(), body);
  op->erase();
  return merged;
}

/// An elementwise linalg.generic right after a contraction that reads C
/// where it writes its own result (a bias, an activation, a residual
/// add): its body is applied to the accumulators before the store, so that
/// C need not be written and read back.
struct Epilogue {
  linalg::GenericOp op;
  /// Per input of `op`: its map over the contraction's dimensions (none
  /// for C, which the accumulator stands for), and whether it is read as
  /// a vector along j (otherwise one element, broadcast).
  SmallVector<std::optional<AffineMap>> maps;
  SmallVector<bool> vectors;
  /// Whether C is also stored: something besides its fill, the
  /// contraction and the epilogue uses it, or it is not the kernel's own.
  bool keepC = true;
  /// The ops free of memory effects between the contraction and `op`
  /// (the output's subview), which move before the contraction.
  SmallVector<Operation *> between;
};

/// A type an epilogue's values may have: a scalar integer or float.
bool vectorizableScalar(Type type) { return isa<IntegerType, FloatType>(type); }

/// A type whose elements a vector loads and stores as the buffer holds
/// them: not i1, which a memref stores one per byte and a vector<8xi1>
/// packs into bits.
bool vectorizableElement(Type type) {
  return vectorizableScalar(type) && type.getIntOrFloatBitWidth() % 8 == 0;
}

/// Whether `v` is a view of a kernel argument that is a constant
/// (kiln.constant): weights, not in the cache when a run starts unless the
/// model is small, where activations have mostly just been written.
bool isConstant(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  auto arg = dyn_cast<BlockArgument>(v);
  auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp())
                  : func::FuncOp();
  return func &&
         func.getArgAttr(arg.getArgNumber(), KilnDialect::kConstantAttr);
}

/// Whether `c` is a kernel argument that holds nothing when the kernel
/// starts or after it ends (kiln.local) and that only `uses` use.
bool ownedBy(Value c, ArrayRef<Operation *> uses) {
  auto arg = dyn_cast<BlockArgument>(c);
  auto func = arg ? dyn_cast<func::FuncOp>(arg.getOwner()->getParentOp())
                  : func::FuncOp();
  if (!func || !func.getArgAttr(arg.getArgNumber(), KilnDialect::kLocalAttr))
    return false;
  return llvm::all_of(c.getUsers(), [&](Operation *user) {
    return llvm::is_contained(uses, user);
  });
}

std::optional<Epilogue> matchEpilogue(const Contraction &k,
                                      linalg::FillOp fill) {
  if (!k.cContiguous)
    return std::nullopt;
  Epilogue e;
  Operation *next = k.op->getNextNode();
  while (next && !isa<linalg::GenericOp>(next) && next->getNumRegions() == 0 &&
         isMemoryEffectFree(next)) {
    e.between.push_back(next);
    next = next->getNextNode();
  }
  auto op = dyn_cast_or_null<linalg::GenericOp>(next);
  auto cType = cast<MemRefType>(k.c.getType());
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumParallelLoops() != op.getNumLoops() ||
      ArrayRef<int64_t>(op.getStaticLoopRanges()) != cType.getShape())
    return std::nullopt;
  e.op = op;
  Block *body = op.getBody();
  for (Operation &inner : body->without_terminator()) {
    if (inner.getNumRegions() != 0 ||
        !isa<arith::ArithDialect, math::MathDialect>(inner.getDialect()) ||
        !llvm::all_of(inner.getResultTypes(), vectorizableScalar))
      return std::nullopt;
    for (Value operand : inner.getOperands())
      if (operand.getParentBlock() != body &&
          !vectorizableScalar(operand.getType()))
        return std::nullopt;
  }
  OpOperand *out = op.getDpsInitOperand(0);
  Value d = out->get();
  if (!op.getMatchingIndexingMap(out).isIdentity() ||
      !op.getMatchingBlockArgument(out).use_empty() || !unitInnerStride(d) ||
      !vectorizableElement(cast<MemRefType>(d.getType()).getElementType()) ||
      mayAlias(d, k.a) || mayAlias(d, k.s) || (d != k.c && mayAlias(d, k.c)))
    return std::nullopt;
  unsigned dims = k.ranges.size();
  bool sawC = false;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    Value x = in->get();
    if (x == k.c) {
      if (sawC || !map.isIdentity())
        return std::nullopt;
      sawC = true;
      e.maps.push_back(std::nullopt);
      e.vectors.push_back(true);
      continue;
    }
    auto type = dyn_cast<MemRefType>(x.getType());
    if (!type || !vectorizableElement(type.getElementType()) ||
        mayAlias(x, k.c))
      return std::nullopt;
    AffineMap composed = map.compose(k.cMap);
    bool vector = mapUsesDim(composed, k.j);
    // Read along j with unit stride, at the element the output is written
    // (an in-place epilogue) or in bytes the output does not share.
    if (vector &&
        (!unitInnerStride(x) ||
         strideAlong(composed.getResults().back(), k.j, dims) != 1 ||
         llvm::any_of(composed.getResults().drop_back(),
                      [&](AffineExpr r) { return r.isFunctionOfDim(k.j); })))
      return std::nullopt;
    if (mayAlias(x, d) && !(x == d && composed == k.cMap))
      return std::nullopt;
    e.maps.push_back(composed);
    e.vectors.push_back(vector);
  }
  if (!sawC)
    return std::nullopt;
  SmallVector<Operation *> uses = {k.op, op};
  if (fill)
    uses.push_back(fill);
  e.keepC = d != k.c && !ownedBy(k.c, uses);
  return e;
}

/// Emits the microkernel loop nest for one contraction.
class Emitter {
public:
  Emitter(const Contraction &k, int64_t vectorBits, int64_t registers,
          int64_t chunkBytes)
      : k_(k), loc_(k.op->getLoc()), chunkBytes_(chunkBytes) {
    Type element = cast<MemRefType>(k.c.getType()).getElementType();
    lanes_ = std::max<int64_t>(vectorBits / element.getIntOrFloatBitWidth(), 1);
    vectorType_ = VectorType::get({lanes_}, element);
    int64_t columns = k.ranges[k.j];
    int64_t vectors = (columns + lanes_ - 1) / lanes_;
    // A block reading packed panels spans one panel (its loads one
    // contiguous stream); otherwise as many vectors as the registers allow.
    int64_t widest = microkernelVectors(registers);
    if (k.sPanel > 0 && k.sPanel % lanes_ == 0 && k.sPanel / lanes_ <= widest)
      widest = k.sPanel / lanes_;
    nv_ = std::min<int64_t>(vectors, widest);
    accumulators_ = registers * 3 / 4;
    mr_ = rowsPerBlock(nv_);
    chooseChunk(element.getIntOrFloatBitWidth() / 8);
  }

  /// Rows per block for blocks `nv` vectors wide: at most accumulators /
  /// nv, as even as they can be (7 rows: 4 + 3, not 6 + 1).
  int64_t rowsPerBlock(int64_t nv) const {
    int64_t rows = k_.rowCount();
    int64_t most = std::clamp<int64_t>(accumulators_ / nv, 1, rows);
    int64_t blocks = (rows + most - 1) / most;
    return (rows + blocks - 1) / blocks;
  }

  /// Replaces the op; `init` is the fill value of C, if C is filled first,
  /// and `epilogue` what is applied to C's final values, if anything.
  void emit(OpBuilder &b, Value init, const Epilogue *epilogue,
            std::optional<ColumnInit> columnInit = std::nullopt) {
    init_ = init;
    columnInit_ = columnInit;
    epilogue_ = epilogue;
    dims_.assign(k_.ranges.size(), b.getIndexAttr(0));
    first_ = true;
    last_ = chunk_ == 0;
    chunkBase_ = b.getIndexAttr(0);
    partial_ = chunk_ > 0 ? partialSums(b) : Value();
    // Chunks after the first add to C. When C also holds the start (no
    // fill folded in), the first chunk is like the others: one loop. With
    // the partial sums apart, the first chunk starts from C and the last
    // one stores C: both are peeled.
    int64_t from = chunk_;
    if (chunk_ > 0 && !init_ && !columnInit_ && !partial_) {
      first_ = false;
      from = 0;
    } else {
      emitOuter(b, 0);
    }
    if (chunk_ == 0)
      return;
    first_ = false;
    unsigned d = k_.reductions.front();
    // The last chunk is peeled too where its stores differ: into C from
    // the partial sums, or through the epilogue.
    bool peelLast = partial_ || epilogue_;
    int64_t to = k_.ranges[d] - (peelLast ? chunk_ : 0);
    if (from < to)
      b.create<scf::ForOp>(loc_, index(b, from), index(b, to), index(b, chunk_),
                           ValueRange{},
                           [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                             chunkBase_ = iv;
                             emitOuter(nb, 0);
                             nb.create<scf::YieldOp>(loc_);
                           });
    if (peelLast) {
      last_ = true;
      chunkBase_ = b.getIndexAttr(to);
      emitOuter(b, 0);
    }
  }

private:
  /// What a chunk of A for all the rows and a block's S may take of the L1
  /// cache, when A is read down its columns.
  static constexpr int64_t kL1ChunkBytes = 24 * 1024;
  static constexpr int64_t kLineBytes = 64;

  /// Splits the outermost reduction into chunks (the whole output computed
  /// chunk after chunk, C holding the partial sums) when a block's reads of
  /// S over the whole reduction would not fit in chunkBytes_: a convolution
  /// over 512 channels otherwise streams its filter from memory once per
  /// block of rows. Chunk sizes divide the range; 0 means no chunks.
  void chooseChunk(int64_t elementBytes) {
    chunk_ = 0;
    if (k_.reductions.empty())
      return;
    int64_t innerSteps = 1;
    for (size_t l = 1; l < k_.reductions.size(); ++l)
      innerSteps *= k_.ranges[k_.reductions[l]];
    int64_t perStep =
        nv_ * lanes_ * elementBytes * (k_.sUsesI ? mr_ : 1) * innerSteps;
    int64_t range = k_.ranges[k_.reductions.front()];
    auto largestDivisor = [&](int64_t most) -> int64_t {
      for (int64_t size = std::max<int64_t>(most, 1); size > 1; --size)
        if (range % size == 0)
          return size;
      return 0;
    };
    if (chunkBytes_ > 0 && range * perStep > chunkBytes_)
      chunk_ = largestDivisor(chunkBytes_ / perStep);
    // A read down its columns (each step of the outermost reduction a new
    // cache line for every block of rows: an image [channels][pixels]
    // with the output channels along j) is read again by every block of
    // columns; unless the chunk of A for all the rows, with a block's S,
    // stays in the L1 cache, every step of every block reads a line of A
    // from L2. MobileNet's 1024 x 1024 pointwise convolution on 7x7
    // pixels: chunks of 64 input channels, 1.50 -> 1.10 ms.
    //
    // A is read again the same way by each step of an outer loop it does
    // not depend on: a direct convolution's filter, once per output row
    // (the rows of a block being output channels, its vectors along the
    // row). Unless the chunk of the filter for all the channels stays in
    // L1, every output row streams the whole filter from L2. resnet18's
    // stride-2 3x3 convolutions (73 KiB of filter per tile of 16 output
    // channels of layer3's first): chunks of 16 input channels, the same
    // speed on 1 thread and 0.595 -> 0.476 ms and 0.506 -> 0.423 ms on 2,
    // where the two cores' streams from L2 (and L3) slowed each other.
    std::optional<int64_t> aStep =
        elementsPerStep(k_.a, k_.aMap, k_.reductions.front());
    bool rereadByOuter = llvm::any_of(
        k_.outer, [&](unsigned d) { return !mapUsesDim(k_.aMap, d); });
    if (!aStep || *aStep < 1 || k_.rows.empty() ||
        (!k_.cContiguous && !partialSumsFit(elementBytes)))
      return;
    bool downColumns =
        *aStep * elementBytes >= kLineBytes && k_.ranges[k_.j] > nv_ * lanes_;
    if (!downColumns && !rereadByOuter)
      return;
    // The bytes of A a step reads for all the rows: rows a few elements
    // apart (a stride-2 convolution's pixels) share lines. A read down its
    // columns takes that for each inner step; a row read along the
    // reduction (a filter's row) takes its step's elements, the inner
    // reductions' among them.
    bool alongRows = *aStep * elementBytes < kLineBytes;
    std::optional<int64_t> rowStep =
        elementsPerStep(k_.a, k_.aMap, k_.rows.back());
    int64_t aPerStep =
        k_.rowCount() * (alongRows ? *aStep * elementBytes : kLineBytes);
    if (rowStep && *rowStep >= 1 && *rowStep * elementBytes < kLineBytes)
      aPerStep = (k_.rowCount() * *rowStep * elementBytes + kLineBytes - 1) /
                 kLineBytes * kLineBytes;
    if (!alongRows)
      aPerStep *= innerSteps;
    // Shorter chunks cost more in storing and reloading the partial sums
    // than they save.
    constexpr int64_t kShortestChunk = 16;
    int64_t fits = largestDivisor(kL1ChunkBytes / (aPerStep + perStep));
    if (fits >= kShortestChunk && (downColumns || fits < range) &&
        (chunk_ == 0 || fits < chunk_))
      chunk_ = fits;
  }

  /// The elements of `memref` between its elements at d and d + 1 along
  /// dimension `d` of the contraction (read through `map`), if static.
  static std::optional<int64_t> elementsPerStep(Value memref, AffineMap map,
                                                unsigned d) {
    auto type = cast<MemRefType>(memref.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    if (failed(getStridesAndOffset(type, strides, offset)))
      return std::nullopt;
    MLIRContext *context = memref.getContext();
    SmallVector<AffineExpr> zero(map.getNumDims(),
                                 getAffineConstantExpr(0, context)),
        one = zero;
    one[d] = getAffineConstantExpr(1, context);
    int64_t elements = 0;
    for (auto [result, stride] : llvm::zip(map.getResults(), strides)) {
      auto at0 = dyn_cast<AffineConstantExpr>(
          simplifyAffineExpr(result.replaceDims(zero), 0, 0));
      auto at1 = dyn_cast<AffineConstantExpr>(
          simplifyAffineExpr(result.replaceDims(one), 0, 0));
      if (!at0 || !at1)
        return std::nullopt;
      int64_t delta = at1.getValue() - at0.getValue();
      if (delta != 0 && ShapedType::isDynamic(stride))
        return std::nullopt;
      elements += delta * (delta != 0 ? stride : 0);
    }
    return elements;
  }

  Value index(OpBuilder &b, int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc_, v);
  }

  /// The largest buffer of partial sums kept on the stack.
  static constexpr int64_t kPartialBytes = 64 * 1024;

  /// When C is gathered and scattered (not contiguous along j), a buffer
  /// [rows][columns] for the partial sums between chunks, allocated once
  /// at the kernel's entry; null when C is contiguous, when other parallel
  /// loops run inside the chunk loop (each would need its own partial
  /// sums: a batch of images) or when the buffer would be too large.
  /// Gathering and scattering C around every chunk cost a third of
  /// resnet18's layer 4 convolutions.
  bool partialSumsFit(int64_t elementBytes) const {
    return k_.outer.empty() &&
           k_.rowCount() * k_.ranges[k_.j] * elementBytes <= kPartialBytes;
  }

  Value partialSums(OpBuilder &b) {
    Type element = cast<MemRefType>(k_.c.getType()).getElementType();
    if (k_.cContiguous || !partialSumsFit(element.getIntOrFloatBitWidth() / 8))
      return nullptr;
    int64_t rows = k_.rowCount(), columns = k_.ranges[k_.j];
    auto func = k_.op->getParentOfType<func::FuncOp>();
    if (!func)
      return nullptr;
    OpBuilder::InsertionGuard guard(b);
    b.setInsertionPointToStart(&func.getBody().front());
    return b.create<memref::AllocaOp>(loc_,
                                      MemRefType::get({rows, columns}, element),
                                      b.getI64IntegerAttr(64));
  }

  /// The index of the partial-sum buffer's row `r` and column `column`
  /// of the current block.
  SmallVector<Value> partialIndices(OpBuilder &b, int64_t r, int64_t column) {
    AffineExpr d0 = b.getAffineDimExpr(0);
    OpFoldResult row = k_.i ? dims_[*k_.i] : OpFoldResult(b.getIndexAttr(0));
    return {getValueOrCreateConstantIndexOp(
                b, loc_,
                affine::makeComposedFoldedAffineApply(b, loc_, d0 + r, {row})),
            getValueOrCreateConstantIndexOp(
                b, loc_,
                affine::makeComposedFoldedAffineApply(b, loc_, d0 + column,
                                                      {dims_[k_.j]}))};
  }

  /// The first `width` lanes of a vector at `at` (the rest zero).
  Value loadVector(OpBuilder &b, Value memref, ValueRange at, int64_t width) {
    return loadFirst(b, loc_, vectorType_, memref, at, width);
  }

  /// Stores the first `width` lanes of `vector` at `at`.
  void storeVector(OpBuilder &b, Value vector, Value memref, ValueRange at,
                   int64_t width) {
    if (width == lanes_)
      b.create<vector::StoreOp>(loc_, vector, memref, at);
    else
      b.create<vector::MaskedStoreOp>(loc_, memref, at, mask(b, width), vector);
  }

  Value loadPartial(OpBuilder &b, int64_t r, int64_t column, int64_t width) {
    return loadVector(b, partial_, partialIndices(b, r, column), width);
  }

  void storePartial(OpBuilder &b, Value vector, int64_t r, int64_t column,
                    int64_t width) {
    storeVector(b, vector, partial_, partialIndices(b, r, column), width);
  }

  /// A loop over [from, from + count * step) by `step`, or the body once
  /// at `from`.
  void loop(OpBuilder &b, int64_t count, int64_t step,
            function_ref<void(OpBuilder &, OpFoldResult)> body,
            int64_t from = 0) {
    if (count == 1) {
      body(b, b.getIndexAttr(from));
      return;
    }
    b.create<scf::ForOp>(loc_, index(b, from), index(b, from + count * step),
                         index(b, step), ValueRange{},
                         [&](OpBuilder &nb, Location, Value iv, ValueRange) {
                           body(nb, iv);
                           nb.create<scf::YieldOp>(loc_);
                         });
  }

  void emitOuter(OpBuilder &b, size_t level) {
    if (level < k_.outer.size()) {
      unsigned d = k_.outer[level];
      loop(b, k_.ranges[d], 1, [&](OpBuilder &nb, OpFoldResult iv) {
        dims_[d] = iv;
        emitOuter(nb, level + 1);
      });
      return;
    }
    int64_t columns = k_.ranges[k_.j];
    int64_t block = nv_ * lanes_;
    int64_t full = columns / block, rest = columns % block;
    if (full > 0)
      loop(b, full, block, [&](OpBuilder &nb, OpFoldResult jb) {
        emitRows(nb, jb, SmallVector<int64_t>(nv_, lanes_));
      });
    if (rest > 0) {
      SmallVector<int64_t> widths(rest / lanes_, lanes_);
      if (rest % lanes_)
        widths.push_back(rest % lanes_);
      emitRows(b, b.getIndexAttr(full * block), widths);
    }
  }

  /// The blocks of rows: `big` of MR rows, then the others of MR - 1, so
  /// that no block is much shorter than the rest (49 rows in blocks of at
  /// most 6: 4 x 6 + 5 x 5, not 8 x 6 + 1). A block of few rows has few
  /// accumulators, too few to cover the FMA latency: one row of 2 vectors
  /// takes about as long per step as 5 rows.
  ///
  /// The last columns, narrower than a block, take more rows per block
  /// where S does not depend on the row (the same accumulators, so the
  /// same registers): 28 columns in vectors of 8 are a block of 3 vectors
  /// and one of 1, which with the 4 rows of the first would have 4
  /// accumulators, and take as long per step as the first (resnet18's
  /// stride-2 convolutions).
  void emitRows(OpBuilder &b, OpFoldResult jb, ArrayRef<int64_t> widths) {
    int64_t rows = k_.rowCount();
    int64_t nv = widths.size();
    int64_t mr = nv < nv_ && !k_.sUsesI ? rowsPerBlock(nv) : mr_;
    int64_t blocks = (rows + mr - 1) / mr;
    int64_t big = rows % mr == 0 ? blocks : rows - blocks * (mr - 1);
    if (big > 0)
      loop(b, big, mr, [&](OpBuilder &nb, OpFoldResult ib) {
        emitTile(nb, ib, jb, mr, widths);
      });
    if (blocks > big)
      loop(
          b, blocks - big, mr - 1,
          [&](OpBuilder &nb, OpFoldResult ib) {
            emitTile(nb, ib, jb, mr - 1, widths);
          },
          big * mr);
  }

  /// The indices of `map` at the current dims, with row `r` and column
  /// `column` (relative to the block's first).
  SmallVector<Value> indices(OpBuilder &b, AffineMap map, int64_t r,
                             int64_t column) {
    MLIRContext *context = b.getContext();
    AffineExpr dj = getAffineDimExpr(k_.j, context);
    // Row r of the block: p = i + r (i holds the block's first p), each row
    // dimension p's digit in the mixed radix of their ranges.
    DenseMap<AffineExpr, AffineExpr> at = {{dj, dj + column}};
    if (k_.i) {
      AffineExpr p = getAffineDimExpr(*k_.i, context) + r;
      int64_t inner = 1;
      for (size_t m = k_.rows.size(); m-- > 0;) {
        AffineExpr digit = inner > 1 ? p.floorDiv(inner) : p;
        if (m > 0)
          digit = digit % k_.ranges[k_.rows[m]];
        at[getAffineDimExpr(k_.rows[m], context)] = digit;
        inner *= k_.ranges[k_.rows[m]];
      }
    }
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults()) {
      AffineExpr replaced = e.replace(at);
      AffineMap one = AffineMap::get(map.getNumDims(), 0, replaced);
      result.push_back(getValueOrCreateConstantIndexOp(
          b, loc_, affine::makeComposedFoldedAffineApply(b, loc_, one, dims_)));
    }
    return result;
  }

  /// The first `width` of `size` lanes (default: a vector's).
  Value mask(OpBuilder &b, int64_t width, int64_t size = 0) {
    return constantMask(b, loc_, width, size == 0 ? lanes_ : size);
  }

  /// `width` elements (of a vector) of `memref` at `map`, row `r` and
  /// column `column`, `stride` apart.
  Value load(OpBuilder &b, Value memref, AffineMap map, int64_t r,
             int64_t column, int64_t width, int64_t stride = 1) {
    SmallVector<Value> at = indices(b, map, r, column);
    if (stride > 1)
      return loadStrided(b, loc_, vectorType_, memref, at, width, stride);
    return loadVector(b, memref, at, width);
  }

  void emitTile(OpBuilder &b, OpFoldResult ib, OpFoldResult jb, int64_t rows,
                ArrayRef<int64_t> widths) {
    if (k_.i)
      dims_[*k_.i] = ib;
    dims_[k_.j] = jb;
    int64_t nv = widths.size();
    SmallVector<Value> columns;
    if (columnInit_ && first_)
      for (int64_t v = 0; v < nv; ++v)
        columns.push_back(load(b, columnInit_->source, columnInit_->map, 0,
                               v * lanes_, widths[v]));
    SmallVector<Value> acc;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < nv; ++v)
        acc.push_back(
            !columns.empty() ? columns[v]
            : init_ && first_
                ? b.create<vector::BroadcastOp>(loc_, vectorType_, init_)
                      .getResult()
            : partial_ && !first_ ? loadPartial(b, r, v * lanes_, widths[v])
                                  : loadC(b, r, v * lanes_, widths[v]));
    SmallVector<Value> sum = emitReductions(b, 0, rows, widths, acc);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < nv; ++v)
        if (partial_ && !last_)
          storePartial(b, sum[r * nv + v], r, v * lanes_, widths[v]);
        else if (epilogue_ && last_)
          storeThroughEpilogue(b, sum[r * nv + v], r, v * lanes_, widths[v]);
        else
          storeC(b, sum[r * nv + v], r, v * lanes_, widths[v]);
  }

  /// Applies the epilogue's body to `acc` (C's final `width` elements at
  /// row `r` and column `column`), lane by lane as vectors, and stores the
  /// result in the epilogue's output (and `acc` in C if C is kept).
  void storeThroughEpilogue(OpBuilder &b, Value acc, int64_t r, int64_t column,
                            int64_t width) {
    const Epilogue &e = *epilogue_;
    linalg::GenericOp op = e.op;
    Block *body = op.getBody();
    auto vectorOf = [&](Type element) {
      return VectorType::get({lanes_}, element);
    };
    IRMapping values;
    for (auto [n, input] : llvm::enumerate(op.getDpsInputs())) {
      Value lanes;
      if (!e.maps[n]) {
        lanes = acc;
      } else {
        Type element = cast<MemRefType>(input.getType()).getElementType();
        if (e.vectors[n]) {
          lanes = loadFirst(b, loc_, vectorOf(element), input,
                            indices(b, *e.maps[n], r, column), width);
        } else {
          Value x = b.create<memref::LoadOp>(loc_, input,
                                             indices(b, *e.maps[n], r, 0));
          lanes = b.create<vector::BroadcastOp>(loc_, vectorOf(element), x);
        }
      }
      values.map(body->getArgument(n), lanes);
    }
    for (Operation &inner : body->without_terminator()) {
      if (auto constant = dyn_cast<arith::ConstantOp>(inner)) {
        auto type = vectorOf(constant.getType());
        values.map(constant.getResult(),
                   b.create<arith::ConstantOp>(
                       loc_, type,
                       SplatElementsAttr::get(
                           type, cast<TypedAttr>(constant.getValue()))));
        continue;
      }
      OperationState state(loc_, inner.getName());
      for (Value operand : inner.getOperands()) {
        Value lanes = values.lookupOrNull(operand);
        if (!lanes) // Defined outside the body: the same in every lane.
          lanes = b.create<vector::BroadcastOp>(
              loc_, vectorOf(operand.getType()), operand);
        state.addOperands(lanes);
      }
      for (Type type : inner.getResultTypes())
        state.addTypes(vectorOf(type));
      state.addAttributes(inner.getAttrs());
      Operation *lanewise = b.create(state);
      values.map(inner.getResults(), lanewise->getResults());
    }
    Value result = values.lookup(body->getTerminator()->getOperand(0));
    storeVector(b, result, op.getDpsInits()[0], indices(b, k_.cMap, r, column),
                width);
    if (e.keepC)
      storeC(b, acc, r, column, width);
  }

  /// The `width` elements of C at row `r` and column `column`.
  Value loadC(OpBuilder &b, int64_t r, int64_t column, int64_t width) {
    if (k_.cContiguous)
      return load(b, k_.c, k_.cMap, r, column, width);
    Value zero = b.create<arith::ConstantOp>(loc_, vectorType_,
                                             b.getZeroAttr(vectorType_));
    if (Value offsets = cOffsets(b))
      return b.create<vector::GatherOp>(loc_, vectorType_, k_.c,
                                        indices(b, k_.cMap, r, column), offsets,
                                        mask(b, width), zero);
    Value vector = zero;
    for (int64_t l = 0; l < width; ++l) {
      Value x = b.create<memref::LoadOp>(loc_, k_.c,
                                         indices(b, k_.cMap, r, column + l));
      vector = b.create<vector::InsertOp>(loc_, x, vector, l);
    }
    return vector;
  }

  void storeC(OpBuilder &b, Value vector, int64_t r, int64_t column,
              int64_t width) {
    SmallVector<Value> at = indices(b, k_.cMap, r, column);
    if (!k_.cContiguous) {
      if (Value offsets = cOffsets(b)) {
        b.create<vector::ScatterOp>(loc_, k_.c, at, offsets, mask(b, width),
                                    vector);
        return;
      }
      for (int64_t l = 0; l < width; ++l)
        b.create<memref::StoreOp>(loc_,
                                  b.create<vector::ExtractOp>(loc_, vector, l),
                                  k_.c, indices(b, k_.cMap, r, column + l));
      return;
    }
    storeVector(b, vector, k_.c, at, width);
  }

  /// When C is not contiguous along j but its stride there is static, the
  /// element offsets of a vector's lanes from its first (0, s, 2s, ...),
  /// for one gather or scatter instead of a load or store per lane; null
  /// otherwise.
  Value cOffsets(OpBuilder &b) {
    auto type = cast<MemRefType>(k_.c.getType());
    SmallVector<int64_t> strides;
    int64_t offset;
    std::optional<unsigned> position =
        k_.cMap.getResultPosition(b.getAffineDimExpr(k_.j));
    if (!position || failed(getStridesAndOffset(type, strides, offset)) ||
        ShapedType::isDynamic(strides[*position]) ||
        (lanes_ - 1) * strides[*position] > INT32_MAX)
      return nullptr;
    SmallVector<int32_t> lanes;
    for (int64_t l = 0; l < lanes_; ++l)
      lanes.push_back(static_cast<int32_t>(l * strides[*position]));
    auto offsetsType = VectorType::get({lanes_}, b.getI32Type());
    return b.create<arith::ConstantOp>(
        loc_, DenseElementsAttr::get(offsetsType, ArrayRef<int32_t>(lanes)));
  }

  SmallVector<Value> emitReductions(OpBuilder &b, size_t level, int64_t rows,
                                    ArrayRef<int64_t> widths, ValueRange acc) {
    if (level == k_.reductions.size())
      return emitStep(b, rows, widths, acc);
    unsigned d = k_.reductions[level];
    bool chunked = level == 0 && chunk_ > 0;
    auto loop = b.create<scf::ForOp>(
        loc_, index(b, 0), index(b, chunked ? chunk_ : k_.ranges[d]),
        index(b, 1), acc,
        [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
          dims_[d] = iv;
          if (chunked)
            dims_[d] = affine::makeComposedFoldedAffineApply(
                nb, loc_, nb.getAffineDimExpr(0) + nb.getAffineDimExpr(1),
                {chunkBase_, iv});
          nb.create<scf::YieldOp>(
              loc_, emitReductions(nb, level + 1, rows, widths, args));
        });
    dims_[d] = b.getIndexAttr(0);
    return loop.getResults();
  }

  /// Asks for the vectors of S kPrefetchSteps steps of the innermost
  /// reduction ahead (when it is long and S is shared by the rows): a
  /// matmul's B rows are far apart, which the hardware prefetchers follow
  /// late (bert_layer's matmuls: about 10% faster). Where the innermost
  /// reductions are short (a convolution's filter window) and S is too
  /// large to stay in the cache between runs, about kStreamSteps steps
  /// ahead along the outermost one instead: the first block of rows
  /// streams each chunk of the filter from memory (resnet18's layer 4
  /// convolutions, 9.4 MiB of filter each: 3.1 -> 2.9 ms). Out-of-range
  /// prefetches do not fault.
  ///
  /// With long reductions over a constant S (weights), the step's S of
  /// the next block of columns too, while the current one runs through its
  /// blocks of rows: only the first block of rows reads a block's S from
  /// memory, and it cannot hide that latency alone (a [768][16] panel of
  /// packed B is 48 KiB for 1.4 us of FMAs); spread over all the blocks of
  /// rows before, it arrives in time. bert_layer's FFN matmuls read 19 MiB
  /// of weights per run, more than the L3 cache holds: 6.55 -> 6.37 ms and
  /// 6.41 -> 6.25 ms. Not where S is an activation, mostly in the cache
  /// already: the extra load slots cost MobileNet's pointwise convolutions
  /// 15%.
  void emitPrefetch(OpBuilder &b, int64_t nv) {
    constexpr int64_t kPrefetchSteps = 8, kStreamSteps = 64;
    constexpr int64_t kStreamedBytes = 1 << 20;
    if (k_.sUsesI || k_.reductions.empty())
      return;
    unsigned inner = k_.reductions.back();
    int64_t ahead = kPrefetchSteps;
    bool nextColumns = false;
    if (k_.ranges[inner] >= 4 * kPrefetchSteps) {
      nextColumns = k_.rowCount() > mr_ && k_.ranges[k_.j] > nv_ * lanes_ &&
                    isConstant(k_.s);
    } else {
      auto type = cast<MemRefType>(k_.s.getType());
      if (k_.reductions.size() < 2 || !type.hasStaticShape() ||
          type.getNumElements() * type.getElementTypeBitWidth() / 8 <
              kStreamedBytes)
        return;
      int64_t innerSteps = 1;
      for (size_t l = 1; l < k_.reductions.size(); ++l)
        innerSteps *= k_.ranges[k_.reductions[l]];
      inner = k_.reductions.front();
      ahead = (kStreamSteps + innerSteps - 1) / innerSteps;
      if (k_.ranges[inner] < 2 * ahead)
        return;
    }
    OpFoldResult step = dims_[inner];
    dims_[inner] = affine::makeComposedFoldedAffineApply(
        b, loc_, b.getAffineDimExpr(0) + ahead, {step});
    prefetchLines(b, 0, nv * lanes_);
    dims_[inner] = step;
    if (nextColumns)
      prefetchLines(b, nv_ * lanes_, nv * lanes_);
  }

  /// Prefetches the cache lines of S's `width` columns from `column` (of
  /// the block's) at the current dims: one prefetch per 64 bytes, as each
  /// takes a load slot, which the microkernel nearly fills.
  void prefetchLines(OpBuilder &b, int64_t column, int64_t width) {
    int64_t bytes =
        cast<MemRefType>(k_.s.getType()).getElementTypeBitWidth() / 8;
    int64_t step =
        std::max<int64_t>(kLineBytes / std::max<int64_t>(bytes, 1), 1);
    if (k_.sStride > 1)
      step = lanes_; // Strided columns: the first of each vector.
    for (int64_t c = 0; c < width; c += step)
      b.create<memref::PrefetchOp>(loc_, k_.s,
                                   indices(b, k_.sMap, 0, column + c),
                                   /*isWrite=*/false, /*localityHint=*/3,
                                   /*isDataCache=*/true);
  }

  /// One reduction step: MR x NV FMAs.
  SmallVector<Value> emitStep(OpBuilder &b, int64_t rows,
                              ArrayRef<int64_t> widths, ValueRange acc) {
    int64_t nv = widths.size();
    emitPrefetch(b, nv);
    SmallVector<SmallVector<Value>> s;
    for (int64_t r = 0; r < (k_.sUsesI ? rows : 1); ++r) {
      s.emplace_back();
      for (int64_t v = 0; v < nv; ++v)
        s.back().push_back(
            load(b, k_.s, k_.sMap, r, v * lanes_, widths[v], k_.sStride));
    }
    SmallVector<Value> result;
    for (int64_t r = 0; r < rows; ++r) {
      Value a = b.create<memref::LoadOp>(loc_, k_.a, indices(b, k_.aMap, r, 0));
      Value splat = b.create<vector::BroadcastOp>(loc_, vectorType_, a);
      for (int64_t v = 0; v < nv; ++v)
        result.push_back(b.create<vector::FMAOp>(
            loc_, splat, s[k_.sUsesI ? r : 0][v], acc[r * nv + v]));
    }
    return result;
  }

  const Contraction &k_;
  const Epilogue *epilogue_ = nullptr;
  Location loc_;
  /// The bytes of S one block of rows may read over a reduction before it
  /// runs in chunks: what stays in the L2 cache for the next blocks.
  int64_t chunkBytes_;
  int64_t lanes_ = 1, nv_ = 1, mr_ = 1;
  int64_t accumulators_ = 1; ///< Registers for the accumulators.
  int64_t chunk_ = 0;        ///< Of the outermost reduction; 0: whole.
  bool first_ = true;        ///< Emitting the first chunk (C's start).
  bool last_ = true;         ///< Emitting the last chunk (or the only one).
  Value partial_; ///< The partial sums between chunks, if not kept in C.
  OpFoldResult chunkBase_; ///< Where the current chunk starts.
  VectorType vectorType_;
  Value init_;
  std::optional<ColumnInit> columnInit_; ///< C's start, if a bias.
  SmallVector<OpFoldResult> dims_;
};

/// The value C is filled with just before `op` (with only ops free of
/// memory effects between them: a tiled matmul's subviews of its other
/// operands), if so: the fill is then redundant, as the microkernel writes
/// every element of C.
linalg::FillOp fillBefore(Operation *op, Value c) {
  Operation *prev = op->getPrevNode();
  while (prev && !isa<linalg::FillOp>(prev) && isMemoryEffectFree(prev))
    prev = prev->getPrevNode();
  auto fill = dyn_cast_or_null<linalg::FillOp>(prev);
  // C merged from two dimensions (mergeRowsIntoColumns) is a view of the
  // filled buffer.
  if (auto collapse = c.getDefiningOp<memref::CollapseShapeOp>())
    c = collapse.getSrc();
  if (!fill || !fill.hasPureBufferSemantics() ||
      fill.getDpsInitOperand(0)->get() != c)
    return nullptr;
  return fill;
}

std::optional<ColumnInit> columnInitBefore(const Contraction &k) {
  Operation *prev = k.op->getPrevNode();
  while (prev && !isa<linalg::GenericOp>(prev) && isMemoryEffectFree(prev))
    prev = prev->getPrevNode();
  auto op = dyn_cast_or_null<linalg::GenericOp>(prev);
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInputs() != 1 ||
      op.getNumDpsInits() != 1 || op.getNumParallelLoops() != op.getNumLoops())
    return std::nullopt;
  OpOperand *out = op.getDpsInitOperand(0);
  Block *body = op.getBody();
  // C merged from two dimensions (mergeRowsIntoColumns) is a view of the
  // buffer written: the copy's indices over C's dimensions then come from
  // those it shares with the view unmerged.
  auto collapse = k.c.getDefiningOp<memref::CollapseShapeOp>();
  Value written = collapse ? collapse.getSrc() : k.c;
  if (out->get() != written || !op.getMatchingIndexingMap(out).isIdentity() ||
      body->getOperations().size() != 1 ||
      body->getTerminator()->getOperand(0) != body->getArgument(0))
    return std::nullopt;
  OpOperand *in = op.getDpsInputOperand(0);
  AffineMap inMap = op.getMatchingIndexingMap(in);
  if (collapse) {
    SmallVector<ReassociationIndices> groups =
        collapse.getReassociationIndices();
    SmallVector<AffineExpr> toC(inMap.getNumDims());
    for (auto [g, group] : llvm::enumerate(groups))
      for (int64_t d : group)
        toC[d] = group.size() == 1 ? getAffineDimExpr(g, op.getContext())
                                   : AffineExpr();
    SmallVector<AffineExpr> results;
    for (AffineExpr r : inMap.getResults()) {
      auto dim = dyn_cast<AffineDimExpr>(r);
      if (!dim || !toC[dim.getPosition()])
        return std::nullopt;
      results.push_back(toC[dim.getPosition()]);
    }
    inMap = AffineMap::get(groups.size(), 0, results, op.getContext());
  }
  Value x = in->get();
  auto type = dyn_cast<MemRefType>(x.getType());
  if (!type ||
      type.getElementType() !=
          cast<MemRefType>(k.c.getType()).getElementType() ||
      !unitInnerStride(x) || mayAlias(x, k.c))
    return std::nullopt;
  AffineMap map = inMap.compose(k.cMap);
  if (map.getNumResults() == 0 ||
      strideAlong(map.getResults().back(), k.j, k.ranges.size()) != 1 ||
      llvm::any_of(map.getResults().drop_back(),
                   [&](AffineExpr r) { return r.isFunctionOfDim(k.j); }) ||
      llvm::any_of(k.rows, [&](unsigned d) { return mapUsesDim(map, d); }))
    return std::nullopt;
  return ColumnInit{op, x, map};
}

/// A window reduction (max pooling, average pooling's sum): C[p.., j] =
/// combine(C[p.., j], X[.., stride * j + ..]) over the reduction
/// dimensions, `combine` a max, min or add of the accumulator and one
/// input (the others, such as the window's shape, unread). LLVM's own
/// vectorization of its scalar loops fully unrolls the short row and then
/// vectorizes across channels with scatters (resnet18's max pool: 0.5 ms);
/// here each block of `lanes` outputs along j is read once, combined with
/// one vector of X per window position (every stride-th element of a span
/// when the stride is 2), and stored once.
struct Window {
  linalg::GenericOp op;
  Operation *combine = nullptr;
  Value c, x;
  AffineMap cMap, xMap;
  SmallVector<int64_t> ranges;
  unsigned j = 0;
  int64_t stride = 1;
};

std::optional<Window> matchWindow(linalg::GenericOp op) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() == 0)
    return std::nullopt;
  Block &body = op.getRegion().front();
  if (body.getOperations().size() != 2)
    return std::nullopt;
  Operation *combine = &body.front();
  if (!isa<arith::MaximumFOp, arith::MinimumFOp, arith::AddFOp>(combine) ||
      body.getTerminator()->getOperand(0) != combine->getResult(0))
    return std::nullopt;
  Value acc = body.getArguments().back();
  Value in = combine->getOperand(0) == acc   ? combine->getOperand(1)
             : combine->getOperand(1) == acc ? combine->getOperand(0)
                                             : Value();
  auto arg = dyn_cast_or_null<BlockArgument>(in);
  if (!arg || arg.getOwner() != &body ||
      arg.getArgNumber() >= op.getNumDpsInputs())
    return std::nullopt;
  Window w;
  w.op = op;
  w.combine = combine;
  w.c = op.getDpsInits()[0];
  w.x = op.getDpsInputs()[arg.getArgNumber()];
  w.cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  w.xMap = op.getMatchingIndexingMap(op.getDpsInputOperand(arg.getArgNumber()));
  w.ranges = op.getStaticLoopRanges();
  if (llvm::any_of(w.ranges, [](int64_t r) {
        return ShapedType::isDynamic(r) || r <= 0;
      }))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  int64_t parallel = op.getNumParallelLoops();
  if (!w.cMap.isProjectedPermutation() || w.cMap.getNumResults() == 0 ||
      static_cast<int64_t>(w.cMap.getNumResults()) != parallel ||
      w.xMap.getNumResults() == 0 || !unitInnerStride(w.c) ||
      !unitInnerStride(w.x) ||
      getElementTypeOrSelf(w.x.getType()) != combine->getResult(0).getType())
    return std::nullopt;
  w.j = w.cMap.getDimPosition(w.cMap.getNumResults() - 1);
  w.stride = strideAlong(w.xMap.getResults().back(), w.j, w.ranges.size());
  if (w.stride == 0 ||
      llvm::any_of(w.xMap.getResults().drop_back(),
                   [&](AffineExpr e) { return e.isFunctionOfDim(w.j); }))
    return std::nullopt;
  return w;
}

/// Replaces a window reduction by loops over its parallel dimensions and
/// vector blocks along j, each block's accumulator kept in a register over
/// the window (the reduction loops, innermost, in their order: each
/// output's sum runs in the scalar loops' order). `init` is the value a
/// fill just before set C to, or null (C read).
void emitWindow(Window w, int64_t lanes, Value init) {
  OpBuilder b(w.op);
  Location loc = w.op.getLoc();
  Type element = getElementTypeOrSelf(w.c.getType());
  auto vectorType = VectorType::get({lanes}, element);
  unsigned dims = w.ranges.size();
  SmallVector<utils::IteratorType> iterators = w.op.getIteratorTypesArray();
  SmallVector<Value> iv(dims);
  auto index = [&](OpBuilder &b, int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc, v).getResult();
  };
  auto combine = [&](OpBuilder &b, Value acc, Value v) -> Value {
    if (isa<arith::MaximumFOp>(w.combine))
      return b.create<arith::MaximumFOp>(loc, acc, v);
    if (isa<arith::MinimumFOp>(w.combine))
      return b.create<arith::MinimumFOp>(loc, acc, v);
    return b.create<arith::AddFOp>(loc, v, acc);
  };
  // One block of `width` outputs from j = jb.
  auto block = [&](OpBuilder &b, Value jb, int64_t width) {
    iv[w.j] = jb;
    SmallVector<Value> cAt;
    for (AffineExpr e : w.cMap.getResults())
      cAt.push_back(iv[cast<AffineDimExpr>(e).getPosition()]);
    Value acc =
        init ? b.create<vector::BroadcastOp>(loc, vectorType, init).getResult()
             : loadFirst(b, loc, vectorType, w.c, cAt, width);
    // The reduction loops, the accumulator carried through them.
    std::function<Value(OpBuilder &, unsigned, Value)> reduce =
        [&](OpBuilder &b, unsigned d, Value acc) -> Value {
      while (d < dims && iterators[d] != utils::IteratorType::reduction)
        ++d;
      if (d == dims) {
        SmallVector<Value> xAt;
        for (AffineExpr e : w.xMap.getResults())
          xAt.push_back(b.create<affine::AffineApplyOp>(
              loc, AffineMap::get(dims, 0, e), iv));
        return combine(
            b, acc,
            w.stride == 1
                ? loadFirst(b, loc, vectorType, w.x, xAt, width)
                : loadStrided(b, loc, vectorType, w.x, xAt, width, w.stride));
      }
      auto loop = b.create<scf::ForOp>(
          loc, index(b, 0), index(b, w.ranges[d]), index(b, 1), ValueRange{acc},
          [&](OpBuilder &b, Location, Value i, ValueRange carried) {
            iv[d] = i;
            b.create<scf::YieldOp>(loc, reduce(b, d + 1, carried[0]));
          });
      return loop.getResult(0);
    };
    acc = reduce(b, 0, acc);
    if (width == lanes)
      b.create<vector::StoreOp>(loc, acc, w.c, cAt);
    else
      b.create<vector::MaskedStoreOp>(loc, w.c, cAt,
                                      constantMask(b, loc, width, lanes), acc);
  };
  // The parallel loops other than j, outermost first, then j in blocks.
  std::function<void(OpBuilder &, unsigned)> outer = [&](OpBuilder &b,
                                                         unsigned d) {
    while (d < dims &&
           (d == w.j || iterators[d] != utils::IteratorType::parallel))
      ++d;
    if (d < dims) {
      b.create<scf::ForOp>(loc, index(b, 0), index(b, w.ranges[d]), index(b, 1),
                           ValueRange{},
                           [&](OpBuilder &b, Location, Value i, ValueRange) {
                             iv[d] = i;
                             outer(b, d + 1);
                             b.create<scf::YieldOp>(loc);
                           });
      return;
    }
    int64_t range = w.ranges[w.j], full = range / lanes * lanes;
    if (full > 0)
      b.create<scf::ForOp>(loc, index(b, 0), index(b, full), index(b, lanes),
                           ValueRange{},
                           [&](OpBuilder &b, Location, Value jb, ValueRange) {
                             block(b, jb, lanes);
                             b.create<scf::YieldOp>(loc);
                           });
    if (range > full)
      block(b, index(b, full), range - full);
  };
  outer(b, 0);
}

struct CpuVectorizeContractionsPass
    : public impl::CpuVectorizeContractionsBase<CpuVectorizeContractionsPass> {
  using CpuVectorizeContractionsBase::CpuVectorizeContractionsBase;
  /// Lanes of a vector of `op`'s element type.
  int64_t lanesFor(linalg::GenericOp op) {
    Type element = getElementTypeOrSelf(op.getDpsInits()[0].getType());
    if (!element.isIntOrFloat())
      return 1;
    return std::max<int64_t>(vectorBits / element.getIntOrFloatBitWidth(), 1);
  }

  void runOnOperation() override {
    if (vectorBits <= 0)
      return;
    SmallVector<linalg::GenericOp> generics;
    getOperation().walk([&](linalg::GenericOp op) { generics.push_back(op); });
    std::vector<Contraction> found;
    for (linalg::GenericOp op : generics) {
      if (linalg::GenericOp merged = mergeRowsIntoColumns(op, lanesFor(op)))
        op = merged;
      if (std::optional<Contraction> k = match(op, lanesFor(op)))
        found.push_back(*k);
    }
    for (const Contraction &k : found) {
      linalg::FillOp fill = fillBefore(k.op, k.c);
      std::optional<ColumnInit> columnInit;
      if (!fill && (columnInit = columnInitBefore(k)))
        columnInit->op->erase();
      std::optional<Epilogue> epilogue;
      if (fuseEpilogues)
        epilogue = matchEpilogue(k, fill);
      Value init;
      if (fill) {
        init = fill.getDpsInputOperand(0)->get();
        fill->erase();
      }
      if (epilogue)
        for (Operation *op : epilogue->between)
          op->moveBefore(k.op);
      OpBuilder b(k.op);
      Emitter(k, vectorBits, vectorRegisters, chunkBytes)
          .emit(b, init, epilogue ? &*epilogue : nullptr, columnInit);
      k.op->erase();
      if (epilogue)
        epilogue->op->erase();
    }
    std::vector<Window> windows;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Window> w = matchWindow(op))
        windows.push_back(*w);
    });
    for (Window &w : windows) {
      int64_t lanes = lanesFor(w.op);
      if (lanes < 2)
        continue;
      Value init;
      if (linalg::FillOp fill = fillBefore(w.op, w.c)) {
        init = fill.getDpsInputOperand(0)->get();
        fill->erase();
      }
      emitWindow(w, lanes, init);
      w.op->erase();
    }
  }
};

} // namespace
} // namespace kiln
