//===- VectorizeContractions.cc - kiln-cpu-vectorize-contractions ---------===//
//
// Part of Kiln. The scalar loops LLVM would make of a contraction keep the
// output in memory: every multiply-add loads and stores C. Here a
// contraction on buffers (a linalg.generic `C += A * S`) becomes the loop
// nest of a register-blocked GEMM microkernel, written with the vector
// dialect:
//
//   for the other parallel dimensions p:
//     for each block of NV vectors along j (the output's last dimension):
//       for each block of MR rows along i (another parallel dimension):
//         acc[MR][NV] = C[p, i.., j..]   (or the fill value)
//         for the reduction dimensions k (in order):
//           s[v] = S[.., j + v * lanes]  (one set, or one per row when S
//                                          depends on i)
//           acc[r][v] = fma(broadcast(A[.., i + r, ..]), s[v], acc[r][v])
//         C[p, i.., j..] = acc
//
// `S` is the input that `j` advances by one element with unit stride (the
// right-hand matrix of a matmul, the input of a stride-1 convolution);
// `A` does not depend on `j` (the left-hand matrix, the filter). Each
// element's sum runs over the reduction in the same order as the scalar
// loops, so the result does not depend on tile or thread counts.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Passes.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Utils/Utils.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Vector/IR/VectorOps.h"
#include "mlir/IR/AffineExprVisitor.h"
#include "mlir/IR/BuiltinTypes.h"

#include <vector>

namespace kiln {
#define GEN_PASS_DEF_CPUVECTORIZECONTRACTIONS
#include "codegen/cpu/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Whether `op`'s body is `out + in0 * in1` (in either order).
bool isMultiplyAccumulate(linalg::GenericOp op) {
  Block &body = op.getRegion().front();
  if (body.getNumArguments() != 3 || body.getOperations().size() != 3)
    return false;
  auto add = body.getTerminator()->getOperand(0).getDefiningOp<arith::AddFOp>();
  if (!add)
    return false;
  Value acc = body.getArgument(2);
  Value product = add.getLhs() == acc   ? add.getRhs()
                  : add.getRhs() == acc ? add.getLhs()
                                        : Value();
  auto mul = product ? product.getDefiningOp<arith::MulFOp>() : nullptr;
  if (!mul)
    return false;
  Value a = body.getArgument(0), b = body.getArgument(1);
  return (mul.getLhs() == a && mul.getRhs() == b) ||
         (mul.getLhs() == b && mul.getRhs() == a);
}

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

bool mapUsesDim(AffineMap map, unsigned dim) {
  return llvm::any_of(map.getResults(),
                      [&](AffineExpr e) { return e.isFunctionOfDim(dim); });
}

/// A contraction this pass rewrites, and how.
struct Contraction {
  linalg::GenericOp op;
  SmallVector<int64_t> ranges;
  AffineMap aMap, sMap, cMap;
  Value a, s, c;
  unsigned j = 0;
  std::optional<unsigned> i;
  SmallVector<unsigned> outer;      ///< Other parallel dims, range > 1.
  SmallVector<unsigned> reductions; ///< In loop order, range > 1.
  bool sUsesI = false;
  int64_t sStride = 1; ///< S's elements between consecutive j.
};

std::optional<Contraction> match(linalg::GenericOp op) {
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
  k.j = k.cMap.getDimPosition(k.cMap.getNumResults() - 1);
  if (!unitInnerStride(k.c))
    return std::nullopt;
  // Which input is streamed along j.
  bool found = false;
  for (unsigned s = 0; s < 2 && !found; ++s) {
    OpOperand *sOperand = op.getDpsInputOperand(s);
    OpOperand *aOperand = op.getDpsInputOperand(1 - s);
    AffineMap sMap = op.getMatchingIndexingMap(sOperand);
    AffineMap aMap = op.getMatchingIndexingMap(aOperand);
    if (sMap.getNumResults() == 0 || mapUsesDim(aMap, k.j) ||
        !unitInnerStride(sOperand->get()))
      continue;
    ArrayRef<AffineExpr> results = sMap.getResults();
    int64_t stride = strideAlong(results.back(), k.j, dims);
    if (stride == 0 || llvm::any_of(results.drop_back(), [&](AffineExpr e) {
          return e.isFunctionOfDim(k.j);
        }))
      continue;
    k.s = sOperand->get();
    k.a = aOperand->get();
    k.sMap = sMap;
    k.aMap = aMap;
    k.sStride = stride;
    found = true;
  }
  if (!found)
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
  if (k.i)
    k.sUsesI = mapUsesDim(k.sMap, *k.i);
  for (unsigned d = 0; d < dims; ++d) {
    if (k.ranges[d] == 1 || d == k.j || (k.i && d == *k.i))
      continue;
    if (iterators[d] == utils::IteratorType::parallel)
      k.outer.push_back(d);
    else
      k.reductions.push_back(d);
  }
  return k;
}

/// Emits the microkernel loop nest for one contraction.
class Emitter {
public:
  Emitter(const Contraction &k, int64_t vectorBits, int64_t registers)
      : k_(k), loc_(k.op->getLoc()) {
    Type element = cast<MemRefType>(k.c.getType()).getElementType();
    lanes_ = std::max<int64_t>(vectorBits / element.getIntOrFloatBitWidth(), 1);
    vectorType_ = VectorType::get({lanes_}, element);
    int64_t columns = k.ranges[k.j];
    int64_t vectors = (columns + lanes_ - 1) / lanes_;
    nv_ = std::min<int64_t>(vectors, registers >= 32 ? 4 : 3);
    int64_t accumulators = registers * 3 / 4;
    int64_t rows = k.i ? k.ranges[*k.i] : 1;
    mr_ = std::clamp<int64_t>(accumulators / nv_, 1, rows);
  }

  /// Replaces the op; `init` is the fill value of C, if C is filled first.
  void emit(OpBuilder &b, Value init) {
    init_ = init;
    dims_.assign(k_.ranges.size(), b.getIndexAttr(0));
    emitOuter(b, 0);
  }

private:
  Value index(OpBuilder &b, int64_t v) {
    return b.create<arith::ConstantIndexOp>(loc_, v);
  }

  /// A loop over [0, count * step) by `step`, or the body once at 0.
  void loop(OpBuilder &b, int64_t count, int64_t step,
            function_ref<void(OpBuilder &, OpFoldResult)> body) {
    if (count == 1) {
      body(b, b.getIndexAttr(0));
      return;
    }
    b.create<scf::ForOp>(loc_, index(b, 0), index(b, count * step),
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

  void emitRows(OpBuilder &b, OpFoldResult jb, ArrayRef<int64_t> widths) {
    int64_t rows = k_.i ? k_.ranges[*k_.i] : 1;
    int64_t full = rows / mr_, rest = rows % mr_;
    if (full > 0)
      loop(b, full, mr_, [&](OpBuilder &nb, OpFoldResult ib) {
        emitTile(nb, ib, jb, mr_, widths);
      });
    if (rest > 0)
      emitTile(b, b.getIndexAttr(full * mr_), jb, rest, widths);
  }

  /// The indices of `map` at the current dims, with row `r` and column
  /// `column` (relative to the block's first).
  SmallVector<Value> indices(OpBuilder &b, AffineMap map, int64_t r,
                             int64_t column) {
    MLIRContext *context = b.getContext();
    AffineExpr dj = getAffineDimExpr(k_.j, context);
    SmallVector<Value> result;
    for (AffineExpr e : map.getResults()) {
      AffineExpr at = e.replace(dj, dj + column);
      if (k_.i) {
        AffineExpr di = getAffineDimExpr(*k_.i, context);
        at = at.replace(di, di + r);
      }
      AffineMap one = AffineMap::get(map.getNumDims(), 0, at);
      result.push_back(getValueOrCreateConstantIndexOp(
          b, loc_, affine::makeComposedFoldedAffineApply(b, loc_, one, dims_)));
    }
    return result;
  }

  /// The first `width` of `size` lanes (default: a vector's).
  Value mask(OpBuilder &b, int64_t width, int64_t size = 0) {
    if (size == 0)
      size = lanes_;
    SmallVector<bool> bits(size, false);
    std::fill_n(bits.begin(), width, true);
    auto type = VectorType::get({size}, b.getI1Type());
    return b.create<arith::ConstantOp>(loc_,
                                       DenseElementsAttr::get(type, bits));
  }

  /// `width` elements (of a vector) of `memref` at `map`, row `r` and
  /// column `column`, `stride` apart.
  Value load(OpBuilder &b, Value memref, AffineMap map, int64_t r,
             int64_t column, int64_t width, int64_t stride = 1) {
    SmallVector<Value> at = indices(b, map, r, column);
    if (stride > 1) {
      // The span the lanes lie in, then every stride-th element of it. The
      // mask stops at the last element used: nothing past it is read.
      auto wide =
          VectorType::get({lanes_ * stride}, vectorType_.getElementType());
      Value zero = b.create<arith::ConstantOp>(loc_, wide, b.getZeroAttr(wide));
      Value span = b.create<vector::MaskedLoadOp>(
          loc_, wide, memref, at,
          mask(b, (width - 1) * stride + 1, lanes_ * stride), zero);
      SmallVector<int64_t> picks;
      for (int64_t l = 0; l < lanes_; ++l)
        picks.push_back(l * stride);
      return b.create<vector::ShuffleOp>(loc_, span, span, picks);
    }
    if (width == lanes_)
      return b.create<vector::LoadOp>(loc_, vectorType_, memref, at);
    Value zero = b.create<arith::ConstantOp>(loc_, vectorType_,
                                             b.getZeroAttr(vectorType_));
    return b.create<vector::MaskedLoadOp>(loc_, vectorType_, memref, at,
                                          mask(b, width), zero);
  }

  void emitTile(OpBuilder &b, OpFoldResult ib, OpFoldResult jb, int64_t rows,
                ArrayRef<int64_t> widths) {
    if (k_.i)
      dims_[*k_.i] = ib;
    dims_[k_.j] = jb;
    int64_t nv = widths.size();
    SmallVector<Value> acc;
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < nv; ++v)
        acc.push_back(
            init_ ? b.create<vector::BroadcastOp>(loc_, vectorType_, init_)
                        .getResult()
                  : load(b, k_.c, k_.cMap, r, v * lanes_, widths[v]));
    SmallVector<Value> sum = emitReductions(b, 0, rows, widths, acc);
    for (int64_t r = 0; r < rows; ++r)
      for (int64_t v = 0; v < nv; ++v) {
        SmallVector<Value> at = indices(b, k_.cMap, r, v * lanes_);
        if (widths[v] == lanes_)
          b.create<vector::StoreOp>(loc_, sum[r * nv + v], k_.c, at);
        else
          b.create<vector::MaskedStoreOp>(loc_, k_.c, at, mask(b, widths[v]),
                                          sum[r * nv + v]);
      }
  }

  SmallVector<Value> emitReductions(OpBuilder &b, size_t level, int64_t rows,
                                    ArrayRef<int64_t> widths, ValueRange acc) {
    if (level == k_.reductions.size())
      return emitStep(b, rows, widths, acc);
    unsigned d = k_.reductions[level];
    auto loop = b.create<scf::ForOp>(
        loc_, index(b, 0), index(b, k_.ranges[d]), index(b, 1), acc,
        [&](OpBuilder &nb, Location, Value iv, ValueRange args) {
          dims_[d] = iv;
          nb.create<scf::YieldOp>(
              loc_, emitReductions(nb, level + 1, rows, widths, args));
        });
    dims_[d] = b.getIndexAttr(0);
    return loop.getResults();
  }

  /// One reduction step: MR x NV FMAs.
  SmallVector<Value> emitStep(OpBuilder &b, int64_t rows,
                              ArrayRef<int64_t> widths, ValueRange acc) {
    int64_t nv = widths.size();
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
  Location loc_;
  int64_t lanes_ = 1, nv_ = 1, mr_ = 1;
  VectorType vectorType_;
  Value init_;
  SmallVector<OpFoldResult> dims_;
};

/// The value C is filled with just before `op`, if so: the fill is then
/// redundant, as the microkernel writes every element of C.
linalg::FillOp fillBefore(const Contraction &k) {
  auto fill = dyn_cast_or_null<linalg::FillOp>(k.op->getPrevNode());
  if (!fill || !fill.hasPureBufferSemantics() ||
      fill.getDpsInitOperand(0)->get() != k.c)
    return nullptr;
  return fill;
}

struct CpuVectorizeContractionsPass
    : public impl::CpuVectorizeContractionsBase<CpuVectorizeContractionsPass> {
  using CpuVectorizeContractionsBase::CpuVectorizeContractionsBase;
  void runOnOperation() override {
    if (vectorBits <= 0)
      return;
    std::vector<Contraction> found;
    getOperation().walk([&](linalg::GenericOp op) {
      if (std::optional<Contraction> k = match(op))
        found.push_back(*k);
    });
    for (const Contraction &k : found) {
      OpBuilder b(k.op);
      Value init;
      if (linalg::FillOp fill = fillBefore(k)) {
        init = fill.getDpsInputOperand(0)->get();
        fill->erase();
      }
      Emitter(k, vectorBits, vectorRegisters).emit(b, init);
      k.op->erase();
    }
  }
};

} // namespace
} // namespace kiln
