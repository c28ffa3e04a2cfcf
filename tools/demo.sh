#!/usr/bin/env bash
# Installs what is missing, builds graph-compile, then compiles the bundled
# example (examples/mlp.pbtxt: a small MLP written by hand) and runs it with
# a feed, printing the fetched tensor and the compile and run times.
set -euo pipefail
cd "$(dirname "$0")/.."
tools/install_deps.sh
bazel build --noshow_progress --ui_event_filters=-info //tools:graph-compile
echo "$ graph-compile examples/mlp.pbtxt --run --feed x=examples/mlp_x.npy"
bazel-bin/tools/graph-compile examples/mlp.pbtxt --run --feed x=examples/mlp_x.npy
