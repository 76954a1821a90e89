"""Linear algebra: BatchMatMulV2, Einsum, the diagonal ops, and the composites built on them
(``tensordot``, ``norm``, ``trace``, ``eye``).

Composites are built from graph ops the way TF1's Python layer builds them, so their gradients
come from the ops they are made of.
"""

from __future__ import annotations

import builtins
import re

import numpy as np

from .. import dtypes as _dt
from ..errors import InvalidArgumentError
from ..graph import OVERLOADS, Tensor, convert_to_tensor, get_default_graph
from ..shapes import TensorShape, broadcast_static
from . import array as a
from . import array_more as am
from . import math as m
from .common import NUMERIC, check_dtype, make1
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
    return [unbroadcast(gx, x), unbroadcast(gy, y)]


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


def _axes_pair(axes, ra, rb):
    if isinstance(axes, (int, np.integer)):
        n = int(axes)
        if n < 0 or n > ra or n > rb:
            raise ValueError(f"'axes' must be at most the rank of a and b, got {n}")
        return list(builtins.range(ra - n, ra)), list(builtins.range(n))
    axes = list(axes)
    if len(axes) != 2:
        raise ValueError(f"'axes' must be an integer or have length 2, got {axes}")
    xa, xb = axes
    xa = [xa] if isinstance(xa, (int, np.integer)) else list(xa)
    xb = [xb] if isinstance(xb, (int, np.integer)) else list(xb)
    if len(xa) != len(xb):
        raise ValueError(
            f"Different number of contraction axes 'a' and 'b', {len(xa)} != {len(xb)}."
        )
    return [int(i) % ra for i in xa], [int(i) % rb for i in xb]


def _dims_tensor(x, axes):
    """Sizes of ``axes`` of ``x``: Python ints when static, else an int32 tensor."""
    d = x.shape.as_list()
    if all(d[i] is not None for i in axes):
        return [d[i] for i in axes]
    return a.gather(a.shape(x), np.asarray(axes, np.int32))


def _prod(dims):
    if isinstance(dims, list):
        return int(np.prod(dims)) if dims else 1
    return m.reduce_prod(dims)


def tensordot(a_, b, axes, name=None) -> Tensor:
    """Contract ``axes`` of ``a`` with those of ``b`` (``tf.tensordot``): transpose, reshape,
    one MatMul, reshape back. Both ranks must be known."""
    a_ = convert_to_tensor(a_)
    b = convert_to_tensor(b)
    g = a_.graph
    with g.name_scope(name or "Tensordot"):
        if a_.shape.ndims is None or b.shape.ndims is None:
            raise ValueError("tensordot needs operands of known rank")
        ra, rb = a_.shape.ndims, b.shape.ndims
        xa, xb = _axes_pair(axes, ra, rb)
        da, db = a_.shape.as_list(), b.shape.as_list()
        for i, j in zip(xa, xb):
            if da[i] is not None and db[j] is not None and da[i] != db[j]:
                raise ValueError(
                    f"Dimensions must be equal, but are {da[i]} and {db[j]} for 'Tensordot' "
                    f"with input shapes: {a_.shape.tf_str()}, {b.shape.tf_str()}."
                )
        fa = [i for i in builtins.range(ra) if i not in xa]
        fb = [i for i in builtins.range(rb) if i not in xb]
        at = a_ if fa + xa == list(builtins.range(ra)) else am.transpose(a_, fa + xa)
        bt = b if xb + fb == list(builtins.range(rb)) else am.transpose(b, xb + fb)
        free_a, free_b = _dims_tensor(a_, fa), _dims_tensor(b, fb)
        k = _prod(_dims_tensor(a_, xa))
        a2 = a.reshape(at, _stack_dims([_prod(free_a), k]))
        b2 = a.reshape(bt, _stack_dims([k, _prod(free_b)]))
        out = m.matmul(a2, b2)
        if isinstance(free_a, list) and isinstance(free_b, list):
            final = free_a + free_b
        else:
            final = am.concat([_as_vec(free_a), _as_vec(free_b)], 0)
        return a.reshape(out, final, name="Tensordot" if name is None else None)


def _as_vec(d):
    return convert_to_tensor(np.asarray(d, np.int32)) if isinstance(d, list) else d


def _stack_dims(parts):
    if all(isinstance(p, int) for p in parts):
        return parts
    return a.stack([p if isinstance(p, Tensor) else np.int32(p) for p in parts])


# ------------------------------------------------------------------ Einsum

_EQ = re.compile(r"^([a-zA-Z.]*(?:,[a-zA-Z.]*)*)->([a-zA-Z.]*)$")


def _parse(equation, n):
    eq = equation.replace(" ", "")
    if "->" not in eq:
        ins = eq.split(",")
        letters = "".join(ins)
        out = "".join(sorted(c for c in set(letters) if letters.count(c) == 1 and c != "."))
        eq = f"{eq}->{out}"
    mt = _EQ.match(eq)
    if mt is None or "." in eq:
        raise ValueError(f"Einsum: unsupported equation {equation!r} (no ellipsis support)")
    ins = mt.group(1).split(",")
    if len(ins) != n:
        raise ValueError(f"Einsum: equation {equation!r} expects {len(ins)} inputs, got {n}")
    return ins, mt.group(2)


def _einsum_infer(inputs, attrs):
    ins, out = _parse(attrs["equation"], len(inputs))
    sizes: dict = {}
    for t, spec in zip(inputs, ins):
        if t.dtype is not inputs[0].dtype:
            raise TypeError(f"Einsum: all inputs must have dtype {inputs[0].dtype.name}")
        if t.shape.ndims is None:
            continue
        if t.shape.ndims != len(spec):
            raise ValueError(
                f"Einsum: input of rank {t.shape.ndims} does not match subscripts {spec!r}"
            )
        for c, d in zip(spec, t.shape.as_list()):
            if d is None:
                continue
            if sizes.get(c) not in (None, d):
                raise ValueError(
                    f"Expected dimension {sizes[c]} at axis of the input for label {c!r} in "
                    f"'Einsum', got {d}"
                )
            sizes[c] = d
    return [(inputs[0].dtype, TensorShape([sizes.get(c) for c in out]))]


def _einsum_kernel(*xs, equation, N=None, T=None):
    ins, out = _parse(equation, len(xs))
    try:
        return np.asarray(np.einsum(f"{','.join(ins)}->{out}", *xs), dtype=xs[0].dtype)
    except ValueError as e:
        raise InvalidArgumentError(None, None, f"Einsum: {e}") from None


def einsum(equation, *inputs, name=None) -> Tensor:
    """Einstein summation (``tf.einsum``) without ellipses, as one ``Einsum`` op."""
    xs = [convert_to_tensor(x) for x in inputs]
    attrs = {"equation": equation, "N": len(xs), "T": xs[0].dtype}
    return make1("Einsum", xs, attrs, name=name or "Einsum")


def _einsum_grad(op, g):
    ins, out = _parse(op.get_attr("equation"), len(op.inputs))
    grads = []
    for i, spec in enumerate(ins):
        others = [(t, s) for j, (t, s) in enumerate(zip(op.inputs, ins)) if j != i]
        avail = set(out).union(*[set(s) for _, s in others])
        if len(set(spec)) != len(spec) or not set(spec) <= avail:
            raise LookupError(
                f"Einsum gradient for equation {op.get_attr('equation')!r} is not supported "
                f"(an index repeats or is summed within one operand) ({op.name})"
            )
        eq = ",".join([out] + [s for _, s in others]) + "->" + spec
        grads.append(einsum(eq, g, *[t for t, _ in others]))
    return grads


defop(
    "Einsum",
    OPAQUE,
    _einsum_infer,
    _einsum_kernel,
    grad=_einsum_grad,
    fallback=LINALG,
)

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
