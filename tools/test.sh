#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite:
# gtest unit and end-to-end tests and the lit/FileCheck IR tests.
#
#   tools/test.sh            # everything
#   tools/test.sh //tests:session_test   # some targets
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh

if [ -n "${CI:-}" ]; then
  # Leave no Bazel server behind in CI.
  trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
fi

targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=(//...)

log=$(mktemp)
status=0
bazel test --nocache_test_results --test_summary=short "${targets[@]}" 2>&1 \
  | tee "$log" || status=$?

conformance=bazel-testlogs/tests/conformance/onnx_backend/test.log
if [ -f "$conformance" ]; then
  echo "ONNX backend conformance (libonnx-testdata): $(tail -1 "$conformance")"
fi
passed=$(grep -cE '^//[^ ]+ +PASSED' "$log" || true)
failed=$(grep -cE '^//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)' "$log" || true)
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "bazel exited with status $status before running every test"
  failed=1
fi
echo "test targets: $passed passed, $failed failed"
exit "$status"
