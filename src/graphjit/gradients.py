"""Symbolic differentiation: ``tf.gradients`` builds gradient ops into the graph.

Gradients are ordinary graph ops (under the ``gradients/`` name scope), so they are pruned,
fused and compiled like any other op. Each op type's rule is the ``grad`` field of its registry
entry: ``grad(op, *output_grads) -> [input_grad or None, ...]``, registered by the
``ops/grads_*.py`` modules. An op type whose entry has no ``grad`` raises ``LookupError`` when a
gradient must flow through it, as TF does.

As in TF, only float and complex tensors carry gradients (an int ``y`` or an int path gives
``None``), and a rule may return an :class:`~graphjit.sparse.IndexedSlices` (``gather`` along
axis 0): slices reaching an ``x`` are returned as such, several are concatenated, and a rule
that is not a pass-through (``Identity``) receives them densified.
"""

from __future__ import annotations

from . import dtypes as _dt
from .graph import Operation, Tensor, convert_to_tensor
from .ops import registry
from .sparse import IndexedSlices

# Rules that pass an IndexedSlices gradient through unchanged (TF's _IdGrad and friends).
_SLICES_PASS_THROUGH = frozenset({"Identity", "StopGradient", "PlaceholderWithDefault"})


def _load_rules():
    from .ops import grads_array, grads_math, grads_nn  # noqa: F401  (register grads)


def gradients(
    ys,
    xs,
    grad_ys=None,
    name="gradients",
    colocate_gradients_with_ops=False,
    gate_gradients=False,
    aggregation_method=None,
    stop_gradients=None,
    unconnected_gradients="none",
):
    """Symbolic partial derivatives of ``sum(ys)`` with respect to each of ``xs``.

    Parameters
    ----------
    ys, xs : Tensor or list of Tensor
        What to differentiate and with respect to what (variables stand for their value).
    grad_ys : list, optional
        Initial gradients for ``ys`` (default: ones shaped like each ``y``).
    stop_gradients : list, optional
        Tensors treated as constants: no gradient flows through them.
    unconnected_gradients : {"none", "zero"}
        What an ``x`` that no ``y`` depends on gets.

    Returns
    -------
    list
        One entry per ``x``: a Tensor, or ``None`` when ``x`` is unconnected.

    Examples
    --------
    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     x = tf.constant(3.0)
    ...     (dx,) = tf.gradients(x * x, [x])
    ...     print(tf.Session().run(dx))
    6.0
    """
    _load_rules()
    ys = _as_list(ys)
    xs = _as_list(xs)
    ys = [convert_to_tensor(y) for y in ys]
    # A TF1 variable stands for its ref output, so every read of it is on the path.
    xs = [x._ref() if hasattr(x, "_ref") else convert_to_tensor(x) for x in xs]
    if grad_ys is None:
        grad_ys = [None] * len(ys)
    else:
        grad_ys = _as_list(grad_ys)
    if len(grad_ys) != len(ys):
        raise ValueError(f"Passed {len(grad_ys)} grad_ys for {len(ys)} ys")
    if unconnected_gradients not in ("none", "zero"):
        raise ValueError(f"Unknown value for unconnected_gradients: '{unconnected_gradients}'")
    g = ys[0].graph
    stops = {id(t.op) for t in _as_list(stop_gradients or [])}
    with g.as_default(), g.name_scope(name):
        between = _between_ops(g, ys, xs)
        grads: dict[int, list] = {}  # id(tensor) -> list of partial gradients
        tensors: dict[int, Tensor] = {}
        for i, (y, gy) in enumerate(zip(ys, grad_ys)):
            gy = _initial_grad(y, gy, i)
            if gy is not None:
                _add(grads, tensors, y, gy)
        pending = _pending_counts(between)
        ready = [op for op in _unique(y.op for y in ys) if pending.get(id(op), 0) == 0]
        done = set()
        while ready:
            op = ready.pop()
            if id(op) in done:
                continue
            done.add(id(op))
            out_grads = [_aggregate(grads, t) for t in op.outputs]
            has_grad = any(gr is not None for gr in out_grads)
            # an op none of whose inputs is on a path from an x (an x's own op, say) is
            # where backprop stops, as TF's _StopOps: its rule is not even asked
            feeds_path = any(id(t.op) in between for t in op.inputs)
            if has_grad and feeds_path and id(op) not in stops and id(op) in between:
                in_grads = _call_grad(op, out_grads, g, between)
                for t, gr in zip(op.inputs, in_grads):
                    if gr is not None and _backpropagatable(t):
                        _add(grads, tensors, t, gr)
            for t in op.inputs:
                p = t.op
                if id(p) not in between:
                    continue
                pending[id(p)] -= 1
                if pending[id(p)] == 0:
                    ready.append(p)
        out = []
        for x in xs:
            gr = _aggregate(grads, x)
            if gr is None and unconnected_gradients == "zero":
                from .ops.array_more import zeros_like

                gr = zeros_like(x)
            out.append(gr)
        return out


def _as_list(v):
    if isinstance(v, (list, tuple)):
        return list(v)
    return [v]


def _unique(ops):
    seen, out = set(), []
    for op in ops:
        if id(op) not in seen:
            seen.add(id(op))
            out.append(op)
    return out


def _backpropagatable(t) -> bool:
    """Float and complex tensors carry gradients (TF's ``_IsBackpropagatable``), and so do
    the accumulated lists a forward ``While`` outputs for its gradient (``variant``; TF counts
    variants as trainable): second-order gradients through ``tf.while_loop`` flow through
    them (``ops/grads_while.py``)."""
    if t.dtype.is_floating or t.dtype.is_complex:
        return True
    return t.dtype == _dt.variant and t.op.type in ("While", "StatelessWhile")


def _between_ops(g, ys, xs) -> dict[int, Operation]:
    """Ops on a data path from some x to some y (the ops whose gradients are needed).

    The forward walk only follows float/complex outputs, so an integer path (``cast`` to int,
    an int ``y``) is not on it and its ``x`` gets ``None``, as in TF.
    """
    consumers: dict[tuple[int, int], list[Operation]] = {}
    for op in g.get_operations():
        for t in op.inputs:
            consumers.setdefault((id(t.op), t.value_index), []).append(op)
    reached = set()
    stack = [x.op for x in xs]
    while stack:
        op = stack.pop()
        if id(op) in reached:
            continue
        reached.add(id(op))
        for t in op.outputs:
            if _backpropagatable(t):
                stack.extend(consumers.get((id(op), t.value_index), ()))
    between: dict[int, Operation] = {}
    stack = [y.op for y in ys]
    while stack:
        op = stack.pop()
        if id(op) in between or id(op) not in reached:
            continue
        between[id(op)] = op
        stack.extend(t.op for t in op.inputs)
    return between


def _pending_counts(between) -> dict[int, int]:
    """For each op in ``between``, how many data edges from ops in ``between`` consume it."""
    pending = dict.fromkeys(between, 0)
    for op in between.values():
        for t in op.inputs:
            if id(t.op) in pending:
                pending[id(t.op)] += 1
    return pending


def _initial_grad(y, gy, i):
    from .ops.array import shape
    from .ops.array_more import fill, ones

    if gy is None:
        if not _backpropagatable(y):
            return None  # TF: no gradient flows from an int y, so every x gets None
        if y.shape.is_fully_defined():
            return ones(y.shape.as_list(), y.dtype, name=f"grad_ys_{i}")
        import numpy as np

        return fill(shape(y), np.ones((), y.dtype.np), name=f"grad_ys_{i}")
    gy = convert_to_tensor(gy, dtype=y.dtype)
    if not y.shape.is_compatible_with(gy.shape):
        raise ValueError(
            f"Incompatible shapes between op input and calculated input gradient. "
            f"Forward operation: {y.op.name}. Input index: 0. Original input shape: {y.shape}. "
            f"Calculated input gradient shape: {gy.shape}"
        )
    return gy


def _add(grads, tensors, t, gr):
    grads.setdefault(id(t), []).append(gr)
    tensors[id(t)] = t


def _aggregate(grads, t):
    """Sum the partial gradients of ``t`` with one AddN (fan-out), replacing the list.

    IndexedSlices parts are concatenated into one IndexedSlices when all parts are slices, and
    densified into the AddN otherwise (TF's ``AggregateIndexedSlicesGradients``).
    """
    parts = grads.get(id(t))
    if not parts:
        return None
    if len(parts) > 1:
        if all(isinstance(p, IndexedSlices) for p in parts):
            parts[:] = [_concat_slices(parts)]
        else:
            from .ops.math_more import add_n_op

            parts[:] = [add_n_op([densify(p) for p in parts])]
    return parts[0]


def _concat_slices(parts):
    from . import dtypes as _dt
    from .ops.array import cast
    from .ops.array_more import concat

    idx = [p.indices for p in parts]
    if len({i.dtype for i in idx}) > 1:
        idx = [i if i.dtype == _dt.int64 else cast(i, _dt.int64) for i in idx]
    return IndexedSlices(
        concat([p.values for p in parts], 0), concat(idx, 0), parts[0].dense_shape
    )


def densify(grad):
    """``grad`` as a dense Tensor: IndexedSlices are summed into zeros (unsorted_segment_sum)."""
    if not isinstance(grad, IndexedSlices):
        return grad
    from .ops.indexing import unsorted_segment_sum

    if grad.dense_shape is None:
        raise ValueError(f"Cannot densify IndexedSlices {grad} without a dense_shape")
    dense = unsorted_segment_sum(grad.values, grad.indices, grad.dense_shape[0])
    dense.set_shape(grad.shape)
    return dense


# The ``between`` set of each gradients() call whose rule is running (innermost last).
_BETWEEN: list = []


def input_needed(t: Tensor) -> bool:
    """Whether the gradients() call running a rule needs the gradient of input ``t``.

    Rules that build costly gradients per input (``While``) skip the inputs no ``x`` reaches.
    """
    return not _BETWEEN or _BETWEEN[-1] is None or id(t.op) in _BETWEEN[-1]


def _call_grad(op: Operation, out_grads, g, between=None):
    fn = registry.get(op.type).grad
    if fn is None:
        raise LookupError(f"No gradient defined for operation '{op.name}' (op type: {op.type})")
    if op.type not in _SLICES_PASS_THROUGH:
        out_grads = [densify(gr) for gr in out_grads]
    if any(gr is None for gr in out_grads):
        from .ops.array_more import zeros_like

        out_grads = [
            zeros_like(t) if gr is None and (t.dtype.is_floating) else gr
            for t, gr in zip(op.outputs, out_grads)
        ]
    scope = op.name + "_grad"
    _BETWEEN.append(between)
    try:
        with g.name_scope(scope):
            in_grads = list(fn(op, *out_grads))
    finally:
        _BETWEEN.pop()
    if len(in_grads) != len(op.inputs):
        raise ValueError(
            f"Num gradients {len(in_grads)} generated for op {op.node_def} do not match num "
            f"inputs {len(op.inputs)}"
        )
    for t, gr in zip(op.inputs, in_grads):
        if gr is not None and isinstance(gr, Tensor):
            if not t.shape.is_compatible_with(gr.shape):
                raise ValueError(
                    f"Incompatible shapes between op input and calculated input gradient. "
                    f"Forward operation: {op.name}. Original input shape: {t.shape}. "
                    f"Calculated input gradient shape: {gr.shape}"
                )
    return in_grads
