"""Branch-free, vectorizable float32 ``exp`` and ``tanh`` for the numba limit kernels.

LLVM cannot vectorize loops that call libm's ``expf``/``tanhf`` (numba ships no
vector math library by default), so a hand-written kernel calling ``np.exp``
would understate what a fused kernel can reach.  These polynomial versions
(Cody-Waite range reduction plus a degree-6 polynomial, scaling by building
the exponent bits directly) have a relative error of about 2e-7 and compile to
straight-line SIMD code.

If the project's own ``graphjit.mathlib`` provides ``exp_f32`` and
``tanh_f32`` and they pass a quick accuracy check, :func:`select` prefers them.
"""

from __future__ import annotations

import numba
import numpy as np
from llvmlite import ir
from numba import types
from numba.extending import intrinsic

_LOG2E = np.float32(1.4426950408889634)
_LN2_HI = np.float32(0.693359375)
_LN2_LO = np.float32(-2.12194440e-4)
_HI = np.float32(88.3762626647949)
_LO = np.float32(-87.3365447505531)


@intrinsic
def _bits_to_f32(typingctx, bits):
    """Reinterpret an int32 as float32 (an LLVM bitcast, vectorizable)."""
    sig = types.float32(types.int32)

    def codegen(context, builder, signature, args):
        return builder.bitcast(args[0], ir.FloatType())

    return sig, codegen


@numba.njit(inline="always", fastmath=True, error_model="numpy")
def bench_exp_f32(x):
    """Return ``exp(x)`` for a float32 scalar, branch-free."""
    x = min(max(x, _LO), _HI)
    n = np.floor(x * _LOG2E + np.float32(0.5))
    r = x - n * _LN2_HI
    r = r - n * _LN2_LO
    p = np.float32(1.0 / 720.0)
    p = p * r + np.float32(1.0 / 120.0)
    p = p * r + np.float32(1.0 / 24.0)
    p = p * r + np.float32(1.0 / 6.0)
    p = p * r + np.float32(0.5)
    p = p * r + np.float32(1.0)
    p = p * r + np.float32(1.0)
    scale = _bits_to_f32((np.int32(n) + np.int32(127)) << np.int32(23))
    return p * scale


@numba.njit(inline="always", fastmath=True, error_model="numpy")
def bench_tanh_f32(x):
    """Return ``tanh(x)`` for a float32 scalar, branch-free."""
    x = min(max(x, np.float32(-9.0)), np.float32(9.0))
    e = bench_exp_f32(np.float32(2.0) * x)
    return np.float32(1.0) - np.float32(2.0) / (e + np.float32(1.0))


def _accurate(exp_fn, tanh_fn) -> bool:
    @numba.njit(fastmath=True)
    def probe(xs, out_e, out_t):
        for i in range(xs.size):
            out_e[i] = exp_fn(xs[i])
            out_t[i] = tanh_fn(xs[i])

    xs = np.linspace(-20, 20, 4001, dtype=np.float32)
    oe, ot = np.empty_like(xs), np.empty_like(xs)
    probe(xs, oe, ot)
    return bool(
        np.allclose(oe, np.exp(xs.astype(np.float64)), rtol=1e-5, atol=0)
        and np.allclose(ot, np.tanh(xs.astype(np.float64)), rtol=1e-5, atol=1e-6)
    )


def select() -> tuple[object, object, str]:
    """Return ``(exp_f32, tanh_f32, source)``, preferring ``graphjit.mathlib``.

    Returns
    -------
    tuple
        Two numba-callable scalar functions and ``"graphjit.mathlib"`` or
        ``"bench.fastmath"``.
    """
    try:
        from graphjit import mathlib

        exp_fn, tanh_fn = mathlib.exp_f32, mathlib.tanh_f32
        if _accurate(exp_fn, tanh_fn):
            return exp_fn, tanh_fn, "graphjit.mathlib"
    except Exception:
        pass
    return bench_exp_f32, bench_tanh_f32, "bench.fastmath"
