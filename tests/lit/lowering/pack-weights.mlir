// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-output-channels-last --kiln-cpu-order-loops \
// RUN:   --kiln-cpu-pack-weights=panel-bits=128 | FileCheck %s
// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions=tile-elements=32 \
// RUN:   --kiln-cpu-order-loops --kiln-cpu-pack-weights=panel-bits=128 | FileCheck %s --check-prefix=TILED

// A constant B[3][8] read as B[k][j] becomes panels of 4 columns (128 bits
// of f32), Bp[2][3][4] = B[k][4 p + c], read through (j floordiv 4, k,
// j mod 4).
// CHECK-DAG: #[[PANELS:.*]] = affine_map<(d0, d1, d2) -> (d2 floordiv 4, d1, d2 mod 4)>
// CHECK-LABEL: func.func @matmul
// CHECK: %[[BP:.*]] = arith.constant dense<{{\[\[\[}}0.000000e+00, 1.000000e+00, 2.000000e+00, 3.000000e+00], [8.000000e+00, 9.000000e+00, 1.000000e+01, 1.100000e+01], [1.600000e+01, 1.700000e+01, 1.800000e+01, 1.900000e+01]], {{\[\[}}4.000000e+00, 5.000000e+00, 6.000000e+00, 7.000000e+00], [1.200000e+01, 1.300000e+01, 1.400000e+01, 1.500000e+01], [2.000000e+01, 2.100000e+01, 2.200000e+01, 2.300000e+01]]]> : tensor<2x3x4xf32>
// CHECK: %[[S:.*]] = tensor.extract_slice %[[BP]][0, 0, 0] [2, 3, 4] [1, 1, 1]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[PANELS]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[S]] : tensor<2x3xf32>, tensor<2x3x4xf32>)
func.func @matmul(%a: tensor<2x3xf32>) -> tensor<2x8xf32> {
  %b = kiln.constant dense<[[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0],
                            [8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0],
                            [16.0, 17.0, 18.0, 19.0, 20.0, 21.0, 22.0, 23.0]]> : tensor<3x8xf32>
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<3x8xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// Left as they are: 6 columns (not a multiple of 4), a fed B, and 4
// columns (one panel: the same bytes as B).
// CHECK-LABEL: func.func @not_packed
// CHECK-NOT: floordiv
// CHECK: return
func.func @not_packed(%a: tensor<2x3xf32>, %f: tensor<3x8xf32>) -> (tensor<2x6xf32>, tensor<2x8xf32>, tensor<2x4xf32>) {
  %b = kiln.constant dense<1.0> : tensor<3x6xf32>
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<3x6xf32>) -> tensor<2x6xf32>
  %1 = kiln.matmul %a, %f : (tensor<2x3xf32>, tensor<3x8xf32>) -> tensor<2x8xf32>
  %c = kiln.constant dense<[[1.0, 2.0, 3.0, 4.0], [5.0, 6.0, 7.0, 8.0], [9.0, 10.0, 11.0, 12.0]]> : tensor<3x4xf32>
  %2 = kiln.matmul %a, %c : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0, %1, %2 : tensor<2x6xf32>, tensor<2x8xf32>, tensor<2x4xf32>
}

// -----

// Gemm with transB over constant weights W[8][3]: stored transposed at
// compile time (B[k][j] = W[j][k]), then as panels: Bp[p][k][c] =
// W[4 p + c][k].
// CHECK-LABEL: func.func @gemm_transb
// CHECK: arith.constant dense<{{\[\[\[}}1.000000e+00, 4.000000e+00, 7.000000e+00, 1.000000e+01], [2.000000e+00, 5.000000e+00, 8.000000e+00, 1.100000e+01], [3.000000e+00, 6.000000e+00, 9.000000e+00, 1.200000e+01]], {{\[\[}}1.300000e+01, 1.600000e+01, 1.900000e+01, 2.200000e+01], [1.400000e+01, 1.700000e+01, 2.000000e+01, 2.300000e+01], [1.500000e+01, 1.800000e+01, 2.100000e+01, 2.400000e+01]]]> : tensor<2x3x4xf32>
// CHECK: floordiv 4
func.func @gemm_transb(%a: tensor<2x3xf32>) -> tensor<2x8xf32> {
  %w = kiln.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0], [10.0, 11.0, 12.0],
                            [13.0, 14.0, 15.0], [16.0, 17.0, 18.0], [19.0, 20.0, 21.0], [22.0, 23.0, 24.0]]> : tensor<8x3xf32>
  %0 = kiln.gemm %a, %w {transB = 1 : i64} : (tensor<2x3xf32>, tensor<8x3xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

// In a fusion tiled 4 rows x 8 columns, each tile's slice of B (columns
// j0 to j0 + 8, j0 the tile loop's multiple of 8) becomes panels j0 / 4
// and j0 / 4 + 1 of the packed constant.
// TILED-DAG: #[[PANELS:.*]] = affine_map<(d0, d1, d2) -> (d2 floordiv 4, d0, d2 mod 4)>
// TILED-LABEL: func.func @tiled
// TILED: %[[BP:.*]] = arith.constant {{.*}} : tensor<4x2x4xf32>
// TILED: scf.for %[[J:.*]] = %c0 to %c16 step %c8
// TILED: %[[P:.*]] = affine.apply #{{.*}}(%[[J]])
// TILED: tensor.extract_slice %[[BP]][%[[P]], 0, 0] [2, 2, 4] [1, 1, 1] : tensor<4x2x4xf32> to tensor<2x2x4xf32>
// TILED: linalg.generic {indexing_maps = [#{{.*}}, #[[PANELS]], #{{.*}}]
func.func @tiled(%x: tensor<8x2xf32>) -> tensor<8x16xf32> {
  %w = kiln.constant dense<[[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0, 10.0, 11.0, 12.0, 13.0, 14.0, 15.0, 16.0],
                            [-1.0, -2.0, -3.0, -4.0, -5.0, -6.0, -7.0, -8.0, -9.0, -10.0, -11.0, -12.0, -13.0, -14.0, -15.0, -16.0]]> : tensor<2x16xf32>
  %0 = kiln.fusion "fusion_0_matmul_relu"(%x, %w) : (tensor<8x2xf32>, tensor<2x16xf32>) -> tensor<8x16xf32> {
  ^bb0(%a: tensor<8x2xf32>, %b: tensor<2x16xf32>):
    %1 = kiln.matmul %a, %b : (tensor<8x2xf32>, tensor<2x16xf32>) -> tensor<8x16xf32>
    %2 = kiln.relu %1 : (tensor<8x16xf32>) -> tensor<8x16xf32>
    kiln.yield %2 : tensor<8x16xf32>
  }
  return %0 : tensor<8x16xf32>
}

// -----

// A narrow convolution's filter stored channels last (W[ic][kh][kw][oc],
// kiln-cpu-output-channels-last) is read along the output channels: its
// 8 channels become 2 panels of 4, Wp[p][ic][kh][kw][c] = W[4 p + c][ic].
// CHECK-DAG: #[[FILTER:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1 floordiv 4, d3, d4, d5, d1 mod 4)>
// CHECK-LABEL: func.func @channels_last
// CHECK: %[[WP:.*]] = arith.constant dense<{{\[\[\[\[\[}}0.000000e+00, 2.000000e+00, 4.000000e+00, 6.000000e+00]]], {{\[\[\[}}1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00]]]], {{\[\[\[\[}}8.000000e+00, 1.000000e+01, 1.200000e+01, 1.400000e+01]]], {{\[\[\[}}9.000000e+00, 1.100000e+01, 1.300000e+01, 1.500000e+01]]]]]> : tensor<2x2x1x1x4xf32>
// CHECK: %[[S:.*]] = tensor.extract_slice %[[WP]][0, 0, 0, 0, 0] [2, 2, 1, 1, 4]
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[FILTER]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[S]] : tensor<1x2x3x3xf32>, tensor<2x2x1x1x4xf32>)
func.func @channels_last(%x: tensor<1x2x3x3xf32>) -> tensor<1x8x3x3xf32> {
  %w = kiln.constant dense<[[[[0.0]], [[1.0]]], [[[2.0]], [[3.0]]], [[[4.0]], [[5.0]]], [[[6.0]], [[7.0]]],
                            [[[8.0]], [[9.0]]], [[[10.0]], [[11.0]]], [[[12.0]], [[13.0]]], [[[14.0]], [[15.0]]]]> : tensor<8x2x1x1xf32>
  %0 = kiln.conv %x, %w : (tensor<1x2x3x3xf32>, tensor<8x2x1x1xf32>) -> tensor<1x8x3x3xf32>
  return %0 : tensor<1x8x3x3xf32>
}
