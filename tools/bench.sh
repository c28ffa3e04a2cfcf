#!/usr/bin/env bash
# Times Kiln and ONNX Runtime on the same models, inputs and machine, in one
# run, and prints a table of medians and the ratio Kiln/ORT (below 1 means
# Kiln is faster). A developer's benchmark, not part of CI: it needs ONNX
# Runtime from npm, like tools/compare_with_ort.sh.
#
#   tools/bench.sh [--iters N] [--threads N] ../shared/bench/models/*.onnx
#
# Both get --threads (default 1): ORT as intra-op threads, Kiln as the
# threads its kernels' grids are split over. Inputs follow ../shared/bench's rule (element i is sin(0.001 i)).
# Beside the ratio: Kiln's GFLOP/s (the model's MatMul, Gemm and Conv
# multiply-adds per second) and its share of the FMA peak that
# tools/fma_peak.c measures on as many threads.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=20
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) iters=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--iters N] [--threads N] MODEL.onnx..." >&2; exit 2; }
# The kernels are JIT-compiled by LLVM at -O3 for the host whatever the
# Bazel mode, so the usual build serves.
source tools/ort_common.sh
kiln=bazel-bin/tools/graph-compile
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
# The FMA peak on as many threads, for each model's share of it.
cc -O3 -march=native -pthread tools/fma_peak.c -o "$work/fma_peak"
peak=0 # The best of three: a busy machine only ever makes it lower.
for _ in 1 2 3; do
  peak=$(/usr/bin/python3 -c "print(max($peak, $("$work/fma_peak" "$threads")))")
done
echo "FMA peak on $threads thread(s): $peak GFLOP/s (tools/fma_peak.c)"
printf '%-12s %14s %14s %10s %12s %7s\n' model "kiln_ms(${threads}t)" \
  "ort_ms(${threads}t)" kiln/ort kiln_GFLOP/s of_peak
for model in "$@"; do
  name=$(basename "$model" .onnx)
  # MatMul, Gemm and Conv multiply-adds, as graph-compile --stats counts them.
  gflop=$("$kiln" "$model" --stats | sed -n 's/^multiply-adds: *\([0-9.e+-]*\) GFLOP.*/\1/p')
  read -r input _ _ < <(write_input "$model" "$work/$name.x.npy")
  ort=$(ORT_DIR="$ort_dir" node "$ort_bench" --threads "$threads" --iters "$iters" \
    --input "$work/$name.x.npy" "$model" | sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')
  kiln_ms=$("$kiln" "$model" --feed "$input=$work/$name.x.npy" \
    --benchmark "$iters" --threads "$threads" | sed -n 's/^benchmark: .*median \([0-9.e+-]*\) ms.*/\1/p')
  read -r ratio rate share < <(/usr/bin/python3 -c "
rate = $gflop / $kiln_ms * 1e3
print(f'{$kiln_ms / $ort:.2f} {rate:.1f} {100 * rate / $peak:.0f}%')")
  printf '%-12s %14.3f %14.3f %10s %12s %7s\n' "$name" "$kiln_ms" "$ort" \
    "$ratio" "$rate" "$share"
done
