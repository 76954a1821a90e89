"""Library kernels and scalar helpers used by generated code.

Two kinds of code live here:

* small ``@njit(cache=True)`` scalar helpers that generated segments call inside their loops
  (integer division that reports division by zero, NaN-propagating max/min, numpy's float
  modulo, broadcasting one dimension);
* the compiled row loops of the driver-link kernels for ``OPAQUE`` ops named by
  ``OpDef.kernel`` (argmax/argmin, the row-wise softmax family, ``l2_loss``), whose Python
  wrappers live in :mod:`graphjit.kernels_rows` (and ``matmul`` in
  :mod:`graphjit.kernels_blas`: one numpy call into BLAS from the straight-line driver;
  compiling ``np.dot`` into a segment costs ~1.8 s of numba compile for the same BLAS call).
  Both modules need no numba; this one re-exports their kernels under their ``OpDef.kernel``
  names.

Only generated modules and :mod:`graphjit.jit` import this module, so ``import graphjit``
does not import numba. Errors inside kernels are raised as plain Python exceptions; the
executor then replays the run in the interpreter, which raises TF's error class and message.
"""

from __future__ import annotations

import numpy as np
from numba import njit, types
from numba.extending import overload

from . import mathlib as _m
from .kernels_blas import matmul, matmul_link  # noqa: F401  (OpDef.kernel "matmul")
from .kernels_rows import (  # noqa: F401  (OpDef.kernel names; the row loops are below)
    argmax,
    argmin,
    l2_loss,
    log_softmax,
    softmax,
    softmax_xent,
    sparse_softmax_xent,
)

_opts = {"cache": True, "error_model": "numpy", "nogil": True}
# row kernels: the row sums may be reassociated (vectorized), as in fused float reductions
_rows = dict(_opts, fastmath={"reassoc"})


@njit(**_opts)
def bd(a, b):
    """Broadcast two dimensions; -1 when they are incompatible."""
    if a == b or b == 1:
        return a
    if a == 1:
        return b
    return -1


@njit(**_opts)
def itruncdiv(a, b):
    """TF's integer ``RealDiv``/``Div``: truncates toward zero; raises on division by zero."""
    if b == 0:
        raise ZeroDivisionError("Integer division by zero")
    q = a // b
    if q < 0 and q * b != a:
        q += 1
    return q


@njit(**_opts)
def ifloordiv(a, b):
    """Integer ``FloorDiv`` (Python/numpy floor semantics); raises on division by zero."""
    if b == 0:
        raise ZeroDivisionError("Integer division by zero")
    return a // b


@njit(**_opts)
def ifloormod(a, b):
    """Integer ``FloorMod`` (result has the divisor's sign); raises on division by zero."""
    if b == 0:
        raise ZeroDivisionError("Integer division by zero")
    return a % b


@njit(**_opts)
def ffloormod(a, b):
    """numpy's float ``mod``: ``fmod`` moved to the divisor's sign."""
    r = np.fmod(a, b)
    if r != 0 and ((r < 0) != (b < 0)):
        r += b
    return r


@njit(**_opts)
def ipow(a, b):
    """Integer power; negative exponents are an error in TF."""
    if b < 0:
        raise ValueError("Integers to negative integer powers are not allowed")
    r = 1
    while b:
        if b & 1:
            r *= a
        a *= a
        b >>= 1
    return r


@njit(**_opts)
def maximum(a, b):
    """``np.maximum``: NaN wins."""
    return a if (a >= b or a != a) else b


@njit(**_opts)
def minimum(a, b):
    """``np.minimum``: NaN wins."""
    return a if (a <= b or a != a) else b


@njit(**_opts)
def sign(x):
    """``np.sign`` (NaN stays NaN)."""
    if x > 0:
        return 1
    if x < 0:
        return -1
    return x - x  # 0 for numbers, NaN for NaN


@njit(**_opts)
def imean(acc, count):
    """Integer mean truncated toward zero (TF); the sum itself when nothing was reduced."""
    if count == 0:
        return acc
    q = acc // count
    if q < 0 and q * count != acc:
        q += 1
    return q


# ------------------------------------------------------------------ driver-link kernels


@njit(**_rows)
def _half_sum_squares(x, zero):
    acc = zero
    for i in range(x.size):
        acc += x[i] * x[i]
    return acc / 2


@njit(**_opts)
def _arg_rows(x, out, is_max):
    """Index of the max (min) of each row; NaN never wins and ties keep the first index."""
    n, k = x.shape
    for r in range(n):
        idx = 0
        best = -np.inf if is_max else np.inf
        for j in range(k):
            v = x[r, j]
            if (v > best) if is_max else (v < best):
                best = v
                idx = j
        out[r] = idx


# ------------------------------------------------------------------ row-wise softmax family
# One row (the last axis) fits in L1 for the sizes that matter, so each row is read by a
# max pass, an exp pass that stores ``e`` and accumulates its sum, and a normalisation pass;
# all three are flat unit-stride loops LLVM vectorizes (the exp is mathlib's branch-free one).
#
# The max ignores NaN (``v > m``), which gives the numpy kernel's results everywhere: a NaN
# in a row makes the sum NaN either way, so the float64 row is all NaN, the log-softmax row
# is all NaN, and the float32 softmax row gets TF's oneDNN semantics (NaN where
# ``exp(x - nanmax)`` is NaN, 0 elsewhere), which are computed from exactly this ``e``.


def _exp_nonpos(x):  # pragma: no cover - replaced by the overload inside compiled code
    return np.exp(x)


@overload(_exp_nonpos, jit_options={"cache": True})
def _exp_nonpos_impl(x):
    """mathlib's ``exp`` for ``x <= 0`` or nan in ``x``'s dtype: every row exponent here is
    of ``x - max`` or of a log-probability, never positive."""
    if x == types.float32:
        return lambda x: _m.exp_nonpos_f32(x)
    return lambda x: _m.exp_nonpos_f64(x)


def _lit(x, v):  # pragma: no cover - replaced by the overload inside compiled code
    return v


@overload(_lit, jit_options={"cache": True})
def _lit_impl(x, v):
    """The Python number ``v`` as a scalar of the array ``x``'s dtype."""
    if x.dtype == types.float32:
        return lambda x, v: np.float32(v)
    return lambda x, v: np.float64(v)


@njit(**_opts)
def _row_max(x, r, k):
    """Max of row ``r`` ignoring NaN (-inf when all NaN); eight lanes so it vectorizes."""
    m0 = m1 = m2 = m3 = m4 = m5 = m6 = m7 = _lit(x, -np.inf)
    j = 0
    while j + 8 <= k:
        v = x[r, j]
        m0 = v if v > m0 else m0
        v = x[r, j + 1]
        m1 = v if v > m1 else m1
        v = x[r, j + 2]
        m2 = v if v > m2 else m2
        v = x[r, j + 3]
        m3 = v if v > m3 else m3
        v = x[r, j + 4]
        m4 = v if v > m4 else m4
        v = x[r, j + 5]
        m5 = v if v > m5 else m5
        v = x[r, j + 6]
        m6 = v if v > m6 else m6
        v = x[r, j + 7]
        m7 = v if v > m7 else m7
        j += 8
    for i in range(j, k):
        v = x[r, i]
        m0 = v if v > m0 else m0
    m0 = m1 if m1 > m0 else m0
    m2 = m3 if m3 > m2 else m2
    m4 = m5 if m5 > m4 else m4
    m6 = m7 if m7 > m6 else m6
    m0 = m2 if m2 > m0 else m0
    m4 = m6 if m6 > m4 else m4
    return m4 if m4 > m0 else m0


@njit(**_rows)
def _softmax_rows(x, out, log, f32):
    """``out = softmax(x)`` (or log-softmax) row by row; ``x``, ``out`` are 2-D C arrays."""
    n, k = x.shape
    for r in range(n):
        m = _row_max(x, r, k)
        s = _lit(x, 0.0)
        for j in range(k):
            e = _exp_nonpos(x[r, j] - m)
            out[r, j] = e
            s += e
        if log:
            ls = np.log(s)
            for j in range(k):
                out[r, j] = (x[r, j] - m) - ls
        elif s != s and f32:
            for j in range(k):
                e = out[r, j]
                out[r, j] = e if e != e else e - e
        else:
            # s >= 1 (the max term is exp(0)), so one reciprocal is safe; a vector multiply
            # instead of k divisions (vdivps is ~10x a multiply): at most 1 ulp more error
            inv = _lit(x, 1.0) / s
            for j in range(k):
                out[r, j] = out[r, j] * inv


@njit(inline="always", **_rows)  # numba-level: LLVM left the call per row (12% at k = 10)
def _xent_row(src, labels, loss, back, r, k):
    """Row ``r`` of the dense cross-entropy of logits ``src`` (which may be ``back``: each
    element is read before it is written)."""
    m = _row_max(src, r, k)
    s = _lit(src, 0.0)
    for j in range(k):
        s += _exp_nonpos(src[r, j] - m)
    ls = np.log(s)
    acc = _lit(src, 0.0)
    for j in range(k):
        logp = (src[r, j] - m) - ls
        acc += labels[r, j] * logp
        back[r, j] = _exp_nonpos(logp) - labels[r, j]
    loss[r] = -acc


@njit(**_rows)
def _xent_rows(x, labels, loss, back):
    """Dense softmax cross-entropy: ``loss[r] = -sum(labels * logp)``, ``back = p - labels``."""
    n, k = x.shape
    for r in range(n):
        _xent_row(x, labels, loss, back, r, k)


@njit(**_rows)
def _bias_xent_rows(x, bias, labels, loss, back):
    """``_xent_rows`` of ``x + bias`` (a row vector): the sum is formed in ``back``, row by
    row, and read back from there (no logits array, no separate pass)."""
    n, k = x.shape
    for r in range(n):
        for j in range(k):
            back[r, j] = x[r, j] + bias[j]
        _xent_row(back, labels, loss, back, r, k)


@njit(inline="always", **_rows)
def _sparse_xent_row(src, labels, loss, back, r, k):
    """Row ``r`` of the sparse cross-entropy of logits ``src`` (which may be ``back``)."""
    m = _row_max(src, r, k)
    s = _lit(src, 0.0)
    for j in range(k):
        s += _exp_nonpos(src[r, j] - m)
    ls = np.log(s)
    lab = labels[r]
    loss[r] = -((src[r, lab] - m) - ls)
    for j in range(k):
        back[r, j] = _exp_nonpos((src[r, j] - m) - ls)
    back[r, lab] -= 1


@njit(**_opts)
def _check_labels(labels, k):
    for r in range(labels.shape[0]):
        lab = labels[r]
        if lab < 0 or lab >= k:
            raise ValueError("label out of range")


@njit(**_rows)
def _sparse_xent_rows(x, labels, loss, back):
    """Sparse softmax cross-entropy; raises on a label outside ``[0, k)``."""
    n, k = x.shape
    _check_labels(labels, k)
    for r in range(n):
        _sparse_xent_row(x, labels, loss, back, r, k)


@njit(**_rows)
def _bias_sparse_xent_rows(x, bias, labels, loss, back):
    """``_sparse_xent_rows`` of ``x + bias`` (see :func:`_bias_xent_rows`)."""
    n, k = x.shape
    _check_labels(labels, k)
    for r in range(n):
        for j in range(k):
            back[r, j] = x[r, j] + bias[j]
        _sparse_xent_row(back, labels, loss, back, r, k)
