// RUN: graph-opt %s --kiln-lower-to-kernels | FileCheck %s

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
