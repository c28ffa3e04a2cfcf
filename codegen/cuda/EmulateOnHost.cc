//===- EmulateOnHost.cc - The kiln-cuda-emulate-on-host pass --------------===//
//
// Part of Kiln. The GPU launches of kiln-cuda-map-kernels as loops over
// their threads on the host, so that the GPU mapping is checked by running
// it, on machines without a GPU (the cuda-on-cpu target; Passes.td).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/MemRef/IR/MemRef.h"
#include "mlir/Dialect/SCF/IR/SCF.h"
#include "mlir/IR/IRMapping.h"

namespace kiln {
#define GEN_PASS_DEF_CUDAEMULATEONHOST
#include "codegen/cuda/Passes.h.inc"
} // namespace kiln

using namespace mlir;

namespace kiln {
namespace {

struct CudaEmulateOnHostPass
    : public impl::CudaEmulateOnHostBase<CudaEmulateOnHostPass> {
  void runOnOperation() override {
    ModuleOp module = getOperation();
    auto gpuModule = module.lookupSymbol<gpu::GPUModuleOp>(kCudaKernelModule);
    auto launches =
        module->getAttrOfType<ArrayAttr>(KilnDialect::kLaunchesAttr);
    if (!gpuModule || !launches) {
      module.emitError("kiln-cuda-emulate-on-host runs after "
                       "kiln-cuda-map-kernels");
      return signalPassFailure();
    }
    OpBuilder top = OpBuilder::atBlockEnd(module.getBody());
    // The globals come back to the module.
    for (auto global :
         llvm::make_early_inc_range(gpuModule.getOps<memref::GlobalOp>()))
      global->moveBefore(module.getBody(), module.getBody()->end());
    llvm::StringMap<func::FuncOp> hosts;
    for (Attribute a : launches) {
      ArrayRef<Attribute> fields = cast<ArrayAttr>(a).getValue();
      StringRef kernel = cast<StringAttr>(fields[0]).getValue();
      auto launch = gpuModule.lookupSymbol<gpu::GPUFuncOp>(
          cast<StringAttr>(fields[1]).getValue());
      if (!launch) {
        module.emitError("kiln.launches names '")
            << cast<StringAttr>(fields[1]).getValue()
            << "', which is not a gpu.func of @" << kCudaKernelModule;
        return signalPassFailure();
      }
      int64_t threads = cast<IntegerAttr>(fields[2]).getInt();
      int64_t block = cast<IntegerAttr>(fields[3]).getInt();
      Location loc = launch.getLoc();
      func::FuncOp &host = hosts[kernel];
      if (!host) {
        // The CPU calling convention: buffers, then the tile range.
        SmallVector<Type> types(launch.getArgumentTypes());
        types.append(2, top.getIndexType());
        host = top.create<func::FuncOp>(loc, kernel,
                                        top.getFunctionType(types, {}));
        OpBuilder::atBlockEnd(host.addEntryBlock()).create<func::ReturnOp>(loc);
      }
      if (threads == 0)
        continue;
      Block &entry = host.getBody().front();
      OpBuilder b(entry.getTerminator());
      Value zero = b.create<arith::ConstantIndexOp>(loc, 0);
      Value one = b.create<arith::ConstantIndexOp>(loc, 1);
      Value size = b.create<arith::ConstantIndexOp>(loc, block);
      // Whole blocks, as the GPU runs them: the last may pass `threads`.
      Value total = b.create<arith::ConstantIndexOp>(
          loc, (threads + block - 1) / block * block);
      auto loop = b.create<scf::ForOp>(loc, zero, total, one);
      b.setInsertionPoint(loop.getBody()->getTerminator());
      Value t = loop.getInductionVar();
      Value blockId = b.create<arith::DivUIOp>(loc, t, size);
      Value threadId = b.create<arith::RemUIOp>(loc, t, size);
      IRMapping map;
      for (auto [from, to] :
           llvm::zip(launch.getArguments(), entry.getArguments()))
        map.map(from, to);
      Region &body = launch.getBody();
      if (!llvm::hasSingleElement(body)) {
        launch.emitError("a GPU launch of more than one block");
        return signalPassFailure();
      }
      for (Operation &op : body.front()) {
        if (isa<gpu::ReturnOp>(op))
          continue;
        Value replacement;
        if (auto id = dyn_cast<gpu::BlockIdOp>(op))
          replacement = id.getDimension() == gpu::Dimension::x ? blockId : zero;
        else if (auto id = dyn_cast<gpu::ThreadIdOp>(op))
          replacement =
              id.getDimension() == gpu::Dimension::x ? threadId : zero;
        else if (auto dim = dyn_cast<gpu::BlockDimOp>(op))
          replacement = dim.getDimension() == gpu::Dimension::x ? size : one;
        if (replacement) {
          map.map(op.getResult(0), replacement);
          continue;
        }
        b.clone(op, map);
      }
    }
    gpuModule.erase();
    module->removeAttr(KilnDialect::kLaunchesAttr);
    module->removeAttr(gpu::GPUDialect::getContainerModuleAttrName());
  }
};

} // namespace
} // namespace kiln
