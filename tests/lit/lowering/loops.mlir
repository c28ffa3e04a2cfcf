// RUN: graph-opt %s --split-input-file --kiln-plan-memory --convert-linalg-to-affine-loops --affine-loop-invariant-code-motion | FileCheck %s

// The loop steps of Kiln's pipeline after its memory plan. The planner
// turns a matmul's operands into views of one arena; views are distinct
// memrefs, which MLIR takes not to alias, so A[i, k] still leaves the loop
// over j. LLVM could not hoist it once the views are pointers into one
// allocation, and would not vectorize the loop.
// CHECK-LABEL: func.func @invariant_load_hoisted
// CHECK-SAME: %[[ARENA:[^:]*]]: memref<{{[0-9]+}}xi8> {kiln.arena}
// CHECK: %[[A:.*]] = memref.view %[[ARENA]]{{.*}} to memref<4x8xf32>
// CHECK: %[[B:.*]] = memref.view %[[ARENA]]{{.*}} to memref<8x16xf32>
// CHECK: affine.for %[[I:.*]] = 0 to 4 {
// CHECK-NEXT: affine.for %[[K:.*]] = 0 to 8 {
// CHECK-NEXT: %[[LA:.*]] = affine.load %[[A]][%[[I]], %[[K]]]
// CHECK-NEXT: affine.for %[[J:.*]] = 0 to 16 {
// CHECK-NOT: affine.load %[[A]]
// CHECK: affine.load %[[B]][%[[K]], %[[J]]]
// CHECK: arith.mulf %[[LA]]
#a = affine_map<(i, k, j) -> (i, k)>
#b = affine_map<(i, k, j) -> (k, j)>
#c = affine_map<(i, k, j) -> (i, j)>
func.func @invariant_load_hoisted(%x: memref<4x8xf32>, %y: memref<8x16xf32>, %out: memref<4x16xf32>) {
  %a = memref.alloc() : memref<4x8xf32>
  memref.copy %x, %a : memref<4x8xf32> to memref<4x8xf32>
  %b = memref.alloc() : memref<8x16xf32>
  memref.copy %y, %b : memref<8x16xf32> to memref<8x16xf32>
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<4x8xf32>, memref<8x16xf32>) outs(%out : memref<4x16xf32>) {
  ^bb0(%v: f32, %w: f32, %acc: f32):
    %p = arith.mulf %v, %w : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  memref.dealloc %a : memref<4x8xf32>
  memref.dealloc %b : memref<8x16xf32>
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
