// RUN: graph-opt %s --split-input-file --kiln-cpu-vectorize-contractions="vector-bits=256 vector-registers=16" \
// RUN:   | FileCheck %s
// RUN: graph-opt %s --split-input-file --kiln-cpu-vectorize-contractions="vector-bits=256 vector-registers=16 fuse-epilogues=false" \
// RUN:   | FileCheck %s --check-prefix=OFF

#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>
#one = affine_map<(d0, d1) -> ()>

// A tiled fusion's tile: C (the kernel's own kiln.local buffer) = A B,
// then D = relu(C + bias[j]) * scale + R. The epilogue runs on the
// accumulators: bias and R are loaded as vectors along j, the scale is
// one element broadcast, the constant a splat; the results go straight
// to D and C is never written. The output's subview moves above the
// microkernel.
// CHECK-LABEL: func.func @fused
// CHECK: %[[D:.*]] = memref.subview %arg4
// CHECK: %[[SUM:.*]]:8 = scf.for
// CHECK: %[[BIAS:.*]] = vector.load %arg3[%{{.*}}] : memref<16xf32>, vector<8xf32>
// CHECK: %[[RES:.*]] = vector.load %arg5[%{{.*}}, %{{.*}}] : memref<8x16xf32>, vector<8xf32>
// CHECK: %[[SCALE:.*]] = memref.load %arg6[] : memref<f32>
// CHECK: %[[SPLAT:.*]] = vector.broadcast %[[SCALE]] : f32 to vector<8xf32>
// CHECK: %[[ZERO:.*]] = arith.constant dense<0.000000e+00> : vector<8xf32>
// CHECK: %[[ADD:.*]] = arith.addf %[[SUM]]#0, %[[BIAS]] : vector<8xf32>
// CHECK: %[[RELU:.*]] = arith.maximumf %[[ADD]], %[[ZERO]] : vector<8xf32>
// CHECK: %[[MUL:.*]] = arith.mulf %[[RELU]], %[[SPLAT]] : vector<8xf32>
// CHECK: %[[OUT:.*]] = arith.addf %[[MUL]], %[[RES]] : vector<8xf32>
// CHECK: vector.store %[[OUT]], %[[D]][%{{.*}}, %{{.*}}] : memref<8x16xf32, strided<[32, 1], offset: ?>>, vector<8xf32>
// CHECK-NOT: %arg2
// CHECK-NOT: linalg.generic
// CHECK: return
// Without the option, C is stored and the epilogue stays a generic.
// OFF-LABEL: func.func @fused
// OFF: vector.store %{{.*}}, %arg2
// OFF: linalg.generic
func.func @fused(%a: memref<8x4xf32>, %b: memref<4x16xf32>,
                 %c: memref<8x16xf32> {kiln.local, llvm.noalias},
                 %bias: memref<16xf32>, %out: memref<8x32xf32> {llvm.noalias},
                 %r: memref<8x16xf32>, %scale: memref<f32>, %col: index) {
  %zero = arith.constant 0.0 : f32
  linalg.fill ins(%zero : f32) outs(%c : memref<8x16xf32>)
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>) outs(%c : memref<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  %d = memref.subview %out[0, %col] [8, 16] [1, 1] : memref<8x32xf32> to memref<8x16xf32, strided<[32, 1], offset: ?>>
  linalg.generic {indexing_maps = [#id, #row, #id, #one, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %bias, %r, %scale : memref<8x16xf32>, memref<16xf32>, memref<8x16xf32>, memref<f32>)
      outs(%d : memref<8x16xf32, strided<[32, 1], offset: ?>>) {
  ^bb0(%v: f32, %bv: f32, %rv: f32, %sv: f32, %unused: f32):
    %z = arith.constant 0.0 : f32
    %t = arith.addf %v, %bv : f32
    %u = arith.maximumf %t, %z : f32
    %m = arith.mulf %u, %sv : f32
    %o = arith.addf %m, %rv : f32
    linalg.yield %o : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>

// C is not the kernel's own (no kiln.local): it is stored as well as the
// epilogue's result.
// CHECK-LABEL: func.func @keeps_c
// CHECK: %[[SUM:.*]]:8 = scf.for
// CHECK: %[[T:.*]] = math.tanh %[[SUM]]#0 : vector<8xf32>
// CHECK: vector.store %[[T]], %arg3[
// CHECK: vector.store %[[SUM]]#0, %arg2[
// CHECK-NOT: linalg.generic
func.func @keeps_c(%a: memref<8x4xf32>, %b: memref<4x16xf32>,
                   %c: memref<8x16xf32> {llvm.noalias},
                   %d: memref<8x16xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>) outs(%c : memref<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<8x16xf32>) outs(%d : memref<8x16xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %t = math.tanh %v : f32
    linalg.yield %t : f32
  }
  return
}

// -----

// A reduction in chunks (C contiguous, holding the partial sums): the
// last chunk is peeled, and only its stores go through the epilogue.
// CHECK-LABEL: func.func @chunked
// CHECK: scf.for %{{.*}} = %c0 to %c384 step %c128
// CHECK: vector.store %{{.*}}, %arg2[
// CHECK: scf.yield
// CHECK: arith.negf %{{.*}} : vector<8xf32>
// CHECK: vector.store %{{.*}}, %arg3[
// CHECK-NOT: linalg.generic
#in5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, ic, oh + kh, ow + kw)>
#w5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (oc, ic, kh, kw)>
#out5 = affine_map<(n, oc, oh, ow, ic, kh, kw) -> (n, oc, oh, ow)>
#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
func.func @chunked(%x: memref<1x512x3x18xf32>, %w: memref<8x512x3x3xf32>,
                   %y: memref<1x8x1x16xf32> {kiln.local, llvm.noalias},
                   %z: memref<1x8x1x16xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#in5, #w5, #out5], iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction", "reduction", "reduction"]}
      ins(%x, %w : memref<1x512x3x18xf32>, memref<8x512x3x3xf32>) outs(%y : memref<1x8x1x16xf32>) {
  ^bb0(%i: f32, %f: f32, %acc: f32):
    %p = arith.mulf %i, %f : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id4, #id4], iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%y : memref<1x8x1x16xf32>) outs(%z : memref<1x8x1x16xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#t = affine_map<(d0, d1) -> (d1, d0)>
#rowsum = affine_map<(d0, d1) -> (d0)>

// Must not change (each epilogue stays a generic after the microkernel):
// C read transposed; an epilogue output that may share bytes with A (no
// llvm.noalias); a reduction after the matmul; an epilogue whose other
// input is read across j (a column of R).
// CHECK-LABEL: func.func @not_fused
// CHECK-COUNT-4: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @not_fused(%a: memref<16x4xf32>, %b: memref<4x16xf32>,
                     %c: memref<16x16xf32> {kiln.local, llvm.noalias},
                     %d: memref<16x16xf32> {llvm.noalias},
                     %e: memref<16x16xf32>, %s: memref<16xf32> {llvm.noalias},
                     %r: memref<16x16xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x4xf32>, memref<4x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x16xf32>) outs(%d : memref<16x16xf32>) {
  ^bb0(%v: f32, %unused: f32):
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x4xf32>, memref<4x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c : memref<16x16xf32>) outs(%e : memref<16x16xf32>) {
  ^bb0(%v: f32, %unused: f32):
    %n = arith.negf %v : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x4xf32>, memref<4x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#id, #rowsum], iterator_types = ["parallel", "reduction"]}
      ins(%c : memref<16x16xf32>) outs(%s : memref<16xf32>) {
  ^bb0(%v: f32, %acc: f32):
    %n = arith.addf %acc, %v : f32
    linalg.yield %n : f32
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<16x4xf32>, memref<4x16xf32>) outs(%c : memref<16x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %q = arith.addf %acc, %p : f32
    linalg.yield %q : f32
  }
  linalg.generic {indexing_maps = [#id, #t, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %r : memref<16x16xf32>, memref<16x16xf32>) outs(%d : memref<16x16xf32>) {
  ^bb0(%v: f32, %rv: f32, %unused: f32):
    %n = arith.addf %v, %rv : f32
    linalg.yield %n : f32
  }
  return
}

// -----

#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
#id = affine_map<(d0, d1) -> (d0, d1)>
#row = affine_map<(d0, d1) -> (d1)>

// Must not change: epilogues that write or read bools (a comparison, a
// mask). A memref holds an i1 per byte; a vector<8xi1> is 8 bits.
// CHECK-LABEL: func.func @bool_epilogues
// CHECK-COUNT-2: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
func.func @bool_epilogues(%a: memref<8x4xf32>, %b: memref<4x16xf32>,
                          %c: memref<8x16xf32> {kiln.local, llvm.noalias},
                          %th: memref<16xf32>, %g: memref<8x16xi1> {llvm.noalias},
                          %m: memref<16xi1>, %d: memref<8x16xf32> {llvm.noalias}) {
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>) outs(%c : memref<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %th : memref<8x16xf32>, memref<16xf32>) outs(%g : memref<8x16xi1>) {
  ^bb0(%v: f32, %t: f32, %unused: i1):
    %gt = arith.cmpf ogt, %v, %t : f32
    linalg.yield %gt : i1
  }
  linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
      ins(%a, %b : memref<8x4xf32>, memref<4x16xf32>) outs(%c : memref<8x16xf32>) {
  ^bb0(%x: f32, %y: f32, %acc: f32):
    %p = arith.mulf %x, %y : f32
    %s = arith.addf %acc, %p : f32
    linalg.yield %s : f32
  }
  linalg.generic {indexing_maps = [#id, #row, #id], iterator_types = ["parallel", "parallel"]}
      ins(%c, %m : memref<8x16xf32>, memref<16xi1>) outs(%d : memref<8x16xf32>) {
  ^bb0(%v: f32, %k: i1, %unused: f32):
    %z = arith.constant 0.0 : f32
    %r = arith.select %k, %v, %z : f32
    linalg.yield %r : f32
  }
  return
}
