// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg | FileCheck %s

// An LSTM direction is one loop over the steps (never unrolled): each step
// takes its slice of the projected inputs, multiplies h by R^T, applies
// the cell in one generic over [batch, H] that writes the new h and c over
// the loop's and the step's output into its slice of y.
// CHECK-LABEL: func.func @lstm
// CHECK: %[[Y:[a-z0-9_]+]]:3 = scf.for %[[T:[a-z0-9_]+]] = %c0 to %c5 step %c1 iter_args(%[[H:[a-z0-9_]+]] = %arg3, %[[C:[a-z0-9_]+]] = %arg4, %[[YS:[a-z0-9_]+]] = %{{.*}}) -> (tensor<2x3xf32>, tensor<2x3xf32>, tensor<5x2x3xf32>)
// CHECK: %[[X:.*]] = tensor.extract_slice %arg0[%[[T]], 0, 0] [1, 2, 12] [1, 1, 1] : tensor<5x2x12xf32> to tensor<2x12xf32>
// CHECK: %[[HR:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "reduction"]} ins(%[[H]], %arg1 : tensor<2x3xf32>, tensor<3x12xf32>)
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel"]} ins({{.*}}) outs(%[[H]], %[[C]], %{{.*}} : tensor<2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
// CHECK: math.tanh
// CHECK: %[[NEXT:.*]] = tensor.insert_slice %{{.*}}#2 into %[[YS]][%[[T]], 0, 0] [1, 2, 3] [1, 1, 1]
// CHECK: scf.yield %{{.*}}#0, %{{.*}}#1, %[[NEXT]]
// CHECK: return %[[Y]]#2, %[[Y]]#0, %[[Y]]#1
func.func @lstm(%x: tensor<5x2x12xf32>, %r: tensor<3x12xf32>, %b: tensor<12xf32>, %h: tensor<2x3xf32>, %c: tensor<2x3xf32>, %p: tensor<9xf32>) -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>) {
  %y, %yh, %yc = kiln.recurrence %x, %r, %b, %h, %c, %p {cell = "lstm", activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0, 0.0, 0.0], activation_beta = [0.0, 0.0, 0.0]} : (tensor<5x2x12xf32>, tensor<3x12xf32>, tensor<12xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<9xf32>) -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y, %yh, %yc : tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>
}

// -----

// Reversed, the step runs at 4 - t; with sequence lengths, a step at or past
// an entry's length keeps its state (the select on t < length).
// GRU without linear_before_reset multiplies (r * h) by R_h^T: columns 6..8
// of R^T, a second contraction.
// CHECK-LABEL: func.func @gru_reverse
// CHECK: scf.for %[[T:[a-z0-9_]+]] =
// CHECK: %[[AT:.*]] = arith.subi %c4{{.*}}, %[[T]]
// CHECK: tensor.extract_slice %arg0[%[[AT]], 0, 0]
// CHECK: tensor.extract_slice %arg1[0, 6] [3, 3] [1, 1] : tensor<3x9xf32> to tensor<3x3xf32>
// CHECK: arith.cmpi slt, %[[AT]]
func.func @gru_reverse(%x: tensor<5x2x9xf32>, %r: tensor<3x9xf32>, %b: tensor<9xf32>, %h: tensor<2x3xf32>, %p: tensor<9xf32>, %l: tensor<2xi32>) -> tensor<5x2x3xf32> {
  %y, %yh, %yc = kiln.recurrence %x, %r, %b, %h, %h, %p, %l {cell = "gru", activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0, 0.0], activation_beta = [0.0, 0.0], reverse = true} : (tensor<5x2x9xf32>, tensor<3x9xf32>, tensor<9xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<9xf32>, tensor<2xi32>) -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y : tensor<5x2x3xf32>
}
