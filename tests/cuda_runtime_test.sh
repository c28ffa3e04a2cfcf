#!/usr/bin/env bash
# The CUDA runtime (runtime/cuda_device.cc) against a driver double
# (fake_cuda_driver.cc, loaded through $KILN_CUDA_DRIVER) that logs every
# call: which image is loaded (the cubin on its own chip, the PTX on a newer
# one), the device memory, the copies, each launch's sizes and buffers in
# plan order, the CUDA graph captured on the first run and replayed, the
# fallback without graphs, and a device older than the code refused.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
run="$root/tools/kiln-run"
gc="$root/tools/graph-compile"
export KILN_CUDA_DRIVER="$root/tests/libfake_cuda_driver.so"
tmp="${TEST_TMPDIR:-/tmp}"
export FAKE_CUDA_LOG="$tmp/cuda.log"
x="$root/examples/mlp_x.npy"
# sm_80 code on an sm_90 device: the PTX is loaded (and the double counts
# each kernel's parameters from it).
"$gc" "$root/examples/mlp.pbtxt" --target=cuda --gpu-arch=sm_80 \
  -o "$tmp/mlp80.kiln" >/dev/null
rm -f "$FAKE_CUDA_LOG"
"$run" "$tmp/mlp80.kiln" --feed "x=$x" --benchmark 1 >/dev/null
cat "$FAKE_CUDA_LOG"
count() { grep -c -- "$1" "$FAKE_CUDA_LOG" || true; }
[ "$(count '^load ptx$')" -eq 1 ]
# Device memory once: the arena (128 bytes: graph-compile --target=cuda
# --emit=plan), feed x (32), fetch probs (24).
[ "$(grep '^alloc' "$FAKE_CUDA_LOG" | tr '\n' ' ')" = \
  "alloc a0 128 alloc a1 32 alloc a2 24 " ]
# Two runs: the feed in and the fetch out each time.
[ "$(count '^htod a1+0 32$')" -eq 2 ]
[ "$(count '^dtoh a2+0 24$')" -eq 2 ]
# Captured once, replayed on both runs, in plan order with each launch's
# blocks, threads and buffers as --emit=plan lists them (arena+0, feed x;
# arena+64, arena+0; arena+0, arena+64, fetch probs).
[ "$(count '^capture$')" -eq 1 ]
[ "$(count '^graph$')" -eq 2 ]
want="graph
launch k0_fusion_0_gemm_add_relu_0 grid 1x1x1 block 16x1x1 shared 0 stream a0+0 a1+0
launch k1_logits_0 grid 1x1x1 block 6x1x1 shared 0 stream a0+64 a0+0
launch k2_probs_0 grid 1x1x1 block 2x1x1 shared 0 stream a0+0 a0+64 a2+0
launch k2_probs_1 grid 1x1x1 block 6x1x1 shared 0 stream a0+0 a0+64 a2+0
launch k2_probs_2 grid 1x1x1 block 2x1x1 shared 0 stream a0+0 a0+64 a2+0
launch k2_probs_3 grid 1x1x1 block 6x1x1 shared 0 stream a0+0 a0+64 a2+0"
[ "$(grep -A6 '^graph$' "$FAKE_CUDA_LOG" | head -7)" = "$want" ]
[ "$(count '^launch')" -eq 12 ]

# Without graphs (asked for, or a driver that cannot capture): the same
# launches, one by one on the default stream.
for env in KILN_CUDA_GRAPHS=0 FAKE_CUDA_NO_CAPTURE=1; do
  rm -f "$FAKE_CUDA_LOG"
  env "$env" "$run" "$tmp/mlp80.kiln" --feed "x=$x" >/dev/null
  [ "$(count '^graph$')" -eq 0 ]
  [ "$(count '^launch k0_fusion_0_gemm_add_relu_0 grid 1x1x1 block 16x1x1 shared 0 a0+0 a1+0$')" -eq 1 ]
  [ "$(count '^launch')" -eq 6 ]
done

# Code for the device's own chip: the cubin (when ptxas made one).
"$gc" "$root/examples/mlp.pbtxt" --target=cuda -o "$tmp/mlp90.kiln" >/dev/null
rm -f "$FAKE_CUDA_LOG"
"$run" "$tmp/mlp90.kiln" --feed "x=$x" >/dev/null
if [ -x /usr/local/cuda/bin/ptxas ]; then
  [ "$(count '^load cubin$')" -eq 1 ]
fi

# A device older than the code.
status=0
FAKE_CUDA_ARCH=75 "$run" "$tmp/mlp80.kiln" --feed "x=$x" 2>"$tmp/err" ||
  status=$?
cat "$tmp/err"
[ "$status" -eq 1 ]
grep -q "compiled for sm_80; this GPU (Fake GPU, sm_75) is older (recompile with --gpu-arch=sm_75)" "$tmp/err"
echo PASS
