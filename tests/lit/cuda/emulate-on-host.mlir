// RUN: graph-opt %s --kiln-cuda-emulate-on-host --canonicalize | FileCheck %s

// Each kernel of kiln.launches becomes a host kernel again (its buffers,
// then the tile range), running its launches in order as loops over whole
// blocks of threads: 10 threads in blocks of 4 run as 12, thread t with
// block t / 4 and thread t mod 4. The globals come back to the module.
// The kernels were declared (kiln-cuda-map-kernels leaves them so).
// CHECK-NOT: gpu.module
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
// A library matmul: linalg on views of its buffers as its fields describe
// them. C (2 x 4, rows 8 apart, at element 1 of its buffer) = relu(A (2 x
// 3, row-major) B (3 x 4, stored transposed: rows 1 apart, columns 3) +
// bias[4] at element 2).
// CHECK-LABEL: func.func @k2_mm(
// CHECK-SAME: %[[A:[^:]*]]: memref<6xf32>, %[[B:[^:]*]]: memref<12xf32>, %[[C:[^:]*]]: memref<16xf32>, %[[BIAS:[^:]*]]: memref<8xf32>
// CHECK-DAG: %[[VA:.*]] = memref.reinterpret_cast %[[A]] to offset: [0], sizes: [1, 2, 3], strides: [0, 3, 1]
// CHECK-DAG: %[[VB:.*]] = memref.reinterpret_cast %[[B]] to offset: [0], sizes: [1, 3, 4], strides: [0, 1, 3]
// CHECK-DAG: %[[VC:.*]] = memref.reinterpret_cast %[[C]] to offset: [1], sizes: [1, 2, 4], strides: [0, 8, 1]
// CHECK: linalg.fill ins(%{{.*}} : f32) outs(%[[VC]]
// CHECK: linalg.generic {{.*}} iterator_types = ["parallel", "parallel", "parallel", "reduction"]} ins(%[[VA]], %[[VB]] : {{.*}}) outs(%[[VC]]
// CHECK: arith.mulf
// CHECK: arith.addf
// CHECK: %[[VBIAS:.*]] = memref.reinterpret_cast %[[BIAS]] to offset: [2], sizes: [4], strides: [1]
// CHECK: linalg.generic {{.*}} ins(%[[VBIAS]] : {{.*}}) outs(%[[VC]]
// CHECK: arith.addf
// CHECK: arith.maximumf
// Must not change: C += A B (accumulate) has no fill and no epilogue.
// CHECK-LABEL: func.func @k3_acc(
// CHECK-NOT: linalg.fill
// CHECK: linalg.generic
// CHECK-NOT: linalg.generic
// CHECK: return
// CHECK: memref.global "private" constant @c
module attributes {gpu.container_module, kiln.launches = [["k0_add", "k0_add_0", 10, 4], ["k0_add", "k0_add_1", 1, 1], ["k1_none", "k1_none_0", 0, 1], ["k2_mm", "k2_mm_0_matmul", 0, 1, [1, 2, 4, 3, 0, 0, 0, 3, 1, 1, 0, 0, 1, 3, 2, 1, 0, 8, 1, 3, 2, 0, 0, 1, 1, 0, 0]], ["k3_acc", "k3_acc_0_matmul", 0, 1, [1, 2, 4, 3, 0, 0, 0, 3, 1, 1, 0, 0, 4, 1, 2, 0, 0, 4, 1, -1, 0, 0, 0, 0, 0, 1, 0]]]} {
  func.func private @k0_add(memref<10xf32>, index, index)
  func.func private @k1_none(memref<10xf32>, index, index)
  func.func private @k2_mm(memref<6xf32>, memref<12xf32>, memref<16xf32>, memref<8xf32>, index, index)
  func.func private @k3_acc(memref<6xf32>, memref<12xf32>, memref<8xf32>, index, index)
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
