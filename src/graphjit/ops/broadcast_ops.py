"""Shape and axis-set arithmetic ops: BroadcastArgs (``tf.broadcast_dynamic_shape``) and
ListDiff (``tf.setdiff1d``), plus ``tf.broadcast_static_shape`` on TensorShapes.

TF 2.x GraphDefs use BroadcastArgs (``tf.random.gamma`` broadcasts its shape with it) and
``tf.tensordot`` of operands of unknown rank finds its free axes with ListDiff. Both act on
small int vectors, so their kernels are numpy; neither is differentiable. The gradient helper
BroadcastGradientArgs lives in ``ops/indexing.py``.
"""

from __future__ import annotations

import itertools

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor
from ..shapes import TensorShape, as_shape
from .common import binary_args, check_dtype, make1, make_op
from .registry import OPAQUE, defop

SHAPE_MATH = "shape arithmetic on small int vectors; numpy kernel"
INDEX = frozenset({_dt.int32, _dt.int64})


def _vector_inputs(op_type, inputs):
    """TF's ``WithRank(input, 1)`` for every input: a ValueError naming the op."""
    for t in inputs:
        if t.shape.ndims not in (None, 1):
            shapes = ", ".join(x.shape.tf_str() for x in inputs)
            raise ValueError(
                f"Shape must be rank 1 but is rank {t.shape.ndims} for '{op_type}' with input "
                f"shapes: {shapes}."
            )


# ------------------------------------------------------------------ BroadcastArgs


def _bargs_infer(inputs, attrs):
    s0, s1 = inputs
    check_dtype(s0.dtype, INDEX)
    if s1.dtype is not s0.dtype:
        raise TypeError(
            f"Input 's1' of 'BroadcastArgs' Op has type {s1.dtype.name} that does not match "
            f"type {s0.dtype.name} of argument 's0'."
        )
    _vector_inputs("BroadcastArgs", inputs)
    n0 = s0.shape.as_list()[0] if s0.shape.ndims else None
    n1 = s1.shape.as_list()[0] if s1.shape.ndims else None
    # The result is as long as the longer shape.
    return [(s0.dtype, TensorShape([None if None in (n0, n1) else max(n0, n1)]))]


def _bargs_kernel(s0, s1, **attrs):
    for i, s in enumerate((s0, s1)):
        if s.ndim != 1:
            raise InvalidArgumentError(
                None, None, f"In[{i}] must be a vector.{TensorShape(s.shape).tf_str()}"
            )
    try:
        out = np.broadcast_shapes(tuple(s0.tolist()), tuple(s1.tolist()))
    except ValueError:
        a, b = (",".join(str(d) for d in s.tolist()) for s in (s0, s1))
        raise InvalidArgumentError(None, None, f"Incompatible shapes: [{a}] vs. [{b}]") from None
    return np.array(out, dtype=s0.dtype)


defop(
    "BroadcastArgs",
    OPAQUE,
    _bargs_infer,
    _bargs_kernel,
    fallback=SHAPE_MATH,
    attr_defaults={"T": _dt.int32},
)


def broadcast_dynamic_shape(shape_x, shape_y) -> Tensor:
    """The shape of a broadcast of tensors shaped ``shape_x`` and ``shape_y`` (int vectors).

    One ``BroadcastArgs`` op; incompatible shapes raise ``InvalidArgumentError`` when it runs.

    >>> import graphjit.compat.v1 as tf
    >>> tf.Session().run(tf.broadcast_dynamic_shape([1, 2, 3], [5, 1, 3])).tolist()
    [5, 2, 3]
    """
    s0, s1 = binary_args(shape_x, shape_y, "BroadcastArgs")
    return make1("BroadcastArgs", [s0, s1], {"T": s0.dtype}, name="BroadcastArgs")


def broadcast_static_shape(shape_x, shape_y) -> TensorShape:
    """The broadcast of two :class:`TensorShape` objects, with TF's rule for unknown dims.

    An unknown dimension against a known one greater than 1 takes the known size; otherwise it
    stays unknown. An unknown rank gives an unknown shape.

    >>> import graphjit.compat.v1 as tf
    >>> tf.broadcast_static_shape(tf.TensorShape([None, 1, 3]), tf.TensorShape([4, None]))
    TensorShape([None, 4, 3])
    """
    shape_x, shape_y = as_shape(shape_x), as_shape(shape_y)
    if shape_x.ndims is None or shape_y.ndims is None:
        return TensorShape(None)
    out = []
    pairs = itertools.zip_longest(
        reversed(shape_x.as_list()), reversed(shape_y.as_list()), fillvalue=1
    )
    for x, y in pairs:
        if x is None or y is None:
            known = x if x is not None else y
            out.append(known if known is not None and known > 1 else None)
        elif x == 1 or y == 1 or x == y:
            out.append(y if x == 1 else x)
        else:
            raise ValueError(
                "Incompatible shapes for broadcasting. Two shapes are compatible if for each "
                "dimension pair they are either equal or one of them is 1. Received: "
                f"{_py_str(shape_x)} and {_py_str(shape_y)}."
            )
    return TensorShape(out[::-1])


def _py_str(shape: TensorShape) -> str:
    """TF's ``str(TensorShape)``: ``(2, None)``."""
    dims = shape.as_list()
    return "(" + ", ".join(str(d) for d in dims) + ("," if len(dims) == 1 else "") + ")"


# ------------------------------------------------------------------ ListDiff


def _listdiff_infer(inputs, attrs):
    x, y = inputs
    if y.dtype is not x.dtype:
        raise TypeError(
            f"Input 'y' of 'ListDiff' Op has type {y.dtype.name} that does not match type "
            f"{x.dtype.name} of argument 'x'."
        )
    _vector_inputs("ListDiff", inputs)
    out_idx = _dt.as_dtype(attrs.get("out_idx", _dt.int32))
    check_dtype(out_idx, INDEX)
    return [(x.dtype, TensorShape([None])), (out_idx, TensorShape([None]))]


def _listdiff_kernel(x, y, *, out_idx=_dt.int32, T=None):
    for what, v in (("x", x), ("y", y)):
        if v.ndim != 1:
            raise InvalidArgumentError(None, None, f"{what} should be a 1D vector.")
    keep = ~np.isin(x, y)
    idx = np.flatnonzero(keep).astype(_dt.as_dtype(out_idx).np)
    return np.asarray(x[keep]), idx


defop(
    "ListDiff",
    OPAQUE,
    _listdiff_infer,
    _listdiff_kernel,
    fallback=SHAPE_MATH,
    attr_defaults={"out_idx": _dt.int32},
)


def setdiff1d(x, y, index_dtype=_dt.int32, name=None):
    """Entries of the vector ``x`` that are not in ``y``, in order, and their positions in ``x``.

    >>> import graphjit.compat.v1 as tf
    >>> out, idx = tf.setdiff1d([1, 2, 3, 4, 5, 6], [1, 3, 5])
    >>> [v.tolist() for v in tf.Session().run([out, idx])]
    [[2, 4, 6], [1, 3, 5]]
    """
    x, y = binary_args(x, y, "ListDiff")
    attrs = {"T": x.dtype, "out_idx": _dt.as_dtype(index_dtype)}
    return tuple(make_op("ListDiff", [x, y], attrs, name=name or "ListDiff").outputs)


def list_diff(x, y, out_idx=_dt.int32, name=None):
    """Alias of :func:`setdiff1d` with TF's raw-op argument names."""
    return setdiff1d(x, y, out_idx, name)


__all__ = ["broadcast_dynamic_shape", "broadcast_static_shape", "list_diff", "setdiff1d"]
