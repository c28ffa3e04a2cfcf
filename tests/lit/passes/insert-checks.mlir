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

// -----

// Inside control flow: a kiln.loop carries its body's check (counts added,
// the larger bad value kept) as one more value, and stops once it counted
// a bad value; a kiln.if yields its
// branch's check as one more result, nothing bad ([0, INT64_MIN]) from the
// other. A gather at the loop's iteration number (0 to 5 of a size-6
// axis) is in range by construction and gets no check.
// CHECK-LABEL: func.func @main
// CHECK-SAME: kiln.checks = ["node 'in_loop' (Gather): {{.*}}", "node 'in_if' (Gather): {{.*}}"]
// CHECK: %[[NONE:.*]] = kiln.constant dense<[0, -9223372036854775808]> : tensor<2xi64>
// CHECK: %[[L:.*]]:2 = "kiln.loop"(%{{.*}}, %{{.*}}, %[[NONE]]) ({
// CHECK: ^bb0(%[[IT:.*]]: tensor<i64>, %[[K:.*]]: tensor<i1>, %[[V:.*]]: tensor<f32>, %[[SOFAR:.*]]: tensor<2xi64>):
// CHECK-NOT: kiln.check %[[IT]]
// CHECK: kiln.gather %arg0, %[[IT]]
// CHECK: %[[AT:.*]] = kiln.add %[[IT]], %arg1
// CHECK: %[[C:.*]] = kiln.check %[[AT]] {{.*}}node 'in_loop'
// CHECK: %[[SUM:.*]] = kiln.add %[[SOFAR]], %[[C]]
// CHECK: %[[MAX:.*]] = kiln.max %[[SOFAR]], %[[C]]
// CHECK: %[[NEXT:.*]] = kiln.where %{{.*}}, %[[SUM]], %[[MAX]]
// CHECK: %[[COUNT:.*]] = kiln.gather %[[NEXT]], %{{.*}} : (tensor<2xi64>, tensor<i64>) -> tensor<i64>
// CHECK: %[[NONE_YET:.*]] = kiln.equal %[[COUNT]]
// CHECK: %[[GO:.*]] = kiln.and %[[K]], %[[NONE_YET]]
// CHECK: kiln.yield %[[GO]], %{{.*}}, %[[NEXT]]
// CHECK: }) {trip_count = 6 : i64}
// CHECK: %[[IF:.*]]:2 = "kiln.if"(%arg2) ({
// CHECK: %[[CI:.*]] = kiln.check %arg1 {{.*}}node 'in_if'
// CHECK: kiln.yield %{{.*}}, %[[CI]]
// CHECK: }, {
// CHECK: %[[N2:.*]] = kiln.constant dense<[0, -9223372036854775808]>
// CHECK: kiln.yield %{{.*}}, %[[N2]]
// CHECK: return %[[L]]#0, %[[IF]]#0, %[[L]]#1, %[[IF]]#1
func.func @main(%x: tensor<6xf32>, %off: tensor<i64>, %c: tensor<i1>) -> (tensor<f32>, tensor<f32>) {
  %t = kiln.constant dense<true> : tensor<i1>
  %z = kiln.constant dense<0.0> : tensor<f32>
  %r = "kiln.loop"(%t, %z) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<f32>):
    %a = kiln.gather %x, %i : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("safe")
    %j = kiln.add %i, %off : (tensor<i64>, tensor<i64>) -> tensor<i64>
    %b = kiln.gather %x, %j : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("in_loop")
    %s = kiln.add %a, %b : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %n = kiln.add %v, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
    kiln.yield %k, %n : tensor<i1>, tensor<f32>
  }) {trip_count = 6 : i64} : (tensor<i1>, tensor<f32>) -> tensor<f32>
  %y = "kiln.if"(%c) ({
    %g = kiln.gather %x, %off : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("in_if")
    kiln.yield %g : tensor<f32>
  }, {
    kiln.yield %z : tensor<f32>
  }) : (tensor<i1>) -> tensor<f32>
  return %r, %y : tensor<f32>, tensor<f32>
}

// -----

// Several checks in one region: each is threaded out on its own (the loop
// rebuilt once per check, the checks already out of it kept), and both
// branches of an If may hold checks.
// CHECK-LABEL: func.func @main
// CHECK-SAME: kiln.checks = ["node 'first' (Gather): {{.*}}", "node 'second' (Gather): {{.*}}", "node 'then' (Gather): {{.*}}", "node 'else' (Gather): {{.*}}"]
// CHECK: %[[L:.*]]:3 = "kiln.loop"
// CHECK: ^bb0(%{{.*}}: tensor<i64>, %{{.*}}: tensor<i1>, %{{.*}}: tensor<f32>, %[[S1:.*]]: tensor<2xi64>, %[[S2:.*]]: tensor<2xi64>):
// CHECK: %[[IF:.*]]:3 = "kiln.if"
// CHECK: return %[[L]]#0, %[[IF]]#0, %[[L]]#1, %[[L]]#2, %[[IF]]#1, %[[IF]]#2
func.func @main(%x: tensor<6xf32>, %off: tensor<i64>, %c: tensor<i1>) -> (tensor<f32>, tensor<f32>) {
  %t = kiln.constant dense<true> : tensor<i1>
  %z = kiln.constant dense<0.0> : tensor<f32>
  %r = "kiln.loop"(%t, %z) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<f32>):
    %j = kiln.add %i, %off : (tensor<i64>, tensor<i64>) -> tensor<i64>
    %a = kiln.gather %x, %j : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("first")
    %m = kiln.sub %off, %i : (tensor<i64>, tensor<i64>) -> tensor<i64>
    %b = kiln.gather %x, %m : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("second")
    %s = kiln.add %a, %b : (tensor<f32>, tensor<f32>) -> tensor<f32>
    %n = kiln.add %v, %s : (tensor<f32>, tensor<f32>) -> tensor<f32>
    kiln.yield %k, %n : tensor<i1>, tensor<f32>
  }) {trip_count = 6 : i64} : (tensor<i1>, tensor<f32>) -> tensor<f32>
  %y = "kiln.if"(%c) ({
    %g = kiln.gather %x, %off : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("then")
    kiln.yield %g : tensor<f32>
  }, {
    %w = kiln.neg %off : (tensor<i64>) -> tensor<i64>
    %h = kiln.gather %x, %w : (tensor<6xf32>, tensor<i64>) -> tensor<f32> loc("else")
    kiln.yield %h : tensor<f32>
  }) : (tensor<i1>) -> tensor<f32>
  return %r, %y : tensor<f32>, tensor<f32>
}
