//===- MachineCode.cc - Kernels in the LLVM dialect to machine code -------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/MachineCode.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "lld/Common/Driver.h"
#include "mlir/ExecutionEngine/OptUtils.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/IR/DialectRegistry.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Export.h"
#include "llvm/Bitcode/BitcodeReader.h"
#include "llvm/Bitcode/BitcodeWriter.h"
#include "llvm/IR/Constants.h"
#include "llvm/IR/IRBuilder.h"
#include "llvm/IR/LLVMContext.h"
#include "llvm/IR/LegacyPassManager.h"
#include "llvm/IR/Module.h"
#include "llvm/MC/MCSubtargetInfo.h"
#include "llvm/MC/TargetRegistry.h"
#include "llvm/Passes/PassBuilder.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/TargetSelect.h"
#include "llvm/Support/raw_ostream.h"
#include "llvm/Target/TargetMachine.h"
#include "llvm/TargetParser/Host.h"
#include "llvm/TargetParser/SubtargetFeature.h"
#include "llvm/TargetParser/Triple.h"
#include "llvm/Transforms/IPO/MergeFunctions.h"
#include "llvm/Transforms/Utils/SplitModule.h"

#include <algorithm>
#include <mutex>
#include <thread>

LLD_HAS_DRIVER(elf)

namespace kiln {
namespace {

void InitializeLlvmOnce() {
  static std::once_flag once;
  std::call_once(once, [] {
    // Every target LLVM was built with, for cross-compilation.
    llvm::InitializeAllTargetInfos();
    llvm::InitializeAllTargets();
    llvm::InitializeAllTargetMCs();
    llvm::InitializeAllAsmPrinters();
  });
}

/// The triple, CPU and feature string `options` mean.
struct ResolvedTarget {
  std::string triple;
  std::string cpu;
  std::string features;
  const llvm::Target *target = nullptr;
};

absl::StatusOr<ResolvedTarget> Resolve(const CpuTargetOptions &options) {
  InitializeLlvmOnce();
  ResolvedTarget r;
  const std::string host = llvm::sys::getProcessTriple();
  llvm::Triple triple(
      options.triple.empty() ? host : llvm::Triple::normalize(options.triple));
  // Artifacts are ELF shared objects, and the runtime knows these two
  // architectures. The architecture is spelled as LLVM spells it (amd64
  // is x86_64), since the loader compares it with the host's.
  if ((triple.getArch() != llvm::Triple::x86_64 &&
       triple.getArch() != llvm::Triple::aarch64) ||
      !triple.isOSBinFormatELF() || triple.isOSWindows() || triple.isOSDarwin())
    return absl::InvalidArgumentError(absl::StrCat(
        "unsupported target triple '", options.triple,
        "': Kiln compiles for x86_64 and aarch64 ELF targets, such as "
        "x86_64-linux-gnu and aarch64-linux-gnu"));
  triple.setArch(triple.getArch());
  r.triple = triple.str();
  std::string error;
  r.target = llvm::TargetRegistry::lookupTarget(r.triple, error);
  if (!r.target)
    return absl::InvalidArgumentError(
        absl::StrCat("unknown target triple '", options.triple, "': ", error,
                     " (llc-19 --version lists the architectures)"));
  const bool host_arch = triple.getArch() == llvm::Triple(host).getArch();
  if (options.cpu.empty() && host_arch) {
    r.cpu = llvm::sys::getHostCPUName().str();
    llvm::SubtargetFeatures features;
    for (const auto &f : llvm::sys::getHostCPUFeatures())
      features.AddFeature(f.first(), f.second);
    r.features = features.getString();
  } else {
    r.cpu = options.cpu.empty() ? "generic" : options.cpu;
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        r.target->createMCSubtargetInfo(r.triple, "", ""));
    if (!info || !info->isCPUStringValid(r.cpu))
      return absl::InvalidArgumentError(absl::StrCat(
          "unknown CPU '", r.cpu, "' for ", r.triple,
          " (llc-19 -mtriple=", r.triple, " -mcpu=help lists them)"));
    std::unique_ptr<llvm::MCSubtargetInfo> cpu(
        r.target->createMCSubtargetInfo(r.triple, r.cpu, ""));
    if (triple.getArch() == llvm::Triple::x86_64 &&
        !cpu->checkFeatures("+64bit"))
      return absl::InvalidArgumentError(
          absl::StrCat("unknown CPU '", r.cpu, "' for ", r.triple,
                       ": it cannot run 64-bit code"));
  }
  return r;
}

absl::StatusOr<std::unique_ptr<llvm::TargetMachine>>
MakeTargetMachine(const ResolvedTarget &r) {
  llvm::TargetOptions options;
  // Position-independent: the kernels go into a shared object.
  std::unique_ptr<llvm::TargetMachine> machine(r.target->createTargetMachine(
      r.triple, r.cpu, r.features, options, llvm::Reloc::PIC_, std::nullopt,
      llvm::CodeGenOptLevel::Aggressive));
  if (!machine)
    return absl::InternalError("no LLVM target machine for " + r.triple);
  return machine;
}

/// `kernel`'s entry point `name`: void name(void **args), which loads the
/// i-th argument from args[i] and calls the kernel.
void AddPackedEntry(llvm::Function *kernel, const std::string &name) {
  llvm::LLVMContext &context = kernel->getContext();
  auto *ptr = llvm::PointerType::getUnqual(context);
  auto *type =
      llvm::FunctionType::get(llvm::Type::getVoidTy(context), {ptr}, false);
  auto *entry = llvm::Function::Create(type, llvm::GlobalValue::ExternalLinkage,
                                       name, kernel->getParent());
  llvm::IRBuilder<> b(llvm::BasicBlock::Create(context, "entry", entry));
  std::vector<llvm::Value *> args;
  for (llvm::Argument &arg : kernel->args()) {
    llvm::Value *slot =
        b.CreateConstGEP1_64(ptr, entry->getArg(0), arg.getArgNo());
    llvm::Value *address = b.CreateLoad(ptr, slot);
    args.push_back(b.CreateLoad(arg.getType(), address));
  }
  b.CreateCall(kernel, args);
  b.CreateRetVoid();
  // Inlined, a kernel's noalias arguments would become scoped alias
  // metadata on every access, which makes LLVM's instruction scheduling of
  // large unrolled loops several times slower for no faster code.
  kernel->addFnAttr(llvm::Attribute::NoInline);
}

/// Merges kernels whose code is the same (a network repeats its layers:
/// resnet18 has 60 kernels and 32 different ones), before LLVM spends its
/// time optimizing and compiling each.
void MergeIdenticalKernels(llvm::Module &module, llvm::TargetMachine *machine) {
  llvm::PassBuilder builder(machine);
  llvm::LoopAnalysisManager loops;
  llvm::FunctionAnalysisManager functions;
  llvm::CGSCCAnalysisManager sccs;
  llvm::ModuleAnalysisManager modules;
  builder.registerModuleAnalyses(modules);
  builder.registerCGSCCAnalyses(sccs);
  builder.registerFunctionAnalyses(functions);
  builder.registerLoopAnalyses(loops);
  builder.crossRegisterProxies(loops, functions, sccs, modules);
  llvm::ModulePassManager passes;
  passes.addPass(llvm::MergeFunctionsPass());
  passes.run(module, modules);
}

/// `module` (LLVM dialect) as LLVM IR in `context`.
absl::StatusOr<std::unique_ptr<llvm::Module>>
Translate(mlir::ModuleOp module, llvm::LLVMContext &context) {
  InitializeLlvmOnce();
  RegisterLlvmTranslations(module);
  std::unique_ptr<llvm::Module> llvm_module =
      mlir::translateModuleToLLVMIR(module, context, "kiln");
  if (!llvm_module)
    return absl::InternalError("translation to LLVM IR failed");
  return llvm_module;
}

/// Optimizes `module` at -O3 for `machine` and compiles it to an object.
absl::StatusOr<std::string> Codegen(llvm::Module &module,
                                    llvm::TargetMachine &machine,
                                    const std::string &triple) {
  if (llvm::Error e = mlir::makeOptimizingTransformer(
          /*optLevel=*/3, /*sizeLevel=*/0, &machine)(&module))
    return absl::InternalError("LLVM optimization failed: " +
                               llvm::toString(std::move(e)));
  llvm::SmallVector<char, 0> object;
  llvm::raw_svector_ostream os(object);
  llvm::legacy::PassManager codegen;
  if (machine.addPassesToEmitFile(codegen, os, nullptr,
                                  llvm::CodeGenFileType::ObjectFile))
    return absl::InternalError("LLVM cannot emit objects for " + triple);
  codegen.run(module);
  return std::string(object.data(), object.size());
}

} // namespace

void RegisterLlvmTranslations(mlir::ModuleOp module) {
  mlir::DialectRegistry registry;
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
}

absl::StatusOr<TargetDescription>
DescribeCpuTarget(const CpuTargetOptions &options) {
  absl::StatusOr<ResolvedTarget> r = Resolve(options);
  if (!r.ok())
    return r.status();
  TargetDescription description;
  description.backend = "cpu";
  description.triple = r->triple;
  description.cpu = r->cpu;
  if (llvm::Triple(r->triple).isX86()) {
    std::unique_ptr<llvm::MCSubtargetInfo> info(
        r->target->createMCSubtargetInfo(r->triple, r->cpu, r->features));
    for (const std::string &f : CheckableCpuFeatures())
      if (info->checkFeatures("+" + f))
        description.features.push_back(f);
  }
  return description;
}

absl::StatusOr<std::vector<std::string>>
EmitObjects(mlir::ModuleOp module, const std::vector<std::string> &kernels,
            const std::string &symbol_prefix, const CpuTargetOptions &target,
            const std::vector<ObjectData> &data, unsigned partitions) {
  absl::StatusOr<ResolvedTarget> resolved = Resolve(target);
  if (!resolved.ok())
    return resolved.status();
  absl::StatusOr<std::unique_ptr<llvm::TargetMachine>> machine =
      MakeTargetMachine(*resolved);
  if (!machine.ok())
    return machine.status();

  llvm::LLVMContext context;
  absl::StatusOr<std::unique_ptr<llvm::Module>> translated =
      Translate(module, context);
  if (!translated.ok())
    return translated.status();
  std::unique_ptr<llvm::Module> llvm_module = *std::move(translated);
  llvm_module->setTargetTriple(resolved->triple);
  llvm_module->setDataLayout((*machine)->createDataLayout());

  // Only the entry points and the data are seen from outside, so that two
  // models' objects link into one program.
  for (llvm::Function &f : *llvm_module)
    if (!f.isDeclaration())
      f.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (llvm::GlobalVariable &g : llvm_module->globals())
    if (!g.isDeclaration())
      g.setLinkage(llvm::GlobalValue::InternalLinkage);
  for (const std::string &name : kernels) {
    llvm::Function *kernel = llvm_module->getFunction(name);
    if (!kernel || kernel->isDeclaration())
      return absl::InternalError("no kernel @" + name + " to emit");
    AddPackedEntry(kernel, symbol_prefix + name);
  }
  for (const ObjectData &d : data) {
    llvm::Constant *bytes = llvm::ConstantDataArray::getRaw(
        d.bytes, d.bytes.size(), llvm::Type::getInt8Ty(context));
    auto *global = new llvm::GlobalVariable(
        *llvm_module, bytes->getType(), /*isConstant=*/true,
        llvm::GlobalValue::ExternalLinkage, bytes, d.symbol);
    global->setAlignment(llvm::Align(64));
  }

  MergeIdenticalKernels(*llvm_module, machine->get());
  // At least two kernels a part: a thread for a tiny part costs more than
  // it saves.
  partitions = std::min<unsigned>(partitions, kernels.size() / 2);
  if (partitions <= 1) {
    absl::StatusOr<std::string> object =
        Codegen(*llvm_module, **machine, resolved->triple);
    if (!object.ok())
      return object.status();
    return std::vector<std::string>{*std::move(object)};
  }

  // LLVM's optimizer and code generator run on one thread per part, each
  // part in a context of its own (the bitcode carries it across).
  std::vector<llvm::SmallVector<char, 0>> bitcode;
  llvm::SplitModule(
      *llvm_module, partitions,
      [&](std::unique_ptr<llvm::Module> part) {
        llvm::SmallVector<char, 0> bytes;
        llvm::raw_svector_ostream os(bytes);
        llvm::WriteBitcodeToFile(*part, os);
        bitcode.push_back(std::move(bytes));
      },
      /*PreserveLocals=*/false, /*RoundRobin=*/true);
  std::vector<absl::StatusOr<std::string>> objects(
      bitcode.size(), absl::InternalError("not compiled"));
  std::vector<std::thread> threads;
  for (size_t i = 0; i < bitcode.size(); ++i)
    threads.emplace_back([&, i] {
      llvm::LLVMContext part_context;
      llvm::Expected<std::unique_ptr<llvm::Module>> part =
          llvm::parseBitcodeFile(
              llvm::MemoryBufferRef(
                  llvm::StringRef(bitcode[i].data(), bitcode[i].size()),
                  "kernels"),
              part_context);
      if (!part) {
        objects[i] = absl::InternalError("LLVM cannot read a module part: " +
                                         llvm::toString(part.takeError()));
        return;
      }
      absl::StatusOr<std::unique_ptr<llvm::TargetMachine>> part_machine =
          MakeTargetMachine(*resolved);
      if (!part_machine.ok()) {
        objects[i] = part_machine.status();
        return;
      }
      objects[i] = Codegen(**part, **part_machine, resolved->triple);
    });
  for (std::thread &t : threads)
    t.join();
  std::vector<std::string> result;
  for (absl::StatusOr<std::string> &object : objects) {
    if (!object.ok())
      return object.status();
    result.push_back(*std::move(object));
  }
  return result;
}

absl::StatusOr<std::string>
LinkSharedObject(const std::vector<std::string> &objects) {
  // LLD keeps global state while it links: one link at a time.
  static std::mutex mutex;
  static bool broken = false; // LLD failed in a way that forbids a rerun.
  std::lock_guard<std::mutex> lock(mutex);
  if (broken)
    return absl::InternalError(
        "an earlier link failed in a way that keeps LLD from running again "
        "in this process");
  // LLD reads files: each object goes to a temporary file, removed after.
  std::vector<std::string> inputs;
  auto remove_inputs = [&] {
    for (const std::string &path : inputs)
      llvm::sys::fs::remove(path);
  };
  for (const std::string &object : objects) {
    llvm::SmallString<128> input;
    int fd;
    if (std::error_code ec = llvm::sys::fs::createTemporaryFile(
            "kiln-kernels", "o", fd, input)) {
      remove_inputs();
      return absl::InternalError("cannot create a temporary file: " +
                                 ec.message());
    }
    inputs.push_back(input.str().str());
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << object;
  }
  llvm::SmallString<128> output;
  if (std::error_code ec =
          llvm::sys::fs::createTemporaryFile("kiln-kernels", "so", output)) {
    remove_inputs();
    return absl::InternalError("cannot create a temporary file: " +
                               ec.message());
  }
  std::vector<const char *> args = {
      "ld.lld", "-shared", "--threads=1",     "-z", "noexecstack",
      "-z",     "now",     "--build-id=none", "-o", output.c_str()};
  for (const std::string &input : inputs)
    args.push_back(input.c_str());
  std::string messages;
  llvm::raw_string_ostream out(messages), err(messages);
  lld::Result result =
      lld::lldMain(args, out, err, {{lld::Gnu, &lld::elf::link}});
  remove_inputs();
  broken = !result.canRunAgain;
  absl::StatusOr<std::string> library;
  if (result.retCode != 0) {
    library = absl::InternalError("linking the kernels failed: " + messages);
  } else if (auto buffer = llvm::MemoryBuffer::getFile(output)) {
    library = (*buffer)->getBuffer().str();
  } else {
    library = absl::InternalError("cannot read the linked kernels: " +
                                  buffer.getError().message());
  }
  llvm::sys::fs::remove(output);
  return library;
}

absl::StatusOr<std::string> TranslateToLlvmIr(mlir::ModuleOp module) {
  llvm::LLVMContext context;
  absl::StatusOr<std::unique_ptr<llvm::Module>> llvm_module =
      Translate(module, context);
  if (!llvm_module.ok())
    return llvm_module.status();
  std::string text;
  llvm::raw_string_ostream os(text);
  (*llvm_module)->print(os, nullptr);
  return text;
}

} // namespace kiln
