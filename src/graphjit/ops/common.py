"""Helpers shared by the op family modules: building ops and common inference rules."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import Tensor, constant_value, convert_to_tensor, get_default_graph
from ..shapes import TensorShape, as_shape, broadcast_static

# ------------------------------------------------------------------ building


def make_op(op_type, inputs, attrs=None, name=None):
    """Create an op in the graph of its inputs (or the default graph); return the Operation."""
    g = get_default_graph()
    for t in inputs:
        if isinstance(t, Tensor):
            g = t.graph
            break
    return g.create_op(op_type, inputs, attrs or {}, name=name)


def make1(op_type, inputs, attrs=None, name=None) -> Tensor:
    """Create a single-output op and return its output tensor."""
    return make_op(op_type, inputs, attrs, name).outputs[0]


def binary_args(x, y, op_name):
    """Convert two operands TF-style: a Python value takes the other operand's dtype."""
    if isinstance(x, Tensor) or hasattr(x, "_as_graph_tensor"):
        x = convert_to_tensor(x)
        y = _convert_like(y, x.dtype, op_name)
    elif isinstance(y, Tensor) or hasattr(y, "_as_graph_tensor"):
        y = convert_to_tensor(y)
        x = _convert_like(x, y.dtype, op_name)
    else:
        x = convert_to_tensor(x)
        y = _convert_like(y, x.dtype, op_name)
    if x.dtype is not y.dtype:
        raise TypeError(
            f"Input 'y' of '{op_name}' Op has type {y.dtype.name} that does not match type "
            f"{x.dtype.name} of argument 'x'. Cast one operand with tf.cast first."
        )
    return x, y


def _convert_like(v, dtype, op_name):
    if isinstance(v, Tensor) or hasattr(v, "_as_graph_tensor"):
        return convert_to_tensor(v)
    if isinstance(v, np.ndarray) and _dt.as_dtype(v.dtype) is not dtype:
        return convert_to_tensor(v)  # mismatch reported by the caller
    try:
        return convert_to_tensor(v, dtype=dtype)
    except (TypeError, ValueError) as e:
        raise TypeError(
            f"{op_name}: cannot convert {v!r} to a Tensor of dtype {dtype.name}: {e}"
        ) from None


def axis_list(t: Tensor, rank):
    """Constant reduction axes as a sorted tuple of non-negative ints, or None if unknown."""
    val = constant_value(t)
    if val is None:
        return None
    axes = np.asarray(val).reshape(-1).tolist()
    if rank is None:
        return tuple(axes)
    out = set()
    for a in axes:
        if not -rank <= a < max(rank, 1):
            raise ValueError(f"Invalid reduction dimension {a} for input with {rank} dimensions.")
        out.add(a % rank if rank else 0)
    return tuple(sorted(out))


# ------------------------------------------------------------------ inference rules


def same_as(i=0):
    """Output has input ``i``'s dtype and shape."""

    def infer(inputs, attrs):
        return [(inputs[i].dtype, inputs[i].shape)]

    return infer


def broadcast_infer(out_dtype=None, allowed=None):
    """Binary elementwise inference: equal dtypes, numpy broadcasting of static shapes."""

    def infer(inputs, attrs):
        x, y = inputs
        if x.dtype is not y.dtype:
            raise TypeError(
                f"Inputs must have the same dtype, got {x.dtype.name} and {y.dtype.name}"
            )
        check_dtype(x.dtype, allowed)
        shape = broadcast_static(x.shape, y.shape)
        return [(out_dtype or x.dtype, shape)]

    return infer


def unary_infer(out_dtype=None, allowed=None):
    def infer(inputs, attrs):
        (x,) = inputs
        check_dtype(x.dtype, allowed)
        return [(out_dtype or x.dtype, x.shape)]

    return infer


def check_dtype(dtype, allowed):
    if allowed is not None and dtype not in allowed:
        names = ", ".join(sorted(d.name for d in allowed))
        raise TypeError(
            f"Value passed has DataType {dtype.name} not in list of allowed values: {names}"
        )


FLOATS = frozenset({_dt.float16, _dt.float32, _dt.float64})
INTS = frozenset(
    {_dt.int8, _dt.int16, _dt.int32, _dt.int64, _dt.uint8, _dt.uint16, _dt.uint32, _dt.uint64}
)
NUMERIC = FLOATS | INTS
SIGNED = FLOATS | frozenset({_dt.int8, _dt.int16, _dt.int32, _dt.int64})


def shape_of(t) -> TensorShape:
    return as_shape(t.shape)


def attr_dtype(attrs, name):
    return _dt.as_dtype(attrs[name])
