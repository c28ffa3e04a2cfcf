// RUN: graph-opt %s --split-input-file --kiln-cpu-deinterleave-strided-convolutions | FileCheck %s

// A stride-2 convolution over a padded image 12 wide: the image is copied
// once into its even and odd columns, D[c, h, p, w] = X[c, h, 2 w + p] (its
// own kernel, computed whole), and the convolution reads
// D[c, 2 oh + kh, kw mod 2, ow + kw floordiv 2].
// CHECK-DAG: #[[READ:.*]] = affine_map<(d0, d1, d2, d3) -> (d0, d1, d3 * 2 + d2)>
// CHECK-DAG: #[[D:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d3, d0 * 2 + d4, d5 mod 2, d1 + d5 floordiv 2)>
// CHECK-LABEL: func.func @stride_2
// CHECK: %[[EMPTY:.*]] = tensor.empty() : tensor<3x12x2x6xf32>
// CHECK: %[[COPY:.*]] = linalg.generic {indexing_maps = [#[[READ]], #{{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel"]} ins(%arg0 : tensor<3x12x12xf32>) outs(%[[EMPTY]] : tensor<3x12x2x6xf32>) attrs = {{ *}}{kiln.kernel = "stem_deinterleave", kiln.whole}
// CHECK: linalg.generic {indexing_maps = [#[[D]], #{{.*}}, #{{.*}}]{{.*}} ins(%[[COPY]], %arg1 : tensor<3x12x2x6xf32>, tensor<4x3x3x3xf32>)
#x = affine_map<(oh, ow, oc, ic, kh, kw) -> (ic, oh * 2 + kh, ow * 2 + kw)>
#w = affine_map<(oh, ow, oc, ic, kh, kw) -> (oc, ic, kh, kw)>
#y = affine_map<(oh, ow, oc, ic, kh, kw) -> (oc, oh, ow)>
func.func @stride_2(%x: tensor<3x12x12xf32>, %w: tensor<4x3x3x3xf32>, %init: tensor<4x5x5xf32>) -> tensor<4x5x5xf32> {
  %0 = linalg.generic {indexing_maps = [#x, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<3x12x12xf32>, tensor<4x3x3x3xf32>) outs(%init : tensor<4x5x5xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x5x5xf32> loc("stem")
  return %0 : tensor<4x5x5xf32>
}

// -----

// Must not change: an image of odd width (13), a filter stored channels
// last (the vectors run along the output channels; the image is
// broadcast), and a 1x1 filter (no filter column: half the copy unread).
// CHECK-LABEL: func.func @unchanged
// CHECK-NOT: tensor.empty
// CHECK-NOT: kiln.whole
// CHECK: return
#x13 = affine_map<(oh, ow, oc, ic, kh, kw) -> (ic, oh * 2 + kh, ow * 2 + kw)>
#w = affine_map<(oh, ow, oc, ic, kh, kw) -> (oc, ic, kh, kw)>
#y = affine_map<(oh, ow, oc, ic, kh, kw) -> (oc, oh, ow)>
#wl = affine_map<(oh, ow, oc, ic, kh, kw) -> (ic, kh, kw, oc)>
#x1 = affine_map<(oh, ow, oc, ic) -> (ic, oh * 2, ow * 2)>
#w1 = affine_map<(oh, ow, oc, ic) -> (oc, ic)>
#y1 = affine_map<(oh, ow, oc, ic) -> (oc, oh, ow)>
func.func @unchanged(%x: tensor<3x13x13xf32>, %w: tensor<4x3x3x3xf32>, %init: tensor<4x6x6xf32>,
                     %xe: tensor<3x12x12xf32>, %wl: tensor<3x3x3x4xf32>, %init5: tensor<4x5x5xf32>,
                     %w1: tensor<4x3xf32>, %init6: tensor<4x6x6xf32>) -> (tensor<4x6x6xf32>, tensor<4x5x5xf32>, tensor<4x6x6xf32>) {
  %0 = linalg.generic {indexing_maps = [#x13, #w, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : tensor<3x13x13xf32>, tensor<4x3x3x3xf32>) outs(%init : tensor<4x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x6x6xf32>
  %1 = linalg.generic {indexing_maps = [#x13, #wl, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%xe, %wl : tensor<3x12x12xf32>, tensor<3x3x3x4xf32>) outs(%init5 : tensor<4x5x5xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x5x5xf32>
  %2 = linalg.generic {indexing_maps = [#x1, #w1, #y1], iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%xe, %w1 : tensor<3x12x12xf32>, tensor<4x3xf32>) outs(%init6 : tensor<4x6x6xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %p = arith.mulf %a, %b : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  } -> tensor<4x6x6xf32>
  return %0, %1, %2 : tensor<4x6x6xf32>, tensor<4x5x5xf32>, tensor<4x6x6xf32>
}
