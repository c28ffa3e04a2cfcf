#!/usr/bin/python3
"""Writes the recurrent-layer benchmark models into a folder, for
tools/bench.sh (docs/performance.md, "Recurrent layers"):

  python3 tools/rnn_bench_models.py /tmp/rnnbench
  tools/bench.sh --threads 1 /tmp/rnnbench/*.onnx
"""
import os
import sys

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh


def layer(folder, name, op, seq, batch, inp, hid, dirs=1, seed=1):
    rng = np.random.default_rng(seed)
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    inits = [
        nh.from_array(rng.uniform(-0.1, 0.1, (dirs, gates * hid, inp))
                      .astype(np.float32), "W"),
        nh.from_array(rng.uniform(-0.1, 0.1, (dirs, gates * hid, hid))
                      .astype(np.float32), "R"),
        nh.from_array(rng.uniform(-0.1, 0.1, (dirs, 2 * gates * hid))
                      .astype(np.float32), "B"),
    ]
    attrs = dict(hidden_size=hid)
    if dirs == 2:
        attrs["direction"] = "bidirectional"
    node = h.make_node(op, ["X", "W", "R", "B"], ["Y"], **attrs)
    graph = h.make_graph(
        [node], name, [h.make_tensor_value_info("X", T.FLOAT, [seq, batch, inp])],
        [h.make_tensor_value_info("Y", T.FLOAT, [seq, dirs, batch, hid])], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 14)])
    model.ir_version = 7
    onnx.save(model, os.path.join(folder, name + ".onnx"))


def main():
    folder = sys.argv[1]
    os.makedirs(folder, exist_ok=True)
    layer(folder, "lstm_s100_b1_h256", "LSTM", 100, 1, 128, 256)
    layer(folder, "lstm_s100_b16_h256", "LSTM", 100, 16, 128, 256)
    layer(folder, "gru_bidir_s50_b8_h128", "GRU", 50, 8, 64, 128, dirs=2)


if __name__ == "__main__":
    main()
