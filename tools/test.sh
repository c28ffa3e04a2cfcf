#!/usr/bin/env bash
# Installs what is missing, builds everything and runs the whole test suite:
# gtest unit and end-to-end tests, the lit/FileCheck IR tests and the ONNX
# backend conformance suites.
#
#   tools/test.sh                        # everything
#   tools/test.sh //tests:session_test   # some targets
#   tools/test.sh --asan | --ubsan | --tsan [targets]
#                                        # under a sanitizer (default targets:
#                                        # the unit and end-to-end tests);
#                                        # --asan --ubsan builds once with both
#
# A full run (no targets, no sanitizer) also checks Kiln from a project's
# own build (tools/test_user_builds.sh): examples/external, which uses Kiln
# as the external repository @kiln, and tools/install.sh with pkg-config.
#
# In CI (CI set) a full run also runs one pass under ASan and UBSan together
# and tools/fuzz.sh smoke (each fuzz target for a minute).
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh

if [ -n "${CI:-}" ]; then
  # Leave no Bazel server behind in CI.
  trap 'bazel shutdown >/dev/null 2>&1 || true' EXIT
fi

config=()
while [ $# -gt 0 ]; do
  case "$1" in
    --asan | --ubsan | --tsan)
      config+=(--config="${1#--}")
      shift
      ;;
    *) break ;;
  esac
done
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  if [ ${#config[@]} -gt 0 ]; then
    targets=(//tests:all)
  else
    targets=(//...)
  fi
fi

log=$(mktemp)
status=0
bazel test "${config[@]}" --nocache_test_results --test_summary=short \
  "${targets[@]}" 2>&1 \
  | tee "$log" || status=$?

if [ ${#config[@]} -eq 0 ] && [ $# -eq 0 ]; then
  tools/test_user_builds.sh 2>&1 | tee -a "$log" || status=$?
fi

if [ ${#config[@]} -eq 0 ]; then
  for t in onnx_backend:"libonnx-testdata, -O3" \
    onnx_backend_O0:"libonnx-testdata, -O0" \
    onnx_node_O3:"../shared/conformance/onnx-node, -O3" \
    onnx_node_O0:"../shared/conformance/onnx-node, -O0"; do
    log_file=bazel-testlogs/tests/conformance/${t%%:*}/test.log
    [ -f "$log_file" ] &&
      echo "ONNX backend conformance (${t#*:}): $(tail -1 "$log_file")"
  done
fi
# Bazel's test summary, and tools/test_user_builds.sh's "<step>: PASSED".
passed=$(grep -cE '^(//[^ ]+ +|[a-z]+: )PASSED' "$log" || true)
failed=$(grep -cE '^(//[^ ]+ +(FAILED|TIMEOUT|NO STATUS|FAILED TO BUILD)|[a-z]+: FAILED)' "$log" || true)
rm -f "$log"
if [ "$status" -ne 0 ] && [ "$failed" -eq 0 ]; then
  echo "bazel exited with status $status before running every test"
  failed=1
fi
echo "test targets: $passed passed, $failed failed"
if [ "$status" -eq 0 ] && [ -n "${CI:-}" ] && [ ${#config[@]} -eq 0 ] &&
  [ $# -eq 0 ]; then
  # CI also runs the unit and end-to-end tests under ASan and UBSan (one
  # build with both: a second sanitizer build would cost ~9 minutes), and
  # every fuzz target for a minute on its seeds and regression files.
  status=0
  "$0" --asan --ubsan && tools/fuzz.sh smoke 60 || status=$?
fi
exit "$status"
