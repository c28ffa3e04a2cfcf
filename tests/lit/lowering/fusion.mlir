// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-inline-fusions | FileCheck %s --check-prefix=UNTILED
// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions=tile-elements=16 --kiln-inline-fusions | FileCheck %s --check-prefix=TILED
// RUN: graph-opt %s --split-input-file --convert-kiln-to-linalg --kiln-cpu-tile-fusions --kiln-inline-fusions | FileCheck %s --check-prefix=DEFAULT

// A fusion's elementwise chain lowers to one linalg.generic, inlined where
// the fusion stood. Untiled, the contraction is its own loop nest storing
// its whole result; tiled, it computes a 2x8 tile of its result inside the
// loop over row tiles and the epilogue (bias, relu) is applied to that tile
// before anything is stored.
// UNTILED-LABEL: func.func @matmul_epilogue
// UNTILED-NOT: = kiln.
// UNTILED-NOT: scf.for
// UNTILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]
// UNTILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// UNTILED: arith.addf
// UNTILED: arith.maximumf
// UNTILED-NOT: linalg.generic
// UNTILED: return
// TILED-LABEL: func.func @matmul_epilogue
// TILED-NOT: = kiln.
// TILED: %[[OUT:.*]] = tensor.empty() : tensor<6x8xf32>
// TILED: scf.for %[[I:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(%[[ACC:.*]] = %[[OUT]])
// TILED: tensor.extract_slice %{{.*}}[%[[I]], 0] [2, 4] [1, 1]
// TILED: %[[TILE:.*]] = tensor.empty() : tensor<2x8xf32>
// TILED: linalg.fill {{.*}} outs(%[[TILE]]
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel", "reduction"]{{.*}} : tensor<2x4xf32>, tensor<4x8xf32>) outs({{.*}} : tensor<2x8xf32>)
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]
// TILED: arith.maximumf
// TILED: tensor.insert_slice %{{.*}} into %[[ACC]][%[[I]], 0] [2, 8] [1, 1]
// TILED: scf.yield
// TILED-NOT: linalg.generic
// TILED: return
func.func @matmul_epilogue(%x: tensor<6x4xf32>, %w: tensor<4x8xf32>, %b: tensor<8xf32>) -> tensor<6x8xf32> {
  %0 = kiln.fusion "fusion_0_matmul_add_relu"(%x, %w, %b) : (tensor<6x4xf32>, tensor<4x8xf32>, tensor<8xf32>) -> tensor<6x8xf32> {
  ^bb0(%a: tensor<6x4xf32>, %c: tensor<4x8xf32>, %d: tensor<8xf32>):
    %1 = kiln.matmul %a, %c : (tensor<6x4xf32>, tensor<4x8xf32>) -> tensor<6x8xf32>
    %2 = kiln.add %1, %d : (tensor<6x8xf32>, tensor<8xf32>) -> tensor<6x8xf32>
    %3 = kiln.relu %2 : (tensor<6x8xf32>) -> tensor<6x8xf32>
    kiln.yield %3 : tensor<6x8xf32>
  }
  return %0 : tensor<6x8xf32>
}

// -----

// Softmax over rows: the max and sum reductions read whole rows, so only
// the row loop is tiled (tiling columns would recompute them per tile) and
// both reductions run inside it, on the rows of the tile. A row costs its
// reductions over 8 columns, so a tile of 16 elements of work is one row.
// TILED-LABEL: func.func @softmax_rows
// TILED: scf.for
// TILED-NOT: scf.for
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs({{.*}} : tensor<1xf32>)
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs({{.*}} : tensor<1xf32>)
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} outs({{.*}} : tensor<1x8xf32>)
// TILED: arith.divf
// TILED: tensor.insert_slice {{.*}} [1, 8] [1, 1]
// TILED: scf.yield
func.func @softmax_rows(%x: tensor<6x8xf32>, %y: tensor<6x8xf32>) -> tensor<6x8xf32> {
  %0 = kiln.fusion "fusion_0_softmax_add"(%x, %y) : (tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<6x8xf32> {
  ^bb0(%a: tensor<6x8xf32>, %b: tensor<6x8xf32>):
    %1 = kiln.add %a, %b : (tensor<6x8xf32>, tensor<6x8xf32>) -> tensor<6x8xf32>
    %2 = kiln.softmax %1 {axis = 1 : i64} : (tensor<6x8xf32>) -> tensor<6x8xf32>
    kiln.yield %2 : tensor<6x8xf32>
  }
  return %0 : tensor<6x8xf32>
}

// -----

// A layer normalization: its keepdims mean ([4, 1]) is read through the
// reshape that adds the unit dimension, so the rows are tiled with the
// mean's reduction inside the loop (the reshape used to stop tiling: one
// loop nest on one thread).
// TILED-LABEL: func.func @keepdims_mean
// TILED: scf.for
// TILED-NOT: scf.for
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "reduction"]{{.*}} outs({{.*}} : tensor<1xf32>)
// TILED: linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]{{.*}} outs({{.*}} : tensor<1x8xf32>)
// TILED: arith.subf
// TILED: tensor.insert_slice {{.*}} [1, 8] [1, 1]
// TILED: scf.yield
// TILED-NOT: tensor.reshape
func.func @keepdims_mean(%x: tensor<4x8xf32>) -> tensor<4x8xf32> {
  %0 = kiln.fusion "fusion_0_reduce_mean_sub"(%x) : (tensor<4x8xf32>) -> tensor<4x8xf32> {
  ^bb0(%a: tensor<4x8xf32>):
    %1 = kiln.reduce_mean %a {axes = array<i64: -1>} : (tensor<4x8xf32>) -> tensor<4x1xf32>
    %2 = kiln.sub %a, %1 : (tensor<4x8xf32>, tensor<4x1xf32>) -> tensor<4x8xf32>
    kiln.yield %2 : tensor<4x8xf32>
  }
  return %0 : tensor<4x8xf32>
}

// -----

// Must not tile: the reduction's result is broadcast along every loop of
// the root, so any tile would recompute the whole reduction.
// TILED-LABEL: func.func @broadcast_reduction
// TILED-NOT: scf.for
// TILED: return
func.func @broadcast_reduction(%x: tensor<6x8xf32>) -> tensor<6x8xf32> {
  %0 = kiln.fusion "fusion_0_reduce_sum_mul"(%x) : (tensor<6x8xf32>) -> tensor<6x8xf32> {
  ^bb0(%a: tensor<6x8xf32>):
    %1 = kiln.reduce_sum %a {axes = array<i64: 0, 1>, keepdims = 1 : i64} : (tensor<6x8xf32>) -> tensor<1x1xf32>
    %2 = kiln.mul %a, %1 : (tensor<6x8xf32>, tensor<1x1xf32>) -> tensor<6x8xf32>
    kiln.yield %2 : tensor<6x8xf32>
  }
  return %0 : tensor<6x8xf32>
}

// -----

// Must not tile: a lone elementwise chain is one generic already; tiling
// would only add a loop.
// TILED-LABEL: func.func @elementwise_only
// TILED-NOT: scf.for
// TILED: return
func.func @elementwise_only(%x: tensor<6x8xf32>) -> tensor<6x8xf32> {
  %0 = kiln.fusion "fusion_0_exp_neg"(%x) : (tensor<6x8xf32>) -> tensor<6x8xf32> {
  ^bb0(%a: tensor<6x8xf32>):
    %1 = kiln.exp %a : (tensor<6x8xf32>) -> tensor<6x8xf32>
    %2 = kiln.neg %1 : (tensor<6x8xf32>) -> tensor<6x8xf32>
    kiln.yield %2 : tensor<6x8xf32>
  }
  return %0 : tensor<6x8xf32>
}

// -----

// A multi-output (sibling) fusion lowers to one generic with a result per
// sibling: the shared input is read once per point.
// UNTILED-LABEL: func.func @siblings
// UNTILED: %[[R:.*]]:2 = linalg.generic {{.*}}iterator_types = ["parallel", "parallel"]} ins(%arg0, %arg1 : tensor<4x8xf32>, tensor<4x8xf32>) outs(%{{.*}}, %{{.*}} : tensor<4x8xf32>, tensor<4x8xf32>)
// UNTILED: math.exp
// UNTILED: arith.negf
// UNTILED: arith.mulf
// UNTILED: linalg.yield
// UNTILED-NOT: linalg.generic
// UNTILED: return %[[R]]#0, %[[R]]#1
func.func @siblings(%x: tensor<4x8xf32>, %y: tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  %0:2 = kiln.fusion "fusion_0_exp_neg_mul"(%x, %y) : (tensor<4x8xf32>, tensor<4x8xf32>) -> (tensor<4x8xf32>, tensor<4x8xf32>) {
  ^bb0(%a: tensor<4x8xf32>, %b: tensor<4x8xf32>):
    %1 = kiln.exp %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %2 = kiln.neg %a : (tensor<4x8xf32>) -> tensor<4x8xf32>
    %3 = kiln.mul %2, %b : (tensor<4x8xf32>, tensor<4x8xf32>) -> tensor<4x8xf32>
    kiln.yield %1, %3 : tensor<4x8xf32>, tensor<4x8xf32>
  }
  return %0#0, %0#1 : tensor<4x8xf32>, tensor<4x8xf32>
}

// -----

// A matmul's tiles (default 4096 elements) are twice as large and 64
// columns wide: a 128-row matmul is tiled along its columns only, each
// tile [128, 64] reading its slice of B once for all rows. Must not
// change: a matmul of 16 rows keeps tiles of 16 x 256.
// DEFAULT-LABEL: func.func @matmul_tiles
// DEFAULT: scf.for %[[J:.*]] = %{{.*}} to %{{.*}} step %c64
// DEFAULT-NOT: scf.for
// DEFAULT: tensor.extract_slice %{{.*}}[0, %[[J]]] [64, 64] [1, 1] : tensor<64x512xf32> to tensor<64x64xf32>
// DEFAULT: linalg.generic {{.*}} outs({{.*}} : tensor<128x64xf32>)
// DEFAULT: tensor.insert_slice %{{.*}}[0, %[[J]]] [128, 64] [1, 1]
// DEFAULT: scf.for %[[J16:.*]] = %{{.*}} to %{{.*}} step %c256
// DEFAULT-NOT: scf.for
// DEFAULT: tensor.insert_slice %{{.*}}[0, %[[J16]]] [16, 256] [1, 1]
func.func @matmul_tiles(%x: tensor<128x64xf32>, %w: tensor<64x512xf32>, %y: tensor<16x64xf32>) -> (tensor<128x512xf32>, tensor<16x512xf32>) {
  %0 = kiln.fusion "fusion_0_matmul_relu"(%x, %w) : (tensor<128x64xf32>, tensor<64x512xf32>) -> tensor<128x512xf32> {
  ^bb0(%a: tensor<128x64xf32>, %c: tensor<64x512xf32>):
    %1 = kiln.matmul %a, %c : (tensor<128x64xf32>, tensor<64x512xf32>) -> tensor<128x512xf32>
    %2 = kiln.relu %1 : (tensor<128x512xf32>) -> tensor<128x512xf32>
    kiln.yield %2 : tensor<128x512xf32>
  }
  %3 = kiln.fusion "fusion_1_matmul_relu"(%y, %w) : (tensor<16x64xf32>, tensor<64x512xf32>) -> tensor<16x512xf32> {
  ^bb0(%a: tensor<16x64xf32>, %c: tensor<64x512xf32>):
    %4 = kiln.matmul %a, %c : (tensor<16x64xf32>, tensor<64x512xf32>) -> tensor<16x512xf32>
    %5 = kiln.relu %4 : (tensor<16x512xf32>) -> tensor<16x512xf32>
    kiln.yield %5 : tensor<16x512xf32>
  }
  return %0, %3 : tensor<128x512xf32>, tensor<16x512xf32>
}
