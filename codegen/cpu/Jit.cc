//===- Jit.cc - In-process CPU compilation --------------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/Jit.h"

#include "mlir/ExecutionEngine/ExecutionEngine.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/ExecutionEngine/Orc/JITTargetMachineBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/Module.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"

#include <mutex>

namespace kiln {
namespace {

void InitializeLlvmOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    llvm::InitializeNativeTarget();
    llvm::InitializeNativeTargetAsmPrinter();
  });
}

} // namespace

void RegisterLlvmTranslations(mlir::ModuleOp module) {
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
}

absl::StatusOr<JitModule> JitCompile(mlir::ModuleOp module,
                                     const std::vector<std::string> &names) {
  InitializeLlvmOnce();
  RegisterLlvmTranslations(module);
  // ExecutionEngineOptions::transformer is a function_ref: the function
  // it refers to must outlive create().
  // The optimizer gets the host's target machine, so that the loop and SLP
  // vectorizers know its vector width (AVX-512 where there is one).
  auto builder = llvm::orc::JITTargetMachineBuilder::detectHost();
  if (!builder)
    return absl::InternalError("JIT: cannot detect the host: " +
                               llvm::toString(builder.takeError()));
  builder->setCodeGenOptLevel(llvm::CodeGenOptLevel::Aggressive);
  auto machine = builder->createTargetMachine();
  if (!machine)
    return absl::InternalError("JIT: no target machine for the host: " +
                               llvm::toString(machine.takeError()));
  std::function<llvm::Error(llvm::Module *)> optimize =
      mlir::makeOptimizingTransformer(/*optLevel=*/3, /*sizeLevel=*/0,
                                      machine->get());
  mlir::ExecutionEngineOptions options;
  options.transformer = optimize;
  options.jitCodeGenOptLevel = llvm::CodeGenOptLevel::Aggressive;
  auto engine = mlir::ExecutionEngine::create(module, options);
  if (!engine)
    return absl::InternalError("JIT compilation failed: " +
                               llvm::toString(engine.takeError()));
  JitModule result;
  for (const std::string &name : names) {
    auto entry = (*engine)->lookupPacked(name);
    if (!entry)
      return absl::InternalError("JIT: no entry point @" + name + ": " +
                                 llvm::toString(entry.takeError()));
    result.entries.push_back(*entry);
  }
  result.code =
      std::shared_ptr<const mlir::ExecutionEngine>(std::move(*engine));
  return result;
}

absl::StatusOr<std::string> TranslateToLlvmIr(mlir::ModuleOp module) {
  InitializeLlvmOnce();
  RegisterLlvmTranslations(module);
  llvm::LLVMContext context;
  std::unique_ptr<llvm::Module> llvm_module =
      mlir::translateModuleToLLVMIR(module, context, "kiln");
  if (!llvm_module)
    return absl::InternalError("translation to LLVM IR failed");
  std::string text;
  llvm::raw_string_ostream os(text);
  llvm_module->print(os, nullptr);
  return text;
}

} // namespace kiln
