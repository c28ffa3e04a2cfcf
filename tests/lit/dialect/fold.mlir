// RUN: graph-opt %s -canonicalize | FileCheck %s

// CHECK-LABEL: func.func @fold_constant_arithmetic
func.func @fold_constant_arithmetic() -> tensor<2xf32> {
  %a = kiln.constant dense<[1.0, 2.0]> : tensor<2xf32>
  %b = kiln.constant dense<[3.0, 5.0]> : tensor<2xf32>
  %0 = kiln.add %a, %b : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %1 = kiln.mul %0, %a : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
  %2 = kiln.neg %1 : (tensor<2xf32>) -> tensor<2xf32>
  // CHECK: %[[C:.*]] = kiln.constant dense<[-4.000000e+00, -1.400000e+01]> : tensor<2xf32>
  // CHECK-NOT: kiln.add
  // CHECK-NOT: kiln.mul
  // CHECK-NOT: kiln.neg
  // CHECK: return %[[C]]
  return %2 : tensor<2xf32>
}

// CHECK-LABEL: func.func @fold_integer_division
func.func @fold_integer_division() -> (tensor<2xi32>, tensor<2xi32>) {
  %a = kiln.constant dense<[7, -7]> : tensor<2xi32>
  %b = kiln.constant dense<[2, 2]> : tensor<2xi32>
  %z = kiln.constant dense<[2, 0]> : tensor<2xi32>
  // CHECK-DAG: %[[Q:.*]] = kiln.constant dense<[3, -3]> : tensor<2xi32>
  %0 = kiln.div %a, %b : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  // Division by zero is left to run time, where it is defined.
  // CHECK-DAG: %[[D:.*]] = kiln.div
  %1 = kiln.div %a, %z : (tensor<2xi32>, tensor<2xi32>) -> tensor<2xi32>
  // CHECK: return %[[Q]], %[[D]]
  return %0, %1 : tensor<2xi32>, tensor<2xi32>
}

// CHECK-LABEL: func.func @fold_unary_math
func.func @fold_unary_math() -> tensor<3xf32> {
  %a = kiln.constant dense<[-1.0, 0.0, 4.0]> : tensor<3xf32>
  %0 = kiln.relu %a : (tensor<3xf32>) -> tensor<3xf32>
  %1 = kiln.sqrt %0 : (tensor<3xf32>) -> tensor<3xf32>
  // CHECK: kiln.constant dense<[0.000000e+00, 0.000000e+00, 2.000000e+00]>
  // CHECK-NOT: kiln.relu
  return %1 : tensor<3xf32>
}

// CHECK-LABEL: func.func @fold_reshape_identity_transpose
// CHECK-SAME: (%[[X:.*]]: tensor<2x3xf32>)
func.func @fold_reshape_identity_transpose(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>) {
  %c = kiln.constant dense<[[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]]> : tensor<3x2xf32>
  %0 = kiln.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kiln.transpose %0 {perm = array<i64: 0, 1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %2 = kiln.reshape %1 {shape = array<i64: 2, 3>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %3 = kiln.reshape %c {shape = array<i64: 3, 2>} : (tensor<3x2xf32>) -> tensor<3x2xf32>
  %4 = kiln.reshape %c {shape = array<i64: 6>} : (tensor<3x2xf32>) -> tensor<6xf32>
  %5 = kiln.reshape %4 {shape = array<i64: 3, 2>} : (tensor<6xf32>) -> tensor<3x2xf32>
  // CHECK-NOT: kiln.identity
  // CHECK-NOT: kiln.transpose
  // CHECK-NOT: kiln.reshape
  // CHECK: %[[C:.*]] = kiln.constant dense<{{\[\[}}1.000000e+00, 2.000000e+00], [3.000000e+00, 4.000000e+00], [5.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
  // CHECK: return %[[X]], %[[C]]
  return %2, %5 : tensor<2x3xf32>, tensor<3x2xf32>
}

// Nothing here may change: the operands are not constants, the transpose is
// not an identity, and the broadcast add has operands of different types.
// CHECK-LABEL: func.func @no_fold
func.func @no_fold(%x: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<3x2xf32>) {
  %c = kiln.constant dense<1.0> : tensor<3xf32>
  // CHECK: %[[C:.*]] = kiln.constant dense<1.000000e+00> : tensor<3xf32>
  // CHECK: %[[A:.*]] = kiln.add %{{.*}}, %[[C]]
  %0 = kiln.add %x, %c : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[E:.*]] = kiln.exp %[[A]]
  %1 = kiln.exp %0 : (tensor<2x3xf32>) -> tensor<2x3xf32>
  // CHECK: %[[T:.*]] = kiln.transpose %[[E]]
  %2 = kiln.transpose %1 : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // CHECK: return %[[E]], %[[T]]
  return %1, %2 : tensor<2x3xf32>, tensor<3x2xf32>
}

// A transposed constant (weights an exporter transposes before a MatMul) is
// stored transposed; 3-D permutations and bf16 elements included.
// CHECK-LABEL: func.func @fold_constant_transpose
func.func @fold_constant_transpose() -> (tensor<3x2xf32>, tensor<2x1x2xi32>, tensor<2x1xbf16>) {
  %a = kiln.constant dense<[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]> : tensor<2x3xf32>
  %0 = kiln.transpose %a {perm = array<i64: 1, 0>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  %b = kiln.constant dense<[[[1, 2]], [[3, 4]]]> : tensor<2x1x2xi32>
  %1 = kiln.transpose %b {perm = array<i64: 2, 1, 0>} : (tensor<2x1x2xi32>) -> tensor<2x1x2xi32>
  %c = kiln.constant dense<[[1.5, -2.0]]> : tensor<1x2xbf16>
  %2 = kiln.transpose %c {perm = array<i64: 1, 0>} : (tensor<1x2xbf16>) -> tensor<2x1xbf16>
  // CHECK-DAG: kiln.constant dense<{{\[}}[1.000000e+00, 4.000000e+00], [2.000000e+00, 5.000000e+00], [3.000000e+00, 6.000000e+00]]> : tensor<3x2xf32>
  // CHECK-DAG: kiln.constant dense<{{\[}}{{\[}}[1, 3]], {{\[}}[2, 4]]]> : tensor<2x1x2xi32>
  // CHECK-DAG: kiln.constant dense<{{\[}}[1.500000e+00], [-2.000000e+00]]> : tensor<2x1xbf16>
  // CHECK-NOT: kiln.transpose
  return %0, %1, %2 : tensor<3x2xf32>, tensor<2x1x2xi32>, tensor<2x1xbf16>
}

// A rotation of three dimensions, values all distinct (numpy's
// transpose(arange(12).reshape(2, 3, 2), (1, 2, 0))): every carry of the
// folder's walk over the result is taken.
// CHECK-LABEL: func.func @fold_constant_transpose_rotation
// CHECK: kiln.constant dense<{{\[\[\[}}0, 6], [1, 7]], {{\[\[}}2, 8], [3, 9]], {{\[\[}}4, 10], [5, 11]]]> : tensor<3x2x2xi64>
// CHECK-NOT: kiln.transpose
func.func @fold_constant_transpose_rotation() -> tensor<3x2x2xi64> {
  %a = kiln.constant dense<[[[0, 1], [2, 3], [4, 5]], [[6, 7], [8, 9], [10, 11]]]> : tensor<2x3x2xi64>
  %0 = kiln.transpose %a {perm = array<i64: 1, 2, 0>} : (tensor<2x3x2xi64>) -> tensor<3x2x2xi64>
  return %0 : tensor<3x2x2xi64>
}

// Relu of NaN is NaN, folded as the kernel (arith.maximumf) computes it.
// CHECK-LABEL: func.func @fold_relu_keeps_nan
// CHECK: kiln.constant dense<[0x7FC00000, 0.000000e+00, 2.000000e+00]>
// CHECK-NOT: kiln.relu
func.func @fold_relu_keeps_nan() -> tensor<3xf32> {
  %a = kiln.constant dense<[0x7FC00000, -1.0, 2.0]> : tensor<3xf32>
  %0 = kiln.relu %a : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// Comparisons of constants fold (an If's condition from frozen inputs);
// NaN compares false, so NaN <= NaN, 1 <= 1 is [false, true] as 16000 <
// 16000, 8000 < 16000 is.
// CHECK-LABEL: func.func @fold_compare
// CHECK-DAG: %[[EQ:.*]] = kiln.constant dense<[true, false]> : tensor<2xi1>
// CHECK-DAG: %[[LT:.*]] = kiln.constant dense<[false, true]> : tensor<2xi1>
// CHECK-NOT: kiln.equal
// CHECK-NOT: kiln.less
// CHECK: return %[[EQ]], %[[LT]], %[[LT]]
func.func @fold_compare() -> (tensor<2xi1>, tensor<2xi1>, tensor<2xi1>) {
  %a = kiln.constant dense<[16000, 8000]> : tensor<2xi64>
  %b = kiln.constant dense<16000> : tensor<i64>
  %0 = kiln.equal %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi1>
  %1 = kiln.less %a, %b : (tensor<2xi64>, tensor<i64>) -> tensor<2xi1>
  %n = kiln.constant dense<[0x7FC00000, 1.0]> : tensor<2xf32>
  %2 = kiln.less_or_equal %n, %n : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xi1>
  return %0, %1, %2 : tensor<2xi1>, tensor<2xi1>, tensor<2xi1>
}

// Floor, Ceil and Round (half to even) fold: a Loop's trip count computed
// as ceil((limit - start) / delta) is then known at import.
// CHECK-LABEL: func.func @fold_rounding
func.func @fold_rounding() -> (tensor<4xf32>, tensor<4xf32>, tensor<4xf32>) {
  %a = kiln.constant dense<[2.5, -2.5, 3.5, 0.2]> : tensor<4xf32>
  %0 = kiln.floor %a : (tensor<4xf32>) -> tensor<4xf32>
  %1 = kiln.ceil %a : (tensor<4xf32>) -> tensor<4xf32>
  %2 = kiln.round %a : (tensor<4xf32>) -> tensor<4xf32>
  // CHECK-DAG: kiln.constant dense<[2.000000e+00, -3.000000e+00, 3.000000e+00, 0.000000e+00]>
  // CHECK-DAG: kiln.constant dense<[3.000000e+00, -2.000000e+00, 4.000000e+00, 1.000000e+00]>
  // CHECK-DAG: kiln.constant dense<[2.000000e+00, -2.000000e+00, 4.000000e+00, 0.000000e+00]>
  // CHECK-NOT: kiln.floor
  // CHECK-NOT: kiln.ceil
  // CHECK-NOT: kiln.round
  return %0, %1, %2 : tensor<4xf32>, tensor<4xf32>, tensor<4xf32>
}
