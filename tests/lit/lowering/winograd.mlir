// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg | FileCheck %s
// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions=tile-elements=16 --kiln-inline-fusions | FileCheck %s --check-prefix=TILED
// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions --kiln-inline-fusions | FileCheck %s --check-prefix=GRID

// The three Winograd steps are multiply-accumulate contractions with the
// transforms as constants: the input padded (three extra rows at the
// bottom: four tiles need 18 rows of the 16 the pads give) and its rows
// combined by BT[e][i] six at a time, 4t + i; the filter applied along the
// tiles' rows taken as one (j + kw over 4 x 18 - 2 points), components
// first in the iteration, then output channels; the output's row h taken from tile h floordiv 4
// (18 points apart) with AT[h mod 4], starting from the bias.
// CHECK-DAG: #[[XIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d2, d3 * 4 + d5, d4)>
// CHECK-DAG: #[[BT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d5)>
// CHECK-DAG: #[[VIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d4, d3 + d5)>
// CHECK-DAG: #[[UIN:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d1, d2, d4, d5)>
// CHECK-DAG: #[[POUT:.*]] = affine_map<(d0, d1, d2, d3, d4, d5) -> (d0, d1, d2, d3)>
// CHECK-DAG: #[[PIN:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d0, d4, d1, (d2 floordiv 4) * 18 + d3)>
// CHECK-DAG: #[[AT:.*]] = affine_map<(d0, d1, d2, d3, d4) -> (d2 mod 4, d4)>
// CHECK-LABEL: func.func @steps
// CHECK: tensor.pad %{{.*}} low[0, 0, 1, 1] high[0, 0, 3, 1]
// CHECK: arith.constant dense<{{\[\[}}4.000000e+00, 0.000000e+00, -5.000000e+00, {{.*}} : tensor<6x6xf32>
// CHECK: linalg.generic {indexing_maps = [#[[XIN]], #[[BT]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel", "reduction"]}
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: tensor.collapse_shape %{{.*}} {{\[\[}}0], [1], [2], [3, 4]] : tensor<1x6x32x4x18xf32> into tensor<1x6x32x72xf32>
// CHECK: linalg.generic {indexing_maps = [#[[VIN]], #[[UIN]], #[[POUT]]], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction"]}
// CHECK: arith.constant dense<{{\[\[}}1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 1.000000e+00, 0.000000e+00], {{.*}} : tensor<4x6xf32>
// CHECK: linalg.generic {indexing_maps = [#[[PIN]], #[[AT]], {{.*}}], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]} ins(%{{.*}}, %{{.*}} : tensor<1x6x32x70xf32>, tensor<4x6xf32>) outs(%{{.*}} : tensor<1x32x14x16xf32>)
func.func @steps(%x: tensor<1x32x14x16xf32>, %u: tensor<6x32x32x3xf32>, %b: tensor<32xf32>) -> tensor<1x32x14x16xf32> {
  %v = kiln.winograd_input %x {pads = array<i64: 1, 1, 1, 1>} : (tensor<1x32x14x16xf32>) -> tensor<1x6x32x4x18xf32>
  %p = kiln.winograd_conv %v, %u : (tensor<1x6x32x4x18xf32>, tensor<6x32x32x3xf32>) -> tensor<1x6x32x70xf32>
  %y = kiln.winograd_output %p, %b {height = 14 : i64, width = 16 : i64} : (tensor<1x6x32x70xf32>, tensor<32xf32>) -> tensor<1x32x14x16xf32>
  return %y : tensor<1x32x14x16xf32>
}

// -----

// Fused with a Relu and tiled, the output transform's tiles of rows are
// multiples of four (a tile of 2 rows would start at row 2, where
// h floordiv 4 and h mod 4 counted from the tile's first row are wrong):
// each tile reads one tile of P, AT from its first row.
// TILED-LABEL: func.func @output_tiles
// TILED: scf.for
// TILED: scf.for %[[H:.*]] = %{{.*}} to %{{.*}} step %c4
// TILED: tensor.extract_slice %{{.*}} [1, 6, 1, 8]
// TILED: tensor.extract_slice %{{.*}} [4, 6]
// TILED: linalg.generic
// TILED: tensor.insert_slice %{{.*}}[0, %{{.*}}, %[[H]], 0] [1, 1, 4, 8]
func.func @output_tiles(%p: tensor<1x6x2x28xf32>) -> tensor<1x2x12x8xf32> {
  %0 = kiln.fusion "fusion_0_winograd_output_relu"(%p) : (tensor<1x6x2x28xf32>) -> tensor<1x2x12x8xf32> {
  ^bb0(%a: tensor<1x6x2x28xf32>):
    %1 = kiln.winograd_output %a {height = 12 : i64, width = 8 : i64} : (tensor<1x6x2x28xf32>) -> tensor<1x2x12x8xf32>
    %2 = kiln.relu %1 : (tensor<1x2x12x8xf32>) -> tensor<1x2x12x8xf32>
    kiln.yield %2 : tensor<1x2x12x8xf32>
  }
  return %0 : tensor<1x2x12x8xf32>
}

// -----

// A lone Winograd middle (layer1 of resnet18: 64 channels, 14 tiles of
// 56 + 2 points) is tiled with the output channels as the rows (the loop
// V does not read: each load of V serves the tile's channels) and the
// components outermost, one per tile: the grid then splits the components,
// each item reading its 1/6 of V, where a grid over the output channels
// had every item read all of V (1.25 MiB, from L3 on 2 threads).
// GRID-LABEL: func.func @middle_grid
// GRID: scf.for %[[E:.*]] = %c0{{.*}} to %c6{{.*}} step %c1
// GRID: scf.for %[[M:.*]] = %c0{{.*}} to %c64{{.*}} step %c16
// GRID: scf.for %[[J:.*]] = %c0{{.*}} to %c810{{.*}} step %c162
// GRID: tensor.extract_slice %{{.*}}[0, %[[E]], 0, %[[J]]] [1, 1, 64, 164]
// GRID: tensor.extract_slice %{{.*}}[%[[E]], %[[M]], 0, 0] [1, 16, 64, 3]
// GRID: } {{.*}}kiln.parallel
func.func @middle_grid(%v: tensor<1x6x64x14x58xf32>, %u: tensor<6x64x64x3xf32>) -> tensor<1x6x64x810xf32> {
  %p = kiln.winograd_conv %v, %u : (tensor<1x6x64x14x58xf32>, tensor<6x64x64x3xf32>) -> tensor<1x6x64x810xf32>
  return %p : tensor<1x6x64x810xf32>
}
