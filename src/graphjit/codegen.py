"""Rendering a :class:`~graphjit.fuse.Plan` as one Python module (pure Python, no numba import).

The module holds one ``@njit`` function per segment (written by
:class:`~graphjit.codegen_segment.SegmentWriter`: explicit loops, scalars in locals, run-time
broadcasting) and two straight-line Python drivers, ``run`` and ``run_traced``, that call
``seg0 -> numpy link -> seg1`` in program order. Every emitted line names the op it came
from. Scalar expressions and numba types come from :mod:`graphjit.codegen_exprs`.
"""

from __future__ import annotations

from .codegen_exprs import ctor
from .codegen_segment import SegmentWriter, driver_outputs
from .fuse import Segment
from .native import MARKER

# what the segment functions of every generated module use
IMPORTS = (
    "import math  # noqa: F401",
    "",
    "import numpy as np",
    "from numba import njit",
    "",
    "from graphjit import kernels as _k  # noqa: F401",
    "from graphjit import mathlib as _m  # noqa: F401",
)


# ------------------------------------------------------------------ module + driver
# (the driver follows MARKER; graphjit.native runs it without the numba part above)


def render(program, plan, title="") -> str:
    """The whole generated module: segment functions plus the drivers ``run``/``run_traced``."""
    head = [
        f"# graphjit generated module: program {program.key[:16]}",
        f"# {title}" if title else "# (no title)",
        "# Do not edit: regenerated from the graph; content-addressed file name.",
        "import time",
        *IMPORTS,
        "from graphjit.executor import arr0, bshape, cont, own, var_buffer, var_buffers",
        "",
    ]
    parts = ["\n".join(head)]
    for st in plan.steps:
        if isinstance(st, Segment):
            parts.append(SegmentWriter(program, plan, st).render())
    parts.append(MARKER)
    parts.append(_driver(program, plan, traced=False))
    parts.append(_driver(program, plan, traced=True))
    return "\n\n\n".join(parts) + "\n"


def _driver(program, plan, traced):
    nodes, ops = program.nodes, program.ops
    ranks, dtypes = plan.ranks, plan.dtypes
    ref = dict(program.ref_slots)
    feeds = ", ".join(f"s{s}" for s in program.feed_slots)
    name = "run_traced" if traced else "run"
    L = [f"def {name}(ctx, links, consts{', ' if feeds else ''}{feeds}):"]
    L.append('    """The kernel chain: segments and numpy links in program order."""')
    const_index = {s: k for k, s in enumerate(sorted(plan.consts))}
    seg_of = {}
    for st in plan.steps:
        if isinstance(st, Segment):
            for i in st.nodes:
                for s in nodes[i].outputs:
                    seg_of[s] = st
    link_out = set()
    link_args = {}
    written = set()

    def seg_arg(s):
        if s in const_index:
            c = plan.consts[s]
            return f"consts[{const_index[s]}]" + ("[()]" if c.ndim == 0 else "")
        if s in ref:
            r = f"ctx.read_var({ref[s]})"
            return f"{r}[()]" if ranks[s] == 0 else f"cont({r})"
        if s in link_out:
            return f"arr0(s{s})[()]" if ranks[s] == 0 else f"cont(s{s})"
        return f"s{s}"

    def link_arg(s):
        if s in const_index:
            return f"consts[{const_index[s]}]"
        if s in ref:
            return f"ctx.read_var({ref[s]})"
        if s in link_out:
            return f"s{s}"
        return f"arr0(s{s}, {ctor(dtypes[s])})" if ranks[s] == 0 else f"s{s}"

    for st in plan.steps:
        if traced:
            L.append("    t0 = time.perf_counter()")
        if isinstance(st, Segment):
            given = driver_outputs(program, plan, st)
            rets = [s for s in st.outputs if s not in given]
            outs = ", ".join(f"s{s}" for s in rets)
            if given:
                need = {x for sup in given.values() if sup[0] != "var" for x in sup}
                # written in place: the session's own buffers, fetched first so that reads
                # of those variables in this segment pass the same (checked) array
                vbuf = {}
                by_dtype: dict = {}  # one var_buffers call per dtype (a step updates many)
                for o, sup in given.items():
                    if sup[0] == "var":
                        by_dtype.setdefault(dtypes[o], []).append((o, sup[1]))
                        vbuf[sup[1]] = f"s{o}[()]" if ranks[o] == 0 else f"s{o}"
                        written.add(o)
                for dt, group in by_dtype.items():
                    if len(group) == 1:
                        ((o, var),) = group
                        L.append(f"    s{o} = var_buffer(ctx, {var}, np.{dt})")
                    else:
                        outs_ = ", ".join(f"s{o}" for o, _ in group)
                        vars_ = ", ".join(str(v) for _, v in group)
                        L.append(f"    {outs_} = var_buffers(ctx, ({vars_}), np.{dt})")
                argv = []
                for s in st.inputs:
                    if s in ref and ref[s] in vbuf and ranks[s] is not None:
                        argv.append(vbuf[ref[s]])
                    elif s in need:
                        L.append(f"    a{s} = {seg_arg(s)}")
                        argv.append(f"a{s}")
                    else:
                        argv.append(seg_arg(s))
                shapes: dict = {}  # one bshape call per distinct support
                for o, sup in given.items():
                    if sup[0] == "var":
                        argv.append(f"s{o}")
                        continue
                    if len(sup) == 1:
                        shp = f"a{sup[0]}.shape"
                    elif sup in shapes:
                        shp = shapes[sup]
                    else:
                        shp = shapes[sup] = f"h{o}"
                        dims = ", ".join(f"a{x}.shape" for x in sup)
                        L.append(f"    h{o} = bshape({dims})")
                    L.append(f"    s{o} = np.empty({shp}, np.{dtypes[o]})")
                    argv.append(f"s{o}")
                args = ", ".join(argv)
            else:
                args = ", ".join(seg_arg(s) for s in st.inputs)
            lhs = outs if len(rets) == 1 else (f"{outs}," if rets else "_")
            L.append(
                f"    {lhs} = seg{st.index}({args})  # segment {st.index}: "
                + ", ".join(nodes[i].op_type for i in st.nodes[:8])
                + (" ..." if len(st.nodes) > 8 else "")
            )
            label = ("segment", st.index)  # named from the running program by the executor
        else:
            i = st.node
            node = nodes[i]
            edge = node.opdef.edge_inputs
            edge = len(node.inputs) if edge is None else edge(node.attrs)
            # gradient-edge inputs (variables a branch/body reads live) are never read
            args = ", ".join(
                ["ctx"]
                + [link_arg(s) if k < edge or s not in ref else "None"
                   for k, s in enumerate(node.inputs)]
            )  # fmt: skip
            outs = ", ".join(f"s{s}" for s in node.outputs)
            lhs = f"{outs}," if node.outputs else "_"
            L.append(
                f"    {lhs} = links[{plan.links.index(st)}]({args})  # link "
                f"{node.op_type} '{ops[i].name}': {st.reason}"
            )
            link_out.update(node.outputs)
            for s in node.outputs:
                ins = [link_arg(x) for x in node.inputs]
                link_args[s] = (
                    "None" if node.opdef.uses_ctx else f"({''.join(a + ', ' for a in ins)})"
                )
            label = ("link", i)
        if traced:
            L.append(
                f"    ctx.trace.append(({label[0]!r}, {label[1]!r}, t0, time.perf_counter()))"
            )
    rets = []
    for s in program.fetch_slots:
        if s in const_index:
            rets.append(f"own(consts[{const_index[s]}], None)")
        elif s in ref:
            rets.append(f"own(ctx.read_var({ref[s]}), None)")
        elif s in link_out:
            rets.append(f"own(s{s}, {link_args[s]})")
        elif s in written:  # never hand out the variable's storage
            rets.append(f"s{s}.copy()")
        elif s in seg_of:
            rets.append(f"{ctor(dtypes[s])}(s{s})" if ranks[s] == 0 else f"s{s}")
        else:  # a fed value fetched through the program
            rets.append(f"own(s{s}, None)")
    L.append(f"    return ({', '.join(rets)}{',' if len(rets) == 1 else ''})")
    return "\n".join(L)
