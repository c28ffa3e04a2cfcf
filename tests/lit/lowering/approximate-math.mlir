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
