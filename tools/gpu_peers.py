"""Times the peers of Kiln's GPU target on the benchmark models, on the GPU
machine, as the GPU issue defines them: fp32 with TF32 off, inputs and
outputs already on the device, host wall-clock of a synchronous call after a
warm-up (medians), and device-event time beside it.

    python3 gpu_peers.py [--iters N]

- PyTorch eager, and PyTorch's own kernels replayed as one CUDA graph;
- JAX jit (XLA) for the MLP and the BERT layer.

The models are those of ../shared/bench/models/export.py (random weights):
the MLP 784-512-512-10 with softmax at batch 1, 64 and 4096; a BERT encoder
layer (768 wide, 12 heads, 3072 feed-forward, GELU) at batch 1 and 32,
sequence 128; ResNet-18 at batch 1 and 64. A peer that is not installed is
reported as such, not as a failure. tools/gpu_bundle.sh puts this script in
the bundle; gpu_check.sh runs it when python3 is there.
"""
import argparse
import statistics
import time

p = argparse.ArgumentParser()
p.add_argument("--iters", type=int, default=50)
args = p.parse_args()

CASES = [("mlp", 1), ("mlp", 64), ("mlp", 4096), ("bert_layer", 1),
         ("bert_layer", 32), ("resnet18", 1), ("resnet18", 64)]
rows = {}  # (model, batch) -> {column: ms}


def timed(fn, sync, iters):
    """Median host ms of a synchronous call of fn, after a warm-up."""
    for _ in range(10):
        fn()
    sync()
    times = []
    for _ in range(iters):
        t0 = time.perf_counter()
        fn()
        sync()
        times.append((time.perf_counter() - t0) * 1e3)
    return statistics.median(times)


def torch_peers():
    try:
        import torch
        import torch.nn as nn
    except ImportError as e:
        print(f"pytorch: not installed ({e})")
        return
    if not torch.cuda.is_available():
        print("pytorch: no CUDA device")
        return
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.manual_seed(0)
    dev = torch.device("cuda")

    class MLP(nn.Module):
        def __init__(self):
            super().__init__()
            self.net = nn.Sequential(nn.Linear(784, 512), nn.ReLU(),
                                     nn.Linear(512, 512), nn.ReLU(),
                                     nn.Linear(512, 10))

        def forward(self, x):
            return torch.softmax(self.net(x), -1)

    def build(model, batch):
        if model == "mlp":
            return MLP(), (batch, 784)
        if model == "bert_layer":
            return nn.TransformerEncoderLayer(768, 12, 3072, batch_first=True,
                                              activation="gelu"), (batch, 128, 768)
        import torchvision
        return torchvision.models.resnet18(), (batch, 3, 224, 224)

    for model, batch in CASES:
        try:
            m, shape = build(model, batch)
        except ImportError as e:
            print(f"pytorch {model}: {e}")
            continue
        m = m.to(dev).eval()
        x = torch.randn(*shape, device=dev)
        with torch.inference_mode():
            eager = timed(lambda: m(x), torch.cuda.synchronize, args.iters)
            # Device-event time of one eager call.
            start, end = (torch.cuda.Event(enable_timing=True) for _ in range(2))
            start.record()
            m(x)
            end.record()
            torch.cuda.synchronize()
            event = start.elapsed_time(end)
            graph = torch.cuda.CUDAGraph()
            stream = torch.cuda.Stream()
            stream.wait_stream(torch.cuda.current_stream())
            with torch.cuda.stream(stream):
                for _ in range(3):
                    m(x)
            torch.cuda.current_stream().wait_stream(stream)
            with torch.cuda.graph(graph):
                m(x)
            replay = timed(graph.replay, torch.cuda.synchronize, args.iters)
        rows.setdefault((model, batch), {}).update(
            {"torch_eager": eager, "torch_event": event, "torch_graph": replay})


def jax_peers():
    try:
        import jax
        import jax.numpy as jnp
    except ImportError as e:
        print(f"jax: not installed ({e})")
        return
    if not any(d.platform == "gpu" for d in jax.devices()):
        print("jax: no GPU device")
        return
    jax.config.update("jax_default_matmul_precision", "highest")
    key = jax.random.PRNGKey(0)

    def dense(k, n_in, n_out):
        k1, k2 = jax.random.split(k)
        return (jax.random.normal(k1, (n_in, n_out)) * n_in ** -0.5,
                jax.random.normal(k2, (n_out,)) * 0.01)

    def mlp(params, x):
        (w1, b1), (w2, b2), (w3, b3) = params
        h = jax.nn.relu(x @ w1 + b1)
        h = jax.nn.relu(h @ w2 + b2)
        return jax.nn.softmax(h @ w3 + b3, axis=-1)

    def layer_norm(x):
        mean = x.mean(-1, keepdims=True)
        var = ((x - mean) ** 2).mean(-1, keepdims=True)
        return (x - mean) / jnp.sqrt(var + 1e-5)

    def bert(params, x):
        (wq, bq), (wk, bk), (wv, bv), (wo, bo), (w1, b1), (w2, b2) = params
        b, s, d = x.shape
        heads = lambda t: t.reshape(b, s, 12, d // 12).transpose(0, 2, 1, 3)
        q, k, v = heads(x @ wq + bq), heads(x @ wk + bk), heads(x @ wv + bv)
        a = jax.nn.softmax(q @ k.transpose(0, 1, 3, 2) / (d // 12) ** 0.5, -1)
        o = (a @ v).transpose(0, 2, 1, 3).reshape(b, s, d) @ wo + bo
        x = layer_norm(x + o)
        f = jax.nn.gelu(x @ w1 + b1, approximate=False) @ w2 + b2
        return layer_norm(x + f)

    keys = jax.random.split(key, 6)
    mlp_params = [dense(keys[0], 784, 512), dense(keys[1], 512, 512),
                  dense(keys[2], 512, 10)]
    bert_params = [dense(keys[i], 768, 768) for i in range(4)] + [
        dense(keys[4], 768, 3072), dense(keys[5], 3072, 768)]
    for model, batch in CASES:
        if model == "resnet18":
            continue
        if model == "mlp":
            fn, params, shape = jax.jit(mlp), mlp_params, (batch, 784)
        else:
            fn, params, shape = jax.jit(bert), bert_params, (batch, 128, 768)
        x = jax.device_put(jax.random.normal(key, shape))
        out = [None]

        def call():
            out[0] = fn(params, x)

        ms = timed(call, lambda: out[0].block_until_ready(), args.iters)
        rows.setdefault((model, batch), {})["jax_jit"] = ms


torch_peers()
jax_peers()
columns = ["torch_eager", "torch_event", "torch_graph", "jax_jit"]
print(f"{'model':<12} {'batch':>5} " + " ".join(f"{c:>12}" for c in columns))
for model, batch in CASES:
    r = rows.get((model, batch), {})
    print(f"{model:<12} {batch:>5} " +
          " ".join(f"{r[c]:12.3f}" if c in r else f"{'-':>12}" for c in columns))
