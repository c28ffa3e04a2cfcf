// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions --kiln-cpu-order-loops --kiln-inline-fusions \
// RUN:   | FileCheck %s
// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions=tile-elements=16 --kiln-cpu-order-loops --kiln-inline-fusions \
// RUN:   | FileCheck %s --check-prefix=TILED

// A matmul's loops run i, k, j: the output's last dimension innermost, so
// the inner loop streams a row of B and of the output.
// CHECK-DAG: #[[A:.*]] = affine_map<(d0, d1, d2) -> (d0, d1)>
// CHECK-DAG: #[[B:.*]] = affine_map<(d0, d1, d2) -> (d1, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @matmul_order
// CHECK: linalg.generic {indexing_maps = [#[[A]], #[[B]], #[[C]]], iterator_types = ["parallel", "reduction", "parallel"]}
func.func @matmul_order(%a: tensor<2x4xf32>, %b: tensor<4x8xf32>) -> tensor<2x8xf32> {
  %0 = kiln.matmul %a, %b : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Gemm with transB over constant weights: the weights are stored
// transposed at compile time, then read along the output's columns.
// CHECK-LABEL: func.func @gemm_constant_transb
// CHECK: %[[W:.*]] = arith.constant dense<{{\[}}[1.000000e+00, 3.000000e+00, 5.000000e+00], [2.000000e+00, 4.000000e+00, 6.000000e+00]]> : tensor<2x3xf32>
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]} ins(%{{.*}}, %[[W]] : tensor<4x2xf32>, tensor<2x3xf32>)
func.func @gemm_constant_transb(%a: tensor<4x2xf32>) -> tensor<4x3xf32> {
  %w = kiln.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %0 = kiln.gemm %a, %w {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// Must not change: B read transposed and not constant (attention's Q K^T)
// has no input streamed along the output's columns; the dot product stays
// innermost. Nor does a plain reduction move.
// CHECK-LABEL: func.func @transposed_feed_and_reduction
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
func.func @transposed_feed_and_reduction(%a: tensor<4x2xf32>, %b: tensor<3x2xf32>) -> (tensor<4x3xf32>, tensor<4xf32>) {
  %0 = kiln.gemm %a, %b {transB = 1 : i64} : (tensor<4x2xf32>, tensor<3x2xf32>) -> tensor<4x3xf32>
  %1 = kiln.reduce_sum %0 {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<4x3xf32>) -> tensor<4xf32>
  return %0, %1 : tensor<4x3xf32>, tensor<4xf32>
}

// -----

// In a tile loop the accumulator is a small tile, so the reduction goes
// outermost: each row of B read serves every row of the tile.
// TILED-LABEL: func.func @tiled_reduction_outer
// TILED: scf.for
// TILED: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "parallel"]
// CHECK-LABEL: func.func @tiled_reduction_outer
// CHECK-NOT: scf.for
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction", "parallel"]
func.func @tiled_reduction_outer(%x: tensor<6x4xf32>, %w: tensor<4x8xf32>) -> tensor<6x8xf32> {
  %0 = kiln.fusion "fusion_0_matmul_relu"(%x, %w) : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32> {
  ^bb0(%a: tensor<6x4xf32>, %b: tensor<4x8xf32>):
    %1 = kiln.matmul %a, %b : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32>
    %2 = kiln.relu %1 : (tensor<6x8xf32>) -> tensor<6x8xf32>
    kiln.yield %2 : tensor<6x8xf32>
  }
  return %0 : tensor<6x8xf32>
}

// -----

// A convolution in a tile loop keeps its window sums just outside the
// innermost loop (reductions outermost measured 3x slower on resnet18).
// TILED-LABEL: func.func @tiled_conv_order
// TILED: scf.for
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]
func.func @tiled_conv_order(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kiln.fusion "fusion_0_conv_relu"(%x, %w) : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32> {
  ^bb0(%a: tensor<1x2x6x6xf32>, %b: tensor<4x2x3x3xf32>):
    %1 = kiln.conv %a, %b : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
    %2 = kiln.relu %1 : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    kiln.yield %2 : tensor<1x4x4x4xf32>
  }
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// A convolution's tile spans several output channels (up to 8: the rows
// of its vectorized form share each load of the input), then the budget
// of 16 points goes to the innermost loops: tiles of all 4 channels x 1
// row x 4 columns, where they would otherwise be 1 channel x 4 x 4.
// TILED-LABEL: func.func @conv_tile_spans_channels
// TILED: scf.for %[[H:.*]] = %c0 to %c4 step %c1
// TILED: tensor.extract_slice %{{.*}}[0, 0, %[[H]], 0] [1, 4, 1, 4] [1, 1, 1, 1] : tensor<1x4x4x4xf32> to tensor<1x4x1x4xf32>
func.func @conv_tile_spans_channels(%x: tensor<1x2x6x6xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32> {
  %0 = kiln.fusion "fusion_0_conv_relu"(%x, %w) : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32> {
  ^bb0(%a: tensor<1x2x6x6xf32>, %b: tensor<4x2x3x3xf32>):
    %1 = kiln.conv %a, %b : (tensor<1x2x6x6xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x4x4xf32>
    %2 = kiln.relu %1 : (tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32>
    kiln.yield %2 : tensor<1x4x4x4xf32>
  }
  return %0 : tensor<1x4x4x4xf32>
}

// -----

// A Gemm no fusion took is tiled like a fusion: the bias add (the last op
// of the node) is the root, the contraction computed tile by tile in its
// loop, which becomes the kernel's grid.
// TILED-LABEL: func.func @unfused_gemm
// TILED: scf.for
// TILED: linalg.fill
// TILED: linalg.generic {{.*}}iterator_types = ["reduction", "parallel", "parallel"]
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// TILED: tensor.insert_slice
// TILED: } {kiln.kernel = "{{.*}}", kiln.parallel}
// TILED-NOT: linalg.generic
// TILED: return
func.func @unfused_gemm(%a: tensor<8x4xf32>, %b: tensor<4x8xf32>, %c: tensor<8xf32>) -> tensor<8x8xf32> {
  %0 = kiln.gemm %a, %b, %c : (tensor<8x4xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}

// -----

// So is a softmax no fusion took (an attention's, between two matmuls):
// the division is the root, the max and sum reductions run per tile of
// rows in its loop, the kernel's grid (a row of 8 costs 8 points of work:
// tiles of 16 hold one row).
// TILED-LABEL: func.func @unfused_softmax
// TILED: scf.for
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} outs({{.*}} : tensor<1x1xf32>)
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} outs({{.*}} : tensor<1x1xf32>)
// TILED: arith.divf
// TILED: tensor.insert_slice
// TILED: } {kiln.kernel = "{{.*}}", kiln.parallel}
// TILED-NOT: linalg.generic
// TILED: return
func.func @unfused_softmax(%x: tensor<3x4x8xf32>) -> tensor<3x4x8xf32> {
  %0 = kiln.softmax %x {axis = 2 : i64} : (tensor<3x4x8xf32>) -> tensor<3x4x8xf32>
  return %0 : tensor<3x4x8xf32>
}

// -----

// Must not tile: a lone elementwise op (no contraction, no reduction) is
// one generic already.
// TILED-LABEL: func.func @unfused_elementwise
// TILED-NOT: scf.for
// TILED: linalg.generic
// TILED-NOT: scf.for
// TILED: return
func.func @unfused_elementwise(%x: tensor<8x8xf32>) -> tensor<8x8xf32> {
  %0 = kiln.relu %x : (tensor<8x8xf32>) -> tensor<8x8xf32>
  return %0 : tensor<8x8xf32>
}
