// RUN: graph-opt %s --convert-kiln-to-linalg | FileCheck %s
// (Loop order is left as built here; contraction-order.mlir tests it.)

// Broadcasting lives in the indexing maps: a missing leading dimension is
// dropped, a size-1 dimension reads index 0. Feeds become read-only.
// CHECK-DAG: #[[ID2:.*]] = affine_map<(d0, d1) -> (d0, d1)>
// CHECK-DAG: #[[ROW:.*]] = affine_map<(d0, d1) -> (d1)>
// CHECK-DAG: #[[COL0:.*]] = affine_map<(d0, d1) -> (d0, 0)>
// CHECK-DAG: #[[MM_A:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3)>
// CHECK-DAG: #[[MM_B:.*]] = affine_map<(d0, d1, d2, d3) -> (d3, d2)>
// CHECK-DAG: #[[MM_C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-DAG: #[[DROP1:.*]] = affine_map<(d0, d1) -> (d0)>

// CHECK-LABEL: func.func @add_broadcast
// CHECK-SAME: %[[A:.*]]: tensor<2x3xf32> {bufferization.writable = false}
// CHECK-SAME: %[[B:.*]]: tensor<3xf32> {bufferization.writable = false}
func.func @add_broadcast(%a: tensor<2x3xf32>, %b: tensor<3xf32>, %c: tensor<2x1xf32>) -> tensor<2x3xf32> {
  // CHECK: %[[S1:.*]] = linalg.generic {indexing_maps = [#[[ID2]], #[[ROW]], #[[ID2]]], iterator_types = ["parallel", "parallel"]} ins(%[[A]], %[[B]] :
  // CHECK:   arith.addf
  // CHECK: linalg.generic {indexing_maps = [#[[ID2]], #[[COL0]], #[[ID2]]], {{.*}} ins(%[[S1]],
  // CHECK-NOT: kiln.
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  %1 = kiln.add %0, %c : (tensor<2x3xf32>, tensor<2x1xf32>) -> tensor<2x3xf32>
  return %1 : tensor<2x3xf32>
}

// Batched matmul: iteration (batch, m, n, k); B's missing batch dim is
// broadcast by its map; the accumulator starts at zero.
// CHECK-LABEL: func.func @matmul
func.func @matmul(%a: tensor<5x2x4xf32>, %b: tensor<4x3xf32>) -> tensor<5x2x3xf32> {
  // CHECK: %[[ZERO:.*]] = arith.constant 0.000000e+00 : f32
  // CHECK: %[[INIT:.*]] = linalg.fill ins(%[[ZERO]] : f32)
  // CHECK: linalg.generic {indexing_maps = [#[[MM_A]], #[[MM_B]], #[[MM_C]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} {{.*}} outs(%[[INIT]] :
  // CHECK:   %[[P:.*]] = arith.mulf
  // CHECK:   arith.addf %{{.*}}, %[[P]]
  %0 = kiln.matmul %a, %b : (tensor<5x2x4xf32>, tensor<4x3xf32>) -> tensor<5x2x3xf32>
  return %0 : tensor<5x2x3xf32>
}

// keepdims reshapes the reduced tensor back to rank 2.
// CHECK-LABEL: func.func @reduce_max
func.func @reduce_max(%a: tensor<2x3xf32>) -> tensor<2x1xf32> {
  // CHECK: arith.constant 0xFF800000 : f32
  // CHECK: %[[R:.*]] = linalg.generic {indexing_maps = [#[[ID2]], #[[DROP1]]], iterator_types = ["parallel", "reduction"]}
  // CHECK:   arith.maximumf
  // CHECK: tensor.reshape %[[R]]
  // CHECK-SAME: -> tensor<2x1xf32>
  %0 = kiln.reduce_max %a {axes = array<i64: 1>} : (tensor<2x3xf32>) -> tensor<2x1xf32>
  return %0 : tensor<2x1xf32>
}

// Every reduction op lowers through one pattern from its own init value and
// combiner; unsigned integers take the unsigned identity and max, and the
// mean divides the sum by the count (here 3) in a second generic.
// CHECK-LABEL: func.func @reductions_by_interface
func.func @reductions_by_interface(%u: tensor<2x3xui8>, %i: tensor<2x3xi32>, %f: tensor<2x3xf32>) -> (tensor<2xui8>, tensor<2xi32>, tensor<2xf32>) {
  // CHECK: %[[U0:.*]] = arith.constant 0 : i8
  // CHECK: linalg.fill ins(%[[U0]] : i8)
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
  // CHECK:   arith.maxui
  %0 = kiln.reduce_max %u {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x3xui8>) -> tensor<2xui8>
  // CHECK: %[[I1:.*]] = arith.constant 1 : i32
  // CHECK: linalg.fill ins(%[[I1]] : i32)
  // CHECK: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
  // CHECK:   arith.muli
  %1 = kiln.reduce_prod %i {axes = array<i64: -1>, keepdims = 0 : i64} : (tensor<2x3xi32>) -> tensor<2xi32>
  // CHECK: %[[SUM:.*]] = linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]
  // CHECK:   arith.addf
  // CHECK: linalg.generic {{.*}} ins(%[[SUM]] :
  // CHECK:   arith.divf %{{.*}}, %cst{{.*}} : f32
  %2 = kiln.reduce_mean %f {axes = array<i64: 1>, keepdims = 0 : i64} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0, %1, %2 : tensor<2xui8>, tensor<2xi32>, tensor<2xf32>
}

// Softsign, the op added as docs/adding_an_op.md describes: one generic
// whose body is its buildScalar, x / (1 + |x|).
// CHECK-LABEL: func.func @softsign
// CHECK-SAME: %[[X:.*]]: tensor<2x3xf32>
func.func @softsign(%x: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: linalg.generic {{.*}} ins(%[[X]] : tensor<2x3xf32>)
  // CHECK-NEXT: ^bb0(%[[E:.*]]: f32, %{{.*}}: f32):
  // CHECK-NEXT:   %[[ONE:.*]] = arith.constant 1.000000e+00 : f32
  // CHECK-NEXT:   %[[ABS:.*]] = math.absf %[[E]]
  // CHECK-NEXT:   %[[DEN:.*]] = arith.addf %[[ONE]], %[[ABS]]
  // CHECK-NEXT:   %[[Q:.*]] = arith.divf %[[E]], %[[DEN]]
  // CHECK-NEXT:   linalg.yield %[[Q]]
  // CHECK-NOT: kiln.
  %0 = kiln.softsign %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Stable softmax: the row's max m, exp(x - m) in one op (no tensor of
// x - m), its sum s, one division per row (1 / s), a multiplication per
// element. LogSoftmax keeps x - m and takes one log per row.
// CHECK-LABEL: func.func @softmax
func.func @softmax(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: arith.maximumf
  // CHECK: linalg.generic
  // CHECK-NEXT: ^bb0
  // CHECK-NEXT: %[[D:.*]] = arith.subf
  // CHECK-NEXT: math.exp %[[D]]
  // CHECK: arith.addf
  // CHECK: linalg.generic {{.*}} ins(%{{.*}} : tensor<2xf32>) outs(%{{.*}} : tensor<2xf32>)
  // CHECK: arith.divf
  // CHECK: linalg.generic
  // CHECK-NOT: arith.divf
  // CHECK: arith.mulf
  // CHECK-NOT: arith.divf
  %0 = kiln.softmax %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// CHECK-LABEL: func.func @log_softmax
func.func @log_softmax(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // CHECK: arith.maximumf
  // CHECK: %[[SHIFTED:.*]] = linalg.generic
  // CHECK: arith.subf
  // CHECK: math.exp
  // CHECK: arith.addf
  // CHECK: %[[LOG:.*]] = linalg.generic {{.*}} ins(%{{.*}} : tensor<2xf32>) outs(%{{.*}} : tensor<2xf32>)
  // CHECK-NEXT: ^bb0
  // CHECK-NEXT: math.log
  // CHECK: linalg.generic {{.*}} ins(%[[SHIFTED]], %[[LOG]] : tensor<2x3xf32>, tensor<2xf32>)
  // CHECK-NEXT: ^bb0
  // CHECK-NEXT: arith.subf
  // CHECK-NEXT: linalg.yield
  %0 = kiln.log_softmax %a : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// Integer division never traps: the divisor is replaced before divsi.
// CHECK-LABEL: func.func @int_div
func.func @int_div(%a: tensor<4xi32>, %b: tensor<4xi32>) -> tensor<4xi32> {
  // CHECK: %[[IS0:.*]] = arith.cmpi eq, %[[D:.*]], %c0_i32
  // CHECK: %[[SAFE:.*]] = arith.select %{{.*}}, %c1_i32, %[[D]]
  // CHECK: arith.divsi %{{.*}}, %[[SAFE]]
  // CHECK: arith.select %[[IS0]], %c0_i32
  %0 = kiln.div %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  return %0 : tensor<4xi32>
}

// Mod's floor form moves a remainder whose sign differs from the divisor's
// by one divisor; BitShift gives 0 past the bit width; LessOrEqual is an
// ordered compare (false for NaN); the inverse hyperbolic functions are
// math ops (libm after lowering).
// CHECK-LABEL: func.func @more_scalar_bodies
func.func @more_scalar_bodies(%a: tensor<4xi32>, %b: tensor<4xi32>, %u: tensor<4xui8>, %x: tensor<4xf32>) -> (tensor<4xi32>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>) {
  // CHECK: %[[R:.*]] = arith.remsi
  // CHECK: arith.xori %{{.*}}, %{{.*}} : i32
  // CHECK: %[[UP:.*]] = arith.addi %{{.*}}, %{{.*}} : i32
  // CHECK: arith.select %{{.*}}, %[[UP]], %{{.*}} : i32
  %0 = kiln.mod %a, %b : (tensor<4xi32>, tensor<4xi32>) -> tensor<4xi32>
  // CHECK: arith.cmpi uge, %{{.*}}, %c8_i8
  // CHECK: arith.shli
  %1 = kiln.bit_shift %u, %u {direction = "LEFT"} : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  // CHECK: arith.cmpf ole
  %2 = kiln.less_or_equal %x, %x : (tensor<4xf32>, tensor<4xf32>) -> tensor<4xi1>
  // CHECK: math.atanh
  %3 = kiln.atanh %x : (tensor<4xf32>) -> tensor<4xf32>
  return %0, %1, %2, %3 : tensor<4xi32>, tensor<4xui8>, tensor<4xi1>, tensor<4xf32>
}

// CHECK-LABEL: func.func @data_movement
// CHECK-SAME: %[[X:.*]]: tensor<2x3xf32>
func.func @data_movement(%x: tensor<2x3xf32>) -> (tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf32>) {
  // CHECK: linalg.transpose ins(%[[X]] : tensor<2x3xf32>) {{.*}} permutation = [1, 0]
  %0 = kiln.transpose %x : (tensor<2x3xf32>) -> tensor<3x2xf32>
  // CHECK: %[[SHAPE:.*]] = arith.constant dense<6> : tensor<1xindex>
  // CHECK: tensor.reshape %[[X]](%[[SHAPE]])
  %1 = kiln.reshape %x {shape = array<i64: -1>} : (tensor<2x3xf32>) -> tensor<6xf32>
  // Identity is just its operand.
  // CHECK: return %{{.*}}, %{{.*}}, %[[X]]
  %2 = kiln.identity %x : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2 : tensor<3x2xf32>, tensor<6xf32>, tensor<2x3xf32>
}

// A function with no kiln ops is left as it is, but for the read-only feeds.
// CHECK-LABEL: func.func @nothing_to_lower
// CHECK-SAME: %[[Y:.*]]: tensor<4xf32> {bufferization.writable = false}
// CHECK-NEXT: return %[[Y]]
func.func @nothing_to_lower(%y: tensor<4xf32>) -> tensor<4xf32> {
  return %y : tensor<4xf32>
}
