"""The :class:`Operation`: one node of a :class:`~graphjit.graph.Graph`."""

from __future__ import annotations

import os
import sys
from typing import TYPE_CHECKING

from .ops import registry
from .tensor import Tensor

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph


class Operation:
    """A node of the graph: an op type, attributes, input tensors and output tensors."""

    __slots__ = (
        "__weakref__",
        "_attrs",
        "_control_inputs",
        "_device",
        "_graph",
        "_id",
        "_inputs",
        "_name",
        "_outputs",
        "_traceback",
        "_type",
    )

    def __init__(self, graph, name, op_type, inputs, attrs, control_inputs, device, out_specs):
        self._graph = graph
        self._name = name
        self._type = op_type
        self._inputs = tuple(inputs)
        self._attrs = attrs
        self._control_inputs = tuple(control_inputs)
        self._device = device
        self._id = len(graph._ops)
        self._traceback = _user_frame()
        self._outputs = tuple(
            Tensor(self, i, dtype, shape) for i, (dtype, shape) in enumerate(out_specs)
        )

    @property
    def name(self) -> str:
        """The unique name of this op in its graph."""
        return self._name

    @property
    def type(self) -> str:
        """TF's op type string (``"AddV2"``)."""
        return self._type

    @property
    def graph(self) -> Graph:
        return self._graph

    @property
    def inputs(self) -> list[Tensor]:
        """The data inputs, in order."""
        return list(self._inputs)

    @property
    def outputs(self) -> list[Tensor]:
        return list(self._outputs)

    @property
    def control_inputs(self) -> list[Operation]:
        """Ops that must run before this one (no data flows)."""
        return list(self._control_inputs)

    @property
    def device(self) -> str:
        """The device string recorded by ``tf.device`` (placement is always this CPU)."""
        return self._device

    @property
    def op_def(self) -> registry.OpDef:
        return registry.get(self._type)

    @property
    def node_def(self):
        """This op as a TF ``NodeDef`` protobuf message."""
        from .graph_io import node_def_of

        return node_def_of(self)

    @property
    def traceback(self):
        return self._traceback

    def values(self) -> tuple[Tensor, ...]:
        return self._outputs

    def get_attr(self, name: str):
        """The value of attribute ``name`` (``ValueError`` if the op has no such attr)."""
        if name not in self._attrs:
            raise ValueError(f"Operation '{self._name}' has no attr named '{name}'.")
        return self._attrs[name]

    @property
    def attrs(self) -> dict:
        """A copy of all attributes (internal helper)."""
        return dict(self._attrs)

    def run(self, feed_dict=None, session=None):
        """Run this op in ``session`` (default: the default session); returns ``None``."""
        from .session import _eval_in_session

        _eval_in_session(self, feed_dict, session, "operation", "execute operation")

    def _as_graph_element(self):
        return self

    def __repr__(self):
        return f"<tf.Operation '{self._name}' type={self._type}>"

    def __str__(self):
        return str(self.node_def)


def _user_frame() -> str:
    """'file:line' of the first caller outside graphjit (for error messages)."""
    f = sys._getframe(2)
    while f is not None and f.f_code.co_filename.startswith(_PKG_DIR):
        f = f.f_back
    return f"{f.f_code.co_filename}:{f.f_lineno}" if f is not None else "<unknown>"


_PKG_DIR = os.path.dirname(os.path.abspath(__file__)) + os.sep
