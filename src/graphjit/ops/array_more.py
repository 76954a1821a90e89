"""Data-movement ops beyond the core: Transpose, ExpandDims, ConcatV2, Split, Unpack, Tile, Pad,
Fill, ZerosLike/OnesLike, Range, Slice, ReverseV2, BroadcastTo.

Entries follow ``ops/array.py``: inference raises TF's build-time errors naming the op, the
numpy kernel is the reference, and attribute names are TF's so GraphDefs round-trip.
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import Tensor, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .common import check_dtype, make1, same_as
from .registry import ELEMWISE, INJECTIVE, SOURCE, defop

INDEX = frozenset({_dt.int32, _dt.int64})
MOVE = "data movement; a driver link (numpy copy)"


def _dims(t):
    """Static dims of ``t`` as a list of int/None, or None for an unknown rank."""
    return None if t.shape.ndims is None else t.shape.as_list()


def _ints(v):
    """A list of Python ints from a constant array-like."""
    return [int(d) for d in np.asarray(v).reshape(-1)]


def as_index(v, dtype=_dt.int32) -> Tensor:
    """A Python/numpy index value as an int constant; a Tensor is returned as is."""
    if isinstance(v, Tensor) or hasattr(v, "_as_graph_tensor"):
        return convert_to_tensor(v)
    return convert_to_tensor(np.asarray(v, dtype=dtype.np))


def _norm_axis(axis, rank, op):
    if not -rank <= axis < rank:
        raise ValueError(f"{op}: axis {axis} is out of range [{-rank}, {rank}).")
    return axis % rank


# ------------------------------------------------------------------ Transpose


def _transpose_infer(inputs, attrs):
    x, perm = inputs
    check_dtype(perm.dtype, INDEX)
    p = constant_value(perm)
    d = _dims(x)
    if p is None:
        n = perm.shape.as_list()[0] if perm.shape.is_fully_defined() else None
        return [(x.dtype, TensorShape(None if n is None else [None] * n))]
    p = _ints(p)
    if d is not None:
        if len(p) != len(d):
            raise ValueError(
                f"Dimension must be {len(d)} but is {len(p)} for 'Transpose' with input "
                f"shapes: {x.shape.tf_str()}, [{len(p)}]."
            )
        for a in p:
            if not -len(d) <= a < len(d):
                raise ValueError(
                    f"perm dim {a} is out of range of input rank {len(d)} for 'Transpose'"
                )
        # A repeated axis is not a build-time error in TF: the kernel rejects it when it runs.
        return [(x.dtype, TensorShape([d[a % len(d)] for a in p]))]
    return [(x.dtype, TensorShape([None] * len(p)))]


def _transpose_kernel(x, perm, **a):
    p = [v % x.ndim if -x.ndim <= v < 0 else v for v in _ints(perm)]
    if sorted(p) != list(builtins.range(x.ndim)):
        raise InvalidArgumentError(None, None, f"{p} is not a valid permutation")
    return np.asarray(np.transpose(x, p), order="C")


defop("Transpose", INJECTIVE, _transpose_infer, _transpose_kernel, fallback=MOVE)


def transpose(a, perm=None, name="transpose", conjugate=False) -> Tensor:
    """Permute the axes of ``a`` (reversed when ``perm`` is None), as ``tf.transpose``.

    >>> import graphjit.compat.v1 as tf
    >>> tf.transpose(tf.constant([[1, 2, 3]])).shape.as_list()
    [3, 1]
    """
    a = convert_to_tensor(a)
    if perm is None:
        if a.shape.ndims is None:
            # TF: perm = (rank - 1) - range(rank), computed at run time
            with a.graph.as_default(), a.graph.name_scope(name):
                r = rank_op(a)
                from .math import subtract

                one = convert_to_tensor(np.int32(1))
                perm = subtract(subtract(r, one), range(0, r, 1))
            return make1("Transpose", [a, perm], {"T": a.dtype, "Tperm": perm.dtype}, name=name)
        perm = list(builtins.range(a.shape.ndims))[::-1]
    perm = as_index(perm)
    return make1("Transpose", [a, perm], {"T": a.dtype, "Tperm": perm.dtype}, name=name)


def _invperm_infer(inputs, attrs):
    (x,) = inputs
    check_dtype(x.dtype, INDEX)
    return [(x.dtype, x.shape)]


def _invperm_kernel(x, **a):
    if x.ndim != 1:
        raise InvalidArgumentError(None, None, "invert_permutation expects a 1D vector.")
    n = x.size
    out = np.full_like(x, -1)
    for i, d in enumerate(x.tolist()):  # TF's checks, in its order
        if not 0 <= d < n:
            raise InvalidArgumentError(None, None, f"{d} is not between 0 and {n}")
        if out[d] != -1:
            raise InvalidArgumentError(None, None, f"{d} is duplicated in the input.")
        out[d] = i
    return out


defop("InvertPermutation", INJECTIVE, _invperm_infer, _invperm_kernel, fallback=MOVE)


def invert_permutation(x, name=None) -> Tensor:
    """The inverse of a permutation vector."""
    x = convert_to_tensor(x)
    return make1("InvertPermutation", [x], {"T": x.dtype}, name=name or "InvertPermutation")


# ------------------------------------------------------------------ ExpandDims


def _expand_infer(inputs, attrs):
    x, dim = inputs
    check_dtype(dim.dtype, INDEX)
    a = constant_value(dim)
    d = _dims(x)
    if a is None or d is None:
        return [(x.dtype, TensorShape(None if d is None else [None] * (len(d) + 1)))]
    a = _ints(a)
    if len(a) != 1:
        raise ValueError("'dim' input must be a tensor with a single value for 'ExpandDims'")
    a = _norm_axis(a[0], len(d) + 1, "ExpandDims")
    return [(x.dtype, TensorShape([*d[:a], 1, *d[a:]]))]


def _expand_kernel(x, dim, **a):
    ax = int(np.asarray(dim).reshape(-1)[0])
    if not -x.ndim - 1 <= ax <= x.ndim:
        raise InvalidArgumentError(None, None, f"Tried to expand dim index {ax} for tensor")
    return np.expand_dims(x, ax)


defop("ExpandDims", INJECTIVE, _expand_infer, _expand_kernel, fallback="a reshape; numpy view")


def expand_dims(input, axis=None, name=None, dim=None) -> Tensor:
    """Insert a size-1 axis at ``axis`` (``tf.expand_dims``)."""
    if axis is None:
        axis = dim
    if axis is None:
        raise ValueError("Must specify an axis argument to tf.expand_dims()")
    x = convert_to_tensor(input)
    a = as_index(axis)
    return make1("ExpandDims", [x, a], {"T": x.dtype, "Tdim": a.dtype}, name=name or "ExpandDims")


# ------------------------------------------------------------------ ConcatV2


def _concat_infer(inputs, attrs):
    *xs, axis = inputs
    check_dtype(axis.dtype, INDEX)
    dt = xs[0].dtype
    for t in xs[1:]:
        if t.dtype is not dt:
            raise TypeError(f"ConcatV2: all inputs must have dtype {dt.name}, got {t.dtype.name}")
    a = constant_value(axis)
    ranks = {len(d) for d in map(_dims, xs) if d is not None}
    if len(ranks) > 1:
        raise ValueError(
            f"Shape must be rank {min(ranks)} but is rank {max(ranks)} for 'ConcatV2'"
        )
    if not ranks:
        return [(dt, TensorShape(None))]
    rank = ranks.pop()
    if rank == 0:
        raise ValueError("Can't concatenate scalars (use tf.stack instead) for 'ConcatV2'")
    if a is None:
        return [(dt, TensorShape([None] * rank))]
    ax = _norm_axis(int(a), rank, "ConcatV2")
    out = [None] * rank
    total = 0
    for d in filter(None, map(_dims, xs)):
        for i in builtins.range(rank):
            if i == ax:
                continue
            if out[i] is None:
                out[i] = d[i]
            elif d[i] is not None and d[i] != out[i]:
                raise ValueError(
                    f"Dimension {i} in both shapes must be equal, but are {out[i]} and {d[i]} "
                    "for 'ConcatV2'"
                )
    for d in map(_dims, xs):
        if total is not None:
            total = None if d is None or d[ax] is None else total + d[ax]
    out[ax] = total
    return [(dt, TensorShape(out))]


def _concat_kernel(*args, **a):
    *xs, axis = args
    try:
        return np.concatenate(xs, axis=int(axis))
    except (ValueError, np.exceptions.AxisError) as e:
        raise InvalidArgumentError(None, None, f"ConcatOp : {e}") from None


defop("ConcatV2", INJECTIVE, _concat_infer, _concat_kernel, fallback="copies N inputs; a link")


def concat(values, axis, name="concat") -> Tensor:
    """Join tensors along an existing ``axis`` (``tf.concat``); one input is an identity."""
    if not isinstance(values, (list, tuple)):
        values = [values]
    values = [convert_to_tensor(v) for v in values]
    if len(values) == 1:
        from .array import identity

        return identity(values[0], name=name)
    ax = as_index(axis)
    return make1(
        "ConcatV2",
        [*values, ax],
        {"N": len(values), "T": values[0].dtype, "Tidx": ax.dtype},
        name=name,
    )


# ------------------------------------------------------------------ Tile / Pad / Slice / Reverse


def _tile_infer(inputs, attrs):
    x, m = inputs
    check_dtype(m.dtype, INDEX)
    d, mv = _dims(x), constant_value(m)
    if d is None:
        return [(x.dtype, TensorShape(None))]
    if m.shape.is_fully_defined() and m.shape.as_list() != [len(d)]:
        raise ValueError(
            f"Shape must be [{len(d)}] but is {m.shape.tf_str()} for 'Tile' (multiples)"
        )
    if mv is None:
        return [(x.dtype, TensorShape([None] * len(d)))]
    return [(x.dtype, TensorShape([None if a is None else a * k for a, k in zip(d, _ints(mv))]))]


defop(
    "Tile",
    INJECTIVE,
    _tile_infer,
    lambda x, m, **a: np.tile(x, _ints(m)) if x.ndim else x.copy(),
    fallback=MOVE,
)


def tile(input, multiples, name=None) -> Tensor:
    """Repeat ``input`` ``multiples[i]`` times along axis ``i`` (``tf.tile``)."""
    x = convert_to_tensor(input)
    m = as_index(multiples)
    return make1("Tile", [x, m], {"T": x.dtype, "Tmultiples": m.dtype}, name=name or "Tile")


def _pad_infer(inputs, attrs):
    x, p = inputs[0], inputs[1]
    check_dtype(p.dtype, INDEX)
    d, pv = _dims(x), constant_value(p)
    if d is None:
        return [(x.dtype, TensorShape(None))]
    if p.shape.is_fully_defined() and p.shape.as_list() != [len(d), 2]:
        raise ValueError(
            f"Shape must be [{len(d)},2] but is {p.shape.tf_str()} for 'Pad' (paddings)"
        )
    if pv is None:
        return [(x.dtype, TensorShape([None] * len(d)))]
    pv = np.asarray(pv).reshape(-1, 2)
    if np.any(pv < 0):
        raise ValueError("Paddings must be non-negative for 'Pad'")
    out = [None if a is None else a + int(lo + hi) for a, (lo, hi) in zip(d, pv)]
    return [(x.dtype, TensorShape(out))]


def _pad_kernel(x, p, c=None, **a):
    p = np.asarray(p).reshape(-1, 2)
    if np.any(p < 0):
        raise InvalidArgumentError(None, None, "Paddings must be non-negative")
    return np.pad(x, p.tolist(), constant_values=0 if c is None else c)


defop("Pad", INJECTIVE, _pad_infer, _pad_kernel, fallback=MOVE)
defop("PadV2", INJECTIVE, _pad_infer, _pad_kernel, fallback=MOVE)


def _mirror_kernel(x, p, *, mode, **a):
    p = np.asarray(p).reshape(-1, 2)
    off = 1 if mode == "REFLECT" else 0  # REFLECT excludes the edge, so it has one row less
    for n, (lo, hi) in zip(x.shape, p.tolist()):
        if lo < 0 or hi < 0:
            raise InvalidArgumentError(None, None, f"Paddings must be non-negative: {lo} {hi}")
        if lo > n - off or hi > n - off:
            word = "less than" if off else "no greater than"
            raise InvalidArgumentError(
                None, None, f"paddings must be {word} the dimension size: {lo}, {hi} vs {n}"
            )
    return np.pad(x, p.tolist(), mode=mode.lower())


defop("MirrorPad", INJECTIVE, _pad_infer, _mirror_kernel, fallback=MOVE)


def pad(tensor, paddings, mode="CONSTANT", name=None, constant_values=0) -> Tensor:
    """Pad ``tensor`` by ``paddings[i] = [before, after]`` (``tf.pad``)."""
    x = convert_to_tensor(tensor)
    p = as_index(paddings)
    mode = mode.upper()
    if mode == "CONSTANT":
        if isinstance(constant_values, (int, float)) and constant_values == 0:
            return make1("Pad", [x, p], {"T": x.dtype, "Tpaddings": p.dtype}, name=name or "Pad")
        c = convert_to_tensor(constant_values, dtype=x.dtype)
        return make1(
            "PadV2", [x, p, c], {"T": x.dtype, "Tpaddings": p.dtype}, name=name or "PadV2"
        )
    if mode not in ("REFLECT", "SYMMETRIC"):
        raise ValueError(f"Unknown padding mode: {mode}")
    attrs = {"T": x.dtype, "Tpaddings": p.dtype, "mode": mode}
    return make1("MirrorPad", [x, p], attrs, name=name or "MirrorPad")


def _slice_infer(inputs, attrs):
    x, b, s = inputs
    d, bv, sv = _dims(x), constant_value(b), constant_value(s)
    if d is None:
        return [(x.dtype, TensorShape(None))]
    if bv is None or sv is None:
        known = [] if sv is None else _ints(sv)
        return [(x.dtype, TensorShape([k if k >= 0 else None for k in known] or [None] * len(d)))]
    bv, sv = _ints(bv), _ints(sv)
    if len(bv) != len(d) or len(sv) != len(d):
        raise ValueError(f"Shape must be rank {len(d)} for 'Slice' begin and size")
    # TF's shape function only rejects sizes below -1 and a negative "rest of the dimension";
    # other out-of-range begin/size pairs fail in the kernel when it runs.
    out = []
    for n, lo, k in zip(d, bv, sv):
        if k < -1:
            raise ValueError(f"Invalid value in tensor used for shape: {k}")
        if k == -1 and n is not None and n - lo < 0:
            raise ValueError(
                f"Negative dimension size caused by subtracting {lo} from {n} for 'Slice'"
            )
        out.append((None if n is None else n - lo) if k == -1 else k)
    return [(x.dtype, TensorShape(out))]


def _slice_kernel(x, b, s, **a):
    idx = []
    for n, lo, k in zip(x.shape, _ints(b), _ints(s)):
        k = n - lo if k == -1 else k
        if lo < 0 or k < 0 or lo + k > n:
            raise InvalidArgumentError(
                None, None, f"Expected size[i] in [0, {n - lo}], but got {k}"
            )
        idx.append(builtins.slice(lo, lo + k))
    return np.asarray(x[tuple(idx)], order="C")


defop("Slice", INJECTIVE, _slice_infer, _slice_kernel, fallback=MOVE)


def slice(input_, begin, size, name=None) -> Tensor:
    """``input_[begin[i] : begin[i] + size[i]]`` per axis; size -1 takes the rest."""
    x = convert_to_tensor(input_)
    b, s = as_index(begin), as_index(size)
    return make1("Slice", [x, b, s], {"T": x.dtype, "Index": b.dtype}, name=name or "Slice")


def _reverse_axes(axes, rank, error):
    out = []
    for i, v in enumerate(int(v) for v in np.asarray(axes).reshape(-1)):
        if not -rank <= v < rank:
            raise error(f"'axis'[{i}] = {v} is out of valid range [0, {rank - 1}]")
        if v % rank in out:
            raise error(f"axis {v % rank} specified more than once.")
        out.append(v % rank)
    return tuple(out)


def _reverse_infer(inputs, attrs):
    x, axis = inputs
    check_dtype(axis.dtype, INDEX)
    known = constant_value(axis)
    if known is not None and x.shape.ndims is not None:
        _reverse_axes(known, x.shape.ndims, ValueError)  # TF's shape function checks these
    return [(x.dtype, x.shape)]


def _reverse_kernel(x, axis, **a):
    ax = _reverse_axes(axis, x.ndim, lambda msg: InvalidArgumentError(None, None, msg))
    return np.asarray(np.flip(x, ax), order="C") if ax else x


defop("ReverseV2", INJECTIVE, _reverse_infer, _reverse_kernel, fallback=MOVE)


def reverse(tensor, axis, name=None) -> Tensor:
    """Reverse ``tensor`` along the axes in ``axis`` (``tf.reverse``)."""
    x = convert_to_tensor(tensor)
    a = as_index(axis)
    return make1("ReverseV2", [x, a], {"T": x.dtype, "Tidx": a.dtype}, name=name or "ReverseV2")


# ------------------------------------------------------------------ BroadcastTo / Fill / Range


def _shape_from_tensor(t):
    v = constant_value(t)
    if v is not None:
        return TensorShape(_ints(v))
    if t.shape.is_fully_defined() and t.shape.ndims == 1:
        return TensorShape([None] * t.shape.as_list()[0])
    return TensorShape(None)


def _bcast_to_infer(inputs, attrs):
    from ..shapes import broadcast_static

    x, s = inputs
    check_dtype(s.dtype, INDEX)
    target = _shape_from_tensor(s)
    out = broadcast_static(x.shape, target, " for 'BroadcastTo'")
    if out.ndims is not None and target.ndims is not None and out.ndims != target.ndims:
        raise ValueError(f"Unable to broadcast tensor of shape {x.shape} to {target}")
    return [(x.dtype, target.merge_with(out) if out.ndims is not None else target)]


def _bcast_to_kernel(x, s, **a):
    try:
        return np.asarray(np.broadcast_to(x, _ints(s)), order="C")
    except ValueError as e:
        raise InvalidArgumentError(None, None, f"Incompatible shapes: {e}") from None


SHAPED = "output shape comes from a tensor input; a driver link"
defop("BroadcastTo", INJECTIVE, _bcast_to_infer, _bcast_to_kernel, fallback=SHAPED)


def broadcast_to(input, shape, name=None) -> Tensor:
    """Broadcast ``input`` to ``shape`` with numpy rules (``tf.broadcast_to``)."""
    x = convert_to_tensor(input)
    s = as_index(shape)
    return make1(
        "BroadcastTo", [x, s], {"T": x.dtype, "Tidx": s.dtype}, name=name or "BroadcastTo"
    )


def _fill_infer(inputs, attrs):
    dims, v = inputs
    check_dtype(dims.dtype, INDEX)
    if v.shape.ndims not in (None, 0):
        raise ValueError(f"Shape must be rank 0 but is rank {v.shape.ndims} for 'Fill' (value)")
    known = constant_value(dims)
    if known is not None and any(int(k) < 0 for k in np.ravel(known)):
        raise ValueError(f"Fill dimensions must be >= 0, got {np.ravel(known).tolist()}")
    return [(v.dtype, _shape_from_tensor(dims))]


def _fill_kernel(dims, v, **a):
    d = _ints(dims)
    if any(k < 0 for k in d):
        raise InvalidArgumentError(None, None, f"Fill dimensions must be >= 0, got {d}")
    return np.full(d, v, dtype=v.dtype)


defop("Fill", INJECTIVE, _fill_infer, _fill_kernel, fallback=SHAPED)


def fill(dims, value, name=None) -> Tensor:
    """A tensor of shape ``dims`` filled with the scalar ``value`` (``tf.fill``)."""
    d = as_index(dims)
    v = convert_to_tensor(value)
    return make1("Fill", [d, v], {"T": v.dtype, "index_type": d.dtype}, name=name or "Fill")


defop("ZerosLike", ELEMWISE, same_as(0), lambda x, **a: np.zeros_like(x), scalar="zeros")
defop("OnesLike", ELEMWISE, same_as(0), lambda x, **a: np.ones_like(x), scalar="ones")


def _filled(shape, dtype, value, name):
    dtype = _dt.as_dtype(dtype)
    if isinstance(shape, Tensor):
        return fill(shape, np.asarray(value, dtype.np), name=name)
    from .array import constant

    shape = _ints(shape) if not isinstance(shape, TensorShape) else shape.as_list()
    return constant(np.full(shape, value, dtype=dtype.np), dtype=dtype, name=name)


def zeros(shape, dtype=_dt.float32, name=None) -> Tensor:
    """A tensor of zeros (a ``Const`` for a static shape, else ``Fill``)."""
    return _filled(shape, dtype, 0, name or "zeros")


def ones(shape, dtype=_dt.float32, name=None) -> Tensor:
    """A tensor of ones (a ``Const`` for a static shape, else ``Fill``)."""
    return _filled(shape, dtype, 1, name or "ones")


def _like(op_type, value):
    def fn(tensor, dtype=None, name=None, optimize=True):
        x = convert_to_tensor(tensor)
        if dtype is not None and _dt.as_dtype(dtype) is not x.dtype:
            from .array import shape as _shape

            with x.graph.as_default():
                if optimize and x.shape.is_fully_defined():
                    return _filled(x.shape.as_list(), dtype, value, name or op_type)
                return fill(_shape(x), np.asarray(value, _dt.as_dtype(dtype).np), name=name)
        return make1(op_type, [x], {"T": x.dtype}, name=name or op_type)

    fn.__name__ = op_type.lower()
    fn.__doc__ = f"A tensor like ``tensor`` filled with {value} (``tf.{fn.__name__}``)."
    return fn


zeros_like = _like("ZerosLike", 0)
ones_like = _like("OnesLike", 1)


def _range_infer(inputs, attrs):
    vals = [constant_value(t) for t in inputs]
    dt = inputs[0].dtype
    for t in inputs:
        if t.shape.ndims not in (None, 0):
            raise ValueError(f"Shape must be rank 0 but is rank {t.shape.ndims} for 'Range'")
    if any(v is None for v in vals):
        return [(dt, TensorShape([None]))]
    start, limit, delta = (np.asarray(v).item() for v in vals)
    problem = _range_problem(start, limit, delta)
    if problem:
        raise ValueError(f"{problem} for 'Range'")
    return [(dt, TensorShape([len(np.arange(start, limit, delta))]))]


def _range_problem(start, limit, delta):
    """TF's Range checks: a zero delta, or a delta pointing away from ``limit``."""
    if delta == 0:
        return f"Requires delta != 0: {delta}"
    if delta > 0 and start > limit:
        return f"Requires start <= limit when delta > 0: {start}/{limit}"
    if delta < 0 and start < limit:
        return f"Requires start >= limit when delta < 0: {start}/{limit}"
    return None


def _range_kernel(start, limit, delta, *, Tidx, **a):
    problem = _range_problem(*(np.asarray(v).item() for v in (start, limit, delta)))
    if problem:
        raise InvalidArgumentError(None, None, problem)
    return np.arange(start, limit, delta, dtype=_dt.as_dtype(Tidx).np)


defop("Range", SOURCE, _range_infer, _range_kernel, fallback="computed once per run")


def range(start, limit=None, delta=1, dtype=None, name="range") -> Tensor:
    """``[start, start + delta, ...)`` up to ``limit`` (``tf.range``)."""
    if limit is None:
        start, limit = 0, start
    vals = [start, limit, delta]
    if dtype is None:
        inferred = [v.dtype for v in vals if isinstance(v, Tensor)]
        is_float = any(isinstance(v, float) for v in vals) or any(d.is_floating for d in inferred)
        dtype = (
            max(inferred, key=lambda d: d.size)
            if inferred
            else (_dt.float32 if is_float else _dt.int32)
        )
    dtype = _dt.as_dtype(dtype)
    ts = [
        v if isinstance(v, Tensor) else convert_to_tensor(np.asarray(v, dtype=dtype.np))
        for v in vals
    ]
    return make1("Range", ts, {"Tidx": dtype}, name=name)


defop(
    "Rank",
    INJECTIVE,
    lambda inputs, attrs: [(_dt.int32, TensorShape([]))],
    lambda x, **a: np.int32(x.ndim),
    fallback="reads shapes, no data",
)


def rank_op(input, name=None) -> Tensor:
    """A ``Rank`` op: the dynamic rank of ``input`` (for tensors of unknown rank)."""
    x = convert_to_tensor(input)
    return make1("Rank", [x], {"T": x.dtype}, name=name or "Rank")


# isort: split
# Split, SplitV and Unpack live in array_split.py (module size); re-exported here.
from .array_split import split, unstack  # noqa: E402, F401
