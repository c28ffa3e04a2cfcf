// RUN: graph-compile %S/Inputs/converters.onnx --emit=graph -O0 | FileCheck %s

// ONNX ops Kiln builds from others (Inputs/converters.onnx, one node each).
// NegativeLogLikelihoodLoss with ignore_index 1: ignored targets become 0,
// the rest must lie in [0, 4) (kiln.in_range, whose check makes the
// GatherElements' own one redundant: one kiln.check only), the picked
// log-probabilities are negated, weighted 0 where ignored, and the mean is
// the sum over the weights' sum.
// CHECK-LABEL: func.func @main
// CHECK-SAME: kiln.checks = ["node 'nll' (NegativeLogLikelihoodLoss): target {value} is out of range [0, 3]"]
// CHECK: %[[IGN:.*]] = kiln.equal %arg1
// CHECK: %[[SAFE:.*]] = kiln.where %[[IGN]], %{{.*}}, %arg1
// CHECK: %[[CHECK:.*]] = kiln.check %[[SAFE]]
// CHECK: %[[T:.*]] = kiln.in_range %[[SAFE]] {lower = 0 : i64, upper = 3 : i64, what = "target"}
// CHECK: %[[COL:.*]] = kiln.reshape %[[T]]
// CHECK-NOT: kiln.check
// CHECK: kiln.gather_elements %arg0, %[[COL]] {axis = 1 : i64}
// CHECK: kiln.neg
// CHECK: %[[W:.*]] = kiln.where %[[IGN]]
// CHECK: %[[SUM:.*]] = kiln.reduce_sum
// CHECK: %[[WSUM:.*]] = kiln.reduce_sum %[[W]]
// CHECK: %[[LOSS:.*]] = kiln.div %[[SUM]], %[[WSUM]]
// Hardmax: ArgMax compared with the positions along the axis.
// CHECK: %[[ARG:.*]] = kiln.argmax %arg0 {axis = 1 : i64}
// CHECK: %[[POS:.*]] = kiln.constant dense<{{\[\[}}0, 1, 2, 3]]> : tensor<1x4xi64>
// CHECK: kiln.equal %[[ARG]], %[[POS]]
// DepthToSpace (CRD): reshape, transpose, reshape.
// CHECK: kiln.reshape %arg2 {{.*}}shape = array<i64: 1, 2, 2, 2, 2, 2>
// CHECK: kiln.transpose %{{.*}} {perm = array<i64: 0, 1, 4, 2, 5, 3>}
// CHECK: kiln.reshape {{.*}} -> tensor<1x2x4x4xf32>
// OneHot: negative indices wrap, then compare with the positions.
// CHECK: kiln.less
// CHECK: kiln.where
// CHECK: kiln.equal {{.*}} : (tensor<2x1xi64>, tensor<1x4xi64>) -> tensor<2x4xi1>
// LSTM: X W^T for every step in one MatMul, then the recurrence over R^T.
// CHECK: %[[XW:.*]] = kiln.matmul %arg3, %{{.*}} : (tensor<5x1x3xf32>, tensor<3x8xf32>) -> tensor<5x1x8xf32>
// CHECK: kiln.recurrence %[[XW]], %{{.*}} {{.*}}cell = "lstm"{{.*}} : (tensor<5x1x8xf32>, tensor<2x8xf32>,
// CHECK: return %[[LOSS]], {{.*}}, %[[CHECK]] :
