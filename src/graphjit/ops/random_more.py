"""More TF1 random ops: Multinomial, RandomShuffle, RandomGamma, RandomPoissonV2.

They share ``ops/random.py``'s stream discipline: TF1 seeds from :func:`get_seed`, one Philox
stream per op keyed by ``(seed, seed2)``, and a per-session run counter from
``ctx.rng_step``, so a graph seed makes fresh sessions repeat the sequence, consecutive runs
draw new numbers, and the interpreter and compiled chains (where these ops run as driver
links) draw identical numbers. The bits cannot match TensorFlow's (TF has its own Philox
layout and samplers); the distributions do, and the tests check them.

Sampling: ``Multinomial`` inverts the unnormalised CDF of ``exp(logit - max)`` over the
finite logits, as TF's CPU kernel does (a row with no finite logit yields ``num_classes``,
as TF does). ``RandomGamma`` uses numpy's ``standard_gamma`` on the stream (Marsaglia--Tsang
for ``alpha > 1``, an exponential at 1, a rejection sampler below 1); ``RandomPoissonV2``
numpy's ``poisson``. ``RandomGammaGrad`` (the implicit reparameterisation derivative behind
TF's ``RandomGamma`` gradient) lives in ``ops/random_gamma_grad.py``.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant_value, convert_to_tensor, get_default_graph
from ..shapes import TensorShape
from .array_more import INDEX, _ints
from .common import FLOATS, INTS, check_dtype, make1
from .random import _SEEDS, RANDOM, _generator, get_seed
from .random_gamma_grad import random_gamma_grad_rule
from .registry import STATEFUL, defop


def _nd(op, *grads):
    """TF registers these ops ``NotDifferentiable``: their inputs get no gradient."""
    return [None] * len(op.inputs)


_nd.not_differentiable = True


def _rank(t, rank, op_type, what):
    if t.shape.ndims not in (None, rank):
        raise ValueError(
            f"Shape must be rank {rank} but is rank {t.shape.ndims} for '{op_type}' ({what})"
        )


def _sample_shape(s, op_type):
    """Static sample shape from a 1-D shape input (TF's shape function for random ops)."""
    check_dtype(s.dtype, INDEX)
    _rank(s, 1, op_type, "shape")
    v = constant_value(s)
    if v is not None:
        dims = _ints(v)
        bad = [d for d in dims if d < 0]
        if bad:
            raise ValueError(f"Invalid value in tensor used for shape: {bad[0]}")
        return TensorShape(dims)
    if s.shape.is_fully_defined():
        return TensorShape([None] * s.shape.as_list()[0])
    return TensorShape(None)


def _shape_value(shape):
    """Run-time check of a shape input, with TF's kernel messages."""
    shape = np.asarray(shape)
    if shape.ndim != 1:
        got = "[" + ",".join(str(d) for d in shape.shape) + "]"
        raise InvalidArgumentError(
            None, None, f"shape must be a vector of {{int32,int64}}, got shape {got}"
        )
    dims = [int(d) for d in shape]
    for d in dims:
        if d < 0:
            raise InvalidArgumentError(None, None, f"Dimension {d} must be >= 0")
    return dims


# ------------------------------------------------------------------ Multinomial


def _multinomial_infer(inputs, attrs):
    logits, n = inputs
    _rank(logits, 2, "Multinomial", "logits")
    _rank(n, 0, "Multinomial", "num_samples")
    check_dtype(n.dtype, {_dt.int32})
    check_dtype(logits.dtype, FLOATS | INTS)  # TF's realnumbertypes; ints have no kernel
    out = _dt.as_dtype(attrs["output_dtype"])
    check_dtype(out, INDEX)
    v = constant_value(n)
    if v is not None and int(v) < 0:
        raise ValueError(
            "Dimension size, given by scalar input 1, must be non-negative but is "
            f"{int(v)} for 'Multinomial'"
        )
    batch = logits.shape.as_list()[0] if logits.shape.ndims == 2 else None
    return [(out, TensorShape([batch, None if v is None else int(v)]))]


def _multinomial(ctx, node, logits, num_samples, *, output_dtype, seed=0, seed2=0, **a):
    if logits.ndim != 2:
        shape = "[" + ",".join(str(d) for d in logits.shape) + "]"
        raise InvalidArgumentError(None, None, f"logits should be a matrix, got shape {shape}")
    if np.ndim(num_samples) != 0:
        raise InvalidArgumentError(None, None, "num_samples should be a scalar")
    if logits.dtype.kind not in "f":
        raise InvalidArgumentError(
            None,
            None,
            "No OpKernel was registered to support Op 'Multinomial' with these attrs: "
            f"T={_dt.as_dtype(logits.dtype).name}",
        )
    n = int(num_samples)
    if n < 0:
        raise InvalidArgumentError(None, None, f"num_samples should be non-negative, got {n}")
    batch, classes = logits.shape
    if classes <= 0:
        raise InvalidArgumentError(None, None, f"num_classes should be positive, got {classes}")
    gen = _generator(ctx, node, seed, seed2)
    u = gen.random((batch, n))
    x = logits.astype(np.float64)
    finite = np.isfinite(x)
    # Like TF's CPU kernel: non-finite logits (-inf, +inf, NaN) carry no weight, the maximum is
    # over finite ones, and each draw is upper_bound(cdf, u * total).
    top = np.max(np.where(finite, x, -np.inf), axis=1, keepdims=True)
    with np.errstate(invalid="ignore", over="ignore"):
        w = np.where(finite, np.exp(x - np.where(np.isfinite(top), top, 0.0)), 0.0)
    cdf = np.cumsum(w, axis=1)
    out = np.empty((batch, n), dtype=_dt.as_dtype(output_dtype).np)
    for b in range(batch):
        out[b] = np.searchsorted(cdf[b], u[b] * cdf[b, -1], side="right")
    return out


defop(
    "Multinomial",
    STATEFUL,
    _multinomial_infer,
    _multinomial,
    grad=_nd,
    uses_ctx=True,
    stateful=True,
    fallback=RANDOM,
    attr_defaults={**_SEEDS, "output_dtype": _dt.int64},
)


def _categorical(logits, num_samples, dtype, seed):
    logits = convert_to_tensor(logits, name="logits")
    dtype = _dt.as_dtype(dtype) if dtype else _dt.int64
    if dtype not in INDEX:
        raise ValueError(
            f"Argument `dtype` got invalid value {dtype!r}. Accepted dtypes are "
            "(tf.int32, tf.int64)."
        )
    seed1, seed2 = get_seed(seed)
    n = convert_to_tensor(num_samples, dtype=_dt.int32, name="num_samples")
    attrs = {"seed": seed1, "seed2": seed2, "T": logits.dtype, "output_dtype": dtype}
    return make1("Multinomial", [logits, n], attrs, name="Multinomial")


def multinomial(logits, num_samples, seed=None, name=None, output_dtype=None) -> Tensor:
    """Draw class indices from categorical distributions (``tf.multinomial``).

    Deprecated in TF in favour of :func:`categorical`, with the same sampling.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     s = tf.multinomial([[0.0, -float("inf")]], 3)
    ...     tf.Session().run(s).tolist()
    [[0, 0, 0]]
    """
    with get_default_graph().name_scope(name or "multinomial"):
        return _categorical(logits, num_samples, output_dtype, seed)


def categorical(logits, num_samples, dtype=None, seed=None, name=None) -> Tensor:
    """Draw class indices from categorical distributions (``tf.random.categorical``).

    Parameters
    ----------
    logits : Tensor
        ``[batch, num_classes]`` unnormalised log-probabilities; ``-inf`` classes are never
        drawn.
    num_samples : int or int32 scalar Tensor
        Draws per row.
    dtype : DType, optional
        ``int64`` (default) or ``int32``.

    Returns
    -------
    Tensor
        ``[batch, num_samples]`` class indices.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     s = tf.random.categorical(tf.math.log([[0.5, 0.5]]), 5)
    ...     s.shape.as_list(), s.dtype.name
    ([1, 5], 'int64')
    """
    with get_default_graph().name_scope(name or "categorical"):
        return _categorical(logits, num_samples, dtype, seed)


# ------------------------------------------------------------------ RandomShuffle


def _shuffle_infer(inputs, attrs):
    return [(inputs[0].dtype, inputs[0].shape)]


def _shuffle(ctx, node, x, *, seed=0, seed2=0, **a):
    gen = _generator(ctx, node, seed, seed2)
    if x.ndim == 0 or x.shape[0] <= 1:
        return x  # TF passes these through (the stream still advances, as TF's does)
    return x[gen.permutation(x.shape[0])]


defop(
    "RandomShuffle",
    STATEFUL,
    _shuffle_infer,
    _shuffle,
    grad=_nd,
    uses_ctx=True,
    stateful=True,
    fallback=RANDOM,
    attr_defaults=_SEEDS,
)


def random_shuffle(value, seed=None, name=None) -> Tensor:
    """Shuffle ``value`` along its first dimension (``tf.random_shuffle``).

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     s = tf.random_shuffle([1, 2, 3], seed=4)
    ...     sorted(tf.Session().run(s).tolist())
    [1, 2, 3]
    """
    seed1, seed2 = get_seed(seed)
    x = convert_to_tensor(value)
    attrs = {"seed": seed1, "seed2": seed2, "T": x.dtype}
    return make1("RandomShuffle", [x], attrs, name=name or "RandomShuffle")


# ------------------------------------------------------------------ RandomGamma


def _gamma_infer(inputs, attrs):
    s, alpha = inputs
    check_dtype(alpha.dtype, FLOATS)
    return [(alpha.dtype, _sample_shape(s, "RandomGamma").concatenate(alpha.shape))]


def _gamma(ctx, node, shape, alpha, *, seed=0, seed2=0, **a):
    dims = _shape_value(shape)
    gen = _generator(ctx, node, seed, seed2)
    a = np.broadcast_to(alpha.astype(np.float64), (*dims, *alpha.shape))
    ok = a > 0  # numpy refuses alpha < 0 and NaN; TF gives NaN for them, and 0 for alpha = 0
    out = np.full(a.shape, np.nan)
    out[a == 0] = 0.0
    if ok.all():
        out = gen.standard_gamma(a)
    elif ok.any():
        out[ok] = gen.standard_gamma(a[ok])
    return out.astype(alpha.dtype)


defop(
    "RandomGamma",
    STATEFUL,
    _gamma_infer,
    _gamma,
    grad=random_gamma_grad_rule,
    uses_ctx=True,
    stateful=True,
    fallback=RANDOM,
    attr_defaults=_SEEDS,
)


def random_gamma(shape, alpha, beta=None, dtype=_dt.float32, seed=None, name=None) -> Tensor:
    """Draw ``shape`` samples from each Gamma(alpha, beta) distribution (``tf.random_gamma``).

    The result has shape ``shape + broadcast(alpha, beta).shape``; ``beta`` is the inverse
    scale (samples are divided by it), and results are clamped below at the dtype's smallest
    normal number, as TF does. Gradients flow to ``beta`` and, through TF's implicit
    reparameterisation (``RandomGammaGrad``), to ``alpha``.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     s = tf.random_gamma([10], [0.5, 1.5])
    ...     s.shape.as_list()
    [10, 2]
    """
    from .array_more import zeros_like
    from .math import maximum, truediv

    dtype = _dt.as_dtype(dtype)
    if not dtype.is_floating:
        raise ValueError(f"data type {dtype.np} not inexact")
    with get_default_graph().name_scope(name or "random_gamma"):
        s = convert_to_tensor(shape, dtype=_dt.int32, name="shape")
        alpha = convert_to_tensor(alpha, dtype=dtype, name="alpha")
        beta = convert_to_tensor(1 if beta is None else beta, dtype=dtype, name="beta")
        alpha_b = alpha + zeros_like(beta)  # TF1's broadcast of alpha against beta
        seed1, seed2 = get_seed(seed)
        attrs = {"seed": seed1, "seed2": seed2, "S": s.dtype, "T": dtype}
        g = make1("RandomGamma", [s, alpha_b], attrs, name="RandomGamma")
        return maximum(np.finfo(dtype.np).tiny.astype(dtype.np), truediv(g, beta))


# ------------------------------------------------------------------ RandomPoissonV2

_POISSON = FLOATS | {_dt.int32, _dt.int64}


def _poisson_infer(inputs, attrs):
    s, rate = inputs
    check_dtype(rate.dtype, _POISSON)
    out = _dt.as_dtype(attrs["dtype"])
    check_dtype(out, _POISSON)
    return [(out, _sample_shape(s, "RandomPoissonV2").concatenate(rate.shape))]


def _poisson(ctx, node, shape, rate, *, dtype, seed=0, seed2=0, **a):
    dims = _shape_value(shape)
    gen = _generator(ctx, node, seed, seed2)
    lam = np.broadcast_to(rate.astype(np.float64), (*dims, *rate.shape))
    # TF draws 0 for rate <= 0; numpy refuses those (and NaN, on which TF's kernel never ends).
    bad = np.isnan(lam)
    try:
        out = gen.poisson(np.where((lam > 0) & ~bad, lam, 0.0)).astype(np.float64)
    except ValueError as e:
        raise InvalidArgumentError(None, None, f"Poisson rate too large: {e}") from None
    out[bad] = np.nan
    np_out = _dt.as_dtype(dtype).np
    if np.issubdtype(np_out, np.integer):
        out[bad] = 0
    return out.astype(np_out)


defop(
    "RandomPoissonV2",
    STATEFUL,
    _poisson_infer,
    _poisson,
    uses_ctx=True,
    stateful=True,
    fallback=RANDOM,
    attr_defaults={**_SEEDS, "dtype": _dt.int64, "R": _dt.float64},
)


def random_poisson(lam, shape, dtype=_dt.float32, seed=None, name=None) -> Tensor:
    """Draw ``shape`` samples from each Poisson(lam) distribution (``tf.random_poisson``).

    TF1's argument order (``lam`` first); the result has shape ``shape + lam.shape``. There
    is no gradient (TF registers none).

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     s = tf.random_poisson([0.5, 1.5], [10])
    ...     s.shape.as_list(), s.dtype.name
    ([10, 2], 'float32')
    """
    dtype = _dt.as_dtype(dtype)
    with get_default_graph().name_scope(name or "random_poisson"):
        s = convert_to_tensor(shape, dtype=_dt.int32, name="shape")
        seed1, seed2 = get_seed(seed)
        rate = convert_to_tensor(lam)
        attrs = {"seed": seed1, "seed2": seed2, "S": s.dtype, "R": rate.dtype, "dtype": dtype}
        return make1("RandomPoissonV2", [s, rate], attrs, name="RandomPoissonV2")


def get_seed_pair(op_seed):
    """``tf.random.get_seed``: the ``(seed, seed2)`` pair an op with ``op_seed`` would use."""
    s1, s2 = get_seed(op_seed)
    return (None, None) if (s1, s2) == (0, 0) else (s1, s2)
