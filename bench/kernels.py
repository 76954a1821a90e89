"""Hand-written fused numba kernels: the limit each elementwise/reduction workload is held to.

Every kernel is ``fastmath`` and single-threaded, allocates its output like a
graph executor must (the ``*_out`` variants write into a preallocated buffer),
and uses the branch-free polynomial ``exp``/``tanh`` from
:mod:`bench.fastmath` so LLVM can vectorize it.
"""

from __future__ import annotations

import numba
import numpy as np

from bench.fastmath import select

EXP, TANH, MATH_SOURCE = select()

_F = np.float32
_JIT = {"fastmath": True, "error_model": "numpy"}


@numba.njit(**_JIT)
def fma3(a, b, c):
    """``a * b + c`` for scalars or arrays (the W1/W7 kernel)."""
    return a * b + c


@numba.njit(**_JIT)
def fma3_sum(a, b, c):
    """``(a * b + c, sum(a * b + c))`` for float32 arrays (the W7 kernel)."""
    out = np.empty_like(a)
    s = _F(0.0)
    for i in range(a.size):
        v = a[i] * b[i] + c[i]
        out[i] = v
        s += v
    return out, s


def _chain_exp_tanh_out(x, out):
    """The W2 12-op chain with ``exp``/``tanh``, written into ``out``."""
    for i in range(x.size):
        xi = x[i]
        t3 = TANH(xi * _F(0.5) + _F(0.25))
        t6 = EXP(xi * xi * _F(-0.5))
        t10 = t3 * t6 + xi * _F(1.5) - _F(0.125)
        out[i] = t10 * t10 + xi
    return out


chain_exp_tanh_out = numba.njit(**_JIT)(_chain_exp_tanh_out)
# the same loop with IEEE semantics (no fastmath: no reciprocal for a division, no FMA
# contraction, NaN/inf honoured), which is what a TF-faithful executor may compute
chain_exp_tanh_ieee_out = numba.njit(error_model="numpy")(_chain_exp_tanh_out)


@numba.njit(**_JIT)
def chain_exp_tanh(x):
    """The W2 12-op chain with ``exp``/``tanh``, allocating its output."""
    return chain_exp_tanh_out(x, np.empty_like(x))


def _chain_arith_out(x, out):
    """The W2 11-op arithmetic chain, written into ``out``."""
    for i in range(x.size):
        xi = x[i]
        t1 = xi * _F(1.1)
        t2 = t1 + _F(0.3)
        t4 = t2 * xi - _F(0.7)
        t7 = (t4 * t4 + xi) * _F(0.9)
        out[i] = ((t7 / _F(2.5)) + t1) * t2 - _F(0.05)
    return out


chain_arith_out = numba.njit(**_JIT)(_chain_arith_out)
chain_arith_ieee_out = numba.njit(error_model="numpy")(_chain_arith_out)


@numba.njit(**_JIT)
def chain_arith(x):
    """The W2 11-op arithmetic chain, allocating its output."""
    return chain_arith_out(x, np.empty_like(x))


@numba.njit(**_JIT)
def softmax_rows(x):
    """Row softmax of a 2-D float32 array (three passes over each row)."""
    n, m = x.shape
    out = np.empty_like(x)
    for i in range(n):
        mx = x[i, 0]
        for j in range(1, m):
            mx = max(mx, x[i, j])
        s = _F(0.0)
        for j in range(m):
            e = EXP(x[i, j] - mx)
            out[i, j] = e
            s += e
        inv = _F(1.0) / s
        for j in range(m):
            out[i, j] *= inv
    return out


@numba.njit(**_JIT)
def sum_squares(x):
    """``sum(x * x)`` with a float32 accumulator (vectorized partial sums)."""
    s = _F(0.0)
    for i in range(x.size):
        s += x[i] * x[i]
    return s
