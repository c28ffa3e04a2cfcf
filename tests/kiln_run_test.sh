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

# --expect: a fetch against a .npy within the conformance tolerance.
"$run" "$tmp/mlp.kiln" --feed "x=$root/examples/mlp_x.npy" \
  --expect "probs=$tmp/probs.npy" >/dev/null
status=0
"$run" "$tmp/mlp.kiln" --feed "x=$root/examples/mlp_x.npy" \
  --expect "probs=$root/examples/mlp_x.npy" >/dev/null 2>"$tmp/err" || status=$?
[ "$status" -eq 3 ] && grep -q "mismatch: fetch 'probs' is f32\[2,3\], expected f32\[2,4\]" "$tmp/err"
status=0
"$run" "$tmp/mlp.kiln" --expect "hidden=$tmp/probs.npy" 2>"$tmp/err" || status=$?
[ "$status" -eq 2 ] && grep -q "expect names 'hidden', which is not a fetch" "$tmp/err"

# A GPU check bundle made for the host (--target=cuda-on-cpu): the saved
# cases run with kiln-run --expect and pass; a wrong expectation fails.
data=/usr/share/libonnx-testdata/data/node
if [ -d "$data/test_relu" ]; then
  bundle="$tmp/bundle"
  rm -rf "$bundle"
  mkdir -p "$bundle/bin" "$bundle/bench"
  cp "$run" "$bundle/bin/"
  "$gc" --check-onnx-test --target=cuda-on-cpu --save-cases="$bundle/cases" \
    "$data/test_relu" "$data/test_softmax_example" "$data/test_gather_0" \
    | tail -1 | grep -q "^3 passed, 0 failed"
  ls "$bundle/cases/node_test_relu/"*.kiln >/dev/null
  "$root/tools/gpu_check.sh" "$bundle" | tee "$tmp/check"
  grep -q "^conformance: 3 passed, 0 failed" "$tmp/check"
  cp "$bundle/cases/node_test_relu/feed_0.npy" \
    "$bundle/cases/node_test_relu/expect_0.npy"
  status=0
  "$root/tools/gpu_check.sh" "$bundle" >"$tmp/check" || status=$?
  [ "$status" -ne 0 ] && grep -q "^FAIL node_test_relu: mismatch" "$tmp/check"
  grep -q "^conformance: 2 passed, 1 failed" "$tmp/check"
  # For the GPU, where this machine has none: each case is saved, not run;
  # a feed the compiler folded away (Shape's input) is not listed.
  "$gc" --check-onnx-test --target=cuda --save-cases="$tmp/gpu_cases" \
    "$data/test_relu" "$data/test_shape" | tail -1 | grep -q "^2 passed, 0 failed"
  grep -q "^feed	x	feed_0.npy$" "$tmp/gpu_cases/node_test_relu/case.txt"
  grep -q "^expect	y	expect_0.npy$" "$tmp/gpu_cases/node_test_relu/case.txt"
  if grep -q "^feed" "$tmp/gpu_cases/node_test_shape/case.txt"; then
    exit 1
  fi
  # A bundle with nothing to check fails.
  mkdir -p "$tmp/empty_bundle/bench"
  status=0
  "$root/tools/gpu_check.sh" "$tmp/empty_bundle" 2>"$tmp/err" || status=$?
  [ "$status" -eq 1 ]
  grep -q "no conformance case and no benchmark model" "$tmp/err"
fi
echo PASS
