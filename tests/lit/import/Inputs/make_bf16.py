"""Writes the model and feed of bf16.test (python3 make_bf16.py DIR)."""
import sys

import numpy as np
from onnx import TensorProto, helper

out = sys.argv[1] if len(sys.argv) > 1 else "."
g = helper.make_graph(
    [helper.make_node("Cast", ["x"], ["b"], name="to_bf16",
                      to=TensorProto.BFLOAT16),
     helper.make_node("Cast", ["b"], ["y"], name="back", to=TensorProto.FLOAT)],
    "bf16", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [10])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [10])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
open(f"{out}/bf16.onnx", "wb").write(m.SerializeToString())
# The same from float64, which must round once (not to float32, then to
# bfloat16).
g = helper.make_graph(
    [helper.make_node("Cast", ["x"], ["b"], name="to_bf16",
                      to=TensorProto.BFLOAT16),
     helper.make_node("Cast", ["b"], ["y"], name="back", to=TensorProto.FLOAT)],
    "bf16_f64", [helper.make_tensor_value_info("x", TensorProto.DOUBLE, [6])],
    [helper.make_tensor_value_info("y", TensorProto.FLOAT, [6])])
m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
open(f"{out}/bf16_f64.onnx", "wb").write(m.SerializeToString())

# Ties (1 + 2^-8 lies halfway between 1 and 1 + 2^-7; 1 + 3 * 2^-8 between
# 1 + 2^-7 and 1 + 2^-6), values just off a tie, the largest float (which
# rounds up to infinity), a negative and NaN.
# Subnormals stay (2^-133 and 1e-39 become the nearest bfloat16s).
x = np.array([1 + 2**-8, 1 + 3 * 2**-8, 1 + 2**-8 + 2**-20, 0.816406,
              0.8203125 - 2**-12, np.finfo(np.float32).max, -2.5, np.nan,
              2**-133, -1e-39], np.float32)
np.save(f"{out}/bf16_x.npy", x)
# Round to nearest even on the bits, as ONNX 1.13+ defines it.
bits = x.view(np.uint32).astype(np.uint64)
rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) >> 16) << 16
y = np.where(np.isnan(x), np.nan,
             rounded.astype(np.uint32).view(np.float32))
print("y", [float(v) for v in y])

# float64: 1 + 2^-8 + 2^-40 is just above a tie (rounding to float32 first
# would make it one, and round it down); below float32's range; beyond it.
x64 = np.array([1 + 2**-8 + 2**-40, 1 + 2**-8, 1e-40, 3.4e38, 1e300, -7.0])
np.save(f"{out}/bf16_x64.npy", x64)
print("y64 [1.0078125, 1.0, 9.18355e-41, inf, inf, -7.0] (float64 rounding "
      "done by hand: ties to even, 3.4e38 is above the last bfloat16's "
      "halfway point)")
