#!/usr/bin/env bash
# The ahead-of-time example: the program built with kiln_library links no
# compiler, and prints what graph-compile computes for the same model and
# features.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
example="$root/examples/aot/classifier"
if ldd "$example" | grep -E 'libLLVM|libMLIR|libprotobuf'; then
  echo "FAIL: the example links a compiler library"
  exit 1
fi
got=$("$example" "$root/examples/aot/features.npy")
want=$("$root/tools/graph-compile" "$root/examples/aot/classifier.pbtxt" \
  --run --feed "features=$root/examples/aot/features.npy" |
  sed -n 's/^probs: f32\[1,4\] = \[\[\(.*\)\]\]$/probs: \1/p' | tr -d ',')
echo "example:       $got"
echo "graph-compile: $want"
[ -n "$want" ] && [ "$got" = "$want" ]
