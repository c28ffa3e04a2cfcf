// RUN: graph-opt %s --split-input-file --kiln-outline-kernels | FileCheck %s

// Kernels whose buffers share bytes are not noalias: an in-place kernel
// that reads f32 and writes i32 at the same offset takes two views of one
// slot. A loop not marked kiln.parallel and a linalg op whose only parallel
// loop is read reversed have no grid (1 tile). A buffer with no elements is
// not passed; the kernel makes its own.
// CHECK-LABEL: func.func @k0_copy_x
// CHECK-SAME: (%{{[^:]*}}: memref<8xf32> {llvm.noalias}, %{{[^:]*}}: memref<8xf32> {llvm.align = 64 : i64, llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK-LABEL: func.func @k1_cast
// CHECK-SAME: (%{{[^:]*}}: memref<8xf32> {llvm.align = 64 : i64}, %{{[^:]*}}: memref<8xi32> {llvm.align = 64 : i64}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK: scf.for
// CHECK-LABEL: func.func @k2_reverse
// CHECK-SAME: (%{{[^:]*}}: memref<8xi32> {llvm.align = 64 : i64, llvm.noalias}, %{{[^:]*}}: memref<8xi32> {llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK-NOT: scf.for
// CHECK: linalg.generic
// CHECK-LABEL: func.func @k3_serial
// CHECK-SAME: (%{{[^:]*}}: memref<8xi32> {llvm.noalias}, %{{[^:]*}}: index, %{{[^:]*}}: index)
// CHECK: memref.alloca() : memref<0xi32>
// CHECK-LABEL: func.func @main
// CHECK: kiln.dispatch @k0_copy_x grid(8) (%[[X:.*]], %[[F:.*]]) : memref<8xf32>, memref<8xf32>
// CHECK: kiln.dispatch @k1_cast grid(8) (%[[F]], %[[I:.*]]) : memref<8xf32>, memref<8xi32>
// CHECK-NEXT: kiln.dispatch @k2_reverse grid(1) (%[[I]], %[[FETCH:.*]]) :
// CHECK-NEXT: kiln.dispatch @k3_serial grid(1) (%[[FETCH]]) : memref<8xi32>
// CHECK-NEXT: return
#id = affine_map<(d0) -> (d0)>
#rev = affine_map<(d0) -> (-d0 + 7)>
func.func @main(%x: memref<8xf32> {kiln.name = "x"}, %y: memref<8xi32> {kiln.name = "y"}, %arena: memref<128xi8> {kiln.arena}) attributes {kiln.arena_bytes = 128 : i64} {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c8 = arith.constant 8 : index
  %f = memref.view %arena[%c0][] : memref<128xi8> to memref<8xf32>
  linalg.copy {kiln.kernel = "copy_x"} ins(%x : memref<8xf32>) outs(%f : memref<8xf32>)
  %i = memref.view %arena[%c0][] : memref<128xi8> to memref<8xi32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]}
      ins(%f : memref<8xf32>) outs(%i : memref<8xi32>) attrs = {kiln.kernel = "cast"} {
  ^bb0(%in: f32, %out: i32):
    %v = arith.fptosi %in : f32 to i32
    linalg.yield %v : i32
  }
  linalg.generic {indexing_maps = [#rev, #id], iterator_types = ["parallel"]}
      ins(%i : memref<8xi32>) outs(%y : memref<8xi32>) attrs = {kiln.kernel = "reverse"} {
  ^bb0(%in: i32, %out: i32):
    linalg.yield %in : i32
  }
  %e = memref.view %arena[%c0][] : memref<128xi8> to memref<0xi32>
  scf.for %k = %c0 to %c8 step %c1 {
    %s = memref.load %y[%k] : memref<8xi32>
    %t = arith.addi %s, %s : i32
    memref.store %t, %y[%k] : memref<8xi32>
    linalg.fill ins(%t : i32) outs(%e : memref<0xi32>)
  } {kiln.kernel = "serial"}
  return
}
