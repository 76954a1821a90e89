"""The global step: an int64 scalar variable in the ``GLOBAL_STEP`` collection.

``tf.train.get_global_step``, ``get_or_create_global_step`` and ``create_global_step`` as in
TF1: the variable is named ``global_step``, is not trainable, and lives in both the
``GLOBAL_VARIABLES`` and ``GLOBAL_STEP`` collections.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import GraphKeys, get_default_graph
from ..ops.array import constant
from ..variables import Variable


def get_global_step(graph=None):
    """The global step variable of ``graph`` (default graph), or ``None`` when it has none.

    Raises ``TypeError`` when the collection holds something that is not an integer scalar
    variable, and when it holds more than one.
    """
    graph = graph or get_default_graph()
    found = graph.get_collection(GraphKeys.GLOBAL_STEP)
    if len(found) == 1:
        step = found[0]
    elif not found:
        try:
            step = graph.get_tensor_by_name("global_step:0")
        except (KeyError, ValueError):
            return None
        for v in graph.get_collection(GraphKeys.GLOBAL_VARIABLES):
            if getattr(v, "name", None) == "global_step:0":
                step = v
                break
    else:
        raise TypeError("Multiple tensors in global_step collection.")
    assert_global_step(step)
    return step


def assert_global_step(global_step_tensor) -> None:
    """``TypeError`` unless ``global_step_tensor`` is an integer scalar (variable or tensor)."""
    dtype = global_step_tensor.dtype
    if not dtype.is_integer:
        raise TypeError(f'Existing "global_step" does not have integer type: {dtype}')
    shape = global_step_tensor.shape
    if shape.ndims != 0 and shape.is_fully_defined():
        raise TypeError(f'Existing "global_step" is not scalar: {shape}')


def create_global_step(graph=None):
    """Create the global step variable (``ValueError`` when one exists already)."""
    graph = graph or get_default_graph()
    if get_global_step(graph) is not None:
        raise ValueError('"global_step" already exists.')
    with graph.as_default(), graph.control_dependencies(None), graph.name_scope(None):
        v = Variable(
            constant(np.int64(0), dtype=_dt.int64),
            trainable=False,
            name="global_step",
            collections=[GraphKeys.GLOBAL_VARIABLES, GraphKeys.GLOBAL_STEP],
        )
    return v


def get_or_create_global_step(graph=None):
    """The global step of ``graph``, created first when missing."""
    graph = graph or get_default_graph()
    step = get_global_step(graph)
    if step is None:
        step = create_global_step(graph)
    return step
