"""Sparse variable updates: ScatterUpdate/Add/Sub/Mul/Div/Max/Min and CountUpTo.

Like ``Assign`` (``ops/state.py``) these name their variable through ``ref_input`` 0 and get
the run context; writes are staged and committed only when the whole run succeeds, so an
out-of-range index leaves the variable unchanged.
"""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError, OutOfRangeError
from ..graph import Tensor, convert_to_tensor
from ..shapes import TensorShape
from .array_more import INDEX
from .common import NUMERIC, check_dtype, make1
from .registry import STATEFUL, defop

_STATE = {"ref_input": 0, "uses_ctx": True, "stateful": True}


def _scatter_infer(op_type):
    def infer(inputs, attrs):
        ref, idx, upd = inputs
        check_dtype(idx.dtype, INDEX)
        if op_type != "ScatterUpdate":
            check_dtype(ref.dtype, NUMERIC)
        if ref.dtype is not upd.dtype:
            raise TypeError(
                f"Input 'updates' of '{op_type}' Op has type {upd.dtype.name} that does not "
                f"match type {ref.dtype.name} of argument 'ref'."
            )
        r, i, u = ref.shape, idx.shape, upd.shape
        if r.ndims is not None and i.ndims is not None and u.ndims not in (None, 0):
            want = TensorShape(i.as_list() + r.as_list()[1:])
            if not want.is_compatible_with(u):
                raise ValueError(
                    f"Shapes must be equal rank, but are {u.ndims} and {want.ndims} for "
                    f"'{op_type}': updates shape {u.tf_str()} must be indices.shape + "
                    f"ref.shape[1:] = {want.tf_str()}"
                )
        return [(ref.dtype, ref.shape)]

    return infer


_USED: dict = {}  # id(program) -> (program, slots read by a node or fetched)


def _output_used(program, node) -> bool:
    """Whether anything in ``program`` reads ``node``'s output (a node input or a fetch)."""
    entry = _USED.get(id(program))
    if entry is None or entry[0] is not program:
        if len(_USED) > 1024:
            _USED.clear()
        used = set(program.fetch_slots)
        for n in program.nodes:
            used.update(n.inputs)
        entry = _USED[id(program)] = (program, used)
    return node.outputs[0] in entry[1]


def _scatter_kernel(op_type, fn):
    def kernel(ctx, node, idx, upd, **attrs):
        old = ctx.read_var(node.var, node)
        n = old.shape[0] if old.ndim else 0
        flat = idx.reshape(-1)
        bad = (flat < 0) | (flat >= n)
        if bad.any():
            k = int(np.argmax(bad))
            raise InvalidArgumentError(
                None, None, f"indices[{k}] = {int(flat[k])} is not in [0, {n})"
            )
        want = idx.shape + old.shape[1:]
        if upd.ndim and upd.shape != want:
            raise InvalidArgumentError(
                None,
                None,
                f"Must have updates.shape = indices.shape + params.shape[1:] or "
                f"updates.shape = [], got updates.shape {list(upd.shape)}, indices.shape "
                f"{list(idx.shape)}, params.shape {list(old.shape)}",
            )
        rows = np.broadcast_to(upd, want).reshape(flat.shape + old.shape[1:])
        if not _output_used(ctx.program, node) and ctx.patch_var(node.var, fn, flat, rows):
            # nothing reads the op's value: the rows are written at commit, in place
            return old
        new = old.copy()
        with np.errstate(all="ignore"):
            if fn is None:
                new[flat] = rows
            else:
                fn.at(new, flat, rows)
        ctx.write_var(node.var, new)
        return new

    return kernel


_SCATTER = {
    "ScatterUpdate": None,
    "ScatterAdd": np.add,
    "ScatterSub": np.subtract,
    "ScatterMul": np.multiply,
    "ScatterDiv": np.divide,
    "ScatterMax": np.maximum,
    "ScatterMin": np.minimum,
}
for _t, _fn in _SCATTER.items():
    defop(
        _t,
        STATEFUL,
        _scatter_infer(_t),
        _scatter_kernel(_t, _fn),
        fallback="writes rows of a variable in session storage",
        attr_defaults={"use_locking": _t == "ScatterUpdate"},
        **_STATE,
    )


def _ref_of(ref, what):
    if hasattr(ref, "_ref"):
        return ref._ref()
    if isinstance(ref, Tensor) and ref.op.type == "VariableV2":
        return ref
    raise TypeError(f"{what} requires a Variable, got {type(ref).__name__}")


def _scatter_fn(op_type, fname, default_locking):
    def fn(ref, indices, updates, use_locking=default_locking, name=None):
        r = _ref_of(ref, fname)
        idx = convert_to_tensor(indices)
        upd = updates if isinstance(updates, Tensor) else convert_to_tensor(updates, r.dtype)
        attrs = {"T": r.dtype, "Tindices": idx.dtype, "use_locking": bool(use_locking)}
        with r.graph.as_default():
            return make1(op_type, [r, idx, upd], attrs, name=name or op_type)

    fn.__name__ = fname
    fn.__doc__ = f"``tf.{fname}``: ``{op_type}`` on rows ``indices`` of a variable."
    return fn


scatter_update = _scatter_fn("ScatterUpdate", "scatter_update", True)
scatter_add = _scatter_fn("ScatterAdd", "scatter_add", False)
scatter_sub = _scatter_fn("ScatterSub", "scatter_sub", False)
scatter_mul = _scatter_fn("ScatterMul", "scatter_mul", False)
scatter_div = _scatter_fn("ScatterDiv", "scatter_div", False)
scatter_max = _scatter_fn("ScatterMax", "scatter_max", False)
scatter_min = _scatter_fn("ScatterMin", "scatter_min", False)

# ------------------------------------------------------------------ CountUpTo


def _count_infer(inputs, attrs):
    (ref,) = inputs
    check_dtype(ref.dtype, {_dt.int32, _dt.int64})
    if ref.shape.ndims not in (None, 0):
        raise ValueError(f"Shape must be rank 0 but is rank {ref.shape.ndims} for 'CountUpTo'")
    return [(ref.dtype, TensorShape([]))]


def _count_kernel(ctx, node, *, limit, T=None):
    old = ctx.read_var(node.var, node)
    if old >= limit:
        raise OutOfRangeError(None, None, f"Reached limit of {limit}")
    ctx.write_var(node.var, np.asarray(old + 1, dtype=old.dtype))
    return np.array(old, copy=True)


defop("CountUpTo", STATEFUL, _count_infer, _count_kernel,
      fallback="increments a variable in session storage", **_STATE)  # fmt: skip


def count_up_to(ref, limit, name=None) -> Tensor:
    """Increment an int variable; returns the value before it, ``OutOfRangeError`` at limit."""
    r = _ref_of(ref, "count_up_to")
    with r.graph.as_default():
        return make1("CountUpTo", [r], {"T": r.dtype, "limit": int(limit)},
                     name=name or "CountUpTo")  # fmt: skip


def _apply_gd_infer(inputs, attrs):
    var, alpha, delta = inputs
    check_dtype(var.dtype, NUMERIC)
    if not (var.dtype is alpha.dtype is delta.dtype):
        raise TypeError(
            f"ApplyGradientDescent: var, alpha and delta must share a dtype, got "
            f"{var.dtype.name}, {alpha.dtype.name}, {delta.dtype.name}"
        )
    if alpha.shape.ndims not in (None, 0):
        raise ValueError(f"Shape must be rank 0 but is rank {alpha.shape.ndims} for 'alpha'")
    if not var.shape.is_compatible_with(delta.shape):
        raise ValueError(
            f"Shapes {var.shape.tf_str()} and {delta.shape.tf_str()} are incompatible"
        )
    return [(var.dtype, var.shape)]


def _apply_gd_kernel(ctx, node, alpha, delta, **attrs):
    """``var -= delta * alpha`` (TF's ``ApplyGradientDescent``, as in GraphDefs TF wrote)."""
    old = ctx.read_var(node.var, node)
    if old.shape != delta.shape:
        raise InvalidArgumentError(
            None,
            None,
            f"var and delta do not have the same shape{list(old.shape)} {list(delta.shape)}",
        )
    with np.errstate(all="ignore"):
        new = (old - delta * alpha).astype(old.dtype, copy=False)
    ctx.write_var(node.var, new)
    return new


defop("ApplyGradientDescent", STATEFUL, _apply_gd_infer, _apply_gd_kernel,
      attr_defaults={"use_locking": False},
      fallback="updates a variable in session storage", **_STATE)  # fmt: skip
