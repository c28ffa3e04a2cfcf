// RUN: graph-opt %s --split-input-file --kiln-lower-to-kernels | FileCheck %s

// ONNX does not require unique node names: two ops of one name are still
// two kernels, named apart.
// CHECK-LABEL: func.func @main
// CHECK: kiln.dispatch @k0_n grid(1)
// CHECK: kiln.dispatch @k1_n_1 grid(8)
func.func @main(%x: tensor<4x8xf32> {kiln.name = "x"}, %w: tensor<8x8xf32> {kiln.name = "w"}) -> (tensor<8x4xf32> {kiln.name = "y"}) {
  %0 = kiln.matmul %x, %w : (tensor<4x8xf32>, tensor<8x8xf32>) -> tensor<4x8xf32> loc("n")
  %1 = kiln.transpose %0 {perm = array<i64: 1, 0>} : (tensor<4x8xf32>) -> tensor<8x4xf32> loc("n")
  return %1 : tensor<8x4xf32>
}

// -----

// A stride-2 convolution's deinterleaved image
// (kiln-cpu-deinterleave-strided-convolutions) is a kernel of its own,
// named after the node, with its own grid; the convolution keeps its name
// and its grid, unfused or in a fusion.
// CHECK-LABEL: func.func @main
// CHECK: kiln.dispatch @k{{[0-9]+}}_c_deinterleave grid(8)
// CHECK-NEXT: kiln.dispatch @k{{[0-9]+}}_c grid({{[2-9]|[1-9][0-9]+}})
// CHECK: kiln.dispatch @k{{[0-9]+}}_f_deinterleave grid(8)
// CHECK: kiln.dispatch @k{{[0-9]+}}_fusion_0_conv_relu grid({{[2-9]|[1-9][0-9]+}})
func.func @main(%x: tensor<1x8x32x32xf32> {kiln.name = "x"}) -> (tensor<1x64x16x16xf32> {kiln.name = "y"}, tensor<1x64x16x16xf32> {kiln.name = "z"}) {
  %w = kiln.constant dense<0.5> : tensor<64x8x3x3xf32>
  %0 = kiln.conv %x, %w {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x32x32xf32>, tensor<64x8x3x3xf32>) -> tensor<1x64x16x16xf32> loc("c")
  %1 = kiln.fusion "fusion_0_conv_relu" (%x, %w) : (tensor<1x8x32x32xf32>, tensor<64x8x3x3xf32>) -> tensor<1x64x16x16xf32> {
  ^bb0(%a: tensor<1x8x32x32xf32>, %b: tensor<64x8x3x3xf32>):
    %2 = kiln.conv %a, %b {pads = array<i64: 1, 1, 1, 1>, strides = array<i64: 2, 2>} : (tensor<1x8x32x32xf32>, tensor<64x8x3x3xf32>) -> tensor<1x64x16x16xf32> loc("f")
    %3 = kiln.relu %2 : (tensor<1x64x16x16xf32>) -> tensor<1x64x16x16xf32> loc("f")
    kiln.yield %3 : tensor<1x64x16x16xf32>
  } loc("f")
  return %0, %1 : tensor<1x64x16x16xf32>, tensor<1x64x16x16xf32>
}
