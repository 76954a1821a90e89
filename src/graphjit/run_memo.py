"""The ``Session.run`` memo: ``(fetch structure, feed keys) -> prepared run``.

A repeated ``sess.run(fetches, feed_dict)`` spends most of its time re-deriving the same
things: flattening the fetch structure, resolving feed keys, converting and checking feed
values, looking up the pruned Program and the compiled chain. After a run succeeded on the
full path, :func:`remember` stores a :class:`RunMemo` under a cheap structural key of the
call (:func:`key`). The next call with the same key runs :meth:`RunMemo.run`, which only
checks the feed values (exact dtype, static shape) and calls the compiled chain directly.

Anything the memo does not handle exactly like the full path -- another dtype, a list, a
Python int, a string feed, ``options``/``run_metadata``, a graph whose feedable/fetchable
sets changed, a session with an operation timeout, any exception inside the chain --
returns :data:`MISS` (before any state was touched), and ``Session.run`` takes the full
path, which validates and raises exactly as before.

Keys hold object identities (``id``) of Tensors/Operations/Variables; every such object is
kept alive by the memo entry, so an id is never reused while its entry exists.
"""

from __future__ import annotations

import numpy as np

from .graph import Operation, Tensor
from .interp import RunContext

MISS = object()
_ARRAYS = (np.ndarray, np.generic)
_MAX_ENTRIES = 256
_ID_LEAVES: set = {Tensor, Operation}
_var_types_added = False
_config_get = None  # config.get, bound by the first remember()


def _leaf_types() -> set:
    global _var_types_added
    if not _var_types_added:
        from .variables import Variable

        _ID_LEAVES.update({Variable, *Variable.__subclasses__()})
        _var_types_added = True
    return _ID_LEAVES


def _fetch_key(f, keep):
    t = type(f)
    if t in _ID_LEAVES:
        keep.append(f)
        return id(f)
    if t is str:
        return f
    if t is list or t is tuple:
        parts = [t is list]
        for x in f:
            k = _fetch_key(x, keep)
            if k is None:
                return None
            parts.append(k)
        return tuple(parts)
    if t is dict:
        parts = ["d"]
        for name, x in f.items():
            if type(name) is not str:
                return None
            k = _fetch_key(x, keep)
            if k is None:
                return None
            parts.append((name, k))
        return tuple(parts)
    if t not in _leaf_types():
        return None
    keep.append(f)
    return id(f)


def key(fetches, feed_dict, keep):
    """A hashable key of ``(fetches, feed keys)`` or ``None`` (no memo for this call).

    ``keep`` receives the objects whose ids are part of the key.
    """
    if type(fetches) is Tensor:
        keep.append(fetches)
        fk = id(fetches)
    else:
        fk = _fetch_key(fetches, keep)
        if fk is None:
            return None
    if feed_dict is None or not feed_dict:
        return (fk,)
    if type(feed_dict) is not dict:
        return None
    parts = [fk]
    for k in feed_dict:
        t = type(k)
        if t is Tensor:
            keep.append(k)
            parts.append(id(k))
        elif t is str:
            parts.append(k)
        else:
            return None
    return tuple(parts)


class RunMemo:
    """A prepared ``Session.run`` for one key (see the module docstring)."""

    __slots__ = (
        "chain",
        "direct",
        "fed_pos",
        "feeds",
        "graph_sets",
        "jit_ok",
        "keep",
        "lock",
        "mapper",
        "n",
        "positions",
        "program",
        "sig",
    )

    def run(self, sess, feed_dict):
        """The result of ``sess.run`` for this key, or :data:`MISS`."""
        g = sess._graph
        if (len(g._unfeedable), len(g._unfetchable)) != self.graph_sets:
            return MISS
        # ndarrays; for rank-0 feeds also numpy scalars of the feed dtype and Python floats
        # (float feeds), converted to 0-d arrays only where the full path needs arrays
        vals = []
        if feed_dict:
            for (dt, rank, dims, is_float, scalar), v in zip(self.feeds, feed_dict.values()):
                tv = type(v)
                if tv is np.ndarray:
                    # the rank is part of the compiled chain's signature, even when the
                    # placeholder's rank is unknown
                    if v.dtype is not dt or v.ndim != rank:
                        return MISS
                    if dims:
                        for d, s in zip(dims, v.shape):
                            if d is not None and d != s:
                                return MISS
                elif rank or not (tv is scalar or (tv is float and is_float)):
                    return MISS
                vals.append(v)
        outs = MISS
        if self.jit_ok and not _config_get().disable_jit:
            chain = self.chain
            if chain is None:
                chain = self._attach()
            if chain is not None:
                outs = self._run_chain(sess, chain, vals)
        if outs is MISS:
            outs = self._run_general(sess, self._arrays(vals))
        if self.direct:
            v = outs[0]
            return v[()] if isinstance(v, _ARRAYS) and v.ndim == 0 else v
        results = [None] * self.n
        if self.fed_pos:
            backs = self._arrays(vals)
            for i, j in self.fed_pos:
                results[i] = backs[j]  # fetching a fed tensor returns the fed value itself
        for i, v in zip(self.positions, outs):  # as BaseSession._fetch_value
            results[i] = v[()] if isinstance(v, _ARRAYS) and v.ndim == 0 else v
        return self.mapper.build(results)

    def _arrays(self, vals):
        """Feed values as the full path converts them (Python floats -> 0-d arrays)."""
        return [
            v if type(v) is np.ndarray else np.asarray(v, dtype=spec[0])
            for spec, v in zip(self.feeds, vals)
        ]

    def _attach(self):
        from . import executor, jit

        chain = jit.peek((self.program.key, self.sig))
        if isinstance(chain, executor.Chain):
            self.chain = chain
            return chain
        return None

    def _run_chain(self, sess, chain, vals):
        """Call the compiled driver directly (what ``executor.execute`` does per run)."""
        args = []
        for v in vals:
            if type(v) is not np.ndarray:
                args.append(v)  # a scalar; a float is cast to the feed dtype by numba
            elif v.ndim == 0:
                args.append(v[()])
            elif v.flags.c_contiguous:
                args.append(v)
            else:
                return MISS  # the general path makes it contiguous
        if not chain.needs_ctx:
            try:
                outs = chain.run(None, chain.links, chain.consts, *args)
            except Exception:
                return MISS  # replayed by the general path (TF's error class and message)
            if sess._closed:
                sess._check_open()
            return outs
        ctx = RunContext(sess, self.program)
        with self.lock:
            try:
                outs = chain.run(ctx, chain.links, chain.consts, *args)
            except Exception:
                return MISS  # nothing committed; the general path replays the run
            with sess._lock:
                sess._check_open()
                ctx.commit()
        return outs

    def _run_general(self, sess, vals):
        """The body of ``BaseSession._run_elements`` for this prepared run."""
        from .errors import OpError
        from .session import _wrap_error

        program = self.program
        try:
            ctx = RunContext(sess, program)
            with self.lock:
                outs = sess._execute(program, vals, ctx)
                with sess._lock:
                    sess._check_open()
                    ctx.commit()
        except OpError as e:
            raise _wrap_error(e) from None
        if self.chain is None and self.jit_ok:
            self._attach()
        return outs


def remember(sess, memo_key, keep, mapper, feeds):
    """Store a :class:`RunMemo` after a successful full-path run (when it is safe to)."""
    global _config_get
    from . import config

    _config_get = config.get  # imported here: ``config`` is not needed to import graphjit
    if sess._config.operation_timeout_in_ms:
        return  # deadlines are per run: the full path handles them
    if len(feeds) != len(memo_key) - 1:
        return  # two keys fed the same tensor, or a nested/sparse key
    elements = mapper.elements
    fed_index = {tid: j for j, tid in enumerate(feeds)}
    tensors, targets, positions, fed_pos = [], [], [], []
    for i, el in enumerate(elements):
        if isinstance(el, Operation):
            targets.append(el)
            continue
        if el.op.type == "GetSessionHandle":
            return
        j = fed_index.get(id(el))
        if j is not None:
            fed_pos.append((i, j))
            continue
        tensors.append(el)
        positions.append(i)
    if not tensors and not targets:
        return
    specs = []
    for t, _, back in feeds.values():
        np_dt = np.dtype(t.dtype.np) if t.dtype.np is not None else None
        if np_dt is None or np_dt.kind not in "biufc":
            return  # strings, resources: the full path converts them
        dims = tuple(t.shape.as_list()) if t.shape.ndims is not None else None
        specs.append((np_dt, np.ndim(back), dims, np_dt.kind == "f", np_dt.type))
    feed_list = list(feeds.values())
    program = sess._program(tensors, targets, feed_list)
    entry = RunMemo()
    entry.keep = keep
    entry.mapper = mapper
    entry.feeds = tuple(specs)
    entry.fed_pos = tuple(fed_pos)
    entry.positions = tuple(positions)
    entry.n = len(elements)
    entry.program = program
    entry.lock = sess._state_lock_for(program)
    g = sess._graph
    entry.graph_sets = (len(g._unfeedable), len(g._unfetchable))
    entry.jit_ok = not config.session_disables_jit(sess._config)
    entry.sig = tuple(s[1] for s in specs)
    entry.chain = None
    entry.direct = mapper.single and len(elements) == 1 and positions == [0]
    memo = sess._run_memo
    if len(memo) >= _MAX_ENTRIES:
        memo.clear()
    memo[memo_key] = entry
