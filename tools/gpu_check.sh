#!/usr/bin/env bash
# Runs a bundle that tools/gpu_bundle.sh made, on the machine with the GPU,
# and prints one table: the conformance cases (each run by kiln-run and its
# fetches compared with the expected ones within the ONNX tolerance) and
# the benchmark models (median and fastest of --iters runs, host wall-clock
# of a synchronous run with inputs and outputs copied to and from the host).
#
#   BUNDLE/gpu_check.sh [--iters N] [BUNDLE]
#
# Needs bash and coreutils only; the bundle's lib/ holds the libraries
# kiln-run needs beyond those of the GPU machine.
set -uo pipefail
iters=50
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) iters=$2; shift 2 ;;
    *) break ;;
  esac
done
bundle=${1:-$(dirname "$0")}
run="$bundle/bin/kiln-run"
export LD_LIBRARY_PATH="$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
if command -v nvidia-smi >/dev/null; then
  nvidia-smi --query-gpu=name,driver_version --format=csv,noheader
fi
passed=0 failed=0 timed=0
failures=()
for case in "$bundle"/cases/*/; do
  [ -f "$case/case.txt" ] || continue
  artifact=$(ls "$case"/*.kiln 2>/dev/null | head -1)
  args=()
  while IFS=$'\t' read -r kind name file; do
    args+=("--$kind" "$name=$case/$file")
  done < "$case/case.txt"
  if message=$("$run" "$artifact" --threads 1 "${args[@]}" 2>&1 >/dev/null); then
    passed=$((passed + 1))
  else
    failed=$((failed + 1))
    failures+=("$(basename "$case"): $(echo "$message" | tail -1)")
  fi
done
for f in ${failures[@]+"${failures[@]}"}; do echo "FAIL $f"; done
echo "conformance: $passed passed, $failed failed"
# "median fastest" of a model's runs, or "failed failed".
time_model() {
  local line
  [ -e "$bundle/bench/$1.kiln" ] || { echo "- -"; return; }
  line=$("$run" "$bundle/bench/$1.kiln" --threads 1 \
    --feed "$2=$bundle/bench/$3" --benchmark "$iters" 2>&1 |
    sed -n 's/^benchmark: .*median \([0-9.e+-]*\) ms, fastest \([0-9.e+-]*\) ms.*/\1 \2/p')
  echo "${line:-failed failed}"
}
if [ -s "$bundle/bench/bench.txt" ]; then
  # With the plan replayed as one CUDA graph (the default), launched
  # kernel by kernel (KILN_CUDA_GRAPHS=0), and compiled with every matmul
  # a generated kernel (--no-gpu-libraries: no cuBLASLt).
  printf '%-12s %12s %12s %16s %16s\n' model median_ms fastest_ms \
    no_graph_median no_cublas_median
  while IFS=$'\t' read -r name input file; do
    read -r median fastest < <(time_model "$name" "$input" "$file")
    read -r plain _ < <(KILN_CUDA_GRAPHS=0 time_model "$name" "$input" "$file")
    read -r nolib _ < <(time_model "$name.nolib" "$input" "$file")
    printf '%-12s %12s %12s %16s %16s\n' "$name" "$median" "$fastest" \
      "$plain" "$nolib"
    [ "$median" = failed ] && failed=$((failed + 1))
    timed=$((timed + 1))
  done < "$bundle/bench/bench.txt"
fi
# The peers (PyTorch eager and CUDA graph, JAX jit) on the same device,
# where python3 and they are installed.
if [ -f "$bundle/gpu_peers.py" ] && command -v python3 >/dev/null; then
  python3 "$bundle/gpu_peers.py" --iters "$iters" || echo "gpu_peers.py failed"
fi
if [ "$passed" -eq 0 ] && [ "$failed" -eq 0 ] && [ "$timed" -eq 0 ]; then
  echo "error: $bundle has no conformance case and no benchmark model" >&2
  exit 1
fi
[ "$failed" -eq 0 ]
