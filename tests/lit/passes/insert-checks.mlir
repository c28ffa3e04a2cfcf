// RUN: graph-opt %s --split-input-file --kiln-insert-checks --verify-diagnostics | FileCheck %s

// Fed indices get a kiln.check of their axis's range; @main returns it
// after the fetches and names its message in kiln.checks.
// CHECK-LABEL: func.func @main
// CHECK-SAME: (%[[D:.*]]: tensor<5x3xf32> {kiln.name = "data"}, %[[I:.*]]: tensor<4xi32> {kiln.name = "idx"})
// CHECK-SAME: -> (tensor<4x3xf32> {kiln.name = "y"}, tensor<2xi64>)
// CHECK-SAME: kiln.checks = ["node 'g' (Gather): index {value} is out of range [-5, 4] of axis 0 (size 5)"]
// CHECK: %[[C:.*]] = kiln.check %[[I]] {inside = true, lower = array<i64: -5>, message = "node 'g' (Gather): {{.*}}", upper = array<i64: 4>} : (tensor<4xi32>) -> tensor<2xi64>
// CHECK: %[[G:.*]] = kiln.gather %[[D]], %[[I]]
// CHECK: return %[[G]], %[[C]]
func.func @main(%d: tensor<5x3xf32> {kiln.name = "data"}, %i: tensor<4xi32> {kiln.name = "idx"}) -> (tensor<4x3xf32> {kiln.name = "y"}) {
  %0 = kiln.gather %d, %i : (tensor<5x3xf32>, tensor<4xi32>) -> tensor<4x3xf32> loc("g")
  return %0 : tensor<4x3xf32>
}

// -----

// An integer divisor that is fed must not be 0; a float one is not
// checked, nor a constant one with no 0, nor constant indices in range.
// CHECK-LABEL: func.func @main
// CHECK-SAME: kiln.checks = ["node 'd' (Div): integer division by zero"]
// CHECK: %[[C:.*]] = kiln.check %arg1 {inside = false, lower = array<i64: 0>, message = "node 'd' (Div): integer division by zero", upper = array<i64: 0>}
// CHECK-NOT: kiln.check
// CHECK: return %{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}, %[[C]] :
func.func @main(%a: tensor<3xi32>, %b: tensor<3xi32>, %x: tensor<3xf32>, %y: tensor<3xf32>) -> (tensor<3xi32>, tensor<3xf32>, tensor<3xi32>, tensor<2x3xf32>) {
  %0 = kiln.div %a, %b : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32> loc("d")
  %1 = kiln.div %x, %y : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32> loc("f")
  %c = kiln.constant dense<[1, -2, 3]> : tensor<3xi32>
  %2 = kiln.div %a, %c : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32> loc("e")
  %k = kiln.constant dense<[2, -3]> : tensor<2xi64>
  %3 = kiln.gather %x, %k : (tensor<3xf32>, tensor<2xi64>) -> tensor<2xf32>
  %4 = kiln.reshape %3 {shape = array<i64: 2, 1>} : (tensor<2xf32>) -> tensor<2x1xf32>
  %5 = kiln.add %4, %y : (tensor<2x1xf32>, tensor<3xf32>) -> tensor<2x3xf32>
  return %0, %1, %2, %5 : tensor<3xi32>, tensor<3xf32>, tensor<3xi32>, tensor<2x3xf32>
}

// -----

// Without a rule to check at run time, @main is left as it is.
// CHECK-LABEL: func.func @main
// CHECK-NOT: kiln.checks
// CHECK-NOT: kiln.check
func.func @main(%x: tensor<3xf32>) -> tensor<3xf32> {
  %0 = kiln.relu %x : (tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

// A constant divisor with a 0 is an error at compile time.
func.func @main(%a: tensor<3xi32>) -> tensor<3xi32> {
  %c = kiln.constant dense<[1, 0, 3]> : tensor<3xi32>
  // expected-error@+1 {{integer division by zero}}
  %0 = kiln.div %a, %c : (tensor<3xi32>, tensor<3xi32>) -> tensor<3xi32>
  return %0 : tensor<3xi32>
}

// -----

// GatherND's tuples get one range per coordinate (here data's axes 0 and
// 1: [-4, 3] and [-3, 2]).
// CHECK-LABEL: func.func @main
// CHECK: kiln.check %arg1 {inside = true, lower = array<i64: -4, -3>, message = "node 'n' (GatherND): index {value} is out of range for its axis (the index tuples address axes 0 to 1 of sizes [4, 3]; each index lies in [-size, size - 1])", upper = array<i64: 3, 2>}
func.func @main(%d: tensor<4x3xf32>, %i: tensor<5x2xi64>) -> tensor<5xf32> {
  %0 = kiln.gather_nd %d, %i : (tensor<4x3xf32>, tensor<5x2xi64>) -> tensor<5xf32> loc("n")
  return %0 : tensor<5xf32>
}

// -----

// kiln.in_range (from converters) gets its check like any other rule;
// a constant in range needs none.
// CHECK-LABEL: func.func @main
// CHECK: kiln.check %arg0 {inside = true, lower = array<i64: 0>, message = "node 't' (NegativeLogLikelihoodLoss): target {value} is out of range [0, 3]", upper = array<i64: 3>}
// CHECK-NOT: kiln.check
func.func @main(%t: tensor<3xi64>) -> (tensor<3xi64>, tensor<2xi64>) {
  %0 = kiln.in_range %t {lower = 0 : i64, upper = 3 : i64, what = "target"} : (tensor<3xi64>) -> tensor<3xi64> loc("t"("NegativeLogLikelihoodLoss"))
  %c = kiln.constant dense<[1, 2]> : tensor<2xi64>
  %1 = kiln.in_range %c {lower = 0 : i64, upper = 3 : i64, what = "target"} : (tensor<2xi64>) -> tensor<2xi64>
  return %0, %1 : tensor<3xi64>, tensor<2xi64>
}
