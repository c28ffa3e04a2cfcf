//===- Matmul.cc - Library matmuls in kiln.launches -----------------------===//
//
// Part of Kiln.
//
//===----------------------------------------------------------------------===//
#include "codegen/cuda/Matmul.h"

#include "mlir/IR/BuiltinAttributes.h"

namespace kiln {
namespace {

constexpr size_t kFields = 4 + 4 * 5 + 3;

} // namespace

mlir::ArrayAttr matmulToAttr(mlir::Builder &b, const CudaMatmul &mm) {
  llvm::SmallVector<int64_t> v = {mm.batch, mm.m, mm.n, mm.k};
  for (const CudaMatrix *x : {&mm.a, &mm.b, &mm.c, &mm.bias})
    v.append({x->buffer, x->offset, x->batch, x->rows, x->cols});
  v.append({mm.relu, mm.accumulate, mm.tf32});
  llvm::SmallVector<mlir::Attribute> attrs;
  for (int64_t x : v)
    attrs.push_back(b.getI64IntegerAttr(x));
  return b.getArrayAttr(attrs);
}

std::optional<CudaMatmul> matmulFromAttr(mlir::Attribute attr) {
  auto array = mlir::dyn_cast_or_null<mlir::ArrayAttr>(attr);
  if (!array || array.size() != kFields)
    return std::nullopt;
  llvm::SmallVector<int64_t> v;
  for (mlir::Attribute a : array) {
    auto i = mlir::dyn_cast<mlir::IntegerAttr>(a);
    if (!i)
      return std::nullopt;
    v.push_back(i.getInt());
  }
  CudaMatmul mm;
  mm.batch = v[0];
  mm.m = v[1];
  mm.n = v[2];
  mm.k = v[3];
  size_t at = 4;
  for (CudaMatrix *x : {&mm.a, &mm.b, &mm.c, &mm.bias}) {
    x->buffer = static_cast<int32_t>(v[at]);
    x->offset = v[at + 1];
    x->batch = v[at + 2];
    x->rows = v[at + 3];
    x->cols = v[at + 4];
    at += 5;
  }
  mm.relu = v[at] != 0;
  mm.accumulate = v[at + 1] != 0;
  mm.tf32 = v[at + 2] != 0;
  return mm;
}

} // namespace kiln
