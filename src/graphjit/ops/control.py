"""Ordering-only ops: NoOp, ``group``, ``tuple`` and ``no_op``."""

from __future__ import annotations

import builtins

from ..graph import Operation, Tensor, convert_to_tensor, get_default_graph
from .common import make_op
from .registry import CONTROL, defop

defop("NoOp", CONTROL, lambda inputs, attrs: [], lambda **attrs: ())


def no_op(name=None) -> Operation:
    """An op that does nothing (useful as a control-dependency anchor)."""
    return make_op("NoOp", [], {}, name=name or "NoOp")


def _as_op(x):
    if hasattr(x, "_as_control_op"):
        return x._as_control_op()
    if isinstance(x, Tensor):
        return x.op
    if isinstance(x, Operation):
        return x
    raise TypeError(f"Expected a Tensor or Operation, got {x!r}")


def group(*inputs, name=None) -> Operation:
    """An Operation that runs all ``inputs`` (``tf.group``); fetching it returns None."""
    ops = [_as_op(x) for x in _flatten(inputs) if x is not None]
    g = ops[0].graph if ops else get_default_graph()
    with g.as_default(), g.control_dependencies(ops):
        return no_op(name=name or "group_deps")


def _flatten(xs):
    for x in xs:
        if isinstance(x, (list, builtins.tuple)):
            yield from _flatten(x)
        else:
            yield x


def tuple(tensors, name=None, control_inputs=None):
    """Gate ``tensors``: each output is available only after all inputs are computed."""
    from .array import identity

    tensors = list(tensors)
    deps = [t for t in tensors if t is not None] + list(control_inputs or [])
    gate = group(*deps)
    out = []
    for t in tensors:
        if t is None:
            out.append(None)
            continue
        if isinstance(t, Operation):
            out.append(t)
            continue
        with t.graph.control_dependencies([gate]):
            out.append(identity(convert_to_tensor(t)))
    return out
