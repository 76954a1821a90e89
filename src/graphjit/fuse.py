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
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .ops import registry as R

# dtypes the code generator handles; anything else becomes a link
COMPILED_DTYPES = frozenset(
    {
        "bool",
        "int8",
        "int16",
        "int32",
        "int64",
        "uint8",
        "uint16",
        "uint32",
        "uint64",
        "float32",
        "float64",
    }
)


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

    @property
    def segments(self):
        return [s for s in self.steps if isinstance(s, Segment)]

    @property
    def links(self):
        return [s for s in self.steps if isinstance(s, Link)]


def _is_const(opdef) -> bool:
    return opdef.kind == R.SOURCE and not opdef.stateful and not opdef.uses_ctx


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
        return "link", "library kernel (BLAS) run as a driver link"
    if opdef.kind == R.ELEMWISE:
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


def plan(program, feed_ranks, var_ranks) -> Plan:
    """Partition ``program`` for feeds/variables of the given ranks; ``PlanError`` if unsupported.

    >>> # plan(prog, feed_ranks=(1, 1), var_ranks=()) -> Plan(steps=(Segment(...),), ...)
    """
    n = program.num_slots
    ranks: list = [None] * n
    dtypes = [t.dtype.name for t in program.slot_tensors]
    for s, r in zip(program.feed_slots, feed_ranks):
        ranks[s] = r
    ref = dict(program.ref_slots)
    for s, v in ref.items():
        ranks[s] = var_ranks[v]
    consts: dict = {}
    axes: dict = {}
    kinds: list = []
    for i, node in enumerate(program.nodes):
        opdef = node.opdef
        if _is_const(opdef) and not node.inputs:
            value = np.asarray(opdef.numpy(**node.attrs))
            consts[node.outputs[0]] = value
            ranks[node.outputs[0]] = value.ndim
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
    steps = _segments(program, kinds, ranks, axes, consts)
    for st in steps:
        if isinstance(st, Segment) and any(ranks[s] is None for s in st.inputs):
            raise PlanError("a compiled segment reads a value of unknown rank")
    return Plan(tuple(steps), consts, tuple(ranks), tuple(dtypes), axes)


def _segments(program, kinds, ranks, axes, consts):
    steps, run = [], []

    def close():
        if run:
            steps.append(_segment(program, len(steps), tuple(run), kinds, ranks, axes))
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
    return _with_outputs(program, out)


def _segment(program, idx, nodes, kinds, ranks, axes):
    nodes_ = program.nodes
    produced = {s for i in nodes for s in nodes_[i].outputs}
    inputs = []
    for i in nodes:
        data = nodes_[i].inputs[:1] if kinds[i][0] == "reduce" else nodes_[i].inputs
        for s in data:
            if s not in produced and s not in inputs:
                inputs.append(s)
    regions = _regions(program, nodes, kinds, ranks, axes)
    reassoc = any(
        program.nodes[i].opdef.scalar in ("sum", "mean", "prod")
        and program.slot_tensors[program.nodes[i].outputs[0]].dtype.is_floating
        for i in nodes
        if kinds[i][0] == "reduce"
    )
    return Segment(idx, nodes, regions, tuple(inputs), (), reassoc)


def _regions(program, nodes, kinds, ranks, axes):
    """Greedy convex grouping; regions are emitted in creation order (topological)."""
    nodes_ = program.nodes
    groups: list[list[int]] = []
    region_of: dict[int, int] = {}  # slot -> region producing it (pointwise values only)
    after: dict[int, int] = {}  # slot -> region whose reduction it is (loop result)
    leaves: list[set] = []
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
                if leaves[g] & set(ins) and ranks[node.outputs[0]] == _rank(
                    groups[g], ranks, nodes_
                ):
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
        if target is None:
            groups.append([])
            leaves.append(set())
            target = len(groups) - 1
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


def _with_outputs(program, steps):
    """Fill segment/region outputs: slots consumed later (any step) or fetched."""
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
                    if s in fetched or users - inside:
                        seg_out.append(s)
                        rout.append(s)
                    elif users - members or nodes_[i].opdef.kind == R.REDUCE:
                        rout.append(s)
            regions.append(Region(rg.index, rg.nodes, rg.reduces, rg.rank, rg.inputs, tuple(rout)))
        out.append(
            Segment(st.index, st.nodes, tuple(regions), st.inputs, tuple(seg_out), st.reassoc)
        )
    return out
