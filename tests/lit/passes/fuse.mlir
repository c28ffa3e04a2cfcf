// RUN: graph-opt %s --split-input-file --kiln-fuse | FileCheck %s

// MatMul + bias + activation: one kernel, the contraction as its hero.
// CHECK-LABEL: func.func @epilogue
// CHECK-SAME: (%[[X:.*]]: tensor<2x4xf32>, %[[W:.*]]: tensor<4x8xf32>, %[[B:.*]]: tensor<8xf32>)
// CHECK: %[[F:.*]] = kiln.fusion "fusion_0_matmul_add_relu"(%[[X]], %[[W]], %[[B]])
// CHECK: ^bb0(%[[A0:.*]]: tensor<2x4xf32>, %[[A1:.*]]: tensor<4x8xf32>, %[[A2:.*]]: tensor<8xf32>):
// CHECK-NEXT: %[[M:.*]] = kiln.matmul %[[A0]], %[[A1]]
// CHECK-NEXT: %[[S:.*]] = kiln.add %[[M]], %[[A2]]
// CHECK-NEXT: %[[R:.*]] = kiln.relu %[[S]]
// CHECK-NEXT: kiln.yield %[[R]]
// CHECK: return %[[F]]
func.func @epilogue(%x: tensor<2x4xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<2x8xf32> {
  %0 = kiln.matmul %x, %w : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %1 = kiln.add %0, %b : (tensor<2x8xf32>, tensor<8xf32>) -> tensor<2x8xf32>
  %2 = kiln.relu %1 : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %2 : tensor<2x8xf32>
}

// -----

// A contraction never takes its producers (they would be recomputed for
// every reuse); the producer chain fuses on its own.
// CHECK-LABEL: func.func @no_prologue
// CHECK: %[[P:.*]] = kiln.fusion "fusion_1_neg_exp"
// CHECK: kiln.fusion "fusion_0_matmul_relu"(%[[P]],
func.func @no_prologue(%x: tensor<2x4xf32>, %w: tensor<4x8xf32>) -> tensor<2x8xf32> {
  %0 = kiln.neg %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %1 = kiln.exp %0 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = kiln.matmul %1, %w : (tensor<2x4xf32>, tensor<4x8xf32>) -> tensor<2x8xf32>
  %3 = kiln.relu %2 : (tensor<2x8xf32>) -> tensor<2x8xf32>
  return %3 : tensor<2x8xf32>
}

// -----

// A reduction takes its elementwise producers and consumers: one kernel.
// CHECK-LABEL: func.func @reduction
// CHECK: kiln.fusion "fusion_0_reduce_sum_mul_sqrt"
// CHECK-NOT: kiln.fusion
func.func @reduction(%x: tensor<4x8xf32>) -> tensor<4x1xf32> {
  %0 = kiln.mul %x, %x : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = kiln.reduce_sum %0 {axes = array<i64: 1>} : (tensor<4x8xf32>) -> tensor<4x1xf32>
  %2 = kiln.sqrt %1 : (tensor<4x1xf32>) -> tensor<4x1xf32>
  return %2 : tensor<4x1xf32>
}

// -----

// Nothing fuses here: two heroes meet, a producer has a user outside the
// would-be group, and integer tensors do not fuse.
// CHECK-LABEL: func.func @no_fusion
// CHECK-NOT: kiln.fusion
// CHECK: kiln.matmul
// CHECK: kiln.softmax
// CHECK: kiln.exp
// CHECK: kiln.neg
// CHECK: kiln.add
func.func @no_fusion(%x: tensor<2x4xf32>, %w: tensor<4x4xf32>, %i: tensor<4xi32>) -> (tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xi32>) {
  %0 = kiln.matmul %x, %w : (tensor<2x4xf32>, tensor<4x4xf32>) -> tensor<2x4xf32>
  %1 = kiln.softmax %0 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %2 = kiln.exp %x : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %3 = kiln.neg %2 : (tensor<2x4xf32>) -> tensor<2x4xf32>
  %4 = kiln.add %i, %i : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %1, %2, %3, %4 : tensor<2x4xf32>, tensor<2x4xf32>, tensor<2x4xf32>, tensor<4xi32>
}

// -----

// Sibling fusion: two elementwise chains that read the same input and make
// results of one shape become one kernel with two results.
// CHECK-LABEL: func.func @siblings
// CHECK-SAME: (%[[X:.*]]: tensor<4x8xf32>, %[[Y:.*]]: tensor<4x8xf32>)
// CHECK: %[[F:.*]]:2 = kiln.fusion "{{.*}}"(%[[X]], %[[Y]]) : (tensor<4x8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>)
// CHECK-DAG: kiln.exp
// CHECK-DAG: kiln.neg
// CHECK-DAG: kiln.mul
// CHECK: kiln.yield
// CHECK-NOT: kiln.fusion
// CHECK: return %[[F]]#{{[01]}}, %[[F]]#{{[01]}}
func.func @siblings(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0 = kiln.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = kiln.neg %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = kiln.mul %1, %y : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  return %0, %2 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// Must not merge: the second sibling reads the first's result (merging
// would make a kernel feed itself), and siblings of different shapes have
// no loop in common.
// CHECK-LABEL: func.func @not_siblings
// CHECK-NOT: kiln.fusion
// CHECK: return
func.func @not_siblings(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %v: tensor<8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>) {
  %0 = kiln.exp %x : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %1 = kiln.sub %x, %0 : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = kiln.exp %v : (tensor<8xf32>) -> tensor<8xf32>
  %3 = kiln.mul %y, %v : (tensor<4x8xf32>, tensor<8xf32>) -> tensor<4x8xf32>
  return %0, %1, %2, %3 : tensor<4x8xf32>, tensor<4x8xf32>, tensor<8xf32>, tensor<4x8xf32>
}

// -----

// Comparisons and Where fuse like any elementwise op: the mask never
// reaches memory. (Unsigned tensors stay out of fusions.)
// CHECK-LABEL: func.func @mask
// CHECK: kiln.fusion "fusion_0_less_where_relu"
// CHECK-NEXT: ^bb0
// CHECK-NEXT: kiln.less {{.*}} -> tensor<4x8xi1>
// CHECK-NEXT: kiln.where
// CHECK-NEXT: kiln.relu
// CHECK-NEXT: kiln.yield
// CHECK-NOT: kiln.fusion
// CHECK: kiln.less {{.*}} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
// CHECK-NEXT: return
func.func @mask(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>, %u: tensor<4xui8>, %v: tensor<4xui8>) -> (tensor<4x8xf32>, tensor<4xi1>) {
  %0 = kiln.less %x, %y : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xi1>
  %1 = kiln.where %0, %x, %y : (tensor<4x8xi1>, tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
  %2 = kiln.relu %1 : (tensor<4x8xf32>) -> tensor<4x8xf32>
  %3 = kiln.less %u, %v : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  return %2, %3 : tensor<4x8xf32>, tensor<4xi1>
}
