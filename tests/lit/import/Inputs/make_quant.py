"""Writes the model of quant.test (python3 make_quant.py DIR)."""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else "."


def const(name, values, dtype):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


nodes = [
    # Per-channel quantization of x [2, 3] along axis 1 to int8.
    helper.make_node("QuantizeLinear", ["x", "xs", "xz"], ["q"], name="q",
                     axis=1),
    helper.make_node("DequantizeLinear", ["q", "xs", "xz"], ["dq"],
                     name="dq", axis=1),
    # uint8 [2, 3] x [3, 2] requantized to uint8.
    helper.make_node("QLinearMatMul",
                     ["a", "as", "az", "b", "bs", "bz", "ys", "yz"], ["mm"],
                     name="mm"),
    # ConvInteger with one weight zero point per output channel.
    helper.make_node("ConvInteger", ["img", "w", "iz", "wz"], ["conv"],
                     name="conv", pads=[1, 1, 1, 1]),
]
inits = [
    const("xs", [0.5, 0.25, 1.0], np.float32),
    const("xz", [0, 1, -1], np.int8),
    const("as", 0.1, np.float32), const("az", 3, np.uint8),
    const("b", [[1, 2], [3, 4], [5, 6]], np.uint8),
    const("bs", 0.2, np.float32), const("bz", 1, np.uint8),
    const("ys", 0.05, np.float32), const("yz", 10, np.uint8),
    const("w", np.arange(2 * 1 * 3 * 3).reshape(2, 1, 3, 3) - 9, np.int8),
    const("iz", 2, np.uint8), const("wz", [1, -1], np.int8),
]
g = helper.make_graph(
    nodes, "quant",
    [helper.make_tensor_value_info("x", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("a", TensorProto.UINT8, [2, 3]),
     helper.make_tensor_value_info("img", TensorProto.UINT8, [1, 1, 4, 4])],
    [helper.make_tensor_value_info("q", TensorProto.INT8, [2, 3]),
     helper.make_tensor_value_info("dq", TensorProto.FLOAT, [2, 3]),
     helper.make_tensor_value_info("mm", TensorProto.UINT8, [2, 2]),
     helper.make_tensor_value_info("conv", TensorProto.INT32, [1, 2, 4, 4])],
    inits)
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
open(f"{out}/quant.onnx", "wb").write(m.SerializeToString())

# The feeds of quant.test, and the outputs it expects, computed here in
# float64 and int64 as ONNX defines the ops (np.round rounds half to even).
x = np.array([[1.3, -0.6, 2.5], [-100, 40, 0.49]], np.float32)
a = np.array([[0, 5, 10], [200, 3, 255]], np.uint8)
img = (np.arange(16, dtype=np.uint8) * 7).reshape(1, 1, 4, 4)
np.save(f"{out}/quant_x.npy", x)
np.save(f"{out}/quant_a.npy", a)
np.save(f"{out}/quant_img.npy", img)
xs, xz = np.array([0.5, 0.25, 1.0]), np.array([0, 1, -1])
q = np.clip(np.round(x.astype(np.float64) / xs) + xz, -128, 127)
print("q", q.astype(int).tolist())
print("dq", ((q - xz) * xs).tolist())
acc = (a.astype(np.int64) - 3) @ (np.array([[1, 2], [3, 4], [5, 6]]) - 1)
print("mm", np.clip(np.round(acc * (0.1 * 0.2 / 0.05)) + 10, 0, 255)
      .astype(int).tolist())
w = np.arange(18).reshape(2, 1, 3, 3) - 9 - np.array([1, -1]).reshape(2, 1, 1, 1)
padded = np.pad(img.astype(np.int64) - 2, ((0, 0), (0, 0), (1, 1), (1, 1)))
conv = np.zeros((1, 2, 4, 4), np.int64)
for m in range(2):
    for i in range(4):
        for j in range(4):
            conv[0, m, i, j] = (padded[0, 0, i:i + 3, j:j + 3] * w[m, 0]).sum()
print("conv", conv.tolist())
