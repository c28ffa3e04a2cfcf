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


def save_halving(name, m):
    """The halving Loop with trip count M: a constant (an int), fed (the
    string "fed") or none (None)."""
    inits = [nh.from_array(np.array(0, np.int64), "zero")]
    inputs = [vi("x", f32, [4]), vi("limit", f32, [])]
    if isinstance(m, int):
        inits.insert(0, nh.from_array(np.array(m, np.int64), "M"))
    elif m == "fed":
        inputs.append(vi("M", T.INT64, []))
    save(name,
         [h.make_node("ReduceSum", ["x"], ["s0"], keepdims=0),
          h.make_node("Greater", ["s0", "limit"], ["c0"]),
          h.make_node("Loop", ["" if m is None else "M", "c0", "x", "zero"],
                      ["y", "count"],
                      body=body, name="halve")],
         inputs, [vi("y", f32, [4]), vi("count", T.INT64, [])], inits)


save_halving("loop_until", 10)
# The same Loop without a trip count (it runs while its condition holds:
# an scf.while), with INT64_MAX, and with one fed at run time (part of the
# condition).
save_halving("loop_while", None)
save_halving("loop_int64max", 2**63 - 1)
save_halving("loop_fed_trips", "fed")

# Run-time checks inside control flow: a Loop of 4 iterations gathering
# x[i + offset] (offset fed), summed; an If whose then branch gathers
# x[at] (at fed).
check_body = h.make_graph(
    [h.make_node("Add", ["i", "offset"], ["k"]),
     h.make_node("Gather", ["x", "k"], ["picked"], name="pick_in_loop"),
     h.make_node("Add", ["acc_in", "picked"], ["acc_out"]),
     h.make_node("Identity", ["c_in"], ["c_out"])],
    "gather_loop", [vi("i", T.INT64, []), vi("c_in", T.BOOL, []),
                    vi("acc_in", f32, [])],
    [vi("c_out", T.BOOL, []), vi("acc_out", f32, [])])
then_pick = h.make_graph(
    [h.make_node("Gather", ["x", "at"], ["chosen"], name="pick_in_if")],
    "then", [], [vi("chosen", f32, [])])
else_zero = h.make_graph(
    [h.make_node("Constant", [], ["none"],
                 value=nh.from_array(np.array(0, np.float32)))],
    "else", [], [vi("none", f32, [])])
save("checked_control_flow",
     [h.make_node("Loop", ["four", "", "zero_f"], ["total"], body=check_body,
                  name="sum_loop"),
      h.make_node("If", ["c"], ["single"], then_branch=then_pick,
                  else_branch=else_zero, name="maybe")],
     [vi("x", f32, [6]), vi("offset", T.INT64, []), vi("at", T.INT64, []),
      vi("c", T.BOOL, [])],
     [vi("total", f32, []), vi("single", f32, [])],
     [nh.from_array(np.array(4, np.int64), "four"),
      nh.from_array(np.array(0, np.float32), "zero_f")])
x6 = np.arange(1, 7, dtype=np.float32) * 10
np.save(f"{out}/ck_x.npy", x6)
for v in (1, 3, -2, 7):
    np.save(f"{out}/ck_{v}.npy", np.array(v, np.int64))
print("checked: offset 1, at -2:", x6[1:5].sum(), x6[-2])

# Unsigned values through control flow: a uint8 vector halved while its
# largest element is above 10 (unsigned division and comparison: 200 is
# not -56), then an If adding or subtracting it (wrapping around).
u8 = T.UINT8
u8_body = h.make_graph(
    [h.make_node("Div", ["v_in", "two_u8"], ["v_out"]),
     h.make_node("ReduceMax", ["v_out"], ["top"], keepdims=0),
     h.make_node("Greater", ["top", "ten_u8"], ["c_out"])],
    "halve_u8", [vi("i", T.INT64, []), vi("c_in", T.BOOL, []),
                 vi("v_in", u8, [3])],
    [vi("c_out", T.BOOL, []), vi("v_out", u8, [3])],
    [nh.from_array(np.array(2, np.uint8), "two_u8"),
     nh.from_array(np.array(10, np.uint8), "ten_u8")])
save("u8_control_flow",
     [h.make_node("Loop", ["", "go", "v"], ["halved"], body=u8_body,
                  name="halve_u8"),
      h.make_node("If", ["c"], ["mixed"],
                  then_branch=h.make_graph(
                      [h.make_node("Add", ["v", "halved"], ["sum"])],
                      "add", [], [vi("sum", u8, [3])]),
                  else_branch=h.make_graph(
                      [h.make_node("Sub", ["halved", "v"], ["diff"])],
                      "sub", [], [vi("diff", u8, [3])]))],
     [vi("v", u8, [3]), vi("c", T.BOOL, [])],
     [vi("halved", u8, [3]), vi("mixed", u8, [3])],
     [nh.from_array(np.array(True), "go")])
v8 = np.array([200, 90, 255], np.uint8)
np.save(f"{out}/u8_v.npy", v8)
w = v8.copy()
while True:
    w = w // 2
    if w.max() <= 10:
        break
print("u8: halved", w.tolist(), "true", (v8 + w).tolist(), "false",
      (w - v8).tolist())

# A Loop ended by its condition only (tab[i] > 0) whose index runs past
# the end when every entry is positive: the run must fail, not hang.
run_off_body = h.make_graph(
    [h.make_node("Gather", ["tab", "i"], ["g"], name="run_off"),
     h.make_node("Greater", ["g", "zero_f"], ["c_out"]),
     h.make_node("Add", ["acc_in", "g"], ["acc_out"])],
    "run_off", [vi("i", T.INT64, []), vi("c_in", T.BOOL, []),
                vi("acc_in", f32, [])],
    [vi("c_out", T.BOOL, []), vi("acc_out", f32, [])])
save("loop_run_off",
     [h.make_node("Loop", ["", "go_on", "zero_f"], ["total"],
                  body=run_off_body, name="walk")],
     [vi("tab", f32, [3])], [vi("total", f32, [])],
     [nh.from_array(np.array(True), "go_on"),
      nh.from_array(np.array(0, np.float32), "zero_f")])
np.save(f"{out}/ro_pos.npy", np.array([1, 2, 3], np.float32))
np.save(f"{out}/ro_stop.npy", np.array([1, 2, -3], np.float32))

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

# A Loop sliding a window of 2 columns along x: x[:, i : i + 2], the
# start computed from the iteration number (a Gather at run time).
win_body = h.make_graph(
    [h.make_node("Unsqueeze", ["i", "zero_axis"], ["start"]),
     h.make_node("Add", ["start", "two"], ["end"]),
     h.make_node("Slice", ["x", "start", "end", "one_axis"], ["window"]),
     h.make_node("Add", ["acc_in", "window"], ["acc_out"]),
     h.make_node("Identity", ["c_in"], ["c_out"]),
     h.make_node("Identity", ["window"], ["each"])],
    "slide", [vi("i", T.INT64, []), vi("c_in", T.BOOL, []),
              vi("acc_in", f32, [2, 2])],
    [vi("c_out", T.BOOL, []), vi("acc_out", f32, [2, 2]),
     vi("each", f32, [2, 2])],
    [nh.from_array(np.array([0], np.int64), "zero_axis"),
     nh.from_array(np.array([2], np.int64), "two"),
     nh.from_array(np.array([1], np.int64), "one_axis")])
save("loop_windows",
     [h.make_node("Loop", ["M", "", "acc0"], ["acc", "windows"],
                  body=win_body, name="slide")],
     [vi("x", f32, [2, 5])],
     [vi("acc", f32, [2, 2]), vi("windows", f32, [4, 2, 2])],
     [nh.from_array(np.array(4, np.int64), "M"),
      nh.from_array(np.zeros((2, 2), np.float32), "acc0")])
xw = np.arange(10, dtype=np.float32).reshape(2, 5)
np.save(f"{out}/cf_xw.npy", xw)
wins = [xw[:, i:i + 2] for i in range(4)]
print("acc", sum(wins).tolist(), "windows", np.array(wins).tolist())

# The same window at the top level, its start fed: x[s : s + 2] on 5
# values. A negative start counts from the back when the whole window lies
# before the end (s = -3); one that would make ONNX's slice shorter (s = -1:
# x[-1:1] is empty; s = 4: x[4:6] has one value) fails the run.
save("slice_fed_start",
     [h.make_node("Add", ["s", "two"], ["e"]),
      h.make_node("Slice", ["x", "s", "e", "zero_axis"], ["y"],
                  name="fed_slice")],
     [vi("x", f32, [5]), vi("s", T.INT64, [1])], [vi("y", f32, [2])],
     [nh.from_array(np.array([2], np.int64), "two"),
      nh.from_array(np.array([0], np.int64), "zero_axis")])
np.save(f"{out}/sl_x.npy", np.array([1, 2, 4, 8, 16], np.float32))
for s in (3, -3, -1, 4):
    np.save(f"{out}/sl_{s}.npy", np.array([s], np.int64))

# A Loop body's value named like the outer graph's output ('y'): the body
# is its own scope, so the output's declaration does not apply to it. Two
# iterations of v + sum(v) from [1, 2, 3].
shadow_body = h.make_graph(
    [h.make_node("ReduceSum", ["v"], ["y"], keepdims=0, name="inner_sum"),
     h.make_node("Add", ["v", "y"], ["v2"]),
     h.make_node("Identity", ["cin"], ["cout"])],
    "b", [vi("i", T.INT64, []), vi("cin", T.BOOL, []), vi("v", f32, [3])],
    [vi("cout", T.BOOL, []), vi("v2", f32, [3])])
save("loop_shadowing_output",
     [h.make_node("Loop", ["M", "", "x"], ["y"], body=shadow_body,
                  name="loop")],
     [vi("x", f32, [3])], [vi("y", f32, [3])],
     [nh.from_array(np.array(2, np.int64), "M")])
np.save(f"{out}/shadow_x.npy", np.array([1, 2, 3], np.float32))

# An output declared [a, 4] (a symbolic) of a Relu of x: [a, 3].
save("output_declared_a4", [h.make_node("Relu", ["x"], ["y"], name="r")],
     [vi("x", f32, ["a", 3])], [vi("y", f32, ["a", 4])])
np.save(f"{out}/x23.npy", np.arange(6, dtype=np.float32).reshape(2, 3))

# Nesting under a run-time If: an If of two outputs; a Loop in a branch;
# a Scan in a branch (each one kernel, the inner loop inside the if).
B = T.BOOL
then2 = h.make_graph([h.make_node("Neg", ["xn"], ["t"]),
                      h.make_node("Abs", ["xn"], ["t2"])], "then", [],
                     [vi("t", f32, [2, 3]), vi("t2", f32, [2, 3])])
else2 = h.make_graph([h.make_node("Abs", ["xn"], ["e"]),
                      h.make_node("Neg", ["xn"], ["e2"])], "else", [],
                     [vi("e", f32, [2, 3]), vi("e2", f32, [2, 3])])
add_body = h.make_graph(
    [h.make_node("Add", ["v", "xn"], ["v2"]),
     h.make_node("Identity", ["lc"], ["lc2"])], "add",
    [vi("li", T.INT64, []), vi("lc", B, []), vi("v", f32, [2, 3])],
    [vi("lc2", B, []), vi("v2", f32, [2, 3])])
loop_then = h.make_graph(
    [h.make_node("Loop", ["M4", "", "xn"], ["l"], body=add_body)], "loop_then",
    [], [vi("l", f32, [2, 3])])
neg_else = h.make_graph([h.make_node("Neg", ["xn"], ["n"])], "neg_else", [],
                        [vi("n", f32, [2, 3])])
sum_body = h.make_graph([h.make_node("Add", ["s", "r"], ["s2"])], "sum",
                        [vi("s", f32, [3]), vi("r", f32, [3])],
                        [vi("s2", f32, [3])])
scan_then = h.make_graph(
    [h.make_node("Scan", ["v0", "xn"], ["st"], body=sum_body,
                 num_scan_inputs=1)], "scan_then", [], [vi("st", f32, [3])])
neg_v = h.make_graph([h.make_node("Neg", ["v0"], ["nv"])], "neg_v", [],
                     [vi("nv", f32, [3])])
save("nested",
     [h.make_node("If", ["c"], ["y0", "y1"], then_branch=then2,
                  else_branch=else2, name="two"),
      h.make_node("If", ["c"], ["y2"], then_branch=loop_then,
                  else_branch=neg_else, name="with_loop"),
      h.make_node("If", ["c"], ["y3"], then_branch=scan_then,
                  else_branch=neg_v, name="with_scan")],
     [vi("c", B, []), vi("xn", f32, [2, 3]), vi("v0", f32, [3])],
     [vi("y0", f32, [2, 3]), vi("y1", f32, [2, 3]), vi("y2", f32, [2, 3]),
      vi("y3", f32, [3])],
     [nh.from_array(np.array(4, np.int64), "M4")])
xn = np.arange(6, dtype=np.float32).reshape(2, 3) - 2
np.save(f"{out}/cf_xn.npy", xn)
np.save(f"{out}/cf_v0.npy", np.ones(3, np.float32))
np.save(f"{out}/cf_true.npy", np.array(True))
np.save(f"{out}/cf_false.npy", np.array(False))
print("true: y0", (-xn).tolist(), "y1", abs(xn).tolist(), "y2",
      (5 * xn).tolist(), "y3", (1 + xn.sum(0)).tolist())
print("false: y0", abs(xn).tolist(), "y1", (-xn).tolist(), "y2",
      (-xn).tolist(), "y3", [-1.0, -1.0, -1.0])

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
for m in (2, 5, -1):
    np.save(f"{out}/cf_m{m}.npy", np.array(m, np.int64))
# Without a trip count, halved (in float32) until the sum is at most the
# limit: with limit 0, until every element underflows to 0.
for name, limit, trips in (("3", 3.0, None), ("0", 0.0, None),
                           ("3, M 2", 3.0, 2), ("3, M 5", 3.0, 5),
                           ("3, M -1", 3.0, -1)):
    y, n = x.copy(), 0
    while (trips is None or n < trips) and y.sum(dtype=np.float32) > limit:
        y, n = y * np.float32(0.5), n + 1
    print(f"while, limit {name}: y", y.tolist(), "count", n)

rows = np.arange(15, dtype=np.float32).reshape(5, 3)
init = np.array([100, 200, 300], np.float32)
np.save(f"{out}/cf_rows.npy", rows)
np.save(f"{out}/cf_init.npy", init)
acc, sums = init.astype(np.float64), []
for r in rows[::-1]:
    acc = acc + r
    sums.append(acc.copy())
print("total", acc.tolist(), "sums", np.array(sums[::-1]).T.tolist())
