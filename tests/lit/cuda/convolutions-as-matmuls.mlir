// RUN: graph-opt %s --kiln-cuda-convolutions-as-matmuls | FileCheck %s

// A stride-2 convolution: the input copied into columns [n, ic, kh, kw,
// oh, ow] (each read where the convolution reads it: row 2 oh + kh), then
// out[n, oc, oh*ow] += filter[oc, ic*kh*kw] * columns[n, ic*kh*kw, oh*ow]
// on collapsed views, expanded back.
// CHECK-DAG: #[[COL:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4 * 2 + d2, d5 * 2 + d3)>
// CHECK-DAG: #[[W:.*]] = affine_map<(d0, d1, d2, d3) -> (d1, d3)>
// CHECK-DAG: #[[X:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d3, d2)>
// CHECK-DAG: #[[C:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2)>
// CHECK-LABEL: func.func @strided
// CHECK: %[[COLS:.*]] = linalg.generic {indexing_maps = [#[[COL]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<1x3x9x9xf32>) outs(%{{.*}} : tensor<1x3x3x3x4x4xf32>)
// CHECK: %[[X2:.*]] = tensor.collapse_shape %[[COLS]] {{\[}}[0], [1, 2, 3], [4, 5]] : tensor<1x3x3x3x4x4xf32> into tensor<1x27x16xf32>
// CHECK: %[[W2:.*]] = tensor.collapse_shape %arg1 {{\[}}[0], [1, 2, 3]] : tensor<8x3x3x3xf32> into tensor<8x27xf32>
// CHECK: %[[C2:.*]] = tensor.collapse_shape %arg2 {{\[}}[0], [1], [2, 3]] : tensor<1x8x4x4xf32> into tensor<1x8x16xf32>
// CHECK: %[[P:.*]] = linalg.generic {indexing_maps = [#[[W]], #[[X]], #[[C]]], iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[W2]], %[[X2]] : tensor<8x27xf32>, tensor<1x27x16xf32>) outs(%[[C2]] : tensor<1x8x16xf32>)
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[Y:.*]] = tensor.expand_shape %[[P]] {{\[}}[0], [1], [2, 3]]
// CHECK: return %[[Y]]
#in = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh * 2 + kh, ow * 2 + kw)>
#w = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (oc, ic, kh, kw)>
#out = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, oc, oh, ow)>
func.func @strided(%x: tensor<1x3x9x9xf32>, %w: tensor<8x3x3x3xf32>, %init: tensor<1x8x4x4xf32>) -> tensor<1x8x4x4xf32> {
  %y = linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x3x9x9xf32>, tensor<8x3x3x3xf32>) outs(%init : tensor<1x8x4x4xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x8x4x4xf32>
  return %y : tensor<1x8x4x4xf32>
}

// Must not change: a depthwise convolution (the input's channel is the
// output's) is not a matmul of this form.
// CHECK-LABEL: func.func @depthwise
// CHECK-NOT: tensor.collapse_shape
// CHECK: linalg.generic
// CHECK-SAME: "reduction", "reduction"]
#din = affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh + kh, ow + kw)>
#dw = affine_map<(n, c, oh, ow, kh, kw) -> (c, 0, kh, kw)>
#dout = affine_map<(n, c, oh, ow, kh, kw) -> (n, c, oh, ow)>
func.func @depthwise(%x: tensor<1x4x6x6xf32>, %w: tensor<4x1x3x3xf32>, %init: tensor<1x4x4x4xf32>) -> tensor<1x4x4x4xf32> {
  %y = linalg.generic {indexing_maps = [#din, #dw, #dout], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
      ins(%x, %w : tensor<1x4x6x6xf32>, tensor<4x1x3x3xf32>) outs(%init : tensor<1x4x4x4xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<1x4x4x4xf32>
  return %y : tensor<1x4x4x4xf32>
}
