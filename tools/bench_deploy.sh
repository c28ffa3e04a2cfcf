#!/usr/bin/env bash
# Deployment figures, measured in one run: for each model, compiling it to
# an artifact (wall time and peak memory of `graph-compile MODEL -o`), the
# artifact's size, and loading it plus its first run in a fresh kiln-run
# process (median of --runs), beside ONNX Runtime's session creation plus
# first run (both on 1 thread); then the runtime library's size. A developer's
# benchmark, not part of CI (it needs ONNX Runtime from npm).
#
#   tools/bench_deploy.sh [--runs N] ../shared/bench/models/*.onnx
set -euo pipefail
cd "$(dirname "$0")/.."
runs=5
while [ $# -gt 0 ]; do
  case "$1" in
    --runs) runs=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--runs N] MODEL.onnx..." >&2; exit 2; }
source tools/ort_common.sh
bazel build --noshow_progress --ui_event_filters=-info //tools:kiln-run
gc=bazel-bin/tools/graph-compile
run=bazel-bin/tools/kiln-run
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
median() { sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}'; }
# ONNX Runtime's first session in a process also loads and initializes
# the library: once, untimed, so that each model's figure is its own.
ORT_DIR="$ort_dir" node "$ort_bench" --threads 1 --iters 1 "$1" >/dev/null

printf '%-11s %9s %9s %9s %10s %10s %13s %8s\n' model compile_s peak_MB \
  size_MB load_ms first_ms load+first_ms ort_ms
for model in "$@"; do
  name=$(basename "$model" .onnx)
  read -r input _ _ < <(write_input "$model" "$work/$name.x.npy")
  /usr/bin/time -f '%e %M' -o "$work/time" "$gc" "$model" \
    -o "$work/$name.kiln" >/dev/null
  read -r wall kb <"$work/time"
  size=$(stat -c %s "$work/$name.kiln")
  : >"$work/load"
  : >"$work/first"
  for _ in $(seq "$runs"); do
    line=$("$run" "$work/$name.kiln" --threads 1 --feed "$input=$work/$name.x.npy" |
      sed -n 's/^load: \(.*\) ms, first run: \(.*\) ms$/\1 \2/p')
    echo "${line% *}" >>"$work/load"
    echo "${line#* }" >>"$work/first"
  done
  load=$(median <"$work/load")
  first=$(median <"$work/first")
  ort=$(ORT_DIR="$ort_dir" node "$ort_bench" --threads 1 --iters 1 \
    --input "$work/$name.x.npy" "$model" |
    sed -n 's/.*create_first_run_ms=\([0-9.]*\).*/\1/p')
  /usr/bin/python3 -c "print('%-11s %9.2f %9.0f %9.1f %10.1f %10.1f %13.1f %8.1f' % \
    ('$name', $wall, $kb / 1024, $size / 2**20, $load, $first, $load + $first, $ort))"
done
