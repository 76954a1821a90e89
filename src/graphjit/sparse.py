"""``SparseTensor`` / ``IndexedSlices`` and their fetched values."""

from __future__ import annotations

import collections

from . import dtypes as _dt
from .graph import Tensor, convert_to_tensor, get_default_graph
from .shapes import TensorShape

SparseTensorValue = collections.namedtuple(
    "SparseTensorValue", ["indices", "values", "dense_shape"]
)
SparseTensorValue.__doc__ = "The fetched value of a SparseTensor: int64 indices, values, shape."
IndexedSlicesValue = collections.namedtuple(
    "IndexedSlicesValue", ["values", "indices", "dense_shape"]
)


class _Composite:
    """Accessors shared by SparseTensor and IndexedSlices (three component tensors)."""

    @property
    def indices(self):
        return self._indices

    @property
    def values(self):
        return self._values

    @property
    def dense_shape(self):
        return self._dense_shape

    @property
    def dtype(self):
        return self._values.dtype

    @property
    def graph(self):
        return self._values.graph

    @property
    def op(self):
        """The op producing ``values`` (as in TF)."""
        return self._values.op


class SparseTensor(_Composite):
    """A sparse tensor as three dense tensors: ``indices`` [N, rank] int64, ``values`` [N],
    ``dense_shape`` [rank] int64 (``tf.SparseTensor``)."""

    def __init__(self, indices, values, dense_shape):
        self._indices = _as_int64(indices, "indices")
        self._values = convert_to_tensor(values, name="values")
        self._dense_shape = _as_int64(dense_shape, "dense_shape")

    @classmethod
    def from_value(cls, value):
        return cls(value.indices, value.values, value.dense_shape)

    @property
    def shape(self) -> TensorShape:
        from .graph import constant_value

        v = constant_value(self._dense_shape)
        if v is not None:
            return TensorShape(v.tolist())
        n = self._dense_shape.shape
        return TensorShape([None] * n.as_list()[0]) if n.is_fully_defined() else TensorShape(None)

    def get_shape(self) -> TensorShape:
        return self.shape

    def eval(self, feed_dict=None, session=None):
        from .session import _eval_in_session

        return _eval_in_session(self, feed_dict, session, "tensor", "evaluate tensor")

    def __repr__(self):
        return (
            f"SparseTensor(indices={self._indices}, values={self._values}, "
            f"dense_shape={self._dense_shape})"
        )


def _as_int64(x, name):
    if isinstance(x, Tensor):
        if x.dtype is not _dt.int64:
            raise TypeError(f"SparseTensor {name} must be int64, got {x.dtype.name}")
        return x
    return convert_to_tensor(x, dtype=_dt.int64, name=name)


class IndexedSlices(_Composite):
    """A sparse slice representation of a dense tensor (gradients of ``gather``)."""

    def __init__(self, values, indices, dense_shape=None):
        self._values = values
        self._indices = indices
        self._dense_shape = dense_shape

    @property
    def name(self):
        return self._values.name

    @property
    def shape(self) -> TensorShape:
        """The static dense shape: ``dense_shape``'s constant value where known (as in TF)."""
        if self._dense_shape is None:
            return TensorShape(None)
        ds = self._dense_shape
        if isinstance(ds, Tensor):
            from .graph import constant_value

            known = constant_value(ds)
            if known is not None:
                return TensorShape([int(d) for d in known])
            src = ds.op
            while src.type in ("Cast", "Identity") and src.inputs:
                src = src.inputs[0].op
            if src.type == "Shape":
                return src.inputs[0].shape
            n = ds.shape.as_list()[0] if ds.shape.ndims == 1 else None
            return TensorShape(None if n is None else [None] * n)
        return TensorShape(list(ds))

    def __repr__(self):
        return f"IndexedSlices(indices={self._indices}, values={self._values})"


def sparse_placeholder(dtype, shape=None, name=None) -> SparseTensor:
    """A SparseTensor whose three components must be fed (``tf.sparse_placeholder``)."""
    from .ops.array import constant, placeholder

    g = get_default_graph()
    base = name or "Placeholder"
    rank = None
    if shape is not None:
        shape = TensorShape(shape)
        rank = shape.ndims
    with g.name_scope(base):
        values = placeholder(dtype, shape=[None], name="values")
        indices = placeholder(_dt.int64, shape=[None, rank], name="indices")
        if shape is not None and shape.is_fully_defined():
            dense_shape = constant(shape.as_list(), dtype=_dt.int64, name="shape")
        else:
            dense_shape = placeholder(_dt.int64, shape=[rank], name="shape")
    return SparseTensor(indices, values, dense_shape)
