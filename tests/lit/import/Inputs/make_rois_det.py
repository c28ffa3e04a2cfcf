"""Writes the models and feeds of rois-det.test (python3 make_rois_det.py
DIR): RoiAlign, MaxUnpool, Det, BatchNormalization in training mode
(rois_det.onnx, opset 16) and Scan-8 (scan8.onnx), and prints float64
references computed here, RoiAlign's by ONNX Runtime's algorithm."""
import math
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else "."
f32, i64 = TensorProto.FLOAT, TensorProto.INT64
V = helper.make_tensor_value_info

# Constant rois for the adaptive (sampling_ratio 0) RoiAlign.
crois = np.array([[0.5, 0.5, 5.5, 5.0], [2.0, 0.0, 5.5, 1.5]], np.float32)
bn = {"s": [1.0, 2.0, 0.5], "b": [0.0, 1.0, -1.0], "rm": [0.1, -0.2, 0.3],
      "rv": [1.0, 0.5, 2.0]}
inits = [numpy_helper.from_array(crois, "crois"),
         numpy_helper.from_array(np.array([1, 0], np.int64), "cbi")]
inits += [numpy_helper.from_array(np.array(v, np.float32), k)
          for k, v in bn.items()]
g = helper.make_graph(
    [helper.make_node("RoiAlign", ["X", "rois", "bi"], ["avg"], name="avg",
                      output_height=2, output_width=3, sampling_ratio=2,
                      spatial_scale=0.5),
     helper.make_node("RoiAlign", ["X", "crois", "cbi"], ["max"], name="max",
                      mode="max", output_height=2, output_width=2,
                      coordinate_transformation_mode="output_half_pixel"),
     helper.make_node("MaxPool", ["u"], ["pooled", "where"], name="pool",
                      kernel_shape=[2, 2], strides=[2, 2]),
     helper.make_node("MaxUnpool", ["pooled", "where"], ["unpooled"],
                      name="unpool", kernel_shape=[2, 2], strides=[2, 2]),
     helper.make_node("Det", ["m"], ["det"], name="det"),
     helper.make_node("BatchNormalization", ["t", "s", "b", "rm", "rv"],
                      ["bn", "bn_mean", "bn_var"], name="bn",
                      training_mode=1, momentum=0.8)],
    "rois_det",
    [V("X", f32, [2, 2, 6, 6]), V("rois", f32, [3, 4]), V("bi", i64, [3]),
     V("u", f32, [1, 2, 4, 4]), V("m", f32, [3, 3, 3]),
     V("t", f32, [2, 3, 2, 2])],
    [V("avg", f32, [3, 2, 2, 3]), V("max", f32, [2, 2, 2, 2]),
     V("unpooled", f32, [1, 2, 4, 4]), V("det", f32, [3]),
     V("bn", f32, [2, 3, 2, 2]), V("bn_mean", f32, [3]),
     V("bn_var", f32, [3])],
    inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 16)])
open(f"{out}/rois_det.onnx", "wb").write(m.SerializeToString())

# Scan-8: a running sum over the sequence axis (1) of [batch, seq, 2].
body = helper.make_graph(
    [helper.make_node("Add", ["acc", "x"], ["next"]),
     helper.make_node("Identity", ["next"], ["step"])],
    "body", [V("acc", f32, [2]), V("x", f32, [2])],
    [V("next", f32, [2]), V("step", f32, [2])])
g8 = helper.make_graph(
    [helper.make_node("Scan", ["", "init", "seq"], ["final", "steps"],
                      name="scan", num_scan_inputs=1, body=body,
                      directions=[1])],
    "scan8", [V("init", f32, [2, 2]), V("seq", f32, [2, 3, 2])],
    [V("final", f32, [2, 2]), V("steps", f32, [2, 3, 2])])
m8 = helper.make_model(g8, opset_imports=[helper.make_opsetid("", 8)])
open(f"{out}/scan8.onnx", "wb").write(m8.SerializeToString())

X = (np.sin(np.arange(144) * 0.37) * 3).astype(np.float32).reshape(2, 2, 6, 6)
rois = np.array([[0, 0, 8, 6], [3, 2, 11, 12], [-3, 1, 4, 13]], np.float32)
bi = np.array([1, 0, 1], np.int64)
u = np.array([[1, 5, 2, 0], [3, 4, 8, 8], [0, -1, -2, -3], [-4, 7, 6, 5]],
             np.float32)
u = np.stack([u, -u])[None]
mats = np.array([[[2, 1, 3], [4, 1, 5], [6, 7, 1]],
                 [[0, 2, 1], [1, 0, 3], [2, 1, 0]],
                 [[1, 2, 3], [2, 4, 6], [1, 0, 1]]], np.float32)
t = (np.cos(np.arange(24) * 0.9) * 2).astype(np.float32).reshape(2, 3, 2, 2)
init = np.array([[1, 2], [0, -1]], np.float32)
seq = np.arange(12, dtype=np.float32).reshape(2, 3, 2)
for name, v in [("ra_X", X), ("ra_rois", rois), ("ra_bi", bi), ("ra_u", u),
                ("ra_m", mats), ("ra_t", t), ("s8_init", init),
                ("s8_seq", seq)]:
    np.save(f"{out}/{name}.npy", v)
np.save(f"{out}/ra_badbi.npy", np.array([1, 2, 0], np.int64))
nan_rois = rois.copy()
nan_rois[1, 2] = np.inf
nan_rois[2, 0] = np.nan
np.save(f"{out}/ra_nanrois.npy", nan_rois)


def roi_align(X, rois, bi, oh, ow, ratio, scale, aligned, mode):
    """ONNX Runtime's RoiAlign, in float64."""
    X = X.astype(np.float64)
    n, c, h, w = X.shape
    Y = np.zeros((len(rois), c, oh, ow))
    off = 0.5 if aligned else 0.0
    for r, (x1, y1, x2, y2) in enumerate(rois.astype(np.float64)):
        sx, sy = x1 * scale - off, y1 * scale - off
        rw, rh = x2 * scale - off - sx, y2 * scale - off - sy
        if not aligned:
            rw, rh = max(rw, 1.0), max(rh, 1.0)
        bh, bw = rh / oh, rw / ow
        gh = ratio if ratio > 0 else math.ceil(rh / oh)
        gw = ratio if ratio > 0 else math.ceil(rw / ow)
        count = max(gh * gw, 1)
        for ph in range(oh):
            for pw in range(ow):
                vals = []
                for iy in range(gh):
                    y = sy + ph * bh + (iy + 0.5) * bh / gh
                    for ix in range(gw):
                        x = sx + pw * bw + (ix + 0.5) * bw / gw
                        if y < -1 or y > h or x < -1 or x > w:
                            vals.append(np.zeros(c))
                            continue
                        y, x = max(y, 0.0), max(x, 0.0)
                        yl, xl = int(y), int(x)
                        if yl >= h - 1:
                            yh = yl = h - 1
                            y = float(yl)
                        else:
                            yh = yl + 1
                        if xl >= w - 1:
                            xh = xl = w - 1
                            x = float(xl)
                        else:
                            xh = xl + 1
                        ly, lx = y - yl, x - xl
                        hy, hx = 1 - ly, 1 - lx
                        img = X[bi[r]]
                        taps = [hy * hx * img[:, yl, xl], hy * lx * img[:, yl, xh],
                                ly * hx * img[:, yh, xl], ly * lx * img[:, yh, xh]]
                        vals.append(np.max(taps, axis=0) if mode == "max"
                                    else np.sum(taps, axis=0))
                if mode == "max":
                    Y[r, :, ph, pw] = np.max(vals, axis=0)
                else:
                    Y[r, :, ph, pw] = np.sum(vals, axis=0) / count
    return Y


def show(name, v):
    print(name, np.round(np.asarray(v, np.float64), 5).ravel().tolist())


show("avg", roi_align(X, rois, bi, 2, 3, 2, 0.5, True, "avg"))
show("max", roi_align(X, crois, [1, 0], 2, 2, 0, 1.0, False, "max"))
un = np.zeros_like(u)
for ch in range(2):
    for i in range(0, 4, 2):
        for j in range(0, 4, 2):
            win = u[0, ch, i:i + 2, j:j + 2]
            a, b = np.unravel_index(np.argmax(win), (2, 2))
            un[0, ch, i + a, j + b] = win[a, b]
show("unpooled", un)
show("det", np.linalg.det(mats.astype(np.float64)))
td = t.astype(np.float64)
mean, var = td.mean(axis=(0, 2, 3)), td.var(axis=(0, 2, 3))
y = (td - mean[None, :, None, None]) / np.sqrt(var + 1e-5)[None, :, None, None]
show("bn", y * np.array(bn["s"])[None, :, None, None] +
     np.array(bn["b"])[None, :, None, None])
show("bn_mean", np.array(bn["rm"]) * 0.8 + mean * 0.2)
show("bn_var", np.array(bn["rv"]) * 0.8 + var * 0.2)
# Scan-8 with directions = [1]: each batch entry summed from the back.
steps = np.zeros((2, 3, 2))
for e in range(2):
    acc = init[e].astype(np.float64)
    for k, i in enumerate(reversed(range(3))):
        acc = acc + seq[e, i]
        steps[e, k] = acc
show("final", steps[:, -1])
show("steps", steps)
