"""Partitioning a Program into compiled segments, fused regions and numpy links (pure Python).

Given a :class:`~graphjit.program.Program` and the ranks of its run-time inputs, :func:`plan`
classifies every node from registry fields only (``kind``, ``scalar``, ``kernel``,
``uses_ctx``; never the op type):

* **const** -- a ``SOURCE`` node without inputs or state (``Const``): evaluated once, passed
  to kernels as an argument (no large constants in generated code);
* **pointwise** -- an ``ELEMWISE`` node with a scalar template, or an ``INJECTIVE`` one whose
  template keeps the rank (``Identity``, ``Cast``);
* **reduce** -- a ``REDUCE`` node with a template and constant axes;
* **link** -- everything else (no lowering, ``uses_ctx``, library kernels such as ``MatMul``,
  shape-changing data movement): run by its numpy kernel between segments.

Program order is kept: a *segment* is a maximal run of pointwise/reduce nodes, split by links.
Inside a segment, a *region* is a convex group of pointwise nodes plus trailing reductions over
one iteration space (one loop nest). Ranks are static for a signature; shapes are not.
Program rewrites and plan-time constants that precede this live in :mod:`graphjit.prepass`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ops import registry as R
from .prepass import (  # noqa: F401  (re-exported: fuse.fold, fuse.alias_reads ...)
    COMPILED_DTYPES,
    SHAPE_OPS,
    SYMBOLIC_SHAPE_OPS,
    VIEW_OPS,
    alias_reads,
    bias_xent,
    cluster,
    fold,
    is_const,
    sum_to_shape,
    writes_last,
)

# In-place state updates (compiler table): ``Assign*`` nodes after the last link are compiled
# into the tail segment and write the variable's buffer directly; ``{old}`` is the variable's
# current element, ``{0}`` the value.
INPLACE = {"Assign": "{0}", "AssignAdd": "({old} + {0})", "AssignSub": "({old} - {0})"}
# integer helpers that raise inside loops: a tail that writes in place must not fail after
# its first write
_RAISING = {"div", "floordiv", "floormod", "pow", "reciprocal"}


# Links that compute no data, only metadata or a numpy view of their input (introspection
# reports them as views, not as fallback ops): shapes, reshapes, broadcasts.


class PlanError(Exception):
    """The program cannot be compiled for this signature (the interpreter runs it)."""


@dataclass(frozen=True, slots=True)
class Region:
    """One loop nest: ``nodes`` (node indices, program order) of which ``reduces`` accumulate."""

    index: int
    nodes: tuple
    reduces: tuple
    rank: int
    inputs: tuple  # slots read from outside the region
    outputs: tuple  # slots produced here and needed outside the region


@dataclass(frozen=True, slots=True)
class Segment:
    """A maximal run of compilable nodes rendered as one njit function."""

    index: int
    nodes: tuple
    regions: tuple
    inputs: tuple
    outputs: tuple
    reassoc: bool = False  # a float sum may be reassociated (vectorized)


@dataclass(frozen=True, slots=True)
class Link:
    """A node run by its numpy kernel from the driver."""

    node: int
    reason: str


@dataclass(frozen=True, slots=True)
class Plan:
    """Steps (segments and links, in order), constant values, static rank and dtype per slot."""

    steps: tuple
    consts: dict
    ranks: tuple
    dtypes: tuple
    axes: dict = field(default_factory=dict)  # reduce node index -> normalized axes
    inplace: dict = field(default_factory=dict)  # node index -> var index written in place

    @property
    def segments(self):
        return [s for s in self.steps if isinstance(s, Segment)]

    @property
    def links(self):
        return [s for s in self.steps if isinstance(s, Link)]


def _classify(node, ranks, dtypes, consts):
    """('pointwise'|'reduce'|'link', reason) for one node; ranks of inputs are known."""
    opdef = node.opdef
    if opdef.uses_ctx:
        return "link", opdef.fallback or "uses the run context (state, handles)"
    if not opdef.compilable:
        return "link", opdef.fallback or "no compiled lowering"
    slots = node.inputs + node.outputs
    if any(dtypes[s] not in COMPILED_DTYPES for s in slots):
        return "link", "dtype not supported by the code generator"
    if opdef.kernel is not None and opdef.scalar is None:
        return "link", f"library kernel {opdef.kernel!r} run as a driver link"
    if opdef.kind == R.ELEMWISE:
        if callable(opdef.scalar) and opdef.scalar(node.attrs) is None:
            # a template may decline one attribute setting (BiasAdd with NCHW)
            return "link", "no scalar template for these attributes"
        return "pointwise", ""
    if opdef.kind == R.INJECTIVE:
        if len(node.inputs) == 1 and len(node.outputs) == 1:
            return "pointwise", ""  # rank checked by the caller
        return "link", "data movement"
    if opdef.kind == R.REDUCE:
        if len(node.inputs) == 2 and node.inputs[1] in consts:
            return "reduce", ""
        return "link", "reduction axes are not constant"
    return "link", f"kind {opdef.kind} has no fused lowering"


def _reduce_axes(value, rank):
    axes = sorted({int(a) % max(rank, 1) for a in np.asarray(value).reshape(-1)})
    if rank == 0:
        return ()
    for a in np.asarray(value).reshape(-1):
        if not -rank <= int(a) < rank:
            raise PlanError("reduction axis out of range")
    return tuple(axes)


def plan(program, feed_ranks, var_ranks, inplace=True) -> Plan:
    """Partition ``program`` for feeds/variables of the given ranks; ``PlanError`` if unsupported.

    With ``inplace``, state updates after the last link are compiled into the tail segment
    when that is provably safe (see :func:`_inplace_ok`); otherwise they stay staged links.

    >>> # plan(prog, feed_ranks=(1, 1), var_ranks=()) -> Plan(steps=(Segment(...),), ...)
    """
    if inplace:
        p = _plan(program, feed_ranks, var_ranks, True)
        if p.inplace and _inplace_ok(program, p):
            return p
    return _plan(program, feed_ranks, var_ranks, False)


def _noop(node) -> bool:
    """A control anchor (``NoOp``): no inputs, no outputs, no state, nothing to run."""
    o = node.opdef
    return o.kind == R.CONTROL and not node.outputs and not o.uses_ctx and not o.stateful


def _writes(program, dtypes, var_ranks, folded=()):
    """Node indices of candidate in-place writes after the last other link; ``{}`` if none."""
    cand = {}
    last_link = -1
    ref = dict(program.ref_slots)
    for i, node in enumerate(program.nodes):
        if i in folded or any(s in ref for s in node.outputs):
            continue
        if node.op_type in INPLACE and node.var >= 0:
            r = var_ranks[node.var]
            ok = (
                r is not None  # rank 0 too: the segment writes the variable's 0-d buffer
                and dtypes[node.outputs[0]] in COMPILED_DTYPES
                and program.slot_tensors[node.outputs[0]].shape.ndims in (r, None)
            )
            if ok:
                cand[i] = node.var
                continue
        if _noop(node) or (is_const(node.opdef) and not node.inputs) or _infallible(program, node):
            continue
        if (
            node.opdef.uses_ctx
            or not node.opdef.compilable
            or node.opdef.kind
            not in (
                R.ELEMWISE,
                R.INJECTIVE,
                R.REDUCE,
            )
        ):
            last_link = i
    if any(i < last_link for i in cand) or len(set(cand.values())) != len(cand):
        return {}
    return cand


def _infallible(program, node) -> bool:
    """A staged ``Assign`` that cannot fail: value and variable shapes fully known and equal
    (e.g. Adam's ``beta1_power`` updates); it may run after the in-place tail."""
    if node.op_type != "Assign" or node.var < 0:
        return False
    spec = program.var_specs[node.var][1]
    value = program.slot_tensors[node.inputs[0]].shape
    return (
        spec.is_fully_defined()
        and value.is_fully_defined()
        and spec.as_list() == value.as_list()
        and program.var_specs[node.var][0] == program.slot_tensors[node.inputs[0]].dtype
    )


def _inplace_ok(program, p) -> bool:
    """The tail segment can write in place: nothing in it or after it can fail."""
    k = max(
        (
            j
            for j, st in enumerate(p.steps)
            if isinstance(st, Segment) and set(st.nodes) & set(p.inplace)
        ),
        default=-1,
    )
    if k < 0:
        return False
    tail = p.steps[k]
    if not set(p.inplace) <= set(tail.nodes):
        return False
    staged = set()
    ref = dict(program.ref_slots)
    after = []
    for st in p.steps[k + 1 :]:
        if isinstance(st, Segment):
            # scalar arithmetic on values already read by the tail (Adam's beta powers)
            if any(p.ranks[s] or (s in ref and s not in tail.inputs) for s in st.inputs):
                return False
            after.extend(st.nodes)
            continue
        node = program.nodes[st.node]
        if not _infallible(program, node):
            return False
        staged.add(node.var)
    if staged & set(p.inplace.values()):
        return False
    written = set(p.inplace.values())
    ref = dict(program.ref_slots)
    for st in p.links:  # a numpy link may return a view of a variable's storage
        node = program.nodes[st.node]
        if node.opdef.kernel is None and any(ref.get(s) in written for s in node.inputs):
            return False
    for i in list(tail.nodes) + after:
        node = program.nodes[i]
        if i in p.inplace:
            continue
        tmpl = node.opdef.scalar
        if callable(tmpl):
            tmpl = tmpl(node.attrs)
        dts = [p.dtypes[s] for s in node.inputs + node.outputs]
        ints = any(d not in ("float32", "float64", "bool") for d in dts)
        if ints and (tmpl in _RAISING or "//" in str(tmpl) or "%" in str(tmpl)):
            return False
        if node.opdef.kind == R.REDUCE and p.ranks[node.outputs[0]]:
            return False  # rank > 0 reductions are finished after their loop
    return True


def _plan(program, feed_ranks, var_ranks, inplace) -> Plan:
    n = program.num_slots
    ranks: list = [None] * n
    dtypes = [t.dtype.name for t in program.slot_tensors]
    for s, r in zip(program.feed_slots, feed_ranks):
        ranks[s] = r
    ref = dict(program.ref_slots)
    for s, v in ref.items():
        ranks[s] = var_ranks[v]
    consts, folded = fold(program)
    for s, v in consts.items():
        ranks[s] = v.ndim
    axes: dict = {}
    kinds: list = []
    writes = _writes(program, dtypes, var_ranks, folded) if inplace else {}
    for i, node in enumerate(program.nodes):
        opdef = node.opdef
        if i in folded or any(s in ref for s in node.outputs):
            kinds.append(("const", ""))  # folded, or an aliased variable read
            continue
        if i in writes:
            in_ranks = [ranks[s] for s in node.inputs]
            if None in in_ranks or max(in_ranks) > var_ranks[node.var]:
                writes = {}  # the interpreter-exact staged path for everything
                return _plan(program, feed_ranks, var_ranks, False)
            ranks[node.outputs[0]] = var_ranks[node.var]
            kinds.append(("pointwise", ""))
            continue
        if _noop(node):
            kinds.append(("const", ""))
            continue
        kind, why = _classify(node, ranks, dtypes, consts)
        in_ranks = [ranks[s] for s in node.inputs]
        if kind == "pointwise":
            r = max(in_ranks, default=0)
            static = program.slot_tensors[node.outputs[0]].shape.ndims
            if opdef.kind == R.INJECTIVE and static is not None and static != r:
                kind, why = "link", "changes the shape"
            elif None in in_ranks:
                kind, why = "link", "input rank unknown"
            else:
                ranks[node.outputs[0]] = r
        elif kind == "reduce":
            r = in_ranks[0]
            if r is None:
                kind, why = "link", "input rank unknown"
            else:
                ax = _reduce_axes(consts[node.inputs[1]], r)
                axes[i] = ax
                keep = bool(node.attrs.get("keep_dims", False))
                ranks[node.outputs[0]] = r if keep else r - len(ax)
        if kind == "link":
            for s in node.outputs:
                ranks[s] = program.slot_tensors[s].shape.ndims
        kinds.append((kind, why))
    steps = _segments(program, kinds, ranks, axes, consts, writes)
    for st in steps:
        if isinstance(st, Segment) and any(ranks[s] is None for s in st.inputs):
            raise PlanError("a compiled segment reads a value of unknown rank")
    return Plan(tuple(steps), consts, tuple(ranks), tuple(dtypes), axes, writes)


def _segments(program, kinds, ranks, axes, consts, writes):
    steps, run = [], []

    def close():
        if run:
            steps.append(_segment(program, len(steps), tuple(run), kinds, ranks, axes, writes))
            run.clear()

    for i, (kind, why) in enumerate(kinds):
        if kind == "const":
            continue
        if kind == "link":
            close()
            steps.append(Link(i, why))
        else:
            run.append(i)
    close()
    # number the segments 0, 1, ... in order
    out, k = [], 0
    for st in steps:
        if isinstance(st, Segment):
            st = Segment(k, st.nodes, st.regions, st.inputs, st.outputs, st.reassoc)
            k += 1
        out.append(st)
    return _with_outputs(program, out, writes)


def _segment(program, idx, nodes, kinds, ranks, axes, writes):
    nodes_ = program.nodes
    produced = {s for i in nodes for s in nodes_[i].outputs}
    inputs = []
    for i in nodes:
        data = nodes_[i].inputs[:1] if kinds[i][0] == "reduce" else nodes_[i].inputs
        for s in data:
            if s not in produced and s not in inputs:
                inputs.append(s)
    regions = _regions(program, nodes, kinds, ranks, axes, writes)
    reassoc = any(
        program.nodes[i].opdef.scalar in ("sum", "mean", "prod")
        and program.slot_tensors[program.nodes[i].outputs[0]].dtype.is_floating
        for i in nodes
        if kinds[i][0] == "reduce"
    )
    return Segment(idx, nodes, regions, tuple(inputs), (), reassoc)


def _regions(program, nodes, kinds, ranks, axes, writes=None):
    """Greedy convex grouping; regions are emitted in creation order (topological).

    With in-place writes, a variable's reads keep program order relative to its write: a
    reader placed after the write never joins an earlier region, and the write never joins
    a region before one that reads the old value.
    """
    nodes_ = program.nodes
    writes = writes or {}
    ref = dict(program.ref_slots)
    groups: list[list[int]] = []
    region_of: dict[int, int] = {}  # slot -> region producing it (pointwise values only)
    after: dict[int, int] = {}  # slot -> region whose reduction it is (loop result)
    leaves: list[set] = []
    read_in: dict[int, int] = {}  # var -> last region reading it
    write_in: dict[int, int] = {}  # var -> region writing it
    for i in nodes:
        node = nodes_[i]
        kind = kinds[i][0]
        ins = node.inputs[:1] if kind == "reduce" else node.inputs
        target = None
        for s in ins:
            g = region_of.get(s)
            if g is not None:
                target = g if target is None else max(target, g)
        if target is None and kind == "pointwise":
            for g in range(len(groups) - 1, -1, -1):
                # siblings: a shared array input (a shared scalar says nothing of shapes)
                if {x for x in leaves[g] & set(ins) if ranks[x]} and ranks[
                    node.outputs[0]
                ] == _rank(groups[g], ranks, nodes_):
                    target = g
                    break
        if target is not None:
            # every outside input must exist before region `target` runs
            for s in node.inputs:
                src = region_of.get(s, after.get(s))
                if src is not None and src != target and src > target:
                    target = None
                    break
                if after.get(s) == target:
                    target = None
                    break
        if target is not None and kind == "pointwise" and _has_reduce(groups[target], kinds):
            target = None  # reductions are trailing: nothing consumes the loop afterwards
        vars_read = {ref[s] for s in node.inputs if s in ref}
        if target is not None and (
            any(target < write_in.get(v, -1) for v in vars_read)
            or (i in writes and target < read_in.get(writes[i], -1))
            or (i in writes and _has_reduce(groups[target], kinds))
        ):
            target = None
        if target is None:
            groups.append([])
            leaves.append(set())
            target = len(groups) - 1
        for v in vars_read:
            read_in[v] = max(read_in.get(v, -1), target)
        if i in writes:
            write_in[writes[i]] = target
        groups[target].append(i)
        leaves[target].update(node.inputs)
        for s in node.outputs:
            if kind == "reduce":
                after[s] = target
            else:
                region_of[s] = target
    out = []
    for g, members in enumerate(groups):
        produced = {s for i in members for s in nodes_[i].outputs}
        ins = []
        for i in members:
            for s in nodes_[i].inputs[:1] if kinds[i][0] == "reduce" else nodes_[i].inputs:
                if s not in produced and s not in ins:
                    ins.append(s)
        red = tuple(i for i in members if kinds[i][0] == "reduce")
        rank = _rank(members, ranks, nodes_)
        out.append(Region(g, tuple(members), red, rank, tuple(ins), ()))
    return tuple(out)


def _has_reduce(members, kinds):
    return any(kinds[i][0] == "reduce" for i in members)


def _rank(members, ranks, nodes_):
    """Iteration rank of a region: the largest rank of a pointwise output or reduce input."""
    r = 0
    for i in members:
        n = nodes_[i]
        s = n.inputs[0] if n.opdef.kind == R.REDUCE else n.outputs[0]
        r = max(r, ranks[s] or 0)
    return r


def _with_outputs(program, steps, writes=None):
    """Fill segment/region outputs: slots consumed later (any step), fetched or written."""
    writes = writes or {}
    nodes_ = program.nodes
    fetched = set(program.fetch_slots)
    used_by: dict[int, set] = {}  # slot -> set of consumer keys ('n', node) for all nodes
    for i, node in enumerate(nodes_):
        for s in node.inputs:
            used_by.setdefault(s, set()).add(i)
    out = []
    for st in steps:
        if not isinstance(st, Segment):
            out.append(st)
            continue
        inside = set(st.nodes)
        seg_out = []
        regions = []
        for rg in st.regions:
            members = set(rg.nodes)
            rout = []
            for i in rg.nodes:
                for s in nodes_[i].outputs:
                    users = used_by.get(s, set())
                    if s in fetched or users - inside or i in writes:
                        seg_out.append(s)
                        rout.append(s)
                    elif users - members or nodes_[i].opdef.kind == R.REDUCE:
                        rout.append(s)
            regions.append(Region(rg.index, rg.nodes, rg.reduces, rg.rank, rg.inputs, tuple(rout)))
        out.append(
            Segment(st.index, st.nodes, tuple(regions), st.inputs, tuple(seg_out), st.reassoc)
        )
    return out
