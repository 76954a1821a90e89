"""``partial_run_setup`` / ``partial_run``: one step computed in several calls.

A handle declares every fetch and feed up front. Each call feeds some declared feeds and
fetches some declared fetches; values computed earlier (and the effects of stateful ops)
persist within the handle. The state lives in the session keyed by the handle and is dropped
when the last declared fetch is fetched or when the handle object is garbage collected.
"""

from __future__ import annotations

import dataclasses
import itertools
import weakref

from .errors import InvalidArgumentError
from .fetch import FetchMapper
from .graph import Operation, Tensor
from .interp import RunContext, run_program
from .program import prune

_ids = itertools.count(1)


class PartialRunHandle(str):
    """The handle string returned by ``partial_run_setup`` (a ``str``).

    A ``str`` subclass (no ``__slots__``, so it can be weakly referenced): when the handle
    object becomes garbage, its pending state is dropped from the session.
    """


def _drop_state(sess_ref, key):
    sess = sess_ref()
    if sess is not None:
        sess._partial.pop(key, None)


class _State:
    __slots__ = ("fed", "feeds", "fetched", "fetches", "ran", "values")

    def __init__(self, fetches, feeds):
        self.fetches = fetches  # id -> element
        self.feeds = feeds  # id -> tensor
        self.fed: set[int] = set()
        self.fetched: set[int] = set()
        self.values: dict[int, tuple] = {}  # id(tensor) -> (tensor, value computed or fed)
        self.ran: frozenset[int] = frozenset()  # ids of ops already executed


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def setup(sess, fetches, feeds=None):
    """``Session.partial_run_setup``: validate the declarations and register a handle."""
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
    # Only a weak reference to the session: an abandoned handle must not keep it alive.
    weakref.finalize(handle, _drop_state, weakref.ref(sess), key)
    return handle


def _bad_handle():
    return InvalidArgumentError(None, None, "Must run 'setup' before performing partial runs!")


def step(sess, handle, fetches, feed_dict=None):
    """``Session.partial_run``: one call of a sequence; a failing call changes nothing."""
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
    # Work on a copy of the known values: a failing step leaves the handle as it was.
    values = dict(state.values)
    for tid, (t, run, _back) in feeds.items():
        values[tid] = (t, run)
    wanted = list(mapper.elements)
    # Declared feeds not fed yet make a fetch impossible, not a missing-placeholder error.
    known = [t for t, _ in values.values()]
    known_ids = set(values)
    for el in wanted:
        _check_computable(el, state, known_ids)
    todo = [el for el in wanted if id(el) not in values]
    n_tensor_fetches = sum(isinstance(e, Tensor) for e in state.fetches.values())
    # Declared targets run with the last fetch.
    last = len(state.fetched) + len(wanted) == n_tensor_fetches
    targets = [e for e in state.fetches.values() if isinstance(e, Operation)] if last else []
    ran = state.ran
    if todo or targets:
        program = prune(todo, known, targets)
        if any(id(op) in ran for op in program.ops):
            # One partial-run sequence is one step: an op reached again (e.g. a shared
            # control dependency) must not run twice. Its outputs are known values already.
            keep = [i for i, op in enumerate(program.ops) if id(op) not in ran]
            program = dataclasses.replace(
                program,
                nodes=tuple(program.nodes[i] for i in keep),
                ops=tuple(program.ops[i] for i in keep),
            )
        ctx = RunContext(sess, program)
        with sess._state_lock_for(program):
            vals, _ = run_program(program, [values[id(t)][1] for t in known], ctx, keep_all=True)
            with sess._lock:
                sess._check_open()
                ctx.commit()
        for s, t in enumerate(program.slot_tensors):
            if vals[s] is not None and id(t) not in values:
                values[id(t)] = (t, vals[s])
        ref = dict(program.ref_slots)
        for el, s in zip(todo, program.fetch_slots):
            if s in ref:  # a fetched variable: its value after this step
                values[id(el)] = (el, ctx.read_var(ref[s]).copy())
        ran = ran | {id(op) for op in program.ops}
    state.values = values
    state.ran = ran
    state.fed.update(feeds)
    results = []
    for el in wanted:
        state.fetched.add(id(el))
        v = values[id(el)][1]
        results.append(sess._fetch_value(el, v.copy() if v.ndim else v))
    if len(state.fetched) == n_tensor_fetches:
        sess._partial.pop(str(handle), None)
    return mapper.build(results)


def _check_computable(el, state, known_ids):
    """A fetch depending on a declared but not yet fed feed cannot be computed yet."""
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
