"""Feed handling for ``Session.run``: resolving keys, converting values, static shape checks.

Everything here happens before anything runs, so a bad feed never touches session state.
"""

from __future__ import annotations

import numpy as np

from . import dtypes as _dt
from .graph import Tensor
from .sparse import IndexedSlices, SparseTensor


def _flatten_key_value(key, value):
    """Yield (key, value) leaf pairs; nested tuple keys and sparse keys split their values."""
    if isinstance(key, SparseTensor):
        parts = _split3(key, value, "SparseTensor")
        yield from zip((key.indices, key.values, key.dense_shape), parts)
    elif isinstance(key, IndexedSlices):
        parts = _split3(key, value, "IndexedSlices")
        yield from zip((key.values, key.indices, key.dense_shape), parts)
    elif isinstance(key, tuple):
        vals = _flatten_value(value)
        keys = list(_flatten_keys(key))
        if len(vals) != len(keys):
            raise ValueError(
                f"The feed value for the nested key {key!r} must have the same "
                f"structure ({len(keys)} leaves), got {len(vals)} leaves."
            )
        for k, v in zip(keys, vals):
            yield from _flatten_key_value(k, v)
    else:
        yield key, value


def _split3(key, value, what):
    if isinstance(value, (tuple, list)) and len(value) == 3:
        return tuple(value)
    raise TypeError(
        f"The value fed to a {what} must be a {what}Value or a 3-tuple, got {type(value).__name__}"
    )


def _flatten_keys(key):
    for k in key:
        if isinstance(k, tuple) and not hasattr(k, "_fields"):
            yield from _flatten_keys(k)
        else:
            yield k


def _flatten_value(value):
    if isinstance(value, (list, tuple)):
        out = []
        for v in value:
            out.extend(_flatten_value(v))
        return out
    return [value]


def _resolve_key(graph, key):
    try:
        return graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
    except (TypeError, ValueError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        raise TypeError(f"Cannot interpret feed_dict key as Tensor: {msg}") from None


def convert_value(tensor: Tensor, value):
    """Convert one feed value for ``tensor``: (value to execute with, value to hand back)."""
    from .ops.session_ops import TensorHandle

    if isinstance(value, Tensor) or hasattr(value, "_as_graph_tensor"):
        raise TypeError(
            "The value of a feed cannot be a tf.Tensor object. Acceptable feed values include "
            "Python scalars, strings, lists, numpy ndarrays, or TensorHandles. For reference, "
            f"the tensor object was {value} which was passed to the argument `feed_dict` with "
            f"key {tensor}."
        )
    dtype = tensor.dtype
    if isinstance(value, TensorHandle):
        if dtype is _dt.string:
            value = value.handle
        else:
            value = value._session._handle_value(value.handle)
    if dtype is _dt.string:
        back = np.asarray(value, dtype=object)
        run = _dt._to_bytes(back) if back.size else back
    else:
        try:
            back = np.asarray(value, dtype=dtype.np)
        except OverflowError:
            back = None
        if (
            isinstance(value, int)
            and not isinstance(value, bool)
            and (back is None or not _same_int(back, value))
        ):
            raise TypeError(
                f"Type of feed value {value} with type {type(value)} is not compatible with "
                f"Tensor type {np.dtype(dtype.np).type}. Try explicitly setting the type of the "
                "feed tensor to a larger type (e.g. int64)."
            )
        run = back
    if not tensor.shape.is_compatible_with(back.shape):
        raise ValueError(
            f"Cannot feed value of shape {back.shape} for Tensor {tensor.name}, "
            f"which has shape {tensor.shape}"
        )
    if not tensor.graph.is_feedable(tensor):
        raise ValueError(f"Tensor {tensor.name} may not be fed.")
    return run, back


def _same_int(back, value) -> bool:
    """Whether the converted feed still equals the Python int (inf/nan never do)."""
    try:
        return int(back) == value
    except (OverflowError, ValueError):
        return False


def convert_feeds(session, feed_dict) -> dict:
    """Return ``{id(tensor): (tensor, value_to_run, value_to_return)}`` in feed order."""
    graph = session.graph
    out: dict = {}
    for key, value in feed_dict.items():
        for k, v in _flatten_key_value(key, value):
            t = _resolve_key(graph, k)
            run, back = convert_value(t, v)
            out[id(t)] = (t, run, back)
    return out
