// RUN: graph-opt %s --kiln-cuda-map-kernels --split-input-file | FileCheck %s
// RUN: graph-opt %s --kiln-cuda-map-kernels=library-calls=false \
// RUN:   --split-input-file | FileCheck %s --check-prefix=OFF
// RUN: graph-opt %s --kiln-cuda-map-kernels=allow-tf32 --split-input-file \
// RUN:   | FileCheck %s --check-prefix=TF32

// An f32 matmul on the kernel's buffers is a library call (cuBLASLt), not
// a generated kernel: [kernel, name, 0, 1, fields], the fields batch, m,
// n, k; A, B, C, bias as buffer, offset, batch, rows, cols; relu;
// accumulate; tf32 (codegen/cuda/Matmul.h), 1 only with allow-tf32. Its zero fill and its bias and ReLU
// epilogue in place fold into it; the kernel stays declared.
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.launches = {{\[}}["k0_dense", "k0_dense_0_matmul", 0, 1, [1, 2, 3, 4, 1, 0, 0, 4, 1, 2, 0, 0, 3, 1, 0, 0, 0, 3, 1, 3, 0, 0, 0, 1, 1, 0, 0]]]
// CHECK: func.func private @k0_dense(memref<2x3xf32> {llvm.noalias}, memref<2x4xf32> {llvm.noalias}, memref<4x3xf32> {llvm.noalias}, memref<3xf32> {llvm.noalias}, index, index)
// CHECK: gpu.module @kiln_kernels
// CHECK-NOT: gpu.func
// TF32-LABEL: module attributes
// TF32-SAME: kiln.launches = {{\[}}["k0_dense", "k0_dense_0_matmul", 0, 1, [1, 2, 3, 4, 1, 0, 0, 4, 1, 2, 0, 0, 3, 1, 0, 0, 0, 3, 1, 3, 0, 0, 0, 1, 1, 0, 1]]]
// OFF-LABEL: module attributes
// OFF-SAME: kiln.launches = {{\[}}["k0_dense", "k0_dense_0", 6, 6]]
// OFF: gpu.func @k0_dense_0
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
module {
  func.func @k0_dense(%out: memref<2x3xf32> {llvm.noalias}, %x: memref<2x4xf32> {llvm.noalias}, %w: memref<4x3xf32> {llvm.noalias}, %bias: memref<3xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%out : memref<2x3xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<2x4xf32>, memref<4x3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%out, %bias : memref<2x3xf32>, memref<3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %o: f32):
      %s = arith.addf %p, %q : f32
      %r = arith.maximumf %s, %zero : f32
      linalg.yield %r : f32
    }
    return
  }
}

// -----

// The epilogue writes another buffer: the matmul writes that one instead
// when C is the kernel's own (kiln.local) and nothing else uses it (C is
// buffer 4 of 5, the epilogue's output buffer 0). B is stored transposed
// (its rows 1 apart, its columns 4): its rows field is 1, its cols 4.
// CHECK-LABEL: module attributes
// CHECK-SAME: ["k0_redirect", "k0_redirect_0_matmul", 0, 1, [1, 2, 3, 4, 1, 0, 0, 4, 1, 2, 0, 0, 1, 4, 0, 0, 0, 3, 1, 3, 0, 0, 0, 1, 0, 0, 0]]
// CHECK-NOT: gpu.func
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#bt = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
module {
  func.func @k0_redirect(%out: memref<2x3xf32> {llvm.noalias}, %x: memref<2x4xf32> {llvm.noalias}, %w: memref<3x4xf32> {llvm.noalias}, %bias: memref<3xf32> {llvm.noalias}, %tmp: memref<2x3xf32> {kiln.local, llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%tmp : memref<2x3xf32>)
    linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<2x4xf32>, memref<3x4xf32>) outs(%tmp : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%tmp, %bias : memref<2x3xf32>, memref<3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %o: f32):
      %s = arith.addf %p, %q : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// Must not change: C is not the kernel's own (another kernel may read
// it), so the matmul writes it and the epilogue is a kernel of its own;
// and a matmul whose B is a constant global (no buffer for the call) is a
// generated kernel.
// CHECK-LABEL: module attributes
// CHECK-SAME: ["k0_kept", "k0_kept_0_matmul", 0, 1, [1, 2, 3, 4, 1, 0, 0, 4, 1, 2, 0, 0, 3, 1, 4, 0, 0, 3, 1, -1, 0, 0, 0, 0, 0, 0, 0]], ["k0_kept", "k0_kept_1", 6, 6], ["k1_global", "k1_global_0", 6, 6]]
// CHECK: gpu.func @k0_kept_1
// CHECK: gpu.func @k1_global_0
// CHECK: arith.mulf
#a = affine_map<(d0, d1, d2) -> (d0, d2)>
#b = affine_map<(d0, d1, d2) -> (d2, d1)>
#c = affine_map<(d0, d1, d2) -> (d0, d1)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
#col = affine_map<(d0, d1) -> (d1)>
module {
  memref.global "private" constant @w : memref<4x3xf32> = dense<1.0>
  func.func @k0_kept(%out: memref<2x3xf32> {llvm.noalias}, %x: memref<2x4xf32> {llvm.noalias}, %w: memref<4x3xf32> {llvm.noalias}, %bias: memref<3xf32> {llvm.noalias}, %tmp: memref<2x3xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%tmp : memref<2x3xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<2x4xf32>, memref<4x3xf32>) outs(%tmp : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#id2, #col, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%tmp, %bias : memref<2x3xf32>, memref<3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %o: f32):
      %s = arith.addf %p, %q : f32
      linalg.yield %s : f32
    }
    return
  }
  func.func @k1_global(%out: memref<2x3xf32> {llvm.noalias}, %x: memref<2x4xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    %w = memref.get_global @w : memref<4x3xf32>
    linalg.fill ins(%zero : f32) outs(%out : memref<2x3xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<2x4xf32>, memref<4x3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// Batch dimensions: [1, 2, 3] of which the one of one element is dropped
// and the two others (laid out alike in A, B and C) merge into a batch of
// 6 items, A's 12 elements apart, B's 20 and C's 15. C += A B without a
// fill accumulates (the last field).
// CHECK-LABEL: module attributes
// CHECK-SAME: ["k0_batch", "k0_batch_0_matmul", 0, 1, [6, 3, 5, 4, 1, 0, 12, 4, 1, 2, 0, 20, 5, 1, 0, 0, 15, 5, 1, -1, 0, 0, 0, 0, 0, 1, 0]]
#a = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d5)>
#b = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d5, d4)>
#c = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3, d4)>
module {
  func.func @k0_batch(%out: memref<1x2x3x3x5xf32> {llvm.noalias}, %x: memref<1x2x3x3x4xf32> {llvm.noalias}, %y: memref<1x2x3x4x5xf32> {llvm.noalias}, %first: index, %end: index) {
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
        ins(%x, %y : memref<1x2x3x3x4xf32>, memref<1x2x3x4x5xf32>) outs(%out : memref<1x2x3x3x5xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// A batch that shares B, its items of A and C one after the other, is one
// matmul of 2 x 3 = 6 rows.
// CHECK-LABEL: module attributes
// CHECK-SAME: ["k0_rows", "k0_rows_0_matmul", 0, 1, [1, 6, 5, 4, 1, 0, 0, 4, 1, 2, 0, 0, 5, 1, 0, 0, 0, 5, 1, -1, 0, 0, 0, 0, 0, 0, 0]]
#a = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
module {
  func.func @k0_rows(%out: memref<2x3x5xf32> {llvm.noalias}, %x: memref<2x3x4xf32> {llvm.noalias}, %w: memref<4x5xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%out : memref<2x3x5xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<2x3x4xf32>, memref<4x5xf32>) outs(%out : memref<2x3x5xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// A operand broadcast along the batch (its map reads the batch's
// dimension of one element at 0): batch stride 0. A column result (n = 1)
// is row-major with its row stride; B, a column too, reads as transposed
// (rows 1 apart, a leading dimension of 4).
// CHECK-LABEL: module attributes
// CHECK-SAME: ["k0_bcast", "k0_bcast_0_matmul", 0, 1, [2, 3, 5, 4, 1, 0, 0, 4, 1, 2, 0, 20, 5, 1, 0, 0, 15, 5, 1, -1, 0, 0, 0, 0, 0, 0, 0]]
// CHECK-SAME: ["k1_column", "k1_column_0_matmul", 0, 1, [1, 3, 1, 4, 1, 0, 0, 4, 1, 2, 0, 0, 1, 4, 0, 0, 0, 1, 1, -1, 0, 0, 0, 0, 0, 0, 0]]
#a = affine_map<(d0, d1, d2, d3) -> (0, d1, d3)>
#b = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
#c = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
#a2 = affine_map<(d0, d1, d2) -> (d0, d2)>
#b2 = affine_map<(d0, d1, d2) -> (d2, d1)>
#c2 = affine_map<(d0, d1, d2) -> (d0, d1)>
module {
  func.func @k0_bcast(%out: memref<2x3x5xf32> {llvm.noalias}, %x: memref<1x3x4xf32> {llvm.noalias}, %w: memref<2x4x5xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%out : memref<2x3x5xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<1x3x4xf32>, memref<2x4x5xf32>) outs(%out : memref<2x3x5xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    return
  }
  func.func @k1_column(%out: memref<3x1xf32> {llvm.noalias}, %x: memref<3x4xf32> {llvm.noalias}, %w: memref<4x1xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%out : memref<3x1xf32>)
    linalg.generic {indexing_maps = [#a2, #b2, #c2], iterator_types = ["parallel", "parallel", "reduction"]}
        ins(%x, %w : memref<3x4xf32>, memref<4x1xf32>) outs(%out : memref<3x1xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    return
  }
}
