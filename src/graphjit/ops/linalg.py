"""Linear algebra: BatchMatMulV2, the diagonal ops, and the composites built on them
(``tensordot``, ``norm``, ``trace``, ``eye``); Einsum lives in ``ops/einsum_ops.py``.

Composites are built from graph ops the way TF1's Python layer builds them, so their gradients
come from the ops they are made of.
"""

from __future__ import annotations

import builtins

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import OVERLOADS, Tensor, constant_value, convert_to_tensor, get_default_graph
from ..shapes import TensorShape, broadcast_static
from . import array as a
from . import array_more as am
from . import indexing as ix
from . import math as m
from .broadcast_ops import list_diff
from .common import NUMERIC, check_dtype, make1
from .einsum_ops import einsum
from .registry import OPAQUE, defop

LINALG = "library matmul/einsum; numpy kernel"

# ------------------------------------------------------------------ BatchMatMulV2


def _bmm_infer(inputs, attrs):
    x, y = inputs
    if x.dtype is not y.dtype:
        raise TypeError(
            f"Input 'y' of 'BatchMatMulV2' Op has type {y.dtype.name} that does not match type "
            f"{x.dtype.name} of argument 'x'."
        )
    check_dtype(x.dtype, NUMERIC)
    for t, what in ((x, "x"), (y, "y")):
        if t.shape.ndims is not None and t.shape.ndims < 2:
            raise ValueError(
                f"Shape must be at least rank 2 but is rank {t.shape.ndims} for "
                f"'BatchMatMulV2' (input {what})"
            )
    if x.shape.ndims is None or y.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    dx, dy = x.shape.as_list(), y.shape.as_list()
    mx = dx[-2:][::-1] if attrs.get("adj_x") else dx[-2:]
    my = dy[-2:][::-1] if attrs.get("adj_y") else dy[-2:]
    if mx[1] is not None and my[0] is not None and mx[1] != my[0]:
        raise ValueError(
            f"Dimensions must be equal, but are {mx[1]} and {my[0]} for 'BatchMatMulV2' with "
            f"input shapes: {x.shape.tf_str()}, {y.shape.tf_str()}."
        )
    batch = broadcast_static(TensorShape(dx[:-2]), TensorShape(dy[:-2]))
    return [(x.dtype, TensorShape([*batch.as_list(), mx[0], my[1]]))]


def _bmm_kernel(x, y, *, adj_x=False, adj_y=False, T=None):
    if adj_x:
        x = np.swapaxes(x, -1, -2)
    if adj_y:
        y = np.swapaxes(y, -1, -2)
    if x.shape[-1] != y.shape[-2]:
        raise InvalidArgumentError(
            None,
            None,
            f"Matrix size-incompatible: In[0]: {list(x.shape)}, In[1]: {list(y.shape)}",
        )
    try:
        np.broadcast_shapes(x.shape[:-2], y.shape[:-2])
    except ValueError:
        raise InvalidArgumentError(
            None,
            None,
            f"In[0] and In[1] must have compatible batch dimensions: {list(x.shape)} vs. "
            f"{list(y.shape)}",
        ) from None
    return np.matmul(x, y)


def batch_matmul(x, y, adj_x=False, adj_y=False, name=None) -> Tensor:
    """``BatchMatMulV2``: matmul over the last two axes, batch axes broadcast."""
    x = convert_to_tensor(x)
    y = convert_to_tensor(y)
    attrs = {"T": x.dtype, "adj_x": bool(adj_x), "adj_y": bool(adj_y)}
    return make1("BatchMatMulV2", [x, y], attrs, name=name or "MatMul")


def _bmm_grad(op, g):
    from .grads_math import unbroadcast

    x, y = op.inputs
    ax, ay = op.get_attr("adj_x"), op.get_attr("adj_y")
    if not ax and not ay:
        gx, gy = batch_matmul(g, y, adj_y=True), batch_matmul(x, g, adj_x=True)
    elif not ax and ay:
        gx, gy = batch_matmul(g, y), batch_matmul(g, x, adj_x=True)
    elif ax and not ay:
        gx, gy = batch_matmul(y, g, adj_y=True), batch_matmul(x, g)
    else:
        gx, gy = batch_matmul(y, g, True, True), batch_matmul(g, x, True, True)
    return [
        gx if _batch_kept(x, y) else unbroadcast(gx, x),
        gy if _batch_kept(y, x) else unbroadcast(gy, y),
    ]


def _batch_kept(x, y) -> bool:
    """Whether ``x``'s batch dimensions provably survive broadcasting against ``y``'s (so its
    gradient needs no reduction even where those dimensions are unknown)."""
    from .grads_math import stretch_free

    if x.shape.ndims is None or y.shape.ndims is None:
        return False
    xb, yb = x.shape.as_list()[:-2], y.shape.as_list()[:-2]
    return len(xb) >= len(yb) and stretch_free(xb, [yb])


defop(
    "BatchMatMulV2",
    OPAQUE,
    _bmm_infer,
    _bmm_kernel,
    grad=_bmm_grad,
    fallback=LINALG,
    attr_defaults={"adj_x": False, "adj_y": False},
)


def matmul(a_, b, transpose_a=False, transpose_b=False, adjoint_a=False, adjoint_b=False,
           a_is_sparse=False, b_is_sparse=False, name=None):  # fmt: skip
    """``tf.matmul``: ``MatMul`` for two rank-2 operands, ``BatchMatMulV2`` otherwise."""
    a_ = convert_to_tensor(a_)
    b = convert_to_tensor(b, dtype=a_.dtype) if not isinstance(b, Tensor) else b
    ra, rb = a_.shape.ndims, b.shape.ndims
    if ra == 2 and rb == 2:
        return m.matmul(a_, b, transpose_a, transpose_b, adjoint_a, adjoint_b, name=name)
    if (ra is not None and ra < 2) or (rb is not None and rb < 2):
        raise ValueError(
            f"Shape must be at least rank 2 but is rank {min(r for r in (ra, rb) if r)} "
            "for 'MatMul'"
        )
    return batch_matmul(a_, b, transpose_a or adjoint_a, transpose_b or adjoint_b, name=name)


OVERLOADS["matmul"] = matmul

# ------------------------------------------------------------------ tensordot


def _tensordot_axes(x, axes):
    """TF's ``_tensordot_axes``: the contraction axes of both operands, as lists or tensors."""
    rank = x.shape.ndims
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0:
            raise ValueError(f"`axes` must be at least 0. Received: {n}.")
        if rank is not None:
            if n > rank:
                raise ValueError(
                    f"`axes` must not be larger than the number of dimensions of tensor {x}.  "
                    f"Received {n}, vs tensor dimensions {rank}."
                )
            return list(builtins.range(rank - n, rank)), list(builtins.range(n))
        r = a.rank(x)
        return am.range(r - n, r, dtype=_dt.int32), am.range(n, dtype=_dt.int32)
    if isinstance(axes, (list, tuple)):
        if len(axes) != 2:
            raise ValueError(f"`axes` must be an integer or have length 2. Received {axes}.")
        xa, xb = axes
        if isinstance(xa, (int, np.integer)) and isinstance(xb, (int, np.integer)):
            xa, xb = [xa], [xb]
        if not isinstance(xa, Tensor) and not isinstance(xb, Tensor) and len(xa) != len(xb):
            raise ValueError(
                f"Different number of contraction axes `a` and `b`, {len(xa)} != {len(xb)}."
            )
        return _axis_list(xa), _axis_list(xb)
    axes = convert_to_tensor(axes, dtype=_dt.int32)
    return axes[0], axes[1]


def _axis_list(v):
    """Python ints stay a list (the static path); anything else becomes an int32 tensor."""
    if isinstance(v, Tensor):
        return v
    if isinstance(v, (list, tuple)) and not any(isinstance(i, Tensor) for i in v):
        return [int(i) for i in v]
    return convert_to_tensor(v, dtype=_dt.int32)


def _tensordot_reshape(x, axes, flipped=False):
    """TF's ``_tensordot_reshape``: ``x`` as the matrix ``[free, contracted]`` (flipped:
    ``[contracted, free]``), the free dims (a list or a tensor), and their static dims."""
    static_axes = isinstance(axes, list)
    if static_axes and x.shape.is_fully_defined():
        dims = x.shape.as_list()
        axes = [i if i >= 0 else i + len(dims) for i in axes]
        free = [i for i in builtins.range(len(dims)) if i not in axes]
        free_dims = [dims[i] for i in free]
        n_free, n_axes = int(np.prod(free_dims)), int(np.prod([dims[i] for i in axes]))
        perm = axes + free if flipped else free + axes
        new_shape = [n_axes, n_free] if flipped else [n_free, n_axes]
        xt = x if perm == list(builtins.range(len(dims))) else am.transpose(x, perm)
        x2 = xt if xt.shape.as_list() == new_shape else a.reshape(xt, new_shape)
        return x2, free_dims, free_dims
    if static_axes and x.shape.ndims is not None:
        dims = x.shape.as_list()
        axes = [i if i >= 0 else i + len(dims) for i in axes]
        free = [i for i in builtins.range(len(dims)) if i not in axes]
        free_static = [dims[i] for i in free]
        axes, free = am.as_index(axes), am.as_index(free)
        sx = a.shape(x)
    else:
        # Unknown rank (or axes given as a tensor): normalise the axes and find the free
        # ones at run time.
        free_static = None
        sx, rx = a.shape(x), a.rank(x)
        axes = convert_to_tensor(axes, dtype=_dt.int32)
        axes = ix.where(m.greater_equal(axes, np.int32(0)), axes, m.add(axes, rx))
        free, _ = list_diff(am.range(rx), axes, _dt.int32)
    free_dims, axes_dims = a.gather(sx, free), a.gather(sx, axes)
    n_free, n_axes = m.reduce_prod(free_dims), m.reduce_prod(axes_dims)
    if flipped:
        perm, new_shape = am.concat([axes, free], 0), a.stack([n_axes, n_free])
    else:
        perm, new_shape = am.concat([free, axes], 0), a.stack([n_free, n_axes])
    return a.reshape(am.transpose(x, perm), new_shape), free_dims, free_static


def _check_contracted_dims(x, y, xa, xb):
    """Known sizes of paired axes must agree (a build-time ValueError naming Tensordot)."""
    if not (isinstance(xa, list) and isinstance(xb, list)):
        return
    if x.shape.ndims is None or y.shape.ndims is None:
        return
    dx, dy = x.shape.as_list(), y.shape.as_list()
    for i, j in zip(xa, xb):
        if not (-len(dx) <= i < len(dx) and -len(dy) <= j < len(dy)):
            # TF fails indexing the static shape list: an IndexError
            raise IndexError(f"Tensordot: axis pair ({i}, {j}) is out of range for input "
                             f"shapes {x.shape.tf_str()}, {y.shape.tf_str()}.")  # fmt: skip
        if dx[i] is not None and dy[j] is not None and dx[i] != dy[j]:
            raise ValueError(
                f"Dimensions must be equal, but are {dx[i]} and {dy[j]} for 'Tensordot' "
                f"with input shapes: {x.shape.tf_str()}, {y.shape.tf_str()}."
            )


def tensordot(a_, b, axes, name=None) -> Tensor:
    """Contract ``axes`` of ``a`` with those of ``b`` (``tf.tensordot``), built as TF builds it:
    transpose and reshape each operand to a matrix, one MatMul, reshape back.

    ``axes`` is an int N (the last N axes of ``a`` with the first N of ``b``), a pair of axis
    lists, or an int32 tensor of shape ``[2, k]``. Operands of unknown rank or unknown
    dimensions take TF's dynamic path (Shape, Gather, ListDiff), so the free dims are found
    at run time.

    >>> import graphjit.compat.v1 as tf
    >>> x = tf.placeholder(tf.float32)  # unknown rank
    >>> y = tf.tensordot(x, tf.ones([3, 2]), 1)
    >>> tf.Session().run(y, {x: [[1.0, 2.0, 3.0]]}).tolist()
    [[6.0, 6.0]]
    """
    a_ = convert_to_tensor(a_)
    b = convert_to_tensor(b)
    with a_.graph.name_scope(name or "Tensordot") as scope:
        xa, xb = _tensordot_axes(a_, axes)
        _check_contracted_dims(a_, b, xa, xb)
        a2, free_a, static_a = _tensordot_reshape(a_, xa)
        b2, free_b, static_b = _tensordot_reshape(b, xb, True)
        out = m.matmul(a2, b2)
        if isinstance(free_a, list) and isinstance(free_b, list):
            if out.shape.is_fully_defined() and out.shape.as_list() == free_a + free_b:
                return out
            return a.reshape(out, free_a + free_b, name=scope)
        final = am.concat([am.as_index(free_a), am.as_index(free_b)], 0)
        product = a.reshape(out, final, name=scope)
        if static_a is not None and static_b is not None:
            product.set_shape(static_a + static_b)
        elif isinstance(axes, Tensor):
            product.set_shape(_folded_free_dims(a_, b, axes))
        return product


def _folded_free_dims(x, y, axes):
    """The result shape when constant ``axes`` meet fully known operands (TF's shape refiner
    constant-folds the Shape/Gather/Prod chain there), else an unknown shape."""
    val = constant_value(axes)
    if val is None or not (x.shape.is_fully_defined() and y.shape.is_fully_defined()):
        return TensorShape(None)
    out = []
    for t, ax in zip((x, y), np.asarray(val).reshape(2, -1).tolist()):
        dims = t.shape.as_list()
        ax = [i % len(dims) for i in ax]
        out += [d for i, d in enumerate(dims) if i not in ax]
    return TensorShape(out)


# ------------------------------------------------------------------ diagonals


def _mdiag_infer(inputs, attrs):
    (x,) = inputs
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    if x.shape.ndims < 1:
        raise ValueError("Shape must be at least rank 1 but is rank 0 for 'MatrixDiag'")
    d = x.shape.as_list()
    return [(x.dtype, TensorShape([*d, d[-1]]))]


def _mdiag_kernel(x, **a):
    n = x.shape[-1]
    out = np.zeros((*x.shape, n), x.dtype)
    idx = np.arange(n)
    out[..., idx, idx] = x
    return out


def _mdiag_part_infer(inputs, attrs):
    (x,) = inputs
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    if x.shape.ndims < 2:
        raise ValueError(
            f"Shape must be at least rank 2 but is rank {x.shape.ndims} for 'MatrixDiagPart'"
        )
    d = x.shape.as_list()
    k = None if None in d[-2:] else min(d[-2:])
    return [(x.dtype, TensorShape([*d[:-2], k]))]


def _mdiag_part_kernel(x, **a):
    return np.asarray(np.diagonal(x, axis1=-2, axis2=-1), order="C")


def _mdiag_part_grad(op, g):
    d = op.inputs[0].shape.as_list() if op.inputs[0].shape.ndims else None
    full = matrix_diag(g)
    if d is not None and None not in d[-2:] and d[-2] != d[-1]:
        k = min(d[-2:])
        pads = [[0, 0]] * (len(d) - 2) + [[0, d[-2] - k], [0, d[-1] - k]]
        full = am.pad(full, pads)
    return [full]


defop(
    "MatrixDiag",
    OPAQUE,
    _mdiag_infer,
    _mdiag_kernel,
    grad=lambda op, g: [matrix_diag_part(g)],
    fallback="scatter onto a diagonal; numpy kernel",
)
defop(
    "MatrixDiagPart",
    OPAQUE,
    _mdiag_part_infer,
    _mdiag_part_kernel,
    grad=_mdiag_part_grad,
    fallback="gather of a diagonal; numpy kernel",
)


def matrix_diag(diagonal, name="diag") -> Tensor:
    """Batched diagonal matrices from the last axis of ``diagonal`` (``tf.linalg.diag``)."""
    x = convert_to_tensor(diagonal)
    return make1("MatrixDiag", [x], {"T": x.dtype}, name=name)


def matrix_diag_part(input, name="diag_part") -> Tensor:
    """The main diagonal of the last two axes (``tf.linalg.diag_part``)."""
    x = convert_to_tensor(input)
    return make1("MatrixDiagPart", [x], {"T": x.dtype}, name=name)


def _diag_infer(inputs, attrs):
    (x,) = inputs
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    if x.shape.ndims < 1:
        raise ValueError("Input must be at least rank 1 for 'Diag', got rank 0")
    d = x.shape.as_list()
    return [(x.dtype, TensorShape(d + d))]


def _diag_kernel(x, **a):
    return np.diag(x.reshape(-1)).reshape(x.shape + x.shape)


def _diag_part_infer(inputs, attrs):
    (x,) = inputs
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape(None))]
    r = x.shape.ndims
    if r % 2 or r == 0:
        raise ValueError(f"Input must have even rank for 'DiagPart', got rank {r}")
    d = x.shape.as_list()
    for i in builtins.range(r // 2):
        if None not in (d[i], d[i + r // 2]) and d[i] != d[i + r // 2]:
            raise ValueError(
                f"Dimensions must be equal, but are {d[i]} and {d[i + r // 2]} for 'DiagPart'"
            )
    return [(x.dtype, TensorShape(d[: r // 2]))]


def _diag_part_kernel(x, **a):
    h = x.shape[: x.ndim // 2]
    n = int(np.prod(h))
    if x.shape[x.ndim // 2 :] != h:
        raise InvalidArgumentError(None, None, f"DiagPart: invalid shape {list(x.shape)}")
    return np.asarray(np.diagonal(x.reshape(n, n)).reshape(h), order="C")


defop("Diag", OPAQUE, _diag_infer, _diag_kernel, grad=lambda op, g: [diag_part(g)],
      fallback="scatter onto a diagonal; numpy kernel")  # fmt: skip
defop("DiagPart", OPAQUE, _diag_part_infer, _diag_part_kernel, grad=lambda op, g: [diag(g)],
      fallback="gather of a diagonal; numpy kernel")  # fmt: skip


def diag(diagonal, name=None) -> Tensor:
    """``tf.diag``: rank-k input to a rank-2k tensor with it on the diagonal."""
    x = convert_to_tensor(diagonal)
    return make1("Diag", [x], {"T": x.dtype}, name=name or "Diag")


def diag_part(input, name=None) -> Tensor:
    """``tf.diag_part``: the inverse of :func:`diag`."""
    x = convert_to_tensor(input)
    return make1("DiagPart", [x], {"T": x.dtype}, name=name or "DiagPart")


def trace(x, name=None) -> Tensor:
    """Sum of the main diagonal of the last two axes (``tf.linalg.trace``)."""
    x = convert_to_tensor(x)
    with x.graph.name_scope(name or "Trace"):
        return m.reduce_sum(matrix_diag_part(x), axis=[-1])


def eye(num_rows, num_columns=None, batch_shape=None, dtype=_dt.float32, name=None) -> Tensor:
    """An identity matrix (optionally batched), as ``tf.eye``."""
    dtype = _dt.as_dtype(dtype)
    ncols = num_rows if num_columns is None else num_columns
    static = not any(isinstance(v, Tensor) for v in (num_rows, ncols))
    if static and (batch_shape is None or not isinstance(batch_shape, Tensor)):
        val = np.eye(int(num_rows), int(ncols), dtype=dtype.np)
        if batch_shape is not None:
            val = np.broadcast_to(val, (*[int(b) for b in batch_shape], *val.shape)).copy()
        return a.constant(val, dtype=dtype, name=name or "eye")
    with get_default_graph().name_scope(name or "eye"):
        rows = am.expand_dims(am.range(0, num_rows), 1)
        cols = am.range(0, ncols)
        out = a.cast(m.equal(rows, cols), dtype)
        if batch_shape is not None:
            shp = am.concat([a.cast(batch_shape, _dt.int32), a.shape(out)], 0)
            out = am.broadcast_to(out, shp)
        return out


# ------------------------------------------------------------------ norm


def norm(tensor, ord="euclidean", axis=None, keepdims=None, name=None, keep_dims=None):
    """Vector and matrix norms (``tf.norm``): euclidean/fro, 1, 2 (vectors), inf, and p > 0."""
    x = convert_to_tensor(tensor)
    keep = bool(keepdims if keepdims is not None else keep_dims)
    is_matrix = isinstance(axis, (tuple, list)) and len(axis) == 2
    if isinstance(axis, (tuple, list)) and len(axis) not in (1, 2):
        raise ValueError(f"'axis' must be None, an integer, or a tuple of 2 unique integers, "
                         f"got {axis}")  # fmt: skip
    ok_vec = ord in ("euclidean", "fro", 1, 2, np.inf) or (
        isinstance(ord, (int, float)) and ord > 0
    )
    ok_mat = ord in ("euclidean", "fro", 1, np.inf)
    if not (ok_mat if is_matrix else ok_vec) or (ord == "fro" and not is_matrix and axis):
        raise ValueError(f"'ord' must be a supported {'matrix' if is_matrix else 'vector'} "
                         f"norm, got {ord!r}")  # fmt: skip
    with x.graph.name_scope(name or "norm"):
        ax = axis
        if ord in ("euclidean", "fro", 2):
            out = m.sqrt(m.reduce_sum(x * x, axis=ax, keepdims=True))
        elif is_matrix:
            r0, r1 = axis
            if ord == 1:  # max column sum
                out = m.reduce_max(m.reduce_sum(m.abs(x), r0, keepdims=True), r1, keepdims=True)
            else:  # max row sum
                out = m.reduce_max(m.reduce_sum(m.abs(x), r1, keepdims=True), r0, keepdims=True)
        elif ord == 1:
            out = m.reduce_sum(m.abs(x), axis=ax, keepdims=True)
        elif ord == np.inf:
            out = m.reduce_max(m.abs(x), axis=ax, keepdims=True)
        else:
            p = np.asarray(ord, x.dtype.np)
            out = m.pow(m.reduce_sum(m.pow(m.abs(x), p), axis=ax, keepdims=True), 1 / p)
        if not keep:
            out = a.squeeze(out, axis=list(axis) if isinstance(axis, (tuple, list)) else axis)
        return out


__all__ = [
    "batch_matmul",
    "diag",
    "diag_part",
    "einsum",
    "eye",
    "matmul",
    "matrix_diag",
    "matrix_diag_part",
    "norm",
    "tensordot",
    "trace",
]
