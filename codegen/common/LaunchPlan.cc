//===- LaunchPlan.cc - Read the launch plan out of @main ------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/common/LaunchPlan.h"

#include <cstring>

#include "codegen/common/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/Utils/StaticValueUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/StringMap.h"
#include "llvm/Support/raw_ostream.h"

namespace kiln {
#define GEN_PASS_DEF_TAKELAUNCHPLAN
#include "codegen/common/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

/// "f32[16,256]".
std::string TypeString(MemRefType type) {
  std::string text;
  llvm::raw_string_ostream os(text);
  os << type.getElementType() << "[";
  llvm::interleave(type.getShape(), os, ",");
  os << "]";
  return text;
}

int64_t Bytes(MemRefType type) {
  int64_t bits = type.getElementTypeBitWidth();
  return type.getNumElements() * std::max<int64_t>(1, (bits + 7) / 8);
}

/// Writes `value`'s elements at `out` as the kernels read them: each
/// element in its storage size (an i1 takes a byte), little-endian as on
/// the host, a splat repeated.
void WriteElements(DenseElementsAttr value, uint8_t *out) {
  Type element = value.getElementType();
  if (element.isInteger(1)) {
    for (bool b : value.getValues<bool>())
      *out++ = b ? 1 : 0;
    return;
  }
  ArrayRef<char> raw = value.getRawData();
  if (!value.isSplat()) {
    std::memcpy(out, raw.data(), raw.size());
    return;
  }
  for (int64_t i = 0, n = value.getNumElements(); i < n; ++i, out += raw.size())
    std::memcpy(out, raw.data(), raw.size());
}

absl::Status Internal(const std::string &what) {
  return absl::InternalError("launch plan: " + what);
}

} // namespace

absl::StatusOr<LaunchPlan> ExtractLaunchPlan(ModuleOp module,
                                             const Signature &signature) {
  auto main = module.lookupSymbol<func::FuncOp>("main");
  if (!main || main.isExternal())
    return Internal("no @main");
  // @main's arguments: the feeds and fetches with elements, the arena.
  std::vector<ArgRef> byArgument;
  auto bytes = [](const TensorSpec &spec) {
    return spec.num_elements() * DTypeSize(spec.dtype);
  };
  for (size_t i = 0; i < signature.feeds.size(); ++i)
    if (signature.feeds[i].num_elements() > 0)
      byArgument.push_back({ArgRef::Kind::kFeed, static_cast<int>(i), 0,
                            bytes(signature.feeds[i])});
  for (size_t i = 0; i < signature.fetches.size(); ++i)
    if (signature.fetches[i].num_elements() > 0)
      byArgument.push_back({ArgRef::Kind::kFetch, static_cast<int>(i), 0,
                            bytes(signature.fetches[i])});
  LaunchPlan plan;
  auto attr = [&](StringRef name) -> int64_t {
    auto value = main->getAttrOfType<IntegerAttr>(name);
    return value ? value.getInt() : 0;
  };
  plan.arena_bytes = attr(KilnDialect::kArenaBytesAttr);
  plan.arena_lower_bound = attr(KilnDialect::kArenaLowerBoundAttr);
  // Then the run-time checks' results ([count, value], kiln-insert-checks),
  // which the runtime reads after the run: placed after the arena.
  if (auto checks = main->getAttrOfType<ArrayAttr>(KilnDialect::kChecksAttr)) {
    int64_t base = (plan.arena_bytes + 63) / 64 * 64;
    for (Attribute message : checks) {
      RuntimeCheck check;
      check.offset = base + 16 * static_cast<int64_t>(plan.checks.size());
      check.message = cast<StringAttr>(message).str();
      ArgRef a;
      a.kind = ArgRef::Kind::kArena;
      a.offset = check.offset;
      a.bytes = 16;
      a.type = "i64[2]";
      byArgument.push_back(std::move(a));
      plan.checks.push_back(std::move(check));
    }
    if (!plan.checks.empty())
      plan.arena_bytes = base + 16 * static_cast<int64_t>(plan.checks.size());
  }
  if (main.getNumArguments() != byArgument.size() + 1 ||
      !main.getArgAttr(byArgument.size(), KilnDialect::kArenaAttr))
    return Internal("@main takes " + std::to_string(main.getNumArguments()) +
                    " arguments, not the " + std::to_string(byArgument.size()) +
                    " feeds, fetches with elements and checks and the arena");
  Value arena = main.getArgument(byArgument.size());
  llvm::StringMap<int> kernelIndex;
  SymbolTable symbols(module);
  // Each constant global used, once, at a 64-byte aligned offset; the
  // region is filled when its size is known.
  llvm::StringMap<int64_t> constantOffset;
  SmallVector<std::pair<DenseElementsAttr, int64_t>> constants;
  int64_t constantBytes = 0;
  auto constant = [&](memref::GetGlobalOp get) -> absl::StatusOr<int64_t> {
    auto [it, inserted] = constantOffset.try_emplace(get.getName(), 0);
    if (!inserted)
      return it->second;
    auto global = symbols.lookup<memref::GlobalOp>(get.getNameAttr().getAttr());
    auto value = global && global.getInitialValue()
                     ? dyn_cast<DenseElementsAttr>(*global.getInitialValue())
                     : DenseElementsAttr();
    if (!value)
      return Internal("constant @" + get.getName().str() + " has no value");
    it->second = (constantBytes + 63) / 64 * 64;
    constantBytes = it->second + Bytes(get.getType());
    constants.push_back({value, it->second});
    return it->second;
  };
  for (Operation &op : main.getBody().front()) {
    auto dispatch = dyn_cast<DispatchOp>(op);
    if (!dispatch)
      continue;
    Dispatch d;
    auto [it, inserted] = kernelIndex.try_emplace(
        dispatch.getKernel(), static_cast<int>(plan.kernels.size()));
    if (inserted)
      plan.kernels.push_back(dispatch.getKernel().str());
    d.kernel = it->second;
    d.grid = dispatch.getGrid();
    for (Value buffer : dispatch.getBuffers()) {
      if (auto arg = dyn_cast<BlockArgument>(buffer)) {
        if (arg.getArgNumber() >= byArgument.size())
          return Internal("a dispatch takes the whole arena");
        d.args.push_back(byArgument[arg.getArgNumber()]);
        continue;
      }
      if (auto get = buffer.getDefiningOp<memref::GetGlobalOp>()) {
        absl::StatusOr<int64_t> offset = constant(get);
        if (!offset.ok())
          return offset.status();
        ArgRef a;
        a.kind = ArgRef::Kind::kConstant;
        a.offset = *offset;
        a.bytes = Bytes(get.getType());
        a.type = TypeString(get.getType());
        d.args.push_back(std::move(a));
        continue;
      }
      auto view = buffer.getDefiningOp<memref::ViewOp>();
      std::optional<int64_t> offset =
          view ? getConstantIntValue(view.getByteShift()) : std::nullopt;
      if (!view || view.getSource() != arena || !offset)
        return Internal("a dispatch buffer is not a feed, a fetch, a "
                        "constant or an arena view at a constant offset");
      ArgRef a;
      a.kind = ArgRef::Kind::kArena;
      a.offset = *offset;
      a.bytes = Bytes(view.getType());
      a.scratch = view->hasAttr(KilnDialect::kScratchAttr);
      a.type = TypeString(view.getType());
      if (a.offset < 0 || a.offset + a.bytes > plan.arena_bytes)
        return Internal("an arena view lies outside the arena");
      d.args.push_back(std::move(a));
    }
    plan.dispatches.push_back(std::move(d));
  }
  plan.constants = AlignedBytes(constantBytes);
  for (auto [value, offset] : constants)
    WriteElements(value, plan.constants.data() + offset);
  return plan;
}

namespace {

struct TakeLaunchPlanPass
    : public impl::TakeLaunchPlanBase<TakeLaunchPlanPass> {
  /// Without a plan to fill, the pass only erases @main (graph-opt).
  explicit TakeLaunchPlanPass(const Signature *signature = nullptr,
                              LaunchPlan *plan = nullptr)
      : signature_(signature), plan_(plan) {}
  void runOnOperation() override {
    ModuleOp module = getOperation();
    if (plan_ && signature_) {
      absl::StatusOr<LaunchPlan> plan = ExtractLaunchPlan(module, *signature_);
      if (!plan.ok()) {
        module.emitError(std::string(plan.status().message()));
        return signalPassFailure();
      }
      *plan_ = *std::move(plan);
    }
    if (auto main = module.lookupSymbol<func::FuncOp>("main"))
      main.erase();
    // Constants the kernels take as buffers now live in the plan; their
    // globals go, so that LLVM never sees the weights. (One walk for the
    // uses: a symbol-use query per global would walk the module each.)
    llvm::DenseSet<StringAttr> used;
    module.walk([&](memref::GetGlobalOp get) {
      used.insert(get.getNameAttr().getAttr());
    });
    for (auto global :
         llvm::make_early_inc_range(module.getOps<memref::GlobalOp>()))
      if (!used.contains(global.getSymNameAttr()))
        global.erase();
  }

private:
  const Signature *signature_;
  LaunchPlan *plan_;
};

} // namespace

std::unique_ptr<Pass> createTakeLaunchPlan(const Signature *signature,
                                           LaunchPlan *plan) {
  return std::make_unique<TakeLaunchPlanPass>(signature, plan);
}

} // namespace kiln
