"""The thread-local default-graph stack (``get_default_graph``, ``Graph.as_default``)."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .graph import Graph


class _DefaultGraphStack(threading.local):
    """Per-thread stack of ``as_default`` graphs; a new thread starts empty and therefore
    sees the global default graph."""

    def __init__(self):
        self.stack: list[Graph] = []

    def get_controller(self, graph):
        return _GraphController(self, graph)


class _GraphController:
    __slots__ = ("graph", "owner")

    def __init__(self, owner, graph):
        self.owner = owner
        self.graph = graph

    def __enter__(self):
        self.owner.stack.append(self.graph)
        return self.graph

    def __exit__(self, *exc):
        stack = self.owner.stack
        if not stack or stack[-1] is not self.graph:
            raise AssertionError("Nesting violated for default stack of <class 'Graph'> objects")
        stack.pop()
        return False


_default_graph_stack = _DefaultGraphStack()
_global_default_graph: Graph | None = None
_global_lock = threading.Lock()


def get_default_graph() -> Graph:
    """The innermost ``as_default`` graph of this thread, or the global default graph."""
    stack = _default_graph_stack.stack
    if stack:
        return stack[-1]
    global _global_default_graph
    if _global_default_graph is None:
        with _global_lock:
            if _global_default_graph is None:
                from .graph import Graph

                _global_default_graph = Graph()
    return _global_default_graph


def reset_default_graph() -> None:
    """Replace the global default graph (``AssertionError`` inside a graph context)."""
    if _default_graph_stack.stack:
        raise AssertionError(
            "Do not use tf.reset_default_graph() to clear nested graphs. If you need a "
            "cleared graph, exit the nesting and create a new graph."
        )
    from .graph import Graph

    global _global_default_graph
    _global_default_graph = Graph()


def _push_default_graph(graph):
    _default_graph_stack.stack.append(graph)


def _remove_default_graph(graph):
    stack = _default_graph_stack.stack
    for i in range(len(stack) - 1, -1, -1):
        if stack[i] is graph:
            del stack[i]
            return
