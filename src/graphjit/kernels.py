"""Library kernels and scalar helpers used by generated code.

Two kinds of code live here:

* small ``@njit(cache=True)`` scalar helpers that generated segments call inside their loops
  (integer division that reports division by zero, NaN-propagating max/min, numpy's float
  modulo, broadcasting one dimension);
* driver-link kernels for ``OPAQUE`` ops named by ``OpDef.kernel`` (``matmul``): one numpy call
  into BLAS from the straight-line driver. Compiling ``np.dot`` into a segment costs ~1.8 s of
  numba compile for the same BLAS call, so opaque ops stay links (see ``docs/jit.md``).

Only generated modules and :mod:`graphjit.jit` import this module, so ``import graphjit``
does not import numba. Errors inside kernels are raised as plain Python exceptions; the
executor then replays the run in the interpreter, which raises TF's error class and message.
"""

from __future__ import annotations

import numpy as np
from numba import njit

_opts = {"cache": True, "error_model": "numpy", "nogil": True}


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


def matmul(a, b, *, transpose_a=False, transpose_b=False, **attrs):
    """``MatMul`` as one BLAS call (``np.matmul`` on possibly transposed views)."""
    if transpose_a:
        a = a.T
    if transpose_b:
        b = b.T
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError("Matrix size-incompatible")
    return np.matmul(a, b)
