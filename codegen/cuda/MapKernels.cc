//===- MapKernels.cc - The kiln-cuda-map-kernels pass ---------------------===//
//
// Part of Kiln. The outlined kernels as GPU kernels: one launch per linalg
// op, one thread per point of its parallel iteration space; the serial rest
// of a kernel as a launch of one thread (Passes.td).
//
//===----------------------------------------------------------------------===//
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

/// A launch's number of threads while the pass runs (the module's
/// kiln.launches keeps it).
constexpr llvm::StringLiteral kThreadsAttr = "threads";

/// Threads per block of a launch with many threads.
constexpr int64_t kBlockSize = 256;

/// The buffer `v` is a view of: a kernel argument or a global, or null.
Value rootOf(Value v) {
  while (auto view = v.getDefiningOp<ViewLikeOpInterface>())
    v = view.getViewSource();
  return isa<BlockArgument>(v) || v.getDefiningOp<memref::GetGlobalOp>()
             ? v
             : Value();
}

/// Whether buffers `a` and `b` of a kernel may share bytes: views of the
/// same argument may; distinct arguments may unless one is llvm.noalias
/// (kiln-outline-kernels marks a buffer that shares no byte with the
/// kernel's others); Kiln's globals are constants, never written.
bool mayAlias(Value a, Value b) {
  Value ra = rootOf(a), rb = rootOf(b);
  if (!ra || !rb || ra == rb)
    return true;
  if (ra.getDefiningOp<memref::GetGlobalOp>() ||
      rb.getDefiningOp<memref::GetGlobalOp>())
    return false;
  auto noalias = [](Value root) {
    auto arg = cast<BlockArgument>(root);
    auto func = dyn_cast<FunctionOpInterface>(arg.getOwner()->getParentOp());
    return func && func.getArgAttr(arg.getArgNumber(), "llvm.noalias");
  };
  return !noalias(ra) && !noalias(rb);
}

/// Rewrites every linalg op in `func` as loops: an scf.parallel over its
/// parallel dimensions (moved outermost) around scf.for loops over its
/// reduction dimensions.
LogicalResult toParallelLoops(func::FuncOp func) {
  SmallVector<linalg::LinalgOp> ops;
  func.walk([&](linalg::LinalgOp op) { ops.push_back(op); });
  IRRewriter rewriter(func.getContext());
  for (linalg::LinalgOp op : ops) {
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
  KernelMapper(func::FuncOp host, gpu::GPUModuleOp module)
      : host_(host), module_(module) {}

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
    if (launches_ == 0) {
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
    std::string name =
        (host_.getSymName() + "_" + llvm::Twine(launches_++)).str();
    auto func = b.create<gpu::GPUFuncOp>(host_.getLoc(), name,
                                         b.getFunctionType(types, {}));
    func->setAttr(gpu::GPUDialect::getKernelFuncAttrName(), b.getUnitAttr());
    func->setAttr(KilnDialect::kKernelAttr,
                  b.getStringAttr(host_.getSymName()));
    func->setAttr(kThreadsAttr, b.getI64IntegerAttr(threads));
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

  func::FuncOp host_;
  gpu::GPUModuleOp module_;
  int launches_ = 0;
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
    for (func::FuncOp host : hosts) {
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
      if (failed(KernelMapper(host, gpuModule).run()))
        return signalPassFailure();
      host.erase();
    }
    // The launches in order, for the runtime: [kernel, function, threads].
    SmallVector<Attribute> launches;
    for (auto func : gpuModule.getOps<gpu::GPUFuncOp>()) {
      int64_t threads = cast<IntegerAttr>(func->getAttr(kThreadsAttr)).getInt();
      launches.push_back(b.getArrayAttr(
          {func->getAttr(KilnDialect::kKernelAttr),
           b.getStringAttr(func.getName()), b.getI64IntegerAttr(threads),
           b.getI64IntegerAttr(
               std::max<int64_t>(1, std::min(threads, kBlockSize)))}));
      func->removeAttr(kThreadsAttr);
    }
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
