"""Gradient rules for data-movement and indexing ops (identity, reshape, slicing, gather ...)."""

from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..graph import constant_value
from . import array as a
from . import array_more as am
from . import indexing as ix
from . import math as m
from .grads_math import not_differentiable, shape_or_tensor, unbroadcast
from .registry import set_grad


def _first(op, g):
    return [g] + [None] * (len(op.inputs) - 1)


def _like_input(op, g):
    """Reshape ``g`` back to input 0's shape (Reshape, Squeeze, ExpandDims)."""
    return [a.reshape(g, shape_or_tensor(op.inputs[0]))] + [None] * (len(op.inputs) - 1)


for _t in ("Identity", "PlaceholderWithDefault"):
    set_grad(_t, _first)
for _t in ("Reshape", "Squeeze", "ExpandDims"):
    set_grad(_t, _like_input)
for _t in (
    "StopGradient Shape Fill ZerosLike OnesLike Range Where OneHot InvertPermutation "
    "BroadcastGradientArgs BroadcastArgs Rank"
).split():
    set_grad(_t, not_differentiable)


def _cast(op, g):
    src = op.inputs[0].dtype
    if (src.is_floating or src.is_complex) and (g.dtype.is_floating or g.dtype.is_complex):
        return [a.cast(g, src)]
    return [None]


set_grad("Cast", _cast)


def _pack(op, g):
    return am.unstack(g, num=len(op.inputs), axis=op.get_attr("axis"))


def _unpack(op, *grads):
    return [a.stack(list(grads), axis=op.get_attr("axis"))]


set_grad("Pack", _pack)
set_grad("Unpack", _unpack)


def _gather(op, g):
    params, indices, axis = op.inputs
    ax = constant_value(axis)
    if ax is None:
        raise LookupError(f"GatherV2 gradient needs a constant axis ({op.name})")
    ax = int(ax)
    if op.get_attr("batch_dims"):
        raise LookupError(f"GatherV2 gradient with batch_dims is not supported ({op.name})")
    rank = params.shape.ndims
    if ax != 0 and rank is None:
        raise LookupError(f"GatherV2 gradient along axis {ax} needs a known rank ({op.name})")
    ax = ax % rank if rank else 0
    if ax == 0:
        return [_gather_slices(params, indices, g), None, None]
    nidx = indices.shape.ndims
    if ax != 0:
        # Move the gathered axes to the front, scatter rows, and move back.
        gr = g.shape.ndims
        perm = [*range(ax, ax + nidx), *range(ax), *range(ax + nidx, gr)]
        g = am.transpose(g, perm)
        p_perm = [ax, *range(ax), *range(ax + 1, rank)]
        pshape = shape_or_tensor(am.transpose(params, p_perm))
    else:
        pshape = shape_or_tensor(params)
    n = pshape[0]
    flat_idx = a.reshape(indices, [-1])
    if isinstance(pshape, list):
        rows = a.reshape(g, [-1, *pshape[1:]])
    else:
        rows = a.reshape(g, am.concat([[-1], pshape[1:]], 0))
    dense = ix.unsorted_segment_sum(rows, flat_idx, n)
    if ax != 0:
        dense = am.transpose(dense, list(np.argsort(p_perm)))
    return [dense, None, None]


def _gather_slices(params, indices, g):
    """TF's axis-0 gather gradient: IndexedSlices(rows of ``g``, flat indices, params' shape)."""
    from ..sparse import IndexedSlices

    dense_shape = a.shape(params)
    n = indices.shape.num_elements() if indices.shape.is_fully_defined() else None
    if n is not None and params.shape[1:].is_fully_defined():
        values = a.reshape(g, [n, *params.shape.as_list()[1:]])
        flat = a.reshape(indices, [n])
    else:
        size = a.reshape(a.size(indices), [1])
        values = a.reshape(g, am.concat([size, dense_shape[1:]], 0))
        flat = a.reshape(indices, size)
    return IndexedSlices(values, flat, dense_shape)


set_grad("GatherV2", _gather)


def _strided_slice(op, g):
    x, b, e, s = op.inputs
    attrs = {k: op.get_attr(k) for k in a._SS_DEFAULTS}
    sx = shape_or_tensor(x)
    sx = am.as_index(sx) if isinstance(sx, list) else sx
    attrs.update(T=g.dtype, Index=b.dtype)
    from .common import make1

    return [make1("StridedSliceGrad", [sx, b, e, s, g], attrs), None, None, None]


set_grad("StridedSlice", _strided_slice)


def _strided_slice_grad(op, g):
    _, b, e, s, _ = op.inputs
    masks = {k: op.get_attr(k) for k in a._SS_DEFAULTS}
    return [None, None, None, None, a.strided_slice(g, b, e, s, **masks)]


set_grad("StridedSliceGrad", _strided_slice_grad)


def _transpose(op, g):
    perm = op.inputs[1]
    p = constant_value(perm)
    inv = (
        list(np.argsort(np.asarray(p).reshape(-1)))
        if p is not None
        else am.invert_permutation(perm)
    )
    return [am.transpose(g, inv), None]


set_grad("Transpose", _transpose)


def _sizes_along(xs, axis_t):
    """Sizes of ``xs`` along ``axis`` (a list of ints when static, else a tensor)."""
    ax = constant_value(axis_t)
    if ax is not None and all(x.shape.ndims is not None for x in xs):
        ax = int(ax) % xs[0].shape.ndims
        dims = [x.shape.as_list()[ax] for x in xs]
        if all(d is not None for d in dims):
            return dims
    parts = [a.gather(a.shape(x), m.floormod(axis_t, a.size(a.shape(x)))) for x in xs]
    return a.stack(parts)


def _concat(op, g):
    *xs, axis = op.inputs
    sizes = _sizes_along(xs, axis)
    return [*am.split(g, sizes, axis=axis, num=len(xs)), None]


set_grad("ConcatV2", _concat)


def _split_grads(op, grads):
    return [gr if gr is not None else am.zeros_like(t) for t, gr in zip(op.outputs, grads)]


set_grad("Split", lambda op, *g: [None, am.concat(_split_grads(op, g), op.inputs[0])])
set_grad("SplitV", lambda op, *g: [am.concat(_split_grads(op, g), op.inputs[2]), None, None])


def _tile(op, g):
    x, mult = op.inputs
    sx = a.shape(x)
    mult = a.cast(mult, _dt.int32) if mult.dtype is not _dt.int32 else mult
    split = a.reshape(am.transpose(a.stack([mult, sx])), [-1])
    rank = x.shape.ndims
    if rank is None:
        raise LookupError(f"Tile gradient needs a known rank ({op.name})")
    summed = m.reduce_sum(a.reshape(g, split), axis=list(range(0, 2 * rank, 2)))
    return [a.reshape(summed, shape_or_tensor(x)), None]


set_grad("Tile", _tile)


def _pad(op, g):
    x, p = op.inputs[0], op.inputs[1]
    begin = a.reshape(am.slice(p, [0, 0], [-1, 1]), [-1])
    out = [am.slice(g, begin, shape_or_tensor(x)), None]
    return out + [None] * (len(op.inputs) - 2)


set_grad("Pad", _pad)
set_grad("PadV2", _pad)


def _slice(op, g):
    x, b, _size = op.inputs
    sx = a.shape(x)
    after = m.subtract(m.subtract(sx, a.cast(b, sx.dtype)), a.shape(g))
    pads = a.stack([a.cast(b, sx.dtype), after], axis=1)
    dx = am.pad(g, pads)
    dx.set_shape(x.shape)  # TF's Pad shape function folds these paddings when x is known
    return [dx, None, None]


set_grad("Slice", _slice)
set_grad("ReverseV2", lambda op, g: [am.reverse(g, op.inputs[1]), None])
set_grad("BroadcastTo", lambda op, g: [unbroadcast(g, op.inputs[0]), None])


def _select(op, g):
    c, t, e = op.inputs
    zeros = np.zeros((), g.dtype.np)
    if op.type == "Select":
        return [None, ix.where(c, g, am.zeros_like(g)), ix.where(c, am.zeros_like(g), g)]
    return [
        None,
        unbroadcast(ix.where_v2(c, g, zeros), t, c, e),
        unbroadcast(ix.where_v2(c, zeros, g), e, c, t),
    ]


set_grad("Select", _select)
set_grad("SelectV2", _select)
set_grad("GatherNd", lambda op, g: [ix.scatter_nd(op.inputs[1], g, a.shape(op.inputs[0])), None])
set_grad("ScatterNd", lambda op, g: [None, ix.gather_nd(g, op.inputs[0]), None])
set_grad(
    "UnsortedSegmentSum",
    lambda op, g: [_gather_clipped(g, op.inputs[1]), None, None],
)


def _gather_clipped(g, ids):
    # Negative ids dropped their rows in the forward pass, so their gradient is zero.
    safe = m.maximum(ids, np.zeros((), ids.dtype.np))
    rows = a.gather(g, safe)
    keep = m.greater_equal(ids, np.zeros((), ids.dtype.np))
    rank_extra = (g.shape.ndims or 1) - 1
    keep = a.reshape(keep, am.concat([a.shape(ids), [1] * rank_extra], 0)) if rank_extra else keep
    return ix.where_v2(keep, rows, np.zeros((), g.dtype.np))


def _mirror_pad(op, g):
    from .array_split import mirror_pad_grad

    return [mirror_pad_grad(g, op.inputs[1], op.get_attr("mode")), None]


set_grad("MirrorPad", _mirror_pad)
set_grad("MirrorPadGrad", lambda op, g: [am.pad(g, op.inputs[1], op.get_attr("mode")), None])
