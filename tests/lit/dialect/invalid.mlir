// RUN: graph-opt %s -split-input-file -verify-diagnostics

func.func @bad_broadcast(%a: tensor<2x3xf32>, %b: tensor<4xf32>) -> tensor<2x3xf32> {
  // expected-error@+2 {{shapes [2,3] and [4] do not broadcast}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.add %a, %b : (tensor<2x3xf32>, tensor<4xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @mixed_types(%a: tensor<2xf32>, %b: tensor<2xi32>) -> tensor<2xf32> {
  // expected-error@+2 {{operand element types differ: 'f32' and 'i32'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.mul %a, %b : (tensor<2xf32>, tensor<2xi32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @wrong_result_type(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error@+2 {{inferred type(s) 'tensor<2x3xf32>' are incompatible with return type(s) of operation 'tensor<3x2xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.relu %a : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @matmul_inner(%a: tensor<2x3xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+2 {{inner dimensions differ: A [2,3] has 3 columns, but B [4,5] has 4 rows}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.matmul %a, %b : (tensor<2x3xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @gemm_rank(%a: tensor<2x3x4xf32>, %b: tensor<4x5xf32>) -> tensor<2x5xf32> {
  // expected-error@+2 {{Gemm operands A and B must be 2-D}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.gemm %a, %b : (tensor<2x3x4xf32>, tensor<4x5xf32>) -> tensor<2x5xf32>
  return %0 : tensor<2x5xf32>
}

// -----

func.func @gemm_inner_transposed(%a: tensor<2x8xf32>, %b: tensor<8x3xf32>) -> tensor<2x8xf32> {
  // expected-error@+2 {{inner dimensions differ: A [2,8] has 8 columns, but B [8,3] transposed by transB is [3,8] with 3 rows (they would agree with transB=0)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.gemm %a, %b {transB = 1 : i64} : (tensor<2x8xf32>, tensor<8x3xf32>) -> tensor<2x8xf32>
  return %0 : tensor<2x8xf32>
}

// -----

func.func @softmax_axis(%a: tensor<2x3xf32>) -> tensor<2x3xf32> {
  // expected-error@+2 {{axis 2 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.softmax %a {axis = 2 : i64} : (tensor<2x3xf32>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @reshape_count(%a: tensor<2x3xf32>) -> tensor<7xf32> {
  // expected-error@+2 {{cannot reshape [2,3] (6 elements) to [7] (7 elements)}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.reshape %a {shape = array<i64: 7>} : (tensor<2x3xf32>) -> tensor<7xf32>
  return %0 : tensor<7xf32>
}

// -----

func.func @transpose_perm(%a: tensor<2x3xf32>) -> tensor<3x2xf32> {
  // expected-error@+2 {{perm [1,1] is not a permutation of 0..1}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.transpose %a {perm = array<i64: 1, 1>} : (tensor<2x3xf32>) -> tensor<3x2xf32>
  return %0 : tensor<3x2xf32>
}

// -----

func.func @reduce_axis(%a: tensor<2x3xf32>) -> tensor<2xf32> {
  // expected-error@+2 {{axis -3 is out of range for rank 2}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.reduce_sum %a {axes = array<i64: -3>, keepdims = 0 : i64} : (tensor<2x3xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @dynamic(%a: tensor<?x3xf32>) -> tensor<?x3xf32> {
  // expected-error@+2 {{must have a static shape}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.relu %a : (tensor<?x3xf32>) -> tensor<?x3xf32>
  return %0 : tensor<?x3xf32>
}

// -----

func.func @float_only(%a: tensor<2xi32>) -> tensor<2xi32> {
  // expected-error@+1 {{operand #0 must be ranked tensor of 16-bit float or bfloat16 type or 32-bit float or 64-bit float values}}
  %0 = kiln.exp %a : (tensor<2xi32>) -> tensor<2xi32>
  return %0 : tensor<2xi32>
}

// -----

// The dialect's attributes are registered: each is checked where it sits.
// expected-error@+1 {{unknown attribute 'kiln.arena_size'}}
func.func @unknown_attribute() attributes {kiln.arena_size = 64 : i64} {
  return
}

// -----

// expected-error@+1 {{'kiln.arena_bytes' must be a non-negative i64}}
func.func @negative_arena() attributes {kiln.arena_bytes = -1 : i64} {
  return
}

// -----

// expected-error@+1 {{'kiln.name' must be a string}}
func.func @name_not_a_string(%x: tensor<2xf32> {kiln.name = 3 : i64}) {
  return
}

// -----

// expected-error@+1 {{unknown argument or result attribute 'kiln.feed'}}
func.func @unknown_result_attribute() -> (tensor<2xf32> {kiln.feed = "y"}) {
  %0 = kiln.constant dense<1.0> : tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @k(%a: memref<4xf32>, %b: index, %e: index) {
  return
}
func.func @dispatch_wrong_buffers(%x: memref<8xf32>) {
  // expected-error @+1 {{'kiln.dispatch' op passes buffers 'memref<8xf32>' to @k, which takes 'memref<4xf32>', 'index', 'index' (its buffers, then two index tile bounds)}}
  kiln.dispatch @k grid(1) (%x) : memref<8xf32>
  return
}

// -----

func.func @dispatch_no_kernel(%x: memref<8xf32>) {
  // expected-error @+1 {{'kiln.dispatch' op names no function: no_such_kernel}}
  kiln.dispatch @no_such_kernel grid(1) (%x) : memref<8xf32>
  return
}

// -----

func.func @gather_constant_index_out_of_range(%x: tensor<6x3xf32>) -> tensor<2x3xf32> {
  %i = kiln.constant dense<[-6, 6]> : tensor<2xi64>
  // expected-error @+1 {{'kiln.gather' op index 6 is out of range for axis 0 of size 6 (indices must lie in [-6, 5])}}
  %0 = kiln.gather %x, %i : (tensor<6x3xf32>, tensor<2xi64>) -> tensor<2x3xf32>
  return %0 : tensor<2x3xf32>
}

// -----

func.func @check_bounds(%i: tensor<4x3xi64>) -> tensor<2xi64> {
  // expected-error@+1 {{has 2 bounds, not one per position of the last axis of its values}}
  %0 = kiln.check %i {inside = true, lower = array<i64: 0, 0>, upper = array<i64: 1, 1>, message = "m"} : (tensor<4x3xi64>) -> tensor<2xi64>
  return %0 : tensor<2xi64>
}

// -----

func.func @mod_float_floor(%a: tensor<3xf32>) -> tensor<3xf32> {
  // expected-error@+1 {{fmod = 0 needs integers; floats take fmod = 1}}
  %0 = kiln.mod %a, %a {fmod = 0 : i64} : (tensor<3xf32>, tensor<3xf32>) -> tensor<3xf32>
  return %0 : tensor<3xf32>
}

// -----

func.func @scatter_nd_updates(%d: tensor<4x3xf32>, %i: tensor<2x1xi64>, %u: tensor<2x4xf32>) -> tensor<4x3xf32> {
  // expected-error@+2 {{updates are [2,4], not [2,3] (indices.shape[:-1] + data.shape[k:])}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.scatter_nd %d, %i, %u : (tensor<4x3xf32>, tensor<2x1xi64>, tensor<2x4xf32>) -> tensor<4x3xf32>
  return %0 : tensor<4x3xf32>
}

// -----

func.func @gather_nd_tuple(%d: tensor<4x3xf32>, %i: tensor<2x3xi64>) -> tensor<2xf32> {
  // expected-error@+2 {{index tuples of length 3 do not fit data of rank 2 with batch_dims = 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.gather_nd %d, %i : (tensor<4x3xf32>, tensor<2x3xi64>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}

// -----

func.func @recurrence_cell(%x: tensor<5x2x9xf32>, %r: tensor<3x9xf32>, %b: tensor<9xf32>, %h: tensor<2x3xf32>, %p: tensor<9xf32>) -> tensor<5x2x3xf32> {
  // expected-error@+1 {{cell must be "rnn", "gru" or "lstm", not "elman"}}
  %y, %yh, %yc = kiln.recurrence %x, %r, %b, %h, %h, %p {cell = "elman", activations = ["Tanh"], activation_alpha = [0.0], activation_beta = [0.0]} : (tensor<5x2x9xf32>, tensor<3x9xf32>, tensor<9xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<9xf32>) -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y : tensor<5x2x3xf32>
}

// -----

func.func @recurrence_gates(%x: tensor<5x2x9xf32>, %r: tensor<3x9xf32>, %b: tensor<9xf32>, %h: tensor<2x3xf32>, %p: tensor<9xf32>) -> tensor<5x2x3xf32> {
  // expected-error@+1 {{inputs is [5,2,9], not [5,2,12]}}
  %y, %yh, %yc = kiln.recurrence %x, %r, %b, %h, %h, %p {cell = "lstm", activations = ["Sigmoid", "Tanh", "Tanh"], activation_alpha = [0.0, 0.0, 0.0], activation_beta = [0.0, 0.0, 0.0]} : (tensor<5x2x9xf32>, tensor<3x9xf32>, tensor<9xf32>, tensor<2x3xf32>, tensor<2x3xf32>, tensor<9xf32>) -> (tensor<5x2x3xf32>, tensor<2x3xf32>, tensor<2x3xf32>)
  return %y : tensor<5x2x3xf32>
}

// -----

func.func @conv_mixed_types(%x: tensor<1x1x4x4xi32>, %w: tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xi32> {
  // expected-error@+2 {{X, W and B must have one element type}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w : (tensor<1x1x4x4xi32>, tensor<2x1x3x3xf32>) -> tensor<1x2x2x2xi32>
  return %0 : tensor<1x2x2x2xi32>
}

// -----

// Grouped convolutions: each rule broken says which.
func.func @conv_group_output_channels(%x: tensor<1x8x4x4xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x2x2xf32> {
  // expected-error@+2 {{group 4 does not divide W's 6 output channels (W is [6, 2, ...])}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w {group = 4 : i64} : (tensor<1x8x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x2x2xf32>
  return %0 : tensor<1x6x2x2xf32>
}

// -----

func.func @conv_group_input_channels(%x: tensor<1x8x4x4xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x2x2xf32> {
  // expected-error@+2 {{group 3 does not divide X's 8 input channels}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w {group = 3 : i64} : (tensor<1x8x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x2x2xf32>
  return %0 : tensor<1x6x2x2xf32>
}

// -----

func.func @conv_group_zero(%x: tensor<1x8x4x4xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x6x2x2xf32> {
  // expected-error@+2 {{group must be at least 1, not 0}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w {group = 0 : i64} : (tensor<1x8x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x6x2x2xf32>
  return %0 : tensor<1x6x2x2xf32>
}

// -----

func.func @conv_group_channels(%x: tensor<1x8x4x4xf32>, %w: tensor<6x3x3x3xf32>) -> tensor<1x6x2x2xf32> {
  // expected-error@+2 {{channels do not match: X has 8, so 4 per group of 2, but W [6, 3, ...] expects 3 per group}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv %x, %w {group = 2 : i64} : (tensor<1x8x4x4xf32>, tensor<6x3x3x3xf32>) -> tensor<1x6x2x2xf32>
  return %0 : tensor<1x6x2x2xf32>
}

// -----

func.func @conv_transpose_w_rows(%x: tensor<1x8x4x4xf32>, %w: tensor<6x2x3x3xf32>) -> tensor<1x4x6x6xf32> {
  // expected-error@+2 {{W's first axis (6) must be X's channels (8): W is [C, M/group, kernel...]}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {group = 2 : i64} : (tensor<1x8x4x4xf32>, tensor<6x2x3x3xf32>) -> tensor<1x4x6x6xf32>
  return %0 : tensor<1x4x6x6xf32>
}

// -----

func.func @conv_transpose_group(%x: tensor<1x8x4x4xf32>, %w: tensor<8x2x3x3xf32>) -> tensor<1x6x6x6xf32> {
  // expected-error@+2 {{group 3 does not divide X's 8 input channels}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.conv_transpose %x, %w {group = 3 : i64} : (tensor<1x8x4x4xf32>, tensor<8x2x3x3xf32>) -> tensor<1x6x6x6xf32>
  return %0 : tensor<1x6x6x6xf32>
}

// -----

func.func @conv_bool(%x: tensor<1x1x4x4xi1>, %w: tensor<2x1x3x3xi1>) -> tensor<1x2x2x2xi1> {
  // expected-error@+1 {{operand #0 must be ranked tensor of}}
  %0 = kiln.conv %x, %w : (tensor<1x1x4x4xi1>, tensor<2x1x3x3xi1>) -> tensor<1x2x2x2xi1>
  return %0 : tensor<1x2x2x2xi1>
}

// -----

func.func @loop_changes_type(%x: tensor<2xf32>, %c: tensor<i1>) -> tensor<2xf32> {
  // expected-error@+1 {{carried value 0 must keep its type 'tensor<2xf32>' through the body}}
  %r = "kiln.loop"(%c, %x) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    %d = kiln.concat %v, %v {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
    kiln.yield %k, %d : tensor<i1>, tensor<4xf32>
  }) {trip_count = 3 : i64} : (tensor<i1>, tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

func.func @while_with_scan(%x: tensor<2xf32>, %c: tensor<i1>) -> (tensor<2xf32>, tensor<3x2xf32>) {
  // expected-error@+1 {{scan outputs need a trip count}}
  %r:2 = "kiln.loop"(%c, %x) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    kiln.yield %k, %v, %v : tensor<i1>, tensor<2xf32>, tensor<2xf32>
  }) {trip_count = -1 : i64} : (tensor<i1>, tensor<2xf32>) -> (tensor<2xf32>, tensor<3x2xf32>)
  return %r#0, %r#1 : tensor<2xf32>, tensor<3x2xf32>
}

// -----

func.func @loop_negative_trips(%x: tensor<2xf32>, %c: tensor<i1>) -> tensor<2xf32> {
  // expected-error@+1 {{trip count must be -1 (none) or at least 0}}
  %r = "kiln.loop"(%c, %x) ({
  ^bb0(%i: tensor<i64>, %k: tensor<i1>, %v: tensor<2xf32>):
    kiln.yield %k, %v : tensor<i1>, tensor<2xf32>
  }) {trip_count = -2 : i64} : (tensor<i1>, tensor<2xf32>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

func.func @if_branches_differ(%x: tensor<2xf32>, %c: tensor<i1>) -> tensor<2xf32> {
  // expected-error@+1 {{a branch yields types that differ from the results'}}
  %r = "kiln.if"(%c) ({
    kiln.yield %x : tensor<2xf32>
  }, {
    %d = kiln.concat %x, %x {axis = 0 : i64} : (tensor<2xf32>, tensor<2xf32>) -> tensor<4xf32>
    kiln.yield %d : tensor<4xf32>
  }) : (tensor<i1>) -> tensor<2xf32>
  return %r : tensor<2xf32>
}

// -----

func.func @det_not_square(%a: tensor<2x3x4xf32>) -> tensor<2xf32> {
  // expected-error@+2 {{Det expects square matrices [..., M, M]; the input is 'tensor<2x3x4xf32>'}}
  // expected-error@+1 {{failed to infer returned types}}
  %0 = kiln.det %a : (tensor<2x3x4xf32>) -> tensor<2xf32>
  return %0 : tensor<2xf32>
}
