"""The symbolic :class:`Tensor` (``"op:0"``) and its Python operators.

Operators follow TF's ``math_ops`` wrappers: ``x + 1`` opens the name scope ``add``, converts
the Python operand there as ``add/y`` with the tensor's dtype, and names the op ``add``; the
reflected form ``1 + x`` converts the operand as ``add_1/x``. The op-building functions
themselves live in the op modules, which fill :data:`OVERLOADS` at import time (this module
must not import them).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from . import dtypes as _dt
from .errors import OperatorNotAllowedInGraphError
from .shapes import TensorShape, as_shape

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph, Operation

# Operator table: key -> builder ``fn(x, y, name=None)`` (unary: ``fn(x, name=None)``).
OVERLOADS: dict[str, object] = {}

# Binary operators: dunder stem -> (OVERLOADS key, TF's name scope for the op).
_BINARY = {
    "add": ("add", "add"),
    "sub": ("sub", "sub"),
    "mul": ("mul", "mul"),
    "truediv": ("truediv", "truediv"),
    "floordiv": ("floordiv", "floordiv"),
    "mod": ("mod", "mod"),
    "pow": ("pow", "pow"),
    "matmul": ("matmul", "matmul"),
    "and": ("logical_and", "and"),
    "or": ("logical_or", "or"),
    "xor": ("logical_xor", "xor"),
}
# Comparisons call the op directly in TF, so the op keeps its type name ("Less").
_COMPARE = {
    "lt": ("less", "Less"),
    "le": ("less_equal", "LessEqual"),
    "gt": ("greater", "Greater"),
    "ge": ("greater_equal", "GreaterEqual"),
}


def _is_tensor_like(v) -> bool:
    return isinstance(v, Tensor) or hasattr(v, "_as_graph_tensor")


def _binop(key: str, scope: str, x, y, reverse: bool):
    """Build ``x <op> y`` (``self`` is ``x``, or ``y`` when ``reverse``) the way TF names it."""
    from .graph_api import convert_to_tensor

    fn = OVERLOADS[key]
    t = y if reverse else x
    t = convert_to_tensor(t)
    with t.graph.as_default(), t.graph.name_scope(scope) as name:
        if reverse:
            # TF's reflected wrapper forces the operand to the tensor's dtype.
            if not _is_tensor_like(x):
                x = convert_to_tensor(x, dtype=t.dtype, name="x")
            return fn(x, t, name=name)
        if not _is_tensor_like(y):
            # TF converts with the tensor's dtype as a *hint*: a value that does not fit
            # keeps its own dtype and the op then reports the mismatch.
            try:
                y = convert_to_tensor(y, dtype=t.dtype, name="y")
            except (TypeError, ValueError):
                y = convert_to_tensor(y, name="y")
        return fn(t, y, name=name)


def _make_binary(stem: str, key: str, scope: str):
    def op(self, other):
        return _binop(key, scope, self, other, False)

    def rop(self, other):
        return _binop(key, scope, other, self, True)

    op.__name__, rop.__name__ = f"__{stem}__", f"__r{stem}__"
    op.__doc__ = f"``self {stem} other`` as TF's ``{scope}`` op."
    rop.__doc__ = f"``other {stem} self`` as TF's ``{scope}`` op."
    return op, rop


def _make_compare(stem: str, key: str, scope: str):
    def op(self, other):
        return _binop(key, scope, self, other, False)

    op.__name__ = f"__{stem}__"
    op.__doc__ = f"Elementwise ``{scope}`` (a bool tensor)."
    return op


class Tensor:
    """A symbolic handle to one output of an :class:`~graphjit.graph.Operation` (``"op:0"``).

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.placeholder(tf.float32, [None, 3], name="x")
    ...     y = x * 2.0
    >>> y.name, y.dtype.name, y.shape.as_list()
    ('mul:0', 'float32', [None, 3])
    """

    __slots__ = ("__weakref__", "_dtype", "_index", "_op", "_shape")

    # numpy must defer to our reflected operators (``np.float32(2) * t``).
    __array_priority__ = 100

    def __init__(self, op: Operation, index: int, dtype: _dt.DType, shape: TensorShape):
        self._op = op
        self._index = index
        self._dtype = dtype
        self._shape = shape

    @property
    def op(self) -> Operation:
        """The :class:`Operation` that produces this tensor."""
        return self._op

    @property
    def graph(self) -> Graph:
        """The :class:`Graph` that contains this tensor."""
        return self._op._graph

    @property
    def name(self) -> str:
        """``"<op name>:<output index>"``."""
        return f"{self._op._name}:{self._index}"

    @property
    def value_index(self) -> int:
        """The index of this tensor among its op's outputs."""
        return self._index

    @property
    def dtype(self) -> _dt.DType:
        """The element type."""
        return self._dtype

    @property
    def shape(self) -> TensorShape:
        """The static (possibly partial) shape."""
        return self._shape

    @property
    def device(self) -> str:
        """The device string of the producing op."""
        return self._op.device

    def get_shape(self) -> TensorShape:
        """The static (possibly partial) shape (alias of :attr:`shape`)."""
        return self._shape

    def set_shape(self, shape) -> None:
        """Refine the static shape; ``ValueError`` if incompatible with what is known.

        >>> import graphjit.compat.v1 as tf
        >>> with tf.Graph().as_default():
        ...     p = tf.placeholder(tf.float32)
        ...     p.set_shape([None, 4])
        >>> p.shape.as_list()
        [None, 4]
        """
        new = as_shape(shape)
        old = self._shape
        if old.ndims is not None and new.ndims is not None:
            if old.ndims != new.ndims:
                raise ValueError(f"Shapes must be equal rank, but are {old.ndims} and {new.ndims}")
            for i, (a, b) in enumerate(zip(old.as_tuple(), new.as_tuple())):
                if a is not None and b is not None and a != b:
                    raise ValueError(
                        f"Dimension {i} in both shapes must be equal, but are {a} and {b}. "
                        f"Shapes are {old.tf_str()} and {new.tf_str()}."
                    )
        self._shape = old.merge_with(new)

    def consumers(self) -> list[Operation]:
        """The operations that take this tensor as an input, in creation order."""
        return [op for op in self._op._graph._ops if any(t is self for t in op._inputs)]

    def eval(self, feed_dict=None, session=None):
        """Evaluate in ``session`` (default: the default session); see ``Session.run``."""
        from .session import _eval_in_session

        return _eval_in_session(self, feed_dict, session, "tensor", "evaluate tensor")

    def _as_graph_element(self):
        return self

    def __repr__(self):
        return f"<tf.Tensor '{self.name}' shape={self._shape} dtype={self._dtype.name}>"

    def __str__(self):
        return f'Tensor("{self.name}", shape={self._shape}, dtype={self._dtype.name})'

    def __hash__(self):
        return id(self)

    # TF1 graph tensors compare by identity (``==`` is not elementwise in graph mode).
    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return self is not other

    def __bool__(self):
        raise OperatorNotAllowedInGraphError(
            "Using a symbolic `tf.Tensor` as a Python `bool` is not allowed in graph mode. "
            "Use `if t is not None:` to test for presence, or tf.cond to branch on its value."
        )

    def __iter__(self):
        raise OperatorNotAllowedInGraphError(
            f"Iterating over a symbolic `tf.Tensor` ({self.name}) is not allowed in graph "
            "mode; use tf.unstack or index it explicitly."
        )

    def __len__(self):
        raise TypeError(
            f"len is not well defined for a symbolic Tensor ({self.name}). "
            "Please call `x.shape` rather than `len(x)` for shape information."
        )

    def __array__(self, dtype=None, copy=None):
        raise NotImplementedError(
            f"Cannot convert a symbolic tf.Tensor ({self.name}) to a numpy array; "
            "evaluate it with Session.run first."
        )

    for _stem, (_key, _scope) in _BINARY.items():
        locals()[f"__{_stem}__"], locals()[f"__r{_stem}__"] = _make_binary(_stem, _key, _scope)
    for _stem, (_key, _scope) in _COMPARE.items():
        locals()[f"__{_stem}__"] = _make_compare(_stem, _key, _scope)
    del _stem, _key, _scope

    def __invert__(self):
        return OVERLOADS["logical_not"](self)

    def __neg__(self):
        return OVERLOADS["neg"](self)

    def __abs__(self):
        return OVERLOADS["abs"](self)

    def __getitem__(self, key):
        return OVERLOADS["getitem"](self, key)
