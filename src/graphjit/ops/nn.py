"""Neural-network ops: activations, softmax, bias_add, cross-entropy losses, l2_loss, dropout.

Activations are elementwise with scalar templates; a template given as a callable takes the
op's attrs and returns the template string (``LeakyRelu`` bakes ``alpha`` in). Softmax and the
cross-entropy ops are row-wise (OPAQUE) with numpy kernels; their gradients are built from
elementwise ops and reductions, so they fuse.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor
from ..shapes import TensorShape
from . import math as m
from .common import FLOATS, NUMERIC, check_dtype, make1, make_op, unary_infer
from .math import _wrap
from .registry import ELEMWISE, OPAQUE, defop, get

_SELU_A = 1.6732632423543772848170429916717
_SELU_S = 1.0507009873554804934193349852946


def _leaky(x, *, alpha=0.2, T=None):
    return np.where(x > 0, x, x * np.asarray(alpha, x.dtype)).astype(x.dtype)


def _leaky_template(attrs):
    return f"({{0}} if {{0}} > 0 else {{0}} * {float(attrs.get('alpha', 0.2))!r})"


_ACT = [
    ("Relu", _wrap(lambda x: np.maximum(x, 0).astype(x.dtype)), "max({0}, 0)", NUMERIC),
    ("Relu6", _wrap(lambda x: np.clip(x, 0, 6).astype(x.dtype)), "min(max({0}, 0), 6)", NUMERIC),
    (
        "Elu",
        _wrap(lambda x: np.where(x > 0, x, np.expm1(x))),
        "({0} if {0} > 0 else expm1({0}))",
        FLOATS,
    ),
    (
        "Selu",
        _wrap(lambda x: (_SELU_S * np.where(x > 0, x, _SELU_A * np.expm1(x))).astype(x.dtype)),
        f"({_SELU_S!r} * ({{0}} if {{0}} > 0 else {_SELU_A!r} * expm1({{0}})))",
        FLOATS,
    ),
]
for _t, _k, _s, _allowed in _ACT:
    defop(_t, ELEMWISE, unary_infer(allowed=_allowed), _k, scalar=_s)
defop(
    "LeakyRelu",
    ELEMWISE,
    unary_infer(allowed=FLOATS),
    _leaky,
    scalar=_leaky_template,
    attr_defaults={"alpha": 0.2},
)


def _act_fn(op_type, fname):
    def fn(features, name=None):
        x = convert_to_tensor(features)
        return make1(op_type, [x], {"T": x.dtype}, name=name or op_type)

    fn.__name__ = fname
    fn.__doc__ = f"Elementwise ``{op_type}`` activation (``tf.nn.{fname}``)."
    return fn


relu = _act_fn("Relu", "relu")
relu6 = _act_fn("Relu6", "relu6")
elu = _act_fn("Elu", "elu")
selu = _act_fn("Selu", "selu")


def leaky_relu(features, alpha=0.2, name=None) -> Tensor:
    """``x if x > 0 else alpha * x`` (``tf.nn.leaky_relu``).

    As in TF, integer features are cast to float32 first and ``alpha`` is a float32 attr, so
    float64 inputs are scaled by ``float32(alpha)`` (0.2 becomes 0.20000000298...).
    """
    from .array import cast

    x = convert_to_tensor(features)
    if x.dtype.is_integer:
        x = cast(x, _dt.float32)
    alpha = float(np.float32(np.asarray(alpha).item()))
    return make1("LeakyRelu", [x], {"T": x.dtype, "alpha": alpha}, name=name or "LeakyRelu")


# ------------------------------------------------------------------ softmax


def _softmax_np(x, log=False):
    if x.ndim == 0:
        raise InvalidArgumentError(None, None, "logits must have >= 1 dimension, got []")
    with np.errstate(all="ignore"):
        mx = np.max(x, axis=-1, keepdims=True) if x.shape[-1] else 0
        z = x - mx
        e = np.exp(z)
        s = np.sum(e, axis=-1, keepdims=True)
        if log:
            return (z - np.log(s)).astype(x.dtype)
        out = e / s
        if x.dtype == np.float32 and x.shape[-1]:
            # TF's default x86 CPU build runs float32 softmax in oneDNN, whose max ignores NaN
            # and whose normalisation leaves 0 (not NaN) at the non-NaN entries of a row whose
            # sum is NaN: softmax([inf, 0, -inf]) is [nan, 0, 0]. float64 (Eigen) is all NaN.
            bad = np.isnan(s)[..., 0]
            if bad.any():
                rows = x[bad]
                e2 = np.exp(rows - np.fmax.reduce(rows, axis=-1, keepdims=True))
                out[bad] = np.where(np.isnan(e2), np.float32(np.nan), np.float32(0))
        return out.astype(x.dtype)


def _softmax_infer(inputs, attrs):
    (x,) = inputs
    check_dtype(x.dtype, FLOATS)
    if x.shape.ndims == 0:
        raise ValueError("Shape must be at least rank 1 but is rank 0 for 'Softmax'")
    return [(x.dtype, x.shape)]


ROWWISE = "row-wise reduction and normalisation; numpy kernel"
defop("Softmax", OPAQUE, _softmax_infer, lambda x, **a: _softmax_np(x), kernel="softmax")
defop(
    "LogSoftmax",
    OPAQUE,
    _softmax_infer,
    lambda x, **a: _softmax_np(x, True),
    kernel="log_softmax",
)


def _on_axis(op_type, logits, axis, name):
    from .array_more import transpose

    x = convert_to_tensor(logits)
    rank = x.shape.ndims
    if axis in (-1, None) or (rank is not None and axis == rank - 1):
        return make1(op_type, [x], {"T": x.dtype}, name=name or op_type)
    if rank is None:
        raise ValueError(f"{op_type} along axis {axis} needs a tensor of known rank")
    axis %= rank
    perm = list(range(rank))
    perm[axis], perm[-1] = perm[-1], perm[axis]
    with x.graph.as_default():
        y = make1(op_type, [transpose(x, perm)], {"T": x.dtype})
        return transpose(y, perm, name=name or op_type)


def softmax(logits, axis=None, name=None, dim=None) -> Tensor:
    """``exp(x) / sum(exp(x))`` along ``axis`` (last by default), as ``tf.nn.softmax``."""
    return _on_axis("Softmax", logits, dim if axis is None else axis, name)


def log_softmax(logits, axis=None, name=None, dim=None) -> Tensor:
    """``x - log(sum(exp(x)))`` along ``axis`` (last by default), as ``tf.nn.log_softmax``."""
    return _on_axis("LogSoftmax", logits, dim if axis is None else axis, name)


# ------------------------------------------------------------------ bias_add / l2_loss


def _bias_infer(inputs, attrs):
    x, b = inputs
    check_dtype(x.dtype, NUMERIC)
    if x.dtype is not b.dtype:
        raise TypeError(f"BiasAdd: bias dtype {b.dtype.name} does not match {x.dtype.name}")
    if b.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {b.shape.ndims} for 'BiasAdd'")
    if x.shape.ndims is not None and x.shape.ndims < 2:
        raise ValueError(
            f"Shape must be at least rank 2 but is rank {x.shape.ndims} for 'BiasAdd'"
        )
    if x.shape.ndims is not None and b.shape.ndims == 1:
        ch = 1 if attrs.get("data_format", "NHWC") == "NCHW" else -1
        c, n = x.shape.as_list()[ch], b.shape.as_list()[0]
        if c is not None and n is not None and c != n:
            raise ValueError(
                f"Dimensions must be equal, but are {c} and {n} for 'BiasAdd' with input shapes: "
                f"{x.shape.tf_str()}, {b.shape.tf_str()}."
            )
    return [(x.dtype, x.shape)]


def _bias_kernel(x, b, *, data_format="NHWC", T=None):
    if data_format == "NCHW":
        b = b.reshape(-1, *([1] * (x.ndim - 2)))
    with np.errstate(all="ignore"):
        return x + b


def _bias_template(attrs):
    # NHWC adds the bias along the last axis: numpy broadcasting, so it fuses. NCHW adds it
    # along axis 1, which numpy broadcasting does not express: no template, a numpy link.
    return None if attrs.get("data_format", "NHWC") == "NCHW" else "({0} + {1})"


defop(
    "BiasAdd",
    ELEMWISE,
    _bias_infer,
    _bias_kernel,
    scalar=_bias_template,
    attr_defaults={"data_format": "NHWC"},
)


def bias_add(value, bias, data_format=None, name=None) -> Tensor:
    """Add a 1-D ``bias`` along the channel axis (``tf.nn.bias_add``)."""
    x = convert_to_tensor(value)
    b = convert_to_tensor(bias, dtype=x.dtype)
    fmt = "NCHW" if data_format and data_format.startswith("NC") else "NHWC"
    return make1("BiasAdd", [x, b], {"T": x.dtype, "data_format": fmt}, name=name or "BiasAdd")


def _l2_infer(inputs, attrs):
    check_dtype(inputs[0].dtype, FLOATS)
    return [(inputs[0].dtype, TensorShape([]))]


defop(
    "L2Loss",
    OPAQUE,
    _l2_infer,
    lambda x, **a: np.asarray(np.sum(np.square(x)) / 2, dtype=x.dtype),
    kernel="l2_loss",
)


def l2_loss(t, name=None) -> Tensor:
    """``sum(t ** 2) / 2`` (``tf.nn.l2_loss``)."""
    x = convert_to_tensor(t)
    return make1("L2Loss", [x], {"T": x.dtype}, name=name or "L2Loss")


# ------------------------------------------------------------------ cross-entropy


def _xent_infer(inputs, attrs):
    logits, labels = inputs
    check_dtype(logits.dtype, FLOATS)
    if logits.dtype is not labels.dtype:
        raise TypeError("logits and labels must have the same dtype")
    shape = logits.shape.merge_with(labels.shape) if labels.shape.ndims == 2 else logits.shape
    if shape.ndims is not None and shape.ndims != 2:
        raise ValueError(
            f"Shape must be rank 2 but is rank {shape.ndims} for "
            "'SoftmaxCrossEntropyWithLogits' (logits)"
        )
    n = shape.as_list()[0] if shape.ndims else None
    return [(logits.dtype, TensorShape([n])), (logits.dtype, shape)]


def _xent_kernel(logits, labels, **a):
    if logits.shape != labels.shape:
        raise InvalidArgumentError(
            None,
            None,
            f"logits and labels must be broadcastable: logits_size="
            f"{list(logits.shape)} labels_size={list(labels.shape)}",
        )
    logp = _softmax_np(logits, log=True)
    with np.errstate(all="ignore"):
        loss = -np.sum(labels * logp, axis=-1)
        back = np.exp(logp) - labels
    return loss.astype(logits.dtype), back.astype(logits.dtype)


def _sparse_xent_infer(inputs, attrs):
    logits, labels = inputs
    check_dtype(logits.dtype, FLOATS)
    check_dtype(labels.dtype, {_dt.int32, _dt.int64})
    if logits.shape.ndims is not None and logits.shape.ndims != 2:
        raise ValueError(
            f"Shape must be rank 2 but is rank {logits.shape.ndims} for "
            "'SparseSoftmaxCrossEntropyWithLogits' (logits)"
        )
    if labels.shape.ndims is not None and labels.shape.ndims != 1:
        raise ValueError(
            f"Shape must be rank 1 but is rank {labels.shape.ndims} for "
            "'SparseSoftmaxCrossEntropyWithLogits' (labels)"
        )
    n = TensorShape([None]).merge_with(labels.shape)
    if logits.shape.ndims == 2:
        n = n.merge_with(logits.shape[:1])
    k = logits.shape.as_list()[1] if logits.shape.ndims == 2 else None
    return [(logits.dtype, n), (logits.dtype, TensorShape([n.as_list()[0], k]))]


def _sparse_xent_kernel(logits, labels, **a):
    k = logits.shape[1]
    if labels.size and (labels.min() < 0 or labels.max() >= k):
        bad = labels[(labels < 0) | (labels >= k)][0]
        raise InvalidArgumentError(
            None,
            None,
            f"Received a label value of {bad} which is outside the valid range of "
            f"[0, {k}).  Label values: {' '.join(map(str, labels.tolist()))}",
        )
    logp = _softmax_np(logits, log=True)
    rows = np.arange(labels.shape[0])
    loss = -logp[rows, labels]
    back = np.exp(logp)
    back[rows, labels] -= 1
    return loss.astype(logits.dtype), back.astype(logits.dtype)


defop("SoftmaxCrossEntropyWithLogits", OPAQUE, _xent_infer, _xent_kernel, kernel="softmax_xent")
defop(
    "SparseSoftmaxCrossEntropyWithLogits",
    OPAQUE,
    _sparse_xent_infer,
    _sparse_xent_kernel,
    kernel="sparse_softmax_xent",
)


# A cross-entropy and the bias add producing its logits, as one node: the program rewrite
# graphjit.prepass.bias_xent makes these when nothing else reads the logits. Attrs: ``add``
# (the add's op type) and ``add_attrs`` (its attrs) besides the cross-entropy's own.
def _bias_xent_infer(xent):
    def infer(inputs, attrs):
        x, _bias, labels = inputs  # x + bias has x's shape (a matrix plus a row vector)
        return get(xent).infer([x, labels], attrs)

    return infer


def _bias_xent_numpy(xent):
    def kernel(x, bias, labels, add, add_attrs, **attrs):
        logits = get(add).numpy(x, bias, **dict(add_attrs))
        return get(xent).numpy(logits, labels, **attrs)

    return kernel


for _xent in ("SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits"):
    defop(
        "Bias" + _xent,
        OPAQUE,
        _bias_xent_infer(_xent),
        _bias_xent_numpy(_xent),
        kernel="bias_" + get(_xent).kernel,
        internal=True,
    )


def _require_named(fn, *args):
    if any(a is not None for a in args):
        raise ValueError(
            f"Only call `{fn}` with named arguments (labels=..., logits=..., ...), got an "
            "argument in the first (sentinel) position."
        )


def softmax_cross_entropy_with_logits_v2(
    _sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None
) -> Tensor:
    """Per-example ``-sum(labels * log_softmax(logits))`` along the class axis."""
    from .array_more import transpose

    _require_named("softmax_cross_entropy_with_logits", _sentinel)
    if labels is None or logits is None:
        raise ValueError("Both labels= and logits= must be provided.")
    axis = dim if axis is None else axis
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels, dtype=logits.dtype)
    g = logits.graph
    with g.as_default(), g.name_scope(name or "softmax_cross_entropy_with_logits"):
        rank = logits.shape.ndims
        if rank is None:
            raise ValueError("softmax_cross_entropy_with_logits needs logits of known rank")
        if axis % rank != rank - 1:
            perm = list(range(rank))
            perm[axis % rank], perm[-1] = perm[-1], perm[axis % rank]
            logits, labels = transpose(logits, perm), transpose(labels, perm)
        lead = logits.shape.as_list()[:-1]
        if rank != 2:
            from .array import reshape, shape
            from .array_more import as_index

            k = logits.shape.as_list()[-1]
            flat = [-1, k if k is not None else -1]
            logits2, labels2 = reshape(logits, flat), reshape(labels, flat)
        else:
            logits2, labels2 = logits, labels
        op = make_op("SoftmaxCrossEntropyWithLogits", [logits2, labels2], {"T": logits.dtype})
        loss = op.outputs[0]
        if rank != 2:
            if all(d is not None for d in lead):
                loss = reshape(loss, lead)
            else:
                loss = reshape(loss, shape(logits)[:-1] if rank > 1 else as_index([]))
        return loss


def softmax_cross_entropy_with_logits(
    _sentinel=None, labels=None, logits=None, dim=-1, name=None, axis=None
) -> Tensor:
    """TF1's version: like ``_v2`` but no gradient flows into ``labels``."""
    from .array import stop_gradient

    _require_named("softmax_cross_entropy_with_logits", _sentinel)
    if labels is None:
        raise ValueError("Both labels= and logits= must be provided.")
    labels = stop_gradient(convert_to_tensor(labels))
    return softmax_cross_entropy_with_logits_v2(
        labels=labels, logits=logits, dim=dim, name=name, axis=axis
    )


def sparse_softmax_cross_entropy_with_logits(
    _sentinel=None, labels=None, logits=None, name=None
) -> Tensor:
    """Cross-entropy with integer class ``labels`` (one per row of ``logits``)."""
    _require_named("sparse_softmax_cross_entropy_with_logits", _sentinel)
    if labels is None or logits is None:
        raise ValueError("Both labels= and logits= must be provided.")
    logits = convert_to_tensor(logits)
    labels = convert_to_tensor(labels)
    if labels.shape.ndims is not None and logits.shape.ndims is not None:
        if labels.shape.ndims != logits.shape.ndims - 1:
            raise ValueError(
                f"Rank mismatch: Rank of labels (received {labels.shape.ndims}) should equal "
                f"rank of logits minus 1 (received {logits.shape.ndims})."
            )
    g = logits.graph
    with g.as_default(), g.name_scope(name or "SparseSoftmaxCrossEntropyWithLogits"):
        attrs = {"T": logits.dtype, "Tlabels": labels.dtype}
        if logits.shape.ndims == 2:
            return make_op("SparseSoftmaxCrossEntropyWithLogits", [logits, labels], attrs).outputs[
                0
            ]
        from .array import reshape, shape

        k = logits.shape.as_list()[-1] if logits.shape.ndims else None
        flat = reshape(logits, [-1, -1 if k is None else k])
        op = make_op("SparseSoftmaxCrossEntropyWithLogits", [flat, reshape(labels, [-1])], attrs)
        return reshape(op.outputs[0], shape(labels))


def sigmoid_cross_entropy_with_logits(_sentinel=None, labels=None, logits=None, name=None):
    """``max(x, 0) - x * z + log(1 + exp(-|x|))``: the stable logistic loss, as TF builds it."""
    from .indexing import where_v2
    from .math_more import log1p

    _require_named("sigmoid_cross_entropy_with_logits", _sentinel)
    if labels is None or logits is None:
        raise ValueError("Both labels= and logits= must be provided.")
    x = convert_to_tensor(logits)
    z = convert_to_tensor(labels, dtype=x.dtype)
    if not x.shape.is_compatible_with(z.shape):
        raise ValueError(f"logits and labels must have the same shape ({x.shape} vs {z.shape})")
    g = x.graph
    with g.as_default(), g.name_scope(name or "logistic_loss"):
        zero = np.zeros((), x.dtype.np)
        cond = m.greater_equal(x, zero)
        relu_x = where_v2(cond, x, zero)
        neg_abs = where_v2(cond, m.negative(x), x)
        return m.add(m.subtract(relu_x, m.multiply(x, z)), log1p(m.exp(neg_abs)))


def weighted_cross_entropy_with_logits(labels=None, logits=None, pos_weight=None, name=None):
    """Logistic loss with positive examples weighted by ``pos_weight``."""
    from .math_more import log1p

    x = convert_to_tensor(logits)
    z = convert_to_tensor(labels, dtype=x.dtype)
    g = x.graph
    with g.as_default(), g.name_scope(name or "logistic_loss"):
        one = np.ones((), x.dtype.np)
        lw = m.add(one, m.multiply(m.subtract(convert_to_tensor(pos_weight, x.dtype), one), z))
        return m.add(
            m.multiply(m.subtract(one, z), x),
            m.multiply(lw, m.add(log1p(m.exp(m.negative(m.abs(x)))), relu(m.negative(x)))),
        )


# ------------------------------------------------------------------ dropout


def dropout(x, keep_prob=None, noise_shape=None, seed=None, name=None, rate=None) -> Tensor:
    """Zero entries with probability ``rate`` (``1 - keep_prob``) and scale the rest up.

    >>> import graphjit.compat.v1 as tf
    >>> y = tf.nn.dropout(tf.constant([1.0, 2.0]), rate=0.5)
    >>> set(tf.Session().run(y).tolist()) <= {0.0, 2.0, 4.0}  # entries are 0 or doubled
    True
    """
    from .array import cast, shape
    from .random import random_uniform

    if keep_prob is not None and rate is not None:
        raise ValueError("Cannot specify both 'keep_prob' and 'rate'.")
    if keep_prob is None and rate is None:
        raise ValueError("You must provide a rate to dropout.")
    x = convert_to_tensor(x)
    if not x.dtype.is_floating:
        raise ValueError(f"x has to be a floating point tensor since it's going to be scaled. "
                         f"Got a {x.dtype.name} tensor instead.")  # fmt: skip
    if rate is None:
        if isinstance(keep_prob, (int, float)) and not 0 < keep_prob <= 1:
            raise ValueError(f"keep_prob must be a scalar tensor or a float in the range (0, 1], "
                             f"got {keep_prob}")  # fmt: skip
        rate_t = m.subtract(np.ones((), x.dtype.np), convert_to_tensor(keep_prob, dtype=x.dtype))
    else:
        if isinstance(rate, (int, float)) and not 0 <= rate < 1:
            raise ValueError(f"rate must be a scalar tensor or a float in the range [0, 1), "
                             f"got {rate}")  # fmt: skip
        rate_t = convert_to_tensor(rate, dtype=x.dtype)
    g = x.graph
    with g.as_default(), g.name_scope(name or "dropout"):
        ns = noise_shape
        if ns is None:
            ns = x.shape.as_list() if x.shape.is_fully_defined() else shape(x)
        u = random_uniform(ns, dtype=x.dtype, seed=seed)
        keep = cast(m.greater_equal(u, rate_t), x.dtype)
        scale = m.realdiv(np.ones((), x.dtype.np), m.subtract(np.ones((), x.dtype.np), rate_t))
        return m.multiply(m.multiply(x, scale), keep)


# ------------------------------------------------------------------ normalisation composites


def moments(x, axes, shift=None, name=None, keep_dims=None, keepdims=None):
    """Mean and variance over ``axes`` (``tf.nn.moments``), built as TF builds them."""
    from .array import cast, squeeze, stop_gradient

    keep = bool(keepdims if keepdims is not None else keep_dims)
    x = convert_to_tensor(x)
    with x.graph.as_default(), x.graph.name_scope(name or "moments"):
        y = cast(x, _dt.float32) if x.dtype is _dt.float16 else x
        mean = m.reduce_mean(y, axes, keepdims=True, name="mean")
        var = m.reduce_mean(
            m.squared_difference(y, stop_gradient(mean)), axes, keepdims=True, name="variance"
        )
        if not keep:
            mean, var = squeeze(mean, list(axes)), squeeze(var, list(axes))
        if x.dtype is _dt.float16:
            mean, var = cast(mean, x.dtype), cast(var, x.dtype)
        return mean, var


def batch_normalization(x, mean, variance, offset, scale, variance_epsilon, name=None):
    """``(x - mean) * scale / sqrt(variance + eps) + offset`` (``tf.nn.batch_normalization``)."""
    from .array import cast
    from .math_more import rsqrt

    x = convert_to_tensor(x)
    with x.graph.as_default(), x.graph.name_scope(name or "batchnorm"):
        inv = rsqrt(m.add(variance, variance_epsilon))
        if scale is not None:
            inv = m.multiply(inv, scale)
        shift = m.negative(m.multiply(mean, inv))
        if offset is not None:
            shift = m.add(offset, shift)
        return m.add(m.multiply(x, cast(inv, x.dtype)), cast(shift, x.dtype))


def l2_normalize(x, axis=None, epsilon=1e-12, name=None, dim=None):
    """``x / sqrt(max(sum(x**2, axis), epsilon))`` (``tf.nn.l2_normalize``)."""
    from .math_more import rsqrt

    axis = dim if axis is None else axis
    x = convert_to_tensor(x)
    with x.graph.as_default(), x.graph.name_scope(name or "l2_normalize"):
        sq = m.reduce_sum(m.square(x), axis, keepdims=True)
        inv = rsqrt(m.maximum(sq, np.asarray(epsilon, x.dtype.np)))
        return m.multiply(x, inv)


def embedding_lookup(params, ids, partition_strategy="mod", name=None, validate_indices=True,
                     max_norm=None):  # fmt: skip
    """Rows ``ids`` of ``params`` (``tf.nn.embedding_lookup``); ``params`` may be a list of
    shards split with the ``"mod"`` or ``"div"`` strategy, as TF lays them out."""
    from .array import cast, gather
    from .indexing import where_v2

    if partition_strategy not in ("mod", "div"):
        raise ValueError(f"Unrecognized partition strategy: {partition_strategy}")
    shards = list(params) if isinstance(params, (list, tuple)) else [params]
    if not shards:
        raise ValueError("Need at least one param")
    shards = [convert_to_tensor(p) for p in shards]
    ids = convert_to_tensor(ids)
    g = ids.graph
    with g.as_default(), g.name_scope(name or "embedding_lookup"):
        n = len(shards)
        if n == 1:
            out = gather(shards[0], ids)
        else:
            zero = np.zeros((), ids.dtype.np)
            if partition_strategy == "mod":
                part, row = m.floormod(ids, n), m.floordiv(ids, n)
            else:
                sizes = [p.shape.as_list()[0] if p.shape.ndims else None for p in shards]
                if None in sizes:
                    raise ValueError("embedding_lookup 'div' needs shards of static size")
                total = sum(sizes)
                per, extras = total // n, total % n
                hi = np.asarray(per + 1, ids.dtype.np)
                part = m.maximum(m.floordiv(ids, hi), m.floordiv(ids - extras, max(per, 1)))
                row = where_v2(m.less(part, extras), m.floormod(ids, hi),
                               m.floormod(ids - extras, max(per, 1)))  # fmt: skip
            out = None
            for s, p in enumerate(shards):
                hit = m.equal(part, np.asarray(s, ids.dtype.np))
                safe = where_v2(hit, row, zero)
                rows = gather(p, safe)
                extra = (rows.shape.ndims or 1) - (ids.shape.ndims or 0)
                mask = hit
                for _ in range(extra):
                    from .array_more import expand_dims

                    mask = expand_dims(mask, -1)
                term = m.multiply(rows, cast(mask, rows.dtype))
                out = term if out is None else m.add(out, term)
        if max_norm is not None:
            from .math_more import rsqrt

            sq = m.reduce_sum(m.square(out), axis=-1, keepdims=True)
            mx = np.asarray(max_norm, out.dtype.np)
            inv = rsqrt(m.maximum(sq, np.asarray(1e-30, out.dtype.np)))
            scale = m.minimum(m.multiply(mx, inv), np.ones((), out.dtype.np))
            out = m.multiply(out, scale)
        return out
