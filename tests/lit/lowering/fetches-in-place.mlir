// RUN: graph-opt %s --split-input-file --kiln-fetches-in-place | FileCheck %s

// A result computed in an allocated buffer and copied into its
// out-parameter is computed in the out-parameter: no alloc, no copy.
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[Y:.*]]: memref<4xf32>)
// CHECK-NOT: memref.alloc
// CHECK: linalg.generic {{.*}} ins(%[[X]] : memref<4xf32>) outs(%[[Y]] : memref<4xf32>)
// CHECK-NOT: memref.copy
// CHECK: return
#id = affine_map<(d0) -> (d0)>
func.func @in_place(%x: memref<4xf32>, %y: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%x : memref<4xf32>) outs(%a : memref<4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  }
  memref.copy %a, %y : memref<4xf32> to memref<4xf32>
  return
}

// -----

// Kept: a fed result (the source is an argument), a buffer used after its
// copy, and one of two fetches of one buffer: the buffer becomes the last
// fetch (nothing uses it after that copy), and the earlier fetch copies it.
// CHECK-LABEL: func.func @kept
// CHECK-SAME: (%[[X:.*]]: memref<4xf32>, %[[Y0:.*]]: memref<4xf32>, %[[Y1:.*]]: memref<4xf32>, %[[Y2:.*]]: memref<4xf32>, %[[Y3:.*]]: memref<4xf32>)
// CHECK: %[[B:.*]] = memref.alloc() : memref<4xf32>
// CHECK: linalg.fill {{.*}} outs(%[[Y2]] : memref<4xf32>)
// CHECK: memref.copy %[[X]], %[[Y0]]
// CHECK: linalg.copy ins(%[[Y2]] : memref<4xf32>) outs(%[[Y1]] : memref<4xf32>)
// CHECK: memref.copy %[[B]], %[[Y3]]
// CHECK: linalg.fill {{.*}} outs(%[[B]]
#id = affine_map<(d0) -> (d0)>
func.func @kept(%x: memref<4xf32>, %y0: memref<4xf32>, %y1: memref<4xf32>,
                %y2: memref<4xf32>, %y3: memref<4xf32>) {
  %cst = arith.constant 1.0 : f32
  %a = memref.alloc() : memref<4xf32>
  %b = memref.alloc() : memref<4xf32>
  linalg.fill ins(%cst : f32) outs(%a : memref<4xf32>)
  memref.copy %x, %y0 : memref<4xf32> to memref<4xf32>
  linalg.copy ins(%a : memref<4xf32>) outs(%y1 : memref<4xf32>)
  linalg.copy ins(%a : memref<4xf32>) outs(%y2 : memref<4xf32>)
  memref.copy %b, %y3 : memref<4xf32> to memref<4xf32>
  linalg.fill ins(%cst : f32) outs(%b : memref<4xf32>)
  return
}
