// RUN: graph-opt %s --split-input-file --convert-linalg-to-affine-loops --affine-loop-invariant-code-motion | FileCheck %s

// The loop steps of Kiln's pipeline. Buffers planned in one arena are
// distinct memrefs (views), which MLIR takes not to alias, so a matmul's
// A[i, k] load leaves the loop over j; LLVM could not hoist it once the
// views are pointers into one allocation, and would not vectorize the loop.
// CHECK-LABEL: func.func @invariant_load_hoisted
// CHECK: affine.for %[[I:.*]] = 0 to 4 {
// CHECK-NEXT: affine.for %[[K:.*]] = 0 to 8 {
// CHECK-NEXT: %[[A:.*]] = affine.load %{{.*}}[%[[I]], %[[K]]]
// CHECK-NEXT: affine.for %[[J:.*]] = 0 to 16 {
// CHECK-NOT: affine.load %{{.*}}[%[[I]], %[[K]]]
// CHECK: arith.mulf %[[A]]
#a = affine_map<(i, k, j) -> (i, k)>
#b = affine_map<(i, k, j) -> (k, j)>
#c = affine_map<(i, k, j) -> (i, j)>
func.func @invariant_load_hoisted(%out: memref<4x16xf32>) {
  %arena = memref.alloc() : memref<1024xi8>
  %c0 = arith.constant 0 : index
  %c128 = arith.constant 128 : index
  %a = memref.view %arena[%c0][] : memref<1024xi8> to memref<4x8xf32>
  %b = memref.view %arena[%c128][] : memref<1024xi8> to memref<8x16xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%out : memref<4x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  memref.dealloc %arena : memref<1024xi8>
  return
}

// -----

// Must not move: a load from the buffer the loop stores to.
// CHECK-LABEL: func.func @stored_buffer_stays
// CHECK: affine.for
// CHECK-NEXT: affine.for
// CHECK-NEXT: affine.load %{{.*}} : memref<4x16xf32>
// CHECK-NEXT: affine.load %{{.*}} : memref<16xf32>
// CHECK: affine.store
#r = affine_map<(i, j) -> (j)>
#s = affine_map<(i, j) -> (i, j)>
func.func @stored_buffer_stays(%x: memref<4x16xf32>, %acc: memref<16xf32>) {
  linalg.generic {indexing_maps = [#s, #r], iterator_types = ["reduction", "parallel"]}
      ins(%x : memref<4x16xf32>) outs(%acc : memref<16xf32>) {
  ^bb0(%v: f32, %a: f32):
    %s = arith.addf %a, %v : f32
    linalg.yield %s : f32
  }
  return
}
