"""``tf.while_loop`` as a functional ``While``/``StatelessWhile`` op (see ``control_flow.py``).

The cond and body functions run once, on placeholders standing for the loop variables (shaped
by the shape invariants), inside one frame; the node holds two sub-programs over the same
feeds (loop variables, then captured outer tensors). The kernel iterates them in the
interpreter. ``tf.gradients`` through a loop builds a backward loop over the iterations the
forward loop recorded (see ``grads_while.py``); ``back_prop=False`` cuts it with
``StopGradient`` on the outputs, as TF does.
"""

from __future__ import annotations

from .. import dtypes as _dt
from ..graph import Tensor, convert_to_tensor, get_default_graph
from ..shapes import TensorShape, as_shape
from . import control_flow as cf
from .nest import flatten, pack_as, same_structure


def _flatten_up_to(structure, x):
    """Flatten ``x`` following ``structure``'s nesting (leaves of ``x`` may be sequences)."""
    if isinstance(structure, dict):
        return [v for k in sorted(structure) for v in _flatten_up_to(structure[k], x[k])]
    if isinstance(structure, (list, tuple)):
        if not isinstance(x, (list, tuple)) or len(x) != len(structure):
            raise ValueError(
                f"shape_invariants {x!r} must have the same structure as loop_vars {structure!r}"
            )
        return [v for s, xi in zip(structure, x) for v in _flatten_up_to(s, xi)]
    return [x]


def _shape_str(shape) -> str:
    dims = as_shape(shape).as_list() if as_shape(shape).ndims is not None else None
    if dims is None:
        return "<unknown>"
    return (
        "("
        + ", ".join("None" if d is None else str(d) for d in dims)
        + ("," if len(dims) == 1 else "")
        + ")"
    )


def while_loop(
    cond,
    body,
    loop_vars,
    shape_invariants=None,
    parallel_iterations=10,
    back_prop=True,
    swap_memory=False,
    name=None,
    maximum_iterations=None,
    return_same_structure=False,
):
    """Repeat ``body`` while ``cond`` is true (``tf.while_loop``).

    ``loop_vars`` is a (nested) list/tuple/dict of tensors; ``body(*loop_vars)`` returns the
    same structure. A loop variable whose static shape changes across an iteration needs a
    less specific ``shape_invariants`` entry (else ``ValueError``). Stateful ops in the body
    run on every iteration. With ``maximum_iterations`` the loop stops after that many steps.

    ``tf.gradients`` flows through the loop to the initial values and to outer tensors the
    body uses or variables it reads (float and complex ones; integer loop variables get
    ``None``). The forward pass then keeps the values the gradient needs from every
    iteration. With ``back_prop=False`` the outputs pass through ``StopGradient`` and get no
    gradient.

    >>> import graphjit.compat.v1 as tf
    >>> with tf.Graph().as_default():
    ...     i, s = tf.while_loop(lambda i, s: i < 5, lambda i, s: (i + 1, s + i), [0, 0])
    ...     with tf.Session() as sess:
    ...         print([int(v) for v in sess.run([i, s])])
    [5, 10]
    """
    if not callable(cond):
        raise TypeError("cond must be callable.")
    if not callable(body):
        raise TypeError("body must be callable.")
    if parallel_iterations < 1:
        raise TypeError("parallel_iterations must be a positive integer.")
    single = not isinstance(loop_vars, (list, tuple))
    structure = [loop_vars] if single else loop_vars
    if not flatten(structure):
        raise ValueError("No loop variables provided")
    flat_in = [convert_to_tensor(x) for x in flatten(structure)]
    g = flat_in[0].graph if flat_in else get_default_graph()
    if shape_invariants is None:
        invariants = [t.shape for t in flat_in]
    else:
        inv = [shape_invariants] if single else shape_invariants
        invariants = [as_shape(s) for s in _flatten_up_to(structure, inv)]
    for t, s in zip(flat_in, invariants):
        if not s.is_compatible_with(t.shape):
            raise ValueError(
                f"The shape invariant specified for {t.name} is not compatible with the initial "
                f"shape of the loop variable. It enters the loop with shape "
                f"{_shape_str(t.shape)}, but the specified shape invariant is {_shape_str(s)}."
            )
    with g.as_default(), g.name_scope(name or "while") as scope:
        max_t = None
        if maximum_iterations is not None:
            max_t = convert_to_tensor(maximum_iterations, dtype=_dt.int32)
            if max_t.shape.ndims not in (None, 0):
                raise ValueError(f"maximum_iterations must be a scalar, saw shape: {max_t.shape}")
        from .array import placeholder

        with cf._frame(g) as frame:
            phs = [placeholder(t.dtype, s, name="loop_var") for t, s in zip(flat_in, invariants)]
            args = pack_as(structure, phs)
            pred = cf._check_pred(cond(*args), "cond of tf.while_loop")
            n_cond = len(frame.ops)
            out = body(*args)
            if single and not (isinstance(out, (list, tuple)) and len(out) == 1):
                out = [out]
            elif len(structure) == 1 and not isinstance(out, (list, tuple, dict)):
                out = [out]  # TF wraps a lone tensor, not a nested structure
            if not same_structure(list(structure), list(out)):
                raise ValueError(
                    "The two structures don't have the same nested structure.\n\n"
                    f"First structure: {out!r}\n\nSecond structure: {structure!r}"
                )
            flat_out = [_convert_out(x, t) for x, t in zip(flatten(out), flat_in)]
            cf._capture_outputs(frame, flat_out)
        for x, t, s in zip(flat_out, flat_in, invariants):
            if x.dtype is not t.dtype:
                raise TypeError(
                    f"Loop var {t.name} enters the loop with type {t.dtype!r} but has type "
                    f"{x.dtype!r} after 1 iteration. {t.name} type should remain constant."
                )
            if not _less_specific(s, x.shape):
                raise ValueError(
                    f"Input tensor `{t.name}` enters the loop with shape {_shape_str(s)}, but "
                    f"has shape {_shape_str(x.shape)} after one iteration. To allow the shape to "
                    "vary across iterations, use the `shape_invariants` argument of "
                    "tf.while_loop to specify a less-specific shape."
                )
        caps = [c for c in frame.captures.values()]
        feeds = phs + caps
        base = scope[:-1]
        cond_sub = cf.SubGraph(f"{base}_cond", frame.ids, feeds, [pred],
                               _stateful(frame.ops[:n_cond]))  # fmt: skip
        body_sub = cf.SubGraph(f"{base}_body", frame.ids, feeds, flat_out,
                               _stateful(frame.ops[n_cond:]))  # fmt: skip
        attrs = {
            "T": [t.dtype for t in flat_in],
            "Tcaptures": [t.dtype for t in caps],
            "output_shapes": list(invariants),
            "cond": cond_sub,
            "body": body_sub,
            "parallel_iterations": int(parallel_iterations),
            "has_maximum_iterations": max_t is not None,
        }
        stateful = cond_sub.stateful or body_sub.stateful
        # Float variables the body reads (live, through the run context) are also inputs, so
        # that tf.gradients sees the path from a variable to the loop; the kernel skips them.
        reads = [t for t in frame.reads.values() if t.dtype.is_floating or t.dtype.is_complex]
        inputs = ([max_t] if max_t is not None else []) + flat_in + caps + reads
        with g.name_scope(None):
            op = g.create_op(
                "While" if stateful else "StatelessWhile",
                inputs,
                attrs,
                name=base + "/",
                control_inputs=frame.control,
            )
        cf._close(g, frame, op)
    outs = list(op.outputs)
    if not back_prop:  # TF (while_v2) cuts the gradient at the outputs
        from .array import stop_gradient

        with g.as_default(), g.name_scope(None):
            outs = [stop_gradient(t, name=f"{base}/StopGradient") for t in outs]
    result = pack_as(structure, outs)
    if single:
        return result[0]
    if len(outs) == 1 and not return_same_structure:
        return outs[0]  # TF: one loop variable in all comes back bare, however nested
    return result


def _convert_out(x, t: Tensor) -> Tensor:
    if isinstance(x, Tensor) or hasattr(x, "_as_graph_tensor"):
        return convert_to_tensor(x)
    return convert_to_tensor(x, dtype=t.dtype)


def _less_specific(inv: TensorShape, shape: TensorShape) -> bool:
    """Whether the invariant admits ``shape`` (its known dims all match)."""
    if inv.ndims is None:
        return True
    if shape.ndims is None or shape.ndims != inv.ndims:
        return False
    return all(a is None or a == b for a, b in zip(inv.as_list(), shape.as_list()))


def _stateful(ops):
    from . import registry as R

    return [op for op in ops if cf._is_stateful(R.get(op.type)) or op.type in cf._CF_TYPES]
