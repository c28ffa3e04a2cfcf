// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg | FileCheck %s

// kiln.if: an scf.if whose branches copy their results into one
// destination made before it, so that both yield the same buffer (an
// alloc_tensor: CSE would merge two identical tensor.empty ops).
// CHECK-LABEL: func.func @branch
// CHECK: %[[DEST:.*]] = bufferization.alloc_tensor() : tensor<4xf32>
// CHECK: %[[C:.*]] = tensor.extract %arg1[] : tensor<i1>
// CHECK: scf.if %[[C]] -> (tensor<4xf32>) {
// CHECK: %[[A:.*]] = linalg.generic
// CHECK: arith.addf
// CHECK: %[[CA:.*]] = linalg.copy ins(%[[A]] : tensor<4xf32>) outs(%[[DEST]] : tensor<4xf32>)
// CHECK: scf.yield %[[CA]]
// CHECK: } else {
// CHECK: %[[CB:.*]] = linalg.copy ins(%arg0 : tensor<4xf32>) outs(%[[DEST]] : tensor<4xf32>)
// CHECK: scf.yield %[[CB]]
func.func @branch(%x: tensor<4xf32>, %c: tensor<i1>) -> tensor<4xf32> {
  %y = "kiln.if"(%c) ({
    %a = kiln.add %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xf32>
    kiln.yield %a : tensor<4xf32>
  }, {
    kiln.yield %x : tensor<4xf32>
  }) : (tensor<i1>) -> tensor<4xf32>
  return %y : tensor<4xf32>
}

// -----

// kiln.loop: one scf.for over the trip count (not unrolled) carrying the
// condition as a tensor<i1>, the carried value and the stacked scan
// output. The iteration's carried value is chosen (new where the
// condition held) into a temporary, the scan value inserted into its row,
// then the choice copied over the old value in place.
// CHECK-LABEL: func.func @loop
// CHECK: %[[STACK:.*]] = bufferization.alloc_tensor() : tensor<6x2xf32>
// CHECK: scf.for %[[IV:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[CT:.*]] = %arg1, %[[X:.*]] = %arg0, %[[S:.*]] = %[[STACK]])
// CHECK: %[[C:.*]] = tensor.extract %[[CT]][] : tensor<i1>
// CHECK: %[[I:.*]] = arith.index_cast %[[IV]] : index to i64
// CHECK: %[[NEW:.*]] = linalg.generic
// CHECK: arith.mulf
// CHECK: %[[STILL:.*]] = arith.andi %[[C]]
// CHECK: %[[CNEXT:.*]] = tensor.insert %[[STILL]] into %[[CT]][]
// CHECK: %[[CHOSEN:.*]] = linalg.generic {{.*}} ins(%[[NEW]], %[[X]]
// CHECK: arith.select %[[C]]
// CHECK: %[[ROW:.*]] = tensor.insert_slice %[[NEW]] into %[[S]][%[[IV]], 0] [1, 2] [1, 1]
// CHECK: %[[XNEXT:.*]] = linalg.copy ins(%[[CHOSEN]] : tensor<2xf32>) outs(%[[X]] : tensor<2xf32>)
// CHECK: scf.yield %[[CNEXT]], %[[XNEXT]], %[[ROW]]
// CHECK-NOT: scf.for
func.func @loop(%x: tensor<2xf32>, %c: tensor<i1>) -> (tensor<2xf32>, tensor<6x2xf32>) {
  %r:2 = "kiln.loop"(%c, %x) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %d = kiln.mul %v, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    kiln.yield %k, %d, %d : tensor<i1>, tensor<2xf32>, tensor<2xf32>
  }) {trip_count = 6 : i64} : (tensor<i1>, tensor<2xf32>) -> (tensor<2xf32>, tensor<6x2xf32>)
  return %r#0, %r#1 : tensor<2xf32>, tensor<6x2xf32>
}

// -----

// kiln.loop without a trip count (-1): one scf.while carrying the
// condition as a tensor<i1>, the iteration number and the carried value;
// the before region reads the condition, the after region runs the body,
// writes the new condition in place and copies the carried value over
// the old.
// CHECK-LABEL: func.func @while
// CHECK: %[[R:.*]]:3 = scf.while (%[[CT:.*]] = %arg1, %[[IV:.*]] = %c0, %[[X:.*]] = %arg0)
// CHECK: %[[C:.*]] = tensor.extract %[[CT]][] : tensor<i1>
// CHECK: scf.condition(%[[C]]) %[[CT]], %[[IV]], %[[X]]
// CHECK: } do {
// CHECK: ^bb0(%[[CT2:.*]]: tensor<i1>, %[[IV2:.*]]: index, %[[X2:.*]]: tensor<2xf32>):
// CHECK: arith.index_cast %[[IV2]] : index to i64
// CHECK: %[[NEW:.*]] = linalg.generic
// CHECK: arith.mulf
// CHECK: arith.cmpf ogt
// CHECK: %[[CNEXT:.*]] = tensor.insert %{{.*}} into %[[CT2]][]
// CHECK: %[[XNEXT:.*]] = linalg.copy ins(%{{.*}} : tensor<2xf32>) outs(%[[X2]] : tensor<2xf32>)
// CHECK: %[[INEXT:.*]] = arith.addi %[[IV2]], %c1
// CHECK: scf.yield %[[CNEXT]], %[[INEXT]], %[[XNEXT]]
// CHECK: return %[[R]]#2
func.func @while(%x: tensor<2xf32>, %c: tensor<i1>, %limit: tensor<f32>) -> tensor<2xf32> {
  %r = "kiln.loop"(%c, %x) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %d = kiln.mul %v, %v : (tensor<2xf32>, tensor<2xf32>) -> tensor<2xf32>
    %s = kiln.reduce_sum %d {keepdims = 0 : i64} : (tensor<2xf32>) -> tensor<f32>
    %g = kiln.greater %s, %limit : (tensor<f32>, tensor<f32>) -> tensor<i1>
    kiln.yield %g, %d : tensor<i1>, tensor<2xf32>
  }) {trip_count = -1 : i64} : (tensor<i1>, tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}
