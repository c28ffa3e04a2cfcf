#!/usr/bin/env bash
# Regenerates tests/conformance/ort_cases: ONNX backend test folders whose
# expected outputs ONNX Runtime computed (tools/make_ort_cases.py lists the
# cases). A developer's tool, not part of CI: it needs ONNX Runtime from
# npm and Debian's python3-numpy and python3-onnx. The folders are checked
# in; CI runs them with graph-compile --check-onnx-test.
#
#   tools/make_ort_cases.sh
set -euo pipefail
cd "$(dirname "$0")/.."
source tools/ort_common.sh
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
/usr/bin/python3 tools/make_ort_cases.py models "$work"
for model in "$work"/*.onnx; do
  base=${model%.onnx}
  case_name=$(basename "${base%.*}")
  ORT_DIR="$ort_dir" node "$ort_bench" --iters 1 --threads 1 \
    --input "$work/$case_name.x.npy" --save-output "$base.ort.npy" \
    "$model" >/dev/null
done
rm -rf tests/conformance/ort_cases
mkdir -p tests/conformance/ort_cases
/usr/bin/python3 tools/make_ort_cases.py assemble "$work" tests/conformance/ort_cases
ls tests/conformance/ort_cases
