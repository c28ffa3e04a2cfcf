"""Writes the Resize models of resize.test (python3 make_resize.py DIR)."""
import sys

import numpy as np
from onnx import TensorProto, helper, numpy_helper

out = sys.argv[1] if len(sys.argv) > 1 else "."
f32 = TensorProto.FLOAT


def model(nodes, inputs, outputs, inits, opset=13):
    g = helper.make_graph(nodes, "resize", inputs, outputs, inits)
    return helper.make_model(g, opset_imports=[helper.make_opsetid("", opset)])


def const(name, values, dtype=np.float32):
    return numpy_helper.from_array(np.array(values, dtype=dtype), name)


# nearest x2 (asymmetric, floor): a gather per resized axis, nothing else;
# linear x1.5 on the last axis only (half_pixel): two taps, weighted;
# tf_crop_and_resize: positions outside the box take the extrapolation value.
m = model(
    [
        helper.make_node("Resize", ["x", "", "s2"], ["near"], name="near",
                         mode="nearest",
                         coordinate_transformation_mode="asymmetric",
                         nearest_mode="floor"),
        helper.make_node("Resize", ["x", "", "s15"], ["lin"], name="lin",
                         mode="linear"),
        helper.make_node("Resize", ["x", "roi", "", "sz"], ["crop"],
                         name="crop", mode="linear",
                         coordinate_transformation_mode="tf_crop_and_resize",
                         extrapolation_value=7.0),
    ],
    [helper.make_tensor_value_info("x", f32, [1, 1, 2, 4])],
    [helper.make_tensor_value_info("near", f32, [1, 1, 4, 8]),
     helper.make_tensor_value_info("lin", f32, [1, 1, 2, 6]),
     helper.make_tensor_value_info("crop", f32, [1, 1, 2, 3])],
    [const("s2", [1, 1, 2, 2]), const("s15", [1, 1, 1, 1.5]),
     const("roi", [0, 0, 0, 0, 1, 1, 1, 1.5]),
     const("sz", [1, 1, 2, 3], np.int64)])
open(f"{out}/resize.onnx", "wb").write(m.SerializeToString())

# Scales fed at run time: refused, since shapes are compiled statically.
m = model(
    [helper.make_node("Resize", ["x", "", "scales"], ["y"], name="fed")],
    [helper.make_tensor_value_info("x", f32, [1, 1, 2, 4]),
     helper.make_tensor_value_info("scales", f32, [4])],
    [helper.make_tensor_value_info("y", f32, [1, 1, 4, 8])], [])
open(f"{out}/resize_fed_scales.onnx", "wb").write(m.SerializeToString())
