"""How a Session runs a Program: the numpy interpreter or a compiled kernel chain.

Tier policy (see ``docs/jit.md``): ``Session.run`` answers the first run of a
``(program, signature)`` with the interpreter and compiles on the ``compile_after``-th run
(default 2); ``make_callable`` compiles on its first call (:func:`forcing`). By default the
compile runs on a background thread and the interpreter answers until the chain is ready
(``GRAPHJIT_COMPILE=sync``: the due run compiles and waits). A compiled chain
is shared by every session and program with the same structural key and signature (L1).

Correctness rule: compiled code never writes session state and never raises TF errors itself.
State changes happen in driver links through the run context (staged, committed by the
session only after the whole run succeeded). If anything inside a chain raises, the run is
replayed from scratch by the interpreter, which raises TF's exact error class and message.
"""

from __future__ import annotations

import contextlib
import functools
import threading
import time

import numpy as np

from . import config, jit
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
    for b in shapes[1:]:
        if b != first:
            first = _bshape2(first, b)
    return first


def _bshape2(first, b):
    """Two shapes broadcast without numpy's general machinery (numpy's error on mismatch)."""
    n, m = len(first), len(b)
    if m < n and first[n - m :] == b:  # a trailing-shape operand (a bias row)
        return first
    if n < m and b[m - n :] == first:
        return b
    if n == m:  # same rank: dimension by dimension
        out = []
        for x, y in zip(first, b):
            if x == y or y == 1:
                out.append(x)
            elif x == 1:
                out.append(y)
            else:
                return np.broadcast_shapes(first, b)  # raises numpy's error
        return tuple(out)
    return np.broadcast_shapes(first, b)


def _in_place_ok(v, dtype) -> bool:
    """Storage a segment may write in place: a writable C-contiguous array of ``dtype``."""
    return (
        type(v) is np.ndarray and v.dtype == dtype and v.flags.c_contiguous and v.flags.writeable
    )


def var_buffer(ctx, var, dtype):
    """The session's storage of variable ``var``, to be updated in place by the tail segment.

    Raises (so the interpreter replays the run with staged writes) when the variable is
    uninitialised, has a staged write, or holds another dtype; storage that is not a writable
    C-contiguous ndarray (a numpy scalar, a read-only or strided array) is replaced by an
    equal one that is, once.
    """
    if not (ctx.staged or ctx.patches):  # the steady state: one lookup, no copies
        v = ctx.session._vars.get(ctx.names[var])
        if _in_place_ok(v, dtype):
            return v
    v = ctx.read_var(var)
    name = ctx.names[var]
    if (
        ctx.staged
        or ctx.patches
        or ctx.session._vars.get(name) is not v
        or np.asarray(v).dtype != dtype
    ):
        raise ValueError("variable storage cannot be updated in place")
    if type(v) is not np.ndarray or not v.flags.c_contiguous or not v.flags.writeable:
        # e.g. a numpy scalar an interpreted run committed to a rank-0 variable: the same
        # value in a writable C array from now on (the caller holds the session's state lock)
        v = np.array(v, dtype=dtype, order="C")
        ctx.session._vars[name] = v
    return v


def var_buffers(ctx, vars, dtype):
    """:func:`var_buffer` of several variables of one dtype: one call per segment (an Adam
    step updates three buffers per parameter)."""
    if not (ctx.staged or ctx.patches):
        get, names = ctx.session._vars.get, ctx.names
        out = []
        for var in vars:
            v = get(names[var])
            out.append(v if _in_place_ok(v, dtype) else var_buffer(ctx, var, dtype))
        return out
    return [var_buffer(ctx, var, dtype) for var in vars]


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

    __slots__ = (
        "consts",
        "links",
        "module",
        "needs_ctx",
        "nodes",
        "ops",
        "path",
        "plan",
        "ran",
        "run",
        "run_traced",
    )

    def __init__(self, plan, module, path, links, planned=None):
        self.plan = plan
        # the program as planned (reordered and rewritten, see _reorder): plan node k is
        # ops[k] / nodes[k]; None when the plan's program is the session's
        self.ops = None if planned is None else planned.ops
        self.nodes = None if planned is None else planned.nodes
        self.module = module
        self.path = path
        self.run = module.run
        self.run_traced = module.run_traced
        self.consts = tuple(plan.consts[s] for s in sorted(plan.consts))
        self.links = links
        self.needs_ctx = None  # filled by build_chain
        self.ran = None  # a provisional llvmlite chain: an Event set when it has run


def _make_link(node):
    """A driver link: ``link(ctx, *arrays) -> tuple of outputs`` from the registry entry."""
    opdef = node.opdef
    attrs = dict(node.attrs)
    nout = len(node.outputs)
    if opdef.uses_ctx:

        def link(ctx, *args):
            return _as_arrays(opdef.numpy(ctx, node, *args, **attrs), nout)

        return link
    if opdef.kernel == "matmul" and nout == 1:
        from .kernels_blas import matmul_link

        return matmul_link(**attrs)
    fn = opdef.numpy
    if opdef.kernel is not None:
        from . import kernels_rows  # no numba (its row loops may come from a native module)

        k = opdef.kernel
        fn = getattr(kernels_rows, k, None)
        if fn is None:
            from . import kernels, kernels_conv

            fn = getattr(kernels, k, None) or getattr(kernels_conv, k, None) or opdef.numpy
    ndarray, asarray = np.ndarray, np.asarray
    if nout == 1:  # one closure level: view links (Shape, Reshape) run every step

        def link(ctx, *args):
            out = fn(*args, **attrs)
            return (out if type(out) is ndarray else asarray(out),)

    else:

        def link(ctx, *args):
            return _as_arrays(fn(*args, **attrs), nout)

    return link


def _as_arrays(out, nout):
    """A link kernel's result as a tuple of ndarrays."""
    if nout == 1:
        return (out if isinstance(out, np.ndarray) else np.asarray(out),)
    return tuple(o if isinstance(o, np.ndarray) else np.asarray(o) for o in out)


def var_ranks(program):
    """Static ranks of the program's variables (``None`` when a variable's rank is unknown)."""
    return tuple(shape.ndims for _, shape in program.var_specs)


def build_chain(program, sig, native=False, llvm=None) -> Chain | None:
    """Plan, render and compile ``program`` for feed ranks ``sig``.

    ``native``: only use the signature's native module (:mod:`graphjit.native`); ``None``
    when there is none. The chain is then *provisional*: it runs until the numba chain of
    the same key is in L1, and callables do not arm on it. ``llvm``: compile the segments
    with llvmlite directly (:mod:`graphjit.llvm_tier`): ``"light"`` (a provisional chain,
    optimised for compile time) or ``"full"``; ``None`` when the lowering does not cover them.
    """
    from . import codegen, fuse  # (not at import: the first, interpreted run needs neither)

    # rewrites (_reorder), then variable reads aliased to the variable's storage where that
    # is safe (no copy per step); the chain keeps the planned ops, so traces and
    # introspection name the ops the plan runs
    original = program
    program, _ = _reorder(program)
    program = fuse.alias_reads(program)
    plan = fuse.plan(program, sig, var_ranks(program))
    source = codegen.render(program, plan, title=f"feed ranks {list(sig)}")
    if native or llvm:
        if native:
            loaded = jit.load_native(source)
        else:
            loaded = jit.load_llvm(source, light=llvm == "light")
        if loaded is None:
            return None
        module, path = loaded
    else:
        module, path = jit.load(source, native_build=True)
    links = tuple(_make_link(program.nodes[st.node]) for st in plan.links)
    if llvm:  # compile the links' row loops here too (a compile thread), not at their first run
        from . import kernels_rows

        for st in plan.links:
            node = program.nodes[st.node]
            if node.opdef.kernel is not None:
                kernels_rows.warm(node.opdef.kernel, [plan.dtypes[s] for s in node.inputs])
    chain = Chain(plan, module, path, links, None if program is original else program)
    chain.needs_ctx = bool(plan.links) or bool(program.ref_slots) or bool(plan.inplace)
    return chain


def _reorder(program):
    """``(program, order)`` after ``fuse.bias_xent`` (a cross-entropy takes its bias add),
    ``fuse.sum_to_shape`` (one link per run-time unbroadcast), ``fuse.cluster`` (fewer,
    longer segments) then ``fuse.writes_last`` (state writes last); ``order[k]``: original
    index of node ``k`` (``None``: unchanged)."""
    from . import fuse

    order = None
    for rewrite in (fuse.bias_xent, fuse.sum_to_shape, fuse.cluster, fuse.writes_last):
        program, step = rewrite(program)
        if step is not None:
            order = step if order is None else tuple(order[k] for k in step)
    return program, order


def signature(feed_values) -> tuple:
    """The L1 signature of a run: one rank per feed (dtypes are fixed by the program)."""
    return tuple(np.ndim(v) for v in feed_values)


def chain_for(program, sig, force, deferred=None):
    """The compiled chain for a signature, compiling per the tier policy; ``None``: interpret.

    In ``background`` mode (the default) a cold signature that is due for compilation is
    handed to a compile thread and this run is interpreted; later runs pick the chain up
    as soon as it is in L1. With ``deferred`` (a list), the thread's start is appended to it
    instead, for the caller to run once the interpreter has answered (the compile thread
    would otherwise compete with this run for the GIL). In ``sync`` mode the due run
    compiles and waits.
    """
    key = (program.key, sig)
    chain = jit.peek(key)
    if chain is None:
        cfg = config.get()
        if not force:
            n = _counts.get(key, 0) + 1
            _counts[key] = n  # racy by design: at worst one extra interpreted run
            if n < cfg.compile_after:
                return None
        if cfg.compile_mode == "background":
            start = functools.partial(jit.build_in_background, key, _builder(key, program, sig))
            if deferred is None:
                start()
            else:
                deferred.append(start)
            return _provisional_chain(key, program, sig, cfg)
        chain = jit.get_or_build(key, _builder(key, program, sig))
    if isinstance(chain, Chain):
        return chain
    # numba could not compile it (Uncompilable): a provisional chain keeps answering
    return jit.NATIVE_CHAINS.get(key) or None


def _builder(key, program, sig, provisional=True):
    """What builds ``key``'s L1 chain, per ``config.llvm`` (see :mod:`graphjit.llvm_tier`).

    ``only``: llvmlite's full chain, numba's where the lowering does not cover the program.
    ``on`` in background mode: first llvmlite's provisional chain (unless a native module
    answers already), which the executor uses at once, then numba's.
    """
    mode = config.get().llvm

    def build():
        if mode == "only":
            return _llvm_chain(program, sig, "full") or build_chain(program, sig)
        if provisional and mode == "on" and config.get().compile_mode == "background":
            if not jit.NATIVE_CHAINS.get(key):
                chain = _llvm_chain(program, sig, "light")
                if chain is not None:
                    chain.ran = threading.Event()
                    jit.set_provisional(key, chain)
                    # let its first run go before numba's import competes for the GIL
                    chain.ran.wait(0.25)
                    numba_chain = build_chain(program, sig)
                    from . import kernels_rows

                    try:
                        kernels_rows.prefer_numba()  # its links' row loops too
                    except Exception:  # llvmlite's row loops stay: they are correct
                        pass
                    return numba_chain
        return build_chain(program, sig)

    return build


def _llvm_chain(program, sig, kind):
    """llvmlite's chain or ``None`` (never fatal: numba or the interpreter runs it)."""
    try:
        return build_chain(program, sig, llvm=kind)
    except Exception as e:  # a bug in the lowering: say so, numba compiles the chain
        import logging

        jit.count_llvm_failure()
        logging.getLogger("graphjit.jit").warning(
            "graphjit: llvm tier failed (%s: %s); numba compiles the chain",
            type(e).__name__,
            e,
            exc_info=config.get().debug,
        )
        return None


def _provisional_chain(key, program, sig, cfg):
    """The provisional chain of ``key`` (a native module's or llvmlite's), or ``None``.

    A native module is looked up once per key and process (rendering the source costs
    milliseconds); llvmlite's chain is put there by the compile thread (:func:`_builder`).
    numba's chain replaces either in L1 when the background compile thread has loaded it.
    """
    chain = jit.NATIVE_CHAINS.get(key)
    if chain is None and cfg.native != "off":
        from . import native

        try:
            # no kernels module, no native modules: skip rendering (a cold cache's first run)
            chain = (native.available() and build_chain(program, sig, native=True)) or False
        except Exception:  # never fatal: the interpreter runs until numba's chain is ready
            chain = False
        chain = jit.NATIVE_CHAINS.setdefault(key, chain)
    return chain or None


def execute(session, program, feed_values, ctx, interpret=run_program):
    """Run ``program`` (the body of ``BaseSession._execute``); ``interpret`` is tier 0."""
    cfg = config.get()
    if (
        cfg.disable_jit
        or ctx.deadline is not None  # deadlines are checked per node by the interpreter
        or config.session_disables_jit(session._config_pb)
    ):
        return interpret(program, feed_values, ctx)
    sig = signature(feed_values)
    deferred: list = []
    chain = chain_for(program, sig, getattr(_tls, "force", False), deferred)
    # a compile this run started begins after it answers (interpreted, or from a native
    # chain): the compile thread would otherwise compete with this run for the GIL
    try:
        if chain is None:
            return interpret(program, feed_values, ctx)
        return _run_chain(chain, program, feed_values, sig, ctx, interpret)
    finally:
        for start in deferred:
            start()


def _run_chain(chain, program, feed_values, sig, ctx, interpret):
    args = [v[()] if r == 0 else cont(v) for v, r in zip(feed_values, sig)]
    run = chain.run_traced if ctx.trace is not None else chain.run
    try:
        outs = list(run(ctx, chain.links, chain.consts, *args))
    except Exception:
        if config.get().debug:
            _log_fallback(chain)
        reset(ctx)
        return interpret(program, feed_values, ctx)
    finally:
        if chain.ran is not None:
            chain.ran.set()
    if ctx.trace is not None:
        _name_trace(ctx.trace, program, chain)
    return outs


def _log_fallback(chain) -> None:
    """``GRAPHJIT_DEBUG=1``: say why a chain's run was handed to the interpreter."""
    import logging

    logging.getLogger("graphjit.jit").warning(
        "graphjit: chain %s raised; the interpreter reruns it", chain.path, exc_info=True
    )


def _pure(program) -> bool:
    """No node that writes state, draws random numbers or needs the run context."""
    return not any(n.opdef.stateful or n.opdef.uses_ctx for n in program.nodes)


def may_compile_sub(ctx, *programs) -> bool:
    """Whether control-flow sub-programs may run compiled in this run: the JIT is on, the
    run has no deadline or trace (the interpreter checks those per node), and every
    program is pure."""
    return not (
        config.get().disable_jit
        or ctx.deadline is not None
        or ctx.trace is not None
        or config.session_disables_jit(ctx.session._config_pb)
    ) and all(_pure(p) for p in programs)


def run_sub(program, feed_values, ctx):
    """Run a control-flow sub-program (a ``while_loop`` cond or body) once, compiled if it can.

    Pure sub-programs (no state writes, random ops or context ops; variable reads are fine)
    use the compiled chain of their signature, compiled per the tier policy as if forced
    (in background mode the interpreter runs the iterations until the chain is ready), so a
    loop's iterations run as compiled code. Anything else, a deadline, a trace, or an
    exception inside the chain runs the interpreter, which raises TF's errors.
    """
    if not may_compile_sub(ctx, program):
        return run_program(program, feed_values, ctx)
    sig = signature(feed_values)
    chain = chain_for(program, sig, True)
    if chain is None:
        return run_program(program, feed_values, ctx)
    args = [v[()] if r == 0 else cont(v) for v, r in zip(feed_values, sig)]
    try:
        return list(chain.run(ctx, chain.links, chain.consts, *args))
    except Exception:
        return run_program(program, feed_values, ctx)


def _in_plan_order(program, chain):
    """``(ops, nodes)`` of ``program`` indexed like ``chain.plan`` (see ``Chain.ops``)."""
    if chain.nodes is None:
        return program.ops, program.nodes
    return chain.ops, chain.nodes


def _name_trace(trace, program, chain):
    """Turn the driver's ``(kind, index, t0, t1)`` records into step-stats entries.

    A segment gives one entry for itself plus one per fused op (sharing its time span), so
    tools looking for an op's name still find it.
    """
    plan = chain.plan
    ops, nodes = _in_plan_order(program, chain)
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
                trace.append((ops[i].name, nodes[i].op_type, t0, t1))
        else:
            trace.append((ops[idx].name, nodes[idx].op_type, t0, t1))


def reset(ctx) -> None:
    """Drop everything a failed compiled attempt staged, before the interpreter replays it."""
    ctx.staged.clear()
    ctx.patches.clear()
    ctx._handles_new.clear()
    ctx._handles_del.clear()
    if ctx.trace is not None:
        ctx.trace.clear()


# ------------------------------------------------------------------ introspection
def explain(session, fetches, feed_list=()):
    """Describe how ``session`` would run ``fetches`` fed with ``feed_list`` tensors.

    Compiles the chain if needed. Returns a dict: ``segments`` (one list of
    ``(op name, op type)`` per segment, with its regions), ``links`` (op name, type and the
    reason it is not fused), ``fallback`` (names of the links that compute data with the op's
    numpy kernel: neither a library kernel such as MatMul's nor a view or shape op such as
    Reshape), ``source`` (path of the generated file) and ``compiler`` (``"numba"``, or
    ``"llvmlite"`` with ``GRAPHJIT_LLVM=only``), or ``interpreter`` (why no chain runs it).

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
    info = {
        "program": program.key[:16],
        "signature": sig,
        "segments": [],
        "links": [],
        "fallback": [],
    }
    if None in sig:
        info["interpreter"] = "a feed has unknown rank; the signature is known at run time"
        return info
    key = (program.key, sig)
    chain = jit.get_or_build(key, _builder(key, program, sig, provisional=False))
    if not isinstance(chain, Chain):
        info["interpreter"] = chain.reason
        return info
    from . import fuse

    ops, nodes = _in_plan_order(program, chain)
    for st in chain.plan.steps:
        if isinstance(st, fuse.Segment):
            info["segments"].append(
                {
                    "ops": [(ops[i].name, ops[i].type) for i in st.nodes],
                    "regions": [[ops[i].name for i in rg.nodes] for rg in st.regions],
                }
            )
        else:
            node = nodes[st.node]  # its type may differ from the op's (fuse.sum_to_shape)
            info["links"].append((ops[st.node].name, node.op_type, st.reason))
            if node.opdef.kernel is None and node.op_type not in fuse.VIEW_OPS:
                info["fallback"].append(ops[st.node].name)
    info["source"] = str(chain.path)
    info["compiler"] = _compiler_of(chain)
    return info


def _compiler_of(chain) -> str:
    """Which compiler produced ``chain``'s segments: ``"numba"``, ``"llvmlite"`` (see
    :mod:`graphjit.llvm_tier`) or ``"native"`` (a native module, :mod:`graphjit.native`)."""
    mod = chain.module
    if getattr(mod, "LLVM", None):
        return "llvmlite"
    if getattr(mod, "NATIVE", None):
        return "native"
    return "numba"
