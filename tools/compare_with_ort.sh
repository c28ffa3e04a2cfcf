#!/usr/bin/env bash
# Compiles each ONNX model with Kiln, runs it on the same input as ONNX
# Runtime, and compares the first outputs (rtol 1e-3, atol 1e-4). A
# developer's check, not part of CI: it needs ONNX Runtime from npm and
# Debian's python3-numpy and python3-onnx.
#
#   tools/compare_with_ort.sh ../shared/bench/models/*.onnx
#
# The input follows ../shared/bench's rule: element i of every float input
# is sin(0.001 * i). ORT's runner is ../shared/bench/ort_bench.js, or the
# file named by $ORT_BENCH.
set -euo pipefail
cd "$(dirname "$0")/.."
[ $# -gt 0 ] || { echo "usage: $0 MODEL.onnx..." >&2; exit 2; }
source tools/ort_common.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
status=0
printf '%-18s %-14s %-12s %s\n' model output max_abs_diff verdict
for model in "$@"; do
  name=$(basename "$model" .onnx)
  read -r input output shape < <(write_input "$model" "$work/$name.x.npy")
  ORT_DIR="$ort_dir" node "$ort_bench" --iters 1 --input "$work/$name.x.npy" \
    --save-output "$work/$name.ort.npy" "$model" >/dev/null
  bazel-bin/tools/graph-compile "$model" --run --feed "$input=$work/$name.x.npy" \
    --fetch "$output" --output "$output=$work/$name.kiln.npy" >/dev/null
  verdict=$(/usr/bin/python3 - "$work/$name.kiln.npy" "$work/$name.ort.npy" <<'PY'
import sys, numpy as np
a, e = np.load(sys.argv[1]), np.load(sys.argv[2])
if a.shape != e.shape:
    print(f"- shape {a.shape} vs {e.shape} FAIL"); sys.exit()
ok = np.allclose(a, e, rtol=1e-3, atol=1e-4)
print(f"{np.max(np.abs(a - e)):.3g} {'ok' if ok else 'FAIL'}")
PY
)
  printf '%-18s %-14s %-12s %s\n' "$name" "$output" $verdict
  [[ "$verdict" == *ok ]] || status=1
done
exit $status
