"""Gradient rules for arithmetic, elementwise math, MatMul and reductions.

Each rule is ``grad(op, *output_grads) -> [input_grad or None, ...]`` built from graph ops;
``unbroadcast`` reduces a gradient back to an operand's shape (TF's BroadcastGradientArgs rule:
sum over the broadcast axes, then reshape), statically when both shapes are known.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor
from . import math as m
from . import math_more as mm
from .array import cast, reshape, shape
from .array_more import ones_like, zeros_like
from .common import make1
from .indexing import broadcast_gradient_args, broadcast_reduction_axes, where_v2
from .registry import set_grad


def not_differentiable(op, *grads):
    """The rule of ops whose outputs carry no gradient (comparisons, shapes, indices)."""
    return [None] * len(op.inputs)


not_differentiable.not_differentiable = True


def _sum(x, axes, keep=False):
    axes_t = axes if isinstance(axes, Tensor) else convert_to_tensor(np.asarray(axes, np.int32))
    return make1("Sum", [x, axes_t], {"T": x.dtype, "Tidx": axes_t.dtype, "keep_dims": keep})


def shape_or_tensor(x):
    """``x``'s static shape as a list when fully known, else a ``Shape`` tensor."""
    return x.shape.as_list() if x.shape.is_fully_defined() else shape(x)


def stretch_free(dims, others) -> bool:
    """Whether an operand with static ``dims`` provably keeps every dimension when broadcast
    against operands with static dims ``others`` (lists, aligned from the right): each of its
    dimensions is known and not 1, or no other operand can stretch it (lacks the axis or has
    size 1 there), whatever the unknown dimensions turn out to be."""
    for k, d in enumerate(dims):
        if d is not None and d != 1:
            continue  # any other size would be a broadcast error, not a stretch
        for o in others:
            j = len(o) - (len(dims) - k)
            if j >= 0 and o[j] != 1:
                return False
    return True


def _keeps_shape(x, others, out_rank) -> bool:
    """:func:`stretch_free` for tensors (``x * x``: the same tensor has the same shape)."""
    others = [o for o in others if o is not x]
    if x.shape.ndims != out_rank or any(o.shape.ndims is None for o in others):
        return False
    return stretch_free(x.shape.as_list(), [o.shape.as_list() for o in others])


def unbroadcast(grad, x, *others):
    """Sum ``grad`` (shaped like a broadcast result) down to the shape of ``x``.

    ``others`` are the operands ``x`` was broadcast against; with them, an unknown dimension
    (a ``None`` batch size) that no other operand can stretch needs no run-time reduction.
    Without them, unknown dimensions are reduced at run time (``BroadcastGradientArgs``):
    equal static shapes with ``None`` in them do not prove equal run-time shapes.
    """
    if grad is None:
        return None
    gs, xs = grad.shape, x.shape
    if gs.is_fully_defined() and xs.is_fully_defined():
        if gs.as_list() == xs.as_list():
            return grad
        axes, _ = broadcast_reduction_axes(xs.as_list(), gs.as_list())
        out = _sum(grad, axes) if axes else grad
        if out.shape.as_list() != xs.as_list():
            out = reshape(out, xs.as_list())
        return out
    if others and gs.ndims is not None and _keeps_shape(x, others, gs.ndims):
        return grad
    if xs.is_fully_defined() and gs.ndims is not None and gs.ndims >= xs.ndims:
        if 1 not in xs.as_list():
            # x (a bias [k] against a batch [n, k]) broadcast only along the leading axes:
            # the sum over them has x's shape already (no Shape/Reshape links in the chain)
            lead = gs.ndims - xs.ndims
            return _sum(grad, list(range(lead))) if lead else grad
    sx = shape(x)
    rx, _ = broadcast_gradient_args(sx, shape(grad))
    return reshape(_sum(grad, rx), sx)


def _binary(rule):
    """Wrap a rule returning full-size operand grads so both are unbroadcast."""

    def grad(op, g):
        x, y = op.inputs
        gx, gy = rule(op, g, x, y)
        return [unbroadcast(gx, x, y), unbroadcast(gy, y, x)]

    return grad


def _zero(x):
    return np.zeros((), x.dtype.np)


set_grad("AddV2", _binary(lambda op, g, x, y: (g, g)))
set_grad("Sub", _binary(lambda op, g, x, y: (g, m.negative(g))))
set_grad("Mul", _binary(lambda op, g, x, y: (m.multiply(g, y), m.multiply(x, g))))


def _realdiv(op, g, x, y):
    return m.realdiv(g, y), m.multiply(g, m.realdiv(m.realdiv(m.negative(x), y), y))


set_grad("RealDiv", _binary(_realdiv))


def _maxmin(cmp):
    def rule(op, g, x, y):
        mask = cmp(x, y)
        zeros = _zero(g)
        return where_v2(mask, g, zeros), where_v2(mask, zeros, g)

    return rule


set_grad("Maximum", _binary(_maxmin(m.greater_equal)))
set_grad("Minimum", _binary(_maxmin(m.less_equal)))


def _pow(op, g, x, y):
    z = op.outputs[0]
    one = np.ones((), x.dtype.np)
    gx = m.multiply(g, m.multiply(y, m.pow(x, m.subtract(y, one))))
    safe = where_v2(m.greater(x, _zero(x)), x, np.ones((), x.dtype.np))
    logx = where_v2(m.greater(x, _zero(x)), m.log(safe), _zero(x))
    gy = m.multiply(g, m.multiply(z, logx))
    return gx, gy


set_grad("Pow", _binary(_pow))


def _sqdiff(op, g, x, y):
    d = m.multiply(m.multiply(np.asarray(2, g.dtype.np), g), m.subtract(x, y))
    return d, m.negative(d)


set_grad("SquaredDifference", _binary(_sqdiff))


def _atan2(op, g, y, x):
    """d atan2(y, x) = (x dy - y dx) / (x^2 + y^2) (TF's _Atan2Grad)."""
    inv = m.realdiv(g, m.add(m.square(x), m.square(y)))
    return m.multiply(x, inv), m.multiply(m.negative(y), inv)


set_grad("Atan2", _binary(_atan2))


def _floormod(op, g, x, y):
    return g, m.multiply(m.negative(g), m.floordiv(x, y))


set_grad("FloorMod", _binary(_floormod))

# ------------------------------------------------------------------ unary


def _unary(rule):
    def grad(op, g):
        return [rule(op.inputs[0], op.outputs[0], g)]

    return grad


def _c(v, like):
    return np.asarray(v, like.dtype.np)


_UNARY = {
    "Neg": lambda x, y, g: m.negative(g),
    "Exp": lambda x, y, g: m.multiply(g, y),
    "Log": lambda x, y, g: m.multiply(g, mm.reciprocal(x)),
    "Tanh": lambda x, y, g: m.multiply(g, m.subtract(_c(1, y), m.square(y))),
    "Square": lambda x, y, g: m.multiply(g, m.multiply(_c(2, x), x)),
    "Sqrt": lambda x, y, g: m.realdiv(m.multiply(g, _c(0.5, y)), y),
    "Abs": lambda x, y, g: m.multiply(g, m.sign(x)),
    "Sigmoid": lambda x, y, g: m.multiply(g, m.multiply(y, m.subtract(_c(1, y), y))),
    "Softplus": lambda x, y, g: m.multiply(g, mm.sigmoid(x)),
    "Softsign": lambda x, y, g: m.realdiv(g, m.square(m.add(_c(1, x), m.abs(x)))),
    "Expm1": lambda x, y, g: m.multiply(g, m.exp(x)),
    "Log1p": lambda x, y, g: m.multiply(g, mm.reciprocal(m.add(_c(1, x), x))),
    "Sin": lambda x, y, g: m.multiply(g, mm.cos(x)),
    "Cos": lambda x, y, g: m.multiply(g, m.negative(mm.sin(x))),
    "Tan": lambda x, y, g: m.multiply(g, m.square(mm.reciprocal(mm.cos(x)))),
    "Sinh": lambda x, y, g: m.multiply(g, mm.cosh(x)),
    "Cosh": lambda x, y, g: m.multiply(g, mm.sinh(x)),
    "Asin": lambda x, y, g: m.multiply(g, mm.rsqrt(m.subtract(_c(1, x), m.square(x)))),
    "Acos": lambda x, y, g: m.negative(m.multiply(g, mm.rsqrt(m.subtract(_c(1, x), m.square(x))))),
    "Atan": lambda x, y, g: m.realdiv(g, m.add(_c(1, x), m.square(x))),
    "Rsqrt": lambda x, y, g: m.multiply(g, m.multiply(_c(-0.5, y), m.multiply(y, m.square(y)))),
    "Reciprocal": lambda x, y, g: m.multiply(g, m.negative(m.square(y))),
    "Erf": lambda x, y, g: m.multiply(
        g, m.multiply(_c(2 / np.sqrt(np.pi), x), m.exp(m.negative(m.square(x))))
    ),
    "Erfc": lambda x, y, g: m.multiply(
        g, m.multiply(_c(-2 / np.sqrt(np.pi), x), m.exp(m.negative(m.square(x))))
    ),
}
for _t, _rule in _UNARY.items():
    set_grad(_t, _unary(_rule))

# TF's Sign gradient is zeros; Floor, Ceil, Round and Rint are registered NotDifferentiable
# (tf.gradients gives None through them), so they are listed with the comparisons below.
set_grad("Sign", lambda op, g: [zeros_like(op.inputs[0])])

for _t in (
    "Less LessEqual Greater GreaterEqual Equal NotEqual LogicalAnd LogicalOr LogicalNot "
    "IsNan IsInf IsFinite FloorDiv ArgMax ArgMin Any All Floor Ceil Round Rint"
).split():
    set_grad(_t, not_differentiable)


def _addn(op, g):
    return [g] * len(op.inputs)


set_grad("AddN", _addn)

# ------------------------------------------------------------------ MatMul


def _matmul(op, g):
    a, b = op.inputs
    ta, tb = op.get_attr("transpose_a"), op.get_attr("transpose_b")
    mm_ = m.matmul
    if not ta and not tb:
        return [mm_(g, b, transpose_b=True), mm_(a, g, transpose_a=True)]
    if not ta and tb:
        return [mm_(g, b), mm_(g, a, transpose_a=True)]
    if ta and not tb:
        return [mm_(b, g, transpose_b=True), mm_(a, g)]
    return [mm_(b, g, transpose_a=True, transpose_b=True), mm_(g, a, True, True)]


set_grad("MatMul", _matmul)

# ------------------------------------------------------------------ reductions


def _kept_shape(op):
    """Shape of the reduction output with reduced axes kept as 1 (list or tensor), and axes."""
    x, axis = op.inputs
    from .common import axis_list

    rank = x.shape.ndims
    axes = axis_list(axis, rank) if rank is not None else None
    if axes is not None and x.shape.is_fully_defined():
        return [1 if i in axes else d for i, d in enumerate(x.shape.as_list())]
    # Dynamic: Shape(x) with the reduced axes set to 1 (TF's reduced_shape).
    sx = shape(x)
    ax = cast(axis, _dt.int32) if axis.dtype is not _dt.int32 else axis
    return mm_scatter_ones(sx, ax)


def mm_scatter_ones(sx, axes):
    """``sx`` with ``sx[axes] = 1`` built from graph ops (axes may be negative)."""
    from .indexing import scatter_nd

    n = shape(sx)
    axes = m.floormod(reshape(axes, [-1]), n)
    hit = scatter_nd(reshape(axes, [-1, 1]), m.add(m.multiply(axes, 0), 1), n)
    return where_v2(m.greater(hit, 0), m.add(m.multiply(sx, 0), 1), sx)


def _sum_grad(op, g):
    """``g`` broadcast back to ``x``'s shape, written ``g * ones_like(x)``.

    The same values as TF's ``broadcast_to(reshape(g, kept), shape(x))`` (multiplying by
    one is exact), but every op is pointwise, so with a dynamic batch size the gradient
    fuses into the surrounding segment instead of becoming Shape/BroadcastTo driver links.
    ``g`` is reshaped only when the reduction dropped some (not all) axes.
    """
    x = op.inputs[0]
    keep = bool(op.get_attr("keep_dims")) if "keep_dims" in op.node_def.attr else False
    if not (keep or g.shape.ndims == 0):
        g = reshape(g, _kept_shape(op))
    return [m.multiply(g, ones_like(x)), None]


def _count(op):
    x, y = op.inputs[0], op.outputs[0]
    if x.shape.is_fully_defined() and y.shape.is_fully_defined():
        n = max(x.shape.num_elements(), 1) // max(y.shape.num_elements(), 1)
        return np.asarray(n, x.dtype.np)
    sx = m.reduce_prod(shape(x))
    sy = m.reduce_prod(shape(y))
    return cast(m.floordiv(sx, m.maximum(sy, 1)), x.dtype)


def _mean_grad(op, g):
    gs, _ = _sum_grad(op, g)
    return [m.realdiv(gs, _count(op)), None]


def _minmax_grad(op, g):
    x, y = op.inputs[0], op.outputs[0]
    kept = _kept_shape(op)
    yb = reshape(y, kept)
    gb = reshape(g, kept)
    ind = cast(m.equal(yb, x), g.dtype)
    num = reshape(_sum(ind, op.inputs[1]), kept)
    return [m.multiply(m.realdiv(ind, num), gb), None]


def _prod_grad(op, g):
    """TF's rule: the product of the others as (exclusive left cumprod) * (right cumprod).

    The reduced axes are moved to the front and flattened into one, so an input with zeros
    gets the exact gradient (no ``y / x``). Needs the axes and the rank statically; otherwise
    falls back to ``g * y / x`` (exact for inputs without zeros).
    """
    from .array_more import transpose
    from .common import axis_list

    x, y = op.inputs[0], op.outputs[0]
    kept = _kept_shape(op)
    rank = x.shape.ndims
    axes = axis_list(op.inputs[1], rank) if rank is not None else None
    if axes is None:
        return [m.realdiv(m.multiply(reshape(g, kept), reshape(y, kept)), x), None]
    reduced = sorted(axes)
    if rank == 0 or not reduced:  # nothing is multiplied in: the product is x itself
        return [reshape(g, shape_or_tensor(x)), None]
    other = [i for i in range(rank) if i not in reduced]
    perm = reduced + other
    from .array import gather, stack

    sx = shape(x)
    nums = [m.reduce_prod(gather(sx, np.asarray(ax or [], np.int32))) for ax in (reduced, other)]
    permuted = transpose(x, perm)
    flat = reshape(permuted, stack(nums))
    left = mm.cumprod(flat, axis=0, exclusive=True)
    right = mm.cumprod(flat, axis=0, exclusive=True, reverse=True)
    others = transpose(reshape(m.multiply(left, right), shape(permuted)), list(np.argsort(perm)))
    out = m.multiply(reshape(g, kept), others)
    out.set_shape(x.shape)
    return [out, None]


set_grad("Sum", _sum_grad)
set_grad("Mean", _mean_grad)
set_grad("Max", _minmax_grad)
set_grad("Min", _minmax_grad)
set_grad("Prod", _prod_grad)


def _cumsum_grad(op, g):
    axis = op.inputs[1]
    ex, rev = op.get_attr("exclusive"), op.get_attr("reverse")
    return [mm.cumsum(g, axis, exclusive=ex, reverse=not rev), None]


set_grad("Cumsum", _cumsum_grad)


def _cumprod_grad(op, g):
    # TF's rule: d/dx cumprod = reverse-cumsum(cumprod * g) / x (x must be nonzero)
    x, axis = op.inputs
    ex, rev = op.get_attr("exclusive"), op.get_attr("reverse")
    prod = mm.cumprod(x, axis, exclusive=ex, reverse=rev)
    out = mm.cumsum(m.multiply(prod, g), axis, exclusive=ex, reverse=not rev)
    return [m.truediv(out, x), None]


set_grad("Cumprod", _cumprod_grad)
