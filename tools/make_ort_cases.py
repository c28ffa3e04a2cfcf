#!/usr/bin/python3
"""Writes the test cases of tests/conformance/ort_cases.

Each case is an ONNX backend test folder (model.onnx, test_data_set_0 with
input_0.pb and output_k.pb) whose expected outputs come from ONNX Runtime,
not from Kiln: RNN, GRU and LSTM with the options the Debian test data does
not cover (bidirectional, reverse, sequence_lens, clip, activations with
alpha and beta, linear_before_reset, input_forget, peepholes, initial
states); MaxPool's Indices (ties, padding, ceil_mode, dilations, 1-D and
3-D, both storage orders); Resize as exporters write it. Run by
tools/make_ort_cases.sh, which has ONNX Runtime:

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


def maxpool(shape, **attrs):
    """MaxPool with Indices on an input of small integers (many ties)."""
    def build(rng):
        node = h.make_node("MaxPool", ["X"], ["Y", "I"], **attrs)
        return [node], [], shape, [("Y", T.FLOAT), ("I", T.INT64)], \
            rng.integers(-3, 4, shape).astype(np.float32)
    return build


def resize(shape, scales=None, sizes=None, **attrs):
    def build(rng):
        inits, ins = [], ["X", ""]
        if scales is not None:
            inits.append(nh.from_array(np.array(scales, np.float32), "S"))
            ins.append("S")
        else:
            inits.append(nh.from_array(np.array(sizes, np.int64), "Z"))
            ins += ["", "Z"]
        node = h.make_node("Resize", ins, ["Y"], **attrs)
        return [node], inits, shape, [("Y", T.FLOAT)], \
            rng.uniform(-2, 2, shape).astype(np.float32)
    return build


def dft(shape, length=None, **attrs):
    def build(rng):
        inits, ins = [], ["X"]
        if length is not None:
            inits.append(nh.from_array(np.array(length, np.int64), "L"))
            ins.append("L")
        node = h.make_node("DFT", ins, ["Y"], **attrs)
        return [node], inits, shape, [("Y", T.FLOAT)], \
            rng.uniform(-1, 1, shape).astype(np.float32)
    return build


def stft(shape, step, frame_length, window=False, **attrs):
    def build(rng):
        inits = [nh.from_array(np.array(step, np.int64), "S")]
        ins = ["X", "S"]
        if window:
            n = np.arange(frame_length)
            inits.append(nh.from_array(
                (0.5 - 0.5 * np.cos(2 * np.pi * n / frame_length))
                .astype(np.float32), "W"))
            ins.append("W")
        else:
            ins.append("")
            inits.append(nh.from_array(np.array(frame_length, np.int64), "F"))
            ins.append("F")
        node = h.make_node("STFT", ins, ["Y"], **attrs)
        return [node], inits, shape, [("Y", T.FLOAT)], \
            rng.uniform(-1, 1, shape).astype(np.float32)
    return build


def grid_sample(image, out, ties=False, **attrs):
    """GridSample with the grid fed (so that the sampling runs at run time)
    and the image a constant; points reach past the borders."""
    def build(rng):
        img = nh.from_array(
            np.random.default_rng(1).uniform(-1, 1, image).astype(np.float32),
            "I")
        shape = [image[0], out[0], out[1], 2]
        if ties:
            # x = (m - 1) / 2 for g = m / W - 1 (align_corners 0): every
            # other point exactly halfway between pixels, a rounding tie
            # (exact in float32 for power-of-two sizes).
            g = rng.integers(-2, 2 * max(image[2:]) + 2, shape) \
                / np.array([image[3], image[2]]) - 1
        else:
            g = rng.uniform(-1.6, 1.6, shape)
        node = h.make_node("GridSample", ["I", "X"], ["Y"], **attrs)
        return [node], [img], shape, [("Y", T.FLOAT)], g.astype(np.float32)
    return build


# name, builder(rng) -> (nodes, initializers, input shape, [(output,
# element type)], input). Integer outputs reach ONNX Runtime's runner
# (float32 only) through a Cast, and come back exactly (indices < 2^24).
GRAPH_CASES = [
    ("maxpool_indices_2d_ties_ceil", maxpool(
        [2, 3, 7, 6], kernel_shape=[3, 3], strides=[2, 2],
        pads=[1, 1, 1, 1], ceil_mode=1)),
    ("maxpool_indices_2d_dilated", maxpool(
        [1, 2, 8, 8], kernel_shape=[2, 3], dilations=[2, 2], pads=[0, 1, 1, 2])),
    ("maxpool_indices_3d_column_major", maxpool(
        [1, 2, 4, 5, 6], kernel_shape=[2, 2, 3], strides=[1, 2, 2],
        storage_order=1)),
    ("maxpool_indices_1d_same_upper", maxpool(
        [2, 2, 9], kernel_shape=[4], strides=[2], auto_pad="SAME_UPPER")),
    # torch.nn.Upsample(scale_factor=2) exports nearest, asymmetric, floor.
    ("resize_nearest_torch_2x", resize(
        [1, 3, 5, 7], scales=[1, 1, 2, 2], mode="nearest",
        coordinate_transformation_mode="asymmetric", nearest_mode="floor")),
    # F.interpolate(bilinear, align_corners=True) to a smaller size.
    ("resize_linear_align_corners_down", resize(
        [1, 2, 9, 7], sizes=[1, 2, 4, 5], mode="linear",
        coordinate_transformation_mode="align_corners")),
    # F.interpolate(bicubic) upscaling by 1.7: half_pixel, a = -0.75.
    ("resize_cubic_half_pixel_up", resize(
        [1, 2, 5, 6], scales=[1, 1, 1.7, 1.7], mode="cubic",
        cubic_coeff_a=-0.75)),
    ("resize_linear_pytorch_half_pixel_to_one", resize(
        [1, 1, 6, 5], sizes=[1, 1, 1, 3], mode="linear",
        coordinate_transformation_mode="pytorch_half_pixel")),
    ("resize_cubic_exclude_outside_down", resize(
        [1, 1, 8, 8], scales=[1, 1, 0.6, 0.6], mode="cubic",
        cubic_coeff_a=-0.5, exclude_outside=1)),
    # DFT: a real signal zero-padded to 12, onesided; a complex one cut to
    # 5 along axis 2; an inverse of odd length.
    ("dft_real_padded_onesided", dft([2, 9, 3, 1], length=12, axis=1,
                                     onesided=1)),
    ("dft_complex_cut_axis2", dft([1, 3, 7, 2], length=5, axis=2)),
    ("dft_inverse_odd", dft([2, 7, 2], axis=1, inverse=1)),
    ("stft_hann_window", stft([2, 100, 1], 10, 16, window=True)),
    ("stft_complex_two_sided", stft([1, 40, 2], 6, 8, onesided=0)),
    ("gridsample_bicubic_reflection", grid_sample(
        [2, 3, 5, 6], [4, 7], mode="bicubic", padding_mode="reflection")),
    ("gridsample_bicubic_zeros_align", grid_sample(
        [1, 2, 6, 5], [5, 5], mode="bicubic", align_corners=1)),
    ("gridsample_bilinear_border_align", grid_sample(
        [1, 2, 4, 7], [6, 3], mode="bilinear", padding_mode="border",
        align_corners=1)),
    ("gridsample_bilinear_reflection", grid_sample(
        [2, 1, 5, 5], [4, 4], mode="bilinear", padding_mode="reflection")),
    ("gridsample_nearest_ties_zeros", grid_sample(
        [1, 2, 4, 8], [5, 6], ties=True, mode="nearest")),
    ("gridsample_nearest_reflection", grid_sample(
        [1, 1, 5, 4], [6, 6], mode="nearest", padding_mode="reflection")),
    ("resize_nearest_round_prefer_ceil_half_pixel", resize(
        [1, 2, 4, 5], scales=[1, 1, 1.5, 2.5], mode="nearest",
        nearest_mode="round_prefer_ceil")),
]


def graph_case_model(name, build, first):
    """The case's model with output `first` listed first; for ONNX
    Runtime's runner, `first` is cast to float when it is an integer."""
    nodes, inits, shape, outs, _ = build(np.random.default_rng(0))
    types = dict(outs)
    order = [first] + [o for o, _ in outs if o != first]
    declared = []
    for o in order:
        declared.append(h.make_tensor_value_info(o, types[o], None))
    graph = h.make_graph(nodes, name,
                         [h.make_tensor_value_info("X", T.FLOAT, shape)],
                         declared, inits)
    opset = 17 if any(n.op_type in ("DFT", "STFT", "GridSample")
                      for n in nodes) else 13
    model = h.make_model(graph, opset_imports=[h.make_opsetid("", opset)])
    model.ir_version = 8
    # Shapes as ONNX infers them, so that the checker accepts the outputs.
    model = onnx.shape_inference.infer_shapes(model)
    return model


def for_ort(model, first, elem):
    if elem == T.FLOAT:
        return model
    m = onnx.ModelProto()
    m.CopyFrom(model)
    m.graph.node.append(h.make_node("Cast", [first], [first + "_f"],
                                    to=T.FLOAT))
    out = m.graph.output[0]
    shape = [d.dim_value for d in out.type.tensor_type.shape.dim]
    m.graph.output.insert(0, h.make_tensor_value_info(first + "_f", T.FLOAT,
                                                      shape))
    return m


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


def main_graph_cases():
    mode, work = sys.argv[1], sys.argv[2]
    for name, build in GRAPH_CASES:
        _, _, _, outs, x = build(np.random.default_rng(zlib.crc32(name.encode())))
        if mode == "models":
            for o, elem in outs:
                model = graph_case_model(name, build, o)
                onnx.save(for_ort(model, o, elem),
                          os.path.join(work, f"{name}.{o}.onnx"))
            np.save(os.path.join(work, f"{name}.x.npy"), x)
            continue
        out = os.path.join(sys.argv[3], name)
        data = os.path.join(out, "test_data_set_0")
        os.makedirs(data, exist_ok=True)
        model = graph_case_model(name, build, outs[0][0])
        with open(os.path.join(data, "input_0.pb"), "wb") as f:
            f.write(nh.from_array(np.load(os.path.join(work, f"{name}.x.npy")),
                                  "X").SerializeToString())
        for k, (o, elem) in enumerate(outs):
            y = np.load(os.path.join(work, f"{name}.{o}.ort.npy"))
            if elem == T.INT64:
                y = y.astype(np.int64)
            with open(os.path.join(data, f"output_{k}.pb"), "wb") as f:
                f.write(nh.from_array(y, o).SerializeToString())
            # The shape ONNX Runtime computed (ONNX 1.12's inference gets
            # STFT with a window wrong).
            declared = model.graph.output[k].type.tensor_type.shape
            del declared.dim[:]
            for d in y.shape:
                declared.dim.add().dim_value = d
        onnx.save(model, os.path.join(out, "model.onnx"))


if __name__ == "__main__":
    main_graph_cases()
    main()
