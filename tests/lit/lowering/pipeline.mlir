// RUN: graph-opt %s --kiln-lower-to-llvm | FileCheck %s
// RUN: graph-opt %s --kiln-lower-to-llvm | mlir-translate --mlir-to-llvmir | FileCheck %s --check-prefix=LLVM

// The whole pipeline: what reaches LLVM is the kernels, @main (the launch
// plan) having left the module. Each kernel takes one bare pointer per
// buffer (noalias where it shares no byte with another, 64-byte aligned
// when it is in the arena or the constants region), then the first
// and the end tile of its grid, and allocates nothing: temporaries are
// views of the caller's arena.
// CHECK-NOT: llvm.func @main
// CHECK-LABEL: llvm.func @k0_kernel
// CHECK-SAME: (%{{.*}}: !llvm.ptr {llvm.align = 64 : i64, llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: i64, %{{.*}}: i64)
// The softmax writes the fetch (no copy kernel); tanh reads the matmul's
// result once, so the row maxima reuse its bytes: those two buffers are
// not noalias. The row maxima are the kernel's own (kiln.local).
// CHECK-LABEL: llvm.func @k1_fusion_0_softmax_tanh
// CHECK-SAME: (%{{.*}}: !llvm.ptr {llvm.align = 64 : i64}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {kiln.local, llvm.align = 64 : i64}, %{{.*}}: i64, %{{.*}}: i64)
// CHECK-NOT: llvm.func @k2
// CHECK-NOT: = kiln.
// CHECK-NOT: linalg.
// CHECK-NOT: memref.
// CHECK-NOT: llvm.call @malloc
// CHECK-NOT: llvm.func @main
// LLVM: define void @k0_kernel(ptr noalias align 64 %0, ptr noalias %1, ptr noalias %2, i64 %3, i64 %4)
// LLVM-NOT: @malloc
func.func @main(%x: tensor<4x8xf32>, %w: tensor<8x2xf32>) -> tensor<4x2xf32> {
  %0 = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x2xf32>) -> tensor<4x2xf32>
  %1 = kiln.tanh %0 : (tensor<4x2xf32>) -> tensor<4x2xf32>
  %2 = kiln.softmax %1 : (tensor<4x2xf32>) -> tensor<4x2xf32>
  return %2 : tensor<4x2xf32>
}
