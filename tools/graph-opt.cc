//===- graph-opt.cc - Kiln's pass driver for IR tests ---------------------===//
//
// Part of Kiln. mlir-opt with the kiln dialect, the dialects Kiln lowers
// through, and Kiln's passes registered explicitly.
//
//===----------------------------------------------------------------------===//
#include "codegen/Pipeline.h"
#include "codegen/common/Passes.h"
#include "codegen/cpu/Passes.h"
#include "codegen/cuda/Passes.h"
#include "passes/Passes.h"

#include "mlir/Dialect/Affine/Passes.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/Passes.h"
#include "mlir/Pass/PassRegistry.h"
#include "mlir/Tools/mlir-opt/MlirOptMain.h"
#include "mlir/Transforms/Passes.h"

int main(int argc, char **argv) {
  mlir::DialectRegistry registry;
  kiln::RegisterPipelineDialects(registry);
  kiln::registerKilnPasses();
  kiln::registerKilnCodegenPasses();
  kiln::registerKilnCpuPasses();
  kiln::registerKilnCudaPasses();
  registry.insert<mlir::gpu::GPUDialect>();
  mlir::registerCanonicalizerPass();
  mlir::registerCSEPass();
  // The loop steps of Kiln's pipeline, for tests of them on their own.
  mlir::registerConvertLinalgToAffineLoopsPass();
  mlir::affine::registerAffineLoopInvariantCodeMotion();
  mlir::PassPipelineRegistration<>(
      "kiln-lower-to-kernels",
      "Kiln's pipeline to outlined kernels and @main as the launch plan",
      [](mlir::OpPassManager &pm) {
        kiln::BuildPipeline(pm, kiln::PipelineOptions(), kiln::Stage::kKernels);
      });
  mlir::PassPipelineRegistration<>(
      "kiln-lower-to-llvm", "Kiln's whole pipeline down to the LLVM dialect",
      [](mlir::OpPassManager &pm) {
        kiln::BuildPipeline(pm, kiln::PipelineOptions());
      });
  return mlir::asMainReturnCode(
      mlir::MlirOptMain(argc, argv, "Kiln pass driver\n", registry));
}
