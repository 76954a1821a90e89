"""The L0 cache: an arity-specific ``make_callable`` fast path.

:func:`wrap` turns a :class:`~graphjit.callable.SessionCallable` into a plain function (what
TF1's ``make_callable`` returns too), whose state is a :class:`FastCallable`.
Its first call takes the slow path (the full Session contract) under
:func:`~graphjit.executor.forcing`, which compiles the chain (by default on a background
thread: the slow path keeps answering, interpreted, until the chain is in L1); once a slow
call finds the chain compiled, the callable *arms*: code is generated for exactly the feeds
it was compiled for and becomes the function's code (``fn.__code__``), checking each argument's
type, dtype, rank, C-contiguity, alignment and known static dimensions inline
(:func:`guard_lines`) and calling the compiled chain directly (:func:`chain_lines`: a chain
of one segment without context is called through the segment's compiled entry point, with
no driver and no numba type dispatch). Any other argument (lists, Python ints, other dtypes
or ranks, strided views, options) or a closed session takes the slow path, which coerces and
validates exactly as ``Session.run`` does; an error inside the chain is replayed by the
slow path too. ``run_memo`` generates its level-0 ``Session.run`` with the same helpers.
"""

from __future__ import annotations

import contextlib

import numpy as np

from . import config, executor, jit
from .graph import Operation, Tensor
from .interp import RunContext


class FastCallable:
    """The state behind the function ``Session.make_callable`` returns (see :func:`wrap`).

    Users hold the function, as TF1's ``make_callable`` returns a plain function: calling a
    function skips the type-slot dispatch of calling an instance (~0.25 us of a 1 us call).
    Arming replaces the function's code and defaults in place; :func:`disarm` restores them.
    """

    __slots__ = ("__weakref__", "_sc", "_tried", "fn", "slow_code")

    def __init__(self, sc):
        self._sc = sc
        self._tried = False
        self.fn = None
        self.slow_code = None

    def _slow(self, *args, **kwargs):
        # the armed code passes its unfilled parameters along (identity: `in` would
        # compare arrays elementwise)
        args = tuple(a for a in args if a is not _NA)
        with executor.forcing():
            out = self._sc(*args, **kwargs)
        if not self._tried and not kwargs:
            try:
                # False while the chain is still compiling in the background: retry next call
                self._tried = _arm(self, args) is not False
            except Exception:  # never let arming break a call that succeeded
                self._tried = True
        return out

    def _slow_extra(self, args, past, options, run_metadata):
        """An armed call with ``options`` / ``run_metadata`` or a positional argument
        ``past`` the feeds. ``options`` and ``run_metadata`` come by keyword unless ``past``
        was filled too (positional arguments fill parameters in order)."""
        if past is _NA:
            return self._slow(*args, options=options, run_metadata=run_metadata)
        extra = [v for v in (options, run_metadata) if v is not None]
        return self._slow(*args, past, *extra)  # the arity error


_NA = object()  # an argument not passed to an armed __call__


def wrap(sc):
    """The callable ``make_callable`` returns: a function that takes the slow path until it
    arms (for a ``SessionCallable`` with a feed list and no options), else ``sc``."""
    if sc._feed_list is None or sc._accept_options:
        return sc
    state = FastCallable(sc)
    ns = {"SLOW": state._slow}  # the function's globals; arming adds its constants
    exec("def __call__(*args, **kwargs):\n    return SLOW(*args, **kwargs)\n", ns)
    fn = ns["__call__"]
    fn.__name__ = fn.__qualname__ = "session_callable"
    fn.__doc__ = "Run the fetches of ``Session.make_callable`` with these feed values."
    fn.armed = False
    fn.state = state
    state.fn = fn
    state.slow_code = fn.__code__
    return fn


def _arm(fc, args):
    """Generate the fast ``__call__`` for the signature of ``args`` (after a good slow call)."""
    sc = fc._sc
    sess = sc._session
    cfg = config.get()
    if cfg.disable_jit or config.session_disables_jit(sess._config_pb):
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
    fn = fc.fn
    call = _generate(sess, program, chain, feeds, ranks, elements, positions, sc._mapper, fn)
    with sess._lock:
        if sess._closed:
            return
        # Session.close disarms it (the armed code does not test for a closed session)
        sess._armed.add(fc)
        fn.armed = True
        fn.__source__ = call.__source__
        fn.__defaults__ = call.__defaults__  # first: the slow code ignores them
        fn.__code__ = call.__code__


def disarm(fc) -> None:
    """Send every later call of an armed callable down the slow path (its session closed)."""
    fn = fc.fn
    fn.__code__ = fc.slow_code
    fn.__defaults__ = None
    fn.armed = False


def _generate(sess, program, chain, feeds, ranks, elements, positions, mapper, fn):
    """The armed ``__call__`` for this signature, compiled in ``fn``'s globals (which it
    fills with its constants): its code and defaults become ``fn``'s."""
    n = len(feeds)
    names = [f"a{i}" for i in range(n)]
    ns = fn.__globals__
    ns.update({"SESS": sess, "BUILD": mapper.build, "NA": _NA})
    ns["SLOW_EXTRA"] = fn.state._slow_extra
    slow = f"return SLOW({', '.join(names)})"
    # No *args / **kwargs: CPython then specializes the call (~0.15 us of a ~1 us call).
    # The feeds and `past` are positional-only with a default: a short call fails a guard
    # (NA is no feed value) and SLOW drops the NAs and raises the arity error; a long one
    # fills `past` (and perhaps options, run_metadata): SLOW_EXTRA's arity error; more
    # positional arguments, or an unknown keyword, are CPython's TypeError.
    params = "".join(f"{a}=NA, " for a in names) + "past=NA, /, "
    lines = [f"def __call__({params}options=None, run_metadata=None):"]
    lines.append("    if past is not NA or options is not None or run_metadata is not None:")
    given = "".join(a + ", " for a in names)
    lines.append(f"        return SLOW_EXTRA(({given}), past, options, run_metadata)")
    passed, shapes = [], []
    dims_list = [t.shape.as_list() if t.shape.ndims is not None else None for t in feeds]
    light = dispatch_checks(program, chain, ranks, dims_list)
    for i, (t, r) in enumerate(zip(feeds, ranks)):
        arg, shape = guard_lines(lines, ns, names[i], i, t.dtype.np, r, dims_list[i], slow, light)
        passed.append(arg)
        shapes.append(shape)
    results, _ = chain_lines(lines, ns, sess, program, chain, passed, shapes, slow, light)
    if mapper.single and len(elements) == 1 and positions == [0]:
        lines.append(f"    return {results[0]}")
    else:
        fill = ["None"] * len(elements)
        for k, p in enumerate(positions):
            fill[p] = results[k]
        lines.append(f"    return BUILD([{', '.join(fill)}])")
    return compile_function(lines, ns, f"<graphjit fastcall {program.key[:12]}>")


def compile_function(lines, ns, filename):
    """Exec the generated source ``lines`` in ``ns``; the function keeps it as ``__source__``."""
    src = "\n".join(lines) + "\n"
    exec(compile(src, filename, "exec"), ns)
    fn = ns[lines[0].split()[1].split("(")[0]]
    fn.__source__ = src
    return fn


# Python's flags.num bits for a C-contiguous, aligned array: what a segment compiled for
# ``Array(dt, rank, 'C')`` (aligned) may assume, as numba's typeof would check it
_C_ALIGNED = 0x1 | 0x100


def _static_shape(rank, dims):
    """The shape a guard pins for an array feed: the placeholder's, when fully known."""
    if dims is not None and len(dims) == rank and None not in dims:
        return tuple(dims)
    return None


def guard_lines(lines, ns, a, i, dtype, rank, dims, fail, light=False):
    """Append the checks of fed value ``a`` (feed ``i``) to ``lines``.

    Returns ``(expression passed to the chain, static shape the checks pin or None)``.
    ``fail`` is the statement run for a value the chain may not be called with: anything
    but an aligned C-contiguous ndarray of exactly ``dtype`` and ``rank`` (with the
    placeholder's known dimensions ``dims``), or for rank 0 a numpy scalar of ``dtype``, a
    Python float (float feeds) or bool (bool feeds).

    ``light``: the value goes straight into one compiled segment through numba's
    dispatcher, which checks dtype, rank, layout and alignment itself (in C, ~30 ns an
    argument against ~120 ns for the same tests in Python) and raises ``TypeError`` on a
    mismatch, which sends the call down the slow path. Only the exact type and the
    placeholder's static dimensions are checked here.
    """
    dt = np.dtype(dtype)
    ns["ND"] = np.ndarray
    ns[f"D{i}"] = dt
    if rank and light:
        shape = _static_shape(rank, dims)
        conds = [f"type({a}) is ND"]
        if shape is not None:
            conds.append(f"len({a}) == {shape[0]}" if rank == 1 else f"{a}.shape == {shape!r}")
        elif dims is not None:
            conds += [f"{a}.shape[{k}] == {d}" for k, d in enumerate(dims) if d is not None]
        lines.append("    try:  # len() and shape[k] raise on a 0-d array")
        lines.append(f"        ok = {' and '.join(conds)}")
        lines.append("    except Exception:")
        lines.append("        ok = False")
        lines.append("    if not ok:")
        lines.append(f"        {fail}")
        return a, shape
    if rank:
        conds = [f"type({a}) is ND", f"{a}.dtype is D{i}"]
        shape = _static_shape(rank, dims)
        if shape is not None:
            conds.append(f"{a}.shape == {shape!r}")
        else:
            conds.append(f"{a}.ndim == {rank}")
            if dims is not None:
                conds += [f"{a}.shape[{k}] == {d}" for k, d in enumerate(dims) if d is not None]
        # flags.carray (C-contiguous, aligned, writeable) is one attribute; read-only arrays
        # take the second test
        conds.append(f"({a}.flags.carray or {a}.flags.num & {_C_ALIGNED} == {_C_ALIGNED})")
        lines.append(f"    if not ({' and '.join(conds)}):")
        lines.append(f"        {fail}")
        return a, shape
    ns[f"S{i}"] = dt.type
    alts = [f"type({a}) is S{i}"]
    if dt.kind == "f":
        alts.append(f"type({a}) is float")
    elif dt.kind == "b":
        alts.append(f"type({a}) is bool")
    conds = [f"type({a}) is ND", f"{a}.dtype is D{i}", f"{a}.ndim == 0"]
    lines.append(f"    if {' or '.join(alts)}:")
    lines.append(f"        x{i} = {a}")
    lines.append(f"    elif {' and '.join(conds)}:")
    lines.append(f"        x{i} = {a}[()]")
    lines.append("    else:")
    lines.append(f"        {fail}")
    return f"x{i}", ()


def needs_ctx(chain) -> bool:
    """Whether the chain's driver uses its run context: links, variable reads, and
    variables updated in place through ``var_buffer(ctx, ...)`` (``Chain.needs_ctx``)."""
    return bool(chain.needs_ctx)


def dispatch_checks(program, chain, ranks, dims_list) -> bool:
    """Whether the generated call is one segment called through numba's dispatcher, which
    then checks the fed arrays (``guard_lines(light=True)``); ``dims_list``: each feed's
    static dimensions (``None``: unknown rank)."""
    if not any(ranks):
        return False  # scalars: the Python checks are cheap and the entry point is faster
    args, shapes = [], []
    for i, (r, dims) in enumerate(zip(ranks, dims_list)):
        args.append(f"a{i}" if r else f"x{i}")
        shapes.append(_static_shape(r, dims) if r else ())
    return _inline(program, chain, args, shapes, {}) is not None


def chain_lines(lines, ns, sess, program, chain, args, shapes, fail, light=False):
    """Append a run of ``chain`` on ``args`` to ``lines`` (the body of a generated function).

    ``args`` are the expressions of the fed values in ``program.feed_slots`` order, checked
    by :func:`guard_lines` (``shapes``: the static shapes it pinned); the generated code
    names the session ``SESS``. ``fail`` runs when the chain raises (nothing committed) or
    the session was closed before the commit. Returns ``(expressions of the fetched values,
    inlined)``: a chain of one segment without context is called without its driver
    (:func:`_inline`); any other runs the driver, as ``executor.execute`` does, with a
    :class:`RunContext` committed under the session's locks when it needs one.
    """
    with_ctx = needs_ctx(chain)
    inline = None if with_ctx else _inline(program, chain, args, shapes, ns, light)
    if inline is not None:
        body, results = inline
        lines.append("    try:")
        lines += [f"        {x}" for x in body]
        lines.append("    except Exception:")
        lines.append(f"        {fail}")
        return results, True
    ns.update(RUN=chain.run, LINKS=chain.links, CONSTS=chain.consts)
    ctx = "ctx" if with_ctx else "None"
    call = f"RUN({ctx}, LINKS, CONSTS{''.join(', ' + a for a in args)})"
    results = [f"outs[{k}]" for k in range(len(program.fetch_slots))]
    if not with_ctx:
        lines += ["    try:", f"        outs = {call}", "    except Exception:", f"        {fail}"]
        return results, False
    # the same state lock Session.run holds for a program that writes variables
    lock = getattr(sess, "_state_lock_for", None)
    ns["LOCK"] = lock(program) if lock is not None else contextlib.nullcontext()
    ns.update(PROG=program, RunContext=RunContext)
    lines.append("    ctx = RunContext(SESS, PROG)")
    lines.append("    with LOCK:")
    lines.append("        try:")
    lines.append(f"            outs = {call}")
    lines.append("        except Exception:")
    lines.append("            outs = None")
    lines.append("        if outs is not None:")
    lines.append("            with SESS._lock:")
    lines.append("                if SESS._closed:")
    lines.append("                    outs = None")
    lines.append("                else:")
    lines.append("                    ctx.commit()")
    lines.append("    if outs is None:")
    lines.append(f"        {fail}")
    return results, False


def _inline(program, chain, args, shapes, ns, light=False):
    """``(statements, fetch expressions)`` doing what the driver of a one-segment chain does.

    The segment's compiled entry point is called directly: the guards already checked
    every argument as numba's dispatcher would (type, dtype, rank, C layout, alignment), so
    its type dispatch (~0.15 us) and the driver's frame and tuple are saved. Constants are
    bound once; output buffers of statically known shape are allocated without ``bshape``.
    ``None`` for anything else (links, variables, several segments, constant or fed fetches).
    """
    from .codegen_segment import driver_outputs
    from .executor import bshape
    from .fuse import Segment

    plan = chain.plan
    if needs_ctx(chain) or len(plan.steps) != 1 or not isinstance(plan.steps[0], Segment):
        return None
    st = plan.steps[0]
    seg = getattr(chain.module, f"seg{st.index}", None)
    overloads = list(getattr(seg, "overloads", {}).values())
    if len(overloads) != 1:
        return None
    local = {"SEG": overloads[0].entry_point, "SEGD": seg, "EMPTY": np.empty, "BSHAPE": bshape}
    feed_of = {s: i for i, s in enumerate(program.feed_slots)}
    argv, shape_of = [], {}
    for s in st.inputs:
        if s in plan.consts:
            c = plan.consts[s]
            local[f"C{s}"] = c[()] if c.ndim == 0 else c
            argv.append(f"C{s}")
            shape_of[s] = (c.shape, f"C{s}.shape")
        elif s in feed_of:
            k = feed_of[s]
            argv.append(args[k])
            shape_of[s] = (shapes[k], f"{args[k]}.shape")
        else:
            return None
    body = []
    given = driver_outputs(program, plan, st)
    for o, sup in given.items():
        if sup[0] == "var":
            return None
        dt = np.dtype(plan.dtypes[o])
        local[f"T{o}"] = dt
        known = [shape_of[x][0] for x in sup]
        if None not in known:
            try:
                local[f"H{o}"] = bshape(*known)
            except ValueError:
                return None  # the driver raises on every call: leave that to it
            body.append(f"o{o} = EMPTY(H{o}, T{o})")
        else:
            body.append(f"o{o} = EMPTY(BSHAPE({', '.join(shape_of[x][1] for x in sup)}), T{o})")
        argv.append(f"o{o}")
    rets = [s for s in st.outputs if s not in given]
    results = []
    for s in program.fetch_slots:
        if s in given:
            results.append(f"o{s}")
        elif s in rets:
            k = rets.index(s)
            rk = "r" if len(rets) == 1 else f"r[{k}]"  # one value comes back bare
            if plan.ranks[s]:
                results.append(rk)
                continue
            dt = np.dtype(plan.dtypes[s])
            if dt.kind == "f":
                # 1 * x is x exactly (x is a value of dtype dt): numpy's scalar multiply with
                # a Python float gives dt's scalar in a third of np.float32(x)'s time
                local[f"U{s}"] = dt.type(1)
                results.append(f"U{s} * {rk}")
            else:
                local[f"U{s}"] = dt.type
                results.append(f"U{s}({rk})")
        else:
            return None
    seg_call = "SEGD" if light else "SEG"  # light guards: the dispatcher checks the arrays
    body.append(f"{'r = ' if rets else ''}{seg_call}({', '.join(argv)})")
    ns.update(local)
    return body, results
