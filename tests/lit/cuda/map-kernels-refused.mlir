// RUN: graph-opt %s --kiln-cuda-map-kernels --verify-diagnostics

// Must not change meaning: a load whose buffer a later launch writes before
// the use cannot be repeated there; the kernel is refused, not miscompiled.
#w = affine_map<(d0) -> (d0)>
module {
  func.func @k0_stale(%out: memref<8xf32>, %x: memref<8xf32>, %first: index, %end: index) {
    %c0 = arith.constant 0 : index
    // expected-error @+1 {{a value the cuda target would pass between GPU launches of kernel 'k0_stale'}}
    %first_x = memref.load %x[%c0] : memref<8xf32>
    linalg.generic {indexing_maps = [#w, #w], iterator_types = ["parallel"]}
        ins(%x : memref<8xf32>) outs(%x : memref<8xf32>) {
    ^bb0(%a: f32, %b: f32):
      %n = arith.negf %a : f32
      linalg.yield %n : f32
    }
    linalg.generic {indexing_maps = [#w], iterator_types = ["parallel"]}
        outs(%out : memref<8xf32>) {
    ^bb0(%b: f32):
      linalg.yield %first_x : f32
    }
    return
  }
}
