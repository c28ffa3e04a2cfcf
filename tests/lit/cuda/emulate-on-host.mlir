// RUN: graph-opt %s --kiln-cuda-emulate-on-host --canonicalize | FileCheck %s

// Each kernel of kiln.launches becomes a host kernel again (its buffers,
// then the tile range), running its launches in order as loops over whole
// blocks of threads: 10 threads in blocks of 4 run as 12, thread t with
// block t / 4 and thread t mod 4. The globals come back to the module.
// CHECK-NOT: gpu.module
// CHECK: memref.global "private" constant @c
// CHECK-LABEL: func.func @k0_add(
// CHECK-SAME: memref<10xf32>, %{{.*}}: index, %{{.*}}: index)
// CHECK: scf.for %[[T:.*]] = %c0 to %c12 step %c1
// CHECK: %[[B:.*]] = arith.divui %[[T]], %c4
// CHECK: %[[TH:.*]] = arith.remui %[[T]], %c4
// CHECK: %[[ID0:.*]] = arith.muli %[[B]], %c4
// CHECK: %[[ID:.*]] = arith.addi %[[ID0]], %[[TH]]
// CHECK: arith.cmpi ult, %[[ID]], %c10
// CHECK: memref.get_global @c
// CHECK: memref.store %{{.*}}, %{{.*}}[%[[ID]]]
// The one-thread launch after it (its loop of one trip folded away).
// CHECK: }
// CHECK-NEXT: }
// CHECK-NEXT: memref.store %cst, %{{.*}}[%c0]
// Must not change: a launch of no threads runs nothing (no loop).
// CHECK-LABEL: func.func @k1_none(
// CHECK-NEXT: return
module attributes {gpu.container_module, kiln.launches = [["k0_add", "k0_add_0", 10, 4], ["k0_add", "k0_add_1", 1, 1], ["k1_none", "k1_none_0", 0, 1]]} {
  gpu.module @kiln_kernels {
    memref.global "private" constant @c : memref<10xf32> = dense<1.0>
    gpu.func @k0_add_0(%out: memref<10xf32>) kernel {
      %b = gpu.block_id x
      %d = gpu.block_dim x
      %t = gpu.thread_id x
      %m = arith.muli %b, %d : index
      %id = arith.addi %m, %t : index
      %n = arith.constant 10 : index
      %in = arith.cmpi ult, %id, %n : index
      scf.if %in {
        %c = memref.get_global @c : memref<10xf32>
        %v = memref.load %c[%id] : memref<10xf32>
        memref.store %v, %out[%id] : memref<10xf32>
      }
      gpu.return
    }
    gpu.func @k0_add_1(%out: memref<10xf32>) kernel {
      %c0 = arith.constant 0 : index
      %z = arith.constant 0.0 : f32
      memref.store %z, %out[%c0] : memref<10xf32>
      gpu.return
    }
    gpu.func @k1_none_0(%out: memref<10xf32>) kernel {
      gpu.return
    }
  }
}
