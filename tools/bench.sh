#!/usr/bin/env bash
# Times Kiln and ONNX Runtime on the same models, inputs and machine, in one
# run, and prints a table of medians and the ratio Kiln/ORT (below 1 means
# Kiln is faster). A developer's benchmark, not part of CI: it needs ONNX
# Runtime from npm, like tools/compare_with_ort.sh.
#
#   tools/bench.sh [--iters N] [--rounds R] [--threads N] \
#     ../shared/bench/models/*.onnx
#
# Both get --threads (default 1): ORT as intra-op threads, Kiln as the
# threads its kernels' grids are split over. Each model runs in R rounds
# (default 5), each round ORT's N runs (default 20) then Kiln's: the
# table gives each one's median over the rounds' medians and, as the
# ratio, the median of the rounds' ratios, each of two timings taken
# seconds apart, so that a slow minute on a shared machine slows both
# sides of a ratio rather than one; `spread` is the lowest and highest
# round's ratio. Inputs follow ../shared/bench's rule (element i is sin(0.001 i)).
# Beside the ratio: Kiln's GFLOP/s (the model's MatMul, Gemm and Conv
# multiply-adds per second) and its share of the FMA peak that
# tools/fma_peak.c measures on as many threads.
set -euo pipefail
cd "$(dirname "$0")/.."
iters=20
rounds=5
threads=1
while [ $# -gt 0 ]; do
  case "$1" in
    --iters) iters=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    *) break ;;
  esac
done
[ $# -gt 0 ] || { echo "usage: $0 [--iters N] [--rounds R] [--threads N] MODEL.onnx..." >&2; exit 2; }
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
printf '%-12s %14s %14s %10s %11s %12s %7s\n' model "kiln_ms(${threads}t)" \
  "ort_ms(${threads}t)" kiln/ort spread kiln_GFLOP/s of_peak
for model in "$@"; do
  name=$(basename "$model" .onnx)
  gflop=$("$kiln" "$model" --stats | sed -n 's/^multiply-adds: *\([0-9.e+-]*\) GFLOP.*/\1/p')
  read -r input _ _ < <(write_input "$model" "$work/$name.x.npy")
  # Kiln compiles once; each round runs the artifact.
  "$kiln" "$model" --feed "$input=$work/$name.x.npy" -o "$work/$name.kiln" \
    >/dev/null
  orts=() kilns=()
  for _ in $(seq "$rounds"); do
    orts+=("$(ORT_DIR="$ort_dir" node "$ort_bench" --threads "$threads" \
      --iters "$iters" --input "$work/$name.x.npy" "$model" |
      sed -n 's/.*median_ms=\([0-9.]*\).*/\1/p')")
    kilns+=("$("$kiln" "$work/$name.kiln" --run \
      --feed "$input=$work/$name.x.npy" --benchmark "$iters" \
      --threads "$threads" |
      sed -n 's/^benchmark: .*median \([0-9.e+-]*\) ms.*/\1/p')")
  done
  read -r kiln_ms ort ratio spread rate share < <(/usr/bin/python3 -c "
import statistics as s
k = [$(IFS=,; echo "${kilns[*]}")]
o = [$(IFS=,; echo "${orts[*]}")]
r = [a / b for a, b in zip(k, o)]
km = s.median(k)
rate = $gflop / km * 1e3
print(f'{km:.3f} {s.median(o):.3f} {s.median(r):.2f} {min(r):.2f}-{max(r):.2f}',
      f'{rate:.1f} {100 * rate / $peak:.0f}%')")
  printf '%-12s %14.3f %14.3f %10s %11s %12s %7s\n' "$name" "$kiln_ms" "$ort" \
    "$ratio" "$spread" "$rate" "$share"
done
