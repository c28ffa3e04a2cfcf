// RUN: graph-compile %S/Inputs/dense.pbtxt --fetch y --emit=plan | FileCheck %s --check-prefix=PLAN
// RUN: graph-compile %S/Inputs/dense.pbtxt --fetch y --emit=mlir | FileCheck %s --check-prefix=LLVM

// Weights leave the IR: the 512-byte weight is a kernel buffer read from
// the plan's constants region at a 64-byte aligned offset, so LLVM never
// sees its bytes; the 64-byte bias stays a global in the kernel's code,
// where LLVM can fold its values. Arena and constants buffers are 64-byte
// aligned, and a constant's is marked kiln.constant; feeds and fetches
// are only noalias. The result is computed in the fetch buffer: no arena,
// no copy.
// PLAN: arena 0 bytes (lower bound 0), constants 512 bytes, 1 dispatches
// PLAN-NEXT: k0_fusion_0_gemm_add grid 1 (fetch y: f32[4,16], feed x: f32[4,8], const+0: f32[8,16])
// LLVM-NOT: @__constant_8x16xf32
// LLVM: llvm.mlir.global private constant @__constant_16xf32
// LLVM-NOT: @__constant_8x16xf32
// LLVM: llvm.func @k0_fusion_0_gemm_add(%{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {llvm.noalias}, %{{.*}}: !llvm.ptr {kiln.constant, llvm.align = 64 : i64, llvm.noalias}, %{{.*}}: i64, %{{.*}}: i64)
