// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32" \
// RUN:   | FileCheck %s --check-prefix=CHUNKS
// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32 chunk-bytes=1048576" \
// RUN:   | FileCheck %s --check-prefix=WHOLE
// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32 chunk-bytes=0" \
// RUN:   | FileCheck %s --check-prefix=WHOLE
// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32" \
// RUN:   | FileCheck %s --check-prefix=FILTER

// A matmul over 3072 steps whose blocks of rows read 256 bytes of S per
// step (4 vectors of 16): 768 KiB per block over the whole reduction. With
// the default budget of 128 KiB it runs in chunks of 512 steps, C holding
// the partial sums: the first chunk peeled (from zero), the rest in a loop
// from C. With a budget of 1 MiB (what CpuBackend gives AVX-512 targets),
// or none, each block of rows runs the whole reduction at once.
// CHUNKS-LABEL: func.func @long_reduction
// CHUNKS: scf.for %{{.*}} = %c0{{.*}} to %c512{{.*}} step %c1
// CHUNKS: scf.for %{{.*}} = %c512{{.*}} to %c3072{{.*}} step %c512
// CHUNKS: scf.for %{{.*}} = %c0{{.*}} to %c512{{.*}} step %c1
// WHOLE-LABEL: func.func @long_reduction
// WHOLE-NOT: step %c512
// WHOLE: scf.for %{{.*}} = %c0{{.*}} to %c3072{{.*}} step %c1
// WHOLE-NOT: step %c512
// WHOLE: return
#a = affine_map<(i, j, k) -> (i, k)>
#b = affine_map<(i, j, k) -> (k, j)>
#c = affine_map<(i, j, k) -> (i, j)>
func.func @long_reduction(%x: memref<12x3072xf32>, %w: memref<3072x64xf32>, %y: memref<12x64xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<12x64xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%x, %w : memref<12x3072xf32>, memref<3072x64xf32>) outs(%y : memref<12x64xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}

// A 3x3 convolution of 128 channels into a tile of 16 (the rows of a
// block; its vectors along the output row): every output row (oh, a loop
// the filter does not depend on) reads the tile's whole filter, 72 KiB,
// more than L1 holds. The input channels run in chunks of 16 (16 x 16 x 9
// floats of filter), all the output rows chunk after chunk: the first
// chunk peeled, the rest in a loop, each over oh.
// FILTER-LABEL: func.func @filter_reread
// FILTER: scf.for %{{.*}} = %c0{{.*}} to %c14{{.*}} step %c1
// FILTER: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c1
// FILTER: scf.for %[[CHUNK:.*]] = %c16{{.*}} to %c128{{.*}} step %c16
// FILTER: scf.for %{{.*}} = %c0{{.*}} to %c14{{.*}} step %c1
// FILTER: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c1
// FILTER: return
// With 16 input channels the tile's filter (9 KiB) stays in L1 as it is:
// one loop over all of them.
// FILTER-LABEL: func.func @filter_fits
// FILTER-NOT: step %c16
// FILTER: scf.for %{{.*}} = %c0{{.*}} to %c16{{.*}} step %c1
// FILTER-NOT: step %c16
// FILTER: return
#x = affine_map<(m, h, w, c, kh, kw) -> (c, h + kh, w + kw)>
#f = affine_map<(m, h, w, c, kh, kw) -> (m, c, kh, kw)>
#y = affine_map<(m, h, w, c, kh, kw) -> (m, h, w)>
func.func @filter_reread(%x: memref<128x16x16xf32>, %w: memref<16x128x3x3xf32>, %y: memref<16x14x14xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<16x14x14xf32>)
  linalg.generic {indexing_maps = [#x, #f, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<128x16x16xf32>, memref<16x128x3x3xf32>) outs(%y : memref<16x14x14xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
func.func @filter_fits(%x: memref<16x16x16xf32>, %w: memref<16x16x3x3xf32>, %y: memref<16x14x14xf32>) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%y : memref<16x14x14xf32>)
  linalg.generic {indexing_maps = [#x, #f, #y], iterator_types = ["parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<16x16x16xf32>, memref<16x16x3x3xf32>) outs(%y : memref<16x14x14xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  return
}
