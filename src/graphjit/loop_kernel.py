"""``tf.while_loop`` compiled as one loop inside one kernel.

When a loop's condition and body are each a pure program that compiles to a single segment
with no links (no library kernels, variable reads or context ops), :func:`run_loop` runs the
whole loop in one numba function: the condition's and the body's segment functions are
rendered into one module next to a ``loop`` function that calls them until the condition
fails or ``maximum_iterations`` is reached, checking the loop variables' shape invariants on
every iteration. No Python runs between iterations.

Anything else -- a loop that does not qualify, a compile failure, an exception inside the
kernel (a shape invariant, a broadcast error) -- returns ``None`` and the caller runs the
iterations itself (``executor.run_sub`` per iteration, or the interpreter), which also
raises TF's error classes. Loop bodies are pure, so running them again is harmless.
"""

from __future__ import annotations

import numpy as np

from . import config, jit


class _Loop:
    """A compiled loop: the module's ``loop`` function and the constants it is called with."""

    __slots__ = ("consts", "fn", "path")

    def __init__(self, fn, consts, path):
        self.fn = fn
        self.consts = consts
        self.path = path


def run_loop(cond_prog, body_prog, vals, caps, limit, shapes, ctx):
    """The loop's final values (a list of arrays), or ``None``: the caller iterates."""
    from .executor import may_compile_sub, signature

    if (
        not may_compile_sub(ctx, cond_prog, body_prog)
        or cond_prog.ref_slots
        or body_prog.ref_slots
    ):
        return None
    cfg = config.get()
    feeds = list(vals) + list(caps)
    sig = signature(feeds)
    key = ("while", cond_prog.key, body_prog.key, sig, tuple(str(s) for s in shapes))
    entry = jit.peek(key)
    if entry is None:
        if cfg.compile_mode == "background":
            jit.build_in_background(key, lambda: _build(cond_prog, body_prog, sig, shapes))
            return None
        entry = jit.get_or_build(key, lambda: _build(cond_prog, body_prog, sig, shapes))
    if not isinstance(entry, _Loop):
        return None
    # writable C copies: the loop function is compiled for mutable C arrays (the body's
    # fresh arrays have that type, so the loop variables keep one numba type)
    args = [v[()] if np.ndim(v) == 0 else np.array(v, order="C") for v in feeds]
    try:
        out = entry.fn(-1 if limit is None else int(limit), *args, *entry.consts)
    except Exception:
        return None
    dts = [np.asarray(v).dtype for v in vals]
    return [np.asarray(o, dtype=dt) for o, dt in zip(out, dts)]


def _single_segment(program, sig):
    """``(program, plan, segment)`` for a program that is one segment, else ``ValueError``."""
    from . import fuse
    from .executor import _reorder

    program, _ = _reorder(program)
    plan = fuse.plan(program, sig, ())
    steps = plan.steps
    if len(steps) != 1 or not isinstance(steps[0], fuse.Segment):
        raise jit.NotEligible("the loop's condition or body is not one compiled segment")
    return program, plan, steps[0]


def _build(cond_prog, body_prog, sig, shapes):
    """Render, load and return the :class:`_Loop` (raises when the loop does not qualify)."""
    source, consts = render(cond_prog, body_prog, sig, shapes)
    module, path = jit.load(source)
    return _Loop(module.loop, consts, path)


def render(cond_prog, body_prog, sig, shapes):
    """``(source, constants)``: the module with ``cseg``, ``bseg`` and ``loop``."""
    from .codegen import IMPORTS
    from .codegen_exprs import numba_type
    from .codegen_segment import SegmentWriter

    n = len(shapes)
    parts, consts, const_types, calls = [], [], [], {}
    for tag, prog in (("c", cond_prog), ("b", body_prog)):
        program, plan, seg = _single_segment(prog, sig)
        writer = SegmentWriter(program, plan, seg)
        writer.given = {}  # outputs are allocated inside (no driver around the loop)
        text = writer.render().replace(f"def seg{seg.index}(", f"def {tag}seg(", 1)
        parts.append(text)
        feed_of = {s: k for k, s in enumerate(program.feed_slots)}
        args = []
        for s in seg.inputs:
            if s in feed_of:
                args.append(f"v{feed_of[s]}")
            elif s in plan.consts:
                name = f"k{len(consts)}"
                c = plan.consts[s]
                consts.append(c[()] if c.ndim == 0 else np.array(c, order="C"))
                const_types.append(numba_type(c.dtype.name, c.ndim, writable=True))
                args.append(name)
            else:
                raise jit.NotEligible("a segment input is neither a loop value nor a constant")
        rets = list(seg.outputs)
        outs = []
        for s in program.fetch_slots:
            if s in rets:
                outs.append("r" if len(rets) == 1 else f"r[{rets.index(s)}]")
            elif s in feed_of:
                outs.append(f"v{feed_of[s]}")
            else:
                raise jit.NotEligible("a loop output is neither computed nor a loop value")
        calls[tag] = (args, outs)
    c_args, c_outs = calls["c"]
    b_args, b_outs = calls["b"]
    names = [f"v{k}" for k in range(len(sig))]
    feed_types = [
        numba_type(body_prog.slot_tensors[s].dtype.name, r, writable=True)
        for s, r in zip(body_prog.feed_slots, sig)
    ]
    # an explicit signature: compiled (or loaded) when the module loads, on the compile
    # thread in background mode, never inside a run
    types = ", ".join(["int64", *feed_types, *const_types])
    L = [
        f'@njit("({types})", cache=True, error_model="numpy", nogil=True)',
        f"def loop(limit, {', '.join(names + [f'k{j}' for j in range(len(consts))])}):",
        '    """The whole while_loop: condition and body until the condition fails."""',
        "    i = 0",
        "    while limit < 0 or i < limit:",
        f"        r = cseg({', '.join(c_args)})",
        f"        if not {c_outs[0]}:",
        "            break",
        f"        r = bseg({', '.join(b_args)})",
    ]
    L.append(f"        {', '.join(names[:n])}{',' if n == 1 else ''} = {', '.join(b_outs[:n])}")
    for k, shape in enumerate(shapes):  # the shape invariants, checked per iteration
        if shape.ndims:
            for d, size in enumerate(shape.as_list()):
                if size is not None:
                    L.append(f"        if v{k}.shape[{d}] != {size}:")
                    L.append('            raise ValueError("shape invariant")')
    L.append("        i += 1")
    L.append(f"    return ({', '.join(names[:n])}{',' if n == 1 else ''})")
    head = [
        "# graphjit generated module: a while_loop compiled as one kernel",
        f"# condition {cond_prog.key[:16]}, body {body_prog.key[:16]}, ranks {list(sig)}",
        *IMPORTS,
        "",
    ]
    return "\n".join(head) + "\n\n" + "\n\n\n".join([*parts, "\n".join(L)]) + "\n", consts
