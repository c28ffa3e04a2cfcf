"""Writes the model and feed of bf16.test (python3 make_bf16.py DIR)."""
import sys

import numpy as np
from onnx import TensorProto, helper

out = sys.argv[1] if len(sys.argv) > 1 else "."
g = helper.make_graph(
    [helper.make_node("Cast", ["x"], ["b"], name="to_bf16",
                      to=TensorProto.BFLOAT16),
     helper.make_node("Cast", ["b"], ["y"], name="back", to=TensorProto.FLOAT)],
    "bf16", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [8])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [8])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
open(f"{out}/bf16.onnx", "wb").write(m.SerializeToString())

# Ties (1 + 2^-8 lies halfway between 1 and 1 + 2^-7; 1 + 3 * 2^-8 between
# 1 + 2^-7 and 1 + 2^-6), values just off a tie, the largest float (which
# rounds up to infinity), a negative and NaN.
x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, 0.816406,
              0.8203125 - 2**-12, np.finfo(np.float32).max, -2.5, np.nan],
             np.float32)
np.save(f"{out}/bf16_x.npy", x)
# Round to nearest even on the bits, as ONNX 1.13+ defines it.
bits = x.view(np.uint32).astype(np.uint64)
rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
y = np.where(np.isnan(x), np.nan,
             rounded.astype(np.uint32).view(np.float32))
print("y", [float(v) for v in y])
