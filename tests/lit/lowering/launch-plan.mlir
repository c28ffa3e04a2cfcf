// RUN: graph-opt %s --split-input-file --kiln-lower-to-kernels | FileCheck %s

// The kernel boundary. Each kernel (a fusion, or an unfused op) is its own
// function of its buffers and a tile range; @main keeps the arena views and
// one kiln.dispatch per kernel, in order. The gemm's tile loop over column
// tiles is its grid (a matmul's tile takes all of its 32 rows): tile t
// covers columns [64t, 64t + 64). Splat constants stay globals in the
// kernel (import/constants.mlir has one that goes to the constants
// region); nothing is allocated. The tile buffer, which no other kernel
// uses, is kiln.local.
// CHECK-LABEL: func.func @k0_fusion_0_gemm_relu
// CHECK-SAME: (%[[TILE:[^:]*]]: memref<32x64xf32> {kiln.local, llvm.align = 64 : i64, llvm.noalias}, %[[X:[^:]*]]: memref<32x16xf32> {llvm.noalias}, %[[OUT:[^:]*]]: memref<32x256xf32> {llvm.align = 64 : i64, llvm.noalias}, %[[BEGIN:[^:]*]]: index, %[[END:[^:]*]]: index)
// CHECK-DAG: %[[C256:.*]] = arith.constant 256 : index
// CHECK-DAG: %[[C64:.*]] = arith.constant 64 : index
// CHECK-DAG: memref.get_global @__constant_16x64xf32
// CHECK: %[[B0:.*]] = arith.muli %[[BEGIN]], %[[C64]]
// CHECK: %[[LB:.*]] = arith.addi %{{.*}}, %[[B0]]
// CHECK: %[[E0:.*]] = arith.muli %[[END]], %[[C64]]
// CHECK: %[[E1:.*]] = arith.addi %{{.*}}, %[[E0]]
// CHECK: %[[UB:.*]] = arith.minsi %[[E1]], %[[C256]]
// CHECK: scf.for %[[J:.*]] = %[[LB]] to %[[UB]] step %[[C64]]
// CHECK: linalg.fill {{.*}} outs(%[[TILE]]
// CHECK: ins(%[[X]], %{{.*}} : memref<32x16xf32>, memref<16x64xf32>) outs(%[[TILE]]
// CHECK: memref.subview %[[OUT]][0, %[[J]]] [32, 64]
// CHECK: } {kiln.parallel}
// CHECK-NOT: memref.alloc
// CHECK: return
// A lone elementwise kernel's first parallel loop of extent above one is
// its grid, tiled by one; it writes the result straight into the fetch
// buffer (no copy kernel after it).
// CHECK-LABEL: func.func @k1_fusion_1
// CHECK-SAME: (%[[T:[^:]*]]: memref<32x256xf32> {llvm.align = 64 : i64, llvm.noalias}, %[[Y:[^:]*]]: memref<32x256xf32> {llvm.noalias}, %[[BEGIN1:[^:]*]]: index, %[[END1:[^:]*]]: index)
// CHECK: scf.for %[[R:.*]] = %[[BEGIN1]] to %[[END1]] step
// CHECK: memref.subview %[[T]][%[[R]], 0] [1, 256]
// CHECK: memref.subview %[[Y]][%[[R]], 0] [1, 256]
// CHECK: linalg.generic
// CHECK-NOT: func.func @k2
// The launch plan: the arena is @main's last argument; the kernels take its
// views at constant offsets (the gemm's tile marked scratch), the feed and
// the fetch.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[FEED:[^:]*]]: memref<32x16xf32> {kiln.name = "x"}, %[[FETCH:[^:]*]]: memref<32x256xf32> {kiln.name = "y"}, %[[ARENA:[^:]*]]: memref<40960xi8> {kiln.arena})
// CHECK-SAME: kiln.arena_bytes = 40960
// CHECK: %[[V:.*]] = memref.view %[[ARENA]][%{{.*}}][] : memref<40960xi8> to memref<32x256xf32>
// CHECK: %[[S:.*]] = memref.view %[[ARENA]][%{{.*}}][] {kiln.scratch} : memref<40960xi8> to memref<32x64xf32>
// CHECK-NEXT: kiln.dispatch @k0_fusion_0_gemm_relu grid(4) (%[[S]], %[[FEED]], %[[V]])
// CHECK-NEXT: kiln.dispatch @k1_fusion_1 grid(32) (%[[V]], %[[FETCH]])
// CHECK-NEXT: return
func.func @main(%x: tensor<32x16xf32> {kiln.name = "x"}) -> (tensor<32x256xf32> {kiln.name = "y"}) {
  %w = kiln.constant dense<0.5> : tensor<16x256xf32>
  %b = kiln.constant dense<0.25> : tensor<256xf32>
  %0 = kiln.fusion "fusion_0_gemm_relu" (%x, %w, %b) : (tensor<32x16xf32>, tensor<16x256xf32>, tensor<256xf32>) -> tensor<32x256xf32> {
  ^bb0(%a: tensor<32x16xf32>, %c: tensor<16x256xf32>, %d: tensor<256xf32>):
    %g = kiln.gemm %a, %c, %d : (tensor<32x16xf32>, tensor<16x256xf32>, tensor<256xf32>) -> tensor<32x256xf32>
    %r = kiln.relu %g : (tensor<32x256xf32>) -> tensor<32x256xf32>
    kiln.yield %r : tensor<32x256xf32>
  }
  %1 = kiln.fusion "fusion_1" (%0) : (tensor<32x256xf32>) -> tensor<32x256xf32> {
  ^bb0(%a: tensor<32x256xf32>):
    %t = kiln.tanh %a : (tensor<32x256xf32>) -> tensor<32x256xf32>
    %e = kiln.exp %t : (tensor<32x256xf32>) -> tensor<32x256xf32>
    kiln.yield %e : tensor<32x256xf32>
  }
  return %1 : tensor<32x256xf32>
}
