// RUN: graph-opt %s --split-input-file --kiln-outline-kernels | FileCheck %s
// RUN: graph-opt %s --split-input-file --kiln-outline-kernels=grids=false \
// RUN:   | FileCheck %s --check-prefix=NOGRID

// Kernels whose buffers share bytes are not noalias: an in-place kernel
// that reads f32 and writes i32 at the same offset takes two views of one
// slot. A loop not marked kiln.parallel and a linalg op whose only parallel
// loop of extent above one is read reversed have no grid (1 tile); nor has
// a 1-D op, whose one loop stays whole for the vector units. A buffer with
// no elements is not passed; the kernel makes its own.
// CHECK-LABEL: func.func @k0_copy_x
// CHECK-SAME: (%{{[^:]*}}: memref<2x8xf32> {llvm.noalias}, %{{[^:]*}}: memref<2x8xf32> {llvm.align = 64 : i64, llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK-LABEL: func.func @k1_cast
// CHECK-SAME: (%{{[^:]*}}: memref<2x8xf32> {llvm.align = 64 : i64}, %{{[^:]*}}: memref<2x8xi32> {llvm.align = 64 : i64}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK: scf.for
// CHECK-LABEL: func.func @k2_reverse
// CHECK-SAME: (%{{[^:]*}}: memref<2x8xi32> {llvm.align = 64 : i64, llvm.noalias}, %{{[^:]*}}: memref<2x8xi32> {llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK-LABEL: func.func @k3_serial
// CHECK-SAME: (%{{[^:]*}}: memref<2x8xi32> {llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK: memref.alloca() : memref<0xi32>
// CHECK-LABEL: func.func @k4_flat
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// With grids=false (a GPU target), no kernel gets a grid: the tile loop
// keeps its bounds and the lone op is not tiled.
// NOGRID-LABEL: func.func @k1_cast
// NOGRID: scf.for
// NOGRID-LABEL: func.func @main
// NOGRID: kiln.dispatch @k0_copy_x grid(1)
// NOGRID: kiln.dispatch @k1_cast grid(1)
// NOGRID-NEXT: kiln.dispatch @k2_reverse grid(1)
// CHECK-LABEL: func.func @main
// CHECK: kiln.dispatch @k0_copy_x grid(2) (%[[X:.*]], %[[F:.*]]) : memref<2x8xf32>, memref<2x8xf32>
// CHECK: kiln.dispatch @k1_cast grid(2) (%[[F]], %[[I:.*]]) : memref<2x8xf32>, memref<2x8xi32>
// CHECK-NEXT: kiln.dispatch @k2_reverse grid(1) (%[[I]], %[[FETCH:.*]]) :
// CHECK-NEXT: kiln.dispatch @k3_serial grid(1) (%[[FETCH]]) : memref<2x8xi32>
// CHECK: kiln.dispatch @k4_flat grid(1)
// CHECK-NEXT: return
#id = affine_map<(d0, d1) -> (d0, d1)>
#rev = affine_map<(d0, d1) -> (-d0 + 1, d1)>
#id1 = affine_map<(d0) -> (d0)>
func.func @main(%x: memref<2x8xf32> {kiln.name = "x"}, %y: memref<2x8xi32> {kiln.name = "y"}, %arena: memref<256xi8> {kiln.arena}) attributes {kiln.arena_bytes = 256 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c2 = arith.constant 2 : index
  %c128 = arith.constant 128 : index
  %f = memref.view %arena[%c0][] : memref<256xi8> to memref<2x8xf32>
  linalg.copy {kiln.kernel = "copy_x"} ins(%x : memref<2x8xf32>) outs(%f : memref<2x8xf32>)
  %i = memref.view %arena[%c0][] : memref<256xi8> to memref<2x8xi32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel", "parallel"]}
      ins(%f : memref<2x8xf32>) outs(%i : memref<2x8xi32>) attrs = {kiln.kernel = "cast"} {
  ^bb0(%in: f32, %out: i32):
    %v = arith.fptosi %in : f32 to i32
    linalg.yield %v : i32
  }
  linalg.generic {indexing_maps = [#rev, #id], iterator_types = ["parallel", "parallel"]}
      ins(%i : memref<2x8xi32>) outs(%y : memref<2x8xi32>) attrs = {kiln.kernel = "reverse"} {
  ^bb0(%in: i32, %out: i32):
    linalg.yield %in : i32
  }
  %e = memref.view %arena[%c0][] : memref<256xi8> to memref<0xi32>
  scf.for %k = %c0 to %c2 step %c1 {
    %s = memref.load %y[%k, %c0] : memref<2x8xi32>
    %t = arith.addi %s, %s : i32
    memref.store %t, %y[%k, %c0] : memref<2x8xi32>
    linalg.fill ins(%t : i32) outs(%e : memref<0xi32>)
  } {kiln.kernel = "serial"}
  %g = memref.view %arena[%c128][] : memref<256xi8> to memref<16xf32>
  %h = memref.view %arena[%c0][] : memref<256xi8> to memref<16xf32>
  linalg.generic {indexing_maps = [#id1, #id1], iterator_types = ["parallel"]}
      ins(%g : memref<16xf32>) outs(%h : memref<16xf32>) attrs = {kiln.kernel = "flat"} {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  }
  return
}

// -----

// A module without @main has no launch plan: nothing changes.
// CHECK-LABEL: func.func @not_main
// CHECK-NEXT: linalg.copy
// CHECK-NEXT: return
// CHECK-NOT: kiln.dispatch
func.func @not_main(%x: memref<2x8xf32>, %y: memref<2x8xf32>) {
  linalg.copy ins(%x : memref<2x8xf32>) outs(%y : memref<2x8xf32>)
  return
}
