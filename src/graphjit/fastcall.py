"""The L0 cache: an arity-specific ``make_callable`` fast path.

:func:`wrap` turns a :class:`~graphjit.callable.SessionCallable` into a :class:`FastCallable`.
Its first call takes the slow path (the full Session contract) under
:func:`~graphjit.executor.forcing`, which compiles the chain (by default on a background
thread: the slow path keeps answering, interpreted, until the chain is in L1); once a slow
call finds the chain compiled, the callable *arms*: a
``__call__`` is generated for exactly the feeds it was compiled for, checking each argument's
type, dtype, rank, C-contiguity and known static dimensions inline and calling the compiled
driver directly. Any other argument (lists, Python ints, other dtypes or ranks, strided views,
options) or a closed session takes the slow path, which coerces and validates exactly as
``Session.run`` does; an error inside the chain is replayed by the slow path too.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import config, executor, jit
from .graph import Operation, Tensor
from .interp import RunContext


class FastCallable:
    """What ``Session.make_callable`` returns (see :meth:`Session.make_callable`)."""

    __slots__ = ("__weakref__", "_armed", "_sc", "_tried")

    def __init__(self, sc):
        self._sc = sc
        self._armed = False
        self._tried = False

    def __call__(self, *args, **kwargs):
        return self._slow(*args, **kwargs)

    def _slow(self, *args, **kwargs):
        with executor.forcing():
            out = self._sc(*args, **kwargs)
        if not self._tried and not kwargs:
            try:
                # False while the chain is still compiling in the background: retry next call
                self._tried = _arm(self, args) is not False
            except Exception:  # never let arming break a call that succeeded
                self._tried = True
        return out


_ARMED_CLASSES: dict = {}


def wrap(sc):
    """A :class:`FastCallable` for a ``SessionCallable`` with a feed list, else ``sc``."""
    if sc._feed_list is None or sc._accept_options:
        return sc
    return FastCallable(sc)


def _arm(fc, args):
    """Generate the fast ``__call__`` for the signature of ``args`` (after a good slow call)."""
    sc = fc._sc
    sess = sc._session
    cfg = config.get()
    if cfg.disable_jit or config.session_disables_jit(sess._config):
        return
    graph = sess.graph
    feeds = []
    for key in sc._feed_keys:
        if isinstance(key, tuple):
            return
        t = graph.as_graph_element(key, allow_tensor=True, allow_operation=False)
        if not isinstance(t, Tensor) or not graph.is_feedable(t):
            return
        if t.dtype.np.kind == "O":  # string feeds need session_feed's str -> bytes encoding
            return
        feeds.append(t)
    if len({id(t) for t in feeds}) != len(feeds):
        return
    fed = {id(t) for t in feeds}
    elements = sc._mapper.elements
    tensors, targets, positions = [], [], []
    for i, el in enumerate(elements):
        if isinstance(el, Operation):
            targets.append(el)
        elif isinstance(el, Tensor):
            if id(el) in fed or el.op.type == "GetSessionHandle":
                return
            tensors.append(el)
            positions.append(i)
        else:
            return
    if not tensors and not targets:
        return
    program = sess._program(tensors, targets, [(t,) for t in feeds])
    ranks = tuple(np.ndim(a) for a in args)
    chain = jit.peek((program.key, ranks))
    if chain is None:
        return False  # not compiled yet (a background compile may be running)
    if not isinstance(chain, executor.Chain):
        return
    call = _generate(sess, program, chain, feeds, ranks, elements, positions, sc._mapper)
    cls = type("ArmedCallable", (FastCallable,), {"__slots__": (), "__call__": call})
    object.__setattr__(fc, "_armed", True)
    fc.__class__ = cls


def _generate(sess, program, chain, feeds, ranks, elements, positions, mapper):
    """Source of the armed ``__call__`` for this signature, exec'd with its constants."""
    n = len(feeds)
    names = [f"a{i}" for i in range(n)]
    ns = {
        "ND": np.ndarray,
        "RUN": chain.run,
        "LINKS": chain.links,
        "CONSTS": chain.consts,
        "SESS": sess,
        "PROG": program,
        "RunContext": RunContext,
        "BUILD": mapper.build,
    }
    lines = [f"def __call__(self, {''.join(a + ', ' for a in names)}*extra, **kw):"]
    lines.append("    if extra or kw or SESS._closed:")
    lines.append(f"        return self._slow({''.join(a + ', ' for a in names)}*extra, **kw)")
    passed = []
    for i, (t, r) in enumerate(zip(feeds, ranks)):
        a = names[i]
        dt = t.dtype.np
        ns[f"D{i}"] = np.dtype(dt)
        ns[f"S{i}"] = np.dtype(dt).type
        conds = [f"type({a}) is ND", f"{a}.dtype is D{i}", f"{a}.ndim == {r}"]
        if r:
            conds.append(f"{a}.flags.c_contiguous")
            dims = t.shape.as_list() if t.shape.ndims is not None else []
            conds += [f"{a}.shape[{k}] == {d}" for k, d in enumerate(dims) if d is not None]
            lines.append(f"    if not ({' and '.join(conds)}):")
            lines.append(f"        return self._slow({', '.join(names)})")
            passed.append(a)
        else:
            alts = [f"type({a}) is S{i}"]
            if np.dtype(dt).kind == "f":
                alts.append(f"type({a}) is float")
            elif np.dtype(dt).kind == "b":
                alts.append(f"type({a}) is bool")
            lines.append(f"    if {' or '.join(alts)}:")
            lines.append(f"        x{i} = {a}")
            lines.append(f"    elif {' and '.join(conds)}:")
            lines.append(f"        x{i} = {a}[()]")
            lines.append("    else:")
            lines.append(f"        return self._slow({', '.join(names)})")
            passed.append(f"x{i}")
    args = "".join(", " + p for p in passed)
    if chain.needs_ctx:
        # the same state lock Session.run holds for a program that writes variables
        lock = getattr(sess, "_state_lock_for", None)
        ns["LOCK"] = lock(program) if lock is not None else contextlib.nullcontext()
        lines.append("    ctx = RunContext(SESS, PROG)")
        lines.append("    with LOCK:")
        lines.append("        try:")
        lines.append(f"            outs = RUN(ctx, LINKS, CONSTS{args})")
        lines.append("        except Exception:")
        lines.append("            outs = None")
        lines.append("        if outs is not None:")
        lines.append("            with SESS._lock:")
        lines.append("                if SESS._closed:")
        lines.append("                    outs = None")
        lines.append("                else:")
        lines.append("                    ctx.commit()")
        lines.append("    if outs is None:")
        lines.append(f"        return self._slow({', '.join(names)})")
    else:
        lines.append("    try:")
        lines.append(f"        outs = RUN(None, LINKS, CONSTS{args})")
        lines.append("    except Exception:")
        lines.append(f"        return self._slow({', '.join(names)})")
    if mapper.single and len(elements) == 1 and positions == [0]:
        lines.append("    return outs[0]")
    else:
        fill = ["None"] * len(elements)
        for k, p in enumerate(positions):
            fill[p] = f"outs[{k}]"
        lines.append(f"    return BUILD([{', '.join(fill)}])")
    src = "\n".join(lines) + "\n"
    code = compile(src, f"<graphjit fastcall {program.key[:12]}>", "exec")
    exec(code, ns)
    fn = ns["__call__"]
    fn.__source__ = src
    return fn
