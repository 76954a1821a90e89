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

Level 0: once an entry for a single Tensor fetch fed by Tensor keys has its chain, a
function generated for exactly that call (:func:`_fast_run`) is stored in
``sess._run_fast`` under ``id(fetch)``; ``Session.run`` tries it before building any key.
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
_config = None  # the config module, bound by the first remember()


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
            tx = type(x)
            if tx is Tensor or tx is Operation:  # (the usual leaves, without a call)
                keep.append(x)
                parts.append(id(x))
                continue
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


def key(fetches, feed_dict, keep=None):
    """A hashable key of ``(fetches, feed keys)`` or ``None`` (no memo for this call).

    ``keep`` (a list, when given) receives the objects whose ids are part of the key.
    """
    if type(fetches) is Tensor:
        fk = id(fetches)
        if keep is not None:
            keep.append(fetches)
    else:
        if keep is None:
            keep = []  # (only the cold path: a structured fetch)
        fk = _fetch_key(fetches, keep)
        if fk is None:
            return None
    if not feed_dict:
        return (fk,)
    if type(feed_dict) is not dict:
        return None
    parts = [fk]
    for k in feed_dict:
        t = type(k)
        if t is Tensor:
            parts.append(id(k))
        elif t is str:
            parts.append(k)
        else:
            return None
    if keep is not None:
        keep += [k for k in feed_dict if type(k) is Tensor]
    return tuple(parts)


class RunMemo:
    """A prepared ``Session.run`` for one key (see the module docstring)."""

    __slots__ = (
        "chain",
        "direct",
        "fast",
        "fast_keys",
        "fed_pos",
        "feeds",
        "flat",
        "graph_sets",
        "jit_ok",
        "keep",
        "lock",
        "mapper",
        "n",
        "positions",
        "program",
        "sig",
        "with_ctx",
    )

    def run(self, sess, feed_dict):
        """The result of ``sess.run`` for this key, or :data:`MISS`."""
        fast = self.fast
        if fast is not None:
            out = fast(sess, feed_dict)
            if out is not MISS:
                return out
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
        if self.jit_ok and not _config._current.disable_jit:
            chain = self.chain
            if chain is None:
                chain = self._attach(sess)
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

    def _attach(self, sess):
        from . import executor, jit

        chain = jit.peek((self.program.key, self.sig))
        if isinstance(chain, executor.Chain):
            from .fastcall import needs_ctx

            self.with_ctx = needs_ctx(chain)
            try:
                self.fast = _fast_run(sess, self, chain)
                if self.fast_keys is not None:
                    sess._run_fast[id(self.fast_keys[0])] = _fast_run(
                        sess, self, chain, self.fast_keys[1]
                    )
            except Exception:  # never let a fast path break a run: the memo's own runs it
                pass
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
        if not self.with_ctx:
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
            self._attach(sess)
        return outs


def remember(sess, memo_key, fetches, feed_dict, mapper, feeds):
    """Store a :class:`RunMemo` after a successful full-path run (when it is safe to)."""
    global _config
    from . import config

    _config = config  # imported here: ``config`` is not needed to import graphjit
    if sess._config_pb is not None and sess._config_pb.operation_timeout_in_ms:
        return  # deadlines are per run: the full path handles them
    if len(feeds) != len(memo_key) - 1:
        return  # two keys fed the same tensor, or a nested/sparse key
    keep: list = []
    key(fetches, feed_dict, keep)
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
    entry.jit_ok = not config.session_disables_jit(sess._config_pb)
    entry.sig = tuple(s[1] for s in specs)
    entry.chain = None
    entry.with_ctx = True
    entry.direct = mapper.single and len(elements) == 1 and positions == [0]
    entry.fast = None
    entry.flat = None
    tf = type(fetches)
    if (tf is list or tf is tuple) and all(type(x) in (Tensor, Operation) for x in fetches):
        where = {id(el): i for i, el in enumerate(elements)}
        if all(id(x) in where for x in fetches):
            entry.flat = (tf is list, tuple(where[id(x)] for x in fetches))
    entry.fast_keys = None
    if mapper.single and tf in (Tensor, Operation) and len(keep) == len(memo_key):
        # one Tensor or Operation fetched, fed by Tensor keys only: level 0 can run it
        entry.fast_keys = (fetches, tuple(keep[1:]))
    memo = sess._run_memo
    if len(memo) >= _MAX_ENTRIES:
        memo.clear()
        sess._run_fast.clear()
    memo[memo_key] = entry


def _fast_run(sess, entry, chain, keys=None):
    """A generated run of a memo entry with its chain: ``fast(sess, feed_dict)`` or ``MISS``.

    With ``keys`` (the entry's feed Tensors, in order) it is the level-0 ``Session.run``,
    looked up by ``id(fetches)`` before any key is built, so it also checks the feed dict's
    keys; without, it runs a memo hit whose key already matched. Either checks the session
    (closed), ``disable_jit`` and the graph's feedable/fetchable sets, then each feed value
    and calls the chain with the helpers of :mod:`~graphjit.fastcall`, and builds the fetch
    structure as :meth:`RunMemo.run` does. Whatever it does not handle (another feed dict or
    value, a closed session, a changed graph, the JIT switched off, any exception in the
    chain) returns ``MISS`` without touching state; :meth:`RunMemo.run` or the full path
    then runs the call.
    """
    from .fastcall import chain_lines, compile_function, dispatch_checks, guard_lines, needs_ctx

    n = len(entry.feeds)
    names = [f"a{i}" for i in range(n)]
    ns = {"MISS": MISS, "DICT": dict, "CFG": _config, "G": sess._graph, "KEEP": entry.keep}
    n1, n2 = entry.graph_sets
    graph = (
        "G._unfeedable or G._unfetchable"  # (both empty, the usual case: truth is cheapest)
        if n1 == n2 == 0
        else f"len(G._unfeedable) != {n1} or len(G._unfetchable) != {n2}"
    )
    state = f"SESS._closed or CFG._current.disable_jit or {graph}"
    # SESS is the argument, not a constant: the session's table must not keep it alive
    lines = ["def fast_run(SESS, fd):"]
    if keys is not None and n:
        ns.update({f"K{i}": k for i, k in enumerate(keys)})
        lines.append(f"    if type(fd) is not DICT or len(fd) != {n} or {state}:")
        lines.append("        return MISS")
        lines.append(f"    {''.join(f'k{i}, ' for i in range(n))}= fd")
        lines.append(f"    if {' or '.join(f'k{i} is not K{i}' for i in range(n))}:")
        lines.append("        return MISS")
    else:
        lines.append(f"    if {'fd or ' if keys is not None else ''}{state}:")
        lines.append("        return MISS")
    if n:
        lines.append(f"    {''.join(a + ', ' for a in names)}= fd.values()")
    passed, shapes = [], []
    light = dispatch_checks(
        entry.program, chain, [f[1] for f in entry.feeds], [f[2] for f in entry.feeds]
    )
    for i, (dt, rank, dims, _, _) in enumerate(entry.feeds):
        arg, shape = guard_lines(lines, ns, names[i], i, dt, rank, dims, "return MISS", light)
        passed.append(arg)
        shapes.append(shape)
    results, inlined = chain_lines(
        lines, ns, sess, entry.program, chain, passed, shapes, "return MISS", light
    )
    if not needs_ctx(chain):
        lines.append("    if SESS._closed:")
        lines.append("        return MISS")
    if not inlined:  # the driver's values, as BaseSession._fetch_value converts them
        ns["SCALAR"] = _scalar
        results = [f"SCALAR({r})" for r in results]
    if entry.direct:
        lines.append(f"    return {results[0]}")
    else:
        fill = ["None"] * entry.n  # (Operations fetch None)
        for i, r in zip(entry.positions, results):
            fill[i] = r
        for i, j in entry.fed_pos:  # fetching a fed tensor returns the fed value itself
            ns[f"D{j}"] = entry.feeds[j][0]
            ns["ND"], ns["ASARRAY"] = np.ndarray, np.asarray
            fill[i] = f"({names[j]} if type({names[j]}) is ND else ASARRAY({names[j]}, D{j}))"
        if entry.mapper.single:  # one Operation, or a Tensor that was fed
            lines.append(f"    return {fill[0]}")
        elif entry.flat is not None:  # a list or tuple of Tensors/Operations: built inline
            is_list, index = entry.flat
            items = "".join(fill[i] + ", " for i in index)
            lines.append(f"    return [{items[:-2]}]" if is_list else f"    return ({items})")
        else:
            ns["BUILD"] = entry.mapper.build
            lines.append(f"    return BUILD([{', '.join(fill)}])")
    name = "fast run" if keys is not None else "memo run"
    return compile_function(lines, ns, f"<graphjit {name} {entry.program.key[:12]}>")


def _scalar(v):
    return v[()] if isinstance(v, _ARRAYS) and v.ndim == 0 else v
