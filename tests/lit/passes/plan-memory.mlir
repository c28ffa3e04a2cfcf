// RUN: graph-opt %s --split-input-file --kiln-plan-memory | FileCheck %s
// RUN: graph-opt %s --split-input-file --kiln-plan-memory=reuse=false \
// RUN:   | FileCheck %s --check-prefix=NOREUSE

// With reuse=false no buffer shares bytes with another and nothing is
// written in place: every buffer gets its own slot.
// NOREUSE-LABEL: func.func @reuse
// NOREUSE-SAME: kiln.arena_bytes = 192 : i64
// NOREUSE-LABEL: func.func @in_place
// NOREUSE-SAME: kiln.arena_bytes = 256 : i64

// %a dies at its last use, so %c can take its place; %b overlaps both.
// The arena becomes the function's last argument, allocated by the caller.
// CHECK-LABEL: func.func @reuse
// CHECK-SAME: %[[ARENA:[^:]*]]: memref<128xi8> {kiln.arena})
// CHECK-SAME: kiln.arena_bytes = 128 : i64
// CHECK-SAME: kiln.arena_lower_bound = 128 : i64
// CHECK-SAME: kiln.unplanned_bytes = 192 : i64
// CHECK-NOT: memref.alloc()
// CHECK: memref.view %[[ARENA]][%{{.*}}][] : memref<128xi8> to memref<4xf32>
// CHECK-NOT: memref.dealloc
// CHECK: return
func.func @reuse(%in: memref<4xf32>, %out: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %in, %a : memref<4xf32> to memref<4xf32>
  %b = memref.alloc() : memref<4xf32>
  memref.copy %a, %b : memref<4xf32> to memref<4xf32>
  %c = memref.alloc() : memref<4xf32>
  memref.copy %b, %c : memref<4xf32> to memref<4xf32>
  memref.copy %c, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A view keeps its buffer alive: %a is used through %v after %b exists,
// so they must not share.
// CHECK-LABEL: func.func @views_extend_lifetimes
// CHECK-SAME: kiln.arena_bytes = 128 : i64
func.func @views_extend_lifetimes(%out: memref<2x2xf32>) {
  %a = memref.alloc() : memref<4xf32>
  %v = memref.expand_shape %a [[0, 1]] output_shape [2, 2] : memref<4xf32> into memref<2x2xf32>
  %b = memref.alloc() : memref<2x2xf32>
  memref.copy %v, %b : memref<2x2xf32> to memref<2x2xf32>
  memref.copy %v, %out : memref<2x2xf32> to memref<2x2xf32>
  memref.copy %b, %out : memref<2x2xf32> to memref<2x2xf32>
  return
}

// -----

// Nothing to plan: no allocations, an empty arena.
// CHECK-LABEL: func.func @nothing
// CHECK-SAME: memref<0xi8> {kiln.arena}
// CHECK-SAME: kiln.arena_bytes = 0 : i64
// CHECK-NOT: memref.alloc
func.func @nothing(%in: memref<4xf32>, %out: memref<4xf32>) {
  memref.copy %in, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// An elementwise kernel writes over an input that dies there: %a and %b
// share one slot. %c is read again afterwards, so %d cannot take its place.
// CHECK-LABEL: func.func @in_place
// CHECK-SAME: %[[ARENA:[^:]*]]: memref<128xi8> {kiln.arena})
// CHECK-SAME: kiln.arena_bytes = 128 : i64
// CHECK-SAME: kiln.unplanned_bytes = 256 : i64
// CHECK: %[[OFF:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[A:.*]] = memref.view %[[ARENA]][%[[OFF]]][]
// CHECK: %[[OFF2:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[B:.*]] = memref.view %[[ARENA]][%[[OFF2]]][]
// CHECK: linalg.generic {{.*}} ins(%[[A]] : memref<4xf32>) outs(%[[B]] : memref<4xf32>)
#id = affine_map<(d0) -> (d0)>
func.func @in_place(%in: memref<4xf32>, %out: memref<4xf32>) {
  %a = memref.alloc() : memref<4xf32>
  memref.copy %in, %a : memref<4xf32> to memref<4xf32>
  %b = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%a : memref<4xf32>) outs(%b : memref<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  %c = memref.alloc() : memref<4xf32>
  memref.copy %b, %c : memref<4xf32> to memref<4xf32>
  %d = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%c : memref<4xf32>) outs(%d : memref<4xf32>) {
  ^bb0(%x: f32, %y: f32):
    %n = arith.negf %x : f32
    linalg.yield %n : f32
  }
  memref.copy %c, %out : memref<4xf32> to memref<4xf32>
  memref.copy %d, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// An f32 result must not be written over a dying i1 input: both round up to
// one 64-byte slot, but element i of the result covers bytes 4i..4i+3,
// where bools 4i..4i+3 have not been read yet. The two get their own slots.
// CHECK-LABEL: func.func @no_in_place_across_element_sizes
// CHECK-SAME: kiln.arena_bytes = 128 : i64
// CHECK: %[[OFF:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[M:.*]] = memref.view %{{.*}}[%[[OFF]]][] {{.*}} to memref<8xi1>
// CHECK: %[[OFF2:.*]] = arith.constant 64 : index
// CHECK-NEXT: %[[Y:.*]] = memref.view %{{.*}}[%[[OFF2]]][] {{.*}} to memref<8xf32>
// CHECK: linalg.generic {{.*}} ins(%[[M]], %{{.*}} : memref<8xi1>, memref<8xf32>) outs(%[[Y]] : memref<8xf32>)
#id = affine_map<(d0) -> (d0)>
func.func @no_in_place_across_element_sizes(%x: memref<8xf32>, %out: memref<8xf32>) {
  %m = memref.alloc() : memref<8xi1>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : memref<8xf32>) outs(%m : memref<8xi1>) {
  ^bb0(%a: f32, %b: i1):
    %zero = arith.constant 0.0 : f32
    %lt = arith.cmpf olt, %a, %zero : f32
    linalg.yield %lt : i1
  }
  %y = memref.alloc() : memref<8xf32>
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%m, %x : memref<8xi1>, memref<8xf32>) outs(%y : memref<8xf32>) {
  ^bb0(%c: i1, %a: f32, %b: f32):
    %big = arith.constant -1.0e4 : f32
    %s = arith.select %c, %big, %a : f32
    linalg.yield %s : f32
  }
  memref.copy %y, %out : memref<8xf32> to memref<8xf32>
  return
}

// -----

// Gather(t, t): the kernel reads %t as its indices (an operand) and as its
// data (loads in its body). Writing the result over %t would overwrite
// data later elements still load, so the two get their own slots.
// CHECK-LABEL: func.func @no_in_place_when_the_body_reads_the_input
// CHECK-SAME: kiln.arena_bytes = 128 : i64
// CHECK: %[[OFF:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[T:.*]] = memref.view %{{.*}}[%[[OFF]]][] {{.*}} to memref<4xi64>
// CHECK: %[[OFF2:.*]] = arith.constant 64 : index
// CHECK-NEXT: %[[Y:.*]] = memref.view %{{.*}}[%[[OFF2]]][] {{.*}} to memref<4xi64>
// CHECK: linalg.generic {{.*}} ins(%[[T]] : memref<4xi64>) outs(%[[Y]] : memref<4xi64>)
// CHECK: memref.load %[[T]]
#id = affine_map<(d0) -> (d0)>
func.func @no_in_place_when_the_body_reads_the_input(%in: memref<4xi64>, %out: memref<4xi64>) {
  %t = memref.alloc() : memref<4xi64>
  memref.copy %in, %t : memref<4xi64> to memref<4xi64>
  %y = memref.alloc() : memref<4xi64>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%t : memref<4xi64>) outs(%y : memref<4xi64>) {
  ^bb0(%i: i64, %o: i64):
    %idx = arith.index_cast %i : i64 to index
    %v = memref.load %t[%idx] : memref<4xi64>
    linalg.yield %v : i64
  }
  memref.copy %y, %out : memref<4xi64> to memref<4xi64>
  return
}

// -----

// softmax(sq) + sq in one fusion: %e is written at the first kernel while
// %sq is still live, and the second kernel updates %e in place reading %sq
// for the last time. %sq dies there, but %e was not fresh: sharing their
// bytes would overwrite %sq before it is read. Three slots.
// CHECK-LABEL: func.func @no_in_place_over_an_output_written_before
// CHECK-SAME: kiln.arena_bytes = 128 : i64
// CHECK: %[[OFF:.*]] = arith.constant 0 : index
// CHECK-NEXT: %[[SQ:.*]] = memref.view %{{.*}}[%[[OFF]]][]
// CHECK: %[[OFF2:.*]] = arith.constant 64 : index
// CHECK-NEXT: %[[E:.*]] = memref.view %{{.*}}[%[[OFF2]]][]
#id = affine_map<(d0) -> (d0)>
func.func @no_in_place_over_an_output_written_before(%x: memref<4xf32>, %out: memref<4xf32>) {
  %sq = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%x : memref<4xf32>) outs(%sq : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %m = arith.mulf %a, %a : f32
    linalg.yield %m : f32
  }
  %e = memref.alloc() : memref<4xf32>
  linalg.generic {indexing_maps = [#id, #id], iterator_types = ["parallel"]} ins(%sq : memref<4xf32>) outs(%e : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32):
    %v = math.exp %a : f32
    linalg.yield %v : f32
  }
  linalg.generic {indexing_maps = [#id, #id, #id], iterator_types = ["parallel"]} ins(%e, %sq : memref<4xf32>, memref<4xf32>) outs(%e : memref<4xf32>) {
  ^bb0(%a: f32, %b: f32, %c: f32):
    %v = arith.addf %a, %b : f32
    linalg.yield %v : f32
  }
  memref.copy %e, %out : memref<4xf32> to memref<4xf32>
  return
}

// -----

// A tiled kernel's temporary tile, allocated inside its loop, is hoisted out
// and planned like any buffer: one 32-byte slot (aligned to 64) that every
// iteration rewrites, marked as scratch (iterations run at once need one
// each).
// CHECK-LABEL: func.func @hoisted_tile
// CHECK-SAME: %[[ARENA:[^:]*]]: memref<64xi8> {kiln.arena})
// CHECK-SAME: kiln.arena_bytes = 64 : i64
// CHECK: %[[TILE:.*]] = memref.view %[[ARENA]]{{.*}} {kiln.scratch}
// CHECK: scf.for
// CHECK-NOT: memref.alloc
// CHECK: memref.copy %{{.*}}, %[[TILE]]
func.func @hoisted_tile(%in: memref<4x8xf32>, %out: memref<4x8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  scf.for %i = %c0 to %c4 step %c1 {
    %tile = memref.alloc() : memref<1x8xf32>
    %src = memref.subview %in[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
    %dst = memref.subview %out[%i, 0] [1, 8] [1, 1] : memref<4x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
    memref.copy %src, %tile : memref<1x8xf32, strided<[8, 1], offset: ?>> to memref<1x8xf32>
    memref.copy %tile, %dst : memref<1x8xf32> to memref<1x8xf32, strided<[8, 1], offset: ?>>
  }
  return
}

// -----

// Must not hoist: the buffer is carried out of the loop, so each iteration's
// allocation is a different buffer.
// CHECK-LABEL: func.func @escaping_alloc
// CHECK: scf.for
// CHECK: memref.alloc() : memref<8xf32>
// CHECK: scf.yield
func.func @escaping_alloc(%in: memref<8xf32>, %out: memref<8xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %c4 = arith.constant 4 : index
  %r = scf.for %i = %c0 to %c4 step %c1 iter_args(%acc = %in) -> (memref<8xf32>) {
    %fresh = memref.alloc() : memref<8xf32>
    memref.copy %acc, %fresh : memref<8xf32> to memref<8xf32>
    scf.yield %fresh : memref<8xf32>
  }
  memref.copy %r, %out : memref<8xf32> to memref<8xf32>
  return
}

// -----

// A loop's result is its iteration argument's buffer: %a stays live until
// the last use of %r, so %b may not take its place.
// CHECK-LABEL: func.func @loop_results_alias
// CHECK-SAME: kiln.arena_bytes = 128 : i64
func.func @loop_results_alias(%in: memref<4xf32>, %out: memref<4xf32>) {
  %c0 = arith.constant 0 : index
  %c1 = arith.constant 1 : index
  %a = memref.alloc() : memref<4xf32>
  %r = scf.for %i = %c0 to %c1 step %c1 iter_args(%acc = %a) -> (memref<4xf32>) {
    memref.copy %in, %acc : memref<4xf32> to memref<4xf32>
    scf.yield %acc : memref<4xf32>
  }
  %b = memref.alloc() : memref<4xf32>
  memref.copy %in, %b : memref<4xf32> to memref<4xf32>
  memref.copy %r, %out : memref<4xf32> to memref<4xf32>
  memref.copy %b, %out : memref<4xf32> to memref<4xf32>
  return
}
