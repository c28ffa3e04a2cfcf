// RUN: graph-compile %S/Inputs/composites.onnx --emit=graph -O0 | FileCheck %s

// ONNX ops defined as functions of others import as those kiln ops:
// ReduceL2 = sqrt(sum x^2); ReduceLogSumExp = log(sum exp(x - max)) + max
// (the max kept for the subtraction, then as keepdims asks); Xor = not
// equal; IsNaN = x != x; Shrink = two selects.
// CHECK-LABEL: func.func @main
// CHECK: %[[SQ:.*]] = kiln.mul %arg0, %arg0
// CHECK: %[[SUM:.*]] = kiln.reduce_sum %[[SQ]] {axes = array<i64: 1>, keepdims = 0 : i64}
// CHECK: %[[L2:.*]] = kiln.sqrt %[[SUM]]
// CHECK: %[[MAX:.*]] = kiln.reduce_max %arg0 {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
// CHECK: %[[D:.*]] = kiln.sub %arg0, %[[MAX]]
// CHECK: %[[E:.*]] = kiln.exp %[[D]]
// CHECK: %[[S:.*]] = kiln.reduce_sum %[[E]]
// CHECK: %[[M2:.*]] = kiln.reduce_max %arg0
// CHECK: %[[LOG:.*]] = kiln.log %[[S]]
// CHECK: %[[LSE:.*]] = kiln.add %[[LOG]], %[[M2]]
// CHECK: %[[EQ:.*]] = kiln.equal %arg1, %arg2 : (tensor<2x3xi1>, tensor<3xi1>) -> tensor<2x3xi1>
// CHECK: %[[XOR:.*]] = kiln.not %[[EQ]]
// CHECK: %[[SELF:.*]] = kiln.equal %arg0, %arg0
// CHECK: %[[NAN:.*]] = kiln.not %[[SELF]]
// CHECK: kiln.constant dense<-1.500000e+00>
// CHECK: %[[LOW:.*]] = kiln.less %arg0
// CHECK: %[[HIGH:.*]] = kiln.greater %arg0
// CHECK: %[[PLUS:.*]] = kiln.add %arg0
// CHECK: %[[MINUS:.*]] = kiln.sub %arg0
// CHECK: %[[UP:.*]] = kiln.where %[[HIGH]], %[[MINUS]]
// CHECK: %[[SHRINK:.*]] = kiln.where %[[LOW]], %[[PLUS]], %[[UP]]
// CHECK: return %[[L2]], %[[LSE]], %[[XOR]], %[[NAN]], %[[SHRINK]]
