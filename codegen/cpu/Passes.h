//===- Passes.h - The CPU backend's passes ----------------------*- C++ -*-===//
//
// Part of Kiln. Declared in codegen/cpu/Passes.td.
//
//===----------------------------------------------------------------------===//
#ifndef KILN_CODEGEN_CPU_PASSES_H
#define KILN_CODEGEN_CPU_PASSES_H

#include <memory>

#include "mlir/Pass/Pass.h"

namespace kiln {

#define GEN_PASS_DECL
#include "codegen/cpu/Passes.h.inc"

#define GEN_PASS_REGISTRATION
#include "codegen/cpu/Passes.h.inc"

/// The most vectors one block of the contraction microkernel spans along
/// its columns (kiln-cpu-vectorize-contractions' NV), on a target with
/// `registers` vector registers: 24 (AVX-512) or 12 (AVX2) accumulators
/// make blocks of 6 x 4 or 4 x 3 vectors.
inline int64_t microkernelVectors(int64_t registers) {
  return registers >= 32 ? 4 : 3;
}

/// The width in vectors of kiln-cpu-pack-weights' panels, which a block
/// reading them spans: 4 with 32 registers, 2 with 16 (6 rows x 2 vectors,
/// the AVX2 block of BLAS libraries). Panels of 2 divide the tiles of 256
/// columns (kiln-cpu-tile-fusions); panels of 3 would not, and the
/// weights would stay unpacked (bert_layer's FFN: 25 against 75 GFLOP/s on
/// an AVX2 host).
inline int64_t panelVectors(int64_t registers) {
  return registers >= 32 ? 4 : 2;
}

/// The bytes of S one block of rows of kiln-cpu-vectorize-contractions may
/// read over a reduction before it runs in chunks, on a target with
/// `vectorBits`-bit vectors. AVX-512 cores have 1 MiB of L2 or more and
/// stream S from L3 fast: on Zen 5 chunks of 128 KiB (512 steps of
/// bert_layer's FFN2) ran it at half speed, 5.9 -> 3.3 ms without. On
/// AVX2's Zen 2 (512 KiB of L2), 128 KiB measured best; 256 KiB was
/// slower for the same matmul.
inline int64_t reductionChunkBytes(int64_t vectorBits) {
  return vectorBits >= 512 ? 1 << 20 : 128 << 10;
}

} // namespace kiln

#endif // KILN_CODEGEN_CPU_PASSES_H
