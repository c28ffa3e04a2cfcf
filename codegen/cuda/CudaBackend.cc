//===- CudaBackend.cc - NVIDIA GPUs as a target ---------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/CudaBackend.h"
#include "codegen/cuda/Matmul.h"

#include "codegen/PipelineOptions.h"
#include "codegen/cpu/CpuBackend.h"
#include "codegen/cuda/Passes.h"
#include "ir/Dialect.h"
#include "runtime/cuda_code.h"
#include "runtime/stopwatch.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/GPUToNVVM/GPUToNVVMPass.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/GPU/Transforms/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "mlir/Target/LLVM/NVVM/Target.h"
#include "mlir/Target/LLVMIR/Dialect/Builtin/BuiltinToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/GPU/GPUToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/LLVMIR/LLVMToLLVMIRTranslation.h"
#include "mlir/Target/LLVMIR/Dialect/NVVM/NVVMToLLVMIRTranslation.h"
#include "llvm/ADT/StringExtras.h"
#include "llvm/Support/FileSystem.h"
#include "llvm/Support/MemoryBuffer.h"
#include "llvm/Support/Program.h"

#include <cstdlib>
#include <map>

namespace kiln {

namespace {

std::string ChipOf(const PipelineOptions &options) {
  return options.gpu_arch.empty() ? "sm_90" : options.gpu_arch;
}

/// Runs ptxas on `ptx` for `chip`: the cubin, or the error ptxas printed.
absl::StatusOr<std::string> Assemble(const std::string &ptxas,
                                     const std::string &ptx,
                                     const std::string &chip) {
  llvm::SmallString<128> in, out, err;
  int fd = -1;
  if (llvm::sys::fs::createTemporaryFile("kiln", "ptx", fd, in))
    return absl::InternalError("cannot create a temporary file for ptxas");
  {
    llvm::raw_fd_ostream os(fd, /*shouldClose=*/true);
    os << ptx;
  }
  llvm::sys::fs::createTemporaryFile("kiln", "cubin", out);
  llvm::sys::fs::createTemporaryFile("kiln", "log", err);
  std::string arch = "-arch=" + chip;
  llvm::StringRef args[] = {ptxas, arch, "-O3", in, "-o", out};
  std::optional<llvm::StringRef> redirects[] = {std::nullopt, err.str(),
                                                err.str()};
  std::string message;
  int rc = llvm::sys::ExecuteAndWait(ptxas, args, std::nullopt, redirects,
                                     /*SecondsToWait=*/0, /*MemoryLimit=*/0,
                                     &message);
  auto read = [](llvm::StringRef path) {
    auto buffer = llvm::MemoryBuffer::getFile(path);
    return buffer ? (*buffer)->getBuffer().str() : std::string();
  };
  std::string log = read(err), cubin = read(out);
  for (llvm::StringRef path : {in.str(), out.str(), err.str()})
    llvm::sys::fs::remove(path);
  if (rc != 0)
    return absl::InternalError(
        "ptxas rejected the generated PTX" +
        (message.empty() ? std::string() : " (" + message + ")") + ":\n" + log);
  return cubin;
}

} // namespace

const std::vector<std::string> &CudaChips() {
  static const std::vector<std::string> chips = {
      // CUDA 13's ptxas knows no chip before sm_75.
      "sm_75", "sm_80", "sm_86", "sm_87", "sm_89", "sm_90"};
  return chips;
}

std::string FindCudaToolkit() {
  std::vector<std::string> candidates;
  for (const char *name :
       {"KILN_CUDA_TOOLKIT", "CUDA_HOME", "CUDA_PATH", "CUDA_ROOT"})
    if (const char *env = std::getenv(name); env && *env) {
      candidates.push_back(env);
      break;
    }
  // A toolkit named in the environment is the only one looked at.
  if (candidates.empty())
    candidates.push_back("/usr/local/cuda");
  for (const std::string &dir : candidates)
    if (llvm::sys::fs::exists(dir + "/nvvm/libdevice/libdevice.10.bc"))
      return dir;
  return "";
}

std::string FindPtxas() {
  if (const char *env = std::getenv("KILN_PTXAS"))
    return llvm::sys::fs::can_execute(env) ? env : "";
  if (std::string toolkit = FindCudaToolkit(); !toolkit.empty())
    if (llvm::sys::fs::can_execute(toolkit + "/bin/ptxas"))
      return toolkit + "/bin/ptxas";
  if (llvm::ErrorOr<std::string> path = llvm::sys::findProgramByName("ptxas"))
    return *path;
  return "";
}

void CudaBackend::addTensorPasses(mlir::OpPassManager &pm,
                                  const PipelineOptions &options) const {
  // No tiling: each kernel's parallel iterations become threads later.
  if (options.gpu_libraries)
    pm.addNestedPass<mlir::func::FuncOp>(createCudaConvolutionsAsMatmuls());
}

void CudaBackend::addKernelPasses(mlir::OpPassManager &pm,
                                  const PipelineOptions &options) const {
  CudaMapKernelsOptions map;
  map.libraryCalls = options.gpu_libraries;
  map.allowTf32 = options.allow_tf32;
  pm.addPass(createCudaMapKernels(map));
  {
    mlir::OpPassManager &kernels = pm.nest<mlir::gpu::GPUModuleOp>();
    kernels.addPass(mlir::createConvertSCFToCFPass());
    kernels.addPass(mlir::memref::createExpandStridedMetadataPass());
    kernels.addPass(mlir::createLowerAffinePass());
  }
  mlir::GpuNVVMAttachTargetOptions target;
  target.chip = ChipOf(options);
  target.optLevel = 3;
  pm.addPass(mlir::createGpuNVVMAttachTarget(target));
  // One pointer per buffer, as the runtime passes them.
  mlir::ConvertGpuOpsToNVVMOpsOptions nvvm;
  nvvm.useBarePtrCallConv = true;
  pm.nest<mlir::gpu::GPUModuleOp>().addPass(
      mlir::createConvertGpuOpsToNVVMOps(nvvm));
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

namespace {
const CpuBackend &Host() {
  static const CpuBackend cpu;
  return cpu;
}
} // namespace

void CudaOnCpuBackend::addTensorPasses(mlir::OpPassManager &pm,
                                       const PipelineOptions &options) const {
  if (options.gpu_libraries)
    pm.addNestedPass<mlir::func::FuncOp>(createCudaConvolutionsAsMatmuls());
}

void CudaOnCpuBackend::addKernelPasses(mlir::OpPassManager &pm,
                                       const PipelineOptions &options) const {
  CudaMapKernelsOptions map;
  map.libdevice = false; // The host has libm.
  map.libraryCalls = options.gpu_libraries;
  map.allowTf32 = options.allow_tf32;
  pm.addPass(createCudaMapKernels(map));
  pm.addPass(createCudaEmulateOnHost());
  Host().addKernelPasses(pm, options);
}

absl::StatusOr<TargetDescription>
CudaOnCpuBackend::describeTarget(const PipelineOptions &options) const {
  return Host().describeTarget(options);
}

absl::StatusOr<TargetCode>
CudaOnCpuBackend::produceCode(mlir::ModuleOp module, const LaunchPlan &plan,
                              const PipelineOptions &options,
                              const CodeRequest &request) const {
  return Host().produceCode(module, plan, options, request);
}

absl::StatusOr<TargetDescription>
CudaBackend::describeTarget(const PipelineOptions &options) const {
  std::string chip = ChipOf(options);
  if (!llvm::is_contained(CudaChips(), chip))
    return absl::InvalidArgumentError("unknown GPU architecture '" + chip +
                                      "'; the cuda target knows " +
                                      llvm::join(CudaChips(), ", "));
  TargetDescription target;
  target.backend = "cuda";
  target.triple = "nvptx64-nvidia-cuda";
  target.cpu = chip;
  return target;
}

absl::StatusOr<TargetCode>
CudaBackend::produceCode(mlir::ModuleOp module, const LaunchPlan &plan,
                         const PipelineOptions &options,
                         const CodeRequest &request) const {
  if (request.object)
    return absl::UnimplementedError(
        "the cuda target writes artifacts (-o model.kiln), not objects for "
        "--emit=obj");
  for (const Dispatch &d : plan.dispatches)
    if (d.grid != 1)
      return absl::InternalError("kernel " + plan.kernels[d.kernel] +
                                 " has a grid of " + std::to_string(d.grid) +
                                 "; the cuda target maps no tiles");
  CudaCode code;
  code.chip = ChipOf(options);
  // The launches of each kernel, from kiln-cuda-map-kernels.
  std::map<std::string, size_t> index;
  for (size_t i = 0; i < plan.kernels.size(); ++i)
    index[plan.kernels[i]] = i;
  code.kernels.resize(plan.kernels.size());
  auto launches =
      module->getAttrOfType<mlir::ArrayAttr>(KilnDialect::kLaunchesAttr);
  if (!launches)
    return absl::InternalError("the module has no kiln.launches");
  for (mlir::Attribute a : launches) {
    auto fields = mlir::cast<mlir::ArrayAttr>(a).getValue();
    std::string kernel =
        mlir::cast<mlir::StringAttr>(fields[0]).getValue().str();
    int64_t threads = mlir::cast<mlir::IntegerAttr>(fields[2]).getInt();
    auto it = index.find(kernel);
    if (it == index.end())
      return absl::InternalError("a GPU launch of unknown kernel " + kernel);
    CudaLaunch launch{mlir::cast<mlir::StringAttr>(fields[1]).getValue().str(),
                      threads,
                      static_cast<int32_t>(
                          mlir::cast<mlir::IntegerAttr>(fields[3]).getInt())};
    if (fields.size() == 5) {
      launch.matmul = matmulFromAttr(fields[4]);
      if (!launch.matmul)
        return absl::InternalError("a bad matmul in kernel " + kernel);
    }
    code.kernels[it->second].push_back(std::move(launch));
  }

  TargetCode result;
  Stopwatch watch;
  mlir::DialectRegistry registry;
  mlir::NVVM::registerNVVMTargetInterfaceExternalModels(registry);
  mlir::registerBuiltinDialectTranslation(registry);
  mlir::registerGPUDialectTranslation(registry);
  mlir::registerLLVMDialectTranslation(registry);
  mlir::registerNVVMDialectTranslation(registry);
  module->getContext()->appendDialectRegistry(registry);
  mlir::PassManager pm(module->getContext());
  mlir::GpuModuleToBinaryPassOptions binary;
  binary.compilationTarget = "isa";
  std::string toolkit = FindCudaToolkit();
  binary.toolkitPath = toolkit;
  pm.addPass(mlir::createGpuModuleToBinaryPass(binary));
  if (mlir::failed(pm.run(module)))
    return absl::InternalError("the GPU kernels did not compile to PTX");
  for (auto op : module.getOps<mlir::gpu::BinaryOp>())
    for (mlir::Attribute object : op.getObjects())
      code.ptx = mlir::cast<mlir::gpu::ObjectAttr>(object).getObject().str();
  // The assembly ends in a NUL byte, which ptxas takes for a bad end.
  while (!code.ptx.empty() && code.ptx.back() == '\0')
    code.ptx.pop_back();
  if (code.ptx.empty())
    return absl::InternalError("the GPU kernels produced no PTX");
  size_t unresolved = code.ptx.find(".extern .func");
  if (unresolved != std::string::npos)
    return absl::FailedPreconditionError(
        "the GPU kernels call a function no library defined (" +
        code.ptx.substr(unresolved,
                        code.ptx.find('\n', unresolved) - unresolved) +
        "): no CUDA toolkit with nvvm/libdevice/libdevice.10.bc was found; "
        "install one, or set CUDA_HOME to it");
  result.llvm_ms = watch.Millis();
  watch.Restart();
  if (const char *env = std::getenv("KILN_PTXAS");
      env && !llvm::sys::fs::can_execute(env))
    return absl::FailedPreconditionError(
        std::string("KILN_PTXAS names '") + env +
        "', which is not an executable (unset it to look for ptxas in the "
        "CUDA toolkit and on the PATH)");
  if (std::string ptxas = FindPtxas(); !ptxas.empty()) {
    absl::StatusOr<std::string> cubin = Assemble(ptxas, code.ptx, code.chip);
    if (!cubin.ok())
      return cubin.status();
    code.cubin = *std::move(cubin);
  }
  result.link_ms = watch.Millis();
  result.code = SerializeCudaCode(code);
  return result;
}

} // namespace kiln
