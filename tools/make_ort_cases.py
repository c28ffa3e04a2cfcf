#!/usr/bin/python3
"""Writes the recurrent-layer test cases of tests/conformance/ort_cases.

Each case is an ONNX backend test folder (model.onnx, test_data_set_0 with
input_0.pb and output_k.pb) whose expected outputs come from ONNX Runtime,
not from Kiln: RNN, GRU and LSTM with the options the Debian test data does
not cover (bidirectional, reverse, sequence_lens, clip, activations with
alpha and beta, linear_before_reset, input_forget, peepholes, initial
states). Run by tools/make_ort_cases.sh, which has ONNX Runtime:

  python3 tools/make_ort_cases.py models DIR      # models and inputs
  python3 tools/make_ort_cases.py assemble DIR OUT  # after ORT ran
"""
import os
import sys
import zlib

import numpy as np
import onnx
from onnx import TensorProto as T
from onnx import helper as h
from onnx import numpy_helper as nh

# name, op, seq, batch, input size, hidden, directions, attributes, extras
CASES = [
    ("lstm_bidirectional_clip", "LSTM", 6, 3, 4, 5, 2,
     dict(direction="bidirectional", clip=2.5), dict(B=1, P=1, h0=1, c0=1)),
    ("lstm_reverse_lens", "LSTM", 5, 3, 2, 4, 1, dict(direction="reverse"),
     dict(B=1, lens=[3, 5, 1], h0=1, c0=1)),
    ("lstm_bidirectional_lens", "LSTM", 5, 3, 2, 4, 2,
     dict(direction="bidirectional"), dict(B=1, lens=[2, 5, 4])),
    ("lstm_activations", "LSTM", 4, 2, 3, 3, 1,
     dict(activations=["Sigmoid", "Softsign", "Elu"], clip=1.0),
     dict(B=1, P=1)),
    ("lstm_input_forget", "LSTM", 4, 2, 3, 3, 1, dict(input_forget=1),
     dict(B=1, P=1)),
    # A clip below the cell state: it bounds the gates, not h(C).
    ("lstm_clip_below_cell", "LSTM", 4, 2, 3, 3, 2,
     dict(direction="bidirectional", clip=0.3), dict(B=1, h0=1, c0=1)),
    ("gru_linear_before_reset_bidirectional", "GRU", 4, 2, 3, 5, 2,
     dict(direction="bidirectional", linear_before_reset=1),
     dict(B=1, h0=1)),
    ("gru_activations", "GRU", 4, 2, 3, 5, 1,
     dict(activations=["HardSigmoid", "LeakyRelu"],
          activation_alpha=[0.3, 0.05], activation_beta=[0.4]), dict(B=1)),
    ("gru_reverse_lens", "GRU", 5, 3, 3, 4, 1, dict(direction="reverse"),
     dict(B=1, lens=[4, 1, 5], h0=1)),
    ("rnn_relu_reverse", "RNN", 5, 2, 3, 4, 1,
     dict(direction="reverse", activations=["Relu"]), dict(B=1, h0=1)),
]


def outputs_of(op):
    return ["Y", "Y_h"] + (["Y_c"] if op == "LSTM" else [])


def make_model(case, rng, first):
    name, op, seq, batch, inp, hid, dirs, attrs, extras = case
    gates = {"RNN": 1, "GRU": 3, "LSTM": 4}[op]
    inits = [
        nh.from_array(rng.uniform(-0.6, 0.6, (dirs, gates * hid, inp))
                      .astype(np.float32), "W"),
        nh.from_array(rng.uniform(-0.6, 0.6, (dirs, gates * hid, hid))
                      .astype(np.float32), "R"),
    ]
    ins = ["X", "W", "R"]

    def optional(key, tensor_name, make):
        if key in extras:
            inits.append(nh.from_array(make(), tensor_name))
            ins.append(tensor_name)
        else:
            ins.append("")

    state = [dirs, batch, hid]
    optional("B", "B", lambda: rng.uniform(-0.5, 0.5, (dirs, 2 * gates * hid))
             .astype(np.float32))
    optional("lens", "L", lambda: np.array(extras["lens"], dtype=np.int32))
    optional("h0", "H0", lambda: rng.uniform(-1, 1, state).astype(np.float32))
    if op == "LSTM":
        optional("c0", "C0",
                 lambda: rng.uniform(-1, 1, state).astype(np.float32))
        optional("P", "P", lambda: rng.uniform(-0.5, 0.5, (dirs, 3 * hid))
                 .astype(np.float32))
    while ins[-1] == "":
        ins.pop()
    outs = outputs_of(op)
    node = h.make_node(op, ins, outs, hidden_size=hid, **attrs)
    shapes = {"Y": [seq, dirs, batch, hid], "Y_h": state, "Y_c": state}
    order = [first] + [o for o in outs if o != first]
    graph = h.make_graph(
        [node], name, [h.make_tensor_value_info("X", T.FLOAT, [seq, batch, inp])],
        [h.make_tensor_value_info(o, T.FLOAT, shapes[o]) for o in order], inits)
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", 14)])
    model.ir_version = 7
    return model


def main():
    mode, work = sys.argv[1], sys.argv[2]
    for case in CASES:
        name, op = case[0], case[1]
        if mode == "models":
            for first in outputs_of(op):
                # The same seed for every variant: the same weights.
                model = make_model(case, np.random.default_rng(zlib.crc32(name.encode())),
                                   first)
                onnx.save(model, os.path.join(work, f"{name}.{first}.onnx"))
            x_rng = np.random.default_rng(len(name))
            x = x_rng.uniform(-1.5, 1.5, (case[2], case[3], case[4]))
            np.save(os.path.join(work, f"{name}.x.npy"), x.astype(np.float32))
        else:
            out = os.path.join(sys.argv[3], name)
            data = os.path.join(out, "test_data_set_0")
            os.makedirs(data, exist_ok=True)
            model = onnx.load(os.path.join(work, f"{name}.Y.onnx"))
            onnx.save(model, os.path.join(out, "model.onnx"))
            x = np.load(os.path.join(work, f"{name}.x.npy"))
            with open(os.path.join(data, "input_0.pb"), "wb") as f:
                f.write(nh.from_array(x, "X").SerializeToString())
            for k, o in enumerate(outputs_of(op)):
                y = np.load(os.path.join(work, f"{name}.{o}.ort.npy"))
                with open(os.path.join(data, f"output_{k}.pb"), "wb") as f:
                    f.write(nh.from_array(y, o).SerializeToString())


if __name__ == "__main__":
    main()
