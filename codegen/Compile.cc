//===- Compile.cc - From an imported graph to an Executable ---------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/Compile.h"

#include "codegen/TargetBackend.h"
#include "ir/Dialect.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/IR/BuiltinOps.h"
#include "runtime/stopwatch.h"
#include "llvm/ADT/BitVector.h"

namespace kiln {
namespace {

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
Compile(mlir::ModuleOp module, Signature signature,
        const PipelineOptions &options, CompileTimings *timings) {
  CompileTimings local;
  if (!timings)
    timings = &local;
  const TargetBackend *backend = FindTargetBackend(options.target);
  if (!backend)
    return absl::InvalidArgumentError("unknown target '" + options.target +
                                      "'");
  Stopwatch watch;
  PrepareEntryFunction(module);
  LaunchPlan plan;
  if (absl::Status s = RunPipeline(module, options, Stage::kLLVM, &signature,
                                   &plan, &timings->phases);
      !s.ok())
    return s;
  timings->pipeline_ms = watch.Millis();

  watch.Restart();
  absl::StatusOr<KernelTable> table = backend->produceKernels(module, plan);
  if (!table.ok())
    return table.status();
  timings->jit_ms = watch.Millis();
  return std::make_unique<Executable>(std::move(signature), std::move(plan),
                                      std::move(table->kernels),
                                      std::move(table->code));
}

} // namespace kiln
