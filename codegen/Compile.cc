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
#include "runtime/version.h"
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

namespace {

/// Runs the pipeline to the LLVM dialect and describes the target; the
/// kernels are left in `module`.
absl::StatusOr<Artifact> Lower(mlir::ModuleOp module, Signature signature,
                               const PipelineOptions &options,
                               const TargetBackend *&backend,
                               CompileTimings &timings) {
  backend = FindTargetBackend(options.target);
  if (!backend)
    return absl::InvalidArgumentError("unknown target '" + options.target +
                                      "'");
  Artifact artifact;
  absl::StatusOr<TargetDescription> target = backend->describeTarget(options);
  if (!target.ok())
    return target.status();
  artifact.kiln_version = kKilnVersion;
  artifact.target = *std::move(target);
  Stopwatch watch;
  PrepareEntryFunction(module);
  if (absl::Status s = RunPipeline(module, options, Stage::kLLVM, &signature,
                                   &artifact.plan, &timings.phases);
      !s.ok())
    return s;
  timings.pipeline_ms = watch.Millis();
  artifact.signature = std::move(signature);
  return artifact;
}

/// Asks `backend` for the code `request` describes, into `artifact.code`.
absl::Status Produce(const TargetBackend &backend, mlir::ModuleOp module,
                     const PipelineOptions &options, const CodeRequest &request,
                     Artifact &artifact, CompileTimings &timings) {
  absl::StatusOr<TargetCode> code =
      backend.produceCode(module, artifact.plan, options, request);
  if (!code.ok())
    return code.status();
  timings.llvm_ms = code->llvm_ms;
  timings.link_ms = code->link_ms;
  artifact.code = std::move(code->code);
  return absl::OkStatus();
}

} // namespace

absl::StatusOr<Artifact> CompileToArtifact(mlir::ModuleOp module,
                                           Signature signature,
                                           const PipelineOptions &options,
                                           CompileTimings *timings) {
  CompileTimings local;
  if (!timings)
    timings = &local;
  const TargetBackend *backend = nullptr;
  absl::StatusOr<Artifact> artifact =
      Lower(module, std::move(signature), options, backend, *timings);
  if (!artifact.ok())
    return artifact.status();
  CodeRequest request;
  artifact->symbol_prefix = request.symbol_prefix;
  if (absl::Status s =
          Produce(*backend, module, options, request, *artifact, *timings);
      !s.ok())
    return s;
  return artifact;
}

absl::StatusOr<std::unique_ptr<Executable>>
Compile(mlir::ModuleOp module, Signature signature,
        const PipelineOptions &options, CompileTimings *timings) {
  CompileTimings local;
  if (!timings)
    timings = &local;
  absl::StatusOr<Artifact> artifact =
      CompileToArtifact(module, std::move(signature), options, timings);
  if (!artifact.ok())
    return artifact.status();
  Stopwatch watch;
  absl::StatusOr<std::unique_ptr<Executable>> executable =
      LoadArtifact(*std::move(artifact));
  timings->load_ms = watch.Millis();
  return executable;
}

absl::StatusOr<CompiledObject> CompileToObject(mlir::ModuleOp module,
                                               Signature signature,
                                               const PipelineOptions &options,
                                               const std::string &symbol_prefix,
                                               CompileTimings *timings) {
  CompileTimings local;
  if (!timings)
    timings = &local;
  const TargetBackend *backend = nullptr;
  absl::StatusOr<Artifact> artifact =
      Lower(module, std::move(signature), options, backend, *timings);
  if (!artifact.ok())
    return artifact.status();
  artifact->symbol_prefix = symbol_prefix;
  CodeRequest request;
  request.symbol_prefix = symbol_prefix;
  request.object = true;
  request.data.emplace_back(symbol_prefix + "artifact",
                            SerializeArtifact(*artifact));
  size_t artifact_bytes = request.data.back().second.size();
  if (absl::Status s =
          Produce(*backend, module, options, request, *artifact, *timings);
      !s.ok())
    return s;
  std::string object = std::move(artifact->code);
  artifact->code.clear();
  return CompiledObject{std::move(object), *std::move(artifact),
                        artifact_bytes};
}

} // namespace kiln
