// RUN: graph-opt %s --split-input-file --kiln-fold-constants | FileCheck %s
// RUN: graph-opt %s --split-input-file --kiln-fold-constants=max-bytes=8 | FileCheck %s --check-prefix=CAP

// A chain of ops on constants collapses to one constant; the op on the
// argument stays.
// CHECK-LABEL: func.func @chain
// CHECK-SAME: (%[[X:.*]]: tensor<3xf32>)
// CHECK-DAG: %[[C:.*]] = kiln.constant dense<[-2.000000e+00, -6.000000e+00, -1.200000e+01]> : tensor<3xf32>
// CHECK-NOT: kiln.mul
// CHECK-NOT: kiln.neg
// CHECK: %[[R:.*]] = kiln.add %[[X]], %[[C]]
// CHECK: return %[[R]]
// With a cap of 8 bytes the 12-byte results are not folded.
// CAP-LABEL: func.func @chain
// CAP: kiln.mul
// CAP: kiln.neg
func.func @chain(%x: tensor<3xf32>) -> tensor<3xf32> {
  %a = kiln.constant dense<[1.0, 2.0, 3.0]> : tensor<3xf32>
  %b = kiln.constant dense<[2.0, 3.0, 4.0]> : tensor<3xf32>
  %0 = kiln.mul %a, %b : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  %1 = kiln.neg %0 : (tensor<3xf32>) -> tensor<3xf32>
  %2 = kiln.add %x, %1 : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %2 : tensor<3xf32>
}

// -----

// Shape arithmetic as exporters write it: scalar minus vector broadcasts,
// then concat and slice of constants.
// CHECK-LABEL: func.func @shape_arithmetic
// CHECK: %[[S:.*]] = kiln.constant dense<[2, 6]> : tensor<2xi64>
// CHECK-NEXT: return %[[S]]
func.func @shape_arithmetic() -> tensor<2xi64> {
  %rank = kiln.constant dense<3> : tensor<i64>
  %one = kiln.constant dense<[1]> : tensor<1xi64>
  %0 = kiln.sub %rank, %one : (tensor<i64>, tensor<1xi64>) -> tensor<1xi64>
  %six = kiln.constant dense<[6, 7]> : tensor<2xi64>
  %1 = kiln.slice %six {starts = array<i64: 0>, ends = array<i64: 1>} : (tensor<2xi64>) -> tensor<1xi64>
  %2 = kiln.concat %0, %1 {axis = 0 : i64} : (tensor<1xi64>, tensor<1xi64>) -> tensor<2xi64>
  return %2 : tensor<2xi64>
}

// -----

// Nothing to fold: every op reads the argument.
// CHECK-LABEL: func.func @nothing
// CHECK: kiln.exp
// CHECK: kiln.mul
func.func @nothing(%x: tensor<2xf32>) -> tensor<2xf32> {
  %0 = kiln.exp %x : (tensor<2xf32>) -> tensor<2xf32>
  %1 = kiln.mul %0, %x : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  return %1 : tensor<2xf32>
}
