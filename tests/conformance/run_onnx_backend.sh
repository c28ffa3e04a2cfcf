#!/usr/bin/env bash
# Runs Debian's ONNX backend test data (package libonnx-testdata), at -O3 on
# two threads (each test compared bit for bit with a run without memory
# reuse on one thread), through
# graph-compile --check-onnx-test; unsupported tests must be listed, with
# their reasons, in expected_skips.txt.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
data=/usr/share/libonnx-testdata/data
if [ ! -d "$data/node" ]; then
  echo "missing $data: install the Debian package libonnx-testdata" >&2
  exit 1
fi
exec "$root/tools/graph-compile" --check-onnx-test -O3 --threads=2 \
  --differential-plan \
  "$data/node" "$data/pytorch-converted" "$data/pytorch-operator" \
  "$data/simple" --expected-skips "$root/tests/conformance/expected_skips.txt"
