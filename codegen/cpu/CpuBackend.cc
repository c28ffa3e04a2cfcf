//===- CpuBackend.cc - Compile an imported graph for the host CPU ---------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/CpuBackend.h"

#include <chrono>

#include "codegen/cpu/Jit.h"
#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "llvm/ADT/BitVector.h"

namespace kiln {
namespace {

double MillisSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double, std::milli>(
             std::chrono::steady_clock::now() - start)
      .count();
}

bool HasNoElements(mlir::Type type) {
  return mlir::cast<mlir::RankedTensorType>(type).getNumElements() == 0;
}

} // namespace

void PrepareEntryFunction(mlir::ModuleOp module) {
  auto func = module.lookupSymbol<mlir::func::FuncOp>("main");
  if (!func || func.isExternal())
    return;
  mlir::Block &body = func.getBody().front();
  mlir::OpBuilder builder(&body, body.begin());
  llvm::BitVector args(body.getNumArguments());
  for (unsigned i = 0; i < body.getNumArguments(); ++i) {
    mlir::BlockArgument arg = body.getArgument(i);
    if (!HasNoElements(arg.getType()))
      continue;
    auto type = mlir::cast<mlir::RankedTensorType>(arg.getType());
    mlir::Value constant = builder.create<ConstantOp>(
        arg.getLoc(), type,
        mlir::DenseElementsAttr::get(type, llvm::ArrayRef<mlir::Attribute>()));
    arg.replaceAllUsesWith(constant);
    args.set(i);
  }
  func.eraseArguments(args);
  auto ret = mlir::cast<mlir::func::ReturnOp>(body.getTerminator());
  llvm::BitVector results(ret.getNumOperands());
  for (unsigned i = 0; i < ret.getNumOperands(); ++i)
    if (HasNoElements(ret.getOperand(i).getType()))
      results.set(i);
  ret->eraseOperands(results);
  func.eraseResults(results);
}

absl::StatusOr<std::unique_ptr<Executable>>
CompileForCpu(mlir::ModuleOp module, Signature signature,
              const PipelineOptions &options, CpuCompileTimings *timings) {
  CpuCompileTimings local;
  if (!timings)
    timings = &local;
  auto start = std::chrono::steady_clock::now();
  PrepareEntryFunction(module);
  if (absl::Status s = RunPipeline(module, options); !s.ok())
    return s;
  timings->pipeline_ms = MillisSince(start);

  start = std::chrono::steady_clock::now();
  absl::StatusOr<JitKernel> main = JitCompile(module, "main");
  if (!main.ok())
    return main.status();
  timings->jit_ms = MillisSince(start);

  // Today the whole graph is one kernel, @main, dispatched once with every
  // feed and fetch that has elements.
  Dispatch dispatch{0, {}};
  for (size_t i = 0; i < signature.feeds.size(); ++i)
    if (signature.feeds[i].num_elements() > 0)
      dispatch.args.push_back({ArgRef::Kind::kFeed, static_cast<int>(i)});
  for (size_t i = 0; i < signature.fetches.size(); ++i)
    if (signature.fetches[i].num_elements() > 0)
      dispatch.args.push_back({ArgRef::Kind::kFetch, static_cast<int>(i)});
  return std::make_unique<Executable>(
      std::move(signature), std::vector<std::string>{"main"},
      std::vector<KernelFn>{main->entry}, std::vector<Dispatch>{dispatch},
      std::move(main->code));
}

} // namespace kiln
