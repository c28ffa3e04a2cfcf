#!/usr/bin/env bash
# The cases of tests/conformance/ort_cases (expected outputs from ONNX
# Runtime, tools/make_ort_cases.sh) at the optimization level and thread
# count given as arguments.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
exec "$root/tools/graph-compile" --check-onnx-test "$@" --differential-plan \
  "$root"/tests/conformance/ort_cases/*
