"""More elementwise math (sigmoid, expm1, trig, rounding, predicates), AddN, and reductions
beyond the core (Any/All, ArgMax/ArgMin, Cumsum, logsumexp, count_nonzero).

Scalar templates follow ``ops/math.py``: a bare name (``"expm1"``) is a function the compiler
maps to a vectorizable math routine (see ``codegen_exprs.NP_NAMES``); other functions are
written as ``np.<ufunc>({0})`` templates, rendered inline.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, convert_to_tensor
from ..shapes import TensorShape
from .common import (
    FLOATS,
    NUMERIC,
    SIGNED,
    axis_list,
    binary_args,
    broadcast_infer,
    check_dtype,
    make1,
    unary_infer,
)
from .math import _reduce_fn, _reduce_infer, _reducer, _wrap, maximum, minimum
from .registry import ELEMWISE, OPAQUE, REDUCE, defop

BOOL = frozenset({_dt.bool})


def _sigmoid(x):
    return (0.5 * (np.tanh(0.5 * x) + 1)).astype(x.dtype)


def _softplus(x):
    return (np.logaddexp(0, x)).astype(x.dtype)


def _round_half_even(x):
    return np.rint(x) if x.dtype.kind == "f" else x.copy()


def _reciprocal(x):
    if x.dtype.kind in "iu":
        if np.any(x == 0):
            raise InvalidArgumentError(None, None, "Integer division by zero")
        return (1 // x).astype(x.dtype)
    return np.reciprocal(x)


# (op type, function name, numpy kernel, scalar template, allowed dtypes)
_UNARY = [
    ("Sigmoid", "sigmoid", _sigmoid, "sigmoid", FLOATS),
    ("Softplus", "softplus", _softplus, "softplus", FLOATS),
    ("Softsign", "softsign", lambda x: x / (1 + np.abs(x)), "({0} / (1 + abs({0})))", FLOATS),
    ("Expm1", "expm1", np.expm1, "expm1", FLOATS),
    ("Log1p", "log1p", np.log1p, "log1p", FLOATS),
    ("Sin", "sin", np.sin, "sin", FLOATS),
    ("Cos", "cos", np.cos, "cos", FLOATS),
    ("Tan", "tan", np.tan, "tan", FLOATS),
    ("Asin", "asin", np.arcsin, "asin", FLOATS),
    ("Acos", "acos", np.arccos, "np.arccos({0})", FLOATS),
    ("Atan", "atan", np.arctan, "np.arctan({0})", FLOATS),
    ("Sinh", "sinh", np.sinh, "np.sinh({0})", FLOATS),
    ("Cosh", "cosh", np.cosh, "np.cosh({0})", FLOATS),
    ("Rsqrt", "rsqrt", lambda x: 1 / np.sqrt(x), "(1 / sqrt({0}))", FLOATS),
    ("Reciprocal", "reciprocal", _reciprocal, "reciprocal", SIGNED),
    ("Floor", "floor", np.floor, "np.floor({0})", FLOATS),
    ("Ceil", "ceil", np.ceil, "np.ceil({0})", FLOATS),
    ("Round", "round", _round_half_even, "np.rint({0})", NUMERIC),
    ("Rint", "rint", np.rint, "np.rint({0})", FLOATS),
    ("Erf", "erf", None, lambda attrs: _ERF64 if attrs.get("T") == _dt.float64 else "erf", FLOATS),
    ("Erfc", "erfc", None, "erfc", FLOATS),
]


# TF 2.21's CPU float64 erf (Eigen) is NaN wherever x * x overflows (|x| > ~1.34e154, +-inf
# included); float32 saturates at +-1. graphjit matches both, in numpy and compiled code.
_ERF64 = "(np.nan if {0} * {0} == np.inf else erf({0}))"


def _erf(x):
    from math import erf

    out = np.vectorize(erf, otypes=[x.dtype])(x) if x.size else x.copy()
    if x.dtype == np.float64:
        with np.errstate(over="ignore"):
            out[np.isinf(x * x)] = np.nan
    return out


def _erfc(x):
    from math import erfc

    return np.vectorize(erfc, otypes=[x.dtype])(x) if x.size else x.copy()


_FNS = {}


def _unary_fn(op_type, fname):
    def fn(x, name=None):
        x = convert_to_tensor(x)
        return make1(op_type, [x], {"T": x.dtype}, name=name or op_type)

    fn.__name__ = fname
    fn.__doc__ = f"Elementwise ``{op_type}`` (``tf.math.{fname}``)."
    return fn


for _t, _n, _k, _s, _allowed in _UNARY:
    _k = _k or {"Erf": _erf, "Erfc": _erfc}[_t]
    defop(_t, ELEMWISE, unary_infer(allowed=_allowed), _wrap(_k), scalar=_s)
    _FNS[_n] = _unary_fn(_t, _n)

# Predicates: float in, bool out.
for _t, _n, _k, _s in [
    ("IsNan", "is_nan", np.isnan, "np.isnan({0})"),
    ("IsInf", "is_inf", np.isinf, "np.isinf({0})"),
    ("IsFinite", "is_finite", np.isfinite, "isfinite"),
]:
    defop(_t, ELEMWISE, unary_infer(out_dtype=_dt.bool, allowed=FLOATS), _wrap(_k), scalar=_s)
    _FNS[_n] = _unary_fn(_t, _n)

# atan2(y, x): the angle of (x, y), elementwise with numpy broadcasting (TF's ``Atan2``)
defop("Atan2", ELEMWISE, broadcast_infer(allowed=FLOATS), _wrap(np.arctan2),
      scalar="np.arctan2({0}, {1})")  # fmt: skip


def atan2(y, x, name=None) -> Tensor:
    """Elementwise ``atan2(y, x)`` in ``[-pi, pi]`` (``tf.math.atan2``), broadcasting."""
    y, x = binary_args(y, x, "Atan2")
    return make1("Atan2", [y, x], {"T": y.dtype}, name=name or "Atan2")


sigmoid = _FNS["sigmoid"]
softplus = _FNS["softplus"]
softsign = _FNS["softsign"]
expm1 = _FNS["expm1"]
log1p = _FNS["log1p"]
sin, cos, tan = _FNS["sin"], _FNS["cos"], _FNS["tan"]
asin, acos, atan = _FNS["asin"], _FNS["acos"], _FNS["atan"]
sinh, cosh = _FNS["sinh"], _FNS["cosh"]
rsqrt = _FNS["rsqrt"]
reciprocal = _FNS["reciprocal"]
floor, ceil, round, rint = _FNS["floor"], _FNS["ceil"], _FNS["round"], _FNS["rint"]
erf, erfc = _FNS["erf"], _FNS["erfc"]
is_nan, is_inf, is_finite = _FNS["is_nan"], _FNS["is_inf"], _FNS["is_finite"]


def clip_by_value(t, clip_value_min, clip_value_max, name=None) -> Tensor:
    """``min(max(t, lo), hi)`` built from Minimum and Maximum, as TF1 does."""
    t = convert_to_tensor(t)
    with t.graph.as_default(), t.graph.name_scope(name or "clip_by_value"):
        return maximum(minimum(t, clip_value_max), clip_value_min)


# ------------------------------------------------------------------ AddN


def _addn_infer(inputs, attrs):
    dt = inputs[0].dtype
    shape = inputs[0].shape
    check_dtype(dt, NUMERIC)
    for t in inputs[1:]:
        if t.dtype is not dt:
            raise TypeError(f"AddN: all inputs must have dtype {dt.name}, got {t.dtype.name}")
        try:
            shape = shape.merge_with(t.shape)
        except ValueError:
            raise ValueError(
                f"Shapes must be equal rank, but are {shape} and {t.shape} for 'AddN'"
            ) from None
    return [(dt, shape)]


def _addn_kernel(*xs, **a):
    out = xs[0].copy()
    for x in xs[1:]:
        if x.shape != out.shape:
            raise InvalidArgumentError(
                None,
                None,
                f"Inputs to operation AddN must have the same size and shape.  "
                f"Input 0: {list(out.shape)} != input : {list(x.shape)}",
            )
        out += x
    return out


def addn_template(attrs) -> str:
    """The scalar template of ``AddN`` for ``attrs['N']`` operands."""
    return "(" + " + ".join(f"{{{i}}}" for i in range(attrs["N"])) + ")"


defop("AddN", ELEMWISE, _addn_infer, _addn_kernel, scalar=addn_template)


def add_n_op(inputs, name=None) -> Tensor:
    """Sum same-shape tensors with one ``AddN`` op (one input is returned as is)."""
    inputs = [convert_to_tensor(t) for t in inputs]
    if len(inputs) == 1 and name is None:
        return inputs[0]
    return make1("AddN", inputs, {"N": len(inputs), "T": inputs[0].dtype}, name=name or "AddN")


# ------------------------------------------------------------------ reductions


for _t in ("Any", "All"):
    _fn = np.any if _t == "Any" else np.all
    defop(
        _t,
        REDUCE,
        _reduce_infer(BOOL),
        _reducer(lambda x, axis, keepdims, f=_fn: f(x, axis=axis, keepdims=keepdims)),
        attr_defaults={"keep_dims": False},
    )
reduce_any = _reduce_fn("Any", "reduce_any")
reduce_all = _reduce_fn("All", "reduce_all")


def reduce_logsumexp(input_tensor, axis=None, keepdims=False, name=None, keep_dims=None):
    """``log(sum(exp(x)))`` computed stably (max subtracted first), as TF builds it."""
    from .array import stop_gradient
    from .math import add, exp, log, reduce_max, reduce_sum, subtract

    x = convert_to_tensor(input_tensor)
    keep = bool(keepdims or keep_dims)
    with x.graph.as_default(), x.graph.name_scope(name or "ReduceLogSumExp"):
        m = stop_gradient(reduce_max(x, axis=axis, keepdims=True))
        is_fin = is_finite(m)
        from .indexing import where_v2

        m = where_v2(is_fin, m, np.zeros((), x.dtype.np))
        s = log(reduce_sum(exp(subtract(x, m)), axis=axis, keepdims=keep))
        if not keep:
            from .array import reshape

            mshape = reduce_sum(m, axis=axis, keepdims=False)
            return add(s, reshape(m, _shape_or(mshape)))
        return add(s, m)


def _shape_or(t):
    from .array import shape

    return t.shape.as_list() if t.shape.is_fully_defined() else shape(t)


def count_nonzero(input_tensor, axis=None, keepdims=None, dtype=_dt.int64, name=None, **kw):
    """Number of non-zero entries along ``axis`` (``tf.math.count_nonzero``)."""
    from .array import cast
    from .math import not_equal, reduce_sum

    x = convert_to_tensor(input_tensor)
    keep = bool(keepdims or kw.get("keep_dims"))
    axis = kw.get("reduction_indices", axis)
    with x.graph.as_default(), x.graph.name_scope(name or "count_nonzero"):
        zero = np.zeros((), x.dtype.np)
        nz = cast(not_equal(x, zero), _dt.int64)
        return cast(reduce_sum(nz, axis=axis, keepdims=keep), dtype)


def _arg_infer(inputs, attrs):
    x, dim = inputs
    check_dtype(x.dtype, NUMERIC | BOOL)
    check_dtype(dim.dtype, {_dt.int32, _dt.int64})
    out = _dt.as_dtype(attrs.get("output_type", _dt.int64))
    rank = x.shape.ndims
    axes = axis_list(dim, rank)
    if rank is None or axes is None:
        return [(out, TensorShape(None if rank is None else [None] * (rank - 1)))]
    return [(out, TensorShape([d for i, d in enumerate(x.shape.as_list()) if i not in axes]))]


def _arg_kernel(fn):
    def kernel(x, dim, *, output_type=_dt.int64, **a):
        ax = int(dim) % max(x.ndim, 1)
        if x.shape[ax] == 0:
            raise InvalidArgumentError(
                None, None, f"Reduction axis {ax} is empty in shape {list(x.shape)}"
            )
        if x.dtype.kind == "f":
            # TF (Eigen's tuple reducer) only moves on a strictly better value, so NaN never
            # wins: argmax([1, nan, 3]) is 2 and an all-NaN row gives 0. Replacing NaN by the
            # value that can never win (-inf for argmax, +inf for argmin) gives the same index.
            fill = -np.inf if fn is np.argmax else np.inf
            x = np.where(np.isnan(x), x.dtype.type(fill), x)
        return fn(x, axis=ax).astype(_dt.as_dtype(output_type).np)

    return kernel


_ARG = {"output_type": _dt.int64}
defop("ArgMax", OPAQUE, _arg_infer, _arg_kernel(np.argmax), kernel="argmax", attr_defaults=_ARG)
defop("ArgMin", OPAQUE, _arg_infer, _arg_kernel(np.argmin), kernel="argmin", attr_defaults=_ARG)


def _arg_fn(op_type, fname):
    def fn(input, axis=None, name=None, dimension=None, output_type=_dt.int64):
        x = convert_to_tensor(input)
        if axis is None:
            axis = 0 if dimension is None else dimension
        a = axis if isinstance(axis, Tensor) else convert_to_tensor(np.int32(axis))
        attrs = {"T": x.dtype, "Tidx": a.dtype, "output_type": _dt.as_dtype(output_type)}
        return make1(op_type, [x, a], attrs, name=name or op_type)

    fn.__name__ = fname
    fn.__doc__ = f"Index of the {fname[3:]} value along ``axis`` (``tf.{fname}``)."
    return fn


argmax = arg_max = _arg_fn("ArgMax", "argmax")
argmin = arg_min = _arg_fn("ArgMin", "argmin")


def _cumsum_infer(inputs, attrs):
    x, _axis = inputs
    check_dtype(x.dtype, NUMERIC)
    # A bad axis is not a build-time error: TF's scan kernel checks it when it runs.
    return [(x.dtype, x.shape)]


def _cum_kernel(fn):
    def kernel(x, axis, *, exclusive=False, reverse=False, **a):
        r = x.ndim
        if not -r <= int(axis) < r:
            raise InvalidArgumentError(
                None,
                None,
                f"ScanOp: Expected scan axis in the range [{-r}, {r}), but got {int(axis)}",
            )
        ax = int(axis) % r
        if reverse:
            x = np.flip(x, ax)
        out = fn(x, axis=ax, dtype=x.dtype)
        if exclusive:
            ident = 0 if fn is np.cumsum else 1
            out = np.concatenate(
                [np.full_like(np.take(out, [0], axis=ax), ident), np.delete(out, -1, axis=ax)],
                axis=ax,
            )
        if reverse:
            out = np.flip(out, ax)
        return np.asarray(out, order="C")

    return kernel


_CUM = {"exclusive": False, "reverse": False}
defop("Cumsum", OPAQUE, _cumsum_infer, _cum_kernel(np.cumsum), fallback="scan", attr_defaults=_CUM)
defop("Cumprod", OPAQUE, _cumsum_infer, _cum_kernel(np.cumprod), fallback="scan",
      attr_defaults=_CUM)  # fmt: skip


def _cum_fn(op_type, fname):
    def fn(x, axis=0, exclusive=False, reverse=False, name=None):
        x = convert_to_tensor(x)
        a = axis if isinstance(axis, Tensor) else convert_to_tensor(np.int32(axis))
        attrs = {"T": x.dtype, "Tidx": a.dtype, "exclusive": exclusive, "reverse": reverse}
        return make1(op_type, [x, a], attrs, name=name or op_type)

    fn.__name__ = fname
    fn.__doc__ = f"``tf.{fname}`` along ``axis`` (``exclusive``/``reverse`` as in TF)."
    return fn


cumsum = _cum_fn("Cumsum", "cumsum")
cumprod = _cum_fn("Cumprod", "cumprod")
