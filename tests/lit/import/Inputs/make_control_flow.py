"""Writes the models and feeds of control-flow.test (python3
make_control_flow.py DIR) and prints the outputs it expects, computed
here with numpy."""
import sys

import numpy as np
from onnx import TensorProto as T, helper as h, numpy_helper as nh

out = sys.argv[1] if len(sys.argv) > 1 else "."
f32 = T.FLOAT


def save(name, nodes, inputs, outputs, inits=()):
    g = h.make_graph(nodes, name, inputs, outputs, list(inits))
    m = h.make_model(g, opset_imports=[h.make_opsetid("", 13)])
    open(f"{out}/{name}.onnx", "wb").write(m.SerializeToString())


def vi(name, t, shape):
    return h.make_tensor_value_info(name, t, shape)


# A Loop of at most 10 iterations that halves x until its sum drops below
# `limit` (a condition computed at run time), counting the iterations.
body = h.make_graph(
    [h.make_node("Mul", ["x_in", "half"], ["x_out"]),
     h.make_node("Add", ["n_in", "one"], ["n_out"]),
     h.make_node("ReduceSum", ["x_out"], ["s"], keepdims=0),
     h.make_node("Greater", ["s", "limit"], ["c_out"])],
    "halve", [vi("i", T.INT64, []), vi("c_in", T.BOOL, []),
              vi("x_in", f32, [4]), vi("n_in", T.INT64, [])],
    [vi("c_out", T.BOOL, []), vi("x_out", f32, [4]), vi("n_out", T.INT64, [])],
    [nh.from_array(np.array(0.5, np.float32), "half"),
     nh.from_array(np.array(1, np.int64), "one")])
save("loop_until",
     [h.make_node("ReduceSum", ["x"], ["s0"], keepdims=0),
      h.make_node("Greater", ["s0", "limit"], ["c0"]),
      h.make_node("Loop", ["M", "c0", "x", "zero"], ["y", "count"],
                  body=body, name="halve")],
     [vi("x", f32, [4]), vi("limit", f32, [])],
     [vi("y", f32, [4]), vi("count", T.INT64, [])],
     [nh.from_array(np.array(10, np.int64), "M"),
      nh.from_array(np.array(0, np.int64), "zero")])

# A Scan over the rows of x, backwards, carrying a running sum and
# stacking it along axis 1, reversed back.
scan_body = h.make_graph(
    [h.make_node("Add", ["acc_in", "row"], ["acc_out"]),
     h.make_node("Identity", ["acc_out"], ["each"])],
    "cumsum", [vi("acc_in", f32, [3]), vi("row", f32, [3])],
    [vi("acc_out", f32, [3]), vi("each", f32, [3])])
save("scan_back",
     [h.make_node("Scan", ["init", "x"], ["total", "sums"], body=scan_body,
                  num_scan_inputs=1, scan_input_directions=[1],
                  scan_output_directions=[1], scan_output_axes=[1],
                  name="scan")],
     [vi("init", f32, [3]), vi("x", f32, [5, 3])],
     [vi("total", f32, [3]), vi("sums", f32, [3, 5])])

x = np.array([8, 4, 2, 6], np.float32)
np.save(f"{out}/cf_x.npy", x)
np.save(f"{out}/cf_limit3.npy", np.array(3, np.float32))
np.save(f"{out}/cf_limit100.npy", np.array(100, np.float32))
np.save(f"{out}/cf_limit0.npy", np.array(0, np.float32))
for name, limit in (("3", 3.0), ("100", 100.0), ("0", 0.0)):
    y, n = x.astype(np.float64), 0
    while n < 10 and y.sum() > limit:
        y, n = y * 0.5, n + 1
    print(f"limit {name}: y", y.tolist(), "count", n)

rows = np.arange(15, dtype=np.float32).reshape(5, 3)
init = np.array([100, 200, 300], np.float32)
np.save(f"{out}/cf_rows.npy", rows)
np.save(f"{out}/cf_init.npy", init)
acc, sums = init.astype(np.float64), []
for r in rows[::-1]:
    acc = acc + r
    sums.append(acc.copy())
print("total", acc.tolist(), "sums", np.array(sums[::-1]).T.tolist())
