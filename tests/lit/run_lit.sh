#!/usr/bin/env bash
# Runs the lit suite from Bazel's runfiles tree.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
exec python3 /usr/lib/llvm-19/build/utils/lit/lit.py -v \
  "${root}/tests/lit" --param kiln_bin="${root}/tools"
