// RUN: graph-opt %s --convert-kiln-to-linalg | FileCheck %s

// A fusion's elementwise chain lowers to one linalg.generic, inlined where
// the fusion stood; the contraction stays its own reduction generic.
// CHECK-LABEL: func.func @lower_fusion
// CHECK-NOT: kiln.
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// CHECK: arith.addf
// CHECK: arith.maximumf
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @lower_fusion(%x: tensor<2x4xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  %0 = kiln.fusion "fusion_0_matmul_add_relu"(%x, %w, %b) : (tensor<2x4xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<2x8xf32> {
  ^bb0(%a: tensor<2x4xf32>, %c: tensor<4x8xf32>, %d: tensor<8xf32>):
    %1 = kiln.matmul %a, %c : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
    %2 = kiln.add %1, %d : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
    %3 = kiln.relu %2 : (tensor<2x8xf32>) -> tensor<2x8xf32>
    kiln.yield %3 : tensor<2x8xf32>
  }
  return %0 : tensor<2x8xf32>
}
