"""Program rewrites and plan-time constants that run before partitioning (pure Python).

* :func:`writes_last` -- a topological order with every node that neither writes state nor
  depends on a write ahead of the writes;
* :func:`alias_reads` -- variable reads that can read the variable's storage directly;
* :func:`sum_to_shape` -- each run-time unbroadcast of a gradient (``Shape``,
  ``BroadcastGradientArgs``, ``Sum``, ``Reshape``: four links) as one ``SumToShape`` link;
* :func:`bias_xent` -- a softmax cross-entropy and the bias add of its logits as one link;
* :func:`fold` -- ``Const`` nodes, shapes known statically, and small pure subgraphs of
  constants evaluated once (compiled code gets them as arguments).

:mod:`graphjit.fuse` applies them (``fold`` inside ``plan``; the executor calls the two
rewrites before planning) and re-exports these names.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from .ops import registry as R
from .program import Node

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


# Plan-time folding (compiler tables, keyed by op type like ``INPLACE``): ops that read only
# the shape of their input become constants when that shape is statically known; a partially
# known ``Shape`` is kept symbolically for ``BroadcastGradientArgs``.
SHAPE_OPS = {
    "Shape": lambda shape: shape,
    "Size": lambda shape: int(np.prod(shape, dtype=np.int64)),
    "Rank": lambda shape: len(shape),
}
SYMBOLIC_SHAPE_OPS = frozenset({"BroadcastGradientArgs"})
_FOLD_MAX = 1 << 16  # elements: larger values stay run-time work (memory, key size)


# Ops that only read or reinterpret shapes: driver links that compute no data (fuse.VIEW_OPS)
VIEW_OPS = frozenset(
    {"Shape", "ShapeN", "Size", "Rank", "Reshape", "ExpandDims", "Squeeze", "BroadcastTo"}
)


def is_const(opdef) -> bool:
    return opdef.kind == R.SOURCE and not opdef.stateful and not opdef.uses_ctx


def fold(program):
    """Plan-time constants: ``(consts, folded node indices)``.

    Folded are ``Const`` nodes; ``Shape``/``Size``/``Rank`` of statically known shapes; any
    pure node (no state, no context) whose inputs are all small constants, evaluated once by
    its numpy kernel (a kernel that raises is left to fail at run time); and
    ``BroadcastGradientArgs`` of partially known shapes whose result does not depend on the
    unknown dimensions (each unknown dimension is aligned only with 1s, so every run-time
    size is valid; the outputs are computed for unknowns of 1 and 2 and must agree). A node is
    folded only when every output it has that something reads is known.
    """
    consts: dict = {}
    sym: dict = {}  # slot -> partially known shape (list with None) of a Shape output
    folded: set = set()
    used = {s for node in program.nodes for s in node.inputs} | set(program.fetch_slots)
    for i, node in enumerate(program.nodes):
        opdef = node.opdef
        if is_const(opdef) and not node.inputs:
            consts[node.outputs[0]] = np.asarray(opdef.numpy(**node.attrs))
            folded.add(i)
            continue
        if opdef.stateful or opdef.uses_ctx or node.var >= 0 or not node.outputs:
            continue
        if opdef.kind in (R.SOURCE, R.CONTROL, R.STATEFUL):
            continue
        # dtype.np, not np.dtype(name): "string"/"resource" are object arrays, never folded
        out_dt = [t.dtype.np for t in (program.slot_tensors[s] for s in node.outputs)]
        if any(d.name not in COMPILED_DTYPES for d in out_dt):
            continue
        vals = None
        if node.op_type in SHAPE_OPS and len(node.inputs) == 1:
            shape = program.slot_tensors[node.inputs[0]].shape
            if shape.is_fully_defined():
                vals = [SHAPE_OPS[node.op_type](tuple(shape.as_list()))]
            elif node.op_type == "Shape" and shape.ndims is not None:
                sym[node.outputs[0]] = shape.as_list()
        elif all(s in consts for s in node.inputs):
            if sum(consts[s].size for s in node.inputs) <= _FOLD_MAX:
                vals = _evaluate(opdef, node, [consts[s] for s in node.inputs])
        elif node.op_type in SYMBOLIC_SHAPE_OPS and all(
            s in consts or s in sym for s in node.inputs
        ):
            vals = _fold_symbolic(opdef, node, [consts.get(s, sym.get(s)) for s in node.inputs])
        if vals is None or len(vals) != len(node.outputs):
            continue
        known = {}
        for s, v, d in zip(node.outputs, vals, out_dt):
            if v is not None:
                v = v if isinstance(v, np.ndarray) else np.asarray(v, dtype=d)
                if v.size <= _FOLD_MAX and np.can_cast(v.dtype, d, "same_kind"):
                    known[s] = v.astype(d)
        if all(s in known or s not in used for s in node.outputs):
            consts.update(known)
            folded.add(i)
    # a symbolic Shape read only by folded nodes has nothing left to do
    live = set(program.fetch_slots)
    for i in range(len(program.nodes) - 1, -1, -1):
        node = program.nodes[i]
        if i not in folded and node.outputs and all(s in sym for s in node.outputs):
            if not live & set(node.outputs):
                folded.add(i)
                continue
        if i not in folded:
            live.update(node.inputs)
    return consts, folded


def _evaluate(opdef, node, args):
    try:
        with np.errstate(all="ignore"):
            out = opdef.numpy(*args, **node.attrs)
    except Exception:  # the run-time link raises TF's error
        return None
    return list(out) if len(node.outputs) > 1 else [out]


def _fold_symbolic(opdef, node, args):
    """Outputs of a shape-arithmetic op over partially known shape vectors (``None`` where
    an output depends on the unknown sizes)."""
    shapes = [list(a) if isinstance(a, list) else a.tolist() for a in args]
    if any(not isinstance(x, list) or any(isinstance(d, list) for d in x) for x in shapes):
        return None
    n = max(len(x) for x in shapes)
    cols = [[1] * (n - len(x)) + x for x in shapes]
    for j in range(n):
        col = [c[j] for c in cols]
        if None in col and any(d is not None and d != 1 for d in col):
            return None  # the run-time size might be invalid: keep the run-time check
    unknown = sum(x.count(None) for x in shapes)
    if unknown == 0 or unknown > 4:
        return None
    results = []
    for bits in range(1 << unknown):
        k = 0
        trial = []
        for x, a in zip(shapes, args):
            row = []
            for d in x:
                if d is None:
                    d = 2 if bits >> k & 1 else 1
                    k += 1
                row.append(d)
            trial.append(
                np.array(row, dtype=np.asarray(a).dtype if not isinstance(a, list) else np.int32)
            )
        out = _evaluate(opdef, node, trial)
        if out is None:
            return None
        results.append([np.asarray(o) for o in out])
    vals = []
    for j in range(len(results[0])):
        first = results[0][j]
        same = all(r[j].shape == first.shape and np.array_equal(r[j], first) for r in results)
        vals.append(first if same else None)
    return vals


def writes_last(program):
    """``(program, order)``: nodes that depend on no state write moved ahead of those that do.

    Any topological order runs a program correctly (reads see writes they depend on through
    data or control edges, as in the interpreter). Putting every node that neither writes
    state (``Assign*``/``Scatter*`` on a variable, context ops) nor depends on such a node
    first lets a fetch computed next to a training step (``[loss, train_op, accuracy]``)
    run before the updates, so the updates stay the in-place tail instead of being staged.
    ``order[k]`` is the original index of new node ``k`` (``None``: order unchanged).
    """
    nodes, ops = program.nodes, program.ops
    producer = {s: i for i, node in enumerate(nodes) for s in node.outputs}
    index = {id(op): i for i, op in enumerate(ops)}
    late = [False] * len(nodes)
    for i, node in enumerate(nodes):
        if node.var >= 0 or node.opdef.uses_ctx:  # writes a variable, or a context op
            late[i] = True
            continue
        deps = [producer[s] for s in node.inputs if s in producer]
        deps += [index[id(c)] for c in ops[i].control_inputs if id(c) in index]
        late[i] = any(late[d] for d in deps)
    order = [i for i, x in enumerate(late) if not x] + [i for i, x in enumerate(late) if x]
    if order == list(range(len(nodes))):
        return program, None
    moved = dataclasses.replace(
        program, nodes=tuple(nodes[i] for i in order), ops=tuple(ops[i] for i in order)
    )
    return moved, tuple(order)


def _linkish(node) -> bool:
    """Whether ``fuse`` will most likely make ``node`` a driver link (a cheap guess from the
    registry entry alone; a wrong guess only costs segment size, never correctness)."""
    o = node.opdef
    if o.uses_ctx or not o.compilable or node.op_type in VIEW_OPS:
        return True
    if o.kernel is not None and o.scalar is None:
        return True
    return o.kind == R.INJECTIVE and (len(node.inputs) != 1 or len(node.outputs) != 1)


def cluster(program):
    """``(program, order)``: the same nodes in an order with fewer runs of compilable nodes,
    so the chain has fewer segments (fewer numba functions to compile, fewer calls per run).

    Program order puts a link (``Shape``, ``Reshape``, a ``MatMul``) wherever the graph was
    built, and every link ends a segment. Each link is moved, if that joins two runs, to the
    earliest point its inputs allow or the latest point its users allow; compilable nodes keep
    their order, so what fused before still fuses. Data and control edges hold, and stateful
    nodes keep their relative order. ``order`` is as in :func:`writes_last` (``None``: no
    change).
    """
    nodes, ops = program.nodes, program.ops
    n = len(nodes)
    producer = {s: i for i, node in enumerate(nodes) for s in node.outputs}
    index = {id(op): i for i, op in enumerate(ops)}
    deps: list = [set() for _ in range(n)]
    last_stateful = None
    for i, node in enumerate(nodes):
        deps[i].update(producer[s] for s in node.inputs if s in producer)
        deps[i].update(index[id(c)] for c in ops[i].control_inputs if id(c) in index)
        o = node.opdef
        if node.var >= 0 or o.uses_ctx or o.stateful:
            if last_stateful is not None:
                deps[i].add(last_stateful)
            last_stateful = i
    users: list = [set() for _ in range(n)]
    for i, ds in enumerate(deps):
        for d in ds:
            users[d].add(i)
    kind = [None if is_const(nd.opdef) else _linkish(nd) for nd in nodes]
    links = [i for i in range(n) if kind[i]]
    if not links or len(links) == n:
        return program, None

    def runs(seq):
        count, inside = 0, False
        for i in seq:
            if kind[i] is None:
                continue
            if not kind[i] and not inside:
                count += 1
            inside = not kind[i]
        return count

    def splits(seq, pos):
        """Whether the link at ``pos`` stands between two compilable nodes (only moving
        such a link can join runs)."""
        before = next((kind[i] for i in reversed(seq[:pos]) if kind[i] is not None), True)
        after = next((kind[i] for i in seq[pos + 1 :] if kind[i] is not None), True)
        return not before and not after

    order = list(range(n))
    best = runs(order)
    for link in links:
        pos = order.index(link)
        if not splits(order, pos):
            continue
        rest = order[:pos] + order[pos + 1 :]
        done = [k for k, i in enumerate(rest) if i in deps[link]]
        need = [k for k, i in enumerate(rest) if i in users[link]]
        lo = max(done) + 1 if done else 0  # earliest slot in ``rest``
        hi = min(need) if need else len(rest)  # latest slot
        for slot in (lo, hi):
            if slot == pos:
                continue
            trial = [*rest[:slot], link, *rest[slot:]]
            r = runs(trial)
            if r < best:
                order, best = trial, r
                break
    if order == list(range(n)):
        return program, None
    moved = dataclasses.replace(
        program, nodes=tuple(nodes[i] for i in order), ops=tuple(ops[i] for i in order)
    )
    return moved, tuple(order)


def alias_reads(program):
    """``program`` with variable reads (``Identity`` of a variable) aliased to the variable.

    An aliased read's output slot becomes a ref slot: consumers read the variable's storage
    at their point of use (no copy per step). That equals the interpreter's copy only when no
    node that may write the variable comes before the read's last consumer, and the read is
    not fetched when anything writes the variable (a fetch is taken at the end of the run).
    """
    ref = dict(program.ref_slots)
    nodes = program.nodes
    last_use: dict = {}
    for i, node in enumerate(nodes):
        for s in node.inputs:
            last_use[s] = i
    first_write: dict = {}
    for i, node in enumerate(nodes):
        if node.var >= 0:
            first_write.setdefault(node.var, i)
    fetched = set(program.fetch_slots)
    extra = []
    for node in nodes:
        o = node.opdef
        if not (
            o.kind == R.INJECTIVE
            and o.scalar == "{0}"
            and not o.stateful
            and not o.uses_ctx
            and len(node.inputs) == 1
            and len(node.outputs) == 1
            and node.inputs[0] in ref
        ):
            continue
        src, out = node.inputs[0], node.outputs[0]
        v = ref[src]
        if program.slot_tensors[src].dtype != program.slot_tensors[out].dtype:
            continue
        w = first_write.get(v)
        if w is not None and (w < last_use.get(out, -1) or out in fetched):
            continue
        extra.append((out, v))
    if not extra:
        return program
    return dataclasses.replace(program, ref_slots=tuple(program.ref_slots) + tuple(extra))


def sum_to_shape(program):
    """``(program, kept)``: each run-time unbroadcast as one ``SumToShape`` node.

    The gradient of a broadcasting binary op whose operands have unknown dimensions sums
    its incoming gradient ``g`` down to the operand ``x`` at run time, as TF builds it:
    ``Reshape(Sum(g, BroadcastGradientArgs(Shape(x), Shape(g))[0]), Shape(x))``. In a
    chain that is five links (about 60 us a step in a small MLP); ``SumToShape(g, x)``
    computes the same values in one, and returns ``g`` itself when the shapes are equal (the
    usual case: ``y - pred`` with both ``[None, 1]``). A pattern whose reduction axes
    ``fold`` can find from the static shapes is left alone: it compiles into a segment.
    The ``Reshape`` node becomes the ``SumToShape`` node (its op still names it); the
    ``Sum``, ``BroadcastGradientArgs`` and ``Shape`` nodes are dropped when nothing else
    reads them. ``kept[k]`` is the index in ``program`` of node ``k`` of the result
    (``None`` when nothing changed).
    """
    nodes = program.nodes
    producer = {s: i for i, node in enumerate(nodes) for s in node.outputs}
    tensors = program.slot_tensors
    replace: dict = {}
    maybe_dead: set = set()
    for i, node in enumerate(nodes):
        found = _unbroadcast_at(nodes, producer, tensors, node)
        if found is not None:
            (g, x), parts = found
            opdef = R.get("SumToShape")
            attrs = {"T": tensors[g].dtype}
            replace[i] = Node("SumToShape", attrs, (g, x), node.outputs, opdef=opdef)
            maybe_dead.update(parts)
    if not replace:
        return program, None
    new = [replace.get(i, node) for i, node in enumerate(nodes)]
    dead = _dead(new, maybe_dead, set(program.fetch_slots))
    kept = tuple(i for i in range(len(new)) if i not in dead)
    moved = dataclasses.replace(
        program,
        nodes=tuple(new[i] for i in kept),
        ops=tuple(program.ops[i] for i in kept),
    )
    return moved, kept


_XENT = ("SoftmaxCrossEntropyWithLogits", "SparseSoftmaxCrossEntropyWithLogits")
_BIAS_ADDS = frozenset({"BiasAdd", "AddV2", "Add"})


def bias_xent(program):
    """``(program, kept)``: a cross-entropy whose logits come from a bias add that nothing
    else reads, as one ``Bias<xent>`` node over ``(x, bias, labels)``.

    The logits of a classifier are ``matmul(h, w) + b``; as two nodes they are a segment
    (the add, writing the logits) and a link (the cross-entropy, reading them). The fused
    link adds the bias inside its row loop, as TF's grappler folds such adds into their
    consumers. An ``AddV2``/``Add`` qualifies when one operand is a rank-2 matrix and the
    other a vector (static ranks), a ``BiasAdd`` when its value is rank 2; a logits tensor
    that is fetched or read by another node (accuracy, a summary) keeps both nodes. The
    fused node's kernel checks the run-time shapes and otherwise runs the two ops' kernels,
    with their errors. ``kept`` as in :func:`sum_to_shape`.
    """
    nodes = program.nodes
    producer = {s: i for i, node in enumerate(nodes) for s in node.outputs}
    tensors = program.slot_tensors
    readers: dict = {}
    for node in nodes:
        for s in node.inputs:
            readers[s] = readers.get(s, 0) + 1
    fetched = set(program.fetch_slots)
    replace: dict = {}
    adds: set = set()
    for i, node in enumerate(nodes):
        if node.op_type not in _XENT:
            continue
        logits, labels = node.inputs
        j = producer.get(logits)
        if j is None or readers.get(logits) != 1 or logits in fetched:
            continue
        add = nodes[j]
        if add.op_type not in _BIAS_ADDS or add.var >= 0 or len(add.inputs) != 2:
            continue
        x, b = add.inputs
        rx, rb = tensors[x].shape.ndims, tensors[b].shape.ndims
        if add.op_type != "BiasAdd" and (rx, rb) == (1, 2):
            x, b, rx, rb = b, x, rb, rx  # b + x == x + b, bit for bit
        if (rx, rb) != (2, 1) or tensors[x].dtype != tensors[b].dtype:
            continue
        op_type = "Bias" + node.op_type
        attrs = {**node.attrs, "add": add.op_type, "add_attrs": tuple(sorted(add.attrs.items()))}
        replace[i] = Node(op_type, attrs, (x, b, labels), node.outputs, opdef=R.get(op_type))
        adds.add(j)
    if not replace:
        return program, None
    kept = tuple(i for i in range(len(nodes)) if i not in adds)
    new = [replace.get(i, node) for i, node in enumerate(nodes)]
    moved = dataclasses.replace(
        program,
        nodes=tuple(new[i] for i in kept),
        ops=tuple(program.ops[i] for i in kept),
    )
    return moved, kept


def _unbroadcast_at(nodes, producer, tensors, node):
    """``((g, x), node indices)`` when ``node`` ends a run-time unbroadcast, else ``None``."""
    if node.op_type != "Reshape" or len(node.inputs) != 2:
        return None
    summed, sx = node.inputs

    def made_by(slot, op_type):
        i = producer.get(slot)
        if i is None or nodes[i].op_type != op_type:
            return None, None
        return i, nodes[i]

    i_sum, total = made_by(summed, "Sum")
    i_bga, bga = made_by(total.inputs[1], "BroadcastGradientArgs") if total else (None, None)
    if bga is None or total.attrs.get("keep_dims") or total.inputs[1] != bga.outputs[0]:
        return None
    g = total.inputs[0]
    if bga.inputs[0] != sx:
        return None
    i_sx, shape_x = made_by(sx, "Shape")
    i_sg, shape_g = made_by(bga.inputs[1], "Shape")
    if shape_x is None or shape_g is None or shape_g.inputs[0] != g:
        return None
    x = shape_x.inputs[0]
    xs, gs = tensors[x].shape, tensors[g].shape
    if xs.ndims is None or gs.ndims is None:
        return None
    if xs.is_fully_defined() and gs.is_fully_defined():
        return None  # fold computes the axes: the Sum compiles
    folded = _fold_symbolic(bga.opdef, bga, [xs.as_list(), gs.as_list()])
    if folded is not None and folded[0] is not None:
        return None
    return (g, x), {i_sum, i_bga, i_sx, i_sg}


def _dead(nodes, candidates, fetched):
    """Indices among ``candidates`` whose outputs nothing reads any more (to a fixed point)."""
    dead: set = set()
    while True:
        used = set(fetched)
        for i, node in enumerate(nodes):
            if i not in dead:
                used.update(node.inputs)
        more = {
            i
            for i in candidates - dead
            if not nodes[i].opdef.stateful and not used & set(nodes[i].outputs)
        }
        if not more:
            return dead
        dead |= more
