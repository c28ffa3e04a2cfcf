#!/usr/bin/env bash
# Runs random_graphs.py over a fixed seed range against //tools:graph-compile.
# Failing graphs are kept in the test's undeclared outputs
# (bazel-testlogs/tests/random/random_graphs_test/test.outputs/).
# --test_env=RANDOM_GRAPHS_SEED=S and RANDOM_GRAPHS_COUNT=N pick other seeds.
set -euo pipefail
root="${TEST_SRCDIR}/${TEST_WORKSPACE}"
python=/usr/bin/python3
if ! "$python" -c 'import numpy' 2>/dev/null; then
  echo "random_graphs_test: $python cannot import numpy, which computes the" \
       "reference; install the Debian package python3-numpy" \
       "(tools/install_deps.sh does)" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
out="${TEST_UNDECLARED_OUTPUTS_DIR:-${TEST_TMPDIR:-/tmp}}/failures"
exec "$python" "$root/tests/random/random_graphs.py" \
  --graph-compile "$root/tools/graph-compile" \
  --seed "${RANDOM_GRAPHS_SEED:-1}" --count "${RANDOM_GRAPHS_COUNT:-150}" \
  --jobs 2 --out "$out"
