// RUN: graph-opt %s --kiln-cuda-map-kernels --canonicalize --cse --split-input-file \
// RUN:   | FileCheck %s

// An elementwise kernel: one launch, one thread per element, the innermost
// dimension fastest; the tile range becomes [0, 1).
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.launches = {{\[}}["k0_add", "k0_add_0", 24, 24]]
// CHECK: gpu.module @kiln_kernels
// CHECK: gpu.func @k0_add_0(%[[OUT:.*]]: memref<2x12xf32>, %[[IN:.*]]: memref<2x12xf32>) kernel
// CHECK-SAME: kiln.kernel = "k0_add"
// CHECK: %[[B:.*]] = gpu.block_id x
// CHECK: %[[D:.*]] = gpu.block_dim x
// CHECK: %[[T:.*]] = gpu.thread_id x
// CHECK: %[[BD:.*]] = arith.muli %[[B]], %[[D]]
// CHECK: %[[ID:.*]] = arith.addi %[[BD]], %[[T]]
// CHECK: %[[IN_RANGE:.*]] = arith.cmpi ult, %[[ID]], %c24
// CHECK: scf.if %[[IN_RANGE]]
// CHECK: %[[J:.*]] = arith.remui %[[ID]], %c12
// CHECK: %[[I:.*]] = arith.divui %[[ID]], %c12
// CHECK: memref.load %[[IN]][%[[I]], %[[J]]]
// CHECK: memref.store {{.*}}, %[[OUT]][%[[I]], %[[J]]]
// CHECK-NOT: func.func
#id = affine_map<(d0, d1) -> (d0, d1)>
module {
  func.func @k0_add(%out: memref<2x12xf32>, %in: memref<2x12xf32>, %first: index, %end: index) {
    linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
        ins(%in : memref<2x12xf32>) outs(%out : memref<2x12xf32>) {
    ^bb0(%a: f32, %b: f32):
      %s = arith.addf %a, %a : f32
      linalg.yield %s : f32
    }
    return
  }
}

// -----

// A matmul [i, k, j]: its parallel dimensions move outermost (one thread per
// output element), the reduction is a loop in each thread. The fill before
// it and the bias after it cover the same points and each thread reads only
// what it wrote: one launch. The constant global moves into the gpu.module.
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.launches = {{\[}}["k0_mm", "k0_mm_0", 6, 6]]
// CHECK: gpu.module @kiln_kernels
// CHECK: memref.global "private" constant @w
// CHECK: gpu.func @k0_mm_0
// CHECK: scf.if
// CHECK: memref.get_global @w
// CHECK: memref.store %cst
// CHECK: scf.for %{{.*}} = %c0{{.*}} to %c4
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: }
// CHECK: math.tanh
// CHECK-NOT: gpu.func
#a = affine_map<(d0, d1, d2) -> (d0, d1)>
#b = affine_map<(d0, d1, d2) -> (d1, d2)>
#c = affine_map<(d0, d1, d2) -> (d0, d2)>
#id2 = affine_map<(d0, d1) -> (d0, d1)>
module {
  memref.global "private" constant @w : memref<4x3xf32> = dense<1.0>
  func.func @k0_mm(%out: memref<2x3xf32> {llvm.noalias}, %x: memref<2x4xf32> {llvm.noalias}, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    %w = memref.get_global @w : memref<4x3xf32>
    linalg.fill ins(%zero : f32) outs(%out : memref<2x3xf32>)
    linalg.generic {indexing_maps = [#a, #b, #c], iterator_types = ["parallel", "reduction", "parallel"]}
        ins(%x, %w : memref<2x4xf32>, memref<4x3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32, %acc: f32):
      %m = arith.mulf %p, %q : f32
      %s = arith.addf %acc, %m : f32
      linalg.yield %s : f32
    }
    linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
        ins(%out : memref<2x3xf32>) outs(%out : memref<2x3xf32>) {
    ^bb0(%p: f32, %q: f32):
      %t = math.tanh %p : f32
      linalg.yield %t : f32
    }
    return
  }
}

// -----

// Must not fuse: the second loop reads the mirror element of what the
// first wrote (another thread's); nor when the second writes a buffer that
// may overlap one the first reads (%b may reuse %a's bytes: neither is
// llvm.noalias), which another thread of the first may not have read yet.
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.launches = {{\[}}["k0_shift", "k0_shift_0", 7, 7], ["k0_shift", "k0_shift_1", 7, 7], ["k0_alias", "k0_alias_0", 8, 8], ["k0_alias", "k0_alias_1", 8, 8]]
#s0 = affine_map<(d0) -> (d0)>
#s1 = affine_map<(d0) -> (6 - d0)>
module {
  func.func @k0_shift(%t: memref<7xf32> {llvm.noalias}, %out: memref<7xf32> {llvm.noalias}, %x: memref<7xf32> {llvm.noalias}, %first: index, %end: index) {
    linalg.generic {indexing_maps = [#s0, #s0], iterator_types = ["parallel"]}
        ins(%x : memref<7xf32>) outs(%t : memref<7xf32>) {
    ^bb0(%a: f32, %b: f32):
      %n = arith.negf %a : f32
      linalg.yield %n : f32
    }
    linalg.generic {indexing_maps = [#s1, #s0], iterator_types = ["parallel"]}
        ins(%t : memref<7xf32>) outs(%out : memref<7xf32>) {
    ^bb0(%a: f32, %b: f32):
      linalg.yield %a : f32
    }
    return
  }
  func.func @k0_alias(%t: memref<8xf32> {llvm.noalias}, %a: memref<8xf32>, %b: memref<8xf32>, %first: index, %end: index) {
    linalg.generic {indexing_maps = [#s0, #s0], iterator_types = ["parallel"]}
        ins(%a : memref<8xf32>) outs(%t : memref<8xf32>) {
    ^bb0(%x: f32, %y: f32):
      %n = arith.negf %x : f32
      linalg.yield %n : f32
    }
    linalg.generic {indexing_maps = [#s0, #s0], iterator_types = ["parallel"]}
        ins(%t : memref<8xf32>) outs(%b : memref<8xf32>) {
    ^bb0(%x: f32, %y: f32):
      %m = arith.mulf %x, %x : f32
      linalg.yield %m : f32
    }
    return
  }
}

// -----

// A full reduction to a scalar, then a use of it: the reduction has no
// parallel dimension, so it runs in one thread, and so do the ops after it
// that read its result (loaded in the same launch, after the loop).
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.launches = {{\[}}["k0_sum", "k0_sum_0", 1, 1]]
// CHECK: gpu.func @k0_sum_0(%[[S:.*]]: memref<f32>, %[[X:.*]]: memref<6xf32>)
// CHECK: memref.store %{{.*}}, %[[S]][]
// CHECK: scf.for
// CHECK: memref.load %[[X]]
// CHECK: }
// CHECK: %[[V:.*]] = memref.load %[[S]][]
// CHECK: math.sqrt %[[V]]
#x = affine_map<(d0) -> (d0)>
#s = affine_map<(d0) -> ()>
#e = affine_map<() -> ()>
module {
  func.func @k0_sum(%sum: memref<f32>, %x: memref<6xf32>, %first: index, %end: index) {
    %zero = arith.constant 0.0 : f32
    linalg.fill ins(%zero : f32) outs(%sum : memref<f32>)
    linalg.generic {indexing_maps = [#x, #s], iterator_types = ["reduction"]}
        ins(%x : memref<6xf32>) outs(%sum : memref<f32>) {
    ^bb0(%a: f32, %acc: f32):
      %t = arith.addf %acc, %a : f32
      linalg.yield %t : f32
    }
    linalg.generic {indexing_maps = [#e, #e], iterator_types = []}
        ins(%sum : memref<f32>) outs(%sum : memref<f32>) {
    ^bb0(%a: f32, %b: f32):
      %r = math.sqrt %a : f32
      linalg.yield %r : f32
    }
    return
  }
}

// -----

// A scalar loaded after a reduction wrote it, used by a later parallel
// launch: the launch loads it again (nothing wrote it in between). Math ops
// NVVM's lowering does not know call libdevice.
// CHECK-LABEL: module attributes
// CHECK-SAME: kiln.launches = {{\[}}["k0_scale", "k0_scale_0", 1, 1], ["k0_scale", "k0_scale_1", 8, 8]]
// CHECK: func.func private @__nv_coshf(f32) -> f32
// CHECK: gpu.func @k0_scale_1(%[[OUT:.*]]: memref<8xf32>, %[[M:.*]]: memref<f32>, %[[X:.*]]: memref<8xf32>)
// CHECK: scf.if
// CHECK: %[[MAX:.*]] = memref.load %[[M]][]
// CHECK: %[[V:.*]] = memref.load %[[X]]
// CHECK: arith.divf %[[V]], %[[MAX]]
// CHECK: call @__nv_coshf
#v = affine_map<(d0) -> (d0)>
#r = affine_map<(d0) -> ()>
module {
  func.func @k0_scale(%out: memref<8xf32>, %max: memref<f32>, %x: memref<8xf32>, %first: index, %end: index) {
    %lowest = arith.constant 0xFF800000 : f32
    linalg.fill ins(%lowest : f32) outs(%max : memref<f32>)
    linalg.generic {indexing_maps = [#v, #r], iterator_types = ["reduction"]}
        ins(%x : memref<8xf32>) outs(%max : memref<f32>) {
    ^bb0(%a: f32, %acc: f32):
      %t = arith.maximumf %acc, %a : f32
      linalg.yield %t : f32
    }
    %m = memref.load %max[] : memref<f32>
    linalg.generic {indexing_maps = [#v, #v], iterator_types = ["parallel"]}
        ins(%x : memref<8xf32>) outs(%out : memref<8xf32>) {
    ^bb0(%a: f32, %b: f32):
      %d = arith.divf %a, %m : f32
      %c = math.cosh %d : f32
      linalg.yield %c : f32
    }
    return
  }
}

