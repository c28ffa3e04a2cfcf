// RUN: graph-opt %s --kiln-lower-to-llvm | FileCheck %s
// RUN: graph-opt %s --kiln-lower-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// The whole pipeline: @main takes one bare pointer per feed, then one per
// fetch, and returns nothing; temporaries live in one planned arena, one
// malloc and one free per call.
// CHECK-LABEL: llvm.func @main
// CHECK-SAME: (%{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr, %{{.*}}: !llvm.ptr)
// CHECK-SAME: kiln.arena_bytes = 128 : i64, kiln.arena_lower_bound = 128 : i64, kiln.unplanned_bytes = 192 : i64} {
// CHECK-NOT: kiln.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK: llvm.call @malloc
// CHECK-NOT: llvm.call @malloc
// CHECK: llvm.call @free
// LLVM: define void @main(ptr %0, ptr %1, ptr %2)
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  %1 = kiln.tanh %0 : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %2 = kiln.softmax %1 : (tensor<4x2xf32>) -> tensor<4x2xf32>
  return %2 : tensor<4x2xf32>
}
