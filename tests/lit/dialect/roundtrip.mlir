// RUN: graph-opt %s | graph-opt | FileCheck %s

// Every kiln op prints in a form that parses back to the same op.

// CHECK-LABEL: func.func @elementwise
func.func @elementwise(%a: tensor<2x3xf32>, %b: tensor<3xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[ADD:.*]] = kiln.add %{{.*}}, %{{.*}} : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.sub %[[ADD]], %{{.*}}
  %1 = kiln.sub %0, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.mul
  %2 = kiln.mul %1, %a : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.div
  %3 = kiln.div %2, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.relu
  %4 = kiln.relu %3 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.neg
  %5 = kiln.neg %4 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.sigmoid
  %6 = kiln.sigmoid %5 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.tanh
  %7 = kiln.tanh %6 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.exp
  %8 = kiln.exp %7 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.log
  %9 = kiln.log %8 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.sqrt
  %10 = kiln.sqrt %9 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.identity
  %11 = kiln.identity %10 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: kiln.softsign %{{.*}} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %12 = kiln.softsign %11 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %12 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @structured
func.func @structured(%a: tensor<2x3x4xf32>, %w: tensor<4x5xf32>, %c: tensor<5xf32>) -> (tensor<2x3x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>) {
  // CHECK: kiln.constant dense<1.000000e+00> : tensor<5xf32>
  %k = kiln.constant dense<1.0> : tensor<5xf32>
  // CHECK: kiln.matmul {{.*}} -> tensor<2x3x5xf32>
  %0 = kiln.matmul %a, %w : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x3x5xf32>
  // CHECK: kiln.reshape {{.*}} {shape = array<i64: 6, 4>}
  %1 = kiln.reshape %a {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  // CHECK: kiln.gemm {{.*}} {alpha = 2.000000e+00 : f32
  %2 = kiln.gemm %1, %w, %c {alpha = 2.0 : f32} : (tensor<6x4xf32>, tensor<4x5xf32>, tensor<5xf32>) -> tensor<6x5xf32>
  // CHECK: kiln.gemm {{.*}} -> tensor<6x5xf32>
  %3 = kiln.gemm %1, %w : (tensor<6x4xf32>, tensor<4x5xf32>) -> tensor<6x5xf32>
  // CHECK: kiln.softmax {{.*}} {axis = 1 : i64}
  %4 = kiln.softmax %3 {axis = 1 : i64} : (tensor<6x5xf32>) -> tensor<6x5xf32>
  // CHECK: kiln.reduce_sum {{.*}} {axes = array<i64: 0>, keepdims = 0 : i64}
  %5 = kiln.reduce_sum %4 {axes = array<i64: 0>, keepdims = 0 : i64} : (tensor<6x5xf32>) -> tensor<5xf32>
  // CHECK: kiln.reduce_mean
  %6 = kiln.reduce_mean %4 : (tensor<6x5xf32>) -> tensor<1x1xf32>
  // CHECK: kiln.reduce_max
  %7 = kiln.reduce_max %4 {axes = array<i64: -1>} : (tensor<6x5xf32>) -> tensor<6x1xf32>
  // CHECK: kiln.transpose {{.*}} {perm = array<i64: 1, 0>}
  %8 = kiln.transpose %4 {perm = array<i64: 1, 0>} : (tensor<6x5xf32>) -> tensor<5x6xf32>
  return %0, %2, %4 : tensor<2x3x5xf32>, tensor<6x5xf32>, tensor<6x5xf32>
}

// The attributes the importers and the memory plan write verify.
// CHECK-LABEL: func.func @registered_attributes
// CHECK-SAME: (%{{.*}}: tensor<2xf32> {kiln.name = "x"}) -> (tensor<2xf32> {kiln.name = "y"})
// CHECK-SAME: kiln.arena_bytes = 128 : i64
func.func @registered_attributes(%x: tensor<2xf32> {kiln.name = "x"}) -> (tensor<2xf32> {kiln.name = "y"}) attributes {kiln.arena_bytes = 128 : i64, kiln.arena_lower_bound = 64 : i64, kiln.unplanned_bytes = 192 : i64} {
  return %x : tensor<2xf32>
}

// -----

// CHECK-LABEL: func.func @check
// CHECK: kiln.check %arg0 {inside = false, lower = array<i64: 0>, message = "node 'd' (Div): integer division by zero", upper = array<i64: 0>} : (tensor<3xi32>) -> tensor<2xi64>
func.func @check(%b: tensor<3xi32>) -> tensor<2xi64> {
  %0 = kiln.check %b {inside = false, lower = array<i64: 0>, upper = array<i64: 0>, message = "node 'd' (Div): integer division by zero"} : (tensor<3xi32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// CHECK-LABEL: func.func @indexed
// CHECK: kiln.gather_elements %arg0, %arg1 {axis = 1 : i64}
// CHECK: kiln.gather_nd %arg0, %arg2 :
// CHECK: kiln.scatter_elements %arg0, %arg1, %arg3 {axis = 1 : i64, reduction = "add"}
// CHECK: kiln.scatter_nd %arg0, %arg2, %arg4 {reduction = "max"}
// CHECK: kiln.mod %arg5, %arg5 :
// CHECK: kiln.bit_shift %arg6, %arg6 {direction = "LEFT"}
func.func @indexed(%d: tensor<3x4xf32>, %i: tensor<3x2xi64>, %t: tensor<2x2xi32>, %u: tensor<3x2xf32>, %v: tensor<2xf32>, %m: tensor<3xi32>, %s: tensor<3xui8>) -> (tensor<3x2xf32>, tensor<2xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xi32>, tensor<3xui8>) {
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  %1 = kiln.gather_nd %d, %t {batch_dims = 0 : i64} : (tensor<3x4xf32>, tensor<2x2xi32>) -> tensor<2xf32>
  %2 = kiln.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = "add"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  %3 = kiln.scatter_nd %d, %t, %v {reduction = "max"} : (tensor<3x4xf32>, tensor<2x2xi32>, tensor<2xf32>) -> tensor<3x4xf32>
  %4 = kiln.mod %m, %m {fmod = 0 : i64} : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  %5 = kiln.bit_shift %s, %s {direction = "LEFT"} : (tensor<3xui8>, tensor<3xui8>) -> tensor<3xui8>
  return %0, %1, %2, %3, %4, %5 : tensor<3x2xf32>, tensor<2xf32>, tensor<3x4xf32>, tensor<3x4xf32>, tensor<3xi32>, tensor<3xui8>
}

// CHECK-LABEL: func.func @recurrence
// CHECK: kiln.recurrence %arg0, %arg1, %arg2, %arg3, %arg3, %arg4, %arg5 {activation_alpha = [0.000000e+00, 0.000000e+00], activation_beta = [0.000000e+00, 0.000000e+00], activations = ["Sigmoid", "Tanh"], cell = "gru", clip = 2.000000e+00 : f64, reverse = true}
func.func @recurrence(%x: tensor<5x2x9xf32>, %r: tensor<3x9xf32>, %b: tensor<9xf32>, %h: tensor<2x3xf32>, %p: tensor<9xf32>, %l: tensor<2xi32>) -> tensor<5x2x3xf32> {
  %y, %yh, %yc = kiln.recurrence %x, %r, %b, %h, %h, %p, %l {cell = "gru", activations = ["Sigmoid", "Tanh"], activation_alpha = [0.0, 0.0], activation_beta = [0.0, 0.0], clip = 2.0 : f64, reverse = true} : (tensor<5x2x9xf32>, tensor<3x9xf32>, tensor<9xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<9xf32>, tensor<2xi32>) -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y : tensor<5x2x3xf32>
}

// CHECK-LABEL: func.func @more_elementwise
// CHECK: kiln.sinh
// CHECK: kiln.acosh
// CHECK: kiln.less_or_equal
// CHECK: kiln.greater_or_equal
func.func @more_elementwise(%x: tensor<3xf32>, %i: tensor<3xi32>) -> (tensor<3xf32>, tensor<3xf32>, tensor<3xi1>, tensor<3xi1>) {
  %0 = kiln.sinh %x : (tensor<3xf32>) -> tensor<3xf32>
  %1 = kiln.acosh %x : (tensor<3xf32>) -> tensor<3xf32>
  %2 = kiln.less_or_equal %i, %i : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi1>
  %3 = kiln.greater_or_equal %x, %x : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xi1>
  return %0, %1, %2, %3 : tensor<3xf32>, tensor<3xf32>, tensor<3xi1>, tensor<3xi1>
}

// CHECK-LABEL: func.func @det
func.func @det(%a: tensor<2x3x3xf64>) -> tensor<2xf64> {
  // CHECK: kiln.det %arg0 : (tensor<2x3x3xf64>) -> tensor<2xf64>
  %0 = kiln.det %a : (tensor<2x3x3xf64>) -> tensor<2xf64>
  return %0 : tensor<2xf64>
}
