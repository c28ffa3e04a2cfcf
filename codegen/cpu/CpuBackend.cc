//===- CpuBackend.cc - The host CPU as a target ---------------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/cpu/CpuBackend.h"

#include "codegen/PipelineOptions.h"
#include "codegen/cpu/MachineCode.h"
#include "codegen/cpu/Passes.h"

#include "mlir/Conversion/AffineToStandard/AffineToStandard.h"
#include "mlir/Conversion/ArithToLLVM/ArithToLLVM.h"
#include "mlir/Conversion/ControlFlowToLLVM/ControlFlowToLLVM.h"
#include "mlir/Conversion/FuncToLLVM/ConvertFuncToLLVMPass.h"
#include "mlir/Conversion/IndexToLLVM/IndexToLLVM.h"
#include "mlir/Conversion/MathToLLVM/MathToLLVM.h"
#include "mlir/Conversion/MathToLibm/MathToLibm.h"
#include "mlir/Conversion/MemRefToLLVM/MemRefToLLVM.h"
#include "mlir/Conversion/ReconcileUnrealizedCasts/ReconcileUnrealizedCasts.h"
#include "mlir/Conversion/SCFToControlFlow/SCFToControlFlow.h"
#include "mlir/Conversion/VectorToLLVM/ConvertVectorToLLVMPass.h"
#include "mlir/Dialect/Affine/Passes.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Dialect/MemRef/Transforms/Passes.h"
#include "mlir/IR/BuiltinOps.h"
#include "mlir/Pass/PassManager.h"
#include "runtime/stopwatch.h"

#include <algorithm>
#include <thread>

namespace kiln {

namespace {

CpuTargetOptions TargetOf(const PipelineOptions &options) {
  return CpuTargetOptions{options.target_triple, options.target_cpu};
}

/// The width in bits and the number of the target's vector registers.
std::pair<int64_t, int64_t> VectorRegisters(const PipelineOptions &options) {
  absl::StatusOr<TargetDescription> target =
      DescribeCpuTarget(TargetOf(options));
  if (!target.ok())
    return {128, 16}; // The error is reported where the code is made.
  auto has = [&](const char *feature) {
    return llvm::is_contained(target->features, feature);
  };
  if (llvm::StringRef(target->triple).starts_with("aarch64"))
    return {128, 32};
  if (has("avx512f"))
    return {512, 32};
  if (has("avx2") || has("avx"))
    return {256, 16};
  return {128, 16};
}

} // namespace

void CpuBackend::addTensorPasses(mlir::OpPassManager &pm,
                                 const PipelineOptions &options) const {
  pm.addNestedPass<mlir::func::FuncOp>(createCpuOutputChannelsLast());
  pm.addNestedPass<mlir::func::FuncOp>(
      createCpuDeinterleaveStridedConvolutions());
  pm.addNestedPass<mlir::func::FuncOp>(createCpuTileFusions());
  pm.addNestedPass<mlir::func::FuncOp>(createCpuOrderLoops());
  // Constant right-hand matrices as panels as wide as a microkernel block.
  CpuPackWeightsOptions pack;
  auto [bits, registers] = VectorRegisters(options);
  pack.panelBits = bits * panelVectors(registers);
  pm.addNestedPass<mlir::func::FuncOp>(createCpuPackWeights(pack));
}

void CpuBackend::addKernelPasses(mlir::OpPassManager &pm,
                                 const PipelineOptions &options) const {
  // Contractions first become register-blocked vector code sized for the
  // target's vector registers; the rest lowers to scalar loops.
  CpuVectorizeContractionsOptions vectorize;
  std::tie(vectorize.vectorBits, vectorize.vectorRegisters) =
      VectorRegisters(options);
  vectorize.chunkBytes = reductionChunkBytes(vectorize.vectorBits);
  pm.addNestedPass<mlir::func::FuncOp>(
      createCpuVectorizeContractions(vectorize));
  pm.addNestedPass<mlir::func::FuncOp>(createCpuVectorizeTransposes());
  pm.addNestedPass<mlir::func::FuncOp>(createCpuReassociateReductions());
  pm.addNestedPass<mlir::func::FuncOp>(createCpuApproximateMath());
  // Affine loops first, so that a load whose address does not change in a
  // loop (a matmul's A[i, k] in its loop over j) moves out of it; a load
  // LLVM cannot hoist keeps the loop from being vectorized. Affine LICM
  // takes distinct memref values not to alias. That holds because a loop
  // nest's buffers are distinct arena slots, feeds, fetches or constants,
  // except an in-place elementwise kernel's input and output, which it
  // reads and writes at the same index. (Kernels that merge loop nests
  // over reused bytes must keep this true.) What affine loops cannot
  // express goes to scf loops.
  pm.addNestedPass<mlir::func::FuncOp>(
      mlir::createConvertLinalgToAffineLoopsPass());
  pm.addNestedPass<mlir::func::FuncOp>(
      mlir::affine::createAffineLoopInvariantCodeMotionPass());
  pm.addNestedPass<mlir::func::FuncOp>(mlir::createConvertLinalgToLoopsPass());
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createConvertSCFToCFPass());
  pm.addPass(mlir::memref::createExpandStridedMetadataPass());
  pm.addPass(mlir::createLowerAffinePass());
  pm.addPass(mlir::createConvertVectorToLLVMPass());
  pm.addPass(mlir::createFinalizeMemRefToLLVMConversionPass());
  pm.addPass(mlir::createConvertMathToLLVMPass());
  pm.addPass(mlir::createConvertMathToLibmPass());
  pm.addPass(mlir::createArithToLLVMConversionPass());
  pm.addPass(mlir::createConvertIndexToLLVMPass());
  pm.addPass(mlir::createConvertControlFlowToLLVMPass());
  // The calling convention: a kernel takes its buffers' base pointers and
  // its tile range (runtime/executable.h's KernelFn).
  mlir::ConvertFuncToLLVMPassOptions func_options;
  func_options.useBarePtrCallConv = true;
  pm.addPass(mlir::createConvertFuncToLLVMPass(func_options));
  pm.addPass(mlir::createReconcileUnrealizedCastsPass());
}

absl::StatusOr<TargetDescription>
CpuBackend::describeTarget(const PipelineOptions &options) const {
  return DescribeCpuTarget(TargetOf(options));
}

absl::StatusOr<TargetCode>
CpuBackend::produceCode(mlir::ModuleOp module, const LaunchPlan &plan,
                        const PipelineOptions &options,
                        const CodeRequest &request) const {
  std::vector<ObjectData> data;
  for (const auto &[symbol, bytes] : request.data)
    data.push_back(ObjectData{symbol, bytes});
  TargetCode result;
  Stopwatch watch;
  // A shared object's kernels compile on every core; an object for a
  // program is one piece, its symbols local.
  unsigned partitions =
      request.object ? 1 : std::max(1u, std::thread::hardware_concurrency());
  absl::StatusOr<std::vector<std::string>> objects =
      EmitObjects(module, plan.kernels, request.symbol_prefix,
                  TargetOf(options), data, partitions);
  if (!objects.ok())
    return objects.status();
  result.llvm_ms = watch.Millis();
  if (request.object) {
    result.code = std::move(objects->front());
    return result;
  }
  watch.Restart();
  absl::StatusOr<std::string> library = LinkSharedObject(*objects);
  if (!library.ok())
    return library.status();
  result.link_ms = watch.Millis();
  result.code = *std::move(library);
  return result;
}

} // namespace kiln
