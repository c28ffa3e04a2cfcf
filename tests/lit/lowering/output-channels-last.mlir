// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-output-channels-last \
// RUN:   | FileCheck %s

// Output rows 3 wide (< 8): the constant filter W[8, 2, 1, 1] is stored as
// W[2, 1, 1, 8] (contiguous along the output channels) and read through the
// rotated map.
// CHECK-DAG: #[[FILTER:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d4, d5, d6, d1)>
// CHECK-LABEL: func.func @narrow
// CHECK: %[[W:.*]] = arith.constant dense<{{\[\[\[\[}}0.000000e+00, 2.000000e+00, 4.000000e+00, 6.000000e+00, 8.000000e+00, 1.000000e+01, 1.200000e+01, 1.400000e+01]]], {{\[\[\[}}1.000000e+00, 3.000000e+00, 5.000000e+00, 7.000000e+00, 9.000000e+00, 1.100000e+01, 1.300000e+01, 1.500000e+01]]]]> : tensor<2x1x1x8xf32>
// CHECK: linalg.generic {indexing_maps = [#{{.*}}, #[[FILTER]], #{{.*}}]{{.*}} ins(%{{.*}}, %[[W]] : tensor<1x2x3x3xf32>, tensor<2x1x1x8xf32>)
func.func @narrow(%x: tensor<1x2x3x3xf32>) -> tensor<1x8x3x3xf32> {
  %w = kiln.constant dense<[[[[0.0]], [[1.0]]], [[[2.0]], [[3.0]]], [[[4.0]], [[5.0]]], [[[6.0]], [[7.0]]],
                            [[[8.0]], [[9.0]]], [[[10.0]], [[11.0]]], [[[12.0]], [[13.0]]], [[[14.0]], [[15.0]]]]> : tensor<8x2x1x1xf32>
  %0 = kiln.conv %x, %w : (tensor<1x2x3x3xf32>, tensor<8x2x1x1xf32>) -> tensor<1x8x3x3xf32>
  return %0 : tensor<1x8x3x3xf32>
}

// -----

// Left as they are: rows 8 wide, and a filter that is not a constant.
// CHECK-LABEL: func.func @wide_or_fed
// CHECK-NOT: tensor<2x1x1x8xf32>
// CHECK: ins(%{{.*}}, %{{.*}} : tensor<1x2x8x8xf32>, tensor<8x2x1x1xf32>)
// CHECK: ins(%{{.*}}, %{{.*}} : tensor<1x2x3x3xf32>, tensor<8x2x1x1xf32>)
func.func @wide_or_fed(%x: tensor<1x2x8x8xf32>, %y: tensor<1x2x3x3xf32>, %v: tensor<8x2x1x1xf32>) -> (tensor<1x8x8x8xf32>, tensor<1x8x3x3xf32>) {
  %w = kiln.constant dense<1.0> : tensor<8x2x1x1xf32>
  %0 = kiln.conv %x, %w : (tensor<1x2x8x8xf32>, tensor<8x2x1x1xf32>) -> tensor<1x8x8x8xf32>
  %1 = kiln.conv %y, %v : (tensor<1x2x3x3xf32>, tensor<8x2x1x1xf32>) -> tensor<1x8x3x3xf32>
  return %0, %1 : tensor<1x8x8x8xf32>, tensor<1x8x3x3xf32>
}
