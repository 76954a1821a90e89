"""Index-driven ops: OneHot, GatherNd, ScatterNd, Select/SelectV2 (``tf.where``),
UnsortedSegmentSum, and the gradient helpers StridedSliceGrad and BroadcastGradientArgs."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant_value, convert_to_tensor
from ..shapes import TensorShape, broadcast_static
from .array import _spec_index
from .array_more import INDEX, _dims, _shape_from_tensor, as_index
from .common import binary_args, check_dtype, make1, make_op
from .registry import ELEMWISE, INJECTIVE, OPAQUE, defop, get

GATHER = "data-dependent indexing; a driver link"

# ------------------------------------------------------------------ OneHot


def _one_hot_infer(inputs, attrs):
    idx, depth, on, off = inputs
    check_dtype(idx.dtype, {_dt.uint8, _dt.int32, _dt.int64})
    if on.dtype is not off.dtype:
        raise TypeError("on_value and off_value must have the same dtype for 'OneHot'")
    dv, d = constant_value(depth), _dims(idx)
    if dv is not None and int(dv) < 0:
        raise ValueError(f"depth must be non-negative, got: {int(dv)} for 'OneHot'")
    if d is None:
        return [(on.dtype, TensorShape(None))]
    axis = attrs.get("axis", -1)
    if not -1 <= axis <= len(d):
        raise ValueError(f"Expected axis to be -1 or between [0, {len(d)}).  But received: {axis}")
    axis = len(d) if axis == -1 else axis
    return [(on.dtype, TensorShape([*d[:axis], None if dv is None else int(dv), *d[axis:]]))]


def _one_hot_kernel(idx, depth, on, off, *, axis=-1, **a):
    depth = int(depth)
    if depth < 0:
        raise InvalidArgumentError(None, None, f"depth must be non-negative, got: {depth}")
    hot = idx[..., None] == np.arange(depth)
    out = np.where(hot, on, off).astype(on.dtype)
    if axis != -1:
        out = np.moveaxis(out, -1, axis)
    return np.asarray(out, order="C")


defop(
    "OneHot", OPAQUE, _one_hot_infer, _one_hot_kernel, fallback=GATHER, attr_defaults={"axis": -1}
)


def one_hot(
    indices, depth, on_value=None, off_value=None, axis=None, dtype=None, name=None
) -> Tensor:
    """One-hot vectors of length ``depth`` along ``axis`` (``tf.one_hot``).

    >>> y = one_hot([0, 2], 3)  # [[1, 0, 0], [0, 0, 1]] as float32
    """
    idx = convert_to_tensor(indices)
    if dtype is None:
        for v in (on_value, off_value):
            if v is not None:
                dtype = convert_to_tensor(v).dtype
                break
    dtype = _dt.as_dtype(dtype or _dt.float32)
    on = convert_to_tensor(1 if on_value is None else on_value, dtype=dtype)
    off = convert_to_tensor(0 if off_value is None else off_value, dtype=dtype)
    d = as_index(depth)
    attrs = {"axis": -1 if axis is None else axis, "T": dtype, "TI": idx.dtype}
    return make1("OneHot", [idx, d, on, off], attrs, name=name or "one_hot")


# ------------------------------------------------------------------ GatherNd / ScatterNd


def _gather_nd_infer(inputs, attrs):
    p, i = inputs
    check_dtype(i.dtype, INDEX)
    pd, idd = _dims(p), _dims(i)
    if pd is None or idd is None or idd[-1] is None:
        return [(p.dtype, TensorShape(None))]
    if idd[-1] > len(pd):
        raise ValueError(
            f"indices.shape[-1] must be <= params.rank, but saw indices shape: "
            f"{i.shape.tf_str()} and params shape: {p.shape.tf_str()} for 'GatherNd'"
        )
    return [(p.dtype, TensorShape(idd[:-1] + pd[idd[-1] :]))]


def _check_nd(idx, shape, what):
    k = idx.shape[-1]
    bad = (idx < 0) | (idx >= np.asarray(shape[:k]))
    if np.any(bad):
        pos = np.argwhere(bad.any(axis=-1))[0]
        raise InvalidArgumentError(
            None,
            None,
            f"{what}: indices{list(pos)} = {idx[tuple(pos)].tolist()} does not index "
            f"into param shape {list(shape)}",
        )


def _gather_nd_kernel(p, idx, **a):
    _check_nd(idx, p.shape, "GatherNd")
    k = idx.shape[-1]
    return np.asarray(p[tuple(np.moveaxis(idx, -1, 0))] if k else np.broadcast_to(
        p, idx.shape[:-1] + p.shape), order="C")  # fmt: skip


defop("GatherNd", OPAQUE, _gather_nd_infer, _gather_nd_kernel, fallback=GATHER)


def gather_nd(params, indices, name=None, batch_dims=0) -> Tensor:
    """Gather slices of ``params`` addressed by the last axis of ``indices``."""
    p, i = convert_to_tensor(params), convert_to_tensor(indices)
    attrs = {"Tparams": p.dtype, "Tindices": i.dtype}
    return make1("GatherNd", [p, i], attrs, name=name or "GatherNd")


def _scatter_nd_infer(inputs, attrs):
    i, u, s = inputs
    check_dtype(i.dtype, INDEX)
    return [(u.dtype, _shape_from_tensor(s))]


def _scatter_nd_kernel(idx, upd, shape, **a):
    shape = [int(d) for d in shape]
    _check_nd(idx, shape, "ScatterNd")
    out = np.zeros(shape, dtype=upd.dtype)
    np.add.at(out, tuple(np.moveaxis(idx, -1, 0)), upd)
    return out


defop("ScatterNd", OPAQUE, _scatter_nd_infer, _scatter_nd_kernel, fallback=GATHER)


def scatter_nd(indices, updates, shape, name=None) -> Tensor:
    """Zeros of ``shape`` with ``updates`` added at ``indices`` (``tf.scatter_nd``)."""
    i, u, s = convert_to_tensor(indices), convert_to_tensor(updates), as_index(shape)
    return make1(
        "ScatterNd", [i, u, s], {"T": u.dtype, "Tindices": i.dtype}, name=name or "ScatterNd"
    )


# ------------------------------------------------------------------ segment sums


def _uss_infer(inputs, attrs):
    data, ids, n = inputs
    check_dtype(ids.dtype, INDEX)
    nv, dd, idd = constant_value(n), _dims(data), _dims(ids)
    if dd is None or idd is None:
        return [(data.dtype, TensorShape(None))]
    return [(data.dtype, TensorShape([None if nv is None else int(nv), *dd[len(idd) :]]))]


def _uss_kernel(data, ids, n, **a):
    n = int(n)
    if ids.size and (ids.max() >= n):
        raise InvalidArgumentError(
            None,
            None,
            f"segment_ids[{int(np.argmax(ids >= n))}] = {ids.max()} is out of range [0, {n})",
        )
    out = np.zeros((n, *data.shape[ids.ndim :]), dtype=data.dtype)
    keep = (ids >= 0).reshape(-1)  # negative ids are dropped, as in TF
    flat = data.reshape(-1, *data.shape[ids.ndim :])
    np.add.at(out, ids.reshape(-1)[keep], flat[keep])
    return out


defop("UnsortedSegmentSum", OPAQUE, _uss_infer, _uss_kernel, fallback=GATHER)


def unsorted_segment_sum(data, segment_ids, num_segments, name=None) -> Tensor:
    """Sum the rows of ``data`` that share a segment id (``tf.math.unsorted_segment_sum``)."""
    d, i, n = convert_to_tensor(data), convert_to_tensor(segment_ids), as_index(num_segments)
    attrs = {"T": d.dtype, "Tindices": i.dtype, "Tnumsegments": n.dtype}
    return make1("UnsortedSegmentSum", [d, i, n], attrs, name=name or "UnsortedSegmentSum")


# ------------------------------------------------------------------ Select / SelectV2


def _select_infer(v2):
    def infer(inputs, attrs):
        c, t, e = inputs
        if c.dtype is not _dt.bool:
            raise TypeError(f"Value passed to parameter 'condition' has DataType {c.dtype.name} "
                            "not in list of allowed values: bool")  # fmt: skip
        if t.dtype is not e.dtype:
            raise TypeError(
                f"Input 'e' of 'Select' Op has type {e.dtype.name} that does not match type "
                f"{t.dtype.name} of argument 't'."
            )
        if v2:
            out = broadcast_static(broadcast_static(c.shape, t.shape), e.shape)
            return [(t.dtype, out)]
        shape = t.shape.merge_with(e.shape)
        cr = c.shape.ndims
        if cr is not None and shape.ndims is not None and cr not in (0, 1, shape.ndims):
            raise ValueError(f"Shape must be rank {shape.ndims} for 'Select' (condition)")
        if cr and shape.ndims:
            # TF's shape function: a vector condition matches the first dimension, a condition
            # of the same rank the whole shape.
            want = shape[:1] if cr == 1 and shape.ndims > 1 else shape
            if not c.shape.is_compatible_with(want):
                raise ValueError(
                    f"Shapes must be compatible, but are {c.shape} and {want} for 'Select' "
                    "(condition vs. t)"
                )
        return [(t.dtype, shape)]

    return infer


def _select_kernel(c, t, e, **a):
    if t.shape != e.shape:
        raise InvalidArgumentError(
            None,
            None,
            f"'then' and 'else' must have the same size.  but received: "
            f"{list(t.shape)} vs. {list(e.shape)}",
        )
    if c.ndim == 1 and t.ndim > 1:
        if c.shape[0] != t.shape[0]:
            raise InvalidArgumentError(None, None, "Select: condition must match first dim")
        c = c.reshape(-1, *([1] * (t.ndim - 1)))
    elif c.ndim and c.shape != t.shape:
        raise InvalidArgumentError(
            None,
            None,
            f"'then' and 'else' must have the same size.  but received: "
            f"{list(t.shape)} vs. {list(e.shape)}",
        )
    return np.where(c, t, e)


# TF1 Select broadcasts a rank-1 condition over the FIRST axis (row select), not numpy-style
# over the last, and requires ``t``/``e`` of equal shape; the fuser assumes numpy broadcasting
# for every ELEMWISE op, so Select is a numpy link (SelectV2 is the fusable form).
defop(
    "Select",
    OPAQUE,
    _select_infer(False),
    _select_kernel,
    fallback="TF1 row-select broadcasting is not numpy's; numpy kernel",
)
defop(
    "SelectV2",
    ELEMWISE,
    _select_infer(True),
    lambda c, t, e, **a: np.where(c, t, e),
    scalar="({1} if {0} else {2})",
)


def where(condition, x=None, y=None, name=None):
    """TF1 ``tf.where``: coordinates of True entries, or ``Select`` between ``x`` and ``y``."""
    c = convert_to_tensor(condition)
    if x is None and y is None:
        return make1("Where", [c], {"T": c.dtype}, name=name or "Where")
    if x is None or y is None:
        raise ValueError("x and y must both be non-None or both be None.")
    x, y = binary_args(x, y, "Select")
    return make1("Select", [c, x, y], {"T": x.dtype}, name=name or "Select")


def where_v2(condition, x=None, y=None, name=None):
    """``tf.where`` of TF2: like ``where`` but with numpy broadcasting of all three inputs."""
    c = convert_to_tensor(condition)
    if x is None and y is None:
        return make1("Where", [c], {"T": c.dtype}, name=name or "Where")
    x, y = binary_args(x, y, "SelectV2")
    return make1("SelectV2", [c, x, y], {"T": x.dtype}, name=name or "SelectV2")


# ------------------------------------------------------------------ gradient helpers


def _ssg_infer(inputs, attrs):
    s, _b, _e, _st, dy = inputs
    return [(dy.dtype, _shape_from_tensor(s))]


def _ssg_kernel(shape, begin, end, strides, dy, **attrs):
    out = np.zeros([int(d) for d in shape], dtype=dy.dtype)
    out[_spec_index(begin, end, strides, attrs)] = dy
    return out


defop("StridedSliceGrad", INJECTIVE, _ssg_infer, _ssg_kernel, fallback="scatter into zeros")


def _bga_infer(inputs, attrs):
    s0, _s1 = inputs
    return [(s0.dtype, TensorShape([None])), (s0.dtype, TensorShape([None]))]


def broadcast_reduction_axes(s0, s1):
    """Axes to sum a broadcast result over to get back shapes ``s0`` and ``s1`` (TF's rule)."""
    s0, s1 = list(s0), list(s1)
    n = max(len(s0), len(s1))
    a = [1] * (n - len(s0)) + s0
    b = [1] * (n - len(s1)) + s1
    r0, r1 = [], []
    for i, (x, y) in enumerate(zip(a, b)):
        if x == y:
            if x == 1:  # both 1: TF reduces both so the result keeps no stray axis
                r0.append(i)
                r1.append(i)
            continue
        if x == 1:
            r0.append(i)
        elif y == 1:
            r1.append(i)
        else:
            raise ValueError(f"Incompatible shapes: {s0} vs. {s1}")
    return r0, r1


def _bga_kernel(s0, s1, **a):
    try:
        r0, r1 = broadcast_reduction_axes(s0.tolist(), s1.tolist())
    except ValueError as e:
        raise InvalidArgumentError(None, None, str(e)) from None
    return np.array(r0, dtype=s0.dtype), np.array(r1, dtype=s0.dtype)


defop("BroadcastGradientArgs", OPAQUE, _bga_infer, _bga_kernel, fallback="shape arithmetic")


# SumToShape exists only in compiled programs: prepass.sum_to_shape puts it in place of the
# run-time unbroadcast that gradients of operands with unknown dimensions build
# (Reshape(Sum(g, BroadcastGradientArgs(Shape(x), Shape(g))[0]), Shape(x))). Graphs never hold
# it, so a GraphDef export never meets it.
def _sum_to_infer(inputs, attrs):
    g, x = inputs
    return [(g.dtype, x.shape)]


def _sum_to_kernel(g, x, **a):
    """``g`` summed down to the shape of ``x`` (``g`` itself when the shapes already match).

    The same values as the ops it replaces: TF's reduction axes
    (:func:`broadcast_reduction_axes`), then ``Sum``'s kernel, then the reshape.
    """
    if g.shape == x.shape:
        return g
    try:
        axes, _ = broadcast_reduction_axes(x.shape, g.shape)
    except ValueError as e:
        raise InvalidArgumentError(None, None, str(e)) from None
    total = get("Sum").numpy(g, np.array(axes, np.int32), keep_dims=False)
    return total.reshape(x.shape)


defop(
    "SumToShape",
    OPAQUE,
    _sum_to_infer,
    _sum_to_kernel,
    fallback="run-time unbroadcast of a gradient (program rewrite; shapes checked per call)",
    internal=True,
)


def broadcast_gradient_args(s0, s1, name=None):
    """The reduction axes for the gradients of a broadcasting binary op (two int vectors)."""
    s0, s1 = convert_to_tensor(s0), convert_to_tensor(s1)
    op = make_op("BroadcastGradientArgs", [s0, s1], {"T": s0.dtype}, name=name)
    return op.outputs
