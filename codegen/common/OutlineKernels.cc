//===- OutlineKernels.cc - The kiln-outline-kernels pass ------------------===//
//
// Part of Kiln. The kernel boundary: after bufferization and memory
// planning, each kernel of @main (the ops of one kiln.fusion, or of one
// unfused op) becomes a function of its buffers and a tile range, and @main
// becomes the launch plan, one kiln.dispatch per kernel in order. Every
// backend starts from these kernels; the runtime walks the plan.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/Passes.h"
#include "ir/Diagnostics.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/Transforms.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/IRMapping.h"
#include "mlir/IR/PatternMatch.h"
#include "mlir/Interfaces/SideEffectInterfaces.h"
#include "mlir/Transforms/RegionUtils.h"

#include "llvm/ADT/SetVector.h"

namespace kiln {
#define GEN_PASS_DEF_OUTLINEKERNELS
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// Constants of at most this many bytes stay in the kernels' code.
constexpr int64_t kInlineConstantBytes = 256;

/// Ops that compute nothing a kernel must run: constants, globals and views
/// (no memory effects, no regions). They are cloned into the kernels that
/// use them.
bool isFree(Operation &op) {
  return op.getNumRegions() == 0 && !op.hasTrait<OpTrait::IsTerminator>() &&
         isMemoryEffectFree(&op);
}

/// A symbol-safe form of `name`: words of letters and digits joined by
/// '_', at most 40 characters ("/net/net.4/Gemm" -> "net_net_4_Gemm").
std::string sanitize(StringRef name) {
  std::string out;
  for (char c : name) {
    if (out.size() >= 40)
      break;
    if (llvm::isAlnum(c))
      out += c;
    else if (!out.empty() && out.back() != '_')
      out += '_';
  }
  while (!out.empty() && out.back() == '_')
    out.pop_back();
  return out;
}

class Outliner {
public:
  Outliner(ModuleOp module, func::FuncOp main, Value arena, bool grids)
      : module_(module), symbols_(module), main_(main), arena_(arena),
        grids_(grids) {}

  /// Outlines `group` (consecutive ops of @main's body) as kernel number
  /// `index` and puts a kiln.dispatch in its place.
  LogicalResult outline(ArrayRef<Operation *> group, int index);
  /// Whether the arena view `root` is used by the ops of `inGroup` alone
  /// (with every view of the same bytes and type), which are not inside a
  /// loop: its contents die with their kernel.
  bool isLocal(Value root, const llvm::DenseSet<Operation *> &inGroup) const;

private:
  /// The buffer `v` stands for: a view of the arena is the first view of
  /// its offset and type (the planner makes one view per former alloc, and
  /// in-place kernels share one), anything else itself.
  Value canonical(Value v) {
    if (!isRoot(v))
      return v;
    if (auto global = v.getDefiningOp<memref::GetGlobalOp>())
      return globals_.try_emplace(global.getNameAttr(), v).first->second;
    auto view = v.getDefiningOp<memref::ViewOp>();
    if (!view)
      return v;
    auto key = std::make_pair(*getConstantIntValue(view.getByteShift()),
                              Type(view.getType()));
    return views_.try_emplace(key, v).first->second;
  }

  /// Whether `v` is passed to a kernel as a buffer: an argument of @main, a
  /// view of the arena at a constant offset, or a constant global (its
  /// bytes go to the plan's constants region, not through LLVM).
  bool isRoot(Value v) const {
    if (auto arg = dyn_cast<BlockArgument>(v))
      return arg.getOwner()->getParentOp() == main_.getOperation();
    if (auto get = v.getDefiningOp<memref::GetGlobalOp>()) {
      // Splats and small constants stay in the kernel, where LLVM can fold
      // their values into the code.
      auto global =
          symbols_.lookup<memref::GlobalOp>(get.getNameAttr().getAttr());
      auto value = global && global.getConstant() && global.getInitialValue()
                       ? dyn_cast<DenseElementsAttr>(*global.getInitialValue())
                       : DenseElementsAttr();
      if (!value || value.isSplat())
        return false;
      // Bytes as stored for the kernels: an i1 takes a byte.
      int64_t bits = value.getElementType().getIntOrFloatBitWidth();
      return value.getNumElements() * std::max<int64_t>(1, (bits + 7) / 8) >
             kInlineConstantBytes;
    }
    auto view = v.getDefiningOp<memref::ViewOp>();
    return view && view.getSource() == arena_ &&
           getConstantIntValue(view.getByteShift()).has_value();
  }

  /// Collects in `roots` the buffers `v` is made from and in `clones` the
  /// free ops that make it; fails on a value no kernel can receive.
  LogicalResult resolve(Value v, llvm::SetVector<Value> &roots,
                        llvm::DenseSet<Operation *> &clones, Operation *user);

  /// Makes the kernel's grid from its one op: a tile loop marked
  /// kiln.parallel, or the first parallel loop of extent above one of a
  /// linalg op (tiled by one), runs over [begin, end). Returns the number
  /// of tiles (1 when the kernel has no such loop).
  int64_t makeGrid(Operation *op, Value begin, Value end) const;

  mutable ModuleOp module_;
  /// The module's symbols, indexed once (lookups by a module scan each).
  SymbolTable symbols_;
  mutable func::FuncOp main_;
  Value arena_;
  bool grids_;
  llvm::DenseMap<std::pair<int64_t, Type>, Value> views_;
  llvm::DenseMap<Attribute, Value> globals_;
  /// Every buffer value the kernel being outlined reaches.
  SmallVector<Value> reached_;
};

LogicalResult Outliner::resolve(Value v, llvm::SetVector<Value> &roots,
                                llvm::DenseSet<Operation *> &clones,
                                Operation *user) {
  if (isRoot(v)) {
    reached_.push_back(v);
    roots.insert(canonical(v));
    return success();
  }
  Operation *def = v.getDefiningOp();
  if (!def || !isFree(*def)) {
    // Located, not printed: `user` may sit in a kernel being built.
    std::string what = def ? def->getName().getStringRef().str()
                           : std::string("a block argument");
    return mlir::emitError(user->getLoc())
           << "kernel reads a value that is neither a buffer of the plan "
              "nor a constant (made by "
           << what << ")";
  }
  if (!clones.insert(def).second)
    return success();
  for (Value operand : def->getOperands())
    if (failed(resolve(operand, roots, clones, user)))
      return failure();
  return success();
}

int64_t Outliner::makeGrid(Operation *op, Value begin, Value end) const {
  OpBuilder b(op);
  Location loc = op->getLoc();
  if (auto loop = dyn_cast<scf::ForOp>(op)) {
    std::optional<int64_t> lb = getConstantIntValue(loop.getLowerBound());
    std::optional<int64_t> ub = getConstantIntValue(loop.getUpperBound());
    std::optional<int64_t> step = getConstantIntValue(loop.getStep());
    if (!loop->hasAttr(KilnDialect::kParallelAttr) || !lb || !ub || !step ||
        *step <= 0 || *ub <= *lb)
      return 1;
    int64_t tiles = (*ub - *lb + *step - 1) / *step;
    // Tile t covers [lb + t * step, lb + (t + 1) * step).
    auto bound = [&](Value tile) -> Value {
      Value scaled = b.create<arith::MulIOp>(loc, tile, loop.getStep());
      return b.create<arith::AddIOp>(loc, loop.getLowerBound(), scaled);
    };
    Value first = bound(begin);
    Value last =
        b.create<arith::MinSIOp>(loc, bound(end), loop.getUpperBound());
    loop.setLowerBound(first);
    loop.setUpperBound(last);
    return tiles;
  }
  auto linalgOp = dyn_cast<linalg::LinalgOp>(op);
  if (!linalgOp || !linalgOp.hasPureBufferSemantics())
    return 1;
  SmallVector<int64_t> ranges = linalgOp.getStaticLoopRanges();
  SmallVector<utils::IteratorType> iterators = linalgOp.getIteratorTypesArray();
  if (llvm::any_of(ranges, [](int64_t r) { return r <= 0; }))
    return 1; // Dynamic, or nothing to compute.
  // Tiling by one slices each operand along the loop: only where every
  // indexing map reads the loop as a bare dimension (not reversed, not in
  // a window sum) is that slice one row of it.
  auto bare = [&](unsigned d) {
    return llvm::all_of(linalgOp.getIndexingMapsArray(), [&](AffineMap map) {
      return llvm::all_of(map.getResults(), [&](AffineExpr e) {
        return !e.isFunctionOfDim(d) ||
               e == getAffineDimExpr(d, e.getContext());
      });
    });
  };
  // The first such loop of extent above one, among the outer parallel ones;
  // never the innermost, which stays whole for the vector units (a 1-D
  // elementwise kernel has no grid rather than a tile per element).
  std::optional<unsigned> dim;
  for (unsigned d = 0; d + 1 < ranges.size(); ++d) {
    if (iterators[d] != utils::IteratorType::parallel)
      break;
    if (ranges[d] > 1 && bare(d)) {
      dim = d;
      break;
    }
  }
  if (!dim)
    return 1;
  SmallVector<int64_t> sizes(ranges.size(), 0);
  sizes[*dim] = 1;
  IRRewriter rewriter(op->getContext());
  rewriter.setInsertionPoint(op);
  FailureOr<linalg::TiledLinalgOp> tiled = linalg::tileLinalgOp(
      rewriter, linalgOp, linalg::LinalgTilingOptions().setTileSizes(sizes));
  if (failed(tiled) || tiled->loops.size() != 1)
    return 1;
  auto loop = cast<scf::ForOp>(tiled->loops.front());
  rewriter.eraseOp(op);
  loop.setLowerBound(begin);
  loop.setUpperBound(end);
  return ranges[*dim];
}

bool Outliner::isLocal(Value root,
                       const llvm::DenseSet<Operation *> &inGroup) const {
  Block &top = main_.getBody().front();
  auto view = root.getDefiningOp<memref::ViewOp>();
  Operation *first = *inGroup.begin();
  if (!view || top.findAncestorOpInBlock(*first) != first)
    return false;
  // Every view of the same bytes and type is this buffer (canonical).
  for (auto other : top.getOps<memref::ViewOp>()) {
    if (other.getType() != view.getType() ||
        getConstantIntValue(other.getByteShift()) !=
            getConstantIntValue(view.getByteShift()))
      continue;
    for (Operation *user : other->getUsers()) {
      Operation *at = top.findAncestorOpInBlock(*user);
      if (!at || !inGroup.contains(at))
        return false;
    }
  }
  return true;
}

LogicalResult Outliner::outline(ArrayRef<Operation *> group, int index) {
  llvm::DenseSet<Operation *> inGroup(group.begin(), group.end());
  // What the group reads from outside: operands and values its regions use.
  llvm::SetVector<Value> used;
  for (Operation *op : group) {
    for (Value v : op->getOperands())
      used.insert(v);
    getUsedValuesDefinedAbove(op->getRegions(), used);
  }
  llvm::SetVector<Value> found;
  llvm::DenseSet<Operation *> clones;
  reached_.clear();
  for (Value v : used) {
    Operation *def = v.getDefiningOp();
    if (def && inGroup.contains(def))
      continue;
    if (failed(resolve(v, found, clones, group.front())))
      return failure();
  }
  // A buffer with no elements holds nothing to pass: the kernel gets a
  // local one (the calling convention has no pointer for it).
  SmallVector<Value> roots, empty;
  for (Value root : found)
    (cast<MemRefType>(root.getType()).getNumElements() == 0 ? empty : roots)
        .push_back(root);

  // Named after its fusion or node; a kernel bufferization added (a pad's
  // fill and copy, a copy into a fetch) after its node and op.
  Operation *first = group.front();
  auto name = first->getAttrOfType<StringAttr>(KilnDialect::kKernelAttr);
  std::string node = NodeName(first->getLoc());
  std::string word = sanitize(name ? name.getValue().str()
                                   : (node.empty() ? "" : node + "_") +
                                         first->getName().stripDialect().str());
  std::string symbol = "k" + std::to_string(index);
  if (!word.empty())
    symbol += "_" + word;
  MLIRContext *ctx = module_.getContext();
  SmallVector<Type> inputs;
  for (Value root : roots)
    inputs.push_back(root.getType());
  inputs.append(2, IndexType::get(ctx));
  OpBuilder builder(main_);
  Location loc = group.front()->getLoc();
  auto kernel = builder.create<func::FuncOp>(
      loc, symbol, FunctionType::get(ctx, inputs, {}));
  // Buffers that share no byte with another of the kernel's buffers are
  // noalias, which lets LLVM vectorize without run-time overlap checks.
  // Feeds are only read and fetches are the runtime's own allocations, so
  // only arena views can overlap: where a kernel writes in place over an
  // input of another type, or where a kernel of several ops reuses the
  // bytes of a buffer that died inside it. Those keep no noalias.
  auto range = [](Value v) -> std::optional<std::pair<int64_t, int64_t>> {
    auto view = v.getDefiningOp<memref::ViewOp>();
    if (!view)
      return std::nullopt;
    int64_t start = *getConstantIntValue(view.getByteShift());
    auto type = view.getType();
    int64_t bytes =
        type.getNumElements() *
        std::max<int64_t>(1, (type.getElementTypeBitWidth() + 7) / 8);
    return std::make_pair(start, start + bytes);
  };
  for (unsigned i = 0; i < roots.size(); ++i) {
    Value root = roots[i];
    std::optional<std::pair<int64_t, int64_t>> mine = range(root);
    bool overlaps =
        mine && llvm::any_of(roots, [&](Value other) {
          std::optional<std::pair<int64_t, int64_t>> theirs = range(other);
          return other != root && theirs && theirs->first < mine->second &&
                 mine->first < theirs->second;
        });
    if (!overlaps)
      kernel.setArgAttr(i, "llvm.noalias", builder.getUnitAttr());
    // An arena buffer that only this kernel uses, outside any loop: what
    // it holds dies with the kernel (a fusion's intermediate result).
    if (mine && isLocal(root, inGroup))
      kernel.setArgAttr(i, KilnDialect::kLocalAttr, builder.getUnitAttr());
    // Arena and constants offsets are multiples of 64 in 64-byte aligned
    // regions: vector loads need not straddle cache lines.
    bool constant = root.getDefiningOp<memref::GetGlobalOp>() != nullptr;
    if (mine || constant)
      kernel.setArgAttr(i, "llvm.align", builder.getI64IntegerAttr(64));
    if (constant)
      kernel.setArgAttr(i, KilnDialect::kConstantAttr, builder.getUnitAttr());
  }
  Block *entry = kernel.addEntryBlock();
  IRMapping mapping;
  for (auto [root, arg] : llvm::zip(roots, entry->getArguments()))
    mapping.map(root, arg);
  OpBuilder body = OpBuilder::atBlockBegin(entry);
  for (Value root : empty)
    mapping.map(root, body.create<memref::AllocaOp>(
                          loc, cast<MemRefType>(root.getType())));
  for (Value v : reached_)
    mapping.map(v, mapping.lookup(canonical(v)));
  for (Operation &op : main_.getBody().front())
    if (clones.contains(&op))
      body.clone(op, mapping);
  SmallVector<Operation *> cloned;
  for (Operation *op : group)
    cloned.push_back(body.clone(*op, mapping));
  body.create<func::ReturnOp>(loc);
  kernel.walk([](Operation *op) { op->removeAttr(KilnDialect::kKernelAttr); });

  int64_t grid = 1;
  if (cloned.size() == 1 && grids_)
    grid = makeGrid(cloned.front(), entry->getArgument(roots.size()),
                    entry->getArgument(roots.size() + 1));

  // Every buffer is defined before the group's last op, which uses it or
  // follows an op that does.
  builder.setInsertionPoint(group.back());
  builder.create<DispatchOp>(loc, symbol, grid, roots);
  for (Operation *op : llvm::reverse(group))
    op->erase();
  return success();
}

struct OutlineKernelsPass
    : public impl::OutlineKernelsBase<OutlineKernelsPass> {
  using OutlineKernelsBase::OutlineKernelsBase;
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto main = module.lookupSymbol<func::FuncOp>("main");
    if (!main || main.isExternal())
      return;
    if (!llvm::hasSingleElement(main.getBody())) {
      main.emitError("outlining expects a single-block @main");
      return signalPassFailure();
    }
    Block &body = main.getBody().front();
    Value arena;
    for (unsigned i = 0; i < main.getNumArguments(); ++i)
      if (main.getArgAttr(i, KilnDialect::kArenaAttr))
        arena = main.getArgument(i);

    // A bufferized loop's results are its iteration arguments' buffers (an
    // scf.while forwards them unchanged to its body); a
    // bufferized if's are the buffers both its branches yield (kiln.if's
    // lowering writes them in place).
    for (Operation &op : body) {
      if (auto loop = dyn_cast<scf::ForOp>(op))
        for (OpResult r : loop->getResults())
          r.replaceAllUsesWith(loop.getTiedLoopInit(r)->get());
      if (auto loop = dyn_cast<scf::WhileOp>(op))
        for (OpResult r : loop->getResults())
          if (isa<BaseMemRefType>(r.getType()))
            r.replaceAllUsesWith(loop.getInits()[r.getResultNumber()]);
      if (auto branch = dyn_cast<scf::IfOp>(op); branch && branch.elseBlock())
        for (OpResult r : branch->getResults()) {
          Value a = branch.thenYield().getOperand(r.getResultNumber());
          Value b = branch.elseYield().getOperand(r.getResultNumber());
          if (a == b && a.getParentBlock() == &body)
            r.replaceAllUsesWith(a);
        }
    }

    // An if's condition is loaded in its kernel: a load that CSE shared
    // between several ifs is loaded again right before each (no write came
    // between, or CSE would not have shared it).
    for (Operation &op : llvm::make_early_inc_range(body)) {
      auto load = dyn_cast<memref::LoadOp>(op);
      if (!load || load->hasOneUse() || load->use_empty() ||
          !llvm::all_of(load->getUsers(), [&](Operation *u) {
            return isa<scf::IfOp>(u) && u->getBlock() == &body;
          }))
        continue;
      for (OpOperand &use : llvm::make_early_inc_range(load->getUses())) {
        OpBuilder b(use.getOwner());
        use.set(b.clone(*load)->getResult(0));
      }
      load->erase();
    }

    // Kernels: runs of computing ops with one kiln.kernel name; an op
    // without one is a kernel of its own.
    SmallVector<SmallVector<Operation *>> groups;
    StringAttr current;
    Operation *joinsNext = nullptr; ///< The scf.if a load's group awaits.
    for (Operation &op : body) {
      if (isFree(op) || op.hasTrait<OpTrait::IsTerminator>())
        continue;
      if (isa<memref::AllocOp, memref::DeallocOp>(op)) {
        op.emitError("buffer left out of the memory plan; a kernel can "
                     "only use buffers of the arena");
        return signalPassFailure();
      }
      // A scalar read of a buffer (an scf.if's condition) belongs to the
      // kernel of the op that uses it, when only free ops stand between.
      if (auto load = dyn_cast<memref::LoadOp>(op);
          load && load->hasOneUse() &&
          isa<scf::IfOp>(*load->getUsers().begin()) &&
          (*load->getUsers().begin())->getBlock() == &body) {
        Operation *user = *load->getUsers().begin();
        bool adjacent = true;
        for (Operation *o = load->getNextNode(); o && o != user;
             o = o->getNextNode())
          adjacent = adjacent && isFree(*o);
        if (adjacent) {
          groups.emplace_back();
          groups.back().push_back(&op);
          joinsNext = user;
          current = StringAttr();
          continue;
        }
      }
      auto name = op.getAttrOfType<StringAttr>(KilnDialect::kKernelAttr);
      bool joins = joinsNext == &op;
      joinsNext = nullptr;
      if (!joins && (groups.empty() || !name || name != current))
        groups.emplace_back();
      groups.back().push_back(&op);
      current = name;
    }
    Outliner outliner(module, main, arena, grids);
    for (auto [i, group] : llvm::enumerate(groups))
      if (failed(outliner.outline(group, static_cast<int>(i))))
        return signalPassFailure();

    // What only the kernels used goes.
    for (Operation &op : llvm::make_early_inc_range(llvm::reverse(body)))
      if (isFree(op) && op.use_empty())
        op.erase();
  }
};

} // namespace
} // namespace kiln
