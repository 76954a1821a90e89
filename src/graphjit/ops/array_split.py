"""Splitting ops: Split, SplitV, Unpack (``tf.split``/``tf.unstack``), and MirrorPadGrad.

Split out of ``ops/array_more.py`` (which re-exports ``split`` and ``unstack``).
"""

from __future__ import annotations

import builtins

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import Tensor, constant_value, convert_to_tensor
from ..shapes import TensorShape
from .array_more import MOVE, _dims, _ints, _norm_axis, as_index
from .common import make1, make_op
from .registry import INJECTIVE, defop

# ------------------------------------------------------------------ Split / SplitV / Unpack


def _split_shapes(x, ax, sizes):
    d = _dims(x)
    if d is None:
        return [(x.dtype, TensorShape(None))] * len(sizes)
    if ax is None:
        return [(x.dtype, TensorShape([None] * len(d)))] * len(sizes)
    return [(x.dtype, TensorShape([*d[:ax], s, *d[ax + 1 :]])) for s in sizes]


def _split_infer(inputs, attrs):
    axis, x = inputs
    n = attrs["num_split"]
    a, d = constant_value(axis), _dims(x)
    if a is None or d is None:
        return _split_shapes(x, None, [None] * n)
    ax = _norm_axis(int(a), len(d), "Split")
    if d[ax] is not None and d[ax] % n:
        raise ValueError(
            f"Dimension size must be evenly divisible by {n} but is {d[ax]} for 'Split'"
        )
    return _split_shapes(x, ax, [None if d[ax] is None else d[ax] // n] * n)


def _split_kernel(axis, x, *, num_split, **a):
    ax = int(axis) % x.ndim
    if x.shape[ax] % num_split:
        raise InvalidArgumentError(
            None,
            None,
            f"Number of ways to split should evenly divide the split dimension, but got "
            f"split_dim {ax} (size = {x.shape[ax]}) and num_split {num_split}",
        )
    return tuple(np.asarray(p, order="C") for p in np.split(x, num_split, axis=ax))


defop("Split", INJECTIVE, _split_infer, _split_kernel, fallback=MOVE)


def _splitv_infer(inputs, attrs):
    x, sizes, axis = inputs
    n = attrs["num_split"]
    a, s, d = constant_value(axis), constant_value(sizes), _dims(x)
    if a is None or d is None:
        return _split_shapes(x, None, [None] * n)
    ax = _norm_axis(int(a), len(d), "SplitV")
    if s is None:
        return _split_shapes(x, ax, [None] * n)
    s = _ints(s)
    if s.count(-1) == 1 and d[ax] is not None:
        s[s.index(-1)] = d[ax] - (sum(s) + 1)
    if d[ax] is not None and -1 not in s and sum(s) != d[ax]:
        raise ValueError(
            f"Determined shape must either match input shape along split_dim exactly if fully "
            f"specified, or be less than the size of the input along split_dim if not fully "
            f"specified.  Got: {sum(s)} for 'SplitV'"
        )
    return _split_shapes(x, ax, [None if v == -1 else v for v in s])


def _splitv_kernel(x, sizes, axis, *, num_split, **a):
    ax = int(axis) % x.ndim
    s = _ints(sizes)
    if -1 in s:
        s[s.index(-1)] = x.shape[ax] - (sum(s) + 1)
    if sum(s) != x.shape[ax] or min(s, default=0) < 0:
        raise InvalidArgumentError(None, None, f"SplitV: sizes {s} do not sum to {x.shape[ax]}")
    return tuple(np.asarray(p, order="C") for p in np.split(x, np.cumsum(s)[:-1], axis=ax))


defop("SplitV", INJECTIVE, _splitv_infer, _splitv_kernel, fallback=MOVE)


def split(value, num_or_size_splits, axis=0, num=None, name="split") -> list:
    """Split ``value`` into equal parts or parts of given sizes (``tf.split``)."""
    x = convert_to_tensor(value)
    ax = as_index(axis)
    if isinstance(num_or_size_splits, (int, np.integer)):
        n = int(num_or_size_splits)
        return make_op("Split", [ax, x], {"num_split": n, "T": x.dtype}, name=name).outputs
    sizes = as_index(num_or_size_splits)
    if num is None:
        if not sizes.shape.is_fully_defined():
            raise ValueError(f"Cannot infer argument `num` from shape {sizes.shape}")
        num = sizes.shape.as_list()[0]
    attrs = {"num_split": int(num), "T": x.dtype, "Tlen": sizes.dtype}
    return make_op("SplitV", [x, sizes, ax], attrs, name=name).outputs


def _unpack_infer(inputs, attrs):
    (x,) = inputs
    n, axis = attrs["num"], attrs["axis"]
    d = _dims(x)
    if d is None:
        return [(x.dtype, TensorShape(None))] * n
    ax = _norm_axis(axis, len(d), "Unpack")
    if d[ax] is not None and d[ax] != n:
        raise ValueError(f"Dimension must be {n} but is {d[ax]} for 'Unpack'")
    return [(x.dtype, TensorShape(d[:ax] + d[ax + 1 :]))] * n


def _unpack_kernel(x, *, num, axis=0, **a):
    ax = axis % x.ndim
    if x.shape[ax] != num:
        raise InvalidArgumentError(None, None, f"Unpack: dimension {ax} is not {num}")
    return tuple(np.asarray(np.take(x, i, axis=ax), order="C") for i in builtins.range(num))


defop("Unpack", INJECTIVE, _unpack_infer, _unpack_kernel, fallback=MOVE, attr_defaults={"axis": 0})


def unstack(value, num=None, axis=0, name="unstack") -> list:
    """Split ``value`` along ``axis`` into a list of tensors of one rank less (``tf.unstack``)."""
    x = convert_to_tensor(value)
    r = x.shape.ndims
    if r is not None and not -r <= axis < r:
        raise ValueError(f"Argument `axis` = {axis} not in range [{-r}, {r})")
    if num is None:
        d = _dims(x)
        if d is None or d[axis] is None:
            raise ValueError(f"Cannot infer argument `num` from shape {x.shape}")
        num = d[axis]
    return make_op("Unpack", [x], {"num": num, "axis": axis, "T": x.dtype}, name=name).outputs


# ------------------------------------------------------------------ MirrorPadGrad


def _mirror_grad_infer(inputs, attrs):
    dy, p = inputs
    pv, d = constant_value(p), _dims(dy)
    if d is None:
        return [(dy.dtype, TensorShape(None))]
    if pv is None:
        return [(dy.dtype, TensorShape([None] * len(d)))]
    pv = np.asarray(pv).reshape(-1, 2)
    return [(dy.dtype, TensorShape([None if n is None else n - int(b) - int(e)
                                    for n, (b, e) in zip(d, pv)]))]  # fmt: skip


def _mirror_grad_kernel(dy, p, *, mode, **a):
    """Fold the mirrored borders of ``dy`` back onto the entries they copied."""
    off = 0 if mode == "SYMMETRIC" else 1
    out = dy
    for ax, (b, e) in enumerate(np.asarray(p).reshape(-1, 2).tolist()):
        n = out.shape[ax] - b - e
        src = np.concatenate([
            np.arange(b - 1 + off, off - 1, -1) if b else np.zeros(0, int),
            np.arange(n),
            np.arange(n - 1 - off, n - 1 - off - e, -1) if e else np.zeros(0, int),
        ]).astype(np.intp)  # fmt: skip
        moved = np.moveaxis(out, ax, 0)
        acc = np.zeros((n, *moved.shape[1:]), dy.dtype)
        np.add.at(acc, src, moved)
        out = np.moveaxis(acc, 0, ax)
    return np.asarray(out, order="C")


defop("MirrorPadGrad", INJECTIVE, _mirror_grad_infer, _mirror_grad_kernel, fallback=MOVE)


def mirror_pad_grad(dy, paddings, mode, name=None) -> Tensor:
    """The gradient of ``MirrorPad``: borders summed back into the interior."""
    dy = convert_to_tensor(dy)
    p = as_index(paddings)
    attrs = {"T": dy.dtype, "Tpaddings": p.dtype, "mode": mode}
    return make1("MirrorPadGrad", [dy, p], attrs, name=name or "MirrorPadGrad")
