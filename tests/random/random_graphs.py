#!/usr/bin/python3
"""Randomized differential test of graph-compile against a numpy reference.

From each seed S in [--seed, --seed + --count) this script generates a random
Kiln GraphDef that mixes dtypes (bool, i8, u8, i32, i64, f16, f32, f64),
comparisons, Where, Cast, broadcasting against scalars and size-1 dimensions,
reductions, contractions and data movement, with several fetches (some of
them consumed by other nodes). numpy computes the expected value of every
node while the graph is built (reference.py); an op whose result the test
could not judge exactly (a comparison too close to call in float32, an
integer overflow, ...) is never generated.

Each graph runs under graph-compile at every --opt level, with the memory
plan and with --no-memory-reuse; every fetch must match the reference
(dtype and shape exactly; integers and bools exactly; floats within the
dtype's tolerance), and planned and unplanned runs must be bit-identical.

On a failure the script prints the seed, the fetch, expected and got, and
keeps the graph, its feeds, the expected outputs and a repro.sh under --out.
`--seed S --count 1` reproduces one graph; `--reduce` also shrinks a failing
graph (fewer fetches, nodes cut to Placeholders fed their reference values).

Exit status: 0 when every graph passed, 1 when any failed, 2 for bad usage or
a missing numpy.
"""

import argparse
import concurrent.futures
import math
import os
import random
import shutil
import subprocess
import sys
import tempfile
import time

try:
    import numpy as np
except ImportError:
    sys.stderr.write(
        "random_graphs.py needs numpy for its reference: install the Debian "
        "package python3-numpy (tools/install_deps.sh does)\n")
    sys.exit(2)

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import reference as ref  # noqa: E402
from reference import ALL, FLOATS, INTS, NUMERIC, SIGNED, UNSIGNED, Reject  # noqa: E402

MAX_ELEMS = 256      # most elements of an ordinary tensor
BIG_ELEMS = 6000     # most elements of the occasional large one
TIMEOUT_S = 60       # per graph-compile run


# ---------------------------------------------------------------------------
# The graph
# ---------------------------------------------------------------------------

class Node:
    __slots__ = ("name", "op", "inputs", "attrs", "val")

    def __init__(self, name, op, inputs, attrs, val):
        self.name, self.op, self.inputs, self.attrs, self.val = (
            name, op, inputs, attrs, val)


class Graph:
    def __init__(self):
        self.nodes = []
        self.by_name = {}
        self.fetches = []
        self.big = False

    def add(self, node):
        self.nodes.append(node)
        self.by_name[node.name] = node
        return node

    def truncate(self, n):
        for node in self.nodes[n:]:
            del self.by_name[node.name]
        del self.nodes[n:]

    def fresh(self, stem):
        i = len(self.nodes)
        while f"{stem}{i}" in self.by_name:
            i += 1
        return f"{stem}{i}"

    def reevaluate(self):
        """Recomputes every value from the leaves (after the reducer edits)."""
        for n in self.nodes:
            if n.op not in ("Placeholder", "Constant"):
                n.val = ref.evaluate(n.op, n.attrs,
                                     [self.by_name[i].val for i in n.inputs])

    def live(self):
        """The nodes some fetch depends on, in order."""
        need = set(self.fetches)
        for n in reversed(self.nodes):
            if n.name in need:
                need.update(n.inputs)
        return [n for n in self.nodes if n.name in need]


# ---------------------------------------------------------------------------
# Random choices
# ---------------------------------------------------------------------------

LEAF_DTYPES = [("f32", 30), ("bool", 14), ("i64", 12), ("i32", 12),
               ("f64", 12), ("f16", 6), ("i8", 5), ("u8", 4)]
DIMS = [1, 1, 1, 2, 2, 3, 3, 4, 5, 7, 8, 16]


def wchoice(r, pairs):
    total = sum(w for _, w in pairs)
    x = r.random() * total
    for item, w in pairs:
        x -= w
        if x < 0:
            return item
    return pairs[-1][0]


def rand_shape(r, big=False):
    if big:
        return r.choice([(5000,), (3, 1111), (64, 67), (2, 33, 65), (4097,),
                         (1, 1000, 5), (257, 17)])
    rank = wchoice(r, [(0, 10), (1, 25), (2, 35), (3, 20), (4, 10)])
    while True:
        shape = tuple(r.choice(DIMS) for _ in range(rank))
        if ref.nelems(shape) <= MAX_ELEMS:
            return shape


def broadcast_partner(r, shape):
    """A shape that broadcasts with `shape`: scalar, suffix, 1s, or wider."""
    kind = wchoice(r, [("same", 30), ("scalar", 20), ("ones", 20),
                       ("suffix", 15), ("wider", 10), ("one1", 5)])
    if kind == "same":
        return shape
    if kind == "scalar":
        return ()
    if kind == "ones":
        return tuple(1 if r.random() < 0.5 else d for d in shape)
    if kind == "suffix":
        return shape[r.randint(0, len(shape)):]
    if kind == "one1":
        return (1,) * r.randint(1, 3)
    # Wider: new leading dims, and dims where `shape` has 1 grow.
    lead = tuple(r.choice([1, 2, 3]) for _ in range(r.randint(0, 2)))
    out = lead + tuple(r.choice([2, 3, 4]) if d == 1 and r.random() < 0.5 else d
                       for d in shape)
    if ref.nelems(np.broadcast_shapes(out, shape)) > MAX_ELEMS:
        return shape
    return out


def rand_values(r, dt, shape):
    n = ref.nelems(shape)
    if dt == "bool":
        p = r.choice([0.1, 0.5, 0.5, 0.9])
        vals = [r.random() < p for _ in range(n)]
    elif dt in INTS:
        lo, hi = ref.INT_RANGE[dt]
        style = r.choice(["small", "small", "tiny", "wide"])
        if style == "tiny":
            a, b = (0, 3) if dt in UNSIGNED else (-2, 2)
        elif style == "small":
            a, b = (0, 20) if dt in UNSIGNED else (-20, 20)
        else:
            a, b = {"i8": (-100, 100), "u8": (0, 250), "i32": (-2**20, 2**20),
                    "i64": (-2**40, 2**40)}[dt]
        vals = [r.randint(a, b) for _ in range(n)]
    else:
        style = r.choice(["uniform", "uniform", "uniform", "int", "few", "pos",
                          "uniform", "int", "few", "pos", "special"])
        if style == "uniform":
            vals = [r.uniform(-3, 3) for _ in range(n)]
        elif style == "int":
            vals = [float(r.randint(-4, 4)) for _ in range(n)]
        elif style == "few":
            vals = [r.choice([-1.0, -0.5, 0.0, 0.5, 1.0, 2.0]) for _ in range(n)]
        elif style == "pos":
            vals = [r.uniform(0.1, 3) for _ in range(n)]
        else:
            # NaN, infinities and signed zeros among ordinary values.
            vals = [r.choice([math.nan, math.inf, -math.inf, -0.0, 0.0])
                    if r.random() < 0.3 else r.uniform(-3, 3) for _ in range(n)]
    return np.array(vals, dtype=ref.NP[dt]).reshape(shape)


def new_leaf(g, r, dt, shape, values=None):
    if values is None:
        values = rand_values(r, dt, shape)
    if r.random() < 0.5:
        name, op = g.fresh("x"), "Placeholder"
    else:
        name, op = g.fresh("c"), "Constant"
    return g.add(Node(name, op, [], {}, ref.from_array(dt, values)))


def pick(g, r, ok, leaf=None, p_new=0.2):
    """An existing node whose value satisfies ok (recent ones preferred), or
    a new leaf from leaf() when there is none or by chance."""
    cands = [n for n in g.nodes if ok(n.val)]
    if leaf is not None and (not cands or r.random() < p_new):
        node = leaf()
        if not ok(node.val):
            raise Reject("the new leaf does not fit")
        return node
    if not cands:
        raise Reject("no candidate input")
    if r.random() < 0.5:
        return cands[-1]
    if r.random() < 0.5:
        return cands[max(0, len(cands) - r.randint(1, 3))]
    return r.choice(cands)


def any_leaf(g, r, dts):
    def make():
        dt = wchoice(r, [(d, w) for d, w in LEAF_DTYPES if d in dts])
        return new_leaf(g, r, dt, rand_shape(r))
    return make


def fits(shape):
    return ref.nelems(shape) <= BIG_ELEMS


# ---------------------------------------------------------------------------
# One random op
# ---------------------------------------------------------------------------

def gen_binary(g, r, op):
    dts = {"And": ("bool",), "Or": ("bool",), "Pow": ("f32", "f64"),
           "Div": NUMERIC, "PRelu": FLOATS + SIGNED}.get(
               op, NUMERIC)
    if op in ("Equal",):
        dts = ALL
    a = pick(g, r, lambda v: v.dt in dts, any_leaf(g, r, dts))
    dt = a.val.dt

    def partner():
        shape = broadcast_partner(r, a.val.shape)
        vals = None
        if r.random() < 0.15 and dt in FLOATS:
            # The Where/mask idiom's big fill constants, and exact zeros.
            vals = np.full(shape, r.choice([-1e4, 0.0, 1.0, -1.0]), ref.NP[dt])
        return new_leaf(g, r, dt, shape, vals)

    def compatible(v):
        if v.dt != dt:
            return False
        try:
            return fits(np.broadcast_shapes(v.shape, a.val.shape))
        except ValueError:
            return False

    b = pick(g, r, compatible, partner, p_new=0.5)
    ins = [a, b] if r.random() < 0.5 else [b, a]
    return ins, {}


def gen_where(g, r):
    c = pick(g, r, lambda v: v.dt == "bool", any_leaf(g, r, ("bool",)))
    dts = NUMERIC + ("bool",)
    x = pick(g, r, lambda v: v.dt in dts, any_leaf(g, r, dts), p_new=0.3)

    def compatible(v):
        if v.dt != x.val.dt:
            return False
        try:
            return fits(np.broadcast_shapes(v.shape, x.val.shape, c.val.shape))
        except ValueError:
            return False

    def leaf():
        shape = broadcast_partner(r, x.val.shape)
        vals = None
        if r.random() < 0.4 and x.val.dt in FLOATS:
            vals = np.full(shape, r.choice([-1e4, 0.0, -1.0]), ref.NP[x.val.dt])
        return new_leaf(g, r, x.val.dt, shape, vals)

    y = pick(g, r, compatible, leaf, p_new=0.5)
    return ([c, x, y] if r.random() < 0.5 else [c, y, x]), {}


def gen_cast(g, r):
    x = pick(g, r, lambda v: True, any_leaf(g, r, ALL), p_new=0.1)
    to = wchoice(r, [(d, w) for d, w in LEAF_DTYPES])
    return [x], {"to": to}


def gen_unary(g, r, op):
    if op in ref.FLOAT_UNARY:
        dts = FLOATS
    elif op == "Not":
        dts = ("bool",)
    elif op == "Identity":
        dts = ALL
    elif op == "Neg":
        dts = FLOATS + SIGNED
    else:
        dts = NUMERIC
    x = pick(g, r, lambda v: v.dt in dts, any_leaf(g, r, dts), p_new=0.1)
    attrs = {}
    dt = x.val.dt
    if op == "Clip":
        if dt in FLOATS:
            lo = r.choice([None, -1.0, 0.0, -0.5, 0.25])
            hi = r.choice([None, 1.0, 2.0, 0.5])
        elif dt in UNSIGNED:
            lo, hi = r.choice([None, 0, 2]), r.choice([None, 5, 200])
        else:
            lo, hi = r.choice([None, -5, 0]), r.choice([None, 3, 10])
        if lo is not None:
            attrs["min"] = lo
        if hi is not None and (lo is None or hi >= lo):
            attrs["max"] = hi
    elif op == "LeakyRelu" and r.random() < 0.5:
        attrs["alpha"] = r.choice([0.1, 0.2, 0.01])
    elif op == "Elu" and r.random() < 0.5:
        attrs["alpha"] = r.choice([0.5, 2.0])
    elif op == "HardSigmoid" and r.random() < 0.5:
        attrs["alpha"], attrs["beta"] = r.choice([(1 / 6, 0.5), (0.3, 0.4)])
    elif op == "Gelu" and r.random() < 0.5:
        attrs["approximate"] = "tanh"
    return [x], attrs


def rand_axes(r, rank):
    if rank == 0 or r.random() < 0.15:
        return None
    k = r.randint(1, rank)
    axes = r.sample(range(rank), k)
    return [a - rank if r.random() < 0.3 else a for a in axes]


def gen_reduce(g, r, op):
    dts = NUMERIC + (("bool",) if op in ("ReduceMax", "ReduceMin") else ())
    x = pick(g, r, lambda v: v.dt in dts and len(v.shape) >= 1,
             any_leaf(g, r, dts), p_new=0.1)
    attrs = {}
    axes = rand_axes(r, len(x.val.shape))
    if axes is not None:
        attrs["axes"] = axes
    if r.random() < 0.6:
        attrs["keepdims"] = r.randint(0, 1)
    return [x], attrs


def gen_arg(g, r, op):
    x = pick(g, r, lambda v: v.dt in NUMERIC and len(v.shape) >= 1,
             any_leaf(g, r, NUMERIC), p_new=0.1)
    rank = len(x.val.shape)
    attrs = {}
    if rank == 0:
        raise Reject("rank")
    if r.random() < 0.8:
        attrs["axis"] = r.randint(-rank, rank - 1)
    if r.random() < 0.5:
        attrs["keepdims"] = r.randint(0, 1)
    if r.random() < 0.3:
        attrs["select_last_index"] = 1
    return [x], attrs


def gen_softmax(g, r, op):
    x = pick(g, r, lambda v: v.dt in FLOATS and len(v.shape) >= 1,
             any_leaf(g, r, FLOATS), p_new=0.1)
    rank = len(x.val.shape)
    attrs = {}
    if rank and r.random() < 0.7:
        attrs["axis"] = r.randint(-rank, rank - 1)
    return [x], attrs


def gen_cumsum(g, r):
    dts = FLOATS + ("i32", "i64")
    x = pick(g, r, lambda v: v.dt in dts and len(v.shape) >= 1,
             any_leaf(g, r, dts), p_new=0.1)
    rank = len(x.val.shape)
    if rank == 0:
        raise Reject("rank")
    attrs = {"axis": r.randint(-rank, rank - 1)}
    if r.random() < 0.4:
        attrs["exclusive"] = 1
    if r.random() < 0.4:
        attrs["reverse"] = 1
    return [x], attrs


def gen_matmul(g, r):
    dts = ("f32", "f64", "i32", "i64", "f16")
    a = pick(g, r, lambda v: v.dt in dts and 1 <= len(v.shape) <= 4,
             any_leaf(g, r, dts), p_new=0.3)
    dt, sa = a.val.dt, a.val.shape
    if not sa:
        raise Reject("scalar")
    k = sa[-1]

    def ok(v):
        if v.dt != dt or not v.shape:
            return False
        kb = v.shape[0] if len(v.shape) == 1 else v.shape[-2]
        if kb != k:
            return False
        try:
            out = np.matmul(np.zeros(sa), np.zeros(v.shape)).shape
        except ValueError:
            return False
        return ref.nelems(out) <= MAX_ELEMS * 4

    def leaf():
        n = r.choice([1, 2, 3, 4, 5, 8])
        kind = r.random()
        if kind < 0.2:
            shape = (k,)
        elif kind < 0.8 or len(sa) < 3:
            shape = (k, n)
        else:
            shape = sa[:-2] + (k, n)
        vals = None
        if dt in INTS:
            vals = np.array([r.randint(-5, 5) for _ in range(ref.nelems(shape))],
                            ref.NP[dt]).reshape(shape)
        return new_leaf(g, r, dt, shape, vals)

    b = pick(g, r, ok, leaf, p_new=0.6)
    return [a, b], {}


def gen_gemm(g, r):
    dt = r.choice(["f32", "f32", "f64", "f16"])
    ta, tb = r.randint(0, 1), r.randint(0, 1)
    a = pick(g, r, lambda v: v.dt == dt and len(v.shape) == 2,
             lambda: new_leaf(g, r, dt, (r.choice([1, 2, 3, 5]), r.choice([1, 3, 4, 8]))),
             p_new=0.3)
    m, k = a.val.shape[::-1] if ta else a.val.shape
    n = r.choice([1, 2, 3, 4, 7])
    b = new_leaf(g, r, dt, (n, k) if tb else (k, n))
    ins = [a, b]
    attrs = {}
    if ta:
        attrs["transA"] = 1
    if tb:
        attrs["transB"] = 1
    if r.random() < 0.4:
        attrs["alpha"] = r.choice([0.5, 2.0, -1.0, 0.25])
    if r.random() < 0.7:
        cshape = r.choice([(), (n,), (1, n), (m, 1), (m, n)])
        ins.append(new_leaf(g, r, dt, cshape))
        if r.random() < 0.3:
            attrs["beta"] = r.choice([0.5, 2.0, -1.0])
    return ins, attrs


def gen_reshape(g, r):
    x = pick(g, r, lambda v: True, any_leaf(g, r, ALL), p_new=0.1)
    shape = x.val.shape
    n = ref.nelems(shape)
    if n == 0:
        raise Reject("reshape of an empty tensor")
    # Factor n into a random new shape.
    dims, rest = [], n
    for p in (2, 3, 5, 7, 11, 13):
        while rest % p == 0:
            dims.append(p)
            rest //= p
    if rest > 1:
        dims.append(rest)
    r.shuffle(dims)
    out = []
    for d in dims:
        if out and r.random() < 0.5:
            out[-1] *= d
        else:
            out.append(d)
    while r.random() < 0.3 and len(out) < 5:
        out.insert(r.randint(0, len(out)), 1)
    attr = list(out)
    if attr and r.random() < 0.4:
        attr[r.randrange(len(attr))] = -1
    for i in range(min(len(attr), len(shape))):
        if attr[i] == shape[i] and r.random() < 0.5:
            attr[i] = 0
    return [x], {"shape": attr}


def gen_transpose(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 2, any_leaf(g, r, ALL), p_new=0.1)
    rank = len(x.val.shape)
    attrs = {}
    if r.random() < 0.8:
        perm = list(range(rank))
        r.shuffle(perm)
        attrs["perm"] = perm
    return [x], attrs


def gen_concat(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 1, any_leaf(g, r, ALL), p_new=0.1)
    shape, dt = x.val.shape, x.val.dt
    if not shape:
        raise Reject("scalar")
    axis = r.randrange(len(shape))
    ins = [x]
    for _ in range(r.choice([1, 1, 2])):
        def ok(v):
            return (v.dt == dt and len(v.shape) == len(shape) and all(
                v.shape[i] == shape[i] for i in range(len(shape)) if i != axis))

        def leaf():
            s = list(shape)
            s[axis] = r.choice([1, 2, 3])
            return new_leaf(g, r, dt, tuple(s))

        ins.append(pick(g, r, ok, leaf, p_new=0.5))
    r.shuffle(ins)
    return ins, {"axis": axis - len(shape) if r.random() < 0.3 else axis}


def gen_slice(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 1, any_leaf(g, r, ALL), p_new=0.1)
    shape = x.val.shape
    rank = len(shape)
    axes = r.sample(range(rank), r.randint(1, rank))
    starts, ends, steps = [], [], []
    for a in axes:
        d = shape[a]
        step = r.choice([1, 1, 1, 2, -1, -2, 3])
        if step > 0:
            s = r.randint(-d, d - 1) if d > 0 else 0
            e = r.choice([r.randint(-d, d), 2**31 - 1, d + 5])
        else:
            s = r.choice([r.randint(-d, d - 1) if d else 0, 2**31 - 1])
            e = r.choice([r.randint(-d - 1, d - 1), -2**31])
        starts.append(s)
        ends.append(e)
        steps.append(step)
    attrs = {"starts": starts, "ends": ends}
    if r.random() < 0.8 or axes != list(range(len(axes))):
        attrs["axes"] = [a - rank if r.random() < 0.3 else a for a in axes]
    if any(s != 1 for s in steps) or r.random() < 0.2:
        attrs["steps"] = steps
    return [x], attrs


def gen_gather(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 1, any_leaf(g, r, ALL), p_new=0.1)
    rank = len(x.val.shape)
    axis = r.randrange(rank)
    d = x.val.shape[axis]
    if d == 0:
        raise Reject("gather from an empty axis")

    def ok(v):
        return (v.dt in ("i32", "i64") and v.v.size > 0 and v.v.size <= 16
                and np.min(v.v) >= -d and np.max(v.v) < d)

    def leaf():
        shape = r.choice([(), (1,), (2,), (3,), (2, 2), (4,)])
        vals = np.array([r.randint(-d, d - 1) for _ in range(ref.nelems(shape))],
                        ref.NP[r.choice(["i32", "i64"])]).reshape(shape)
        return new_leaf(g, r, "i64" if vals.dtype == np.int64 else "i32",
                        shape, vals)

    ind = pick(g, r, ok, leaf, p_new=0.6)
    attrs = {}
    if axis or r.random() < 0.3:
        attrs["axis"] = axis - rank if r.random() < 0.3 else axis
    return [x, ind], attrs


def gen_expand(g, r):
    x = pick(g, r, lambda v: True, any_leaf(g, r, ALL), p_new=0.1)
    shape = x.val.shape
    out = [d if d != 1 or r.random() < 0.5 else r.choice([2, 3, 4]) for d in shape]
    lead = [r.choice([1, 2, 3]) for _ in range(r.randint(0, 2))]
    target = lead + [1 if (d == shape[i] and r.random() < 0.3) else d
                     for i, d in enumerate(out)]
    return [x], {"shape": target}


def gen_tile(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 1, any_leaf(g, r, ALL), p_new=0.1)
    return [x], {"repeats": [r.choice([1, 1, 2, 3]) for _ in x.val.shape]}


def gen_pad(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 1, any_leaf(g, r, ALL), p_new=0.1)
    rank = len(x.val.shape)
    mode = r.choice(["constant", "constant", "reflect", "edge", "wrap"])
    pads = [r.choice([0, 0, 1, 2]) for _ in range(2 * rank)]
    attrs = {"pads": pads}
    if mode != "constant" or r.random() < 0.3:
        attrs["mode"] = mode
    if mode == "constant" and r.random() < 0.5:
        attrs["value"] = (float(r.randint(0, 1)) if x.val.dt == "bool"
                          else float(r.choice([-1, 2, 7])) if x.val.dt in INTS
                          else r.choice([-1.5, 0.25, 3.0]))
    return [x], attrs


def gen_trilu(g, r):
    x = pick(g, r, lambda v: len(v.shape) >= 2, any_leaf(g, r, ALL), p_new=0.1)
    attrs = {}
    if r.random() < 0.5:
        attrs["upper"] = r.randint(0, 1)
    if r.random() < 0.5:
        attrs["k"] = r.randint(-2, 2)
    return [x], attrs


EINSUM = ["ij,jk->ik", "bij,bjk->bik", "ij->ji", "ij->i", "ij->", "i,i->",
          "i,j->ij", "ij,ij->ij", "ii->i", "...ij,...jk->...ik", "ij,kj->ik",
          "bhqd,bhkd->bhqk", "ij,jk"]


def gen_einsum(g, r):
    eq = r.choice(EINSUM)
    terms = eq.split("->")[0].split(",")
    dts = ("f32", "f64", "i32", "i64")
    first = terms[0]
    rank = len(first.replace("...", "")) + (r.randint(0, 2) if "..." in first else 0)

    def leaf0():
        dt = wchoice(r, [(d, w) for d, w in LEAF_DTYPES if d in dts])
        if first == "ii":
            n = r.choice([1, 2, 3, 4])
            return new_leaf(g, r, dt, (n, n))
        return new_leaf(g, r, dt, tuple(r.choice([1, 2, 3, 4, 5]) for _ in range(rank)))

    a = pick(g, r, lambda v: v.dt in dts and len(v.shape) == rank and (
        first != "ii" or v.shape[0] == v.shape[1]), leaf0, p_new=0.4)
    sizes = {}
    lead = a.val.shape[:rank - len(first.replace("...", ""))]
    for c, d in zip(first.replace("...", "")[::-1], a.val.shape[::-1]):
        sizes[c] = d
    ins = [a]
    if len(terms) == 2:
        t = terms[1]
        shape = (lead if "..." in t else ()) + tuple(
            sizes.setdefault(c, r.choice([1, 2, 3, 4])) for c in t.replace("...", ""))
        vals = None
        if a.val.dt in INTS:
            vals = np.array([r.randint(-5, 5) for _ in range(ref.nelems(shape))],
                            ref.NP[a.val.dt]).reshape(shape)
        ins.append(pick(g, r, lambda v: v.dt == a.val.dt and v.shape == shape,
                        lambda: new_leaf(g, r, a.val.dt, shape, vals), p_new=0.6))
    return ins, {"equation": eq}


def gen_conv(g, r):
    dt = r.choice(["f32", "f32", "f64", "f16"])
    nd = r.choice([1, 2, 2])
    group = r.choice([1, 1, 2])

    def leaf():
        c = group * r.choice([1, 2])
        return new_leaf(g, r, dt, (r.choice([1, 2]), c) + tuple(
            r.choice([3, 4, 5, 7]) for _ in range(nd)))

    x = pick(g, r, lambda v: v.dt == dt and len(v.shape) == nd + 2 and v.shape[1] % group == 0
             and v.shape[1] > 0, leaf, p_new=0.5)
    c = x.val.shape[1]
    m = group * r.choice([1, 2, 3])
    ks = tuple(r.choice([1, 2, 3]) for _ in range(nd))
    w = new_leaf(g, r, dt, (m, c // group) + ks)
    attrs = {}
    if group > 1:
        attrs["group"] = group
    if r.random() < 0.5:
        attrs["strides"] = [r.choice([1, 2]) for _ in range(nd)]
    if r.random() < 0.5:
        attrs["pads"] = [r.choice([0, 1]) for _ in range(2 * nd)]
    if r.random() < 0.3:
        attrs["dilations"] = [r.choice([1, 2]) for _ in range(nd)]
    if r.random() < 0.3:
        attrs["kernel_shape"] = list(ks)
    ins = [x, w]
    if r.random() < 0.6:
        ins.append(new_leaf(g, r, dt, (m,)))
    return ins, attrs


def gen_pool(g, r, op):
    dts = FLOATS if op == "AveragePool" else NUMERIC
    nd = r.choice([1, 2, 2])

    def leaf():
        dt = wchoice(r, [(d, w) for d, w in LEAF_DTYPES if d in dts])
        return new_leaf(g, r, dt, (r.choice([1, 2]), r.choice([1, 2, 3])) + tuple(
            r.choice([3, 4, 5, 8]) for _ in range(nd)))

    x = pick(g, r, lambda v: v.dt in dts and len(v.shape) == nd + 2, leaf, p_new=0.4)
    ks = [r.choice([1, 2, 3]) for _ in range(nd)]
    attrs = {"kernel_shape": ks}
    if r.random() < 0.6:
        attrs["strides"] = [r.choice([1, 2]) for _ in range(nd)]
    if r.random() < 0.5:
        attrs["pads"] = [r.randint(0, k - 1) for k in ks + ks]
    if op == "MaxPool" and r.random() < 0.3:
        attrs["dilations"] = [r.choice([1, 2]) for _ in range(nd)]
    if op == "AveragePool" and r.random() < 0.4:
        attrs["count_include_pad"] = 1
    return [x], attrs


def gen_mask_idiom(g, r):
    """The pattern of the in-place bug: a comparison's bool result dies into
    a Where (or Cast) whose output has another element size."""
    x = pick(g, r, lambda v: v.dt in ("f32", "f64", "i32", "i64", "f16"),
             any_leaf(g, r, ("f32", "f64", "i32", "i64", "f16")), p_new=0.3)
    dt = x.val.dt
    zero = new_leaf(g, r, dt, r.choice([(), (1,), x.val.shape]),
                    np.zeros((), ref.NP[dt]))
    cmp_op = r.choice(["Less", "Greater", "Equal"])
    ins = [x, zero] if r.random() < 0.8 else [zero, x]
    m = add_op(g, cmp_op, ins, {})
    if r.random() < 0.5:
        return [m], {"to": wchoice(r, [(d, w) for d, w in LEAF_DTYPES])}, "Cast"
    fill = new_leaf(g, r, dt, (), np.full((), -1e4 if dt in ("f32", "f64") else -7,
                                           ref.NP[dt]))
    return ([m, fill, x] if r.random() < 0.5 else [m, x, fill]), {}, "Where"


OPS = [
    ("Cast", 10), ("Less", 5), ("Greater", 4), ("Equal", 4), ("Where", 8),
    ("MaskIdiom", 5), ("And", 2), ("Or", 2), ("Not", 2),
    ("Add", 6), ("Sub", 4), ("Mul", 5), ("Div", 3), ("PRelu", 1), ("Pow", 1),
    ("Relu", 2), ("Neg", 2), ("Abs", 2), ("Sign", 1), ("Clip", 2), ("Identity", 1),
    ("ReduceSum", 3), ("ReduceMean", 2), ("ReduceMax", 3), ("ReduceMin", 2),
    ("ReduceProd", 1), ("ArgMax", 2), ("ArgMin", 1),
    ("Softmax", 2), ("LogSoftmax", 1), ("CumSum", 1), ("MatMul", 3), ("Gemm", 1),
    ("Reshape", 3), ("Transpose", 2), ("Concat", 2), ("Slice", 2), ("Gather", 2),
    ("Expand", 1), ("Tile", 1), ("Pad", 2), ("Trilu", 1),
    ("Einsum", 1.5), ("Conv", 1), ("MaxPool", 1), ("AveragePool", 1),
] + [(op, 0.5) for op in ref.FLOAT_UNARY]


# Kiln bugs the generator steers clear of, so that CI stays green until they
# are fixed; --with-known-bugs generates them anyway (docs/testing.md).
KNOWN_BUGS = {
    # None open. An entry maps a name to a predicate over (graph, op,
    # attributes, input nodes, value) that rejects the graphs that would hit
    # the bug, e.g. "gather-self": lambda g, op, attrs, ins, val:
    # op == "Gather" and ins[0] is ins[1].
}
AVOID = set(KNOWN_BUGS)


def add_op(g, op, ins, attrs):
    val = ref.evaluate(op, attrs, [n.val for n in ins])
    for bug in AVOID:
        if KNOWN_BUGS[bug](g, op, attrs, ins, val):
            raise Reject(f"known bug {bug}")
    if ref.nelems(val.shape) > (BIG_ELEMS if g.big else MAX_ELEMS * 4):
        raise Reject("too big")
    return g.add(Node(g.fresh(op.lower()[:6] + "_"), op,
                      [n.name for n in ins], attrs, val))


def gen_op(g, r, op):
    if op in ("Add", "Sub", "Mul", "Div", "PRelu", "Pow", "And", "Or",
              "Equal", "Less", "Greater"):
        ins, attrs = gen_binary(g, r, op)
    elif op == "Where":
        ins, attrs = gen_where(g, r)
    elif op == "Cast":
        ins, attrs = gen_cast(g, r)
    elif op == "MaskIdiom":
        ins, attrs, op = gen_mask_idiom(g, r)
    elif op.startswith("Reduce"):
        ins, attrs = gen_reduce(g, r, op)
    elif op in ("ArgMax", "ArgMin"):
        ins, attrs = gen_arg(g, r, op)
    elif op in ("Softmax", "LogSoftmax"):
        ins, attrs = gen_softmax(g, r, op)
    elif op in ("MaxPool", "AveragePool"):
        ins, attrs = gen_pool(g, r, op)
    else:
        f = {"CumSum": gen_cumsum, "MatMul": gen_matmul, "Gemm": gen_gemm,
             "Einsum": gen_einsum, "Conv": gen_conv,
             "Reshape": gen_reshape, "Transpose": gen_transpose,
             "Concat": gen_concat, "Slice": gen_slice, "Gather": gen_gather,
             "Expand": gen_expand, "Tile": gen_tile, "Pad": gen_pad,
             "Trilu": gen_trilu}.get(op)
        ins, attrs = f(g, r) if f else gen_unary(g, r, op)
    return add_op(g, op, ins, attrs)


def generate(seed):
    r = random.Random(seed)
    g = Graph()
    g.big = r.random() < 0.08
    for _ in range(r.randint(1, 3)):
        dt = wchoice(r, LEAF_DTYPES)
        new_leaf(g, r, dt, rand_shape(r, big=g.big and not g.nodes))
    n_ops = r.randint(2, 14)
    made = 0
    tries = 0
    while made < n_ops and tries < n_ops * 30:
        tries += 1
        mark = len(g.nodes)
        op = wchoice(r, OPS)
        try:
            gen_op(g, r, op)
            made += 1
        except Reject:
            g.truncate(mark)
    ops = [n for n in g.nodes if n.op not in ("Placeholder", "Constant")]
    if not ops:
        raise Reject("empty graph")
    fetch = [ops[-1].name]
    for n in g.nodes[:-1]:
        p = 0.3 if n.op not in ("Placeholder", "Constant") else 0.03
        if n.name != ops[-1].name and r.random() < p:
            fetch.append(n.name)
    r.shuffle(fetch)
    g.fetches = fetch
    g.reverse_order = r.random() < 0.15
    return g


# ---------------------------------------------------------------------------
# Writing the GraphDef, feeds and expected outputs
# ---------------------------------------------------------------------------

def fmt_float(x):
    return repr(float(x))


def attr_text(k, v):
    if k == "to":
        body = f"type: {ref.PROTO[v]}"
    elif isinstance(v, list):
        body = "list { " + (f"i: [{', '.join(str(int(i)) for i in v)}]" if v else "") + " }"
    elif isinstance(v, str):
        body = f's: "{v}"'
    elif isinstance(v, float) or k in ("alpha", "beta", "min", "max", "value"):
        body = f"f: {fmt_float(v)}"
    else:
        body = f"i: {int(v)}"
    return f'  attr {{ key: "{k}" value {{ {body} }} }}\n'


def tensor_text(val):
    a = ref.to_array(val)
    dims = " ".join(f"dim: {d}" for d in a.shape)
    flat = a.reshape(-1)
    splat = flat.size > 1 and np.all(flat == flat[0]) and not (
        val.dt in FLOATS and np.any(np.signbit(flat) != np.signbit(flat[0])))
    if splat:
        flat = flat[:1]
    lists = {"f32": "float_val", "f64": "double_val", "i32": "int_val",
             "i64": "int64_val", "bool": "bool_val"}
    if val.dt in lists:
        if val.dt == "bool":
            items = ", ".join("true" if b else "false" for b in flat)
        elif val.dt in FLOATS:
            items = ", ".join(fmt_float(x) for x in flat)
        else:
            items = ", ".join(str(int(x)) for x in flat)
        values = f"{lists[val.dt]}: [{items}]"
    else:
        raw = np.ascontiguousarray(a).tobytes()
        values = 'raw_data: "' + "".join(f"\\{b:03o}" for b in raw) + '"'
    return (f"tensor {{ dtype: {ref.PROTO[val.dt]} shape {{ {dims} }} "
            f"{values} }}")


def graph_text(g, nodes):
    out = [f"# random_graphs.py graph; fetch: {', '.join(g.fetches)}\n",
           "version: 1\n"]
    order = list(reversed(nodes)) if getattr(g, "reverse_order", False) else nodes
    for n in order:
        out.append(f'node {{\n  name: "{n.name}"\n  op: "{n.op}"\n')
        for i in n.inputs:
            out.append(f'  input: "{i}"\n')
        if n.op == "Placeholder":
            dims = " ".join(f"dim: {d}" for d in n.val.shape)
            out.append(f'  attr {{ key: "dtype" value {{ type: {ref.PROTO[n.val.dt]} }} }}\n')
            out.append(f'  attr {{ key: "shape" value {{ shape {{ {dims} }} }} }}\n')
        elif n.op == "Constant":
            out.append(f'  attr {{ key: "value" value {{ {tensor_text(n.val)} }} }}\n')
        for k in sorted(n.attrs):
            out.append(attr_text(k, n.attrs[k]))
        out.append("}\n")
    out.append("signature {\n")
    for n in nodes:
        if n.op == "Placeholder":
            out.append(f'  feed: "{n.name}"\n')
    for f in g.fetches:
        out.append(f'  fetch: "{f}"\n')
    out.append("}\n")
    return "".join(out)


def write_case(g, d):
    """Writes graph.pbtxt, feed_*.npy and expected_*.npy under d."""
    nodes = g.live()
    with open(os.path.join(d, "graph.pbtxt"), "w") as f:
        f.write(graph_text(g, nodes))
    feeds = []
    for n in nodes:
        if n.op == "Placeholder":
            path = os.path.join(d, f"feed_{n.name}.npy")
            np.save(path, ref.to_array(n.val))
            feeds.append((n.name, path))
    for f in g.fetches:
        np.save(os.path.join(d, f"expected_{f}.npy"), g.by_name[f].val.expected())
    return feeds


# ---------------------------------------------------------------------------
# Running graph-compile and comparing
# ---------------------------------------------------------------------------

PLAN_CHECK = True  # also run with --no-memory-reuse and compare bits


def configs(levels):
    out = []
    for lvl in levels:
        out.append((f"O{lvl}", [f"-O{lvl}"]))
        if PLAN_CHECK:
            out.append((f"O{lvl}-noreuse", [f"-O{lvl}", "--no-memory-reuse"]))
    return out


def command(gc, d, feeds, fetches, flags, tag):
    cmd = [gc, os.path.join(d, "graph.pbtxt"), "--run"] + flags
    for name, path in feeds:
        cmd += ["--feed", f"{name}={path}"]
    for f in fetches:
        cmd += ["--fetch", f, "--output", f"{f}={os.path.join(d, f'got_{tag}_{f}.npy')}"]
    return cmd


def compare(val, got):
    """None when got matches the reference Val, else what differs."""
    want = val.expected()
    want_dt = ref.NP[val.dt]
    if got.dtype != np.dtype(want_dt):
        return f"dtype: expected {np.dtype(want_dt)}, got {got.dtype}"
    if got.shape != want.shape:
        return f"shape: expected {want.shape}, got {got.shape}"
    if val.dt in FLOATS:
        g64 = got.astype(np.float64)
        atol, rtol = ref.TOL[val.dt]
        fin = np.isfinite(want)
        with np.errstate(invalid="ignore"):
            tol = np.maximum(atol + rtol * np.abs(want), 4 * val.e)
            close = np.abs(g64 - want) <= tol
        same = (np.isnan(want) & np.isnan(g64)) | (want == g64)
        bad = np.where(fin, ~close, ~same)
    else:
        bad = got != want
    if not np.any(bad):
        return None
    idx = np.argwhere(bad)
    first = tuple(int(i) for i in idx[0]) if idx.size else ()
    msg = f"{int(np.sum(bad))} of {want.size} elements differ; first at {first}: "
    msg += f"expected {want[first]!r}, got {got[first]!r}"
    return msg


def short(a, n=12):
    flat = np.asarray(a).reshape(-1)
    s = np.array2string(flat[:n], precision=7, separator=", ",
                        max_line_width=10**6)
    return s + (" ..." if flat.size > n else "")


def run_case(g, d, gc, levels):
    """Runs every config; returns a list of failure lines (empty: passed)."""
    feeds = write_case(g, d)
    fails = []
    got = {}
    for tag, flags in configs(levels):
        cmd = command(gc, d, feeds, g.fetches, flags, tag)
        try:
            p = subprocess.run(cmd, capture_output=True, text=True,
                               timeout=TIMEOUT_S)
        except subprocess.TimeoutExpired:
            fails.append(f"[{tag}] timed out after {TIMEOUT_S} s")
            continue
        if p.returncode != 0:
            err = (p.stderr or p.stdout).strip().splitlines()
            fails.append(f"[{tag}] exit status {p.returncode}: "
                         + " | ".join(err[-6:]))
            continue
        for f in g.fetches:
            path = os.path.join(d, f"got_{tag}_{f}.npy")
            try:
                a = np.load(path)
            except Exception as e:  # noqa: BLE001
                fails.append(f"[{tag}] fetch {f}: cannot read output: {e}")
                continue
            got[(tag, f)] = a
            why = compare(g.by_name[f].val, a)
            if why:
                val = g.by_name[f].val
                fails.append(f"[{tag}] fetch {f} ({val.dt}{list(val.shape)}): {why}\n"
                             f"      expected {short(val.expected())}\n"
                             f"      got      {short(a)}")
    for lvl in levels:
        for f in g.fetches:
            a, b = got.get((f"O{lvl}", f)), got.get((f"O{lvl}-noreuse", f))
            if a is not None and b is not None and (
                    a.dtype != b.dtype or a.shape != b.shape
                    or a.tobytes() != b.tobytes()):
                fails.append(f"[O{lvl}] fetch {f}: planned and --no-memory-reuse "
                             f"outputs differ in their bits")
    return fails


def repro_script(gc_hint, g, levels):
    feeds = [(n.name, f"feed_{n.name}.npy") for n in g.live() if n.op == "Placeholder"]
    lines = ["#!/bin/sh", "# Rerun every configuration of this failing graph.",
             'GC="${GRAPH_COMPILE:-%s}"' % gc_hint, 'cd "$(dirname "$0")"']
    for tag, flags in configs(levels):
        args = " ".join(flags + [f"--feed {n}={p}" for n, p in feeds]
                        + [f"--fetch {f}" for f in g.fetches])
        lines.append(f'echo "== {tag}"; "$GC" graph.pbtxt --run {args}')
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------
# Shrinking a failing graph
# ---------------------------------------------------------------------------

def reduce_case(g, gc, levels, scratch):
    """Greedily shrinks g while it still fails: drops fetches and cuts nodes
    into Placeholders fed their reference values."""
    def fails(cand):
        d = tempfile.mkdtemp(dir=scratch)
        try:
            return bool(run_case(cand, d, gc, levels))
        finally:
            shutil.rmtree(d, ignore_errors=True)

    def clone(src):
        c = Graph()
        for n in src.nodes:
            c.add(Node(n.name, n.op, list(n.inputs), dict(n.attrs), n.val))
        c.fetches = list(src.fetches)
        c.reverse_order = False
        return c

    g = clone(g)
    g.nodes = g.live()
    g.by_name = {n.name: n for n in g.nodes}
    changed = True
    while changed:
        changed = False
        for f in list(g.fetches):
            if len(g.fetches) == 1:
                break
            c = clone(g)
            c.fetches.remove(f)
            if fails(c):
                g, changed = c, True
        for n in list(reversed(g.nodes)):
            if n.op in ("Placeholder", "Constant") or n.name not in g.by_name:
                continue
            for leaf_op in ("Placeholder", "Constant"):
                c = clone(g)
                node = c.by_name[n.name]
                if node.val.dt in FLOATS:
                    arr = ref.to_array(node.val)
                    node.val = ref.from_array(node.val.dt, arr)
                node.op, node.inputs, node.attrs = leaf_op, [], {}
                try:
                    c.reevaluate()
                except Reject:
                    continue
                c.nodes = c.live()
                c.by_name = {m.name: m for m in c.nodes}
                if fails(c):
                    g, changed = c, True
                    break
    return g


# ---------------------------------------------------------------------------
# Main
# ---------------------------------------------------------------------------

def one(seed, args, scratch):
    t0 = time.time()
    try:
        g = generate(seed)
    except Reject as e:
        return seed, None, [f"generator gave up: {e}"]
    except Exception:  # noqa: BLE001 - a bug in the generator, not in Kiln
        import traceback
        return seed, None, ["generator error (a bug in random_graphs.py):\n"
                            + traceback.format_exc()]
    d = tempfile.mkdtemp(prefix=f"seed{seed}_", dir=scratch)
    fails = run_case(g, d, args.graph_compile, args.opt)
    if not fails:
        shutil.rmtree(d, ignore_errors=True)
        if args.verbose:
            print(f"ok seed {seed}: {len(g.live())} nodes, {time.time() - t0:.2f} s",
                  flush=True)
        return seed, g, []
    keep = os.path.join(args.out, f"seed_{seed}")
    shutil.rmtree(keep, ignore_errors=True)
    shutil.copytree(d, keep)
    shutil.rmtree(d, ignore_errors=True)
    with open(os.path.join(keep, "repro.sh"), "w") as f:
        f.write(repro_script(args.graph_compile, g, args.opt))
    os.chmod(os.path.join(keep, "repro.sh"), 0o755)
    with open(os.path.join(keep, "failure.txt"), "w") as f:
        f.write("\n".join(fails) + "\n")
    if args.reduce:
        small = reduce_case(g, args.graph_compile, args.opt, scratch)
        red = os.path.join(keep, "reduced")
        os.makedirs(red, exist_ok=True)
        rfails = run_case(small, red, args.graph_compile, args.opt)
        with open(os.path.join(red, "failure.txt"), "w") as f:
            f.write("\n".join(rfails) + "\n")
        with open(os.path.join(red, "repro.sh"), "w") as f:
            f.write(repro_script(args.graph_compile, small, args.opt))
        os.chmod(os.path.join(red, "repro.sh"), 0o755)
    return seed, g, fails


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--graph-compile", required=True, help="the graph-compile binary")
    ap.add_argument("--seed", type=int, default=0, help="first seed (default 0)")
    ap.add_argument("--count", type=int, default=100, help="graphs to run (default 100)")
    ap.add_argument("--opt", type=int, action="append",
                    help="optimization level to run (repeatable; default 0 and 2)")
    ap.add_argument("--out", default="random_graphs_failures",
                    help="folder that keeps failing graphs (default ./random_graphs_failures)")
    ap.add_argument("--jobs", type=int, default=1, help="graphs run at once (default 1)")
    ap.add_argument("--reduce", action="store_true", help="shrink failing graphs too")
    ap.add_argument("--print-graph", action="store_true",
                    help="print each generated graph's text and exit")
    ap.add_argument("--no-plan-check", action="store_true",
                    help="skip the --no-memory-reuse runs (for a graph-compile "
                         "older than that flag)")
    ap.add_argument("--with-known-bugs", action="store_true",
                    help="also generate what triggers the Kiln bugs in KNOWN_BUGS")
    ap.add_argument("-v", "--verbose", action="store_true", help="a line per graph")
    args = ap.parse_args()
    args.opt = args.opt or [0, 2]
    if args.with_known_bugs:
        AVOID.clear()
    if args.no_plan_check:
        global PLAN_CHECK
        PLAN_CHECK = False
    args.graph_compile = os.path.abspath(args.graph_compile)
    if args.print_graph:
        for s in range(args.seed, args.seed + args.count):
            g = generate(s)
            sys.stdout.write(graph_text(g, g.live()))
        return 0
    if not os.access(args.graph_compile, os.X_OK):
        sys.stderr.write(f"not an executable: {args.graph_compile}\n")
        return 2
    os.makedirs(args.out, exist_ok=True)
    args.out = os.path.abspath(args.out)
    scratch = tempfile.mkdtemp(prefix="random_graphs_")
    start = time.time()
    passed = failed = 0
    stats = {"ops": 0, "fetches": 0}
    seeds = range(args.seed, args.seed + args.count)
    try:
        with concurrent.futures.ThreadPoolExecutor(max(1, args.jobs)) as pool:
            for seed, g, fails in pool.map(lambda s: one(s, args, scratch), seeds):
                if g is not None:
                    live = g.live()
                    stats["ops"] += sum(n.op not in ("Placeholder", "Constant") for n in live)
                    stats["fetches"] += len(g.fetches)
                if fails:
                    failed += 1
                    print(f"FAIL seed {seed}: {len(fails)} problem(s); graph kept in "
                          f"{os.path.join(args.out, f'seed_{seed}')}/graph.pbtxt "
                          f"(reproduce: --seed {seed} --count 1)")
                    for line in fails[:8]:
                        print("  " + line)
                    if len(fails) > 8:
                        print(f"  ... {len(fails) - 8} more in failure.txt")
                else:
                    passed += 1
                sys.stdout.flush()
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    print(f"seeds {args.seed}..{args.seed + args.count - 1}, levels "
          f"{args.opt}, {stats['ops']} ops, {stats['fetches']} fetches, "
          f"{time.time() - start:.1f} s")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
