// RUN: graph-opt %s --split-input-file --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32" \
// RUN:   | FileCheck %s
// RUN: graph-opt %s --split-input-file --kiln-cpu-vectorize-contractions="vector-bits=256 vector-registers=16" \
// RUN:   | FileCheck %s --check-prefix=AVX2

#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>

// A 16x40 += 16x8 * 8x40 matmul after a fill with zero: the fill is the
// accumulators' start. 40 columns are 2 full vectors of 16 and a masked one
// of 8; 24 accumulators make a block of 8 rows by 3 vectors. The sum over
// k runs in registers: per step 3 loads of B, 8 broadcasts of A and 24
// FMAs; C is stored once.
// CHECK-LABEL: func.func @matmul
// CHECK-NOT: linalg.fill
// CHECK: scf.for %[[IB:.*]] = %c0 to %c16 step %c8
// CHECK: %[[SUM:.*]]:24 = scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK-COUNT-2: vector.load %arg1[%[[K]], %{{.*}}] : memref<8x40xf32>, vector<16xf32>
// CHECK: %[[MASK:.*]] = arith.constant dense<[true, true, true, true, true, true, true, true, false, false, false, false, false, false, false, false]> : vector<16xi1>
// CHECK: vector.maskedload %arg1[%[[K]], %{{.*}}], %[[MASK]]
// CHECK: memref.load %arg0[%[[IB]], %[[K]]]
// CHECK: vector.broadcast
// CHECK-COUNT-3: vector.fma
// CHECK: memref.load %arg0[%{{.*}}, %[[K]]]
// CHECK: scf.yield
// CHECK-COUNT-2: vector.store %[[SUM]]#{{.*}}, %arg2[%[[IB]], %{{.*}}] : memref<16x40xf32>, vector<16xf32>
// CHECK: vector.maskedstore %arg2[%[[IB]], %{{.*}}], %{{.*}}, %[[SUM]]#2
// CHECK-NOT: linalg.generic
// For AVX2, vectors of 8 and 12 accumulators: the first 24 columns in
// blocks of 4 rows by 3 vectors; the last 16, two vectors, in blocks of
// up to 6 rows (6, then 5 + 5: 12 and 10 accumulators), no masks.
// AVX2-LABEL: func.func @matmul
// AVX2: scf.for %{{.*}} = %c0 to %c16 step %c4
// AVX2: scf.for %{{.*}} iter_args({{.*}}) -> ({{(vector<8xf32>, ){11}vector<8xf32>}})
// AVX2: scf.for %{{.*}} iter_args({{.*}}) -> ({{(vector<8xf32>, ){11}vector<8xf32>}})
// AVX2: scf.for %{{.*}} = %c6{{.*}} to %c16{{.*}} step %c5
// AVX2: scf.for %{{.*}} iter_args({{.*}}) -> ({{(vector<8xf32>, ){9}vector<8xf32>}})
// AVX2-NOT: vector.maskedload
func.func @matmul(%a: memref<16x8xf32>, %b: memref<8x40xf32>, %c: memref<16x40xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<16x40xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x8xf32>, memref<8x40xf32>) outs(%c : memref<16x40xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A stride-1 convolution on one output channel (an NCHW tile): the input
// is read at [.., oh + kh, ow + kw], so the rows are output rows (the
// input depends on them: one load per row and vector) and the filter's
// scalar is loaded and broadcast once per step for all 6 rows x 2 vectors.
// C starts from its contents (a bias).
// CHECK-LABEL: func.func @conv_tile
// AVX2-LABEL: func.func @conv_tile
// CHECK: vector.load %arg2[{{.*}}] : memref<1x1x6x20xf32>, vector<16xf32>
// CHECK: vector.maskedload %arg2
// CHECK: scf.for %[[IC:.*]] = %{{.*}} to %c4{{.*}} step
// CHECK: scf.for %[[KH:.*]] = %{{.*}} to %c3{{.*}} step
// CHECK: scf.for %[[KW:.*]] = %{{.*}} to %c3{{.*}} step
// CHECK: vector.load %arg0[%{{.*}}, %[[IC]], %[[KH]], %[[KW]]] : memref<1x4x8x22xf32>, vector<16xf32>
// CHECK: vector.maskedload %arg0
// CHECK-COUNT-5: vector.load %arg0
// CHECK: memref.load %arg1[%{{.*}}, %[[IC]], %[[KH]], %[[KW]]]
// CHECK-NOT: memref.load
// CHECK-COUNT-12: vector.fma
// CHECK: scf.yield
#in = affine_map<(n, oc, oh, ic, kh, kw, ow) -> (n, ic, oh + kh, ow + kw)>
#w = affine_map<(n, oc, oh, ic, kh, kw, ow) -> (oc, ic, kh, kw)>
#out = affine_map<(n, oc, oh, ic, kh, kw, ow) -> (n, oc, oh, ow)>
func.func @conv_tile(%x: memref<1x4x8x22xf32>, %w: memref<1x4x3x3xf32>, %y: memref<1x1x6x20xf32>) {
  linalg.generic {indexing_maps = [#in, #w, #out], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction", "parallel"]}
      ins(%x, %w : memref<1x4x8x22xf32>, memref<1x4x3x3xf32>) outs(%y : memref<1x1x6x20xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Left alone: B read transposed (no input is contiguous along the output's
// columns), a stride-3 convolution's input, and a max instead of a sum.
// CHECK-LABEL: func.func @not_contractions
// CHECK-NOT: vector.
// CHECK-COUNT-3: linalg.generic
// CHECK-NOT: vector.
#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
#bt = affine_map<(d0, d1, d2) -> (d2, d1)>
#in2 = affine_map<(d0, d1, d2) -> (d0, d1 * 3 + d2)>
#w2 = affine_map<(d0, d1, d2) -> (d2)>
#out2 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @not_contractions(%a: memref<16x8xf32>, %b: memref<8x40xf32>, %bt: memref<40x8xf32>, %c: memref<16x40xf32>,
                            %x: memref<4x60xf32>, %w: memref<3xf32>, %y: memref<4x20xf32>) {
  linalg.generic {indexing_maps = [#a, #bt, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %bt : memref<16x8xf32>, memref<40x8xf32>) outs(%c : memref<16x40xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#in2, #w2, #out2], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x60xf32>, memref<3xf32>) outs(%y : memref<4x20xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x8xf32>, memref<8x40xf32>) outs(%c : memref<16x40xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.maximumf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A stride-2 convolution: a full vector of the input (16 outputs) is the
// even elements of two plain loads 15 apart, which cover the 31 elements
// it spans exactly; a partial one (the row's last 4 outputs) is every
// other element of a masked load twice as long, which stops at the last
// element used (2 * 3 + 1).
// CHECK-LABEL: func.func @stride_2
// CHECK: %[[LO:.*]] = vector.load %arg0[%[[R:.*]], %[[AT:.*]]] : memref<4x41xf32>, vector<16xf32>
// CHECK: %[[HI:.*]] = vector.load %arg0[%[[R]], %{{.*}}] : memref<4x41xf32>, vector<16xf32>
// CHECK: vector.shuffle %[[LO]], %[[HI]] [0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31] : vector<16xf32>, vector<16xf32>
// CHECK: arith.constant dense<[true, true, true, true, true, true, true, false, {{.*}}]> : vector<32xi1>
// CHECK: %[[SPAN:.*]] = vector.maskedload %arg0[{{.*}}], %{{.*}}, %{{.*}} : memref<4x41xf32>, vector<32xi1>, vector<32xf32> into vector<32xf32>
// CHECK: vector.shuffle %[[SPAN]], %[[SPAN]] [0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30] : vector<32xf32>, vector<32xf32>
// CHECK: vector.fma
#in3 = affine_map<(d0, d1, d2) -> (d0, d1 * 2 + d2)>
#w3 = affine_map<(d0, d1, d2) -> (d2)>
#out3 = affine_map<(d0, d1, d2) -> (d0, d1)>
func.func @stride_2(%x: memref<4x41xf32>, %w: memref<3xf32>, %y: memref<4x20xf32>) {
  linalg.generic {indexing_maps = [#in3, #w3, #out3], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<4x41xf32>, memref<3xf32>) outs(%y : memref<4x20xf32>) {
  ^bb0(%p0: f32, %p1: f32, %acc: f32):
    %p = arith.mulf %p0, %p1 : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A convolution with its filter channels last (kiln-cpu-output-channels-last)
// and output rows 3 wide: vectors run along the 64 output channels (all
// lanes busy) where rows would fill 3 of 16 lanes; C is not contiguous
// along them (stride 9), so it is gathered and scattered. The filter's
// 64 x 3 x 3 steps of 256 bytes would not stay in the cache for the next
// rows: the input channels go in chunks of 32. The partial sums between
// chunks go to a 9 x 64 buffer on the stack, so that C is gathered once
// (its start, by the first chunk) and scattered once (by the last).
// The output rows (3) are shorter than a block: rows and columns merge
// into 9 rows p = 3 oh + ow, in blocks of 5 and 4, each load of the filter
// serving 5 rows instead of 3.
// The last chunk's channels: 32 + ic.
// CHECK: #[[PLUS32:.*]] = affine_map<(d0) -> (d0 + 32)>
// CHECK-LABEL: func.func @channels_last
// CHECK: %[[PARTIAL:.*]] = memref.alloca() {alignment = 64 : i64} : memref<9x64xf32>
// CHECK: %[[OFFSETS:.*]] = arith.constant dense<[0, 9, 18, 27, 36, 45, 54, 63, 72, 81, 90, 99, 108, 117, 126, 135]> : vector<16xi32>
// CHECK: vector.gather %arg2[{{.*}}] [%[[OFFSETS]]]
// CHECK-COUNT-3: vector.gather %arg2[%c0{{[_0-9]*}}, %c{{[0-9]+}}{{[_0-9]*}}, %c0{{[_0-9]*}}, %c0{{[_0-9]*}}]
// CHECK-COUNT-4: vector.gather %arg2[%c0{{[_0-9]*}}, %c{{[0-9]+}}{{[_0-9]*}}, %c0{{[_0-9]*}}, %c1{{[_0-9]*}}]
// CHECK-COUNT-4: vector.gather %arg2[%c0{{[_0-9]*}}, %c{{[0-9]+}}{{[_0-9]*}}, %c0{{[_0-9]*}}, %c2{{[_0-9]*}}]
// CHECK-COUNT-4: vector.gather %arg2[%c0{{[_0-9]*}}, %c{{[0-9]+}}{{[_0-9]*}}, %c1{{[_0-9]*}}, %c0{{[_0-9]*}}]
// CHECK-COUNT-4: vector.gather %arg2[%c0{{[_0-9]*}}, %c{{[0-9]+}}{{[_0-9]*}}, %c1{{[_0-9]*}}, %c1{{[_0-9]*}}]
// CHECK: scf.for {{.*}} to %c32{{.*}} -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK: vector.load %arg1[{{.*}}] : memref<64x3x3x64xf32>, vector<16xf32>
// CHECK: memref.load %arg0[{{.*}}] : memref<1x64x5x5xf32>
// CHECK: vector.fma
// CHECK-COUNT-20: vector.store %{{.*}}, %[[PARTIAL]][{{.*}}] : memref<9x64xf32>, vector<16xf32>
// CHECK-COUNT-16: vector.store %{{.*}}, %[[PARTIAL]][{{.*}}] : memref<9x64xf32>, vector<16xf32>
// CHECK-COUNT-20: vector.load %[[PARTIAL]][{{.*}}] : memref<9x64xf32>, vector<16xf32>
// CHECK: scf.for %[[IC:.*]] = %c0{{.*}} to %c32
// CHECK: affine.apply #[[PLUS32]](%[[IC]])
// CHECK-COUNT-20: vector.scatter %arg2[{{.*}}]
// CHECK-COUNT-16: vector.load %[[PARTIAL]][{{.*}}] : memref<9x64xf32>, vector<16xf32>
// CHECK-COUNT-16: vector.scatter %arg2[{{.*}}]
// CHECK-NOT: vector.gather
// CHECK-NOT: memref.store
// CHECK-NOT: memref.prefetch
#in4 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh + kh, ow + kw)>
#w4 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (ic, kh, kw, oc)>
#out4 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, oc, oh, ow)>
func.func @channels_last(%x: memref<1x64x5x5xf32>, %w: memref<64x3x3x64xf32>, %y: memref<1x64x3x3xf32>) {
  linalg.generic {indexing_maps = [#in4, #w4, #out4], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x64x5x5xf32>, memref<64x3x3x64xf32>) outs(%y : memref<1x64x3x3xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A filter of 1.1 MiB, too large to stay in the cache from one run to
// the next: each step asks for the filter's vectors 64 steps ahead, which
// with a window of 3 x 3 is 8 input channels ahead (the small filter
// above gets no prefetch). The image is read down its columns (25 floats
// per channel), so the channels run in chunks of 16 (@a_down_columns
// below); the first chunk is peeled.
// AVX2: #[[PLUS8:.*]] = affine_map<(d0) -> (d0 + 8)>
// AVX2-LABEL: func.func @streamed_filter
// AVX2: scf.for %[[IC:[^ ]*]] = %{{.*}} to %c16
// AVX2: scf.for %[[KH:[^ ]*]] = %{{.*}} to %c3
// AVX2: scf.for %[[KW:[^ ]*]] = %{{.*}} to %c3
// AVX2: affine.apply #[[PLUS8]](%[[IC]])
// AVX2: memref.prefetch %arg1[%{{[0-9]+}}, %[[KH]], %[[KW]], %{{.*}}], read, locality<3>, data : memref<128x3x3x256xf32>
// AVX2: vector.fma
// CHECK-LABEL: func.func @streamed_filter
// CHECK: memref.prefetch %arg1[
#in5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh + kh, ow + kw)>
#w5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (ic, kh, kw, oc)>
#out5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, oc, oh, ow)>
func.func @streamed_filter(%x: memref<1x128x5x5xf32>, %w: memref<128x3x3x256xf32>, %y: memref<1x256x3x3xf32>) {
  linalg.generic {indexing_maps = [#in5, #w5, #out5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x128x5x5xf32>, memref<128x3x3x256xf32>) outs(%y : memref<1x256x3x3xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// B stored as panels of 64 columns (kiln-cpu-pack-weights): B[k][j] at
// Bp[j floordiv 64][k][j mod 64]. Each block of 4 vectors reads one
// panel row (contiguous), with unit stride along j; no gathers.
// CHECK-LABEL: func.func @panels
// CHECK: scf.for %[[JB:.*]] = %c0 to %c128 step %c64
// CHECK: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args(
// CHECK-COUNT-4: vector.load %arg1[%{{.*}}, %[[K]], %{{.*}}] : memref<2x8x64xf32>, vector<16xf32>
// CHECK-NOT: vector.gather
// CHECK: vector.fma
// AVX2-LABEL: func.func @panels
// AVX2: vector.load %arg1[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x8x64xf32>, vector<8xf32>
// AVX2-NOT: vector.gather
#ap = affine_map<(d0, d1, d2) -> (d0, d1)>
#bp = affine_map<(d0, d1, d2) -> (d2 floordiv 64, d1, d2 mod 64)>
#cp = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @panels(%a: memref<6x8xf32>, %b: memref<2x8x64xf32>, %c: memref<6x128xf32>) {
  linalg.generic {indexing_maps = [#ap, #bp, #cp], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x8xf32>, memref<2x8x64xf32>) outs(%c : memref<6x128xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Panels of 16 columns, as kiln-cpu-pack-weights makes them for AVX2: a
// block spans one panel (2 vectors of 8), so 12 accumulators make blocks
// of 6 rows (the unpacked AVX2 block is 4 x 3). With AVX-512's vectors of
// 16, one vector per panel and 6 rows.
// CHECK-LABEL: func.func @panels16
// CHECK: scf.for %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// AVX2-LABEL: func.func @panels16
// AVX2: scf.for %[[JB:.*]] = %c0 to %c32 step %c16
// AVX2: scf.for %[[K:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2-COUNT-2: vector.load %arg1[%{{.*}}, %[[K]], %{{.*}}] : memref<2x8x16xf32>, vector<8xf32>
// AVX2-NOT: vector.load %arg1
// AVX2-COUNT-12: vector.fma
// AVX2-NOT: vector.gather
#ap16 = affine_map<(d0, d1, d2) -> (d0, d1)>
#bp16 = affine_map<(d0, d1, d2) -> (d2 floordiv 16, d1, d2 mod 16)>
#cp16 = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @panels16(%a: memref<6x8xf32>, %b: memref<2x8x16xf32>, %c: memref<6x32xf32>) {
  linalg.generic {indexing_maps = [#ap16, #bp16, #cp16], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x8xf32>, memref<2x8x16xf32>) outs(%c : memref<6x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A long reduction (64 steps) over constant panels of 16 columns
// (weights: kiln.constant), 12 rows in two blocks of 6 (AVX2): each step
// asks for one line of its own panel 8 steps ahead, and for the line the
// next block of columns reads at the same step (the next panel), which the
// second block of rows gives time to arrive. One prefetch per 64 bytes,
// not one per vector.
// AVX2-DAG: #[[AHEAD:.*]] = affine_map<(d0) -> (d0 + 8)>
// AVX2-DAG: #[[NEXT:.*]] = affine_map<(d0) -> (d0 floordiv 16 + 1)>
// AVX2-LABEL: func.func @prefetch_next_panel
// AVX2: %[[BV:.*]] = memref.subview %arg1
// AVX2: scf.for %[[JB:.*]] = %c0 to %c32 step %c16
// AVX2: scf.for %{{.*}} = %{{.*}} to %c12 step %c6
// AVX2: scf.for %[[K:[^ ]*]] = %{{.*}} to %c64
// AVX2: affine.apply #[[AHEAD]](%[[K]])
// AVX2: memref.prefetch %[[BV]][%{{.*}}, %{{.*}}, %{{.*}}], read, locality<3>, data
// AVX2: %[[P:.*]] = affine.apply #[[NEXT]](%[[JB]])
// AVX2: memref.prefetch %[[BV]][%[[P]], %[[K]], %{{.*}}], read, locality<3>, data
// AVX2-NOT: memref.prefetch
// AVX2: vector.fma
#apf = affine_map<(d0, d1, d2) -> (d0, d1)>
#bpf = affine_map<(d0, d1, d2) -> (d2 floordiv 16, d1, d2 mod 16)>
#cpf = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @prefetch_next_panel(%a: memref<12x64xf32>, %b: memref<4x64x16xf32> {kiln.constant}, %c: memref<12x32xf32>) {
  %bv = memref.subview %b[2, 0, 0] [2, 64, 16] [1, 1, 1] : memref<4x64x16xf32> to memref<2x64x16xf32, strided<[1024, 16, 1], offset: 2048>>
  linalg.generic {indexing_maps = [#apf, #bpf, #cpf], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %bv : memref<12x64xf32>, memref<2x64x16xf32, strided<[1024, 16, 1], offset: 2048>>) outs(%c : memref<12x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same with 6 rows, one block: each block of columns reads its panel
// once, so nothing runs while the next panel would arrive; only the
// prefetch ahead.
// AVX2-LABEL: func.func @prefetch_one_block
// AVX2: scf.for %{{.*}} = %{{.*}} to %c64
// AVX2: memref.prefetch
// AVX2-NOT: memref.prefetch
// AVX2: vector.fma
#apo = affine_map<(d0, d1, d2) -> (d0, d1)>
#bpo = affine_map<(d0, d1, d2) -> (d2 floordiv 16, d1, d2 mod 16)>
#cpo = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @prefetch_one_block(%a: memref<6x64xf32>, %b: memref<2x64x16xf32> {kiln.constant}, %c: memref<6x32xf32>) {
  linalg.generic {indexing_maps = [#apo, #bpo, #cpo], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<6x64xf32>, memref<2x64x16xf32>) outs(%c : memref<6x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// 12 rows again, but S is not a constant (an activation, as in a pointwise
// convolution): likely in the cache already, only the prefetch ahead.
// AVX2-LABEL: func.func @prefetch_activation
// AVX2: scf.for %{{.*}} = %{{.*}} to %c64
// AVX2: memref.prefetch
// AVX2-NOT: memref.prefetch
// AVX2: vector.fma
#apa = affine_map<(d0, d1, d2) -> (d0, d1)>
#bpa = affine_map<(d0, d1, d2) -> (d2 floordiv 16, d1, d2 mod 16)>
#cpa = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @prefetch_activation(%a: memref<12x64xf32>, %b: memref<2x64x16xf32>, %c: memref<12x32xf32>) {
  %bv = memref.subview %b[0, 0, 0] [2, 64, 16] [1, 1, 1] : memref<2x64x16xf32> to memref<2x64x16xf32, strided<[1024, 16, 1]>>
  linalg.generic {indexing_maps = [#apa, #bpa, #cpa], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %bv : memref<12x64xf32>, memref<2x64x16xf32, strided<[1024, 16, 1]>>) outs(%c : memref<12x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// 16 rows in blocks of at most 6 (AVX2, panels of 2 vectors): one block of
// 6, then two of 5, not 6 + 6 + 4 (a short block has too few accumulators
// to cover the FMA latency). Must not change: AVX-512's 24 accumulators
// take the 16 rows of one vector (a panel of 16) in one block; 8 rows in
// blocks of 4 stay 4 + 4 (@matmul's AVX2 case).
// CHECK-LABEL: func.func @uneven_rows
// CHECK: scf.for %{{.*}} iter_args({{.*}}) -> (vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>, vector<16xf32>)
// CHECK-NOT: scf.for
// CHECK: return
// AVX2-LABEL: func.func @uneven_rows
// AVX2: scf.for %[[K6:.*]] = %{{.*}} to %{{.*}} step %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
// AVX2: scf.for %[[I5:.*]] = %c6{{.*}} to %c16{{.*}} step %c5
// AVX2: scf.for %{{.*}} iter_args({{.*}}) -> (vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>, vector<8xf32>)
#au = affine_map<(d0, d1, d2) -> (d0, d1)>
#bu = affine_map<(d0, d1, d2) -> (d2 floordiv 16, d1, d2 mod 16)>
#cu = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @uneven_rows(%a: memref<16x8xf32>, %b: memref<2x8x16xf32>, %c: memref<16x32xf32>) {
  linalg.generic {indexing_maps = [#au, #bu, #cu], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x8xf32>, memref<2x8x16xf32>) outs(%c : memref<16x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// 28 columns (AVX2): a block of 3 vectors by 4 rows (twice), then the last
// 4 columns, one masked vector, for all 8 rows in one block: 8
// accumulators, not 4 (4 would take as long per step as the 12 of the
// first blocks).
// AVX2-LABEL: func.func @narrow_rest
// AVX2: scf.for %{{.*}} = %c0 to %c8 step %c4
// AVX2: scf.for %{{.*}} iter_args({{.*}}) -> ({{(vector<8xf32>, ){11}vector<8xf32>}})
// AVX2: scf.yield
// AVX2: scf.for %{{.*}} iter_args({{.*}}) -> ({{(vector<8xf32>, ){7}vector<8xf32>}})
// AVX2-COUNT-8: vector.maskedstore
// AVX2-NOT: scf.for
// AVX2: return
#an = affine_map<(d0, d1, d2) -> (d0, d1)>
#bn = affine_map<(d0, d1, d2) -> (d1, d2)>
#cn = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @narrow_rest(%a: memref<8x8xf32>, %b: memref<8x28xf32>, %c: memref<8x28xf32>) {
  linalg.generic {indexing_maps = [#an, #bn, #cn], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x8xf32>, memref<8x28xf32>) outs(%c : memref<8x28xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// Must not change: a chunked reduction whose C is contiguous along j (a
// convolution's output rows) keeps its partial sums in C, loaded and
// stored with plain vectors; no buffer on the stack.
// CHECK-LABEL: func.func @chunked_contiguous
// CHECK-NOT: memref.alloca
// CHECK: scf.for %{{.*}} = %c0 to %c512 step %c128
// CHECK: vector.load %arg2[{{.*}}] : memref<1x8x1x16xf32>, vector<16xf32>
// CHECK: vector.store %{{.*}}, %arg2[{{.*}}] : memref<1x8x1x16xf32>, vector<16xf32>
// CHECK-NOT: memref.alloca
// CHECK: return
#in5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh + kh, ow + kw)>
#w5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (oc, ic, kh, kw)>
#out5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, oc, oh, ow)>
func.func @chunked_contiguous(%x: memref<1x512x3x18xf32>, %w: memref<8x512x3x3xf32>, %y: memref<1x8x1x16xf32>) {
  linalg.generic {indexing_maps = [#in5, #w5, #out5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x512x3x18xf32>, memref<8x512x3x3xf32>) outs(%y : memref<1x8x1x16xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
// -----

// A 3x3 stride-2 max pool over 2 channels of a 9x41 padded image (an
// output row of 20: a full vector of 16 and a masked one of 4), after a
// fill with -inf, which becomes the accumulator's start. Per window
// position, the 31 elements a full vector's lanes lie in are two plain
// loads 15 apart, whose even elements are taken; each block of outputs is
// stored once, after the window.
#x = affine_map<(d0, d1, d2, d3, d4) -> (d0, 2 * d1 + d2, 2 * d4 + d3)>
#win = affine_map<(d0, d1, d2, d3, d4) -> (d2, d3)>
#y = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d4)>
// CHECK-LABEL: func.func @max_pool
// CHECK-NOT: linalg.fill
// CHECK: scf.for %[[C:[a-z0-9]+]] = %c0{{.*}} to %c2{{.*}} step %c1
// CHECK: scf.for %[[H:[a-z0-9]+]] = %c0{{.*}} to %c4{{.*}} step %c1
// CHECK: scf.for %[[J:[a-z0-9]+]] = %c0{{.*}} to %c16{{.*}} step %c16
// CHECK: %[[START:.*]] = vector.broadcast %arg3 : f32 to vector<16xf32>
// CHECK: scf.for %{{.*}} iter_args(%{{.*}} = %[[START]])
// CHECK: scf.for %{{.*}} iter_args(%[[ACC:[a-z0-9]+]] = %{{.*}})
// CHECK: %[[LO:.*]] = vector.load %arg0[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x9x41xf32>, vector<16xf32>
// CHECK: %[[HI:.*]] = vector.load %arg0[%{{.*}}, %{{.*}}, %{{.*}}] : memref<2x9x41xf32>, vector<16xf32>
// CHECK: %[[EVEN:.*]] = vector.shuffle %[[LO]], %[[HI]] [0, 2, 4, 6, 8, 10, 12, 14, 17, 19, 21, 23, 25, 27, 29, 31]
// CHECK: arith.maximumf %[[ACC]], %[[EVEN]] : vector<16xf32>
// CHECK: vector.store %{{.*}}, %arg2[%[[C]], %[[H]], %[[J]]] : memref<2x4x20xf32>, vector<16xf32>
// CHECK: vector.maskedstore %arg2[%[[C]], %[[H]], %c16{{.*}}]
// CHECK-NOT: linalg.generic
func.func @max_pool(%x: memref<2x9x41xf32>, %w: memref<3x3xf32>, %y: memref<2x4x20xf32>, %init: f32) {
  linalg.fill ins(%init : f32) outs(%y : memref<2x4x20xf32>)
  linalg.generic {indexing_maps = [#x, #win, #y], iterator_types = ["parallel", "parallel", "reduction", "reduction", "parallel"]} ins(%x, %w : memref<2x9x41xf32>, memref<3x3xf32>) outs(%y : memref<2x4x20xf32>) {
  ^bb0(%in: f32, %unused: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  }
  return
}

// -----

// A window sum with stride 1 (average pooling's) reads C as the start and
// one vector of X per window position; a stride of 3 is left to the scalar
// loops.
#x1 = affine_map<(d0, d1, d2) -> (d0, d2 + d1)>
#x3 = affine_map<(d0, d1, d2) -> (d0, 3 * d2 + d1)>
#win1 = affine_map<(d0, d1, d2) -> (d1)>
#y1 = affine_map<(d0, d1, d2) -> (d0, d2)>
// CHECK-LABEL: func.func @window_sums
// CHECK: %[[C:.*]] = vector.load %arg2[%{{.*}}, %{{.*}}] : memref<3x16xf32>, vector<16xf32>
// CHECK: scf.for {{.*}} iter_args(%[[ACC:[a-z0-9]+]] = %[[C]])
// CHECK: %[[X:.*]] = vector.load %arg0[%{{.*}}, %{{.*}}] : memref<3x50xf32>, vector<16xf32>
// CHECK: arith.addf %[[X]], %[[ACC]] : vector<16xf32>
// CHECK: vector.store
// CHECK: linalg.generic
// CHECK-SAME: ins(%arg0, %arg1 : memref<3x50xf32>, memref<3xf32>) outs(%arg3
func.func @window_sums(%x: memref<3x50xf32>, %w: memref<3xf32>, %y: memref<3x16xf32>, %z: memref<3x16xf32>) {
  linalg.generic {indexing_maps = [#x1, #win1, #y1], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %w : memref<3x50xf32>, memref<3xf32>) outs(%y : memref<3x16xf32>) {
  ^bb0(%in: f32, %unused: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#x3, #win1, #y1], iterator_types = ["parallel", "reduction", "parallel"]} ins(%x, %w : memref<3x50xf32>, memref<3xf32>) outs(%z : memref<3x16xf32>) {
  ^bb0(%in: f32, %unused: f32, %acc: f32):
    %s = arith.addf %in, %acc : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A 1x1 stride-1 convolution over an unpadded 4 x 14 image: the output's
// rows and columns, contiguous in X and Y alike and not read by the
// filter, are one run of 56 (7 vectors of 8), not 4 rows of 14 (2
// vectors, 14 lanes of 16).
// AVX2-LABEL: func.func @pointwise
// AVX2-DAG: %[[X:.*]] = memref.collapse_shape %arg0 {{\[}}[0], [1], [2, 3]] : memref<1x8x4x14xf32> into memref<1x8x56xf32>
// AVX2-DAG: %[[Y:.*]] = memref.collapse_shape %arg2 {{\[}}[0], [1], [2, 3]] : memref<1x16x4x14xf32> into memref<1x16x56xf32>
// AVX2: vector.load %[[X]]
// AVX2: vector.fma
// AVX2: vector.store %{{.*}}, %[[Y]]
// AVX2-NOT: vector.maskedstore
// AVX2-NOT: linalg.generic
// AVX2: return
// Must not change: the same over a padded input (X's rows are 16 long, the
// output's 14), and a 16-wide image that vectors of 8 divide.
// AVX2-LABEL: func.func @pointwise_kept
// AVX2-NOT: memref.collapse_shape
// AVX2: return
#xp = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh + kh, ow + kw)>
#wp = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (oc, ic, kh, kw)>
#yp = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, oc, oh, ow)>
func.func @pointwise(%x: memref<1x8x4x14xf32>, %w: memref<16x8x1x1xf32>, %y: memref<1x16x4x14xf32>) {
  linalg.generic {indexing_maps = [#xp, #wp, #yp], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x8x4x14xf32>, memref<16x8x1x1xf32>) outs(%y : memref<1x16x4x14xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
#xq = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh + kh + 1, ow + kw + 1)>
func.func @pointwise_kept(%x: memref<1x8x6x16xf32>, %w: memref<16x8x1x1xf32>, %y: memref<1x16x4x14xf32>,
                          %x16: memref<1x8x4x16xf32>, %y16: memref<1x16x4x16xf32>) {
  linalg.generic {indexing_maps = [#xq, #wp, #yp], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x8x6x16xf32>, memref<16x8x1x1xf32>) outs(%y : memref<1x16x4x14xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#xp, #wp, #yp], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x16, %w : memref<1x8x4x16xf32>, memref<16x8x1x1xf32>) outs(%y16 : memref<1x16x4x16xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// C copied from a bias along j just before the sum (a convolution's or a
// Gemm's bias): the accumulators start from the bias's two vectors, loaded
// once for the 6 rows of a block, and the copy goes; C is not read.
// AVX2-LABEL: func.func @bias_columns
// AVX2-NOT: linalg.generic
// AVX2: scf.for %{{.*}} = %c0 to %c12 step %c6
// AVX2: %[[B0:.*]] = vector.load %arg2[%{{.*}}] : memref<16xf32>, vector<8xf32>
// AVX2: %[[B1:.*]] = vector.load %arg2[%{{.*}}] : memref<16xf32>, vector<8xf32>
// AVX2-NOT: vector.load %arg3
// AVX2: scf.for %{{.*}} iter_args(%{{.*}} = %[[B0]], %{{.*}} = %[[B1]], %{{.*}} = %[[B0]], %{{.*}} = %[[B1]],
// AVX2-NOT: vector.load %arg3
// AVX2-COUNT-12: vector.store %{{.*}}, %arg3
#abi = affine_map<(d0, d1, d2) -> (d0, d1)>
#bbi = affine_map<(d0, d1, d2) -> (d1, d2)>
#cbi = affine_map<(d0, d1, d2) -> (d0, d2)>
#colbi = affine_map<(d0, d1) -> (d1)>
#idbi = affine_map<(d0, d1) -> (d0, d1)>
func.func @bias_columns(%a: memref<12x8xf32>, %b: memref<8x16xf32>, %bias: memref<16xf32> {llvm.noalias}, %c: memref<12x16xf32>) {
  linalg.generic {indexing_maps = [#colbi, #idbi], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<16xf32>) outs(%c : memref<12x16xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#abi, #bbi, #cbi], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<12x8xf32>, memref<8x16xf32>) outs(%c : memref<12x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A bias along the rows instead (each row its own value): the copy stays
// and the accumulators start from C, as before.
// AVX2-LABEL: func.func @bias_rows
// AVX2: linalg.generic
// AVX2: scf.for %{{.*}} = %c0 to %c12 step %c6
// AVX2: vector.load %arg3
#abr = affine_map<(d0, d1, d2) -> (d0, d1)>
#bbr = affine_map<(d0, d1, d2) -> (d1, d2)>
#cbr = affine_map<(d0, d1, d2) -> (d0, d2)>
#rowbr = affine_map<(d0, d1) -> (d0)>
#idbr = affine_map<(d0, d1) -> (d0, d1)>
func.func @bias_rows(%a: memref<12x8xf32>, %b: memref<8x16xf32>, %bias: memref<12xf32> {llvm.noalias}, %c: memref<12x16xf32>) {
  linalg.generic {indexing_maps = [#rowbr, #idbr], iterator_types = ["parallel", "parallel"]}
      ins(%bias : memref<12xf32>) outs(%c : memref<12x16xf32>) {
  ^bb0(%x: f32, %y: f32):
    linalg.yield %x : f32
  }
  linalg.generic {indexing_maps = [#abr, #bbr, #cbr], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<12x8xf32>, memref<8x16xf32>) outs(%c : memref<12x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// A read down its columns (A[k][i]: each step a new line for the 20 rows,
// as an image [channels][pixels] is read with the output channels along
// j): the reduction over 1024 runs in chunks of 64, so that A's chunk for
// all the rows and a block's S stay in L1 while the blocks of columns
// read A again. (S alone, 96 KiB over the reduction, would not be
// chunked.)
// AVX2-LABEL: func.func @a_down_columns
// AVX2: scf.for %{{.*}} = %c0 to %c1024 step %c64
// AVX2: scf.for %{{.*}} = %{{.*}} to %c20 step %c4
// AVX2: scf.for %{{.*}} = %{{.*}} to %c64{{.*}} step %c1
#akm = affine_map<(d0, d1, d2) -> (d1, d0)>
#bkm = affine_map<(d0, d1, d2) -> (d1, d2)>
#ckm = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @a_down_columns(%a: memref<1024x20xf32>, %b: memref<1024x32xf32>, %c: memref<20x32xf32>) {
  linalg.generic {indexing_maps = [#akm, #bkm, #ckm], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<1024x20xf32>, memref<1024x32xf32>) outs(%c : memref<20x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// -----

// The same with A read along its rows (A[i][k], a matmul's): a row
// block's A is a few lines per 16 steps; no chunks.
// AVX2-LABEL: func.func @a_along_rows
// AVX2-NOT: step %c64
// AVX2: scf.for %{{.*}} = %{{.*}} to %c1024 step %c1
#arm = affine_map<(d0, d1, d2) -> (d0, d1)>
#brm = affine_map<(d0, d1, d2) -> (d1, d2)>
#crm = affine_map<(d0, d1, d2) -> (d0, d2)>
func.func @a_along_rows(%a: memref<20x1024xf32>, %b: memref<1024x32xf32>, %c: memref<20x32xf32>) {
  linalg.generic {indexing_maps = [#arm, #brm, #crm], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<20x1024xf32>, memref<1024x32xf32>) outs(%c : memref<20x32xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
