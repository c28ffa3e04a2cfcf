//===- EmulateOnHost.cc - The kiln-cuda-emulate-on-host pass --------------===//
//
// Part of Kiln. The GPU launches of kiln-cuda-map-kernels as loops over
// their threads on the host, so that the GPU mapping is checked by running
// it, on machines without a GPU (the cuda-on-cpu target; Passes.td).
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Matmul.h"
#include "codegen/cuda/Passes.h"
#include "ir/Dialect.h"

#include "mlir/Dialect/Arith/IR/Arith.h"
#include "mlir/Dialect/Func/IR/FuncOps.h"
#include "mlir/Dialect/GPU/IR/GPUDialect.h"
#include "mlir/Dialect/Linalg/IR/Linalg.h"
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

/// A library matmul on the host: linalg on views of `buffers` that its
/// fields describe, so that running it checks them.
void emitMatmul(OpBuilder &b, Location loc, const CudaMatmul &mm,
                ValueRange buffers) {
  MLIRContext *context = b.getContext();
  Type f32 = b.getF32Type();
  auto view = [&](const CudaMatrix &x, ArrayRef<int64_t> shape,
                  ArrayRef<int64_t> strides) -> Value {
    auto type = MemRefType::get(
        shape, f32, StridedLayoutAttr::get(context, x.offset, strides));
    return b.create<memref::ReinterpretCastOp>(loc, type, buffers[x.buffer],
                                               x.offset, shape, strides);
  };
  Value a =
      view(mm.a, {mm.batch, mm.m, mm.k}, {mm.a.batch, mm.a.rows, mm.a.cols});
  Value bb =
      view(mm.b, {mm.batch, mm.k, mm.n}, {mm.b.batch, mm.b.rows, mm.b.cols});
  Value c =
      view(mm.c, {mm.batch, mm.m, mm.n}, {mm.c.batch, mm.c.rows, mm.c.cols});
  Value zero = b.create<arith::ConstantOp>(loc, b.getF32FloatAttr(0));
  if (!mm.accumulate)
    b.create<linalg::FillOp>(loc, zero, c);
  AffineExpr i, m, n, k;
  bindDims(context, i, m, n, k);
  auto par = utils::IteratorType::parallel;
  b.create<linalg::GenericOp>(
      loc, ValueRange{a, bb}, ValueRange{c},
      ArrayRef<AffineMap>{AffineMap::get(4, 0, {i, m, k}, context),
                          AffineMap::get(4, 0, {i, k, n}, context),
                          AffineMap::get(4, 0, {i, m, n}, context)},
      ArrayRef<utils::IteratorType>{par, par, par,
                                    utils::IteratorType::reduction},
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value product = nb.create<arith::MulFOp>(loc, args[0], args[1]);
        nb.create<linalg::YieldOp>(
            loc, ValueRange{nb.create<arith::AddFOp>(loc, args[2], product)});
      });
  if (mm.bias.buffer < 0 && !mm.relu)
    return;
  SmallVector<Value> inputs;
  SmallVector<AffineMap> maps;
  bindDims(context, i, m, n);
  if (mm.bias.buffer >= 0) {
    auto type = MemRefType::get(
        {mm.n}, f32, StridedLayoutAttr::get(context, mm.bias.offset, {1}));
    inputs.push_back(b.create<memref::ReinterpretCastOp>(
        loc, type, buffers[mm.bias.buffer], mm.bias.offset,
        ArrayRef<int64_t>{mm.n}, ArrayRef<int64_t>{1}));
    maps.push_back(AffineMap::get(3, 0, {n}, context));
  }
  maps.push_back(AffineMap::getMultiDimIdentityMap(3, context));
  b.create<linalg::GenericOp>(
      loc, inputs, ValueRange{c}, maps,
      SmallVector<utils::IteratorType>(3, par),
      [&](OpBuilder &nb, Location loc, ValueRange args) {
        Value x = args.back();
        if (args.size() == 2)
          x = nb.create<arith::AddFOp>(loc, x, args[0]);
        if (mm.relu)
          x = nb.create<arith::MaximumFOp>(loc, x, zero);
        nb.create<linalg::YieldOp>(loc, x);
      });
}

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
    // The globals come back to the module.
    for (auto global :
         llvm::make_early_inc_range(gpuModule.getOps<memref::GlobalOp>()))
      global->moveBefore(module.getBody(), module.getBody()->end());
    llvm::StringMap<func::FuncOp> hosts;
    for (Attribute a : launches) {
      ArrayRef<Attribute> fields = cast<ArrayAttr>(a).getValue();
      StringRef kernel = cast<StringAttr>(fields[0]).getValue();
      func::FuncOp &host = hosts[kernel];
      if (!host) {
        // kiln-cuda-map-kernels left the kernel's declaration (the CPU
        // calling convention: buffers, then the tile range).
        host = module.lookupSymbol<func::FuncOp>(kernel);
        if (!host || !host.isExternal()) {
          module.emitError("kiln.launches names kernel '")
              << kernel << "', which has no declaration";
          return signalPassFailure();
        }
        host.setPublic();
        OpBuilder::atBlockEnd(host.addEntryBlock())
            .create<func::ReturnOp>(host.getLoc());
      }
      Block &entry = host.getBody().front();
      if (fields.size() == 5) {
        std::optional<CudaMatmul> mm = matmulFromAttr(fields[4]);
        ValueRange buffers = entry.getArguments().drop_back(2);
        if (!mm ||
            llvm::any_of(ArrayRef<CudaMatrix>{mm->a, mm->b, mm->c, mm->bias},
                         [&](const CudaMatrix &x) {
                           return x.buffer >=
                                  static_cast<int64_t>(buffers.size());
                         })) {
          module.emitError("kiln.launches has a bad matmul in kernel '")
              << kernel << "'";
          return signalPassFailure();
        }
        OpBuilder b(entry.getTerminator());
        emitMatmul(b, host.getLoc(), *mm, buffers);
        continue;
      }
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
      if (threads == 0)
        continue;
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
