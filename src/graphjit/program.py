"""Pruning: the part of a Graph that one fetch/feed signature needs, as an immutable Program.

``prune`` walks back from the fetched tensors and target ops along data and control edges,
stopping at fed tensors (feeding any tensor cuts its ancestors). The result is a topologically
ordered tuple of :class:`Node` records over integer value slots. Its structural ``key`` hashes
op types, attributes, slots, feed/fetch positions, variable positions and constant bytes but
no names, so the same model rebuilt in a new process maps to the same compiled code.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import numpy as np

from .dtypes import DType
from .errors import InvalidArgumentError
from .graph import Operation, Tensor
from .ops import registry
from .ops.state import VARIABLE_OPS
from .shapes import TensorShape


@dataclass(frozen=True, slots=True)
class Node:
    """One op of a Program: type, attributes and the slots it reads and writes."""

    op_type: str
    attrs: dict
    inputs: tuple[int, ...]
    outputs: tuple[int, ...]
    var: int = -1  # index into Program.var_names for ops with a ref_input
    opdef: registry.OpDef | None = None


@dataclass(frozen=True, slots=True)
class Program:
    """An immutable, slot-indexed, topologically ordered executable subgraph.

    Attributes
    ----------
    nodes : tuple of Node
        The ops to run, in order.
    ops : tuple of Operation
        ``ops[i]`` is the graph op behind ``nodes[i]`` (names, error messages; not in the key).
    num_slots : int
        Number of value slots.
    feed_slots, fetch_slots : tuple of int
        Slot of each fed tensor (feed order) and of each fetched tensor (fetch order).
    var_names : tuple of str
        Variables the program touches; ``Node.var`` and ``ref_slots`` index into it.
    ref_slots : tuple of (slot, var index)
        Slots that name a variable: reading one reads the variable's current value.
    slot_tensors : tuple of Tensor
        The graph tensor behind each slot (introspection and partial runs).
    key : str
        Structural hash (no names).
    """

    nodes: tuple
    ops: tuple
    num_slots: int
    feed_slots: tuple
    fetch_slots: tuple
    var_names: tuple
    var_specs: tuple
    ref_slots: tuple
    slot_tensors: tuple
    key: str

    @property
    def slot_dtypes(self) -> tuple[DType, ...]:
        return tuple(t.dtype for t in self.slot_tensors)

    @property
    def slot_shapes(self) -> tuple[TensorShape, ...]:
        return tuple(t.shape for t in self.slot_tensors)

    def describe(self) -> str:
        """A readable listing: one line per node with its slots (for debugging)."""
        lines = [
            f"program {self.key[:12]}: feeds {list(self.feed_slots)} -> "
            f"fetches {list(self.fetch_slots)}"
        ]
        for slot, var in self.ref_slots:
            lines.append(f"  s{slot} = &{self.var_names[var]}")
        for node, op in zip(self.nodes, self.ops):
            outs = ", ".join(f"s{s}" for s in node.outputs) or "()"
            ins = ", ".join(f"s{s}" for s in node.inputs)
            var = f" [{self.var_names[node.var]}]" if node.var >= 0 else ""
            lines.append(f"  {outs} = {node.op_type}({ins}){var}    # {op.name}")
        return "\n".join(lines)


def prune(fetches, feeds, targets=(), within=None) -> Program:
    """Build the Program computing ``fetches`` (tensors) and running ``targets`` (ops).

    ``feeds`` are the tensors whose values are supplied; their producers are not run.
    Raises ``InvalidArgumentError`` (with ``op`` set) for a needed placeholder that is not fed.

    ``within`` (a set of op ids) builds the sub-program of a control-flow op (a cond branch,
    a loop body): only those ops are nodes, outer tensors must be fed (they are the op's
    captured inputs) and control edges to outer ops are dropped (the control-flow op itself
    carries them). Without it, ops owned by a control-flow op are not part of the main
    program: reaching one is a ``ValueError``.
    """
    fetches = list(fetches)
    feeds = list(feeds)
    fed = {id(t) for t in feeds}
    owned = _owner_map(fetches, feeds, targets) if within is None else None
    needed_ops: dict[int, Operation] = {}
    var_ops: dict[int, Operation] = {}
    stack: list = [t for t in fetches if id(t) not in fed] + list(targets)
    while stack:
        item = stack.pop()
        if isinstance(item, Tensor):
            if id(item) in fed:
                continue
            op = item.op
            if op.type in VARIABLE_OPS:
                var_ops[id(op)] = op
                continue
        else:
            op = item
        if id(op) in needed_ops:
            continue
        if op.type in VARIABLE_OPS:
            var_ops[id(op)] = op
            continue
        if within is not None and id(op) not in within:
            if isinstance(item, Tensor):
                raise AssertionError(f"{item.name} is not captured")  # control_flow invariant
            continue  # a control edge to an outer op: the control-flow op carries it
        if owned and id(op) in owned:
            _raise_owned(item, owned[id(op)])
        needed_ops[id(op)] = op
        opdef = registry.get(op.type)
        if op.type == "Placeholder":
            _raise_unfed(op)
        for i, t in enumerate(op._inputs):
            if i == opdef.ref_input or i in opdef.extra_refs:
                ref_op = t.op
                if ref_op.type not in VARIABLE_OPS:
                    raise InvalidArgumentError(
                        op.node_def,
                        op,
                        f"Input {i} of '{op.name}' must be a variable reference, got "
                        f"{t.name} ({ref_op.type})",
                    )
                var_ops[id(ref_op)] = ref_op
                if i != opdef.ref_input:
                    stack.append(t)  # also read as data
            else:
                stack.append(t)
        stack.extend(op._control_inputs)
    ordered = sorted(needed_ops.values(), key=lambda o: o._id)
    var_list = sorted(var_ops.values(), key=lambda o: o._id)
    var_index = {id(o): i for i, o in enumerate(var_list)}

    slot_of: dict[int, int] = {}
    slot_tensors: list[Tensor] = []

    def new_slot(t: Tensor) -> int:
        slot_of[id(t)] = len(slot_tensors)
        slot_tensors.append(t)
        return slot_of[id(t)]

    feed_slots = tuple(new_slot(t) if id(t) not in slot_of else slot_of[id(t)] for t in feeds)
    ref_slots = []

    def slot_for_input(t: Tensor) -> int:
        if id(t) in slot_of:
            return slot_of[id(t)]
        if t.op.type in VARIABLE_OPS:
            s = new_slot(t)
            ref_slots.append((s, var_index[id(t.op)]))
            return s
        raise AssertionError(f"{t.name} used before it is computed")  # prune invariant

    nodes, ops = [], []
    for op in ordered:
        opdef = registry.get(op.type)
        ins = tuple(slot_for_input(t) for i, t in enumerate(op._inputs) if i != opdef.ref_input)
        var = var_index[id(op._inputs[opdef.ref_input].op)] if opdef.ref_input is not None else -1
        outs = tuple(slot_of[id(t)] if id(t) in slot_of else new_slot(t) for t in op._outputs)
        attrs = dict(op._attrs)
        if opdef.extra_refs:
            attrs["_ref_vars"] = tuple(var_index[id(op._inputs[i].op)] for i in opdef.extra_refs)
        nodes.append(Node(op.type, attrs, ins, outs, var, opdef))
        ops.append(op)
    fetch_slots = tuple(slot_for_input(t) for t in fetches)
    var_names = tuple(o.name for o in var_list)
    var_specs = tuple((o.outputs[0].dtype, o.outputs[0].shape) for o in var_list)
    key = _structural_key(nodes, len(slot_tensors), feed_slots, fetch_slots, ref_slots, var_specs)
    return Program(
        tuple(nodes),
        tuple(ops),
        len(slot_tensors),
        feed_slots,
        fetch_slots,
        var_names,
        var_specs,
        tuple(ref_slots),
        tuple(slot_tensors),
        key,
    )


def _owner_map(fetches, feeds, targets):
    """``id(op) -> control-flow op`` for the graph's branch/body ops (``None`` without any)."""
    for item in (*fetches, *feeds, *targets):
        cf = item.graph._cf
        return cf.owner if cf is not None and cf.owner else None
    return None


def _raise_owned(item, cf_op):
    what = item.name
    raise ValueError(
        f"'{what}' is computed inside the branch or body of the control-flow op "
        f"'{cf_op.name}' ({cf_op.type}) and cannot be fetched or used from outside it; "
        "return it from the branch or body function instead."
    )


def _raise_unfed(op: Operation):
    t = op.outputs[0]
    shape = t.shape
    shape_str = f" and shape {shape.tf_str()}" if shape.ndims is not None else ""
    raise InvalidArgumentError(
        op.node_def,
        op,
        f"You must feed a value for placeholder tensor '{op.name}' with dtype "
        f"{t.dtype.tf_short_name}{shape_str}\n\t [[{{{{node {op.name}}}}}]]",
    )


def _structural_key(nodes, num_slots, feed_slots, fetch_slots, ref_slots, var_specs) -> str:
    h = hashlib.sha256()
    h.update(repr((num_slots, feed_slots, fetch_slots, tuple(ref_slots))).encode())
    for dtype, shape in var_specs:
        h.update(f"var:{dtype.name}:{shape}".encode())
    for n in nodes:
        h.update(f"|{n.op_type}:{n.inputs}:{n.outputs}:{n.var}".encode())
        for k in sorted(n.attrs):
            h.update(f";{k}=".encode())
            _hash_value(h, n.attrs[k])
    return h.hexdigest()


def _hash_value(h, v):
    key = getattr(v, "structural_key", None)  # control-flow sub-programs hash by structure
    if key is not None:
        h.update(f"sub:{key}".encode())
    elif isinstance(v, np.ndarray):
        h.update(f"nd{v.dtype}{v.shape}".encode())
        if v.dtype == object:
            h.update(repr(v.tolist()).encode())
        else:
            h.update(np.ascontiguousarray(v).tobytes())
    elif isinstance(v, (list, tuple)):
        h.update(b"[")
        for x in v:
            _hash_value(h, x)
        h.update(b"]")
    else:
        h.update(f"{type(v).__name__}:{v!r}".encode())
