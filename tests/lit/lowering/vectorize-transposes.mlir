// RUN: graph-opt %s --split-input-file --kiln-cpu-vectorize-transposes | FileCheck %s

// Attention's K^T for one head: [seq][1][64] -> [1][64][seq], here
// [16][1][24] -> [1][24][16]. Blocks of 8 x 8: 8 row loads along the
// input's last dimension, 24 shuffles in three rounds, 8 row stores along
// the output's last dimension. No edges (16 and 24 are multiples of 8).
// CHECK-LABEL: func.func @k_transpose
// CHECK: scf.for %[[C:.*]] = %{{.*}} to %c24 step %c8
// CHECK: scf.for %[[R:.*]] = %{{.*}} to %c16 step %c8
// CHECK: vector.load %arg0[%[[R]], %{{.*}}, %[[C]]] : memref<16x1x24xf32>, vector<8xf32>
// CHECK-COUNT-7: vector.load %arg0
// CHECK-COUNT-8: vector.shuffle %{{.*}}, %{{.*}} [{{0, 8, 1, 9, 4, 12, 5, 13|2, 10, 3, 11, 6, 14, 7, 15}}]
// CHECK-COUNT-8: vector.shuffle %{{.*}}, %{{.*}} [{{0, 1, 8, 9, 4, 5, 12, 13|2, 3, 10, 11, 6, 7, 14, 15}}]
// CHECK-COUNT-4: vector.shuffle %{{.*}}, %{{.*}} [0, 1, 2, 3, 8, 9, 10, 11]
// CHECK-COUNT-4: vector.shuffle %{{.*}}, %{{.*}} [4, 5, 6, 7, 12, 13, 14, 15]
// CHECK: vector.store %{{.*}}, %arg1[%{{.*}}, %[[C]], %[[R]]] : memref<1x24x16xf32>, vector<8xf32>
// CHECK-COUNT-7: vector.store %{{.*}}, %arg1
// CHECK-NOT: linalg.transpose
func.func @k_transpose(%x: memref<16x1x24xf32>, %y: memref<1x24x16xf32>) {
  linalg.transpose ins(%x : memref<16x1x24xf32>) outs(%y : memref<1x24x16xf32>) permutation = [1, 2, 0]
  return
}

// -----

// 10 x 12 (i32): one block, then the edges as transposes of subviews:
// input rows 8-9 whole, and columns 8-11 of rows 0-7.
// CHECK-LABEL: func.func @edges
// CHECK-NOT: scf.for
// CHECK-COUNT-8: vector.load %arg0{{.*}} : memref<10x12xi32>, vector<8xi32>
// CHECK-COUNT-8: vector.store %{{.*}}, %arg1{{.*}} : memref<12x10xi32>, vector<8xi32>
// CHECK: %[[IN1:.*]] = memref.subview %arg0[8, 0] [2, 12] [1, 1]
// CHECK: %[[OUT1:.*]] = memref.subview %arg1[0, 8] [12, 2] [1, 1]
// CHECK: linalg.transpose ins(%[[IN1]] : {{.*}}) outs(%[[OUT1]] : {{.*}}) permutation = [1, 0]
// CHECK: %[[IN2:.*]] = memref.subview %arg0[0, 8] [8, 4] [1, 1]
// CHECK: %[[OUT2:.*]] = memref.subview %arg1[8, 0] [4, 8] [1, 1]
// CHECK: linalg.transpose ins(%[[IN2]] : {{.*}}) outs(%[[OUT2]] : {{.*}}) permutation = [1, 0]
func.func @edges(%x: memref<10x12xi32>, %y: memref<12x10xi32>) {
  linalg.transpose ins(%x : memref<10x12xi32>) outs(%y : memref<12x10xi32>) permutation = [1, 0]
  return
}

// -----

// Left as they are: the innermost dimension stays (rows are copied whole
// already), 64-bit elements, fewer than 8 rows, an input whose rows are
// not contiguous.
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT: vector.
// CHECK-COUNT-4: linalg.transpose
// CHECK-NOT: vector.
func.func @unchanged(%a: memref<16x8x8xf32>, %b: memref<8x16x8xf32>,
                     %c: memref<8x8xf64>, %d: memref<8x8xf64>,
                     %e: memref<4x16xf32>, %f: memref<16x4xf32>,
                     %g: memref<8x8xf32, strided<[16, 2]>>, %h: memref<8x8xf32>) {
  linalg.transpose ins(%a : memref<16x8x8xf32>) outs(%b : memref<8x16x8xf32>) permutation = [1, 0, 2]
  linalg.transpose ins(%c : memref<8x8xf64>) outs(%d : memref<8x8xf64>) permutation = [1, 0]
  linalg.transpose ins(%e : memref<4x16xf32>) outs(%f : memref<16x4xf32>) permutation = [1, 0]
  linalg.transpose ins(%g : memref<8x8xf32, strided<[16, 2]>>) outs(%h : memref<8x8xf32>) permutation = [1, 0]
  return
}
