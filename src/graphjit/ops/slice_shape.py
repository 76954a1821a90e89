"""Static shape inference for ``StridedSlice`` (TF's ``ValidateStridedSliceOp`` at build time).

Split out of ``ops/array.py``. TF infers as much as the graph tells it: with constant
``begin``/``end``/``strides`` every output dimension is known (up to unknown input dims); with
only ``strides`` constant (``x[i]``, ``x[:, j:]`` with scalar tensor indices) shrink axes
still vanish, dimensions taken whole by ``begin_mask & end_mask`` keep their size (divided by
the stride), and the rest become ``None``; without constant strides the shape is unknown.
"""

from __future__ import annotations

import numpy as np

from ..graph import constant_value
from ..shapes import TensorShape


class _Unknown:
    """A spec entry whose bounds are not known at build time."""

    __slots__ = ("shrink",)

    def __init__(self, shrink: bool):
        self.shrink = shrink


_POINT = _Unknown(shrink=True)  # x[i]: the axis vanishes, no bounds check possible
_RANGE = _Unknown(shrink=False)  # x[i:j]: the axis stays, its length is unknown


def folded_value(t):
    """``t``'s value when the graph fixes it: a Const, or Pack/Cast of constants.

    TF's shape refiner constant-folds such small subgraphs (``EvaluateConstantTensor``); a
    GraphDef written by TF's ``_slice_helper`` packs its strides, so inference needs this.
    """
    val = constant_value(t)
    if val is not None:
        return val
    op = t.op
    if op.type == "Pack":
        parts = [folded_value(x) for x in op.inputs]
        if any(p is None for p in parts):
            return None
        return np.stack([np.asarray(p) for p in parts], axis=op.get_attr("axis"))
    if op.type == "Cast":
        val = folded_value(op.inputs[0])
        return None if val is None else np.asarray(val).astype(t.dtype.np)
    return None


def spec_index(begin, end, strides, attrs):
    """The numpy index that a StridedSlice spec describes.

    ``begin``/``end`` may be ``None`` (not known at build time): entries that need them become
    placeholders that :func:`slice_static` understands.
    """
    known = begin is not None and end is not None
    idx = []
    for i in range(len(strides)):
        bit = 1 << i
        if attrs["ellipsis_mask"] & bit:
            idx.append(Ellipsis)
        elif attrs["new_axis_mask"] & bit:
            idx.append(np.newaxis)
        elif attrs["shrink_axis_mask"] & bit:
            idx.append(int(begin[i]) if known else _POINT)
        elif attrs["begin_mask"] & bit and attrs["end_mask"] & bit:
            idx.append(slice(None, None, int(strides[i])))
        elif known:
            b = None if attrs["begin_mask"] & bit else int(begin[i])
            e = None if attrs["end_mask"] & bit else int(end[i])
            idx.append(slice(b, e, int(strides[i])))
        else:
            idx.append(_RANGE)
    if Ellipsis not in idx:
        idx.append(Ellipsis)
    return tuple(idx)


def slice_static(shape: TensorShape, idx):
    """Output shape of ``x[idx]`` for a partial static shape (None dims stay unknown)."""
    if shape.ndims is None:
        return TensorShape(None)
    dims = shape.as_list()
    out, d = [], 0
    for pos, k in enumerate(idx):
        if k is Ellipsis:
            after = sum(1 for k2 in idx[pos + 1 :] if k2 is not None and k2 is not Ellipsis)
            take = len(dims) - d - after
            out.extend(dims[d : d + take])
            d += take
            continue
        if k is None:
            out.append(1)
            continue
        if d >= len(dims):
            raise ValueError(f"Index out of range using input dim {d}")
        n = dims[d]
        if isinstance(k, _Unknown):
            if not k.shrink:
                out.append(None)
        elif isinstance(k, int):
            if n is not None and not -n <= k < n:
                raise ValueError(f"slice index {k} of dimension {d} out of bounds.")
        else:
            out.append(None if n is None else len(range(n)[k]))
        d += 1
    return TensorShape(out)


def strided_slice_shape(x_shape: TensorShape, begin, end, strides, attrs) -> TensorShape:
    """The static output shape of ``StridedSlice``; ``begin``/``end``/``strides`` are tensors."""
    sv = folded_value(strides)
    if x_shape.ndims is None or sv is None:
        return TensorShape(None)
    sv = np.asarray(sv).reshape(-1)
    for i, s in enumerate(sv.tolist()):
        if s == 0:
            raise ValueError(f"strides[{i}] must be non-zero")
        if attrs["shrink_axis_mask"] & (1 << i) and s < 0:
            raise ValueError("only stride 1 allowed on non-range indexing.")
    bv, ev = folded_value(begin), folded_value(end)
    if bv is None or ev is None:  # TF needs both to use either
        bv = ev = None
    return slice_static(x_shape, spec_index(bv, ev, sv, attrs))
