#!/usr/bin/python3
"""Kiln's GEMM throughput beside numpy's BLAS and the core's FMA peak.

    tools/gemm_bench.py [--threads N] [--iters N] [--kiln PATH] [MxKxN ...]

For each shape (default: squares 256 to 2048, then the MLP's and BERT
layer's matmuls at their batch), writes a one-node ONNX model computing
A[M,K] x B[K,N] with B a constant (weights, as in a model), times it with
`graph-compile --benchmark` and numpy.matmul on the same A and B (the BLAS
numpy was built with; its thread count from OPENBLAS_NUM_THREADS and the
like, set here to --threads), and prints GFLOP/s (2MKN / median time) with
the share of the FMA peak that tools/fma_peak.c measures on as many threads.
A developer's benchmark, not part of CI.
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SQUARES = [(n, n, n) for n in (256, 512, 1024, 2048)]
MODEL_SHAPES = [
    ("mlp_b64 layer 1", (64, 784, 512)),
    ("mlp_b64 layer 2", (64, 512, 512)),
    ("bert QKV", (128, 768, 2304)),
    ("bert attn out", (128, 768, 768)),
    ("bert FFN1", (128, 768, 3072)),
    ("bert FFN2", (128, 3072, 768)),
]


def parse_shape(text):
    parts = text.lower().split("x")
    if len(parts) != 3 or not all(
            p.isascii() and p.isdigit() and int(p) > 0 for p in parts):
        raise argparse.ArgumentTypeError(f"'{text}' is not MxKxN")
    return tuple(int(p) for p in parts)


def fma_peak(threads, work):
    binary = os.path.join(work, "fma_peak")
    subprocess.run(["cc", "-O3", "-march=native", "-pthread",
                    os.path.join(ROOT, "tools", "fma_peak.c"), "-o", binary],
                   check=True)
    # The best of three: a busy machine only ever makes it lower.
    best = 0.0
    for _ in range(3):
        run = subprocess.run([binary, str(threads)], capture_output=True,
                             text=True)
        if run.returncode != 0:
            sys.exit(f"fma_peak failed: {run.stderr}")
        best = max(best, float(run.stdout))
    return best


def write_model(path, m, k, n, b):
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    graph = helper.make_graph(
        [helper.make_node("MatMul", ["a", "b"], ["c"])], "gemm",
        [helper.make_tensor_value_info("a", TensorProto.FLOAT, [m, k])],
        [helper.make_tensor_value_info("c", TensorProto.FLOAT, [m, n])],
        [numpy_helper.from_array(b, "b")])
    model = helper.make_model(graph,
                              opset_imports=[helper.make_opsetid("", 13)])
    onnx.save(model, path)


def kiln_ms(kiln, model, feed, threads, iters):
    out = subprocess.run(
        [kiln, model, "--feed", f"a={feed}", f"--benchmark={iters}",
         f"--threads={threads}"], capture_output=True, text=True)
    if out.returncode != 0:
        sys.exit(f"graph-compile failed (exit {out.returncode}):\n"
                 f"{out.stderr}")
    found = re.search(r"^benchmark: .*median ([0-9.e+-]+) ms", out.stdout,
                      re.MULTILINE)
    if not found:
        sys.exit(f"no benchmark line from graph-compile:\n{out.stdout}")
    return float(found.group(1))


def numpy_blas():
    """The BLAS library numpy loaded, from this process's memory map."""
    try:
        with open("/proc/self/maps") as maps:
            for line in maps:
                path = line.split()[-1]
                name = os.path.basename(path).lower()
                if "blas" in name or "mkl" in name or "blis" in name:
                    return os.path.realpath(path)
    except OSError:
        pass
    return "unknown"


def numpy_ms(a, b, iters):
    import numpy as np
    c = np.empty((a.shape[0], b.shape[1]), np.float32)
    start = time.perf_counter()
    np.matmul(a, b, out=c)  # Warm-up.
    first = time.perf_counter() - start
    # A slow BLAS (numpy on the reference one) gets fewer runs: about 3 s.
    times = []
    for _ in range(max(3, min(iters, int(3.0 / max(first, 1e-9))))):
        start = time.perf_counter()
        np.matmul(a, b, out=c)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--kiln",
                        default=os.path.join(ROOT, "bazel-bin", "tools",
                                             "graph-compile"))
    parser.add_argument("--no-numpy", action="store_true",
                        help="time Kiln only")
    parser.add_argument("shapes", nargs="*", type=parse_shape)
    args = parser.parse_args()
    if not 1 <= args.threads <= 256:
        parser.error("--threads must be between 1 and 256")
    if args.iters < 1:
        parser.error("--iters must be at least 1")
    if not os.path.isfile(args.kiln) or not os.access(args.kiln, os.X_OK):
        sys.exit(f"{args.kiln} is not an executable graph-compile: "
                 "bazel build //tools:graph-compile")
    for var in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = str(args.threads)  # Read when numpy loads.
    import numpy as np
    shapes = ([(f"{m}x{k}x{n}", (m, k, n)) for m, k, n in args.shapes]
              or [(f"{m}^3", s) for s in SQUARES for m in [s[0]]] +
              MODEL_SHAPES)
    with tempfile.TemporaryDirectory() as work:
        peak = fma_peak(args.threads, work)
        print(f"FMA peak on {args.threads} thread(s): {peak:.1f} GFLOP/s "
              "(tools/fma_peak.c)")
        if not args.no_numpy:
            np.matmul(np.ones((2, 2), np.float32), np.ones((2, 2), np.float32))
            print(f"numpy {np.__version__} BLAS: {numpy_blas()}")
        header = f"{'shape':<16} {'M x K x N':>16} {'kiln ms':>9} " \
                 f"{'GFLOP/s':>8} {'peak':>5}"
        if not args.no_numpy:
            header += f" {'numpy ms':>9} {'GFLOP/s':>8} {'peak':>5} {'kiln/np':>7}"
        print(header)
        for name, (m, k, n) in shapes:
            rng = np.random.default_rng(0)
            a = rng.uniform(-1, 1, (m, k)).astype(np.float32)
            b = rng.uniform(-1, 1, (k, n)).astype(np.float32)
            model = os.path.join(work, "gemm.onnx")
            feed = os.path.join(work, "a.npy")
            write_model(model, m, k, n, b)
            np.save(feed, a)
            flop = 2.0 * m * k * n
            ms = kiln_ms(args.kiln, model, feed, args.threads, args.iters)
            gflops = flop / ms / 1e6
            row = f"{name:<16} {f'{m}x{k}x{n}':>16} {ms:9.3f} {gflops:8.1f} " \
                  f"{100 * gflops / peak:4.0f}%"
            if not args.no_numpy:
                np_ms = numpy_ms(a, b, args.iters)
                np_gflops = flop / np_ms / 1e6
                row += f" {np_ms:9.3f} {np_gflops:8.1f} " \
                       f"{100 * np_gflops / peak:4.0f}% {ms / np_ms:7.2f}"
            print(row, flush=True)


if __name__ == "__main__":
    main()
