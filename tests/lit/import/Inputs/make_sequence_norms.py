"""Writes the model and feeds of sequence-norms.test (python3
make_sequence_norms.py DIR): LRN, MeanVarianceNormalization, Celu and
ReverseSequence, each built from other kiln ops."""
import sys

import numpy as np
from onnx import TensorProto, helper

out = sys.argv[1] if len(sys.argv) > 1 else "."
f32 = TensorProto.FLOAT
g = helper.make_graph(
    [helper.make_node("LRN", ["x"], ["lrn"], name="lrn", size=3, alpha=0.3,
                      beta=0.5, bias=2.0),
     helper.make_node("MeanVarianceNormalization", ["x"], ["mvn"],
                      name="mvn"),
     helper.make_node("Celu", ["x"], ["celu"], name="celu", alpha=2.0),
     helper.make_node("ReverseSequence", ["seq", "lens"], ["rev"],
                      name="rev", time_axis=0, batch_axis=1)],
    "sequence_norms",
    [helper.make_tensor_value_info("x", f32, [1, 2, 2, 2]),
     helper.make_tensor_value_info("seq", f32, [4, 2]),
     helper.make_tensor_value_info("lens", TensorProto.INT64, [2])],
    [helper.make_tensor_value_info("lrn", f32, [1, 2, 2, 2]),
     helper.make_tensor_value_info("mvn", f32, [1, 2, 2, 2]),
     helper.make_tensor_value_info("celu", f32, [1, 2, 2, 2]),
     helper.make_tensor_value_info("rev", f32, [4, 2])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
open(f"{out}/sequence_norms.onnx", "wb").write(m.SerializeToString())

x = np.array([1, -2, 3, 0.5, -1, 4, 2, -3], np.float32).reshape(1, 2, 2, 2)
seq = np.arange(8, dtype=np.float32).reshape(4, 2)
np.save(f"{out}/sn_x.npy", x)
np.save(f"{out}/sn_seq.npy", seq)
np.save(f"{out}/sn_lens.npy", np.array([3, 1], np.int64))
np.save(f"{out}/sn_badlens.npy", np.array([3, 5], np.int64))

# References in float64, from the ONNX definitions.
xd = x.astype(np.float64)
sq = np.pad(xd * xd, ((0, 0), (1, 1), (0, 0), (0, 0)))
s = sq[:, 0:2] + sq[:, 1:3] + sq[:, 2:4]
print("lrn", np.round(xd / (2.0 + 0.3 / 3 * s) ** 0.5, 5).ravel().tolist())
mean = xd.mean(axis=(0, 2, 3), keepdims=True)
std = np.sqrt((xd * xd).mean(axis=(0, 2, 3), keepdims=True) - mean**2)
print("mvn", np.round((xd - mean) / (std + 1e-9), 5).ravel().tolist())
print("celu", np.round(np.maximum(0, xd) +
                       np.minimum(0, 2.0 * (np.exp(xd / 2.0) - 1)), 5)
      .ravel().tolist())
rev = seq.copy()
for b, n in enumerate([3, 1]):
    rev[:n, b] = seq[:n, b][::-1]
print("rev", rev.tolist())
