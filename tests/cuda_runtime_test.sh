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

# Matmuls as cuBLASLt calls, against a cuBLASLt double that computes them
# on the host as cuBLASLt defines them (the driver double's device memory
# is host memory): the results, checked against numpy in float64, check
# how the runtime maps Kiln's row-major matmuls onto cuBLASLt's
# column-major ones (operands swapped, transposes, leading dimensions,
# batch strides, the bias and ReLU epilogue).
python=/usr/bin/python3 # Debian's, with python3-numpy
export KILN_CUBLASLT="$root/tests/libfake_cublaslt.so"
"$gc" "$root/examples/matmuls.pbtxt" --target=cuda -o "$tmp/mm.kiln" >/dev/null
"$python" - "$tmp" <<'PY'
import sys, numpy as np
r = np.random.default_rng(7)
for name, shape in dict(x=(3, 4), W=(4, 5), b=(5,), p=(4, 3), q=(5, 4),
                        u=(2, 3, 4), v=(2, 4, 5)).items():
    np.save(f"{sys.argv[1]}/mm_{name}.npy",
            r.standard_normal(shape).astype(np.float32))
PY
feeds=()
for n in x W b p q u v; do feeds+=(--feed "$n=$tmp/mm_$n.npy"); done
rm -f "$FAKE_CUDA_LOG"
"$run" "$tmp/mm.kiln" "${feeds[@]}" --output "layer=$tmp/layer.npy" \
  --output "gemm=$tmp/gemm.npy" --output "batched=$tmp/batched.npy" >/dev/null
grep '^matmul' "$FAKE_CUDA_LOG"
# One call per matmul, each with the shapes and layouts of Kiln's C' =
# B' A': relu(x W + b) reads x (3 x 4) and W (4 x 5) row-major; the Gemm
# reads p (4 x 3) and q (5 x 4) transposed; the batch steps 20, 12 and 15.
want="matmul m=5 n=3 k=4 batch=1 op=NN ld=5,4,5 strides=0,0,0 beta=0 bias relu
matmul m=5 n=3 k=4 batch=1 op=TT ld=4,3,5 strides=0,0,0 beta=0
matmul m=5 n=3 k=4 batch=2 op=NN ld=5,4,5 strides=20,12,15 beta=0"
[ "$(grep '^matmul' "$FAKE_CUDA_LOG")" = "$want" ]
# No generated kernel is launched for them.
[ "$(count '^launch')" -eq 0 ]
# cuBLASLt is told how its A, B, C and D are aligned (it assumes 256
# bytes): buffers at 64, the batch items 80, 48 and 60 bytes apart.
want="align A 64 align B 64 align C 64 align D 64 \
align A 64 align B 64 align C 64 align D 64 \
align A 16 align B 16 align C 4 align D 4 "
[ "$(grep '^align' "$FAKE_CUDA_LOG" | tr '\n' ' ')" = "$want" ]
"$python" - "$tmp" <<'PY'
import sys, numpy as np
d = sys.argv[1]
f = {n: np.load(f"{d}/mm_{n}.npy").astype(np.float64) for n in "xWbpquv"}
want = {"layer": np.maximum(f["x"] @ f["W"] + f["b"], 0),
        "gemm": f["p"].T @ f["q"].T, "batched": f["u"] @ f["v"]}
for name, ref in want.items():
    got = np.load(f"{d}/{name}.npy")
    err = np.abs(got - ref).max()
    print(f"{name}: max abs error {err:.2e}")
    assert got.shape == ref.shape and err < 1e-5, name
PY
# --allow-tf32: the same calls, each asking for TF32 tensor cores
# (CUBLAS_COMPUTE_32F_FAST_TF32); without it (above), none does.
"$gc" "$root/examples/matmuls.pbtxt" --target=cuda --allow-tf32 \
  -o "$tmp/mm_tf32.kiln" >/dev/null
rm -f "$FAKE_CUDA_LOG"
"$run" "$tmp/mm_tf32.kiln" "${feeds[@]}" >/dev/null
[ "$(grep -c '^matmul .* tf32$' "$FAKE_CUDA_LOG")" -eq 3 ]
# Where cuBLASLt cannot be loaded, loading the artifact says so and names
# the way out.
status=0
KILN_CUBLASLT="$tmp/no-such-cublaslt.so" "$run" "$tmp/mm.kiln" \
  "${feeds[@]}" 2>"$tmp/err" || status=$?
cat "$tmp/err"
[ "$status" -eq 1 ]
grep -q "cannot load cuBLASLt, which runs this artifact's matmuls" "$tmp/err"
grep -q -- "--no-gpu-libraries" "$tmp/err"
unset KILN_CUBLASLT

# A device older than the code.
status=0
FAKE_CUDA_ARCH=75 "$run" "$tmp/mlp80.kiln" --feed "x=$x" 2>"$tmp/err" ||
  status=$?
cat "$tmp/err"
[ "$status" -eq 1 ]
grep -q "compiled for sm_80; this GPU (Fake GPU, sm_75) is older (recompile with --gpu-arch=sm_75)" "$tmp/err"
echo PASS
