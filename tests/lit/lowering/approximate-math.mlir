// RUN: graph-opt %s --kiln-cpu-approximate-math | FileCheck %s

// f32 exp, tanh, erf and log become arithmetic (vectorizable loops); sine
// and f64 functions stay calls to libm.
// CHECK-LABEL: func.func @math
// CHECK-NOT: math.exp
// CHECK-NOT: math.tanh
// CHECK-NOT: math.erf
// CHECK-NOT: math.log
// CHECK: math.sin %{{.*}} : f32
// CHECK: math.exp %{{.*}} : f64
func.func @math(%x: f32, %d: f64) -> (f32, f32, f32, f32, f32, f64) {
  %0 = math.exp %x : f32
  %1 = math.tanh %x : f32
  %2 = math.erf %x : f32
  %3 = math.log %x : f32
  %4 = math.sin %x : f32
  %5 = math.exp %d : f64
  return %0, %1, %2, %3, %4, %5 : f32, f32, f32, f32, f32, f64
}

// f32 erf, scalar or vector: x clamped to [-4, 4], then x P(x^2) / Q(x^2)
// (Horner's rule in FMAs), one division and no select. An f64 erf is left
// alone.
// CHECK-LABEL: func.func @erf
// CHECK: %[[MIN:.*]] = arith.minimumf %arg0, %{{.*}} : vector<8xf32>
// CHECK: %[[X:.*]] = arith.maximumf %[[MIN]], %{{.*}} : vector<8xf32>
// CHECK: %[[X2:.*]] = arith.mulf %[[X]], %[[X]]
// CHECK-COUNT-6: math.fma %[[X2]]
// CHECK: %[[P:.*]] = arith.mulf %[[X]], %{{.*}}
// CHECK-COUNT-4: math.fma %[[X2]]
// CHECK: arith.divf %[[P]], %{{.*}} : vector<8xf32>
// CHECK-NOT: arith.select
// CHECK: math.erf %{{.*}} : f64
func.func @erf(%v: vector<8xf32>, %d: f64) -> (vector<8xf32>, f64) {
  %0 = math.erf %v : vector<8xf32>
  %1 = math.erf %d : f64
  return %0, %1 : vector<8xf32>, f64
}
