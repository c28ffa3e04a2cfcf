#!/usr/bin/env bash
# Prepares what tools/gpu_check.sh runs on an NVIDIA GPU machine, which has
# no LLVM, MLIR or abseil and may have no network: compiled here (no GPU
# needed), run there with the runtime alone.
#
#   tools/gpu_bundle.sh [--target=cuda] [--gpu-arch=sm_90] [--no-cases]
#                       [--bench MODEL.onnx]... OUT
#
# OUT gets bin/kiln-run and lib/ (the shared libraries it needs that those
# machines lack), cases/<suite>_<test>/ (artifact, feeds, expected outputs
# and case.txt) for Debian's ONNX backend test data and, where it exists,
# ../shared/conformance/onnx-node, bench/<model>.kiln (and <model>.nolib.kiln,
# compiled with --no-gpu-libraries) with its input and
# bench.txt, and gpu_check.sh; OUT.tar.gz holds it all, to carry.
# --target=cuda-on-cpu makes a bundle that runs on this machine, which
# checks the bundle itself.
set -euo pipefail
# Paths are the caller's; the script runs from the repository's root.
absolute() { case "$1" in /*) echo "$1" ;; *) echo "$PWD/$1" ;; esac; }
target=cuda
arch=sm_90
cases=1
bench=()
while [ $# -gt 1 ]; do
  case "$1" in
    --target=*) target=${1#--target=}; shift ;;
    --gpu-arch=*) arch=${1#--gpu-arch=}; shift ;;
    --no-cases) cases=0; shift ;;
    --bench) bench+=("$(absolute "$2")"); shift 2 ;;
    *) echo "unknown option $1" >&2; exit 2 ;;
  esac
done
[ $# -eq 1 ] || { echo "usage: $0 [--target=T] [--gpu-arch=A] [--no-cases] [--bench MODEL.onnx]... OUT" >&2; exit 2; }
out=$(absolute "$1")
cd "$(dirname "$0")/.."
arch_flag=()
[ "$target" = cuda ] && arch_flag=(--gpu-arch="$arch")
bazel build --noshow_progress --ui_event_filters=-info //tools:graph-compile //tools:kiln-run
mkdir -p "$out/bin" "$out/lib" "$out/bench"
cp -f bazel-bin/tools/kiln-run "$out/bin/"
# abseil is not on the GPU machines; glibc and libstdc++ are (newer).
ldd bazel-bin/tools/kiln-run | awk '/libabsl/ {print $3}' | xargs -r cp -f -t "$out/lib/"
cp -f tools/gpu_check.sh tools/gpu_peers.py "$out/"
if [ "$cases" = 1 ]; then
  data=/usr/share/libonnx-testdata/data
  suites=("$data/node" "$data/pytorch-converted" "$data/pytorch-operator" "$data/simple")
  skips=(--expected-skips tests/conformance/expected_skips.txt)
  # A test that fails here is not saved; the counts say how many.
  bazel-bin/tools/graph-compile --check-onnx-test -O3 --target="$target" \
    "${arch_flag[@]}" --save-cases="$out/cases" "${suites[@]}" "${skips[@]}" |
    grep -E '^FAIL|passed' || true
  node=../shared/conformance/onnx-node
  if [ -d "$node" ]; then
    bazel-bin/tools/graph-compile --check-onnx-test -O3 --target="$target" \
      "${arch_flag[@]}" --save-cases="$out/cases" "$node" \
      --expected-skips tests/conformance/expected_skips_onnx_node.txt |
      grep -E '^FAIL|passed' || true
  fi
fi
rm -f "$out/bench/"*.kiln "$out/bench/"*.npy
: > "$out/bench/bench.txt"
for model in ${bench[@]+"${bench[@]}"}; do
  name=$(basename "$model" .onnx)
  # Two models of one file name (a/model.onnx, b/model.onnx) stay apart.
  n=1
  base=$name
  while [ -e "$out/bench/$name.kiln" ]; do
    n=$((n + 1))
    name=${base}_$n
  done
  # Element i of the input is sin(0.001 i), as ../shared/bench's rule says.
  read -r input _ < <(/usr/bin/python3 - "$model" "$out/bench/$name.x.npy" <<'PY'
import sys, numpy as np, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
inits = {t.name for t in m.graph.initializer}
x = [i for i in m.graph.input if i.name not in inits][0]
shape = [d.dim_value or 1 for d in x.type.tensor_type.shape.dim]
np.save(sys.argv[2], np.sin(0.001 * np.arange(int(np.prod(shape)))).astype(np.float32).reshape(shape))
print(x.name, "x".join(map(str, shape)))
PY
)
  bazel-bin/tools/graph-compile "$model" --target="$target" "${arch_flag[@]}" \
    -o "$out/bench/$name.kiln" >/dev/null
  # The same with every matmul a generated kernel (no cuBLASLt), beside.
  bazel-bin/tools/graph-compile "$model" --target="$target" "${arch_flag[@]}" \
    --no-gpu-libraries -o "$out/bench/$name.nolib.kiln" >/dev/null
  printf '%s\t%s\t%s\n' "$name" "$input" "$name.x.npy" >> "$out/bench/bench.txt"
done
# One compressed file to carry (the cases are small files; the device's
# carry limit is on bytes): tar xzf it there and run gpu_check.sh inside.
tar czf "$out.tar.gz" -C "$(dirname "$out")" "$(basename "$out")"
du -sh --apparent-size "$out" "$out.tar.gz"
