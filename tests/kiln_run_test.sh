#!/usr/bin/env bash
# kiln-run, the runtime-only runner: it links no compiler, runs an artifact
# to the same outputs as graph-compile, and refuses bad input with the
# documented exit status.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
run="$root/tools/kiln-run"
gc="$root/tools/graph-compile"
tmp="${TEST_TMPDIR:-/tmp}"
if ldd "$run" | grep -E 'libLLVM|libMLIR|libprotobuf|libonnx'; then
  echo "FAIL: kiln-run links a compiler library"
  exit 1
fi
"$gc" "$root/examples/mlp.pbtxt" -o "$tmp/mlp.kiln" >/dev/null
got=$("$run" "$tmp/mlp.kiln" --feed "x=$root/examples/mlp_x.npy" \
  --output "probs=$tmp/probs.npy" --benchmark 3)
want=$("$gc" "$root/examples/mlp.pbtxt" --run \
  --feed "x=$root/examples/mlp_x.npy" | head -1)
echo "$got"
[ "$(echo "$got" | head -1)" = "$want" ]
echo "$got" | grep -q '^load: .* ms, first run: .* ms$'
echo "$got" | grep -q '^benchmark: 3 runs, median'
[ -s "$tmp/probs.npy" ]
# --profile: a line per kernel of the plan, after the runs.
prof=$("$run" "$tmp/mlp.kiln" --feed "x=$root/examples/mlp_x.npy" \
  --benchmark 2 --profile)
echo "$prof" | grep -q '^profile of fetches probs: 3 runs'
echo "$prof" | grep -q ' k0_fusion_0_gemm_add_relu$'
echo "$prof" | grep -q '100.0%         total$'
"$run" "$tmp/mlp.kiln" --feed "x=$root/examples/mlp_x.npy" |
  grep -q 'profile of' && exit 1

status=0
"$run" "$tmp/missing.kiln" 2>"$tmp/err" || status=$?
[ "$status" -eq 1 ] && grep -q "cannot open '$tmp/missing.kiln'" "$tmp/err"
status=0
"$run" "$tmp/mlp.kiln" --feed "q=$root/examples/mlp_x.npy" 2>"$tmp/err" ||
  status=$?
[ "$status" -eq 1 ] && grep -q "feed 'q' names no input" "$tmp/err"
status=0
"$run" 2>"$tmp/err" || status=$?
[ "$status" -eq 2 ] && grep -q "no artifact given" "$tmp/err"
echo PASS
