// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32" \
// RUN:   | FileCheck %s --check-prefix=CHUNKS
// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32 chunk-bytes=1048576" \
// RUN:   | FileCheck %s --check-prefix=WHOLE
// RUN: graph-opt %s --kiln-cpu-vectorize-contractions="vector-bits=512 vector-registers=32 chunk-bytes=0" \
// RUN:   | FileCheck %s --check-prefix=WHOLE

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
