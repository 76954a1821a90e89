"""Arithmetic, comparison, logical ops, MatMul and reductions (the core subset).

Each op is one registry entry: inference, numpy kernel and the scalar template the compiler
renders inside fused loops (``{0}``, ``{1}`` are the operand expressions).
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import OVERLOADS, Tensor, convert_to_tensor
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
from .registry import ELEMWISE, OPAQUE, REDUCE, defop

BOOL = frozenset({_dt.bool})


def _int_div_guard(y):
    if y.dtype.kind in "iu" and np.any(y == 0):
        raise InvalidArgumentError(None, None, "Integer division by zero")


def _floordiv(x, y, **a):
    _int_div_guard(y)
    if x.dtype.kind in "iu":
        return np.floor_divide(x, y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.floor(x / y).astype(x.dtype)


def _floormod(x, y, **a):
    _int_div_guard(y)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.mod(x, y)


def _realdiv(x, y, **a):
    if x.dtype.kind in "iu":
        # TF registers RealDiv for float and complex only (``/`` on ints is truediv, which
        # casts to float first), so an explicit integer RealDiv fails when it runs.
        raise InvalidArgumentError(
            None,
            None,
            f"No OpKernel was registered to support Op 'RealDiv' with these attrs: "
            f"T={_dt.as_dtype(x.dtype).name}",
        )
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.true_divide(x, y)


def _realdiv_template(attrs):
    """Float RealDiv compiles; an integer one is left to the (raising) numpy kernel."""
    return None if _dt.as_dtype(attrs.get("T", _dt.float32)).is_integer else "div"


def _pow(x, y, **a):
    if x.dtype.kind in "iu" and np.any(y < 0):
        raise InvalidArgumentError(
            None, None, "Integers to negative integer powers are not allowed"
        )
    with np.errstate(all="ignore"):
        return np.power(x, y)


def _wrap(fn):
    def kernel(*xs, **attrs):
        with np.errstate(all="ignore"):
            return fn(*xs)

    return kernel


# (op type, overload key, numpy kernel, scalar template, allowed dtypes)
_BINARY = [
    ("AddV2", "add", _wrap(np.add), "({0} + {1})", NUMERIC),
    ("Sub", "sub", _wrap(np.subtract), "({0} - {1})", NUMERIC),
    ("Mul", "mul", _wrap(np.multiply), "({0} * {1})", NUMERIC),
    ("RealDiv", None, _realdiv, _realdiv_template, NUMERIC),
    ("FloorDiv", "floordiv", _floordiv, "floordiv", NUMERIC),
    ("FloorMod", "mod", _floormod, "floormod", NUMERIC),
    ("Pow", "pow", _pow, "pow", NUMERIC),
    ("Maximum", None, _wrap(np.maximum), "maximum", NUMERIC),
    ("Minimum", None, _wrap(np.minimum), "minimum", NUMERIC),
    (
        "SquaredDifference",
        None,
        _wrap(lambda x, y: (x - y) * (x - y)),
        "(({0} - {1}) * ({0} - {1}))",
        NUMERIC,
    ),
]
_COMPARE = [
    ("Less", "less", np.less, "({0} < {1})"),
    ("LessEqual", "less_equal", np.less_equal, "({0} <= {1})"),
    ("Greater", "greater", np.greater, "({0} > {1})"),
    ("GreaterEqual", "greater_equal", np.greater_equal, "({0} >= {1})"),
    ("Equal", None, np.equal, "({0} == {1})"),
    ("NotEqual", None, np.not_equal, "({0} != {1})"),
]
_LOGICAL = [
    ("LogicalAnd", "logical_and", np.logical_and, "({0} and {1})"),
    ("LogicalOr", "logical_or", np.logical_or, "({0} or {1})"),
]
# (op type, numpy kernel, scalar template, allowed dtypes)
_UNARY = [
    ("Neg", np.negative, "(-{0})", SIGNED),
    ("Abs", np.abs, "abs({0})", SIGNED),
    ("Square", np.square, "({0} * {0})", NUMERIC),
    ("Sign", np.sign, "sign", NUMERIC),
    ("Exp", np.exp, "exp", FLOATS),
    ("Log", np.log, "log", FLOATS),
    ("Tanh", np.tanh, "tanh", FLOATS),
    ("Sqrt", np.sqrt, "sqrt", FLOATS),
]


def _binary_fn(op_type, doc):
    def fn(x, y, name=None):
        x, y = binary_args(x, y, op_type)
        return make1(op_type, [x, y], {"T": x.dtype}, name=name or op_type)

    fn.__name__ = op_type.lower()
    fn.__doc__ = doc
    return fn


_FNS = {}
for _t, _key, _k, _s, _allowed in _BINARY:
    defop(_t, ELEMWISE, broadcast_infer(allowed=_allowed), _k, scalar=_s)
    _FNS[_t] = _binary_fn(_t, f"Elementwise ``{_t}`` with numpy broadcasting.")
    if _key:
        OVERLOADS[_key] = _FNS[_t]
for _t, _key, _k, _s in _COMPARE:
    defop(_t, ELEMWISE, broadcast_infer(out_dtype=_dt.bool), _wrap(_k), scalar=_s)
    _FNS[_t] = _binary_fn(_t, f"Elementwise ``{_t}``, a bool tensor.")
    if _key:
        OVERLOADS[_key] = _FNS[_t]
for _t, _key, _k, _s in _LOGICAL:
    defop(_t, ELEMWISE, broadcast_infer(allowed=BOOL), _wrap(_k), scalar=_s)
    _FNS[_t] = _binary_fn(_t, f"Elementwise ``{_t}`` of bool tensors.")
    OVERLOADS[_key] = _FNS[_t]
for _t, _k, _s, _allowed in _UNARY:
    defop(_t, ELEMWISE, unary_infer(allowed=_allowed), _wrap(_k), scalar=_s)
defop("LogicalNot", ELEMWISE, unary_infer(allowed=BOOL), _wrap(np.logical_not), scalar="(not {0})")

add = _FNS["AddV2"]
subtract = _FNS["Sub"]
multiply = _FNS["Mul"]
realdiv = _FNS["RealDiv"]
floordiv = _FNS["FloorDiv"]
floormod = mod = _FNS["FloorMod"]
pow = _FNS["Pow"]
maximum = _FNS["Maximum"]
minimum = _FNS["Minimum"]
squared_difference = _FNS["SquaredDifference"]
less = _FNS["Less"]
less_equal = _FNS["LessEqual"]
greater = _FNS["Greater"]
greater_equal = _FNS["GreaterEqual"]
equal = _FNS["Equal"]
not_equal = _FNS["NotEqual"]
logical_and = _FNS["LogicalAnd"]
logical_or = _FNS["LogicalOr"]


def _unary_fn(op_type):
    def fn(x, name=None):
        x = convert_to_tensor(x)
        return make1(op_type, [x], {"T": x.dtype}, name=name or op_type)

    fn.__name__ = op_type.lower()
    fn.__doc__ = f"Elementwise ``{op_type}``."
    return fn


negative = _unary_fn("Neg")
abs = _unary_fn("Abs")
square = _unary_fn("Square")
sign = _unary_fn("Sign")
exp = _unary_fn("Exp")
log = _unary_fn("Log")
tanh = _unary_fn("Tanh")
sqrt = _unary_fn("Sqrt")
logical_not = _unary_fn("LogicalNot")
OVERLOADS["neg"] = negative
OVERLOADS["abs"] = abs
OVERLOADS["logical_not"] = logical_not


def logical_xor(x, y, name="LogicalXor"):
    """``(x | y) & ~(x & y)`` as TF builds it."""
    return logical_and(logical_or(x, y), logical_not(logical_and(x, y)), name=name)


OVERLOADS["logical_xor"] = logical_xor

_TRUEDIV_FLOAT = {
    _dt.int8: _dt.float32,
    _dt.uint8: _dt.float32,
    _dt.int16: _dt.float32,
    _dt.uint16: _dt.float32,
    _dt.int32: _dt.float64,
    _dt.int64: _dt.float64,
}


def truediv(x, y, name=None):
    """Python 3 division: ints are cast to float first (int32/int64 to float64), as in TF."""
    from .array import cast

    x, y = binary_args(x, y, "truediv")
    target = _TRUEDIV_FLOAT.get(x.dtype)
    if target is not None:
        x, y = cast(x, target), cast(y, target)
    return make1("RealDiv", [x, y], {"T": x.dtype}, name=name or "truediv")


divide = truediv
OVERLOADS["truediv"] = truediv


def scalar_mul(scalar, x, name=None):
    return multiply(scalar, x, name=name)


# ------------------------------------------------------------------ MatMul


def _matmul_infer(inputs, attrs):
    a, b = inputs
    if a.dtype is not b.dtype:
        raise TypeError(
            f"MatMul inputs must have the same dtype, got {a.dtype.name} and {b.dtype.name}"
        )
    check_dtype(a.dtype, NUMERIC)
    sa, sb = a.shape, b.shape
    if sa.ndims is not None and sa.ndims != 2:
        raise ValueError(f"Shape must be rank 2 but is rank {sa.ndims} for MatMul input a")
    if sb.ndims is not None and sb.ndims != 2:
        raise ValueError(f"Shape must be rank 2 but is rank {sb.ndims} for MatMul input b")
    da = sa.as_list() if sa.ndims else [None, None]
    db = sb.as_list() if sb.ndims else [None, None]
    if attrs.get("transpose_a"):
        da = da[::-1]
    if attrs.get("transpose_b"):
        db = db[::-1]
    if da[1] is not None and db[0] is not None and da[1] != db[0]:
        raise ValueError(
            f"Dimensions must be equal, but are {da[1]} and {db[0]} for MatMul with input "
            f"shapes: {sa.tf_str()}, {sb.tf_str()}."
        )
    return [(a.dtype, TensorShape([da[0], db[1]]))]


def _matmul_kernel(a, b, *, transpose_a=False, transpose_b=False, T=None):
    if transpose_a:
        a = a.T
    if transpose_b:
        b = b.T
    if a.shape[1] != b.shape[0]:
        raise InvalidArgumentError(
            None, None, f"Matrix size-incompatible: In[0]: {list(a.shape)}, In[1]: {list(b.shape)}"
        )
    return np.matmul(a, b)


defop(
    "MatMul",
    OPAQUE,
    _matmul_infer,
    _matmul_kernel,
    kernel="matmul",
    attr_defaults={"transpose_a": False, "transpose_b": False},
)


def matmul(
    a,
    b,
    transpose_a=False,
    transpose_b=False,
    adjoint_a=False,
    adjoint_b=False,
    a_is_sparse=False,
    b_is_sparse=False,
    name=None,
):
    """Matrix product of two rank-2 tensors (``tf.matmul``)."""
    a, b = binary_args(a, b, "MatMul")
    return make1(
        "MatMul",
        [a, b],
        {
            "T": a.dtype,
            "transpose_a": transpose_a or adjoint_a,
            "transpose_b": transpose_b or adjoint_b,
        },
        name=name or "MatMul",
    )


OVERLOADS["matmul"] = matmul

# ------------------------------------------------------------------ reductions


def _reduce_infer(allowed=NUMERIC):
    def infer(inputs, attrs):
        x, axis = inputs
        check_dtype(x.dtype, allowed)
        check_dtype(axis.dtype, {_dt.int32, _dt.int64})
        keep = attrs.get("keep_dims", False)
        rank = x.shape.ndims
        axes = axis_list(axis, rank)
        if axes is None or rank is None:
            return [
                (
                    x.dtype,
                    TensorShape([None] * rank) if keep and rank is not None else TensorShape(None),
                )
            ]
        dims = x.shape.as_list()
        if keep:
            out = [1 if i in axes else d for i, d in enumerate(dims)]
        else:
            out = [d for i, d in enumerate(dims) if i not in axes]
        return [(x.dtype, TensorShape(out))]

    return infer


def _reducer(fn):
    def kernel(x, axis, *, keep_dims=False, T=None, Tidx=None):
        ax = tuple(int(a) % max(x.ndim, 1) for a in np.asarray(axis).reshape(-1))
        with np.errstate(all="ignore"):
            out = fn(x, axis=ax, keepdims=bool(keep_dims))
        return np.asarray(out, dtype=x.dtype)

    return kernel


def _mean(x, axis, keepdims):
    if x.dtype.kind in "iu":  # TF keeps ints and truncates toward zero
        n = int(np.prod([x.shape[a] for a in axis])) if axis else 1
        s = np.sum(x, axis=axis, keepdims=keepdims, dtype=np.int64)
        return (np.trunc(s / n) if n else s).astype(x.dtype)
    return np.mean(x, axis=axis, keepdims=keepdims)


def _minmax(fn):
    def reduce(x, axis, keepdims):
        if x.size == 0:
            shape = (
                [1 if i in axis else d for i, d in enumerate(x.shape)]
                if keepdims
                else [d for i, d in enumerate(x.shape) if i not in axis]
            )
            info = np.finfo(x.dtype) if x.dtype.kind == "f" else np.iinfo(x.dtype)
            fill = (
                (-np.inf if x.dtype.kind == "f" else info.min)
                if fn is np.max
                else (np.inf if x.dtype.kind == "f" else info.max)
            )
            return np.full(shape, fill, dtype=x.dtype)
        return fn(x, axis=axis, keepdims=keepdims)

    return reduce


_REDUCE = [
    ("Sum", "reduce_sum", lambda x, axis, keepdims: np.sum(x, axis=axis, keepdims=keepdims)),
    ("Mean", "reduce_mean", _mean),
    ("Max", "reduce_max", _minmax(np.max)),
    ("Min", "reduce_min", _minmax(np.min)),
    ("Prod", "reduce_prod", lambda x, axis, keepdims: np.prod(x, axis=axis, keepdims=keepdims)),
]
for _t, _n, _f in _REDUCE:
    # scalar: the reduction's name; codegen maps it to (init, combine, finalize)
    defop(
        _t,
        REDUCE,
        _reduce_infer(),
        _reducer(_f),
        scalar=_t.lower(),
        attr_defaults={"keep_dims": False},
    )


def _reduce_fn(op_type, fname):
    def fn(
        input_tensor, axis=None, keepdims=None, name=None, reduction_indices=None, keep_dims=None
    ):
        x = convert_to_tensor(input_tensor)
        if axis is not None and reduction_indices is not None:
            raise ValueError("Cannot specify both 'axis' and 'reduction_indices'.")
        axis = reduction_indices if axis is None else axis
        keep = bool(keepdims if keepdims is not None else (keep_dims or False))
        if axis is None:
            if x.shape.ndims is not None:
                axis_t = np.arange(x.shape.ndims, dtype=np.int32)
            else:
                from .array_more import range as _range
                from .array_more import rank_op

                axis_t = _range(0, rank_op(x), 1)
        else:
            axis_t = axis
        if not isinstance(axis_t, Tensor):
            axis_t = convert_to_tensor(np.asarray(axis_t, dtype=np.int32))
        return make1(
            op_type,
            [x, axis_t],
            {"T": x.dtype, "Tidx": axis_t.dtype, "keep_dims": keep},
            name=name or op_type,
        )

    fn.__name__ = fname
    fn.__doc__ = (
        f"Reduce with ``{op_type}`` over ``axis`` (all axes when None); "
        "``keepdims`` keeps reduced axes as size 1."
    )
    return fn


reduce_sum = _reduce_fn("Sum", "reduce_sum")
reduce_mean = _reduce_fn("Mean", "reduce_mean")
reduce_max = _reduce_fn("Max", "reduce_max")
reduce_min = _reduce_fn("Min", "reduce_min")
reduce_prod = _reduce_fn("Prod", "reduce_prod")


def add_n(inputs, name=None):
    """Sum a list of same-shape tensors."""
    inputs = [convert_to_tensor(t) for t in inputs]
    if not inputs:
        raise ValueError("inputs must be a non-empty list of tensors")
    merged = inputs[0].shape
    for t in inputs[1:]:  # AddN does not broadcast: TF's shape function merges the shapes
        if not merged.is_compatible_with(t.shape):
            raise ValueError(
                f"Shapes must be equal rank / compatible, but are {merged} and {t.shape} "
                f"for '{name or 'AddN'}' (op: 'AddN')"
            )
        merged = merged.merge_with(t.shape)
    out = inputs[0]
    for t in inputs[1:]:
        out = add(out, t)
    return identity_named(out, name or "AddN")


def identity_named(t, name):
    from .array import identity

    return identity(t, name=name)
