#!/usr/bin/python3
"""Writes a MobileNet v1 (224x224, width 1.0) as ONNX, for tools/bench.sh.

The benchmark models in ../shared/bench have no depthwise-separable
convnet; this one stands for that family: a 3x3 stride-2 stem, then 13
blocks of a depthwise 3x3 convolution (one channel per group) and a
pointwise 1x1 convolution, each with a bias and Clip(0, 6) (batch norm
folded), global average pooling and a 1000-way Gemm. Weights are random
(He-scaled, seed 0): the speed and the agreement with ONNX Runtime are
what it measures, not the labels.

Usage: tools/mobilenet_v1.py OUT.onnx   (needs python3-onnx and numpy)
"""
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


def main():
    if len(sys.argv) != 2:
        sys.exit(__doc__)
    rng = np.random.default_rng(0)
    nodes, inits = [], []

    def weight(name, shape, scale=None):
        fan_in = np.prod(shape[1:]) if len(shape) > 1 else 1
        value = rng.standard_normal(shape) * (scale or np.sqrt(2.0 / fan_in))
        inits.append(numpy_helper.from_array(value.astype(np.float32), name))
        return name

    inits.append(numpy_helper.from_array(np.array(0, np.float32), "zero"))
    inits.append(numpy_helper.from_array(np.array(6, np.float32), "six"))
    count = 0

    def conv(x, cin, cout, k, stride, group=1):
        nonlocal count
        count += 1
        w = weight(f"w{count}", [cout, cin // group, k, k])
        b = weight(f"b{count}", [cout], 0.1)
        nodes.append(helper.make_node(
            "Conv", [x, w, b], [f"c{count}"], kernel_shape=[k, k],
            strides=[stride, stride], pads=[k // 2] * 4, group=group))
        nodes.append(helper.make_node("Clip", [f"c{count}", "zero", "six"],
                                      [f"r{count}"]))
        return f"r{count}"

    x, channels = conv("x", 3, 32, 3, 2), 32
    for cout, stride in [(64, 1), (128, 2), (128, 1), (256, 2), (256, 1),
                         (512, 2), (512, 1), (512, 1), (512, 1), (512, 1),
                         (512, 1), (1024, 2), (1024, 1)]:
        x = conv(x, channels, channels, 3, stride, group=channels)
        x = conv(x, channels, cout, 1, 1)
        channels = cout
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pooled"]))
    nodes.append(helper.make_node("Flatten", ["pooled"], ["flat"]))
    nodes.append(helper.make_node(
        "Gemm", ["flat", weight("fc_w", [1024, 1000]),
                 weight("fc_b", [1000], 0.1)], ["y"]))
    graph = helper.make_graph(
        nodes, "mobilenet_v1",
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, 3, 224, 224])],
        [helper.make_tensor_value_info("y", TensorProto.FLOAT, [1, 1000])],
        inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(model)
    onnx.save(model, sys.argv[1])


if __name__ == "__main__":
    main()
