// RUN: graph-opt %s --split-input-file --kiln-simplify | FileCheck %s

// Identity elements vanish where IEEE 754 agrees.
// CHECK-LABEL: func.func @identities
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[I:.*]]: tensor<4xi32>)
// CHECK-NOT: kiln.mul
// CHECK-NOT: kiln.div
// CHECK: return %[[X]], %[[X]], %[[X]], %[[X]], %[[I]]
func.func @identities(%x: tensor<4xf32>, %i: tensor<4xi32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi32>) {
  %one = kiln.constant dense<1.0> : tensor<4xf32>
  %nzero = kiln.constant dense<-0.0> : tensor<f32>
  %pzero = kiln.constant dense<0.0> : tensor<f32>
  %izero = kiln.constant dense<0> : tensor<4xi32>
  %0 = kiln.mul %one, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.div %x, %one : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = kiln.add %x, %nzero : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %3 = kiln.sub %x, %pzero : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %4 = kiln.add %izero, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0, %1, %2, %3, %4 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xi32>
}

// -----

// These must stay: x + 0.0 turns -0.0 into +0.0, 1 / x and 0 - x are not
// x, and a broadcast that grows x is not an identity.
// CHECK-LABEL: func.func @not_identities
// CHECK: kiln.add
// CHECK: kiln.div
// CHECK: kiln.mul
// CHECK: kiln.sub
func.func @not_identities(%x: tensor<4xf32>, %s: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %pzero = kiln.constant dense<0.0> : tensor<4xf32>
  %one = kiln.constant dense<1.0> : tensor<4xf32>
  %0 = kiln.add %x, %pzero : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.div %one, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  %2 = kiln.mul %s, %one : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  %3 = kiln.sub %pzero, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1, %2, %3 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// CHECK-LABEL: func.func @reshapes_and_transposes
// CHECK-SAME: (%[[X:.*]]: tensor<2x3x4xf32>)
// CHECK: %[[R:.*]] = kiln.reshape %[[X]] {allowzero = 1 : i64, shape = array<i64: 4, 6>}
// CHECK: %[[T:.*]] = kiln.transpose %[[X]] {perm = array<i64: 1, 2, 0>}
// CHECK: return %[[R]], %[[T]]
func.func @reshapes_and_transposes(%x: tensor<2x3x4xf32>) -> (tensor<4x6xf32>, tensor<3x4x2xf32>) {
  %0 = kiln.reshape %x {shape = array<i64: 6, 4>} : (tensor<2x3x4xf32>) -> tensor<6x4xf32>
  %1 = kiln.reshape %0 {shape = array<i64: 4, -1>} : (tensor<6x4xf32>) -> tensor<4x6xf32>
  %2 = kiln.transpose %x {perm = array<i64: 0, 2, 1>} : (tensor<2x3x4xf32>) -> tensor<2x4x3xf32>
  %3 = kiln.transpose %2 {perm = array<i64: 2, 1, 0>} : (tensor<2x4x3xf32>) -> tensor<3x4x2xf32>
  return %1, %3 : tensor<4x6xf32>, tensor<3x4x2xf32>
}

// -----

// A transpose that moves only dimensions of size 1 is a reshape (no copy);
// one that reorders two dimensions holding data stays.
// CHECK-LABEL: func.func @transposes_of_unit_dims
// CHECK-SAME: (%[[X:.*]]: tensor<128x1x768xf32>, %[[Y:.*]]: tensor<2x1x3xf32>)
// CHECK: %[[R:.*]] = kiln.reshape %[[X]] {allowzero = 1 : i64, shape = array<i64: 1, 128, 768>}
// CHECK: %[[T:.*]] = kiln.transpose %[[Y]] {perm = array<i64: 2, 1, 0>}
// CHECK: return %[[R]], %[[T]]
func.func @transposes_of_unit_dims(%x: tensor<128x1x768xf32>, %y: tensor<2x1x3xf32>) -> (tensor<1x128x768xf32>, tensor<3x1x2xf32>) {
  %0 = kiln.transpose %x {perm = array<i64: 1, 0, 2>} : (tensor<128x1x768xf32>) -> tensor<1x128x768xf32>
  %1 = kiln.transpose %y {perm = array<i64: 2, 1, 0>} : (tensor<2x1x3xf32>) -> tensor<3x1x2xf32>
  return %0, %1 : tensor<1x128x768xf32>, tensor<3x1x2xf32>
}

// -----

// x ^ 2 is x * x; other exponents, and a square that broadcasts x, stay.
// CHECK-LABEL: func.func @squares
// CHECK-SAME: (%[[X:.*]]: tensor<4xf32>, %[[S:.*]]: tensor<f32>)
// CHECK: %[[M:.*]] = kiln.mul %[[X]], %[[X]]
// CHECK: %[[C:.*]] = kiln.pow %[[X]]
// CHECK: %[[B:.*]] = kiln.pow %[[S]]
// CHECK: return %[[M]], %[[C]], %[[B]]
func.func @squares(%x: tensor<4xf32>, %s: tensor<f32>) -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %two = kiln.constant dense<2.0> : tensor<f32>
  %three = kiln.constant dense<3.0> : tensor<f32>
  %twos = kiln.constant dense<2.0> : tensor<4xf32>
  %0 = kiln.pow %x, %two : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %1 = kiln.pow %x, %three : (tensor<4xf32>, tensor<f32>) -> tensor<4xf32>
  %2 = kiln.pow %s, %twos : (tensor<f32>, tensor<4xf32>) -> tensor<4xf32>
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}

// -----

// A 2-D MatMul becomes a Gemm, and transposes of its operands fold into it.
// CHECK-LABEL: func.func @transposes_into_gemm
// CHECK-SAME: (%[[A:.*]]: tensor<3x2xf32>, %[[B:.*]]: tensor<4x3xf32>)
// CHECK-NOT: kiln.transpose
// CHECK-NOT: kiln.matmul
// CHECK: kiln.gemm %[[A]], %[[B]] {transA = 1 : i64, transB = 1 : i64}
func.func @transposes_into_gemm(%a: tensor<3x2xf32>, %b: tensor<4x3xf32>) -> tensor<2x4xf32> {
  %at = kiln.transpose %a : (tensor<3x2xf32>) -> tensor<2x3xf32>
  %bt = kiln.transpose %b : (tensor<4x3xf32>) -> tensor<3x4xf32>
  %0 = kiln.matmul %at, %bt : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// A batched MatMul is left alone.
// CHECK-LABEL: func.func @batched_matmul
// CHECK: kiln.matmul
func.func @batched_matmul(%a: tensor<5x2x3xf32>, %b: tensor<3x4xf32>) -> tensor<5x2x4xf32> {
  %0 = kiln.matmul %a, %b : (tensor<5x2x3xf32>, tensor<3x4xf32>) -> tensor<5x2x4xf32>
  return %0 : tensor<5x2x4xf32>
}
