// RUN: graph-opt %s --split-input-file --kiln-pad-in-place | FileCheck %s

// A Relu's result padded by zeros for a convolution: the fill of the padded
// shape comes before the Relu, which writes into the interior's slice of
// it, and the pad becomes an insert_slice at the same offsets. The Relu's
// tensor.empty is shared with another op (CSE merges them): only the
// Relu's use of it changes.
// CHECK-LABEL: func.func @relu_then_pad
// CHECK: %[[CST:.*]] = arith.constant 0.000000e+00 : f32
// CHECK: %[[E:.*]] = tensor.empty() : tensor<2x6x6xf32>
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<2x8x9xf32>
// CHECK: %[[FILL:.*]] = linalg.fill {kiln.kernel = "Conv_pad"} ins(%{{.*}} : f32) outs(%[[EMPTY]] : tensor<2x8x9xf32>)
// CHECK: %[[IN:.*]] = tensor.extract_slice %[[FILL]][0, 1, 1] [2, 6, 6] [1, 1, 1]
// CHECK: %[[R:.*]] = linalg.generic {{.*}} outs(%[[IN]] : tensor<2x6x6xf32>)
// CHECK-NOT: tensor.pad
// CHECK: %[[P:.*]] = tensor.insert_slice %[[R]] into %[[FILL]][0, 1, 1] [2, 6, 6] [1, 1, 1]
// CHECK: linalg.generic {{.*}} outs(%[[E]] : tensor<2x6x6xf32>)
// CHECK: return %[[P]]
#id = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @relu_then_pad(%x: tensor<2x6x6xf32>) -> (tensor<2x8x9xf32>, tensor<2x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x6x6xf32>
  %r = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x6x6xf32>) outs(%e : tensor<2x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x6x6xf32>
  %p = tensor.pad %r low[0, 1, 1] high[0, 1, 2] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } {kiln.kernel = "Conv"} : tensor<2x6x6xf32> to tensor<2x8x9xf32>
  %other = linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x6x6xf32>) outs(%e : tensor<2x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x6x6xf32>
  return %p, %other : tensor<2x8x9xf32>, tensor<2x6x6xf32>
}

// -----

// Must not change: the padded tensor is a feed (nothing computes it into a
// tensor.empty), and a source with a second use (the Relu's result is also
// returned: the interior could not be its only buffer).
// CHECK-LABEL: func.func @feed
// CHECK: tensor.pad
// CHECK-LABEL: func.func @second_use
// CHECK-NOT: linalg.fill
// CHECK: tensor.pad
func.func @feed(%x: tensor<2x6x6xf32>) -> tensor<2x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %p = tensor.pad %x low[0, 1, 1] high[0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<2x6x6xf32> to tensor<2x8x8xf32>
  return %p : tensor<2x8x8xf32>
}
#id2 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @second_use(%x: tensor<2x6x6xf32>) -> (tensor<2x8x8xf32>, tensor<2x6x6xf32>) {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x6x6xf32>
  %r = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x6x6xf32>) outs(%e : tensor<2x6x6xf32>) {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x6x6xf32>
  %p = tensor.pad %r low[0, 1, 1] high[0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } : tensor<2x6x6xf32> to tensor<2x8x8xf32>
  return %p, %r : tensor<2x8x8xf32>, tensor<2x6x6xf32>
}

// -----

// The producer is the second op of an untiled fusion (a convolution
// written into C, then a Relu of C into a tensor.empty): the fill goes
// before the fusion's first op, not between its two, where it would split
// the fusion into two kernels.
// CHECK-LABEL: func.func @fusion_producer
// CHECK: linalg.fill {kiln.kernel = "Conv_2_pad"}
// CHECK: linalg.generic {{.*}} attrs = {kiln.kernel = "fusion"}
// CHECK: linalg.generic {{.*}} attrs = {kiln.kernel = "fusion"}
// CHECK: tensor.insert_slice
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>
func.func @fusion_producer(%x: tensor<2x6x6xf32>) -> tensor<2x8x8xf32> {
  %zero = arith.constant 0.0 : f32
  %e = tensor.empty() : tensor<2x6x6xf32>
  %c = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%x : tensor<2x6x6xf32>) outs(%e : tensor<2x6x6xf32>) attrs = {kiln.kernel = "fusion"} {
  ^bb0(%in: f32, %out: f32):
    %n = arith.negf %in : f32
    linalg.yield %n : f32
  } -> tensor<2x6x6xf32>
  %e2 = tensor.empty() : tensor<2x6x6xf32>
  %r = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%c : tensor<2x6x6xf32>) outs(%e2 : tensor<2x6x6xf32>) attrs = {kiln.kernel = "fusion"} {
  ^bb0(%in: f32, %out: f32):
    %m = arith.maximumf %in, %zero : f32
    linalg.yield %m : f32
  } -> tensor<2x6x6xf32>
  %p = tensor.pad %r low[0, 1, 1] high[0, 1, 1] {
  ^bb0(%i: index, %j: index, %k: index):
    tensor.yield %zero : f32
  } {kiln.kernel = "Conv_2"} : tensor<2x6x6xf32> to tensor<2x8x8xf32>
  return %p : tensor<2x8x8xf32>
}
