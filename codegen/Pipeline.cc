//===- Pipeline.cc - Kiln's pass pipeline ---------------------------------===//
//
// Part of Kiln. Phases: graph simplification on the kiln dialect (passes/),
// lowering to linalg on tensors, the backend's tuning, bufferization (feeds
// read-only, fetches written to caller-provided buffers), memory planning,
// kernel outlining and the launch plan (codegen/common), then the backend's
// code generation for the kernels.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"

#include "codegen/TargetBackend.h"
#include "codegen/common/LaunchPlan.h"
#include "codegen/common/Passes.h"
#include "ir/Diagnostics.h"
#include "passes/Passes.h"

#include "ir/Dialect.h"
#include "mlir/Dialect/Affine/IR/AffineOps.h"
#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Arith/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Arith/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/IR/Bufferization.h"
#include "mlir/Dialect/Bufferization/Transforms/FuncBufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Bufferization/Transforms/OneShotAnalysis.h"
#include "mlir/Dialect/Bufferization/Transforms/Passes.h"
#include "mlir/Dialect/ControlFlow/IR/ControlFlow.h"
#include "mlir/Dialect/ControlFlow/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/LLVMIR/LLVMDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
#include "mlir/Dialect/Linalg/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Linalg/Transforms/TilingInterfaceImpl.h"
#include "mlir/Dialect/Math/IR/Math.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/MemRef/Transforms/AllocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/Dialect/SCF/Transforms/BufferDeallocationOpInterfaceImpl.h"
#include "mlir/Dialect/SCF/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/Dialect/Tensor/IR/Tensor.h"
#include "mlir/Dialect/Tensor/IR/TensorTilingInterfaceImpl.h"
#include "mlir/Dialect/Tensor/Transforms/BufferizableOpInterfaceImpl.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Transforms/Passes.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/raw_ostream.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>

namespace kiln {

void RegisterPipelineDialects(mlir::DialectRegistry &registry) {
  registry.insert<KilnDialect, mlir::affine::AffineDialect,
                  mlir::arith::ArithDialect,
                  mlir::bufferization::BufferizationDialect,
                  mlir::cf::ControlFlowDialect, mlir::func::FuncDialect,
                  mlir::linalg::LinalgDialect, mlir::LLVM::LLVMDialect,
                  mlir::math::MathDialect, mlir::memref::MemRefDialect,
                  mlir::scf::SCFDialect, mlir::tensor::TensorDialect>();
  mlir::arith::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::arith::registerBufferDeallocationOpInterfaceExternalModels(registry);
  mlir::bufferization::func_ext::registerBufferizableOpInterfaceExternalModels(
      registry);
  mlir::cf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  mlir::linalg::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::linalg::registerTilingInterfaceExternalModels(registry);
  mlir::memref::registerAllocationOpInterfaceExternalModels(registry);
  mlir::scf::registerBufferDeallocationOpInterfaceExternalModels(registry);
  mlir::scf::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::tensor::registerBufferizableOpInterfaceExternalModels(registry);
  mlir::tensor::registerTilingInterfaceExternalModels(registry);
}

std::vector<std::string> GraphPassNames() {
  return {"kiln-fold-constants", "kiln-simplify", "canonicalize", "cse",
          "kiln-insert-checks",  "kiln-winograd", "kiln-fuse"};
}

namespace {

const TargetBackend &BackendOf(const PipelineOptions &options) {
  const TargetBackend *backend = FindTargetBackend(options.target);
  // CheckPassNames (run by RunPipeline) reports an unknown target; a
  // pipeline built without it gets the CPU.
  return backend ? *backend : *FindTargetBackend("cpu");
}

} // namespace

std::vector<std::string> PipelinePassNames(int opt_level, Stage stop_at,
                                           const std::string &target) {
  mlir::MLIRContext context(mlir::MLIRContext::Threading::DISABLED);
  mlir::PassManager pm(&context);
  PipelineOptions options;
  options.opt_level = opt_level;
  options.target = target;
  BuildPipeline(pm, options, stop_at);
  // The textual form names every pass, nested ones inside "anchor(...)"
  // and options inside "{...}": "builtin.module(func.func(a{x=1}),b,c)".
  // (The pass manager offers no public walk over nested passes.)
  std::string text;
  llvm::raw_string_ostream os(text);
  pm.printAsTextualPipeline(os);
  std::vector<std::string> names;
  std::string token;
  int braces = 0;
  auto flush = [&](bool is_pass) {
    if (is_pass && !token.empty() &&
        std::find(names.begin(), names.end(), token) == names.end())
      names.push_back(token);
    token.clear();
  };
  for (char c : text) {
    if (braces > 0) {
      braces += c == '{' ? 1 : c == '}' ? -1 : 0;
      continue;
    }
    if (c == '{') {
      flush(/*is_pass=*/true);
      braces = 1;
    } else if (c == '(') {
      flush(/*is_pass=*/false); // an anchor op name such as func.func
    } else if (c == ',' || c == ')') {
      flush(/*is_pass=*/true);
    } else if (!std::isspace(static_cast<unsigned char>(c))) {
      token += c;
    }
  }
  return names;
}

absl::Status CheckPassNames(const PipelineOptions &options) {
  if (!FindTargetBackend(options.target))
    return absl::InvalidArgumentError("unknown target '" + options.target +
                                      "'; the targets are " +
                                      llvm::join(TargetBackendNames(), ", "));
  std::vector<std::string> graph = GraphPassNames();
  for (const std::string &name : options.disabled_passes)
    if (std::find(graph.begin(), graph.end(), name) == graph.end())
      return absl::InvalidArgumentError("unknown pass '" + name +
                                        "' to disable; the graph passes are " +
                                        llvm::join(graph, ", "));
  if (options.print_ir_after.empty())
    return absl::OkStatus();
  std::vector<std::string> all =
      PipelinePassNames(3, Stage::kLLVM, options.target);
  for (const std::string &name : options.print_ir_after)
    if (std::find(all.begin(), all.end(), name) == all.end())
      return absl::InvalidArgumentError(
          "unknown pass '" + name +
          "' to print the IR after; the pipeline's passes are " +
          llvm::join(all, ", "));
  return absl::OkStatus();
}

void BuildPipeline(mlir::OpPassManager &pm, const PipelineOptions &options,
                   Stage stop_at, const Signature *signature,
                   LaunchPlan *plan) {
  auto enabled = [&](const std::string &name) {
    return !options.disabled_passes.count(name);
  };
  const TargetBackend &backend = BackendOf(options);
  // Graph level: evaluate constants, simplify, then let the canonicalizer
  // (op folders, dead code) and CSE clean up.
  if (options.opt_level >= 1 && enabled("kiln-fold-constants")) {
    FoldConstantsOptions fold;
    fold.maxBytes = options.max_fold_bytes;
    pm.addNestedPass<mlir::func::FuncOp>(createFoldConstants(fold));
  }
  if (options.opt_level >= 2 && enabled("kiln-simplify"))
    pm.addNestedPass<mlir::func::FuncOp>(createSimplify());
  if (options.opt_level >= 1 && enabled("canonicalize"))
    pm.addPass(mlir::createCanonicalizerPass());
  if (options.opt_level >= 1 && enabled("cse"))
    pm.addPass(mlir::createCSEPass());
  // Semantics, not optimization: at every level (after folding, so that
  // only what runs is checked).
  if (enabled("kiln-insert-checks"))
    pm.addPass(createInsertChecks());
  if (options.opt_level >= 2 && backend.usesWinograd() &&
      enabled("kiln-winograd"))
    pm.addNestedPass<mlir::func::FuncOp>(createWinograd());
  if (options.opt_level >= 2 && enabled("kiln-fuse"))
    pm.addNestedPass<mlir::func::FuncOp>(createFuse());
  if (stop_at == Stage::kGraph)
    return;

  // To linalg on tensors; the backend tiles and orders loops while the
  // fusions still mark the kernels, then they dissolve.
  pm.addNestedPass<mlir::func::FuncOp>(createConvertKilnToLinalg());
  backend.addTensorPasses(pm, options);
  pm.addNestedPass<mlir::func::FuncOp>(createInlineFusions());
  if (options.opt_level >= 1 && enabled("canonicalize"))
    pm.addPass(mlir::createCanonicalizerPass());
  if (options.opt_level >= 1)
    pm.addNestedPass<mlir::func::FuncOp>(createPadInPlace());
  if (stop_at == Stage::kLinalg)
    return;

  // Buffers: results become out-parameters, temporaries are freed.
  mlir::bufferization::OneShotBufferizationOptions bufferize;
  bufferize.bufferizeFunctionBoundaries = true;
  bufferize.setFunctionBoundaryTypeConversion(
      mlir::bufferization::LayoutMapOption::IdentityLayoutMap);
  // Copies become linalg.copy, which lowers to loops like every other
  // kernel (memref.copy of a strided view would call a runtime library).
  bufferize.memCpyFn = [](mlir::OpBuilder &b, mlir::Location loc,
                          mlir::Value from, mlir::Value to) {
    b.create<mlir::linalg::CopyOp>(loc, from, to);
    return mlir::success();
  };
  pm.addPass(mlir::bufferization::createOneShotBufferizePass(bufferize));
  // A tiled kernel stores each tile through a subview equal to the one it
  // wrote in place: CSE makes them one value and the canonicalizer drops
  // the copy of a buffer onto itself.
  if (options.opt_level >= 1 && enabled("cse") && enabled("canonicalize")) {
    pm.addPass(mlir::createCSEPass());
    pm.addPass(mlir::createCanonicalizerPass());
  }
  // Results become the caller's fetch buffers, each computed in place
  // where it can be, else copied there. (hoistStaticAllocs would do the
  // former, but MLIR 19 crashes with it when a feed is returned.)
  mlir::bufferization::BufferResultsToOutParamsOpts out_params;
  pm.addPass(
      mlir::bufferization::createBufferResultsToOutParamsPass(out_params));
  if (options.opt_level >= 1)
    pm.addNestedPass<mlir::func::FuncOp>(createFetchesInPlace());
  // Every temporary gets its place in one arena, the caller's.
  PlanMemoryOptions planning;
  planning.reuse = options.reuse_memory;
  pm.addNestedPass<mlir::func::FuncOp>(createPlanMemory(planning));
  if (stop_at == Stage::kBuffers)
    return;

  // Each kernel its own function over a grid; @main the launch plan.
  OutlineKernelsOptions outline;
  outline.grids = backend.usesGrids();
  pm.addPass(createOutlineKernels(outline));
  if (stop_at == Stage::kKernels)
    return;

  // The launch plan leaves the module; the backend compiles the kernels.
  pm.addPass(createTakeLaunchPlan(signature, plan));
  backend.addKernelPasses(pm, options);
}

namespace {

/// Writes the module after each pass to DIR/NN-<pass>.mlir.
class DumpInstrumentation : public mlir::PassInstrumentation {
public:
  explicit DumpInstrumentation(std::string dir) : dir_(std::move(dir)) {}
  void runAfterPass(mlir::Pass *pass, mlir::Operation *op) override {
    if (pass->getArgument().empty()) // the adaptor running nested passes
      return;
    auto module = op->getParentOfType<mlir::ModuleOp>();
    mlir::Operation *top = module ? module.getOperation() : op;
    char prefix[16];
    std::snprintf(prefix, sizeof prefix, "%02d-", count_++);
    std::string path =
        dir_ + "/" + prefix + pass->getArgument().str() + ".mlir";
    std::error_code error;
    llvm::raw_fd_ostream out(path, error);
    if (!error)
      top->print(out);
  }

private:
  std::string dir_;
  int count_ = 0;
};

} // namespace

/// Records when the pipeline leaves the graph passes (the lowering to
/// linalg starts) and when the launch plan is taken (the backend's passes
/// start).
class PhaseInstrumentation : public mlir::PassInstrumentation {
public:
  using Clock = std::chrono::steady_clock;
  explicit PhaseInstrumentation(std::shared_ptr<Clock::time_point[]> marks)
      : marks_(std::move(marks)) {}
  void runBeforePass(mlir::Pass *pass, mlir::Operation *) override {
    if (pass->getArgument() == "convert-kiln-to-linalg" && !lowering_) {
      lowering_ = true;
      marks_[0] = Clock::now();
    }
  }
  void runAfterPass(mlir::Pass *pass, mlir::Operation *) override {
    if (pass->getArgument() == "kiln-take-launch-plan")
      marks_[1] = Clock::now();
  }

private:
  std::shared_ptr<Clock::time_point[]> marks_;
  bool lowering_ = false;
};

absl::Status RunPipeline(mlir::ModuleOp module, const PipelineOptions &options,
                         Stage stop_at, const Signature *signature,
                         LaunchPlan *plan, PipelinePhaseTimes *times) {
  if (absl::Status s = CheckPassNames(options); !s.ok())
    return s;
  mlir::MLIRContext *context = module.getContext();
  DiagnosticCollector diagnostics(*context);
  mlir::PassManager pm(context);
  pm.enableVerifier(options.verify_each);
  if (options.print_ir_after_all || !options.print_ir_after.empty()) {
    context->disableMultithreading();
    std::set<std::string> after = options.print_ir_after;
    bool all = options.print_ir_after_all;
    pm.enableIRPrinting(
        /*shouldPrintBeforePass=*/[](mlir::Pass *,
                                     mlir::Operation *) { return false; },
        /*shouldPrintAfterPass=*/
        [after, all](mlir::Pass *pass, mlir::Operation *) {
          return all || after.count(pass->getArgument().str()) > 0;
        },
        /*printModuleScope=*/true, /*printAfterOnlyOnChange=*/false);
  }
  if (!options.dump_dir.empty()) {
    if (std::error_code e = llvm::sys::fs::create_directories(options.dump_dir))
      return absl::InvalidArgumentError("cannot create dump directory " +
                                        options.dump_dir + ": " + e.message());
    // create_directories succeeds when the path exists, even as a file.
    if (!llvm::sys::fs::is_directory(options.dump_dir))
      return absl::InvalidArgumentError("dump directory " + options.dump_dir +
                                        " is a file, not a directory");
    context->disableMultithreading();
    pm.addInstrumentation(
        std::make_unique<DumpInstrumentation>(options.dump_dir));
  }
  if (options.pass_timing)
    pm.enableTiming();
  using Clock = std::chrono::steady_clock;
  auto marks = std::shared_ptr<Clock::time_point[]>(new Clock::time_point[2]);
  Clock::time_point start = Clock::now();
  marks[0] = marks[1] = Clock::time_point::min();
  pm.addInstrumentation(std::make_unique<PhaseInstrumentation>(marks));
  BuildPipeline(pm, options, stop_at, signature, plan);
  if (mlir::failed(pm.run(module)))
    return absl::InvalidArgumentError("compilation failed:\n" +
                                      diagnostics.Joined());
  if (times) {
    Clock::time_point end = Clock::now();
    // A phase the pipeline did not reach ends where the run did.
    Clock::time_point lowering =
        marks[0] == Clock::time_point::min() ? end : marks[0];
    Clock::time_point codegen =
        marks[1] == Clock::time_point::min() ? end : marks[1];
    auto ms = [](Clock::time_point a, Clock::time_point b) {
      return std::chrono::duration<double, std::milli>(b - a).count();
    };
    times->graph_ms = ms(start, lowering);
    times->lowering_ms = ms(lowering, codegen);
    times->codegen_ms = ms(codegen, end);
  }
  return absl::OkStatus();
}

} // namespace kiln
