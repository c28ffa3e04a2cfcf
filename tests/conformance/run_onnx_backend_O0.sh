#!/usr/bin/env bash
# The same ONNX backend suites at -O0, where no graph pass runs: the
# optimizing and the plain pipeline must both match ONNX's expected outputs.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
data=/usr/share/libonnx-testdata/data
exec "$root/tools/graph-compile" --check-onnx-test -O0 --differential-plan \
  "$data/node" "$data/pytorch-converted" "$data/pytorch-operator" \
  "$data/simple" --expected-skips "$root/tests/conformance/expected_skips.txt"
