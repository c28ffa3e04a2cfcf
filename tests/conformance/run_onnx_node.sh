#!/usr/bin/env bash
# Runs the newer ONNX backend node tests in ../shared/conformance/onnx-node
# (beside the repository; CI always has it, a user's clone may not) through
# graph-compile --check-onnx-test at the -O level given as $1 (and the
# --threads given after it), with every test also compiled without memory
# reuse, run on one thread and compared bit for bit.
# Unsupported tests must be listed in expected_skips_onnx_node.txt; a
# listed test that passes fails too.
set -euo pipefail
level=${1:?usage: run_onnx_node.sh -O<n> [--threads=N]}
shift
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
# The runfiles link to the source tree; the suite sits beside it.
skips=$(readlink -f "$root/tests/conformance/expected_skips_onnx_node.txt")
repo=$(cd "$(dirname "$skips")/../.." && pwd)
suite=${KILN_ONNX_NODE_SUITE:-$repo/../shared/conformance/onnx-node}
if [ ! -d "$suite" ]; then
  echo "skipped: $suite not found (the suite is beside the repository only" \
    "where ../shared exists)"
  exit 0
fi
exec "$root/tools/graph-compile" --check-onnx-test "$level" "$@" \
  --differential-plan "$suite" --expected-skips "$skips"
