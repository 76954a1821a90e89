"""Gradients of ``While``/``StatelessWhile`` (``tf.while_loop``), TF's while_v2 scheme.

Forward loop ``v[i+1] = body(v[i], captures)`` for ``i < n``. Its gradient is a second loop
that runs ``n`` times, from the last iteration back to the first, applying the body's
vector-Jacobian product::

    gv = d(ys)/d(v[n])                    (the output gradients)
    for i = n-1 .. 0:
        gv, gc_i = vjp(body at iteration i)(gv)
    d/d(initial values) = gv;  d/d(captures) = sum_i gc_i

The VJP is built once, when the gradient is built, by graphjit's own ``gradients`` over the
body's ops, inside the backward loop's body. Those gradient ops need the body's values at
iteration ``i`` (its loop variables and intermediates). They cannot read them inside the
forward op; instead each such tensor is *accumulated*: the forward body fetches it too (the
body SubGraph's ``extra``), the forward kernel keeps its value from every iteration in a list,
and the list leaves the forward op as an extra ``variant`` output. In the backward body the
tensor is replaced by ``TensorListGetItem(list, i)``. The forward op also gains an output with
its iteration count ``n``, which starts the backward loop. Memory is O(iterations x
accumulated size), as in TF. Accumulated values are recorded, never recomputed, so random ops
and assignments in the body run once per iteration and the gradient sees the values the
forward pass used.

Nesting works through the same export hook cond gradients use (``_State.export``): a loop
inside a branch or body exports its lists from the enclosing op in turn.

Second order (differentiating a gradient loop, as TF's while_v2 allows): the gradient loop
reads each accumulated list once per iteration (``TensorListGetItem`` at the forward
index). Its own gradient loop runs its iterations backwards, i.e. forward iterations in
order, and pushes the gradient of each value read onto a new list: that list is the
gradient of the forward loop's list output (``variant`` tensors that are loop outputs
carry gradients, as in TF). The forward loop's gradient then adds element ``i`` of such a
list to the gradient of the accumulated value at iteration ``i``.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..shapes import TensorShape
from ..tensor import Tensor


def _differentiable(dtype) -> bool:
    return dtype.is_floating or dtype.is_complex


class _Builder:
    """The backward body being built for one forward While: its frame, index and exports."""

    __slots__ = ("frame", "index", "memo", "op")

    def __init__(self, op):
        self.op = op
        self.frame = None  # the backward body's frame, once its function runs
        self.index: Tensor | None = None  # forward iteration index (int32) in that body
        self.memo: dict[int, Tensor] = {}

    def get(self, t: Tensor) -> Tensor:
        """``t``'s value at the current iteration, read from its accumulated list."""
        hit = self.memo.get(id(t))
        if hit is not None:
            return hit
        if self.frame is None:
            raise ValueError(f"Tensor '{t.name}' is used before the gradient loop is built.")
        acc = accumulator(self.op, t)
        g = t.graph
        from .array import constant
        from .control_flow import _state

        st = _state(g)
        # Built in the backward body's own frame even when a nested gradient loop (whose frame
        # is innermost now) asks: the read is shared by every op of this body that needs it.
        stack, control = st.stack, g._control_stack
        st.stack = stack[: stack.index(self.frame) + 1]
        g._control_stack = []
        try:
            dims = t.shape.as_list() if t.shape.ndims is not None else None
            shape = constant(np.array(-1 if dims is None else [-1 if d is None else d
                                                                for d in dims], np.int32),
                             name="element_shape")  # fmt: skip
            out = g.create_op(
                "TensorListGetItem",
                [acc, self.index, shape],
                {"element_dtype": t.dtype},
                name="TensorListGetItem",
            ).outputs[0]
        finally:
            st.stack, g._control_stack = stack, control
        self.memo[id(t)] = out
        return out


def _n_vars(op) -> int:
    return len(op._attrs["T"])


def iteration_count(op) -> Tensor:
    """The forward op's iteration-count output (added on first use)."""
    n = _n_vars(op)
    if len(op._outputs) == n:
        op._outputs = (*op._outputs, Tensor(op, n, _dt.int32, TensorShape([])))
    return op._outputs[n]


def accumulator(op, t: Tensor) -> Tensor:
    """The forward op's output listing ``t``'s value at every iteration (added if needed)."""
    n = _n_vars(op)
    body = op._attrs["body"]
    for k, e in enumerate(body.extra):
        if e is t:
            return op._outputs[n + 1 + k]
    iteration_count(op)
    # A new SubGraph: programs pruned before keep the old body and their own outputs.
    op._attrs["body"] = body.replace(extra=(*body.extra, t))
    out = Tensor(op, len(op._outputs), _dt.variant, TensorShape([]))
    op._outputs = (*op._outputs, out)
    return out


def export_from_while(frame, t: Tensor) -> Tensor:
    """Export hook for tensors of a While's body: the value read in the gradient loop."""
    from .control_flow import _state

    b = _state(t.graph).while_grads.get(id(frame.op))
    if b is None:
        raise ValueError(
            f"Tensor '{t.name}' is computed inside the body of '{frame.op.name}' "
            f"({frame.op.type}) and cannot be used outside it; return it from the body instead."
        )
    return b.get(t)


def while_grad(op, *grads):
    """Input gradients of a While: ``[None (max iterations)], d/d loop vars, d/d captures``.

    The captures' part also covers the variables the body reads (inputs after the captures).
    """
    from ..gradients import densify, gradients, input_needed
    from .array_more import zeros_like
    from .control_flow import _state
    from .loops import _less_specific, while_loop

    attrs = op._attrs
    n = _n_vars(op)
    off = 1 if attrs["has_maximum_iterations"] else 0
    body = attrs["body"]
    phs, caps = list(body.feeds[:n]), list(body.feeds[n:])
    # outer variables the body reads live: differentiated like captures (inputs after them)
    caps += list(op.inputs[off + n + len(caps) :])
    result = [None] * len(op.inputs)
    # A gradient loop reads a forward loop's accumulated lists: differentiating it (second
    # order) gives each list a list of per-iteration gradients (see _list_reads).
    lists = _list_reads(op, caps) if any(c.dtype == _dt.variant for c in caps) else {}
    vi = [k for k in range(n) if _differentiable(attrs["T"][k])]
    # captures no x depends on need no gradient (a sequence the body gathers from, say)
    ci = [j for j, c in enumerate(caps)
          if _differentiable(c.dtype) and input_needed(op.inputs[off + n + j])]  # fmt: skip
    li = [j for j in lists if input_needed(op.inputs[off + n + j])]
    # gradients arriving for this loop's own accumulated lists (it is a forward loop)
    extra = list(body.extra)
    list_grads = [(e, grads[n + 1 + k]) for k, e in enumerate(extra)
                  if n + 1 + k < len(grads) and grads[n + 1 + k] is not None]  # fmt: skip
    if not vi or (all(k >= len(grads) or grads[k] is None for k in vi) and not list_grads):
        return result
    gv0 = [densify(grads[k]) if grads[k] is not None else zeros_like(op.outputs[k]) for k in vi]
    gc0 = [zeros_like(caps[j]) for j in ci] + [_empty_list(lists[j]) for j in li]
    ys = [body.fetches[k] for k in vi] + [e for e, _ in list_grads]
    xs = [phs[k] for k in vi] + [caps[j] for j in ci] + [lists[j] for j in li]
    var_shapes = [attrs["output_shapes"][k] for k in vi]
    cap_shapes = [caps[j].shape for j in ci] + [TensorShape([])] * len(li)
    count = iteration_count(op)
    nc = len(ci)

    g = op.graph
    st = _state(g)
    builder = _Builder(op)
    prev = st.while_grads.get(id(op))
    st.while_grads[id(op)] = builder
    st.exporting += 1

    def _fit(t, shape):
        # a gradient may know less about its shape than the loop variable's invariant
        if not _less_specific(shape, t.shape):
            t.set_shape(shape)
        return t

    def cond(k, gv, gc):
        return k > 0

    def step(k, gv, gc):
        builder.frame = st.stack[-1]
        builder.index = k - 1
        # this iteration's share of the gradients that came for accumulated values
        extra_gy = [_list_item(gl, builder.index, e) for e, gl in list_grads]
        dx = gradients(ys, xs, grad_ys=list(gv) + extra_gy,
                       stop_gradients=[caps[j] for j in ci])  # fmt: skip
        new_gv = [_fit(densify(d), s) if d is not None else zeros_like(v)
                  for d, v, s in zip(dx[: len(vi)], gv, var_shapes)]  # fmt: skip
        new_gc = [c if d is None else _fit(c + densify(d), s)
                  for d, c, s in zip(dx[len(vi) : len(vi) + nc], gc[:nc], cap_shapes)]  # fmt: skip
        # a list read: push this iteration's gradient of the value read (this loop runs
        # the reading loop's iterations backwards, so pushes come in forward order)
        for d, c, j in zip(dx[len(vi) + nc :], gc[nc:], li):
            value = lists[j]
            new_gc.append(_push(c, densify(d) if d is not None else zeros_like(value)))
        return k - 1, new_gv, new_gc

    try:
        _, gv, gc = while_loop(
            cond,
            step,
            [count, gv0, gc0],
            shape_invariants=[TensorShape([]), var_shapes, cap_shapes],
            parallel_iterations=attrs.get("parallel_iterations", 10),
            name="while",
        )
    finally:
        st.exporting -= 1
        if prev is None:
            st.while_grads.pop(id(op), None)
        else:
            st.while_grads[id(op)] = prev
    for k, t in zip(vi, gv):
        result[off + k] = t
    for j, t in zip(ci + li, gc):
        result[off + n + j] = t
    return result


def _list_reads(op, caps) -> dict:
    """``{capture index: the value the body reads from it}`` for the accumulated lists a
    gradient loop ``op`` captures (one ``TensorListGetItem`` at this iteration's forward
    index each, as :class:`_Builder` builds them); ``LookupError`` for a list read any
    other way."""
    body = op._attrs["body"]
    off = 1 if op._attrs["has_maximum_iterations"] else 0
    n = _n_vars(op)
    reads = {}
    for j, c in enumerate(caps):
        if c.dtype != _dt.variant:
            continue
        outer = op.inputs[off + n + j]
        users = [o for o in op.graph.get_operations()
                 if id(o) in body.ids and any(t is c for t in o.inputs)]  # fmt: skip
        if outer.op.type not in ("While", "StatelessWhile") or [u.type for u in users] != [
            "TensorListGetItem"
        ]:
            raise LookupError(
                f"No gradient defined for operation '{op.name}' (op type: {op.type}): its "
                f"body reads the list '{outer.name}' in a way graphjit cannot differentiate."
            )
        reads[j] = users[0].outputs[0]
    return reads


def _empty_list(value: Tensor) -> Tensor:
    """An empty accumulated list for values like ``value``."""
    from .array import constant

    g = value.graph
    shape = constant(np.int32(-1), name="element_shape")
    return g.create_op(
        "EmptyTensorList", [shape, shape], {"element_dtype": value.dtype,
                                            "shape_type": _dt.int32}, name="EmptyTensorList"
    ).outputs[0]  # fmt: skip


def _push(handle: Tensor, value: Tensor) -> Tensor:
    return handle.graph.create_op(
        "TensorListPushBack", [handle, value], {"element_dtype": value.dtype},
        name="TensorListPushBack",
    ).outputs[0]  # fmt: skip


def _list_item(handle: Tensor, index: Tensor, like: Tensor) -> Tensor:
    """Element ``index`` of a list of gradients for values like ``like``."""
    from .array import constant

    dims = like.shape.as_list() if like.shape.ndims is not None else None
    shape = constant(np.array(-1 if dims is None else [-1 if d is None else d for d in dims],
                              np.int32), name="element_shape")  # fmt: skip
    out = handle.graph.create_op(
        "TensorListGetItem", [handle, index, shape], {"element_dtype": like.dtype},
        name="TensorListGetItem",
    ).outputs[0]  # fmt: skip
    out.set_shape(like.shape)
    return out


def _get_item_infer(inputs, attrs):
    from ..graph_api import constant_value

    dims = constant_value(inputs[2])
    if dims is None or np.ndim(dims) == 0:
        shape = TensorShape(None)
    else:
        shape = TensorShape([None if d < 0 else int(d) for d in np.asarray(dims).tolist()])
    return [(attrs["element_dtype"], shape)]


def _get_item_grad(op, grad):
    """Nothing flows to the list through this rule: the gradient loop that differentiates a
    loop reading the list gathers the reads' gradients itself (see ``while_grad``)."""
    return [None, None, None]


def _get_item_kernel(handle, index, element_shape, element_dtype, **_):
    items = np.asarray(handle, dtype=object).item()
    i = int(index)
    if not 0 <= i < len(items):
        raise IndexError(f"Trying to access element {i} in a list with {len(items)} elements.")
    return items[i]


# The forward loop's accumulators as TensorFlow's while_v2 writes them in a GraphDef (see
# graph_functions): an empty list before the loop, one push per iteration. graphjit's own
# forward loops keep their lists inside the While kernel; these ops run an imported one.
def _list_infer(inputs, attrs):
    return [(_dt.variant, TensorShape([]))]


def _empty_list_kernel(element_shape, max_num_elements, element_dtype, **_):
    from .control_flow import _list_value

    return _list_value([])


def _push_back_kernel(handle, tensor, element_dtype, **_):
    """A new list (the input list may be read elsewhere, as values are immutable)."""
    from .control_flow import _list_value

    items = np.asarray(handle, dtype=object).item()
    return _list_value([*items, tensor])
