//===- MapKernels.cc - The kiln-cuda-map-kernels pass ---------------------===//
//
// Part of Kiln. The outlined kernels as GPU kernels: one launch per linalg
// op, one thread per point of its parallel iteration space; the serial rest
// of a kernel as a launch of one thread (Passes.td).
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LinalgMatch.h"
#include "codegen/cuda/Matmul.h"
#include "codegen/cuda/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/Transforms.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/Dominance.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/Matchers.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/CSE.h"
#include "mlir/Transforms/RegionUtils.h"
#include "llvm/ADT/StringSwitch.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAMAPKERNELS
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Threads per block of a launch with many threads.
constexpr int64_t kBlockSize = 256;

/// Marks a contraction that runs as a library matmul; its value is the
/// matmul (codegen/cuda/Matmul.h).
constexpr llvm::StringLiteral kMatmulAttr = "kiln.matmul";

/// Where a view's elements lie: its root buffer's index among the host
/// kernel's buffers, its offset and its strides (in elements) from that
/// buffer's start.
struct Placement {
  int32_t buffer = 0;
  int64_t offset = 0;
  SmallVector<int64_t> strides;
};

/// `v`'s placement, when it is a view with a static layout of one of
/// `host`'s buffers.
std::optional<Placement> placementOf(Value v, func::FuncOp host) {
  auto root = dyn_cast_or_null<BlockArgument>(rootOf(v));
  if (!root || root.getOwner() != &host.getBody().front())
    return std::nullopt;
  auto rootType = dyn_cast<MemRefType>(root.getType());
  auto type = dyn_cast<MemRefType>(v.getType());
  SmallVector<int64_t> rootStrides;
  int64_t rootOffset = 0;
  Placement p;
  if (!rootType || !type || !rootType.getElementType().isF32() ||
      failed(getStridesAndOffset(rootType, rootStrides, rootOffset)) ||
      rootOffset != 0 ||
      failed(getStridesAndOffset(type, p.strides, p.offset)) ||
      ShapedType::isDynamic(p.offset) || p.offset < 0 ||
      llvm::any_of(p.strides,
                   [](int64_t s) { return ShapedType::isDynamic(s) || s < 0; }))
    return std::nullopt;
  for (BlockArgument arg : host.getArguments().take_front(root.getArgNumber()))
    p.buffer += isa<MemRefType>(arg.getType());
  return p;
}

/// Strides (rows, cols) of an R x C matrix made fit for a BLAS: a dimension
/// of one element takes whatever stride makes the matrix row-major or
/// transposed with a leading dimension at least the other's extent.
/// False when neither the rows nor the columns are contiguous.
bool blasLayout(int64_t rows, int64_t cols, CudaMatrix &x) {
  if (rows == 1)
    x.rows = x.cols == 1 ? std::max<int64_t>(cols, 1) : 1;
  if (cols == 1)
    x.cols = x.rows == 1 ? std::max<int64_t>(rows, 1) : 1;
  if (x.cols == 1)
    return x.rows >= cols;
  return x.rows == 1 && x.cols >= rows;
}

/// `op` as a library matmul, if it is an f32 contraction C[b.., m, n] +=
/// A[.., m, k] * B[.., k, n] on views of the kernel's buffers, with at most
/// one batch dimension once those of one element are dropped and those
/// laid out alike merged, and C sharing no byte with A or B.
std::optional<CudaMatmul> matchMatmul(linalg::GenericOp op, func::FuncOp host) {
  if (!op.hasPureBufferSemantics() || op.getNumDpsInputs() != 2 ||
      op.getNumDpsInits() != 1 || !isMultiplyAccumulate(op))
    return std::nullopt;
  for (Value v : op->getOperands())
    if (!getElementTypeOrSelf(v.getType()).isF32())
      return std::nullopt;
  SmallVector<int64_t> ranges = op.getStaticLoopRanges();
  if (llvm::any_of(ranges,
                   [](int64_t r) { return ShapedType::isDynamic(r) || r < 1; }))
    return std::nullopt;
  SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
  if (llvm::count(iterators, utils::IteratorType::reduction) != 1)
    return std::nullopt;
  unsigned k =
      llvm::find(iterators, utils::IteratorType::reduction) - iterators.begin();
  AffineMap cMap = op.getMatchingIndexingMap(op.getDpsInitOperand(0));
  if (!cMap.isProjectedPermutation() || cMap.getNumResults() < 2 ||
      cMap.getNumResults() != iterators.size() - 1)
    return std::nullopt;
  unsigned results = cMap.getNumResults();
  unsigned m = cMap.getDimPosition(results - 2),
           n = cMap.getDimPosition(results - 1);
  // A reads m and k, B k and n, both perhaps batch dimensions.
  OpOperand *aOperand = op.getDpsInputOperand(0),
            *bOperand = op.getDpsInputOperand(1);
  if (op.getMatchingIndexingMap(aOperand).isFunctionOfDim(n))
    std::swap(aOperand, bOperand);
  AffineMap aMap = op.getMatchingIndexingMap(aOperand),
            bMap = op.getMatchingIndexingMap(bOperand);
  // A broadcast operand reads a dimension of one element at 0.
  if (!aMap.isProjectedPermutation(/*allowZeroInResults=*/true) ||
      !bMap.isProjectedPermutation(/*allowZeroInResults=*/true) ||
      !aMap.isFunctionOfDim(m) || !aMap.isFunctionOfDim(k) ||
      aMap.isFunctionOfDim(n) || !bMap.isFunctionOfDim(k) ||
      !bMap.isFunctionOfDim(n) || bMap.isFunctionOfDim(m))
    return std::nullopt;
  Value a = aOperand->get(), b = bOperand->get(),
        c = op.getDpsInitOperand(0)->get();
  if (mayAlias(c, a) || mayAlias(c, b))
    return std::nullopt;
  std::optional<Placement> pa = placementOf(a, host), pb = placementOf(b, host),
                           pc = placementOf(c, host);
  if (!pa || !pb || !pc)
    return std::nullopt;
  // The stride of dimension d in an operand (0 where it does not read d).
  auto stride = [&](const Placement &p, AffineMap map, unsigned d) {
    std::optional<unsigned> at =
        map.getResultPosition(getAffineDimExpr(d, op.getContext()));
    return at ? p.strides[*at] : int64_t{0};
  };
  // The batch dimensions of more than one element, merged where each
  // operand steps through the outer one as through the inner one's whole
  // range.
  struct Batch {
    int64_t range, a, b, c;
  };
  SmallVector<Batch> batch;
  for (unsigned r = 0; r + 2 < results; ++r) {
    unsigned d = cMap.getDimPosition(r);
    if (ranges[d] == 1)
      continue;
    Batch next{ranges[d], stride(*pa, aMap, d), stride(*pb, bMap, d),
               stride(*pc, cMap, d)};
    if (!batch.empty()) {
      Batch &outer = batch.back();
      if (outer.a == next.a * next.range && outer.b == next.b * next.range &&
          outer.c == next.c * next.range) {
        outer = {outer.range * next.range, next.a, next.b, next.c};
        continue;
      }
    }
    batch.push_back(next);
  }
  if (batch.size() > 1)
    return std::nullopt;
  CudaMatmul mm;
  mm.m = ranges[m];
  mm.n = ranges[n];
  mm.k = ranges[k];
  mm.a = {pa->buffer, pa->offset, 0, stride(*pa, aMap, m),
          stride(*pa, aMap, k)};
  mm.b = {pb->buffer, pb->offset, 0, stride(*pb, bMap, k),
          stride(*pb, bMap, n)};
  mm.c = {pc->buffer, pc->offset, 0, stride(*pc, cMap, m),
          stride(*pc, cMap, n)};
  if (!batch.empty()) {
    mm.batch = batch[0].range;
    mm.a.batch = batch[0].a;
    mm.b.batch = batch[0].b;
    mm.c.batch = batch[0].c;
    // Each item of C its own bytes.
    if (mm.c.batch < 1)
      return std::nullopt;
  }
  // C row-major: a column (n = 1) has whatever row stride it has (one
  // element, any).
  if (mm.n == 1) {
    mm.c.cols = 1;
    if (mm.m == 1)
      mm.c.rows = 1;
  }
  if (!blasLayout(mm.m, mm.k, mm.a) || !blasLayout(mm.k, mm.n, mm.b) ||
      (mm.n > 1 && !blasLayout(mm.m, mm.n, mm.c)) || mm.c.cols != 1 ||
      mm.c.rows < 1)
    return std::nullopt;
  // A batch that shares B, whose items of A and C follow one another row
  // after row, is one matmul of batch x m rows (a sequence of vectors
  // times a weight matrix: one GEMM, not a batch of GEMVs).
  if (mm.batch > 1 && mm.b.batch == 0 && mm.a.cols == 1 &&
      mm.a.batch == mm.m * mm.a.rows && mm.c.batch == mm.m * mm.c.rows) {
    mm.m *= mm.batch;
    mm.batch = 1;
    mm.a.batch = mm.c.batch = 0;
  }
  return mm;
}

/// Whether the matmul `op` may write the epilogue's output `d` instead of
/// `c`: c is the kernel's own (kiln.local) buffer, which nothing but the
/// fill, the matmul and the epilogue uses, and d is not an operand of the
/// matmul.
bool canRedirect(linalg::GenericOp op, linalg::GenericOp epilogue, Value c,
                 Value d, func::FuncOp host) {
  auto arg = dyn_cast<BlockArgument>(c);
  if (!arg || arg.getOwner() != &host.getBody().front() ||
      !host.getArgAttr(arg.getArgNumber(), KilnDialect::kLocalAttr))
    return false;
  for (Operation *user : c.getUsers())
    if (user != op && user != epilogue &&
        !(isa<linalg::FillOp>(user) && user->getNextNode() == op))
      return false;
  return llvm::none_of(op.getDpsInputs(),
                       [&](Value in) { return mayAlias(in, d); });
}

/// Folds `op`, just after the matmul `matmul` into `c`, into the matmul
/// `mm` when it is its bias and ReLU epilogue: d = max(c + bias[n], 0),
/// c + bias[n] or max(c, 0), bias an f32 vector along n with unit stride,
/// d either c or (canRedirect) a buffer the matmul then writes instead.
bool foldEpilogue(linalg::GenericOp matmul, linalg::GenericOp op, Value c,
                  CudaMatmul &mm, func::FuncOp host) {
  if (!op || !op.hasPureBufferSemantics() || op.getNumDpsInits() != 1 ||
      op.getNumReductionLoops() != 0 ||
      !op.getMatchingIndexingMap(op.getDpsInitOperand(0)).isIdentity())
    return false;
  Value d = op.getDpsInitOperand(0)->get();
  if (d != c) {
    // D laid out as C: the matmul's view of C describes D too.
    std::optional<Placement> to = placementOf(d, host),
                             from = placementOf(c, host);
    if (!to || !from || to->strides != from->strides ||
        cast<MemRefType>(d.getType()).getShape() !=
            cast<MemRefType>(c.getType()).getShape() ||
        !canRedirect(matmul, op, c, d, host))
      return false;
    mm.c.buffer = to->buffer;
    mm.c.offset += to->offset - from->offset;
  }
  auto type = cast<MemRefType>(c.getType());
  if (op.getStaticLoopRanges() != SmallVector<int64_t>(type.getShape()))
    return false;
  Block &body = op.getRegion().front();
  Value cArg, biasArg;
  std::optional<Placement> bias;
  for (OpOperand *in : op.getDpsInputOperands()) {
    AffineMap map = op.getMatchingIndexingMap(in);
    Value arg = body.getArgument(in->getOperandNumber());
    if (in->get() == c && map.isIdentity() && !cArg) {
      cArg = arg;
      continue;
    }
    if (biasArg || mm.batch != 1 || map.getNumResults() != 1 ||
        map.getResult(0) !=
            getAffineDimExpr(type.getRank() - 1, op.getContext()) ||
        !getElementTypeOrSelf(in->get().getType()).isF32() ||
        mayAlias(in->get(), d) || !(bias = placementOf(in->get(), host)) ||
        (bias->strides[0] != 1 && mm.n != 1))
      return false;
    biasArg = arg;
    mm.bias = {bias->buffer, bias->offset, 0, 0, 1};
  }
  if (!cArg)
    return false;
  Value x = cArg;
  Operation *next = &body.front();
  if (biasArg) {
    auto add = dyn_cast<arith::AddFOp>(next);
    if (!add || !((add.getLhs() == cArg && add.getRhs() == biasArg) ||
                  (add.getLhs() == biasArg && add.getRhs() == cArg)))
      return false;
    x = add.getResult();
    next = next->getNextNode();
  }
  if (auto max = dyn_cast<arith::MaximumFOp>(next)) {
    Value other = max.getLhs() == x   ? max.getRhs()
                  : max.getRhs() == x ? max.getLhs()
                                      : Value();
    if (!other || !matchPattern(other, m_PosZeroFloat()))
      return false;
    mm.relu = true;
    x = max.getResult();
    next = next->getNextNode();
  }
  if (next != body.getTerminator() || next->getOperand(0) != x || x == cArg)
    return false;
  return true;
}

/// Marks each matmul of `host` that runs as a library call (kMatmulAttr):
/// its zero fill just before it goes (C = A B), or C holds its start (C +=
/// A B); its epilogue just after it, if it folds, goes too.
void markMatmuls(func::FuncOp host, bool tf32) {
  Block &entry = host.getBody().front();
  OpBuilder b(host.getContext());
  // Collected first: folding erases the ops around each.
  SmallVector<linalg::GenericOp> ops(entry.getOps<linalg::GenericOp>());
  llvm::SmallPtrSet<Operation *, 4> erased;
  for (linalg::GenericOp op : ops) {
    if (erased.contains(op))
      continue;
    std::optional<CudaMatmul> mm = matchMatmul(op, host);
    if (!mm)
      continue;
    Value c = op.getDpsInitOperand(0)->get();
    mm->accumulate = true;
    mm->tf32 = tf32;
    if (auto fill = dyn_cast_or_null<linalg::FillOp>(op->getPrevNode());
        fill && fill.hasPureBufferSemantics() &&
        fill.getDpsInitOperand(0)->get() == c &&
        matchPattern(fill.getDpsInputOperand(0)->get(), m_PosZeroFloat())) {
      fill->erase();
      mm->accumulate = false;
    }
    CudaMatmul folded = *mm;
    auto epilogue = dyn_cast_or_null<linalg::GenericOp>(op->getNextNode());
    if (!mm->accumulate && foldEpilogue(op, epilogue, c, folded, host)) {
      erased.insert(epilogue);
      epilogue->erase();
      mm = folded;
    }
    op->setAttr(kMatmulAttr, matmulToAttr(b, *mm));
  }
}

/// Rewrites every linalg op in `func` as loops: an scf.parallel over its
/// parallel dimensions (moved outermost) around scf.for loops over its
/// reduction dimensions.
LogicalResult toParallelLoops(func::FuncOp func) {
  SmallVector<linalg::LinalgOp> ops;
  func.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  IRRewriter rewriter(func.getContext());
  for (linalg::LinalgOp op : ops) {
    if (op->hasAttr(kMatmulAttr))
      continue;
    SmallVector<utils::IteratorType> iterators = op.getIteratorTypesArray();
    SmallVector<unsigned> order;
    for (unsigned i = 0; i < iterators.size(); ++i)
      if (iterators[i] == utils::IteratorType::parallel)
        order.push_back(i);
    for (unsigned i = 0; i < iterators.size(); ++i)
      if (iterators[i] != utils::IteratorType::parallel)
        order.push_back(i);
    if (!llvm::equal(order, llvm::seq<unsigned>(0, iterators.size()))) {
      rewriter.setInsertionPoint(op);
      auto generic = dyn_cast<linalg::GenericOp>(op.getOperation());
      if (!generic) {
        FailureOr<linalg::GenericOp> g =
            linalg::generalizeNamedOp(rewriter, op);
        if (failed(g))
          return op->emitOpError("cannot be generalized for the cuda target");
        generic = *g;
      }
      FailureOr<linalg::GenericOp> g =
          linalg::interchangeGenericOp(rewriter, generic, order);
      if (failed(g))
        return generic->emitOpError("cannot be interchanged");
      op = *g;
    }
    rewriter.setInsertionPoint(op);
    if (failed(linalg::linalgOpToParallelLoops(rewriter, op)))
      return op->emitOpError("cannot be lowered to parallel loops");
    rewriter.eraseOp(op);
  }
  return success();
}

/// Builds the gpu.funcs of one host kernel.
class KernelMapper {
public:
  /// `launches` gets this kernel's launches, in order (kiln.launches).
  KernelMapper(func::FuncOp host, gpu::GPUModuleOp module,
               SmallVector<Attribute> &launches)
      : host_(host), module_(module), launches_(launches) {}

  LogicalResult run() {
    // The tile range: the cuda target does not tile, every grid is 1.
    Block &entry = host_.getBody().front();
    OpBuilder b(&entry, entry.begin());
    for (BlockArgument arg : entry.getArguments()) {
      if (isa<MemRefType>(arg.getType()))
        continue;
      if (!arg.getType().isIndex())
        return host_.emitOpError("has an argument that is neither a buffer "
                                 "nor its tile range");
      // First tile 0 of a grid of 1: the end is 1.
      int64_t value = arg.getArgNumber() == entry.getNumArguments() - 1;
      arg.replaceAllUsesWith(
          b.create<arith::ConstantIndexOp>(host_.getLoc(), value));
    }
    SmallVector<Operation *> serial;
    for (Operation &op : llvm::make_early_inc_range(entry)) {
      if (isa<func::ReturnOp>(op))
        continue;
      if (Attribute matmul = op.getAttr(kMatmulAttr)) {
        if (failed(flushSerial(serial)))
          return failure();
        launches_.push_back(b.getArrayAttr(
            {b.getStringAttr(host_.getSymName()),
             b.getStringAttr(nextName() + "_matmul"), b.getI64IntegerAttr(0),
             b.getI64IntegerAttr(1), matmul}));
        continue;
      }
      // Before a serial launch starts, side effect free ops and loads are
      // only cloned where they are used (a load repeated there when nothing
      // wrote its buffer in between: canRepeatLoad); within one, they run
      // in order with the rest.
      if (serial.empty() && (isa<memref::LoadOp>(op) || isCloneable(&op)))
        continue;
      if (auto loop = dyn_cast<scf::ParallelOp>(op);
          loop && loop.getNumResults() == 0 && staticBounds(loop)) {
        if (failed(flushSerial(serial)) || failed(mapParallel(loop)))
          return failure();
        continue;
      }
      if (isa<memref::AllocOp>(op))
        return op.emitOpError("allocates memory inside a kernel, which the "
                              "cuda target does not support");
      serial.push_back(&op);
    }
    if (failed(flushSerial(serial)))
      return failure();
    // A kernel with nothing to compute still names a launch (of no threads).
    if (count_ == 0) {
      IRMapping map;
      gpu::GPUFuncOp func = newLaunch(0, map);
      OpBuilder::atBlockEnd(&func.getBody().front())
          .create<gpu::ReturnOp>(host_.getLoc());
    }
    return success();
  }

private:
  /// Ops that launches clone where they use them (an alloca of no elements
  /// stands for a buffer with none, which nothing reads or writes).
  static bool isCloneable(Operation *op) {
    if (auto alloca = dyn_cast<memref::AllocaOp>(op))
      return alloca.getType().hasStaticShape() &&
             alloca.getType().getNumElements() == 0;
    return op->getNumRegions() == 0 &&
           (isa<memref::GetGlobalOp>(op) || isMemoryEffectFree(op));
  }

  /// Whether a load may be repeated at `user` (a top-level op after it):
  /// no top-level op from the load to `user` may write what it reads.
  bool canRepeatLoad(memref::LoadOp load, Operation *user) const {
    Value root = rootOf(load.getMemRef());
    if (!root || load->getBlock() != user->getBlock() ||
        !load->isBeforeInBlock(user))
      return false;
    // Kiln's globals are constants.
    if (root.getDefiningOp<memref::GetGlobalOp>())
      return true;
    for (Operation *op = load->getNextNode(); op && op != user;
         op = op->getNextNode()) {
      bool writes = false;
      op->walk([&](Operation *inner) {
        auto effects = dyn_cast<MemoryEffectOpInterface>(inner);
        if (!effects) {
          // Only ops with regions may say nothing of their effects.
          writes |= inner->getNumRegions() == 0 &&
                    !inner->hasTrait<OpTrait::HasRecursiveMemoryEffects>();
          return;
        }
        SmallVector<MemoryEffects::EffectInstance> list;
        effects.getEffects(list);
        for (auto &effect : list) {
          if (!isa<MemoryEffects::Write, MemoryEffects::Free>(
                  effect.getEffect()))
            continue;
          Value target = effect.getValue();
          writes |= !target || mayAlias(target, root);
        }
      });
      if (writes)
        return false;
    }
    return true;
  }

  static bool staticBounds(scf::ParallelOp loop) {
    for (auto range :
         {loop.getLowerBound(), loop.getUpperBound(), loop.getStep()})
      for (Value v : range)
        if (!getConstantIntValue(v))
          return false;
    return true;
  }

  /// A new kernel taking the host kernel's buffers, with `threads` threads.
  gpu::GPUFuncOp newLaunch(int64_t threads, IRMapping &map) {
    OpBuilder b = OpBuilder::atBlockTerminator(module_.getBody());
    SmallVector<Type> types;
    for (Type t : host_.getArgumentTypes())
      if (isa<MemRefType>(t))
        types.push_back(t);
    std::string name = nextName();
    auto func = b.create<gpu::GPUFuncOp>(host_.getLoc(), name,
                                         b.getFunctionType(types, {}));
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func->setAttr(KilnDialect::kKernelAttr,
                  b.getStringAttr(host_.getSymName()));
    launches_.push_back(
        b.getArrayAttr({b.getStringAttr(host_.getSymName()),
                        b.getStringAttr(name), b.getI64IntegerAttr(threads),
                        b.getI64IntegerAttr(std::max<int64_t>(
                            1, std::min(threads, kBlockSize)))}));
    Block &entry = func.getBody().front();
    unsigned next = 0;
    for (BlockArgument arg : host_.getArguments())
      if (isa<MemRefType>(arg.getType()))
        map.map(arg, entry.getArgument(next++));
    return func;
  }

  /// Clones what defines `value` into the launch at `b` (for the top-level
  /// op `user`), first what that uses in turn; fails for a value a side
  /// effect defines.
  LogicalResult materialize(Value value, IRMapping &map, OpBuilder &b,
                            Operation *user) {
    if (map.contains(value))
      return success();
    Operation *def = value.getDefiningOp();
    auto load = dyn_cast_or_null<memref::LoadOp>(def);
    if (!def || !(isCloneable(def) || (load && canRepeatLoad(load, user))))
      return emitError(value.getLoc())
             << "a value the cuda target would pass between GPU launches of "
                "kernel '"
             << host_.getSymName() << "'";
    for (Value operand : def->getOperands())
      if (failed(materialize(operand, map, b, user)))
        return failure();
    b.clone(*def, map);
    return success();
  }

  /// Materializes every value `ops` use that they do not define.
  LogicalResult materializeUses(ArrayRef<Operation *> ops, IRMapping &map,
                                OpBuilder &b) {
    llvm::SetVector<Value> used;
    for (Operation *op : ops) {
      used.insert(op->getOperands().begin(), op->getOperands().end());
      for (Region &region : op->getRegions())
        getUsedValuesDefinedAbove(region, used);
    }
    llvm::SmallPtrSet<Operation *, 8> inside(ops.begin(), ops.end());
    for (Value v : used) {
      Operation *def = v.getDefiningOp();
      if (def && inside.contains(def))
        continue;
      if (failed(materialize(v, map, b, ops.front())))
        return failure();
    }
    return success();
  }

  LogicalResult flushSerial(SmallVector<Operation *> &ops) {
    if (ops.empty())
      return success();
    IRMapping map;
    gpu::GPUFuncOp func = newLaunch(1, map);
    OpBuilder b = OpBuilder::atBlockEnd(&func.getBody().front());
    if (failed(materializeUses(ops, map, b)))
      return failure();
    for (Operation *op : ops)
      b.clone(*op, map);
    b.create<gpu::ReturnOp>(host_.getLoc());
    ops.clear();
    return success();
  }

  LogicalResult mapParallel(scf::ParallelOp loop) {
    Location loc = loop.getLoc();
    SmallVector<int64_t> lower, trips, steps;
    int64_t threads = 1;
    for (unsigned d = 0; d < loop.getNumLoops(); ++d) {
      int64_t lb = *getConstantIntValue(loop.getLowerBound()[d]);
      int64_t ub = *getConstantIntValue(loop.getUpperBound()[d]);
      int64_t step = *getConstantIntValue(loop.getStep()[d]);
      int64_t trip = ub > lb ? (ub - lb + step - 1) / step : 0;
      lower.push_back(lb);
      steps.push_back(step);
      trips.push_back(trip);
      threads *= trip;
    }
    if (threads == 0)
      return success();
    IRMapping map;
    gpu::GPUFuncOp func = newLaunch(threads, map);
    OpBuilder b = OpBuilder::atBlockEnd(&func.getBody().front());
    Value block = b.create<gpu::BlockIdOp>(loc, gpu::Dimension::x);
    Value size = b.create<gpu::BlockDimOp>(loc, gpu::Dimension::x);
    Value thread = b.create<gpu::ThreadIdOp>(loc, gpu::Dimension::x);
    Value id = b.create<arith::AddIOp>(
        loc, b.create<arith::MulIOp>(loc, block, size), thread);
    Value inside =
        b.create<arith::CmpIOp>(loc, arith::CmpIPredicate::ult, id,
                                b.create<arith::ConstantIndexOp>(loc, threads));
    auto guard = b.create<scf::IfOp>(loc, inside, /*withElseRegion=*/false);
    b.create<gpu::ReturnOp>(loc);
    b.setInsertionPoint(guard.thenBlock()->getTerminator());
    // The innermost dimension varies fastest between neighbouring threads.
    Value rest = id;
    for (int d = loop.getNumLoops() - 1; d >= 0; --d) {
      Value trip = b.create<arith::ConstantIndexOp>(loc, trips[d]);
      Value index = d == 0 ? rest : b.create<arith::RemUIOp>(loc, rest, trip);
      if (d > 0)
        rest = b.create<arith::DivUIOp>(loc, rest, trip);
      if (steps[d] != 1)
        index = b.create<arith::MulIOp>(
            loc, index, b.create<arith::ConstantIndexOp>(loc, steps[d]));
      if (lower[d] != 0)
        index = b.create<arith::AddIOp>(
            loc, index, b.create<arith::ConstantIndexOp>(loc, lower[d]));
      map.map(loop.getInductionVars()[d], index);
    }
    if (failed(materializeUses({loop.getOperation()}, map, b)))
      return failure();
    for (Operation &op : loop.getBody()->without_terminator())
      b.clone(op, map);
    return success();
  }

  /// The name of the kernel's next launch: <kernel>_<count>.
  std::string nextName() {
    return (host_.getSymName() + "_" + llvm::Twine(count_++)).str();
  }

  func::FuncOp host_;
  gpu::GPUModuleOp module_;
  SmallVector<Attribute> &launches_;
  int count_ = 0;
};

/// The libdevice function for a math op that MLIR 19's NVVM lowering
/// leaves alone, by the op's name ("acos" -> __nv_acosf for f32).
std::optional<StringRef> libdeviceName(Operation *op) {
  return llvm::StringSwitch<std::optional<StringRef>>(
             op->getName().getStringRef())
      .Case("math.acos", "acos")
      .Case("math.acosh", "acosh")
      .Case("math.asin", "asin")
      .Case("math.asinh", "asinh")
      .Case("math.atanh", "atanh")
      .Case("math.cosh", "cosh")
      .Case("math.sinh", "sinh")
      .Case("math.round", "round")
      .Case("math.roundeven", "rint")
      .Case("math.trunc", "trunc")
      .Default(std::nullopt);
}

/// Replaces those math ops in `module` by calls to libdevice, which the
/// PTX serialization links.
void callLibdevice(gpu::GPUModuleOp module) {
  SmallVector<Operation *> ops;
  module.walk([&](Operation *op) {
    if (op->getNumOperands() == 1 && op->getNumResults() == 1 &&
        isa<Float32Type, Float64Type>(op->getResult(0).getType()) &&
        libdeviceName(op))
      ops.push_back(op);
  });
  for (Operation *op : ops) {
    Type type = op->getResult(0).getType();
    std::string name = ("__nv_" + *libdeviceName(op)).str();
    if (type.isF32())
      name += "f";
    auto callee = module.lookupSymbol<func::FuncOp>(name);
    if (!callee) {
      OpBuilder b = OpBuilder::atBlockBegin(module.getBody());
      callee = b.create<func::FuncOp>(op->getLoc(), name,
                                      b.getFunctionType({type}, {type}));
      callee.setPrivate();
    }
    OpBuilder b(op);
    Value result =
        b.create<func::CallOp>(op->getLoc(), callee, op->getOperands())
            .getResult(0);
    op->getResult(0).replaceAllUsesWith(result);
    op->erase();
  }
}

struct CudaMapKernelsPass
    : public impl::CudaMapKernelsBase<CudaMapKernelsPass> {
  using CudaMapKernelsBase::CudaMapKernelsBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    OpBuilder b = OpBuilder::atBlockEnd(module.getBody());
    auto gpuModule =
        b.create<gpu::GPUModuleOp>(module.getLoc(), kCudaKernelModule);
    module->setAttr(gpu::GPUDialect::getContainerModuleAttrName(),
                    b.getUnitAttr());
    SmallVector<func::FuncOp> hosts;
    for (auto func : module.getOps<func::FuncOp>())
      if (!func.isExternal())
        hosts.push_back(func);
    SmallVector<Attribute> launches;
    for (func::FuncOp host : hosts) {
      if (libraryCalls)
        markMatmuls(host, allowTf32);
      if (failed(toParallelLoops(host)))
        return signalPassFailure();
      // Adjacent loops over the same points become one launch when each
      // point reads only what its own iteration of the first wrote (a
      // fill, then the matmul accumulating into it, then its epilogue).
      // Bounds and indices must be the same values, so CSE goes first, and
      // again after each round: a fused body's indices become shared.
      IRRewriter rewriter(host.getContext());
      for (size_t loops = 0;;) {
        DominanceInfo dominance;
        eliminateCommonSubExpressions(rewriter, dominance, host);
        scf::naivelyFuseParallelOps(host.getBody(), mayAlias);
        size_t left = llvm::range_size(host.getOps<scf::ParallelOp>());
        if (left == loops)
          break;
        loops = left;
      }
      if (failed(KernelMapper(host, gpuModule, launches).run()))
        return signalPassFailure();
      // Its declaration stays: kiln-cuda-emulate-on-host defines it again.
      host.eraseBody();
      host.setPrivate();
    }
    // The launches in order, for the runtime: [kernel, function, threads,
    // threads per block] and, for a library matmul, the matmul.
    module->setAttr(KilnDialect::kLaunchesAttr, b.getArrayAttr(launches));
    if (libdevice)
      callLibdevice(gpuModule);
    // The globals the launches read move into the gpu.module.
    llvm::SetVector<StringAttr> globals;
    gpuModule.walk([&](memref::GetGlobalOp op) {
      globals.insert(op.getNameAttr().getAttr());
    });
    OpBuilder inner = OpBuilder::atBlockBegin(gpuModule.getBody());
    for (auto global :
         llvm::make_early_inc_range(module.getOps<memref::GlobalOp>())) {
      if (globals.contains(global.getSymNameAttr()))
        inner.clone(*global.getOperation());
      global.erase();
    }
  }
};

} // namespace
} // namespace kiln
