"""``partial_run_setup`` / ``partial_run``: one step computed in several calls.

A handle declares every fetch and feed up front. Each call feeds some declared feeds and
fetches some declared fetches; values computed earlier (and the effects of stateful ops)
persist within the handle. The state lives in the session keyed by the handle and is dropped
when the last declared fetch is fetched or when the handle object is garbage collected.
"""

from __future__ import annotations

import itertools
import weakref

from .errors import InvalidArgumentError
from .fetch import FetchMapper
from .graph import Operation, Tensor
from .interp import RunContext, run_program
from .program import prune

_ids = itertools.count(1)


class PartialRunHandle(str):
    """The handle string returned by ``partial_run_setup`` (a ``str``)."""

    __slots__ = ()


class _State:
    __slots__ = ("consumed", "fed", "feeds", "fetched", "fetches", "values")

    def __init__(self, fetches, feeds):
        self.fetches = fetches  # id -> element
        self.feeds = feeds  # id -> tensor
        self.fed: set[int] = set()
        self.fetched: set[int] = set()
        self.values: dict[int, tuple] = {}  # id(tensor) -> (tensor, value computed or fed)
        self.consumed: set[int] = set()  # ids of ops already run


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def setup(sess, fetches, feeds=None):
    sess._check_open()
    sess._check_graph_not_empty()
    fetch_els = FetchMapper(sess.graph, _as_list(fetches)).elements
    feed_els = FetchMapper(sess.graph, _as_list(feeds)).elements
    if not fetch_els:
        raise InvalidArgumentError(
            None, None, "Must specify at least one target to fetch or execute."
        )
    for t in feed_els:
        if any(t is f for f in fetch_els):
            raise InvalidArgumentError(None, None, f"{t.name} is both fed and fetched.")
    handle = PartialRunHandle(f"{next(_ids)};{sess._id}")
    state = _State({id(e): e for e in fetch_els}, {id(t): t for t in feed_els})
    key = str(handle)
    sess._partial[key] = state
    weakref.finalize(handle, sess._partial.pop, key, None)
    return handle


def _bad_handle():
    return InvalidArgumentError(None, None, "Must run 'setup' before performing partial runs!")


def step(sess, handle, fetches, feed_dict=None):
    sess._check_open()
    state = sess._partial.get(str(handle)) if isinstance(handle, str) else None
    if state is None:
        raise _bad_handle()
    mapper = FetchMapper(sess.graph, fetches)
    for el in mapper.elements:
        if isinstance(el, Operation):
            raise RuntimeError(
                "partial_run() requires empty `target_list`. Operations may be "
                "declared in partial_run_setup but not fetched."
            )
        if id(el) not in state.fetches:
            raise InvalidArgumentError(
                None, None, f"The fetch {el.name} was not specified in partial_run_setup."
            )
        if id(el) in state.fetched:
            raise InvalidArgumentError(
                None, None, f"The fetch {el.name} has already been fetched."
            )
    feeds = sess._convert_feed_dict(feed_dict)
    for _, (t, _run, _back) in feeds.items():
        if id(t) not in state.feeds:
            raise InvalidArgumentError(
                None, None, f"The feed {t.name} was not specified in partial_run_setup."
            )
        if id(t) in state.fed:
            raise InvalidArgumentError(None, None, f"The feed {t.name} has already been fed.")
    for tid, (t, run, _back) in feeds.items():
        state.fed.add(tid)
        state.values[tid] = (t, run)
    results = []
    wanted = list(mapper.elements)
    # Declared feeds not fed yet make a fetch impossible, not a missing-placeholder error.
    known = [t for t, _ in state.values.values()]
    for el in wanted:
        _check_computable(el, state, known)
    todo = [el for el in wanted if id(el) not in state.values]
    # Declared targets run with the last fetch.
    last = len(state.fetched) + len(wanted) == len(
        [e for e in state.fetches.values() if isinstance(e, Tensor)]
    )
    targets = [e for e in state.fetches.values() if isinstance(e, Operation)] if last else []
    if todo or targets:
        feed_tensors = known
        program = prune(todo, feed_tensors, targets)
        ctx = RunContext(sess, program)
        vals, _ = run_program(
            program, [state.values[id(t)][1] for t in feed_tensors], ctx, keep_all=True
        )
        with sess._lock:
            ctx.commit()
        for s, t in enumerate(program.slot_tensors):
            if vals[s] is not None and id(t) not in state.values:
                state.values[id(t)] = (t, vals[s])
    for el in wanted:
        state.fetched.add(id(el))
        v = state.values[id(el)][1]
        if id(el) in feeds:
            results.append(feeds[id(el)][2])
        else:
            results.append(v[()] if v.ndim == 0 else v.copy())
    if len(state.fetched) == len([e for e in state.fetches.values() if isinstance(e, Tensor)]):
        sess._partial.pop(str(handle), None)
    return mapper.build(results)


def _check_computable(el, state, known):
    """A fetch depending on a declared but not yet fed feed cannot be computed yet."""
    known_ids = {id(t) for t in known}
    stack, seen = [el], set()
    while stack:
        t = stack.pop()
        if id(t) in known_ids:
            continue
        if id(t) in state.feeds:
            raise InvalidArgumentError(
                None,
                None,
                f"Fetch {el.name} can't be computed from the feeds that have been fed so far.",
            )
        op = t.op if isinstance(t, Tensor) else t
        if id(op) in seen:
            continue
        seen.add(id(op))
        stack.extend(op._inputs)
        stack.extend(op._control_inputs)
