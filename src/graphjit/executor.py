"""How a Session runs a Program: the numpy interpreter or a compiled kernel chain.

Tier policy (see ``docs/jit.md``): ``Session.run`` answers the first run of a
``(program, signature)`` with the interpreter and compiles on the ``compile_after``-th run
(default 2); ``make_callable`` compiles on its first call (:func:`forcing`). A compiled chain
is shared by every session and program with the same structural key and signature (L1).

Correctness rule: compiled code never writes session state and never raises TF errors itself.
State changes happen in driver links through the run context (staged, committed by the
session only after the whole run succeeded). If anything inside a chain raises, the run is
replayed from scratch by the interpreter, which raises TF's exact error class and message.
"""

from __future__ import annotations

import contextlib
import threading
import time

import numpy as np

from . import config, fuse, jit
from .interp import run_program

_tls = threading.local()
_counts: dict = {}  # (program key, signature) -> runs seen while cold


@contextlib.contextmanager
def forcing():
    """Within this block, a cold signature is compiled on its first run (``make_callable``)."""
    old = getattr(_tls, "force", False)
    _tls.force = True
    try:
        yield
    finally:
        _tls.force = old


# ------------------------------------------------------------------ helpers used by drivers
def arr0(x, dtype=None):
    """A rank-0 value as a 0-d array (what numpy link kernels expect)."""
    return np.asarray(x, dtype=dtype)


def cont(x):
    """A C-contiguous ndarray (segments are compiled for C layout)."""
    if type(x) is np.ndarray and x.flags.c_contiguous:
        return x
    return np.ascontiguousarray(x)


def bshape(*shapes):
    """The broadcast of array shapes (numpy rules); ``ValueError`` when incompatible."""
    first = shapes[0]
    for s in shapes[1:]:
        if s != first:
            return np.broadcast_shapes(*shapes)
    return first


def var_buffer(ctx, var, dtype):
    """The session's storage of variable ``var``, to be updated in place by the tail segment.

    Raises (so the interpreter replays the run with staged writes) when the variable is
    uninitialised or its storage is not a writable C-contiguous array of ``dtype``.
    """
    v = ctx.read_var(var)
    name = ctx.names[var]
    if (
        ctx.staged
        or ctx.session._vars.get(name) is not v
        or type(v) is not np.ndarray
        or v.dtype != dtype
        or not v.flags.c_contiguous
        or not v.flags.writeable
    ):
        raise ValueError("variable storage cannot be updated in place")
    return v


def own(v, args):
    """A fetched value that aliases no input, variable or constant (``args=None``: always copy)."""
    if not isinstance(v, np.ndarray):
        return np.asarray(v)[()]
    if v.ndim == 0:
        return v[()]
    if args is None or v.base is not None or any(v is a for a in args):
        return v.copy()
    return v


# ------------------------------------------------------------------ chains
class Chain:
    """A compiled kernel chain for one (program key, signature)."""

    __slots__ = ("consts", "links", "module", "needs_ctx", "path", "plan", "run", "run_traced")

    def __init__(self, plan, module, path, links):
        self.plan = plan
        self.module = module
        self.path = path
        self.run = module.run
        self.run_traced = module.run_traced
        self.consts = tuple(plan.consts[s] for s in sorted(plan.consts))
        self.links = links
        self.needs_ctx = None  # filled by build_chain


def _make_link(node):
    """A driver link: ``link(ctx, *arrays) -> tuple of outputs`` from the registry entry."""
    opdef = node.opdef
    attrs = dict(node.attrs)
    nout = len(node.outputs)
    if opdef.uses_ctx:

        def call(ctx, *args):
            return opdef.numpy(ctx, node, *args, **attrs)
    elif opdef.kernel is not None:
        from . import kernels

        fn = getattr(kernels, opdef.kernel, None) or opdef.numpy

        def call(ctx, *args):
            return fn(*args, **attrs)
    else:
        fn = opdef.numpy

        def call(ctx, *args):
            return fn(*args, **attrs)

    def link(ctx, *args):
        out = call(ctx, *args)
        if nout == 1:
            return (out if isinstance(out, np.ndarray) else np.asarray(out),)
        return tuple(o if isinstance(o, np.ndarray) else np.asarray(o) for o in out)

    return link


def var_ranks(program):
    """Static ranks of the program's variables (``None`` when a variable's rank is unknown)."""
    return tuple(shape.ndims for _, shape in program.var_specs)


def build_chain(program, sig) -> Chain:
    """Plan, render and compile ``program`` for feed ranks ``sig``."""
    from . import codegen

    # variable reads alias the variable's storage where that is safe (no copy per step);
    # node indices are unchanged, so traces and introspection still name the original ops
    program = fuse.alias_reads(program)
    plan = fuse.plan(program, sig, var_ranks(program))
    source = codegen.render(program, plan, title=f"feed ranks {list(sig)}")
    module, path = jit.load(source)
    links = tuple(_make_link(program.nodes[st.node]) for st in plan.links)
    chain = Chain(plan, module, path, links)
    chain.needs_ctx = bool(plan.links) or bool(program.ref_slots)
    return chain


def signature(feed_values) -> tuple:
    """The L1 signature of a run: one rank per feed (dtypes are fixed by the program)."""
    return tuple(np.ndim(v) for v in feed_values)


def chain_for(program, sig, force):
    """The compiled chain for a signature, compiling per the tier policy; ``None``: interpret."""
    key = (program.key, sig)
    chain = jit.peek(key)
    if chain is None:
        if not force:
            n = _counts.get(key, 0) + 1
            _counts[key] = n  # racy by design: at worst one extra interpreted run
            if n < config.get().compile_after:
                return None
        chain = jit.get_or_build(key, lambda: build_chain(program, sig))
    return chain if isinstance(chain, Chain) else None


def execute(session, program, feed_values, ctx, interpret=run_program):
    """Run ``program`` (the body of ``BaseSession._execute``); ``interpret`` is tier 0."""
    cfg = config.get()
    if (
        cfg.disable_jit
        or ctx.deadline is not None  # deadlines are checked per node by the interpreter
        or config.session_disables_jit(session._config)
    ):
        return interpret(program, feed_values, ctx)
    sig = signature(feed_values)
    chain = chain_for(program, sig, getattr(_tls, "force", False))
    if chain is None:
        return interpret(program, feed_values, ctx)
    args = [v[()] if r == 0 else cont(v) for v, r in zip(feed_values, sig)]
    run = chain.run_traced if ctx.trace is not None else chain.run
    try:
        outs = list(run(ctx, chain.links, chain.consts, *args))
    except Exception:
        reset(ctx)
        return interpret(program, feed_values, ctx)
    if ctx.trace is not None:
        _name_trace(ctx.trace, program, chain.plan)
    return outs


def _name_trace(trace, program, plan):
    """Turn the driver's ``(kind, index, t0, t1)`` records into step-stats entries.

    A segment gives one entry for itself plus one per fused op (sharing its time span), so
    tools looking for an op's name still find it.
    """
    segs = plan.segments
    raw = list(trace)
    trace.clear()
    t = raw[0][2] if raw else time.perf_counter()
    for i, node in enumerate(program.nodes):  # constants (incl. folded): listed as instant
        if any(s in plan.consts for s in node.outputs):
            trace.append((program.ops[i].name, node.op_type, t, t))
    for kind, idx, t0, t1 in raw:
        if kind == "segment":
            trace.append((f"graphjit/segment_{idx}", "FusedSegment", t0, t1))
            for i in segs[idx].nodes:
                trace.append((program.ops[i].name, program.nodes[i].op_type, t0, t1))
        else:
            trace.append((program.ops[idx].name, program.nodes[idx].op_type, t0, t1))


def reset(ctx) -> None:
    """Drop everything a failed compiled attempt staged, before the interpreter replays it."""
    ctx.staged.clear()
    ctx._handles_new.clear()
    ctx._handles_del.clear()
    if ctx.trace is not None:
        ctx.trace.clear()


# ------------------------------------------------------------------ introspection
def explain(session, fetches, feed_list=()):
    """Describe how ``session`` would run ``fetches`` fed with ``feed_list`` tensors.

    Compiles the chain if needed. Returns a dict: ``segments`` (one list of
    ``(op name, op type)`` per segment, with its regions), ``links`` (op name, type and the
    reason it is not fused), ``source`` (path of the generated file) or ``interpreter``
    (why no chain runs it).

    Examples
    --------
    >>> import graphjit.compat.v1 as tf
    >>> import graphjit
    >>> g = tf.Graph()
    >>> with g.as_default():
    ...     x = tf.placeholder(tf.float32, [None])
    ...     y = tf.exp(x) * 2.0
    >>> with tf.Session(graph=g) as sess:
    ...     info = graphjit.inspect_chain(sess, y, [x])
    >>> [op for op, _ in info["segments"][0]["ops"]]
    ['Exp', 'mul']
    """
    from .fetch import FetchMapper
    from .graph import Operation

    mapper = FetchMapper(session.graph, fetches)
    feeds = [session.graph.as_graph_element(f, allow_operation=False) for f in feed_list]
    fed = {id(t) for t in feeds}
    tensors = [e for e in mapper.elements if not isinstance(e, Operation) and id(e) not in fed]
    targets = [e for e in mapper.elements if isinstance(e, Operation)]
    program = session._program(tensors, targets, [(t,) for t in feeds])
    sig = tuple(t.shape.ndims for t in feeds)
    info = {"program": program.key[:16], "signature": sig, "segments": [], "links": []}
    if None in sig:
        info["interpreter"] = "a feed has unknown rank; the signature is known at run time"
        return info
    chain = jit.get_or_build((program.key, sig), lambda: build_chain(program, sig))
    if not isinstance(chain, Chain):
        info["interpreter"] = chain.reason
        return info
    ops = program.ops
    for st in chain.plan.steps:
        if isinstance(st, fuse.Segment):
            info["segments"].append(
                {
                    "ops": [(ops[i].name, ops[i].type) for i in st.nodes],
                    "regions": [[ops[i].name for i in rg.nodes] for rg in st.regions],
                }
            )
        else:
            info["links"].append((ops[st.node].name, ops[st.node].type, st.reason))
    info["source"] = str(chain.path)
    return info
