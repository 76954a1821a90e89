"""Session tensor handles: keep a value in the session between runs (``get_session_handle``).

``GetSessionHandle`` stores its input in the running session and outputs a string handle;
fetching it yields a :class:`TensorHandle`. ``GetSessionTensor`` turns a fed handle back into
the stored value; ``DeleteSessionTensor`` frees it.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import convert_to_tensor, get_default_graph
from ..shapes import TensorShape
from .array import placeholder
from .common import make1, make_op
from .registry import STATEFUL, defop


def _handle_kernel(ctx, node, value, **attrs):
    return np.array(ctx.store_handle(value), dtype=object)


def _get_tensor_kernel(ctx, node, handle, *, dtype):
    return ctx.load_handle(_as_str(handle))


def _delete_kernel(ctx, node, handle):
    ctx.delete_handle(_as_str(handle))
    return ()


def _as_str(h):
    h = h.item() if isinstance(h, np.ndarray) else h
    return h.decode() if isinstance(h, bytes) else str(h)


_CTX = {"uses_ctx": True, "stateful": True, "fallback": "session-side storage"}
defop(
    "GetSessionHandle",
    STATEFUL,
    lambda i, a: [(_dt.string, TensorShape([]))],
    _handle_kernel,
    **_CTX,
)
defop(
    "GetSessionTensor",
    STATEFUL,
    lambda i, a: [(_dt.as_dtype(a["dtype"]), TensorShape(None))],
    _get_tensor_kernel,
    **_CTX,
)
defop("DeleteSessionTensor", STATEFUL, lambda i, a: [], _delete_kernel, **_CTX)


def get_session_handle(data, name=None):
    """A string tensor; fetching it stores ``data`` in the session and returns a handle."""
    data = convert_to_tensor(data)
    return make1("GetSessionHandle", [data], {"T": data.dtype}, name=name or "GetSessionHandle")


def get_session_tensor(handle, dtype, name=None):
    """Return ``(holder, tensor)``: feed a handle to ``holder`` to read its stored value."""
    dtype = _dt.as_dtype(dtype)
    g = get_default_graph()
    with g.name_scope(name or "GetSessionTensor"):
        holder = placeholder(_dt.string, shape=[], name="handle")
        tensor = make1("GetSessionTensor", [holder], {"dtype": dtype}, name="GetSessionTensor")
    return holder, tensor


def delete_session_tensor(handle, name=None):
    """Return ``(holder, deleter)``: feed a handle to ``holder`` and run ``deleter``."""
    g = get_default_graph()
    with g.name_scope(name or "DeleteSessionTensor"):
        holder = placeholder(_dt.string, shape=[], name="handle")
        deleter = make_op("DeleteSessionTensor", [holder], {}, name="DeleteSessionTensor")
    return holder, deleter


class TensorHandle:
    """A value kept in a session between runs (what fetching ``get_session_handle`` gives)."""

    def __init__(self, handle, dtype, session):
        self._handle = handle
        self._dtype = _dt.as_dtype(dtype)
        self._session = session
        self._deleted = False

    @property
    def handle(self) -> str:
        """The handle string (feed it to a ``get_session_tensor`` holder)."""
        return self._handle

    def __str__(self):
        return self._handle

    def __repr__(self):
        return f"TensorHandle({self._handle!r}, dtype={self._dtype.name})"

    def to_numpy_array(self):
        return self._session._handle_value(self._handle)

    def eval(self):
        """Read the stored value (a copy)."""
        value = self._session._handle_value(self._handle)
        return value[()] if value.ndim == 0 and value.dtype != object else value.copy()

    def delete(self):
        """Free the stored value in the session."""
        if not self._deleted:
            self._session._delete_handle(self._handle)
            self._deleted = True

    def get_raw_handle(self):
        return self._handle


def check_handle(value):
    if not isinstance(value, TensorHandle):
        raise InvalidArgumentError(None, None, f"Not a TensorHandle: {value!r}")
    return value
