"""Module-level TF functions acting on the default graph, and value -> ``Const`` conversion.

``name_scope``, ``control_dependencies``, ``device``, the collection helpers,
``convert_to_tensor`` and ``constant_tensor`` (the body of ``tf.constant``). Re-exported by
``graph.py``.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import dtypes as _dt
from .graph import Graph, get_default_graph
from .operation import Operation
from .tensor import Tensor


@contextlib.contextmanager
def name_scope(name, default_name=None, values=None):
    """``tf.compat.v1.name_scope``: yields the scope string ``"a/"``.

    ``name`` wins over ``default_name`` (which is made unique); ``values`` selects their
    graph, made the default inside the block. ``"a/"`` re-enters a scope as is; ``None`` or
    ``""`` resets to the root.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     with tf.name_scope("layer") as scope:
    ...         c = tf.constant(1.0, name="c")
    >>> scope, c.name
    ('layer/', 'layer/c:0')
    """
    if default_name is not None and not isinstance(default_name, str):
        raise TypeError(
            f"`default_name` type ({type(default_name).__name__}) is not a string type. You "
            "likely meant to pass this into the `values` kwarg."
        )
    scope_name = default_name if name is None else name
    if scope_name is None and values is not None:
        raise ValueError(
            f"At least one of name ({name}) and default_name ({default_name}) must be provided."
        )
    g = get_default_graph()
    if values:
        g = _graph_of(values)
    if g is get_default_graph():
        with g.name_scope(scope_name) as scope:
            yield scope
    else:
        with g.as_default(), g.name_scope(scope_name) as scope:
            yield scope


def get_name_scope() -> str:
    """The default graph's current name scope (``tf.get_name_scope``)."""
    return get_default_graph().get_name_scope()


def control_dependencies(control_inputs):
    """``tf.control_dependencies`` on the default graph (``None`` clears outer blocks)."""
    return get_default_graph().control_dependencies(control_inputs)


def device(device_name_or_function):
    """``tf.device`` on the default graph."""
    return get_default_graph().device(device_name_or_function)


def _graph_of(values) -> Graph:
    """The graph of the graph elements in ``values`` (``ValueError`` if they disagree)."""
    found = None
    for v in values:
        g = None
        if isinstance(v, (Tensor, Operation)):
            g = v.graph
        elif hasattr(v, "_as_graph_element"):
            el = v._as_graph_element()
            g = getattr(el, "graph", None)
        if g is None:
            continue
        if found is None:
            found = g
        elif g is not found:
            raise ValueError(f"{v!r} must be from the same graph as {values[0]!r}.")
    return found if found is not None else get_default_graph()


def get_collection(key, scope=None) -> list:
    """``tf.get_collection`` on the default graph."""
    return get_default_graph().get_collection(key, scope)


def get_collection_ref(key) -> list:
    """``tf.get_collection_ref`` on the default graph."""
    return get_default_graph().get_collection_ref(key)


def add_to_collection(name, value) -> None:
    """``tf.add_to_collection`` on the default graph."""
    get_default_graph().add_to_collection(name, value)


def add_to_collections(names, value) -> None:
    """``tf.add_to_collections`` on the default graph."""
    get_default_graph().add_to_collections(names, value)


def is_tensor(x) -> bool:
    """Whether ``x`` is a graph :class:`Tensor`."""
    return isinstance(x, Tensor)


def convert_to_tensor(
    value, dtype=None, name=None, preferred_dtype=None, dtype_hint=None
) -> Tensor:
    """Return ``value`` as a Tensor of the default graph (constants for Python/numpy values).

    A Tensor of a different dtype than ``dtype`` is a ``ValueError`` (TF never casts here);
    ``preferred_dtype``/``dtype_hint`` is tried first and dropped if the value does not fit.
    """
    if hasattr(value, "_as_graph_tensor"):
        value = value._as_graph_tensor()
    if isinstance(value, Tensor):
        if dtype is not None and _dt.as_dtype(dtype) is not value.dtype:
            raise ValueError(
                f"Tensor conversion requested dtype {_dt.as_dtype(dtype).name} for Tensor with "
                f"dtype {value.dtype.name}: {value!r}"
            )
        return value
    if isinstance(value, Operation):
        raise TypeError(f"Can't convert Operation '{value.name}' to Tensor")
    hint = preferred_dtype if preferred_dtype is not None else dtype_hint
    if dtype is None and hint is not None:
        try:
            return constant_tensor(value, _dt.as_dtype(hint), name or "Const")
        except (TypeError, ValueError):
            pass
    return constant_tensor(value, None if dtype is None else _dt.as_dtype(dtype), name)


def constant_tensor(value, dtype=None, name=None, shape=None, verify_shape=False) -> Tensor:
    """Build a ``Const`` op holding ``value`` and return its output (``tf.constant``'s body).

    TF1 rules: Python ints become int32 (int64 if needed), floats float32; a value with fewer
    elements than ``shape`` is padded with its last element (so a scalar broadcasts), more
    elements is a ``ValueError``; a float value for an integer ``dtype`` is a ``TypeError``.
    """
    arr = _value_to_array(value, dtype)
    if shape is not None:
        arr = _fit_shape(arr, [int(d) for d in shape], verify_shape)
    g = get_default_graph()
    d = _dt.as_dtype(arr.dtype) if dtype is None else dtype
    op = g.create_op("Const", [], {"dtype": d, "value": arr}, name=name or "Const")
    return op.outputs[0]


def _value_to_array(value, dtype) -> np.ndarray:
    if value is None:
        raise ValueError("None values not supported.")
    if dtype is not None and not isinstance(value, np.ndarray):
        _assert_compatible(value, dtype)
    try:
        return _dt.to_numpy(value, dtype)
    except ValueError:
        raise  # ragged nested lists: numpy's message, as TF shows it
    except (TypeError, OverflowError):
        raise TypeError(
            f"Failed to convert elements of {value!r} to Tensor. Consider casting elements to "
            "a supported type. See https://www.tensorflow.org/api_docs/python/tf/dtypes for "
            "supported TF dtypes."
        ) from None


def _fit_shape(arr: np.ndarray, shape: list, verify_shape: bool) -> np.ndarray:
    size = int(np.prod(shape, dtype=np.int64))
    if verify_shape and arr.shape != tuple(shape):
        raise TypeError(f"Expected Tensor's shape: {tuple(shape)}, but got {arr.shape}.")
    if size == 0:
        return np.empty(shape, dtype=arr.dtype)
    if arr.size > size:
        raise ValueError(
            f"Too many elements provided. Takes at most {size:d}, but got {arr.size:d}."
        )
    flat = arr.reshape(-1)
    if arr.size < size:
        # TF1 pads a short value with its last element (a scalar broadcasts).
        fill = flat[-1] if flat.size else np.zeros((), arr.dtype)
        flat = np.concatenate([flat, np.full(size - flat.size, fill, dtype=arr.dtype)])
    return flat.reshape(shape)


def _assert_compatible(value, dtype) -> None:
    """TF's ``_AssertCompatible``: Python element kinds must suit ``dtype``."""
    if dtype is _dt.string:
        ok = lambda v: isinstance(v, (str, bytes, np.str_, np.bytes_))  # noqa: E731
    elif dtype.is_bool:
        ok = lambda v: isinstance(v, (bool, np.bool_))  # noqa: E731
    elif dtype.is_integer:
        ok = lambda v: isinstance(v, (int, np.integer, np.bool_))  # noqa: E731
    elif dtype.is_complex:
        ok = lambda v: isinstance(v, (int, float, complex, np.number, np.bool_))  # noqa: E731
    elif dtype.is_floating:
        ok = lambda v: isinstance(v, (int, float, np.number, np.bool_))  # noqa: E731
    else:
        return
    for v in _flat(value):
        if not ok(v):
            raise TypeError(f"Expected {dtype.name}, but got {v} of type '{type(v).__name__}'.")


def _flat(value):
    if isinstance(value, (list, tuple)):
        for v in value:
            yield from _flat(v)
    elif isinstance(value, np.ndarray):
        return
    else:
        yield value


def constant_value(t: Tensor):
    """The value of ``t`` if it is known when the graph is built (a Const), else ``None``."""
    op = t.op
    if op.type == "Const":
        return op._attrs["value"]
    if op.type == "Shape" and op._inputs[0].shape.is_fully_defined():
        return np.array(op._inputs[0].shape.as_list(), dtype=t.dtype.np)
    if op.type in ("Identity", "StopGradient"):
        return constant_value(op._inputs[0])
    return None
