// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg | FileCheck %s
// (Loop order is left as built here; contraction-order.mlir tests it.)

// Conv: explicit pads become tensor.pad; one generic over n, m, the output
// window, then input channels and the kernel window. With one group it
// reads X and W and writes the result as they are, no reshapes.
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d4, d2 + d5, d3 + d6)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d1, d4, d5, d6)>
// CHECK-DAG: #[[Y:.*]] = affine_map<(d0, d1, d2, d3, d4, d5, d6) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @conv
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 1, 1]
// CHECK-NOT: tensor.reshape
// CHECK: linalg.generic {indexing_maps = [#[[X]], #[[W]], #[[Y]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
// CHECK-NOT: tensor.reshape
// CHECK-NOT: kiln.
func.func @conv(%x: tensor<1x2x5x5xf32>, %w: tensor<3x2x3x3xf32>) -> tensor<1x3x5x5xf32> {
  %0 = kiln.conv %x, %w {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x2x5x5xf32>, tensor<3x2x3x3xf32>) -> tensor<1x3x5x5xf32>
  return %0 : tensor<1x3x5x5xf32>
}

// -----

// Grouped conv: channels split into [groups, channels per group], one more
// parallel loop for the group.
// CHECK-LABEL: func.func @grouped_conv
// CHECK: tensor.reshape %{{.*}} -> tensor<1x2x2x5x5xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK: tensor.reshape %{{.*}} -> tensor<1x4x3x3xf32>
func.func @grouped_conv(%x: tensor<1x4x5x5xf32>, %w: tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %0 = kiln.conv %x, %w {group = 2 : i64} : (tensor<1x4x5x5xf32>, tensor<4x2x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// Depthwise conv (one channel per group): no channel sum and no reshapes,
// the filter's second axis read at 0; the image and the window only.
// CHECK-DAG: #[[DX:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2 * 2 + d4, d3 * 2 + d5)>
// CHECK-DAG: #[[DW:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, 0, d4, d5)>
// CHECK-DAG: #[[DY:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-LABEL: func.func @depthwise_conv
// CHECK-NOT: tensor.reshape
// CHECK: linalg.generic {indexing_maps = [#[[DX]], #[[DW]], #[[DY]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK-NOT: tensor.reshape
// CHECK: return
func.func @depthwise_conv(%x: tensor<1x4x7x7xf32>, %w: tensor<4x1x3x3xf32>) -> tensor<1x4x3x3xf32> {
  %0 = kiln.conv %x, %w {group = 4 : i64, strides = array<i64: 2, 2>} : (tensor<1x4x7x7xf32>, tensor<4x1x3x3xf32>) -> tensor<1x4x3x3xf32>
  return %0 : tensor<1x4x3x3xf32>
}

// -----

// Must not change: one input channel per group but two outputs (a channel
// multiplier of 2) keeps the grouped form, its reshapes and group loop.
// CHECK-LABEL: func.func @channel_multiplier
// CHECK: tensor.reshape %{{.*}} -> tensor<1x4x1x7x7xf32>
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]
// CHECK: tensor.reshape %{{.*}} -> tensor<1x8x5x5xf32>
func.func @channel_multiplier(%x: tensor<1x4x7x7xf32>, %w: tensor<8x1x3x3xf32>) -> tensor<1x8x5x5xf32> {
  %0 = kiln.conv %x, %w {group = 4 : i64} : (tensor<1x4x7x7xf32>, tensor<8x1x3x3xf32>) -> tensor<1x8x5x5xf32>
  return %0 : tensor<1x8x5x5xf32>
}

// -----

// Max pooling starts from -inf and takes maximumf over the window.
// CHECK-LABEL: func.func @max_pool
// CHECK: arith.constant 0xFF800000 : f32
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]
// CHECK: arith.maximumf
func.func @max_pool(%x: tensor<1x2x5x5xf32>) -> tensor<1x2x2x2xf32> {
  %0 = kiln.max_pool %x {kernel_shape = array<i64: 2, 2>, strides = array<i64: 2, 2>} : (tensor<1x2x5x5xf32>) -> tensor<1x2x2x2xf32>
  return %0 : tensor<1x2x2x2xf32>
}

// -----

// Unsigned integers become signless; division and comparison pick the
// unsigned arith ops.
// CHECK-LABEL: func.func @unsigned
// CHECK-SAME: tensor<4xi8> {bufferization.writable = false}
// CHECK: arith.divui
// CHECK-NOT: arith.divsi
// CHECK: arith.cmpi ult
// CHECK: return {{.*}} : tensor<4xi8>, tensor<4xi1>
func.func @unsigned(%u: tensor<4xui8>, %v: tensor<4xui8>) -> (tensor<4xui8>, tensor<4xi1>) {
  %0 = kiln.div %u, %v : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xui8>
  %1 = kiln.less %u, %v : (tensor<4xui8>, tensor<4xui8>) -> tensor<4xi1>
  return %0, %1 : tensor<4xui8>, tensor<4xi1>
}

// -----

// CHECK-DAG: #[[IK:.*]] = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-DAG: #[[KJ:.*]] = affine_map<(d0, d1, d2) -> (d2, d1)>
// CHECK-LABEL: func.func @einsum
// CHECK: linalg.generic {indexing_maps = [#[[IK]], #[[KJ]], {{.*}}], iterator_types = ["parallel", "parallel", "reduction"]}
func.func @einsum(%a: tensor<2x3xf32>, %b: tensor<3x4xf32>) -> tensor<2x4xf32> {
  %0 = kiln.einsum %a, %b {equation = "ij,jk->ik"} : (tensor<2x3xf32>, tensor<3x4xf32>) -> tensor<2x4xf32>
  return %0 : tensor<2x4xf32>
}

// -----

// Gather reads the data with tensor.extract at the computed index.
// CHECK-LABEL: func.func @gather
// CHECK: linalg.generic
// CHECK: arith.index_cast
// CHECK: tensor.extract %{{.*}}[%{{.*}}, %{{.*}}] : tensor<2x3xf32>
func.func @gather(%a: tensor<2x3xf32>, %i: tensor<2xi64>) -> tensor<2x2xf32> {
  %0 = kiln.gather %a, %i {axis = 1 : i64} : (tensor<2x3xf32>, tensor<2xi64>) -> tensor<2x2xf32>
  return %0 : tensor<2x2xf32>
}

// -----

// A positive-step slice is an extract_slice; a negative step also reverses
// the window with a generic. Concat inserts each input at its offset.
// CHECK-LABEL: func.func @slices
// CHECK: tensor.extract_slice %{{.*}}[0, 0] [2, 3] [1, 1]
// CHECK: linalg.generic
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[0, 0] [2, 3] [1, 1]
// CHECK: tensor.insert_slice %{{.*}} into %{{.*}}[2, 0] [2, 3] [1, 1]
// CHECK: tensor.extract_slice %{{.*}}[1, 0] [1, 3] [1, 1]
func.func @slices(%a: tensor<2x3xf32>) -> (tensor<2x3xf32>, tensor<1x3xf32>) {
  %0 = kiln.slice %a {starts = array<i64: -1>, ends = array<i64: -100>, axes = array<i64: 1>, steps = array<i64: -1>} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  %1 = kiln.concat %a, %a {axis = 0 : i64} : (tensor<2x3xf32>, tensor<2x3xf32>) -> tensor<4x3xf32>
  %2 = kiln.slice %1 {starts = array<i64: 1>, ends = array<i64: 2>} : (tensor<4x3xf32>) -> tensor<1x3xf32>
  return %0, %2 : tensor<2x3xf32>, tensor<1x3xf32>
}

// -----

// TopK ranks every entry (a reduction), then selects rank r into output r:
// two generics, the second with two outputs.
// CHECK-LABEL: func.func @topk
// CHECK: linalg.generic {{.*}} outs(%{{.*}} : tensor<2x3xi64>)
// CHECK: %{{.*}}:2 = linalg.generic
func.func @topk(%a: tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>) {
  %0:2 = kiln.topk %a {k = 2 : i64} : (tensor<2x3xf32>) -> (tensor<2x2xf32>, tensor<2x2xi64>)
  return %0#0, %0#1 : tensor<2x2xf32>, tensor<2x2xi64>
}

// -----

// Wrap padding reads the input modulo its size.
// CHECK-LABEL: func.func @wrap_pad
// CHECK: arith.remsi
// CHECK: tensor.extract
func.func @wrap_pad(%a: tensor<2x3xf32>) -> tensor<2x7xf32> {
  %0 = kiln.pad %a {pads = array<i64: 0, 2, 0, 2>, mode = "wrap"} : (tensor<2x3xf32>) -> tensor<2x7xf32>
  return %0 : tensor<2x7xf32>
}

// -----

// kiln.check reduces the values into [count, largest bad value], both
// starting from INT64_MIN (the count reads it as 0); each value is
// widened to i64 and compared with its bounds.
// CHECK-LABEL: func.func @check
// CHECK: %[[MIN:.*]] = arith.constant -9223372036854775808 : i64
// CHECK: %[[INIT:.*]] = linalg.fill ins(%[[MIN]] : i64) outs(%{{.*}} : tensor<2xi64>)
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "reduction", "reduction"]
// CHECK-SAME: ins(%arg0 : tensor<4x2xi32>) outs(%[[INIT]] : tensor<2xi64>)
// CHECK: arith.extsi %{{.*}} : i32 to i64
// CHECK: arith.cmpi sle
// CHECK: arith.cmpi sle
// CHECK: arith.maxsi
func.func @check(%i: tensor<4x2xi32>) -> tensor<2xi64> {
  %0 = kiln.check %i {inside = true, lower = array<i64: -5, -3>, upper = array<i64: 4, 2>, message = "m"} : (tensor<4x2xi32>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

// GatherElements reads data at the output position with its axis
// coordinate replaced by the (wrapped) index.
// CHECK-LABEL: func.func @gather_elements
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK-SAME: ins(%arg1 : tensor<3x2xi64>)
// CHECK: %[[ROW:.*]] = linalg.index 0
// CHECK: arith.index_cast
// CHECK: arith.select
// CHECK: tensor.extract %arg0[%[[ROW]], %{{.*}}] : tensor<3x4xf32>
func.func @gather_elements(%d: tensor<3x4xf32>, %i: tensor<3x2xi64>) -> tensor<3x2xf32> {
  %0 = kiln.gather_elements %d, %i {axis = 1 : i64} : (tensor<3x4xf32>, tensor<3x2xi64>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

// GatherND reads each coordinate of the index tuple, then the data.
// CHECK-LABEL: func.func @gather_nd
// CHECK: linalg.generic
// CHECK-SAME: iterator_types = ["parallel", "parallel"]
// CHECK: tensor.extract %arg1[%{{.*}}, %c0{{.*}}] : tensor<2x1xi32>
// CHECK: tensor.extract %arg0[%{{.*}}, %{{.*}}] : tensor<4x3xf32>
func.func @gather_nd(%d: tensor<4x3xf32>, %i: tensor<2x1xi32>) -> tensor<2x3xf32> {
  %0 = kiln.gather_nd %d, %i : (tensor<4x3xf32>, tensor<2x1xi32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

// Scatters start from the data and visit each update once, in order: a
// loop nest over the updates threading the output, one extract and one
// insert at the computed position (an index out of range writes back the
// element read).
// CHECK-LABEL: func.func @scatter_elements
// CHECK: scf.for %[[I:.*]] = {{.*}} iter_args(%[[A:.*]] = %arg0)
// CHECK: scf.for %[[J:.*]] = {{.*}} iter_args(%[[B:.*]] = %[[A]])
// CHECK: tensor.extract %arg1[%[[I]], %[[J]]]
// CHECK: %[[IN:.*]] = arith.andi
// CHECK: %[[AT:.*]] = arith.select %[[IN]]
// CHECK: %[[E:.*]] = tensor.extract %[[B]][%[[I]], %[[AT]]]
// CHECK: %[[U:.*]] = tensor.extract %arg2[%[[I]], %[[J]]]
// CHECK: %[[S:.*]] = arith.addf %[[E]], %[[U]]
// CHECK: %[[V:.*]] = arith.select %[[IN]], %[[S]], %[[E]]
// CHECK: tensor.insert %[[V]] into %[[B]][%[[I]], %[[AT]]]
// CHECK-NOT: linalg.generic
// CHECK-LABEL: func.func @scatter_nd
// CHECK: scf.for %[[T:.*]] = {{.*}} iter_args(%[[A:.*]] = %arg0)
// CHECK: scf.for %[[S:.*]] = {{.*}} iter_args(%[[B:.*]] = %[[A]])
// CHECK: tensor.extract %arg1[%[[T]], %{{.*}}]
// CHECK: arith.maximumf
// CHECK: tensor.insert
// CHECK-NOT: linalg.generic
func.func @scatter_elements(%d: tensor<3x4xf32>, %i: tensor<3x2xi64>, %u: tensor<3x2xf32>) -> tensor<3x4xf32> {
  %0 = kiln.scatter_elements %d, %i, %u {axis = 1 : i64, reduction = "add"} : (tensor<3x4xf32>, tensor<3x2xi64>, tensor<3x2xf32>) -> tensor<3x4xf32>
  return %0 : tensor<3x4xf32>
}
func.func @scatter_nd(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x3xf32>) -> tensor<4x3xf32> {
  %0 = kiln.scatter_nd %d, %i, %u {reduction = "max"} : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x3xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

// kiln.in_range computes nothing: its check was taken out before.
// CHECK-LABEL: func.func @in_range
// CHECK-NEXT: return %arg0
func.func @in_range(%t: tensor<3xi64>) -> tensor<3xi64> {
  %0 = kiln.in_range %t {lower = 0 : i64, upper = 3 : i64, what = "target"} : (tensor<3xi64>) -> tensor<3xi64>
  return %0 : tensor<3xi64>
}

// -----

// Det: one loop over the columns carrying the matrices, the used rows and
// the determinant. Each step copies column k out, picks the pivot (a
// reduction over the rows: the first unused row of largest magnitude),
// copies the pivot row out, eliminates in place, multiplies the pivot in
// (negated for each used row below it) and marks the pivot row used.
// CHECK-LABEL: func.func @det
// CHECK: %[[ONE:.*]] = linalg.fill ins(%cst : f32) outs(%{{.*}} : tensor<2xf32>)
// CHECK: %[[R:.*]]:3 = scf.for %[[K:.*]] = %c0 to %c3 step %c1 iter_args(%[[A:.*]] = %arg0, %[[U:.*]] = %{{.*}}, %[[D:.*]] = %[[ONE]])
// CHECK: tensor.extract_slice %[[A]][0, 0, %[[K]]] [2, 3, 1]
// CHECK: %[[P:.*]]:2 = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]
// CHECK: math.absf
// CHECK: arith.cmpf ogt
// CHECK: %[[ROW:.*]] = linalg.generic
// CHECK: tensor.extract %[[A]]
// CHECK: %[[E:.*]] = linalg.generic {{.*}} outs(%[[A]] : tensor<2x3x3xf32>)
// CHECK: arith.divf
// CHECK: arith.cmpi ugt
// CHECK: %[[ND:.*]] = linalg.generic {{.*}} iterator_types = ["parallel", "reduction"]{{.*}} outs(%[[D]] : tensor<2xf32>)
// CHECK: arith.negf
// CHECK: %[[NU:.*]] = linalg.generic {{.*}} outs(%[[U]] : tensor<2x3xi1>)
// CHECK: scf.yield %[[E]], %[[NU]], %[[ND]]
// CHECK: return %[[R]]#2
func.func @det(%x: tensor<2x3x3xf32>) -> tensor<2xf32> {
  %0 = kiln.det %x : (tensor<2x3x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
