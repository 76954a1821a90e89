"""Flattening nested fetch structures into graph elements, and rebuilding the results.

``FetchMapper(graph, fetches)`` resolves every leaf (Tensor, Operation, name string, Variable,
SparseTensor, IndexedSlices) and records the container types (list, tuple, namedtuple, any
Mapping incl. ``defaultdict``, attrs classes), so ``build(values)`` returns exactly the shape
TF's ``Session.run`` returns. Elements are de-duplicated by identity.
"""

from __future__ import annotations

import collections
from collections.abc import Mapping

from .graph import Operation, Tensor
from .sparse import IndexedSlices, IndexedSlicesValue, SparseTensor, SparseTensorValue


def resolve_fetch(graph, fetch):
    """Resolve one leaf to a Tensor or Operation of ``graph`` with TF's error classes."""
    if fetch is None:
        raise TypeError(
            f'Argument `fetch` = {fetch} has invalid type "{type(fetch).__name__}". Cannot be None'
        )
    try:
        return graph.as_graph_element(fetch, allow_tensor=True, allow_operation=True)
    except TypeError as e:
        raise TypeError(
            f'Argument `fetch` = {fetch!r} has invalid type "{type(fetch).__name__}" '
            f"must be a string or Tensor. ({e})"
        ) from None
    except (ValueError, KeyError) as e:
        msg = e.args[0] if e.args else str(e)
        raise ValueError(
            f"Argument `fetch` = {fetch!r} cannot be interpreted as a Tensor. ({msg})"
        ) from None


class FetchMapper:
    """Resolved leaves of a fetch structure plus a function rebuilding it from values."""

    __slots__ = ("_builder", "elements", "single")

    def __init__(self, graph, fetches):
        self.elements: list = []
        index: dict[int, int] = {}

        def leaf(el):
            i = index.get(id(el))
            if i is None:
                i = index[id(el)] = len(self.elements)
                self.elements.append(el)
            return i

        def compile_(f):
            if isinstance(f, (Tensor, Operation, str, bytes)):
                i = leaf(resolve_fetch(graph, f))
                return lambda vals: vals[i]
            if isinstance(f, SparseTensor):
                parts = [
                    leaf(resolve_fetch(graph, t)) for t in (f.indices, f.values, f.dense_shape)
                ]
                return lambda vals: SparseTensorValue(*(vals[j] for j in parts))
            if isinstance(f, IndexedSlices):
                comps = [f.values, f.indices] + (
                    [f.dense_shape] if f.dense_shape is not None else []
                )
                parts = [leaf(resolve_fetch(graph, t)) for t in comps]
                has_shape = f.dense_shape is not None
                return lambda vals: IndexedSlicesValue(
                    vals[parts[0]], vals[parts[1]], vals[parts[2]] if has_shape else None
                )
            if hasattr(type(f), "__attrs_attrs__"):
                names = [a.name for a in type(f).__attrs_attrs__]
                subs = [compile_(getattr(f, n)) for n in names]
                cls = type(f)
                return lambda vals: cls(*(s(vals) for s in subs))
            if isinstance(f, Mapping):
                keys = list(f.keys())
                subs = [compile_(f[k]) for k in keys]
                cls = type(f)
                if isinstance(f, collections.defaultdict):
                    factory = f.default_factory
                    return lambda vals: cls(factory, zip(keys, (s(vals) for s in subs)))
                return lambda vals: cls(zip(keys, (s(vals) for s in subs)))
            if isinstance(f, tuple) and hasattr(f, "_fields"):
                subs = [compile_(x) for x in f]
                cls = type(f)
                return lambda vals: cls(*(s(vals) for s in subs))
            if isinstance(f, (list, tuple)):
                subs = [compile_(x) for x in f]
                cls = list if isinstance(f, list) else tuple
                return lambda vals: cls(s(vals) for s in subs)
            if f is None:
                resolve_fetch(graph, f)
            if hasattr(f, "_as_graph_element"):
                i = leaf(resolve_fetch(graph, f))
                return lambda vals: vals[i]
            raise TypeError(
                f'Argument `fetch` = {f!r} has invalid type "{type(f).__name__}" must be a '
                f"string or Tensor. (Can not convert a {type(f).__name__} into a Tensor or "
                "Operation.)"
            )

        self.single = not isinstance(fetches, (list, tuple, Mapping, SparseTensor, IndexedSlices))
        self._builder = compile_(fetches)

    def build(self, values):
        """Rebuild the user's structure from values aligned with ``elements``."""
        return self._builder(values)
