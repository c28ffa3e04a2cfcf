#!/usr/bin/env bash
# The cuda target's GPU mapping (kiln-cuda-map-kernels: launches, threads,
# what each thread computes) run on the host with --target=cuda-on-cpu,
# through Debian's ONNX backend test data and, where it exists,
# ../shared/conformance/onnx-node: every test that passes on the CPU target
# must pass. (On a GPU, tools/gpu_check.sh runs the real thing.)
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
data=/usr/share/libonnx-testdata/data
if [ ! -d "$data/node" ]; then
  echo "missing $data: install the Debian package libonnx-testdata" >&2
  exit 1
fi
compile="$root/tools/graph-compile"
"$compile" --check-onnx-test -O3 --target=cuda-on-cpu \
  "$data/node" "$data/pytorch-converted" "$data/pytorch-operator" \
  "$data/simple" --expected-skips "$root/tests/conformance/expected_skips.txt"
skips=$(readlink -f "$root/tests/conformance/expected_skips_onnx_node.txt")
repo=$(cd "$(dirname "$skips")/../.." && pwd)
suite=${KILN_ONNX_NODE_SUITE:-$repo/../shared/conformance/onnx-node}
if [ ! -d "$suite" ]; then
  echo "skipped: $suite not found"
  exit 0
fi
exec "$compile" --check-onnx-test -O3 --target=cuda-on-cpu "$suite" \
  --expected-skips "$skips"
