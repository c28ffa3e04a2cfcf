"""The numpy reference for random_graphs.py: what each Kiln GraphDef op computes.

Every tensor is a `Val`: its dtype name, its value, and for floats an
elementwise bound on how far Kiln's result may lie from that value.

Floats are carried as float64 "ideal" values (the exact result of the op on
the ideal inputs, rounded once to float64); `err` bounds the distance between
that ideal and what a correct implementation in the tensor's own dtype
computes (input errors propagated through the op's derivative, plus the
rounding of the op itself). An element whose `err` is 0 is known exactly: a
correct Kiln must produce that very value.

The bound is what makes discontinuous ops safe to test: a comparison, a
Cast to an integer, Floor, Sign or ArgMax of a float is only accepted
(otherwise `Reject` is raised and the generator picks something else) when
every element lies further from the discontinuity than its error bound, or
is known exactly. Integers and bools are exact; an op whose integer result
would overflow its dtype, or that would divide by zero, is rejected too.
"""

import math

import numpy as np

FLOATS = ("f16", "f32", "f64")
SIGNED = ("i8", "i32", "i64")
UNSIGNED = ("u8",)
INTS = SIGNED + UNSIGNED
NUMERIC = FLOATS + INTS
ALL = NUMERIC + ("bool",)

NP = {
    "bool": np.bool_, "i8": np.int8, "u8": np.uint8, "i32": np.int32,
    "i64": np.int64, "f16": np.float16, "f32": np.float32, "f64": np.float64,
}
PROTO = {
    "bool": "DT_BOOL", "i8": "DT_INT8", "u8": "DT_UINT8", "i32": "DT_INT32",
    "i64": "DT_INT64", "f16": "DT_HALF", "f32": "DT_FLOAT", "f64": "DT_DOUBLE",
}
# Unit roundoff of each float dtype.
UNIT = {"f16": 2.0**-11, "f32": 2.0**-24, "f64": 2.0**-53}
# Output comparison (atol, rtol) per dtype; the check also allows 4x the
# tracked error bound, which matters for f64 tensors computed from f32 ones.
TOL = {"f16": (1e-3, 1e-2), "f32": (1e-5, 1e-4), "f64": (1e-12, 1e-10)}
# The generator keeps every float's error bound under a quarter of this
# tolerance, so that the comparison above stays meaningful.
GEN_TOL = {"f16": (1e-3, 1e-2), "f32": (1e-5, 1e-4), "f64": (1e-5, 1e-4)}
# Largest magnitude a float tensor may reach (ill-conditioning grows with it).
LIMIT = {"f16": 1e3, "f32": 1e4, "f64": 1e4}
INT_RANGE = {
    "i8": (-128, 127), "u8": (0, 255), "i32": (-2**31, 2**31 - 1),
    "i64": (-2**63, 2**63 - 1), "bool": (0, 1),
}


class Reject(Exception):
    """The op, with these inputs, is not one the test can judge exactly."""


class Val:
    __slots__ = ("dt", "v", "e")

    def __init__(self, dt, v, e=None):
        self.dt = dt
        self.v = v
        if dt in FLOATS and e is None:
            e = np.zeros(v.shape)
        self.e = e

    @property
    def shape(self):
        return tuple(self.v.shape)

    def expected(self):
        """The array Kiln should return (floats: the float64 ideal)."""
        if self.dt in FLOATS:
            return self.v
        return self.v.astype(NP[self.dt])


def from_array(dt, a):
    """A Val for a feed or constant holding array `a` (already in dtype dt)."""
    a = np.asarray(a)
    if dt in FLOATS:
        return Val(dt, a.astype(NP[dt]).astype(np.float64))
    if dt == "bool":
        return Val(dt, a.astype(bool))
    return Val(dt, a.astype(np.int64))


def to_array(val):
    """The array a feed or constant with these (exact) values holds."""
    return val.v.astype(NP[val.dt])


def nelems(shape):
    return int(np.prod(shape, dtype=np.int64))


# ---------------------------------------------------------------------------
# Checks shared by the ops
# ---------------------------------------------------------------------------

def representable(dt, r):
    """Where the float64 values r are exactly representable in float dtype dt."""
    with np.errstate(over="ignore", invalid="ignore"):
        if dt == "f64":
            # r is already a float64; it is the exact result only where it
            # needs few bits (f32 values, or dyadic rationals of modest size).
            scaled = r * 2.0**20
            return (r.astype(np.float32).astype(np.float64) == r) | (
                (scaled == np.round(scaled)) & (np.abs(scaled) < 2.0**52))
        return r.astype(NP[dt]).astype(np.float64) == r


def rounding(dt, r):
    """Error bound of rounding the exact results r to dt once."""
    bound = UNIT[dt] * np.abs(r) + (1e-40 if dt != "f16" else 6e-8)
    return np.where(representable(dt, r), 0.0, bound)


# Set by evaluate() while an op whose IEEE 754 behaviour on NaN and
# infinities is unambiguous reads such values: its results may be non-finite
# too, and must then match exactly.
_nonfinite_ok = False


def check_float(dt, r, e):
    r = np.asarray(r, dtype=np.float64)
    e = np.asarray(e, dtype=np.float64)
    fin = np.isfinite(r)
    if not np.all(fin):
        if not _nonfinite_ok:
            raise Reject("non-finite")
        e = np.where(fin, e, 0.0)
        if np.any(np.isnan(e)):
            raise Reject("error bound unknown")
    rf, ef = r[fin], e[fin]
    if rf.size and np.max(np.abs(rf)) > LIMIT[dt]:
        raise Reject("too large")
    atol, rtol = GEN_TOL[dt]
    if np.any(~(ef <= 0.25 * (atol + rtol * np.abs(rf)))):
        raise Reject("ill-conditioned")
    if dt == "f16" and rf.size and np.min(np.abs(rf[rf != 0]), initial=1.0) < 1e-4:
        raise Reject("f16 subnormal")
    return Val(dt, r, e)


def check_int(dt, r):
    lo, hi = INT_RANGE[dt]
    if r.size and (np.min(r) < lo or np.max(r) > hi):
        raise Reject("integer overflow")
    return Val(dt, r.astype(np.int64))


def int_magnitude_ok(*bounds):
    """Whether a product of values with these magnitudes fits int64 safely."""
    return float(np.prod([float(b) + 1 for b in bounds])) < 2.0**62


def safe_threshold(x, e, t, margin=2.0):
    """Whether every x lies clear of threshold t (or is exact)."""
    return bool(np.all((e == 0) | (np.abs(x - t) > margin * e + 1e-300)))


def bcast(vals):
    try:
        shape = np.broadcast_shapes(*[v.shape for v in vals])
    except ValueError:
        raise Reject("shapes do not broadcast")
    return shape, [np.broadcast_to(v.v, shape) for v in vals], [
        np.broadcast_to(v.e, shape) if v.e is not None else None for v in vals]


def same_dtype(ins):
    if len({v.dt for v in ins}) != 1:
        raise Reject("dtype mismatch")
    return ins[0].dt


def trans_round(dt, r, scale=0.0):
    """Error bound of a transcendental function's own computation."""
    k = 1.5 if dt == "f16" else 8.0  # f16 math runs in f32, rounded once
    return k * UNIT[dt] * (np.abs(r) + scale) + (6e-8 if dt == "f16" else 1e-30)


def g(n):
    """Growth of accumulated rounding over n terms (a likely, not worst, bound)."""
    return float(min(n, 4.0 * math.sqrt(n) + 2.0))


# ---------------------------------------------------------------------------
# Elementwise
# ---------------------------------------------------------------------------

def ev_binary(op, attrs, ins):
    dt = same_dtype(ins)
    shape, (a, b), (ae, be) = bcast(ins)
    if dt == "bool":
        if op == "And":
            return Val(dt, a & b)
        if op == "Or":
            return Val(dt, a | b)
        raise Reject("bool arithmetic")
    if op in ("And", "Or"):
        raise Reject("And/Or take bools")
    if dt in FLOATS:
        with np.errstate(all="ignore"):
            if op == "Add":
                r, e = a + b, ae + be
            elif op == "Sub":
                r, e = a - b, ae + be
            elif op == "Mul":
                r, e = a * b, np.abs(a) * be + np.abs(b) * ae + ae * be
            elif op == "Div":
                if np.any(np.abs(b) - be < 0.125) or np.any(be > 0.01 * np.abs(b)):
                    raise Reject("divisor near zero")
                r = a / b
                e = (ae + np.abs(r) * be) / (np.abs(b) - be)
            elif op == "PRelu":
                r = np.where(a < 0, a * b, a)
                e = ae * np.maximum(1.0, np.abs(b)) + np.abs(a) * be + ae * be
            elif op == "Pow":
                if np.any(a - ae < 0.25) or np.any(np.abs(b) > 3):
                    raise Reject("pow domain")
                r = np.power(a, b)
                e = (np.abs(b * np.power(a - ae, b - 1)) * ae * 1.01
                     + np.abs(np.log(a)) * np.abs(r) * be * 1.01
                     + trans_round(dt, r))
                return check_float(dt, r, e)
            else:
                raise AssertionError(op)
        return check_float(dt, r, e + rounding(dt, r))
    # Integers: exact, and neither overflow nor division by zero is tested.
    if op == "Pow":
        raise Reject("Pow takes floats")
    amax = int(np.max(np.abs(a), initial=0))
    bmax = int(np.max(np.abs(b), initial=0))
    if op in ("Mul", "PRelu") and not int_magnitude_ok(amax, bmax):
        raise Reject("int64 overflow")
    if op in ("Add", "Sub") and not int_magnitude_ok(amax + bmax):
        raise Reject("int64 overflow")
    if op == "Add":
        r = a + b
    elif op == "Sub":
        r = a - b
    elif op == "Mul":
        r = a * b
    elif op == "Div":
        if np.any(b == 0):
            raise Reject("division by zero")
        q = np.abs(a) // np.abs(b)
        r = np.where((a < 0) != (b < 0), -q, q)
    elif op == "PRelu":
        r = np.where(a < 0, a * b, a)
    else:
        raise AssertionError(op)
    return check_int(dt, r)


def ev_compare(op, attrs, ins):
    dt = same_dtype(ins)
    shape, (a, b), (ae, be) = bcast(ins)
    if dt == "bool" and op != "Equal":
        raise Reject("ONNX orders no bools")
    if dt in FLOATS:
        d = a - b
        e = ae + be
        if not np.all(((e == 0)) | (np.abs(d) > 2 * e + 1e-300)):
            raise Reject("comparison too close to call")
    if op == "Equal":
        return Val("bool", np.asarray(a == b))
    if op == "Less":
        return Val("bool", np.asarray(a < b))
    return Val("bool", np.asarray(a > b))


def ev_where(attrs, ins):
    c, x, y = ins
    if c.dt != "bool" or x.dt != y.dt:
        raise Reject("where types")
    shape, (cv, xv, yv), (_, xe, ye) = bcast(ins)
    r = np.where(cv, xv, yv)
    if x.dt in FLOATS:
        return Val(x.dt, r, np.where(cv, xe, ye))
    return Val(x.dt, r)


def ev_not(attrs, ins):
    (x,) = ins
    if x.dt != "bool":
        raise Reject("Not takes bools")
    return Val("bool", ~x.v)


def ev_simple_unary(op, attrs, ins):
    """Relu, Neg, Abs, Sign, Identity, Clip: any numeric dtype."""
    (x,) = ins
    dt, v, e = x.dt, x.v, x.e
    if op == "Identity":
        return Val(dt, v, e)
    if dt == "bool":
        raise Reject("no arithmetic on bools")
    if op == "Neg" and dt in UNSIGNED:
        raise Reject("ONNX Neg is signed")
    if dt in FLOATS:
        if op == "Relu":
            return Val(dt, np.maximum(v, 0.0), e)
        if op == "Neg":
            return Val(dt, -v, e)
        if op == "Abs":
            return Val(dt, np.abs(v), e)
        if op == "Sign":
            if not safe_threshold(v, e, 0.0):
                raise Reject("sign too close to call")
            return Val(dt, np.sign(v), np.zeros(v.shape))
        if op == "Clip":
            lo, hi = attrs.get("min"), attrs.get("max")
            r = v
            if lo is not None:
                r = np.maximum(r, np.float64(np.float32(lo)))
            if hi is not None:
                r = np.minimum(r, np.float64(np.float32(hi)))
            return Val(dt, r, e)
        raise AssertionError(op)
    if op == "Relu":
        return check_int(dt, np.maximum(v, 0))
    if op == "Neg":
        return check_int(dt, -v)
    if op == "Abs":
        return check_int(dt, np.abs(v))
    if op == "Sign":
        return check_int(dt, np.sign(v))
    if op == "Clip":
        r = v
        if attrs.get("min") is not None:
            r = np.maximum(r, int(attrs["min"]))
        if attrs.get("max") is not None:
            r = np.minimum(r, int(attrs["max"]))
        return check_int(dt, r)
    raise AssertionError(op)


_erf = np.vectorize(math.erf, otypes=[np.float64])


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def ev_float_unary(op, attrs, ins):
    (x,) = ins
    dt = x.dt
    if dt not in FLOATS:
        raise Reject("float op")
    v, e = x.v, x.e
    lo, hi = v - e, v + e
    with np.errstate(all="ignore"):
        if op == "Sigmoid":
            r = _sigmoid(v)
            return check_float(dt, r, 0.26 * e + trans_round(dt, r, 1.0))
        if op == "Tanh":
            r = np.tanh(v)
            return check_float(dt, r, e + trans_round(dt, r, 1.0))
        if op == "Exp":
            if np.any(np.abs(v) > (6 if dt == "f16" else 10)):
                raise Reject("exp range")
            r = np.exp(v)
            return check_float(dt, r, np.exp(hi) * e + trans_round(dt, r))
        if op == "Log":
            if np.any(lo < 0.05) or np.any(e > 0.01 * v):
                raise Reject("log domain")
            r = np.log(v)
            return check_float(dt, r, e / lo + trans_round(dt, r, 1.0))
        if op == "Sqrt":
            exact0 = (v == 0) & (e == 0)
            if not np.all(exact0 | ((lo >= 0.01) & (e < 0.01 * v))):
                raise Reject("sqrt domain")
            r = np.sqrt(v)
            de = np.where(exact0, 0.0, 0.5 / np.sqrt(np.maximum(lo, 1e-9)) * e)
            return check_float(dt, r, de + rounding(dt, r))
        if op == "Erf":
            r = _erf(v)
            return check_float(dt, r, 1.13 * e + trans_round(dt, r, 1.0))
        if op in ("Floor", "Ceil", "Round"):
            if op == "Round":
                dist = np.abs(v - (np.floor(v) + 0.5))
            else:
                dist = np.abs(v - np.round(v))
            if not np.all((e == 0) | (dist > 2 * e + 1e-300)):
                raise Reject("too close to a step")
            r = {"Floor": np.floor, "Ceil": np.ceil, "Round": np.round}[op](v)
            return check_float(dt, r, np.zeros(v.shape))
        if op == "Reciprocal":
            if np.any(np.abs(v) - e < 0.125):
                raise Reject("reciprocal near zero")
            r = 1.0 / v
            return check_float(dt, r,
                               e / (np.abs(v) - e) ** 2 + rounding(dt, r))
        if op in ("Cos", "Sin"):
            if np.any(np.abs(v) > 20):
                raise Reject("trig range")
            r = np.cos(v) if op == "Cos" else np.sin(v)
            return check_float(dt, r, e + trans_round(dt, r, 1.0))
        if op == "Tan":
            c = np.cos(v)
            if np.any(np.abs(c) < 0.3) or np.any(np.abs(v) > 20) or np.any(e > 0.01):
                raise Reject("tan near a pole")
            r = np.tan(v)
            return check_float(dt, r, e / (np.abs(c) - e) ** 2 * 1.1
                               + trans_round(dt, r, 1.0))
        if op == "Atan":
            r = np.arctan(v)
            return check_float(dt, r, e + trans_round(dt, r, 1.0))
        if op == "Softplus":
            if np.any(v > 15):
                raise Reject("softplus range")
            r = np.log1p(np.exp(v))
            return check_float(dt, r, e + trans_round(dt, r, 2.0))
        if op == "HardSwish":
            r = v * np.clip(v / 6 + 0.5, 0, 1)
            return check_float(dt, r, 1.5 * e + trans_round(dt, r, np.abs(v)))
        if op == "HardSigmoid":
            alpha = float(np.float32(attrs.get("alpha", 0.2)))
            beta = float(np.float32(attrs.get("beta", 0.5)))
            r = np.clip(alpha * v + beta, 0, 1)
            return check_float(dt, r, abs(alpha) * e + trans_round(dt, r, 1.0))
        if op == "LeakyRelu":
            alpha = float(np.float32(attrs.get("alpha", 0.01)))
            r = np.where(v < 0, alpha * v, v)
            return check_float(dt, r, max(1.0, abs(alpha)) * e
                               + rounding(dt, r))
        if op in ("Elu", "Selu"):
            alpha = float(np.float32(attrs.get(
                "alpha", 1.0 if op == "Elu" else 1.67326319217681884765625)))
            gamma = float(np.float32(attrs.get(
                "gamma", 1.05070102214813232421875))) if op == "Selu" else 1.0
            if np.any(v > 50):
                raise Reject("range")
            r = gamma * np.where(v <= 0, alpha * np.expm1(v), v)
            return check_float(
                dt, r, gamma * max(1.0, abs(alpha)) * e
                + trans_round(dt, r, gamma * abs(alpha)))
        if op == "Gelu":
            if attrs.get("approximate", "none") == "tanh":
                r = 0.5 * v * (1 + np.tanh(math.sqrt(2 / math.pi)
                                           * (v + 0.044715 * v**3)))
            else:
                r = 0.5 * v * (1 + _erf(v / math.sqrt(2)))
            return check_float(dt, r, 1.2 * e + trans_round(dt, r, np.abs(v)))
    raise AssertionError(op)


def ev_cast(attrs, ins):
    (x,) = ins
    to = attrs["to"]
    dt, v, e = x.dt, x.v, x.e
    if dt == to:
        return Val(dt, v, e)
    if to == "bool":
        if dt in FLOATS and not safe_threshold(v, e, 0.0):
            raise Reject("cast to bool too close to call")
        return Val("bool", np.asarray(v != 0))
    if to in FLOATS:
        r = v.astype(np.float64)
        if dt in FLOATS:
            if to != "f64" and np.any(np.abs(r[np.isfinite(r)]) > LIMIT[to]):
                raise Reject("range")
            return check_float(to, r, e + rounding(to, r))
        return check_float(to, r, rounding(to, r))
    # To an integer dtype.
    if dt in FLOATS:
        lo, hi = INT_RANGE[to]
        if np.any(v - e < (0 if to in UNSIGNED else lo + 1)) or np.any(v + e > hi - 1):
            raise Reject("cast out of range")
        t = np.trunc(v)
        if not np.all((e == 0) | (np.trunc(v - 2 * e) == np.trunc(v + 2 * e))):
            raise Reject("cast too close to an integer")
        return check_int(to, t.astype(np.int64))
    if dt == "bool":
        return Val(to, v.astype(np.int64))
    # Integer to integer: two's complement wrap-around, as numpy and C do.
    return Val(to, v.astype(NP[dt]).astype(NP[to]).astype(np.int64))


# ---------------------------------------------------------------------------
# Reductions, softmax, cumsum, arg
# ---------------------------------------------------------------------------

def norm_axes(axes, rank):
    out = []
    for a in axes:
        if not -rank <= a < rank:
            raise Reject("axis")
        out.append(a % rank)
    if len(set(out)) != len(out):
        raise Reject("repeated axis")
    return tuple(sorted(out))


def ev_reduce(op, attrs, ins):
    (x,) = ins
    dt, v, e = x.dt, x.v, x.e
    rank = v.ndim
    axes = attrs.get("axes")
    axes = tuple(range(rank)) if not axes else norm_axes(axes, rank)
    keep = bool(attrs.get("keepdims", 1))
    n = int(np.prod([v.shape[a] for a in axes], dtype=np.int64)) if axes else 1
    if n == 0:
        raise Reject("empty reduction")
    if dt == "bool":
        if op == "ReduceMax":
            return Val(dt, np.any(v, axis=axes, keepdims=keep))
        if op == "ReduceMin":
            return Val(dt, np.all(v, axis=axes, keepdims=keep))
        raise Reject("bool reduction")
    if dt in FLOATS:
        with np.errstate(all="ignore"):
            if op in ("ReduceSum", "ReduceMean"):
                r = np.sum(v, axis=axes, keepdims=keep)
                se = np.sum(e, axis=axes, keepdims=keep)
                sa = np.sum(np.abs(v), axis=axes, keepdims=keep)
                err = se + g(n) * UNIT[dt] * sa + rounding(dt, r)
                if op == "ReduceMean":
                    # Kiln may multiply by 1/n, exact only for powers of 2.
                    r = r / n
                    err = err / n + (rounding(dt, r) if n & (n - 1) == 0
                                     else 2 * UNIT[dt] * np.abs(r))
                return check_float(dt, r, err)
            if op in ("ReduceMax", "ReduceMin"):
                f = np.max if op == "ReduceMax" else np.min
                return check_float(dt, f(v, axis=axes, keepdims=keep),
                                   np.max(e, axis=axes, keepdims=keep))
            if op == "ReduceProd":
                if np.any(np.abs(v) < 0.25) or n > 16:
                    raise Reject("prod conditioning")
                r = np.prod(v, axis=axes, keepdims=keep)
                rel = np.sum(e / (np.abs(v) - e), axis=axes, keepdims=keep)
                return check_float(dt, r, np.abs(r) * (1.01 * rel + (n + 1) * UNIT[dt]))
        raise AssertionError(op)
    if op == "ReduceMean":
        raise Reject("integer mean is left open")
    amax = int(np.max(np.abs(v), initial=0))
    if op == "ReduceSum":
        if not int_magnitude_ok(amax * n):
            raise Reject("overflow")
        return check_int(dt, np.sum(v, axis=axes, keepdims=keep))
    if op == "ReduceProd":
        if n > 8 or not int_magnitude_ok(*([amax] * n)):
            raise Reject("overflow")
        return check_int(dt, np.prod(v, axis=axes, keepdims=keep))
    f = np.max if op == "ReduceMax" else np.min
    return Val(dt, f(v, axis=axes, keepdims=keep))


def ev_arg(op, attrs, ins):
    (x,) = ins
    dt, v, e = x.dt, x.v, x.e
    if dt == "bool":
        raise Reject("ONNX ArgMax takes numbers")
    rank = v.ndim
    if rank == 0:
        raise Reject("scalar")
    axis = norm_axes([attrs.get("axis", 0)], rank)[0]
    keep = bool(attrs.get("keepdims", 1))
    last = bool(attrs.get("select_last_index", 0))
    if v.shape[axis] == 0:
        raise Reject("empty")
    w = v if op == "ArgMax" else -v
    if dt in FLOATS:
        best = np.max(w, axis=axis, keepdims=True)
        emax = np.max(e, axis=axis, keepdims=True)
        near = w >= best - 2 * emax - 1e-300
        if not np.all((emax == 0) | (np.sum(near, axis=axis, keepdims=True) == 1)):
            raise Reject("arg too close to call")
    if last:
        flipped = np.flip(w, axis=axis)
        r = w.shape[axis] - 1 - np.argmax(flipped, axis=axis)
    else:
        r = np.argmax(w, axis=axis)
    if keep:
        r = np.expand_dims(r, axis)
    return Val("i64", np.asarray(r).astype(np.int64))


def ev_softmax(op, attrs, ins):
    (x,) = ins
    dt, v, e = x.dt, x.v, x.e
    if dt not in FLOATS or v.ndim == 0:
        raise Reject("softmax takes floats of rank >= 1")
    axis = norm_axes([attrs.get("axis", -1)], v.ndim)[0]
    n = v.shape[axis]
    m = np.max(v, axis=axis, keepdims=True)
    z = np.exp(v - m)
    s = np.sum(z, axis=axis, keepdims=True)
    big_e = np.max(e, axis=axis, keepdims=True)
    u = UNIT[dt]
    if op == "Softmax":
        r = z / s
        err = r * (2.2 * big_e + (8 + g(n)) * u) + (8 + g(n)) * u * 1e-3
        return check_float(dt, r, err)
    r = v - m - np.log(s)
    err = 2.2 * big_e + (8 + g(n)) * u * (np.abs(r) + np.abs(m) + 1)
    return check_float(dt, r, err)


def ev_cumsum(attrs, ins):
    (x,) = ins
    dt, v, e = x.dt, x.v, x.e
    if dt == "bool" or v.ndim == 0:
        raise Reject("cumsum")
    axis = norm_axes([attrs["axis"]], v.ndim)[0]
    excl = bool(attrs.get("exclusive", 0))
    rev = bool(attrs.get("reverse", 0))

    def scan(a):
        if rev:
            a = np.flip(a, axis)
        c = np.cumsum(a, axis=axis)
        if excl:
            c = c - a
        if rev:
            c = np.flip(c, axis)
        return c

    if dt in FLOATS:
        n = v.shape[axis]
        r = scan(v)
        if excl:
            # Recompute exclusive sums without the cancellation of c - a.
            pad = [(0, 0)] * v.ndim
            pad[axis] = (1, 0)
            src = np.flip(v, axis) if rev else v
            sh = np.pad(src, pad)[tuple(slice(0, s) for s in src.shape)]
            r = np.cumsum(sh, axis=axis)
            r = np.flip(r, axis) if rev else r
        err = scan(e) + g(n) * UNIT[dt] * scan(np.abs(v)) + rounding(dt, r)
        return check_float(dt, r, err)
    amax = int(np.max(np.abs(v), initial=0))
    if not int_magnitude_ok(amax * max(1, v.shape[axis])):
        raise Reject("overflow")
    return check_int(dt, scan(v))


# ---------------------------------------------------------------------------
# Contractions
# ---------------------------------------------------------------------------

def ev_matmul(attrs, ins):
    a, b = ins
    dt = same_dtype(ins)
    if dt == "bool" or a.v.ndim == 0 or b.v.ndim == 0:
        raise Reject("matmul")
    if dt in ("i8", "u8"):
        raise Reject("matmul dtype")
    try:
        r = np.matmul(a.v, b.v)
    except ValueError:
        raise Reject("shapes")
    k = a.v.shape[-1]
    if dt in FLOATS:
        pa = np.matmul(np.abs(a.v), np.abs(b.v))
        err = (np.matmul(np.abs(a.v), b.e) + np.matmul(a.e, np.abs(b.v))
               + np.matmul(a.e, b.e) + (g(k) + 1) * UNIT[dt] * pa)
        # Small multiples of 1/16 multiply and add exactly in any order.
        grid = all(np.all(x.v * 16 == np.round(x.v * 16)) for x in ins)
        if grid and np.all(pa * 256 < 2.0**24 if dt != "f64" else True):
            err = np.where(err == (g(k) + 1) * UNIT[dt] * pa, 0.0, err)
        return check_float(dt, np.asarray(r, dtype=np.float64), np.asarray(err))
    amax = int(np.max(np.abs(a.v), initial=0))
    bmax = int(np.max(np.abs(b.v), initial=0))
    if not int_magnitude_ok(amax, bmax, k):
        raise Reject("overflow")
    return check_int(dt, np.asarray(r))


def ev_gemm(attrs, ins):
    dt = same_dtype(ins)
    if dt not in FLOATS:
        raise Reject("gemm dtype")
    a, b = ins[0], ins[1]
    if a.v.ndim != 2 or b.v.ndim != 2:
        raise Reject("gemm rank")
    av, ae = (a.v.T, a.e.T) if attrs.get("transA", 0) else (a.v, a.e)
    bv, be = (b.v.T, b.e.T) if attrs.get("transB", 0) else (b.v, b.e)
    if av.shape[1] != bv.shape[0]:
        raise Reject("shapes")
    alpha = float(np.float32(attrs.get("alpha", 1.0)))
    beta = float(np.float32(attrs.get("beta", 1.0)))
    k = av.shape[1]
    p = av @ bv
    pa = np.abs(av) @ np.abs(bv)
    perr = np.abs(av) @ be + ae @ np.abs(bv) + ae @ be + (g(k) + 1) * UNIT[dt] * pa
    r = alpha * p
    err = abs(alpha) * perr + UNIT[dt] * np.abs(r)
    if len(ins) == 3:
        c = ins[2]
        try:
            cv = np.broadcast_to(c.v, r.shape)
            ce = np.broadcast_to(c.e, r.shape)
        except ValueError:
            raise Reject("C shape")
        if np.broadcast_shapes(c.shape, r.shape) != r.shape:
            raise Reject("C shape")
        r = r + beta * cv
        err = err + abs(beta) * ce + 2 * UNIT[dt] * (np.abs(r) + abs(beta) * np.abs(cv))
    return check_float(dt, r, err)


def ev_einsum(attrs, ins):
    dt = same_dtype(ins)
    if dt not in ("f32", "f64", "i32", "i64"):
        raise Reject("einsum dtype")
    eq = attrs["equation"]
    try:
        r = np.einsum(eq, *[v.v for v in ins])
    except ValueError:
        raise Reject("einsum shapes")
    r = np.asarray(r)
    lhs = eq.split("->")[0].replace("...", "")
    rhs = eq.split("->")[1] if "->" in eq else None
    letters = {c for c in lhs if c.isalpha()}
    kept = set(rhs) if rhs is not None else {
        c for c in letters if lhs.count(c) == 1}
    sizes = {}
    for term, v in zip(lhs.split(","), ins):
        for c, d in zip(term[::-1], v.shape[::-1]):
            sizes[c] = d
    k = int(np.prod([sizes[c] for c in letters - kept], dtype=np.int64))
    if dt in FLOATS:
        absv = [np.abs(v.v) for v in ins]
        if len(ins) == 1:
            err = np.einsum(eq, ins[0].e)
        else:
            a, b = ins
            err = (np.einsum(eq, absv[0], b.e) + np.einsum(eq, a.e, absv[1])
                   + np.einsum(eq, a.e, b.e))
        err = np.asarray(err) + (g(max(k, 1)) + 1) * UNIT[dt] * np.asarray(
            np.einsum(eq, *absv))
        return check_float(dt, r.astype(np.float64), err)
    mags = [int(np.max(np.abs(v.v), initial=0)) for v in ins]
    if not int_magnitude_ok(*(mags + [max(k, 1)])):
        raise Reject("overflow")
    return check_int(dt, r.astype(np.int64))


def _conv(x, w, strides, pads, dil, group):
    """N-D convolution of x [N, C, ...] with w [M, C/group, ...], x padded."""
    nd = w.ndim - 2
    xp = np.pad(x, [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)])
    ks = w.shape[2:]
    span = [(ks[i] - 1) * dil[i] + 1 for i in range(nd)]
    out_sp = [(xp.shape[2 + i] - span[i]) // strides[i] + 1 for i in range(nd)]
    if min(out_sp, default=1) <= 0:
        raise Reject("empty conv output")
    n, c = x.shape[:2]
    m = w.shape[0]
    cg, mg = c // group, m // group
    out = np.zeros((n, m) + tuple(out_sp))
    axes = list(range(1, 2 + nd))
    for idx in np.ndindex(*out_sp):
        sl = tuple(slice(idx[i] * strides[i], idx[i] * strides[i] + span[i], dil[i])
                   for i in range(nd))
        patch = xp[(slice(None), slice(None)) + sl]
        for gi in range(group):
            out[(slice(None), slice(gi * mg, (gi + 1) * mg)) + idx] = np.tensordot(
                patch[:, gi * cg:(gi + 1) * cg], w[gi * mg:(gi + 1) * mg],
                axes=(axes, axes))
    return out


def conv_params(attrs, nd):
    strides = attrs.get("strides") or [1] * nd
    pads = attrs.get("pads") or [0] * (2 * nd)
    dil = attrs.get("dilations") or [1] * nd
    if len(strides) != nd or len(pads) != 2 * nd or len(dil) != nd:
        raise Reject("conv attrs")
    return strides, pads, dil


def ev_conv(attrs, ins):
    dt = same_dtype(ins)
    if dt not in FLOATS:
        raise Reject("conv dtype")
    x, w = ins[0], ins[1]
    nd = x.v.ndim - 2
    if nd < 1 or w.v.ndim != x.v.ndim:
        raise Reject("conv rank")
    group = attrs.get("group", 1)
    if x.shape[1] % group or w.shape[0] % group or w.shape[1] != x.shape[1] // group:
        raise Reject("conv channels")
    if "kernel_shape" in attrs and list(attrs["kernel_shape"]) != list(w.shape[2:]):
        raise Reject("kernel_shape")
    strides, pads, dil = conv_params(attrs, nd)
    r = _conv(x.v, w.v, strides, pads, dil, group)
    k = w.shape[1] * int(np.prod(w.shape[2:]))
    err = (_conv(np.abs(x.v), w.e, strides, pads, dil, group)
           + _conv(x.e, np.abs(w.v), strides, pads, dil, group)
           + _conv(x.e, w.e, strides, pads, dil, group)
           + (g(k) + 2) * UNIT[dt] * _conv(np.abs(x.v), np.abs(w.v), strides,
                                           pads, dil, group))
    if len(ins) == 3:
        b = ins[2]
        if b.shape != (w.shape[0],):
            raise Reject("bias shape")
        shape = (1, -1) + (1,) * nd
        r = r + b.v.reshape(shape)
        err = err + b.e.reshape(shape) + UNIT[dt] * np.abs(r)
    return check_float(dt, r, err)


def ev_pool(op, attrs, ins):
    (x,) = ins
    dt = x.dt
    if dt == "bool" or (op == "AveragePool" and dt not in FLOATS):
        raise Reject("pool dtype")
    nd = x.v.ndim - 2
    if nd < 1:
        raise Reject("pool rank")
    ks = attrs["kernel_shape"]
    if len(ks) != nd:
        raise Reject("kernel_shape")
    strides, pads, dil = conv_params(attrs, nd)
    if any(pads[i] >= ks[i] or pads[i + nd] >= ks[i] for i in range(nd)):
        raise Reject("pads of a whole window")
    big = 1e300
    fill = -big if op == "MaxPool" else np.nan
    width = [(0, 0), (0, 0)] + [(pads[i], pads[i + nd]) for i in range(nd)]
    v = x.v.astype(np.float64) if dt not in INTS else x.v.astype(np.float64)
    if dt in INTS and np.max(np.abs(x.v), initial=0) > 2**52:
        raise Reject("int pool range")
    xp = np.pad(v, width, constant_values=fill)
    ep = np.pad(x.e, width) if x.e is not None else None
    span = [(ks[i] - 1) * dil[i] + 1 for i in range(nd)]
    out_sp = [(xp.shape[2 + i] - span[i]) // strides[i] + 1 for i in range(nd)]
    if min(out_sp) <= 0:
        raise Reject("empty pool output")
    r = np.zeros(x.shape[:2] + tuple(out_sp))
    err = np.zeros(r.shape)
    real_any = ~np.isnan(xp) & (xp != -big)
    include = attrs.get("count_include_pad", 0)
    for idx in np.ndindex(*out_sp):
        sl = (slice(None), slice(None)) + tuple(
            slice(idx[i] * strides[i], idx[i] * strides[i] + span[i], dil[i])
            for i in range(nd))
        win = xp[sl].reshape(x.shape[:2] + (-1,))
        at = (slice(None), slice(None)) + idx
        if win.size and not np.all(np.any(real_any[sl].reshape(win.shape), axis=-1)):
            raise Reject("a window of padding only")
        if op == "MaxPool":
            r[at] = np.max(win, axis=-1)
            if ep is not None:
                err[at] = np.max(ep[sl].reshape(win.shape), axis=-1)
        else:
            real = ~np.isnan(win)
            cnt = win.shape[-1] if include else np.sum(real, axis=-1)
            r[at] = np.nansum(win, axis=-1) / cnt
            e = np.sum(ep[sl].reshape(win.shape), axis=-1) / cnt
            err[at] = e + (g(win.shape[-1]) + 2) * UNIT[dt] * (
                np.nansum(np.abs(win), axis=-1) / cnt)
    if dt in INTS:
        return Val(dt, r.astype(np.int64))
    return check_float(dt, r, err)


# ---------------------------------------------------------------------------
# Data movement: the same transformation of the values and of the bounds
# ---------------------------------------------------------------------------

def move(x, f):
    return Val(x.dt, np.asarray(f(x.v)), None if x.e is None else np.asarray(f(x.e)))


def reshape_target(shape, attr):
    n = nelems(shape)
    out = []
    infer = None
    for i, d in enumerate(attr):
        if d == 0:
            if i >= len(shape):
                raise Reject("reshape 0 past rank")
            out.append(shape[i])
        elif d == -1:
            if infer is not None:
                raise Reject("two -1")
            infer = i
            out.append(1)
        elif d < 0:
            raise Reject("bad dim")
        else:
            out.append(d)
    known = nelems(out)
    if infer is not None:
        if known == 0 or n % known:
            raise Reject("reshape size")
        out[infer] = n // known
    if nelems(out) != n:
        raise Reject("reshape size")
    return tuple(out)


def ev_reshape(attrs, ins):
    (x,) = ins
    target = reshape_target(x.shape, attrs["shape"])
    return move(x, lambda a: a.reshape(target))


def ev_transpose(attrs, ins):
    (x,) = ins
    perm = attrs.get("perm")
    if perm is None:
        perm = list(reversed(range(x.v.ndim)))
    if sorted(perm) != list(range(x.v.ndim)):
        raise Reject("perm")
    return move(x, lambda a: np.transpose(a, perm))


def ev_concat(attrs, ins):
    dt = same_dtype(ins)
    rank = ins[0].v.ndim
    if rank == 0:
        raise Reject("concat of scalars")
    axis = norm_axes([attrs["axis"]], rank)[0]
    for v in ins:
        if v.v.ndim != rank or any(v.shape[i] != ins[0].shape[i]
                                   for i in range(rank) if i != axis):
            raise Reject("concat shapes")
    r = np.concatenate([v.v for v in ins], axis=axis)
    e = np.concatenate([v.e for v in ins], axis=axis) if dt in FLOATS else None
    return Val(dt, r, e)


def slice_bounds(dim, start, end, step):
    """ONNX Slice's clamping, as a Python slice."""
    if step == 0:
        raise Reject("step 0")
    if start < 0:
        start += dim
    if end < 0:
        end += dim
    if step > 0:
        start = min(max(start, 0), dim)
        end = min(max(end, 0), dim)
    else:
        start = min(max(start, 0), dim - 1)
        end = min(max(end, -1), dim - 1)
    return slice(start, None if end == -1 else end, step)


def ev_slice(attrs, ins):
    (x,) = ins
    rank = x.v.ndim
    starts, ends = attrs["starts"], attrs["ends"]
    axes = attrs.get("axes")
    if axes is None:
        axes = list(range(len(starts)))
    steps = attrs.get("steps") or [1] * len(starts)
    if not (len(starts) == len(ends) == len(axes) == len(steps)):
        raise Reject("slice lists")
    axes = [a % rank if -rank <= a < rank else None for a in axes]
    if None in axes or len(set(axes)) != len(axes):
        raise Reject("slice axes")
    idx = [slice(None)] * rank
    for a, s, e, st in zip(axes, starts, ends, steps):
        idx[a] = slice_bounds(x.shape[a], s, e, st)
    return move(x, lambda a: a[tuple(idx)])


def ev_gather(attrs, ins):
    data, ind = ins
    if ind.dt not in ("i32", "i64"):
        raise Reject("indices dtype")
    rank = data.v.ndim
    if rank == 0:
        raise Reject("gather from a scalar")
    axis = norm_axes([attrs.get("axis", 0)], rank)[0]
    d = data.shape[axis]
    if ind.v.size and (np.min(ind.v) < -d or np.max(ind.v) >= d):
        raise Reject("index out of range")
    i = ind.v.astype(np.int64)
    return move(data, lambda a: np.take(a, i, axis=axis))


def ev_expand(attrs, ins):
    (x,) = ins
    try:
        out = np.broadcast_shapes(x.shape, tuple(attrs["shape"]))
    except ValueError:
        raise Reject("expand shape")
    return move(x, lambda a: np.broadcast_to(a, out).copy())


def ev_tile(attrs, ins):
    (x,) = ins
    reps = attrs["repeats"]
    if len(reps) != x.v.ndim:
        raise Reject("repeats")
    return move(x, lambda a: np.tile(a, reps) if a.ndim else a.copy())


def ev_pad(attrs, ins):
    (x,) = ins
    rank = x.v.ndim
    pads = attrs["pads"]
    mode = attrs.get("mode", "constant")
    if len(pads) != 2 * rank or min(pads, default=0) < 0:
        raise Reject("pads")
    width = [(pads[i], pads[i + rank]) for i in range(rank)]
    value = float(np.float32(attrs.get("value", 0.0)))
    if mode == "constant":
        if x.dt == "bool" and value not in (0.0, 1.0):
            raise Reject("bool pad value")
        if x.dt in INTS and value != int(value):
            raise Reject("int pad value")
        cv = bool(value) if x.dt == "bool" else value
        r = np.pad(x.v, width, mode="constant", constant_values=cv)
        e = np.pad(x.e, width) if x.e is not None else None
        return Val(x.dt, r, e)
    if mode == "reflect":
        if any(max(p) >= s for p, s in zip(width, x.shape)):
            raise Reject("reflect needs pads < dim")
    elif mode in ("edge", "wrap"):
        if any(max(p) > 0 and s == 0 for p, s in zip(width, x.shape)):
            raise Reject("empty")
        if mode == "wrap" and any(max(p) > s for p, s in zip(width, x.shape)):
            raise Reject("wrap more than once")
    return move(x, lambda a: np.pad(a, width, mode=mode))


def ev_trilu(attrs, ins):
    (x,) = ins
    if x.v.ndim < 2:
        raise Reject("rank")
    k = attrs.get("k", 0)
    upper = attrs.get("upper", 1)
    f = np.triu if upper else np.tril

    def apply(a):
        mask = f(np.ones(a.shape[-2:], dtype=bool), k)
        return np.where(mask, a, np.zeros((), a.dtype))

    return move(x, apply)


# Ops that may read NaN or infinities: IEEE 754 (and docs/semantics.md) say
# what they give. Transcendental functions, contractions, ArgMax, pools and
# the like are left out: implementations legitimately differ there.
NONFINITE_OK = {
    "Add", "Sub", "Mul", "Div", "Neg", "Abs", "Relu", "Clip", "Sign", "Floor",
    "Ceil", "Round", "Equal", "Less", "Greater", "Where", "Cast", "Identity",
    "ReduceMax", "ReduceMin", "ReduceSum", "Reshape", "Transpose", "Concat",
    "Slice", "Gather", "Expand", "Tile", "Pad", "Trilu",
}


def evaluate(op, attrs, ins):
    """The Val that op computes from input Vals, or Reject."""
    global _nonfinite_ok
    special = any(v.dt in FLOATS and not np.all(np.isfinite(v.v)) for v in ins)
    if not special:
        return _evaluate(op, attrs, ins)
    if op not in NONFINITE_OK or (op == "Cast" and attrs["to"] in INTS):
        raise Reject("NaN or infinity into " + op)
    _nonfinite_ok = True
    try:
        with np.errstate(all="ignore"):
            return _evaluate(op, attrs, ins)
    finally:
        _nonfinite_ok = False


# Ops not asked to take empty tensors (their numpy reference would need
# special cases); elementwise ops and data movement still get them.
NO_EMPTY = {"Softmax", "LogSoftmax", "CumSum", "ArgMax", "ArgMin", "MatMul",
            "Gemm", "Einsum", "Conv", "MaxPool", "AveragePool", "ReduceSum",
            "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"}


def _evaluate(op, attrs, ins):
    if op in NO_EMPTY and any(v.v.size == 0 for v in ins):
        raise Reject("empty input")
    if op in ("Add", "Sub", "Mul", "Div", "PRelu", "Pow", "And", "Or"):
        return ev_binary(op, attrs, ins)
    if op in ("Equal", "Less", "Greater"):
        return ev_compare(op, attrs, ins)
    if op == "Where":
        return ev_where(attrs, ins)
    if op == "Not":
        return ev_not(attrs, ins)
    if op in ("Relu", "Neg", "Abs", "Sign", "Identity", "Clip"):
        return ev_simple_unary(op, attrs, ins)
    if op == "Cast":
        return ev_cast(attrs, ins)
    if op in ("ReduceSum", "ReduceMean", "ReduceMax", "ReduceMin", "ReduceProd"):
        return ev_reduce(op, attrs, ins)
    if op in ("ArgMax", "ArgMin"):
        return ev_arg(op, attrs, ins)
    if op in ("Softmax", "LogSoftmax"):
        return ev_softmax(op, attrs, ins)
    if op == "CumSum":
        return ev_cumsum(attrs, ins)
    if op == "MatMul":
        return ev_matmul(attrs, ins)
    if op == "Gemm":
        return ev_gemm(attrs, ins)
    if op == "Einsum":
        return ev_einsum(attrs, ins)
    if op == "Conv":
        return ev_conv(attrs, ins)
    if op in ("MaxPool", "AveragePool"):
        return ev_pool(op, attrs, ins)
    f = {"Reshape": ev_reshape, "Transpose": ev_transpose, "Concat": ev_concat,
         "Slice": ev_slice, "Gather": ev_gather, "Expand": ev_expand,
         "Tile": ev_tile, "Pad": ev_pad, "Trilu": ev_trilu}.get(op)
    if f:
        return f(attrs, ins)
    return ev_float_unary(op, attrs, ins)


FLOAT_UNARY = ("Sigmoid", "Tanh", "Exp", "Log", "Sqrt", "Erf", "Floor", "Ceil",
               "Round", "Reciprocal", "Cos", "Sin", "Tan", "Atan", "Softplus",
               "HardSwish", "HardSigmoid", "LeakyRelu", "Elu", "Selu", "Gelu")
