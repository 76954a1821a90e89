"""Ordering and segment ops: TopKV2 (and ``sort``/``argsort`` built on it as TF does), Unique,
InTopKV2, SegmentSum, UnsortedSegmentMax (+ ``unsorted_segment_mean``), and the shape helpers
LinSpace, ShapeN, Size with the composites ``sequence_mask`` and ``meshgrid``."""

from __future__ import annotations

import collections

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant_value, convert_to_tensor
from ..shapes import TensorShape
from . import array as a
from . import array_more as am
from . import indexing as ix
from . import math as m
from .array_more import INDEX, _dims, as_index
from .common import FLOATS, NUMERIC, check_dtype, make1, make_op
from .registry import INJECTIVE, OPAQUE, SOURCE, defop

ORDER = "sorting / hashing; numpy kernel"
SEG = "data-dependent indexing; numpy kernel"


def _nd(op, *grads):
    return [None] * len(op.inputs)


_nd.not_differentiable = True

# ------------------------------------------------------------------ TopKV2


def _topk_infer(inputs, attrs):
    x, k = inputs
    check_dtype(x.dtype, NUMERIC)
    check_dtype(k.dtype, {_dt.int32})
    if k.shape.ndims not in (None, 0):
        raise ValueError(f"Shape must be rank 0 but is rank {k.shape.ndims} for 'TopKV2'")
    kv = constant_value(k)
    kv = None if kv is None else int(kv)
    if kv is not None and kv < 0:
        raise ValueError(f"Need k >= 0, got {kv} for 'TopKV2'")
    d = _dims(x)
    if d is None:
        return [(x.dtype, TensorShape(None)), (_dt.int32, TensorShape(None))]
    if not d:
        raise ValueError("Shape must be at least rank 1 but is rank 0 for 'TopKV2'")
    if kv is not None and d[-1] is not None and d[-1] < kv:
        raise ValueError(
            f"input must have last dimension >= k = {kv} but is {d[-1]} for 'TopKV2' with "
            f"input shapes: {x.shape.tf_str()}, []."
        )
    out = TensorShape([*d[:-1], kv])
    return [(x.dtype, out), (_dt.int32, out)]


def _topk_kernel(x, k, *, sorted=True, T=None):
    k = int(k)
    n = x.shape[-1]
    if k < 0:
        raise InvalidArgumentError(None, None, f"Need k >= 0, got {k}")
    if n < k:
        raise InvalidArgumentError(
            None, None, f"input must have at least k columns. Had {n}, needed {k}"
        )
    # descending and stable (ties keep the lower index first): stable ascending sort of the
    # reversed row, read backwards
    rev = np.argsort(x[..., ::-1], axis=-1, kind="stable")[..., ::-1]
    idx = (n - 1 - rev)[..., :k]
    return np.take_along_axis(x, idx, axis=-1), idx.astype(np.int32)


def _topk_grad(op, g, _gi=None):
    x, idx = op.inputs[0], op.outputs[1]
    if g is None:
        return [None, None]
    sx = a.shape(x)
    n = sx[-1]
    kdim = a.shape(idx)[-1]
    idx2 = a.reshape(idx, a.stack([-1, kdim]))
    rows = a.shape(idx2)[0]
    offs = am.expand_dims(m.multiply(am.range(0, rows), n), 1)
    flat = a.reshape(m.add(idx2, offs), [-1, 1])
    total = m.reduce_prod(sx)
    out = ix.scatter_nd(flat, a.reshape(g, [-1]), a.stack([total]))
    return [a.reshape(out, sx), None]


defop(
    "TopKV2",
    OPAQUE,
    _topk_infer,
    _topk_kernel,
    grad=_topk_grad,
    fallback=ORDER,
    attr_defaults={"sorted": True},
)


# TF's generated wrapper returns this namedtuple; fetching it gives back the same type.
TopKV2 = collections.namedtuple("TopKV2", ["values", "indices"])


def top_k(input, k=1, sorted=True, name=None):
    """The ``k`` largest entries of the last axis and their indices (``tf.nn.top_k``).

    Returns a ``TopKV2(values, indices)`` namedtuple, as TF does.
    """
    x = convert_to_tensor(input)
    kt = as_index(k)
    op = make_op("TopKV2", [x, kt], {"T": x.dtype, "sorted": bool(sorted)}, name=name or "TopKV2")
    return TopKV2(*op.outputs)


def _along_last(values, axis, fn, name):
    x = convert_to_tensor(values)
    r = x.shape.ndims
    if r is None:
        raise ValueError(f"{name} needs a tensor of known rank")
    if not -r <= axis < max(r, 1):
        raise ValueError(f"axis {axis} is out of range for a tensor of rank {r}")
    axis %= r
    with x.graph.name_scope(name):
        if axis == r - 1:
            return fn(x)
        perm = list(range(r))
        perm[axis], perm[-1] = perm[-1], perm[axis]
        return am.transpose(fn(am.transpose(x, perm)), perm)


def sort(values, axis=-1, direction="ASCENDING", name=None) -> Tensor:
    """Sorted copy along ``axis`` (``tf.sort``), built on ``TopKV2`` as TF builds it."""
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{direction} should be one of ASCENDING, DESCENDING")

    def fn(x):
        k = a.shape(x)[-1]
        if direction == "DESCENDING":
            return top_k(x, k)[0]
        return m.negative(top_k(m.negative(x), k)[0])

    return _along_last(values, axis, fn, name or "sort")


def argsort(values, axis=-1, direction="ASCENDING", stable=False, name=None) -> Tensor:
    """Indices that sort ``values`` along ``axis`` (``tf.argsort``; ties keep input order)."""
    if direction not in ("ASCENDING", "DESCENDING"):
        raise ValueError(f"{direction} should be one of ASCENDING, DESCENDING")

    def fn(x):
        k = a.shape(x)[-1]
        return top_k(x if direction == "DESCENDING" else m.negative(x), k)[1]

    return _along_last(values, axis, fn, name or "argsort")


# ------------------------------------------------------------------ Unique / InTopKV2


def _unique_infer(inputs, attrs):
    (x,) = inputs
    if x.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {x.shape.ndims} for 'Unique'")
    out_idx = _dt.as_dtype(attrs.get("out_idx", _dt.int32))
    return [(x.dtype, TensorShape([None])), (out_idx, x.shape)]


def _unique_kernel(x, *, out_idx=_dt.int32, T=None):
    _, first, inv = np.unique(x, return_index=True, return_inverse=True)
    order = np.argsort(first, kind="stable")  # TF keeps first-occurrence order
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    return x[first[order]], rank[inv.reshape(-1)].astype(_dt.as_dtype(out_idx).np)


defop("Unique", OPAQUE, _unique_infer, _unique_kernel, grad=_nd, fallback=ORDER,
      attr_defaults={"out_idx": _dt.int32})  # fmt: skip


def unique(x, out_idx=_dt.int32, name=None):
    """Distinct values of a 1-D tensor in first-seen order, and each entry's index into them."""
    x = convert_to_tensor(x)
    attrs = {"T": x.dtype, "out_idx": _dt.as_dtype(out_idx)}
    return tuple(make_op("Unique", [x], attrs, name=name or "Unique").outputs)


def _in_top_k_infer(inputs, attrs):
    p, t, _k = inputs
    check_dtype(p.dtype, {_dt.float32})
    check_dtype(t.dtype, INDEX)
    if p.shape.ndims not in (None, 2):
        raise ValueError(f"Shape must be rank 2 but is rank {p.shape.ndims} for 'InTopKV2'")
    if t.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {t.shape.ndims} for 'InTopKV2'")
    n = p.shape.as_list()[0] if p.shape.ndims else None
    return [(_dt.bool, TensorShape([n]).merge_with(t.shape))]


def _in_top_k_kernel(p, t, k, **a):
    if p.shape[0] != t.shape[0]:
        raise InvalidArgumentError(
            None, None, f"First dimension of predictions {p.shape[0]} must match length of "
                        f"targets {t.shape[0]}")  # fmt: skip
    ok = (t >= 0) & (t < p.shape[1])
    tc = np.where(ok, t, 0)
    pt = p[np.arange(p.shape[0]), tc]
    more = np.sum(p > pt[:, None], axis=1)
    return ok & np.isfinite(pt) & (more < int(k))


defop("InTopKV2", OPAQUE, _in_top_k_infer, _in_top_k_kernel, grad=_nd, fallback=ORDER)


def in_top_k(predictions, targets, k, name=None) -> Tensor:
    """Whether each target is among the top ``k`` predictions (``tf.nn.in_top_k``)."""
    p, t = convert_to_tensor(predictions), convert_to_tensor(targets)
    kt = as_index(k, t.dtype)
    return make1("InTopKV2", [p, t, kt], {"T": t.dtype}, name=name or "in_top_k/InTopKV2")


# ------------------------------------------------------------------ segments


def _seg_sum_infer(inputs, attrs):
    data, ids = inputs
    check_dtype(ids.dtype, INDEX)
    if ids.shape.ndims not in (None, 1):
        raise ValueError(f"Shape must be rank 1 but is rank {ids.shape.ndims} for 'SegmentSum'")
    d = _dims(data)
    return [(data.dtype, TensorShape(None if d is None else [None, *d[1:]]))]


def _seg_sum_kernel(data, ids, **a):
    if ids.shape[0] != data.shape[0]:
        raise InvalidArgumentError(
            None,
            None,
            "segment_ids should be the same size as dimension 0 of input: "
            f"{ids.shape[0]} vs {data.shape[0]}",
        )
    if ids.size and (np.any(np.diff(ids) < 0) or ids[0] < 0):
        raise InvalidArgumentError(None, None, "segment ids are not increasing")
    n = int(ids[-1]) + 1 if ids.size else 0
    out = np.zeros((n, *data.shape[1:]), data.dtype)
    np.add.at(out, ids, data)
    return out


defop(
    "SegmentSum",
    OPAQUE,
    _seg_sum_infer,
    _seg_sum_kernel,
    grad=lambda op, g: [a.gather(g, op.inputs[1]), None],
    fallback=SEG,
)


def segment_sum(data, segment_ids, name=None) -> Tensor:
    """Sum of rows sharing a (sorted) segment id (``tf.math.segment_sum``)."""
    d, i = convert_to_tensor(data), convert_to_tensor(segment_ids)
    return make1("SegmentSum", [d, i], {"T": d.dtype, "Tindices": i.dtype},
                 name=name or "SegmentSum")  # fmt: skip


def _usmax_kernel(data, ids, n, **a):
    n = int(n)
    if ids.size and ids.max() >= n:
        raise InvalidArgumentError(None, None, f"segment_ids = {ids.max()} is out of range "
                                   f"[0, {n})")  # fmt: skip
    # TF starts every segment at the dtype's lowest finite value (float32: -3.4e38, not -inf).
    info = np.finfo(data.dtype) if data.dtype.kind == "f" else np.iinfo(data.dtype)
    out = np.full((n, *data.shape[ids.ndim :]), info.min, dtype=data.dtype)
    keep = (ids >= 0).reshape(-1)
    flat = data.reshape(-1, *data.shape[ids.ndim :])
    np.maximum.at(out, ids.reshape(-1)[keep], flat[keep])
    return out


def _usmax_grad(op, g):
    data, ids, _ = op.inputs
    out = op.outputs[0]
    gathered = a.gather(out, ids)
    sel = m.equal(data, gathered)
    num = ix.unsorted_segment_sum(a.cast(sel, g.dtype), ids, op.inputs[2])
    share = m.truediv(a.gather(g, ids), a.gather(num, ids))
    return [ix.where_v2(sel, share, np.zeros((), g.dtype.np)), None, None]


defop("UnsortedSegmentMax", OPAQUE, ix._uss_infer, _usmax_kernel, grad=_usmax_grad,
      fallback=SEG)  # fmt: skip


def unsorted_segment_max(data, segment_ids, num_segments, name=None) -> Tensor:
    """Max of rows sharing a segment id; empty segments hold the dtype's lowest value."""
    d, i, n = convert_to_tensor(data), convert_to_tensor(segment_ids), as_index(num_segments)
    attrs = {"T": d.dtype, "Tindices": i.dtype, "Tnumsegments": n.dtype}
    return make1("UnsortedSegmentMax", [d, i, n], attrs, name=name or "UnsortedSegmentMax")


def unsorted_segment_mean(data, segment_ids, num_segments, name=None) -> Tensor:
    """Mean of rows sharing a segment id (0 for empty segments), as TF composes it."""
    d, i = convert_to_tensor(data), convert_to_tensor(segment_ids)
    with d.graph.name_scope(name or "UnsortedSegmentMean"):
        ones = a.cast(am.ones_like(i), d.dtype)
        count = ix.unsorted_segment_sum(ones, i, num_segments)
        extra = (d.shape.ndims or 0) - (i.shape.ndims or 0)
        if extra > 0:
            count = a.reshape(count, am.concat([a.shape(count), [1] * extra], 0))
        total = ix.unsorted_segment_sum(d, i, num_segments)
        return m.truediv(total, m.maximum(count, np.ones((), d.dtype.np)))


# ------------------------------------------------------------------ shape helpers


def _linspace_infer(inputs, attrs):
    start, stop, num = inputs
    check_dtype(start.dtype, FLOATS)
    for t, what in ((start, "start"), (stop, "stop"), (num, "num")):
        if t.shape.ndims not in (None, 0):
            raise ValueError(
                f"Shape must be rank 0 but is rank {t.shape.ndims} for 'LinSpace' ({what})"
            )
    nv = constant_value(num)
    if nv is not None and int(nv) <= 0:
        raise ValueError(f"Requires num > 0: {int(nv)} for 'LinSpace'")
    return [(start.dtype, TensorShape([None if nv is None else int(nv)]))]


def _linspace_kernel(start, stop, num, **a):
    if int(num) <= 0:
        raise InvalidArgumentError(None, None, f"Requires num > 0: {int(num)}")
    return np.linspace(start, stop, int(num)).astype(start.dtype)


defop("LinSpace", SOURCE, _linspace_infer, _linspace_kernel, grad=_nd,
      fallback="computed once per run")  # fmt: skip


def linspace(start, stop, num, name=None) -> Tensor:
    """``num`` evenly spaced values from ``start`` to ``stop`` inclusive (``tf.linspace``)."""
    s = convert_to_tensor(start)
    e = convert_to_tensor(stop, dtype=s.dtype) if not isinstance(stop, Tensor) else stop
    n = as_index(num)
    return make1("LinSpace", [s, e, n], {"T": s.dtype, "Tidx": n.dtype}, name=name or "LinSpace")


def _shape_n_infer(inputs, attrs):
    dt = _dt.as_dtype(attrs.get("out_type", _dt.int32))
    return [(dt, TensorShape([t.shape.ndims])) for t in inputs]


defop(
    "ShapeN",
    INJECTIVE,
    _shape_n_infer,
    lambda *xs, out_type=_dt.int32, **a: tuple(
        np.array(x.shape, _dt.as_dtype(out_type).np) for x in xs
    ),
    grad=_nd,
    fallback="reads shapes, no data",
    attr_defaults={"out_type": _dt.int32},
)


def shape_n(input, out_type=_dt.int32, name=None) -> list:
    """The shapes of several tensors (``tf.shape_n``)."""
    xs = [convert_to_tensor(x) for x in input]
    attrs = {"N": len(xs), "T": xs[0].dtype, "out_type": _dt.as_dtype(out_type)}
    return list(make_op("ShapeN", xs, attrs, name=name or "ShapeN").outputs)


defop(
    "Size",
    INJECTIVE,
    lambda inputs, attrs: [(_dt.as_dtype(attrs.get("out_type", _dt.int32)), TensorShape([]))],
    lambda x, out_type=_dt.int32, **a: np.asarray(x.size, _dt.as_dtype(out_type).np),
    grad=_nd,
    fallback="reads shapes, no data",
    attr_defaults={"out_type": _dt.int32},
)


def size_op(input, name=None, out_type=_dt.int32) -> Tensor:
    """A ``Size`` op: the number of elements of ``input`` at run time."""
    x = convert_to_tensor(input)
    return make1("Size", [x], {"T": x.dtype, "out_type": _dt.as_dtype(out_type)},
                 name=name or "Size")  # fmt: skip


def sequence_mask(lengths, maxlen=None, dtype=_dt.bool, name=None) -> Tensor:
    """``mask[..., j] = j < lengths[...]`` (``tf.sequence_mask``)."""
    lengths = convert_to_tensor(lengths)
    with lengths.graph.name_scope(name or "SequenceMask"):
        if maxlen is None:
            maxlen = m.reduce_max(lengths)
        elif not isinstance(maxlen, Tensor) and np.ndim(maxlen) != 0:
            raise ValueError("maxlen must be scalar for sequence_mask")
        maxlen = maxlen if isinstance(maxlen, Tensor) else as_index(maxlen, lengths.dtype)
        row = am.range(np.zeros((), lengths.dtype.np), maxlen, np.ones((), lengths.dtype.np))
        mask = m.less(row, am.expand_dims(lengths, -1))
        dtype = _dt.as_dtype(dtype)
        return mask if dtype is _dt.bool else a.cast(mask, dtype)


def meshgrid(*args, **kwargs) -> list:
    """N-D coordinate grids from 1-D tensors (``tf.meshgrid``, ``indexing='xy'`` or ``'ij'``)."""
    indexing = kwargs.pop("indexing", "xy")
    name = kwargs.pop("name", "meshgrid")
    if kwargs:
        raise TypeError(f"'{next(iter(kwargs))}' is an invalid keyword argument for this function")
    if indexing not in ("xy", "ij"):
        raise ValueError("indexing parameter must be either 'xy' or 'ij'")
    xs = [convert_to_tensor(x) for x in args]
    n = len(xs)
    with xs[0].graph.name_scope(name):
        sizes = [a.reshape(size_op(x), [1]) for x in xs]
        order = list(range(n))
        if indexing == "xy" and n > 1:
            order[0], order[1] = 1, 0
        out_shape = am.concat([sizes[i] for i in order], 0)
        outs = []
        for i, x in enumerate(xs):
            pos = order.index(i)
            shp = [1] * n
            shp[pos] = -1
            outs.append(am.broadcast_to(a.reshape(x, shp), out_shape))
        return outs
