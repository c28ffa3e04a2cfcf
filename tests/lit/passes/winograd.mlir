// RUN: graph-opt %s --split-input-file --kiln-winograd | FileCheck %s
// RUN: graph-opt %s --split-input-file --kiln-winograd=min-channels=1 | FileCheck %s --check-prefix=SMALL

// A 3x3 stride-1 convolution with a constant filter becomes the three
// Winograd steps: the input's rows transformed (pads kept, T = ceil(14 / 4)
// tiles of four rows, the padded width 18), the filter transformed at
// compile time and applied along the tiles' rows taken as one (4 x 18 - 2
// points), the output transform with the bias, the height and the width.
// CHECK-LABEL: func.func @conv
// CHECK-SAME: (%[[X:.*]]: tensor<1x32x14x16xf32>, %[[B:.*]]: tensor<32xf32>)
// CHECK: %[[V:.*]] = kiln.winograd_input %[[X]] {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x14x16xf32>) -> tensor<1x6x32x4x18xf32>
// CHECK: %[[U:.*]] = kiln.constant {{.*}} : tensor<6x32x32x3xf32>
// CHECK: %[[P:.*]] = kiln.winograd_conv %[[V]], %[[U]] : (tensor<1x6x32x4x18xf32>, tensor<6x32x32x3xf32>) -> tensor<1x6x32x70xf32>
// CHECK: %[[Y:.*]] = kiln.winograd_output %[[P]], %[[B]] {height = 14 : i64, width = 16 : i64} : (tensor<1x6x32x70xf32>, tensor<32xf32>) -> tensor<1x32x14x16xf32>
// CHECK-NOT: kiln.conv
// CHECK: return %[[Y]]
func.func @conv(%x: tensor<1x32x14x16xf32>, %b: tensor<32xf32>) -> tensor<1x32x14x16xf32> {
  %w = kiln.constant dense<0.5> : tensor<32x32x3x3xf32>
  %0 = kiln.conv %x, %w, %b {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x14x16xf32>, tensor<32x32x3x3xf32>, tensor<32xf32>) -> tensor<1x32x14x16xf32>
  return %0 : tensor<1x32x14x16xf32>
}

// -----

// The filter's transform, U[e][kw] = sum over kh of G[e][kh] * W[kh][kw]
// (ir/Winograd.h), on one channel pair; no pads and no bias.
// SMALL-LABEL: func.func @transformed_filter
// SMALL: kiln.winograd_input %{{.*}} {pads = array<i64: 0, 0, 0, 0>} : (tensor<1x1x18x16xf32>) -> tensor<1x6x1x4x16xf32>
// SMALL: kiln.constant dense<{{\[\[\[\[}}2.500000e-01, 5.000000e-01, 7.500000e-01]]], {{\[\[\[}}-2.000000e+00, -2.500000e+00, -3.000000e+00]]], {{\[\[\[}}-0.666666{{[0-9]*}}, -0.833333{{[0-9]*}}, -1.000000e+00]]], {{\[\[\[}}1.541666{{[0-9]*}}, 1.833333{{[0-9]*}}, 2.125000e+00]]], {{\[\[\[}}8.750000e-01, 1.000000e+00, 1.125000e+00]]], {{\[\[\[}}7.000000e+00, 8.000000e+00, 9.000000e+00]]]]> : tensor<6x1x1x3xf32>
// SMALL: kiln.winograd_output %{{.*}} {height = 16 : i64, width = 14 : i64} : (tensor<1x6x1x62xf32>) -> tensor<1x1x16x14xf32>
func.func @transformed_filter(%x: tensor<1x1x18x16xf32>) -> tensor<1x1x16x14xf32> {
  %w = kiln.constant dense<[[[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]]]> : tensor<1x1x3x3xf32>
  %0 = kiln.conv %x, %w : (tensor<1x1x18x16xf32>, tensor<1x1x3x3xf32>) -> tensor<1x1x16x14xf32>
  return %0 : tensor<1x1x16x14xf32>
}

// -----

// Must not change: a stride of 2, two groups, a 1x1 filter, a filter
// computed at run time, fewer than 32 channels, an output narrower than 7.
// CHECK-LABEL: func.func @not_winograd
// CHECK-NOT: kiln.winograd
// CHECK-COUNT-6: kiln.conv
// CHECK-NOT: kiln.winograd
func.func @not_winograd(%x: tensor<1x32x16x16xf32>, %wr: tensor<32x32x3x3xf32>, %xs: tensor<1x16x16x16xf32>, %xn: tensor<1x32x16x6xf32>) -> (tensor<1x32x8x8xf32>, tensor<1x32x16x16xf32>, tensor<1x32x16x16xf32>, tensor<1x32x16x16xf32>, tensor<1x16x16x16xf32>, tensor<1x32x16x6xf32>) {
  %w = kiln.constant dense<0.5> : tensor<32x32x3x3xf32>
  %wg = kiln.constant dense<0.5> : tensor<32x16x3x3xf32>
  %w1 = kiln.constant dense<0.5> : tensor<32x32x1x1xf32>
  %ws = kiln.constant dense<0.5> : tensor<16x16x3x3xf32>
  %0 = kiln.conv %x, %w {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x32x16x16xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x8x8xf32>
  %1 = kiln.conv %x, %wg {group = 2 : i64, pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x16x16xf32>, tensor<32x16x3x3xf32>) -> tensor<1x32x16x16xf32>
  %2 = kiln.conv %x, %w1 : (tensor<1x32x16x16xf32>, tensor<32x32x1x1xf32>) -> tensor<1x32x16x16xf32>
  %3 = kiln.conv %x, %wr {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x16x16xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x16x16xf32>
  %4 = kiln.conv %xs, %ws {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x16x16x16xf32>, tensor<16x16x3x3xf32>) -> tensor<1x16x16x16xf32>
  %5 = kiln.conv %xn, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x16x6xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x16x6xf32>
  return %0, %1, %2, %3, %4, %5 : tensor<1x32x8x8xf32>, tensor<1x32x16x16xf32>, tensor<1x32x16x16xf32>, tensor<1x32x16x16xf32>, tensor<1x16x16x16xf32>, tensor<1x32x16x6xf32>
}

// -----

// A 7x7 image (resnet18's layer 4): two tiles of four rows cover its
// seven, each tile's nine padded columns in one long row of 2 * 9 - 2.
// CHECK-LABEL: func.func @seven_wide
// CHECK: kiln.winograd_input %{{.*}} {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x7x7xf32>) -> tensor<1x6x32x2x9xf32>
// CHECK: kiln.winograd_conv %{{.*}} : (tensor<1x6x32x2x9xf32>, tensor<6x32x32x3xf32>) -> tensor<1x6x32x16xf32>
// CHECK: kiln.winograd_output %{{.*}} {height = 7 : i64, width = 7 : i64} : (tensor<1x6x32x16xf32>) -> tensor<1x32x7x7xf32>
func.func @seven_wide(%x: tensor<1x32x7x7xf32>) -> tensor<1x32x7x7xf32> {
  %w = kiln.constant dense<0.5> : tensor<32x32x3x3xf32>
  %0 = kiln.conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x7x7xf32>, tensor<32x32x3x3xf32>) -> tensor<1x32x7x7xf32>
  return %0 : tensor<1x32x7x7xf32>
}
