"""Gradients of control flow: ``If``/``StatelessIf`` (``While``: see ``grads_while.py``).

The gradient of a cond is another cond on the same predicate whose branches differentiate the
forward branches (TF's cond_v2 scheme). Gradient ops reading a forward branch's intermediate
values cannot reach inside the forward ``If``; instead the value is *exported*: appended as a
new output of the forward op (the other branch yields a dummy zero there), and the gradient
branch captures that output. Programs pruned before the export keep their own (older)
sub-program attributes, so they stay valid.
"""

from __future__ import annotations

from ..tensor import Tensor

_WHILE = frozenset({"While", "StatelessWhile"})


def export_output(frame, t: Tensor) -> Tensor:
    """The output of ``frame``'s control-flow op carrying ``t`` (added if needed)."""
    op = frame.op
    if op is None:
        raise ValueError(f"Tensor '{t.name}' is used before its control-flow op is built.")
    if op.type in _WHILE:
        from .grads_while import export_from_while

        return export_from_while(frame, t)
    then_b, else_b = op._attrs["then_branch"], op._attrs["else_branch"]
    for b in (then_b, else_b):
        for k, f in enumerate(b.fetches):
            if f is t:
                return op._outputs[k]
    mine = then_b if id(t.op) in then_b.ids else else_b
    op._attrs["then_branch"] = then_b.replace(
        fetches=(*then_b.fetches, t if mine is then_b else None)
    )
    op._attrs["else_branch"] = else_b.replace(
        fetches=(*else_b.fetches, t if mine is else_b else None)
    )
    op._attrs["Tout"] = [*op._attrs["Tout"], t.dtype]
    op._attrs["output_shapes"] = [*op._attrs["output_shapes"], t.shape]
    out = Tensor(op, len(op._outputs), t.dtype, t.shape)
    op._outputs = (*op._outputs, out)
    return out


def if_grad(op, *grads):
    """Input gradients of an If: ``[None (pred), d/d capture ...]`` via a cond of gradients."""
    from ..gradients import gradients
    from .array_more import zeros_like
    from .control_flow import _state, cond

    # inputs: the predicate, the captures (Tin), then variables a branch reads live
    pred, caps = op.inputs[0], op.inputs[1:]
    xs = [c for c in caps if c.dtype.is_floating or c.dtype.is_complex]
    pairs = [
        (k, gr)
        for k, gr in enumerate(grads)
        if gr is not None and (op.outputs[k].dtype.is_floating or op.outputs[k].dtype.is_complex)
    ]
    result = [None] * len(op.inputs)
    if not xs or not pairs:
        return result

    def branch_grad(branch):
        def fn():
            ys, gys = [], []
            for k, gr in pairs:
                y = branch.fetches[k] if k < len(branch.fetches) else None
                if y is not None:
                    ys.append(y)
                    gys.append(gr)
            if not ys:
                return [zeros_like(x) for x in xs]
            return gradients(ys, xs, grad_ys=gys, stop_gradients=xs, unconnected_gradients="zero")

        return fn

    then_b, else_b = op._attrs["then_branch"], op._attrs["else_branch"]
    st = _state(op.graph)
    st.exporting += 1
    try:
        outs = cond(pred, branch_grad(then_b), branch_grad(else_b), name="cond_grad")
    finally:
        st.exporting -= 1
    by_id = {id(x): o for x, o in zip(xs, outs)}
    for i, c in enumerate(caps):
        result[i + 1] = by_id.get(id(c))
    return result
