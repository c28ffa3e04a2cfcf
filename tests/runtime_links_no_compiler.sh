#!/usr/bin/env bash
# The runtime links no compiler: a binary built from //runtime:executable
# alone (executable_test) must not load LLVM, MLIR, protobuf or libonnx.
set -euo pipefail
bin="${TEST_SRCDIR}/${TEST_WORKSPACE}/tests/executable_test"
libs=$(ldd "$bin")
if grep -E 'libLLVM|libMLIR|libprotobuf|libonnx' <<<"$libs"; then
  echo "FAIL: the runtime pulls in compiler libraries (above)"
  echo "0 passed, 1 failed"
  exit 1
fi
echo "ok: $(wc -l <<<"$libs") shared libraries, none of LLVM, MLIR, protobuf, libonnx"
echo "1 passed, 0 failed"
