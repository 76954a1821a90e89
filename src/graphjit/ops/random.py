"""Random ops with TF1 seed semantics on a counter-based generator.

Seeds follow ``tf.compat.v1.get_seed``: a graph seed (``tf.set_random_seed``) and an op seed
make a deterministic ``(seed, seed2)`` pair; a graph seed alone uses the number of ops built so
far as the op seed. Each session keeps a per-op counter in its state, so a fresh session
repeats a seeded sequence while consecutive runs draw new numbers. Draws use numpy's Philox
keyed by ``(seed, seed2)`` with the run counter in the counter block, so any executor that
asks the run context for ``(key, step)`` draws the same numbers.
"""

from __future__ import annotations

import os

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant_value, get_default_graph
from ..shapes import TensorShape
from .array_more import INDEX, _ints, as_index
from .common import FLOATS, check_dtype, make1
from .registry import STATEFUL, defop

DEFAULT_GRAPH_SEED = 87654321
_MAXINT32 = 2**31 - 1
RANDOM = "draws from the session's Philox stream; runs in the interpreter"


def get_seed(op_seed):
    """The ``(seed, seed2)`` pair for an op, as TF1's ``get_seed`` computes it."""
    g = get_default_graph()
    gs = g.seed
    if gs is not None:
        if op_seed is None:
            op_seed = g.version  # TF uses the graph's last op id
        seeds = (int(gs), int(op_seed))
    elif op_seed is not None:
        seeds = (DEFAULT_GRAPH_SEED, int(op_seed))
    else:
        return 0, 0
    if seeds == (0, 0):
        return 0, _MAXINT32
    return seeds


def _generator(ctx, node, seed, seed2):
    def make_key():
        if seed == 0 and seed2 == 0:  # unseeded: a fresh key per session and op
            return tuple(int(v) for v in np.frombuffer(os.urandom(16), dtype=np.uint64))
        return (seed & 0xFFFFFFFFFFFFFFFF, seed2 & 0xFFFFFFFFFFFFFFFF)

    key, step = ctx.rng_step(node, make_key)
    bitgen = np.random.Philox(
        key=np.array(key, dtype=np.uint64), counter=np.array([0, 0, step, 0], dtype=np.uint64)
    )
    return np.random.Generator(bitgen)


def _shape_arg(shape):
    s = [int(d) for d in np.asarray(shape).reshape(-1)]
    for d in s:
        if d < 0:
            raise InvalidArgumentError(None, None, f"Dimension {d} must be >= 0")  # TF's words
    return s


def _infer(out_attr):
    def infer(inputs, attrs):
        s = inputs[0]
        check_dtype(s.dtype, INDEX)
        v = constant_value(s)
        dt = _dt.as_dtype(attrs[out_attr])
        if v is not None:
            return [(dt, TensorShape(_ints(v)))]
        if s.shape.is_fully_defined() and s.shape.ndims == 1:
            return [(dt, TensorShape([None] * s.shape.as_list()[0]))]
        return [(dt, TensorShape(None))]

    return infer


def _normal(ctx, node, shape, *, dtype, seed=0, seed2=0, **a):
    gen = _generator(ctx, node, seed, seed2)
    return gen.standard_normal(_shape_arg(shape)).astype(_dt.as_dtype(dtype).np)


def _uniform(ctx, node, shape, *, dtype, seed=0, seed2=0, **a):
    gen = _generator(ctx, node, seed, seed2)
    return gen.random(_shape_arg(shape)).astype(_dt.as_dtype(dtype).np)


def _truncated(ctx, node, shape, *, dtype, seed=0, seed2=0, **a):
    gen = _generator(ctx, node, seed, seed2)
    s = _shape_arg(shape)
    out = gen.standard_normal(s)
    bad = np.abs(out) > 2
    while np.any(bad):  # resample outside two standard deviations, as TF does
        out[bad] = gen.standard_normal(int(bad.sum()))
        bad = np.abs(out) > 2
    return out.astype(_dt.as_dtype(dtype).np)


def _uniform_int(ctx, node, shape, lo, hi, *, seed=0, seed2=0, Tout=None, **a):
    if not lo < hi:
        raise InvalidArgumentError(None, None, f"Need minval < maxval: {lo} >= {hi}")
    gen = _generator(ctx, node, seed, seed2)
    return gen.integers(lo, hi, size=_shape_arg(shape), dtype=lo.dtype)


_SEEDS = {"seed": 0, "seed2": 0}
for _t, _k in (
    ("RandomStandardNormal", _normal),
    ("RandomUniform", _uniform),
    ("TruncatedNormal", _truncated),
):
    defop(
        _t,
        STATEFUL,
        _infer("dtype"),
        _k,
        uses_ctx=True,
        stateful=True,
        fallback=RANDOM,
        attr_defaults=_SEEDS,
    )


def _int_infer(inputs, attrs):
    _s, lo, hi = inputs
    if lo.dtype is not hi.dtype or lo.dtype not in INDEX:
        raise TypeError("minval and maxval must both be int32 or int64 for 'RandomUniformInt'")
    for t, n in ((lo, "minval"), (hi, "maxval")):
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"Shape must be rank 0 but is rank {t.shape.ndims} for {n}")
    return _infer("Tout")(inputs, {**attrs, "Tout": lo.dtype})


defop(
    "RandomUniformInt",
    STATEFUL,
    _int_infer,
    _uniform_int,
    uses_ctx=True,
    stateful=True,
    fallback=RANDOM,
    attr_defaults=_SEEDS,
)


def _random(op_type, shape, dtype, seed, name, allowed=FLOATS):
    dtype = _dt.as_dtype(dtype)
    check_dtype(dtype, allowed)
    s = as_index(shape)
    seed1, seed2 = get_seed(seed)
    attrs = {"dtype": dtype, "seed": seed1, "seed2": seed2, "T": s.dtype}
    return make1(op_type, [s], attrs, name=name)


def _affine(x, scale, shift, name):
    from .math import add, multiply

    return add(multiply(x, scale), shift, name=name)


def random_normal(shape, mean=0.0, stddev=1.0, dtype=_dt.float32, seed=None, name=None):
    """Samples from a normal distribution (``tf.random_normal``).

    >>> x = random_normal([2, 3], seed=1)
    """
    g = get_default_graph()
    with g.name_scope(name or "random_normal") as scope:
        x = _random("RandomStandardNormal", shape, dtype, seed, "RandomStandardNormal")
        return _affine(x, stddev, mean, scope[:-1] + "/")


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=_dt.float32, seed=None, name=None):
    """Normal samples re-drawn when more than two standard deviations from the mean."""
    g = get_default_graph()
    with g.name_scope(name or "truncated_normal") as scope:
        x = _random("TruncatedNormal", shape, dtype, seed, "TruncatedNormal")
        return _affine(x, stddev, mean, scope[:-1] + "/")


def random_uniform(shape, minval=0, maxval=None, dtype=_dt.float32, seed=None, name=None):
    """Uniform samples in ``[minval, maxval)`` (``tf.random_uniform``); ints need ``maxval``."""
    dtype = _dt.as_dtype(dtype)
    g = get_default_graph()
    with g.name_scope(name or "random_uniform") as scope:
        if dtype.is_integer:
            if maxval is None:
                raise ValueError(f"Must specify maxval for integer dtype {dtype.name}")
            check_dtype(dtype, INDEX)
            s = as_index(shape)
            seed1, seed2 = get_seed(seed)
            lo = minval if isinstance(minval, Tensor) else as_index(minval, dtype)
            hi = maxval if isinstance(maxval, Tensor) else as_index(maxval, dtype)
            attrs = {"seed": seed1, "seed2": seed2, "Tout": dtype, "T": s.dtype}
            return make1("RandomUniformInt", [s, lo, hi], attrs, name=scope[:-1] + "/")
        from .math import add, multiply, subtract

        x = _random("RandomUniform", shape, dtype, seed, "RandomUniform")
        if maxval is None:
            maxval = 1
        lo = np.asarray(minval, dtype.np) if not isinstance(minval, Tensor) else minval
        hi = np.asarray(maxval, dtype.np) if not isinstance(maxval, Tensor) else maxval
        return add(multiply(x, subtract(hi, lo)), lo, name=scope[:-1] + "/")


def set_random_seed(seed) -> None:
    """Set the graph-level seed of the default graph (``tf.set_random_seed``)."""
    get_default_graph().seed = seed
