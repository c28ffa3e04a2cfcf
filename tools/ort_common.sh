# Shared by tools/compare_with_ort.sh and tools/bench.sh (sourced, from the
# repository root): ONNX Runtime from npm, Debian's numpy and onnx, and
# graph-compile built. Sets $ort_bench (the runner, ../shared/bench/
# ort_bench.js or $ORT_BENCH) and $ort_dir, and defines write_input.
ort_bench=${ORT_BENCH:-../shared/bench/ort_bench.js}
if [ ! -f "$ort_bench" ]; then
  echo "error: ONNX Runtime's runner $ort_bench is not there: it comes with" \
    "../shared/bench beside the repository; elsewhere set ORT_BENCH to a" \
    "copy of ort_bench.js" >&2
  exit 2
fi
ort_dir=${ORT_DIR:-/tmp/ort/node_modules/onnxruntime-node}
if [ ! -d "$ort_dir" ]; then
  npm install --prefix /tmp/ort --ignore-scripts onnxruntime-node@1.30.0 >/dev/null
fi
tools/install_deps.sh python3-numpy python3-onnx
bazel build --noshow_progress --ui_event_filters=-info //tools:graph-compile

# write_input MODEL FILE.npy: writes the model's first (non-initializer)
# input following ../shared/bench's rule, element i = sin(0.001 * i), and
# prints "INPUT_NAME FIRST_OUTPUT_NAME SHAPE".
write_input() {
  /usr/bin/python3 - "$1" "$2" <<'PY'
import sys, numpy as np, onnx
m = onnx.load(sys.argv[1], load_external_data=False)
inits = {t.name for t in m.graph.initializer}
x = [i for i in m.graph.input if i.name not in inits][0]
shape = [d.dim_value or 1 for d in x.type.tensor_type.shape.dim]
n = int(np.prod(shape))
np.save(sys.argv[2], np.sin(0.001 * np.arange(n)).astype(np.float32).reshape(shape))
print(x.name, m.graph.output[0].name, "x".join(map(str, shape)))
PY
}
