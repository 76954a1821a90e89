"""TensorFlow's gradient kernels as ops: ``TanhGrad``, ``ReluGrad``, ``BiasAddGrad`` ...

``tf.gradients`` in graphjit builds gradients from ordinary ops (``Mul``, ``SelectV2``,
``Sum``), so graphs it builds never hold these. GraphDefs and ``.meta`` files that
TensorFlow wrote do: with these ops such a training graph imports and runs (with
``ApplyGradientDescent`` in ``state_ops``). Each follows its TF kernel's formula and
operation order (Eigen's ``scalar_*_gradient_op``), in the inputs' dtype; the elementwise
ones compile like any elementwise op. TF differentiates them again (second order); here
they have no gradient rule.
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ..shapes import TensorShape
from .common import FLOATS, NUMERIC, broadcast_infer, check_dtype
from .math import _wrap
from .registry import ELEMWISE, OPAQUE, defop

_SELU_SCALE = 1.0507009873554804934193349852946
_SELU_SCALE_ALPHA = 1.7580993408473768599402175208123  # TF's constant (scale * alpha)


def _select(cond, a, b):
    return np.where(cond, a, b)


def _relu_grad(g, f):
    return _select(f > 0, g, g * 0)


def _relu6_grad(g, f):
    return _select((f > 0) & (f < 6), g, g * 0)


def _elu_grad(g, out):
    return _select(out < 0, g * (out + 1), g)


def _selu_grad(g, out):
    scale, scale_alpha = (np.asarray(c, g.dtype) for c in (_SELU_SCALE, _SELU_SCALE_ALPHA))
    return _select(out < 0, g * (out + scale_alpha), g * scale)


def _leaky_grad(g, f, alpha=0.2, **_):
    return _select(f > 0, g, g * np.asarray(alpha, g.dtype))


def _leaky_grad_template(attrs):
    return f"({{0}} if {{1}} > 0 else {{0}} * {float(attrs.get('alpha', 0.2))!r})"


# (op type, numpy kernel, scalar template, allowed dtypes). The first four take the forward
# op's output ``y`` then its incoming gradient ``dy`` (TF's order); the rest take the
# incoming gradient first.
_ELEMENTWISE = [
    ("TanhGrad", lambda y, dy: dy * (1 - y * y), "({1} * (1 - {0} * {0}))"),
    ("SigmoidGrad", lambda y, dy: dy * y * (1 - y), "({1} * {0} * (1 - {0}))"),
    ("SqrtGrad", lambda y, dy: 0.5 * dy / y, "(0.5 * {1} / {0})"),
    ("RsqrtGrad", lambda y, dy: -0.5 * (dy * y) * (y * y), "(-0.5 * ({1} * {0}) * ({0} * {0}))"),
    ("ReciprocalGrad", lambda y, dy: -dy * y * y, "(-{1} * {0} * {0})"),
    ("ReluGrad", _relu_grad, "({0} if {1} > 0 else {0} * 0)"),
    ("Relu6Grad", _relu6_grad, "({0} if ({1} > 0) and ({1} < 6) else {0} * 0)"),
    ("EluGrad", _elu_grad, "({0} * ({1} + 1) if {1} < 0 else {0})"),
    (
        "SeluGrad",
        _selu_grad,
        f"({{0}} * ({{1}} + {_SELU_SCALE_ALPHA!r}) if {{1}} < 0 else {{0}} * {_SELU_SCALE!r})",
    ),
    (
        "SoftsignGrad",
        lambda g, f: g / ((1 + np.abs(f)) * (1 + np.abs(f))),
        "({0} / ((1 + abs({1})) * (1 + abs({1}))))",
    ),
]
for _t, _k, _s in _ELEMENTWISE:
    _allowed = NUMERIC if _t in ("ReluGrad", "Relu6Grad") else FLOATS
    defop(_t, ELEMWISE, broadcast_infer(allowed=_allowed), _wrap(_k), scalar=_s)
defop(
    "LeakyReluGrad",
    ELEMWISE,
    broadcast_infer(allowed=FLOATS),
    _leaky_grad,
    scalar=_leaky_grad_template,
    attr_defaults={"alpha": 0.2},
)


def _bias_add_grad_infer(inputs, attrs):
    (g,) = inputs
    check_dtype(g.dtype, NUMERIC)
    if g.shape.ndims is not None and g.shape.ndims < 2:
        raise ValueError(
            f"Shape must be at least rank 2 but is rank {g.shape.ndims} for 'BiasAddGrad'"
        )
    if g.shape.ndims is None:
        return [(g.dtype, TensorShape([None]))]
    axis = 1 if attrs.get("data_format", "NHWC") == "NCHW" else -1
    return [(g.dtype, TensorShape([g.shape.as_list()[axis]]))]


def _bias_add_grad(g, data_format="NHWC", **_):
    """The bias gradient: ``out_backprop`` summed over every axis but the channel one."""
    if g.ndim < 2:
        raise InvalidArgumentError(None, None, f"Input tensor must be at least 2D: {g.shape}")
    axis = 1 if data_format == "NCHW" else g.ndim - 1
    axes = tuple(a for a in range(g.ndim) if a != axis)
    return np.sum(g, axis=axes, dtype=g.dtype)


defop(
    "BiasAddGrad",
    OPAQUE,
    _bias_add_grad_infer,
    _bias_add_grad,
    fallback="a reduction over all axes but the channel axis (numpy)",
    attr_defaults={"data_format": "NHWC"},
)
