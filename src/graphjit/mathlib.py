"""Branch-free, vectorizable transcendental functions for fused Numba loops.

Numba without SVML lowers ``np.exp``/``math.exp``/``np.tanh``/``np.log`` inside an
``@njit`` loop to scalar libm calls, which stops LLVM's loop vectorizer.  The scalar
functions in this module are written so that, once inlined into a loop such as::

    for i in range(n):
        out[i] = tanh_f32(exp_f32(a[i] * b[i]) + c[i])

the whole loop body is straight-line code (no calls, no branches) that LLVM turns into
packed SIMD instructions (``vfmadd...ps ymm/zmm`` etc.).

Techniques
----------
* Range reduction + polynomial (Cephes / fdlibm style) evaluated with
  ``llvm.fmuladd`` (fused where the target has FMA, plain mul+add elsewhere).
* Special values (inf, nan, zero, overflow, underflow) are handled by computing on
  clamped inputs and fixing the result with ``a if cond else b`` selects, which LLVM
  turns into ``select``/``blend`` instructions.
* Bit manipulation (building ``2**n``, splitting a float into mantissa/exponent),
  ``fabs``, ``copysign`` and floating point division are small
  ``numba.extending.intrinsic`` helpers that emit the LLVM instruction directly.  This
  keeps integer widths at 32/64 bits and avoids Numba's Python-semantics
  ``ZeroDivisionError`` check on ``/``, which would otherwise add a branch under the
  default ``error_model="python"`` of the calling kernel.

All functions are ``@njit(inline="always", cache=True)``; they are meant to be called
from other jitted code (the generated kernels and ``graphjit.jit``), not from Python.
Inlining at the Numba IR level guarantees that even the larger composites (``softplus``,
``erf``) end up inside the caller's loop regardless of LLVM's inlining heuristics.

Accuracy and special-value behaviour are documented in ``docs/mathlib.md``; denormal
inputs and outputs are handled exactly like numpy (no flush to zero).

``FUNCS`` maps ``(function name, numpy dtype name)`` to the exported symbol name.
"""

from __future__ import annotations

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic

from . import mathlib_ir

__all__ = [
    "FUNCS",
    "erf_f32",
    "exp_f32",
    "exp_f64",
    "exp_nonpos_f32",
    "exp_nonpos_f64",
    "expm1_f32",
    "expm1_f64",
    "log1p_f32",
    "log1p_f64",
    "log_f32",
    "log_f64",
    "sigmoid_f32",
    "sigmoid_f64",
    "softplus_f32",
    "softplus_f64",
    "tanh_f32",
    "tanh_f64",
]

# ---------------------------------------------------------------------------------------
# LLVM-level helpers
# ---------------------------------------------------------------------------------------


def _is_float(*tys: types.Type) -> bool:
    return all(isinstance(t, types.Float) for t in tys) and len(set(tys)) == 1


def _llvm_intrinsic(builder: ir.IRBuilder, name: str, lty: ir.Type, args: list) -> ir.Value:
    fnty = ir.FunctionType(lty, [lty] * len(args))
    fn = builder.module.declare_intrinsic(name, [lty], fnty)
    return builder.call(fn, args)


@intrinsic
def _fma(typingctx, a, b, c):
    """``a * b + c`` via ``llvm.fmuladd`` (fused when the target has FMA)."""
    if not _is_float(a, b, c):
        return None

    def codegen(context, builder, sig, args):
        return _llvm_intrinsic(builder, "llvm.fmuladd", context.get_value_type(a), list(args))

    return a(a, b, c), codegen


@intrinsic
def _fabs(typingctx, a):
    """``|a|`` (clears the sign bit)."""
    if not _is_float(a):
        return None

    def codegen(context, builder, sig, args):
        return _llvm_intrinsic(builder, "llvm.fabs", context.get_value_type(a), list(args))

    return a(a), codegen


@intrinsic
def _copysign(typingctx, a, b):
    """``|a|`` with the sign bit of ``b``."""
    if not _is_float(a, b):
        return None

    def codegen(context, builder, sig, args):
        return _llvm_intrinsic(builder, "llvm.copysign", context.get_value_type(a), list(args))

    return a(a, b), codegen


@intrinsic
def _div(typingctx, a, b):
    """IEEE ``a / b`` without Numba's zero-division check."""
    if not _is_float(a, b):
        return None

    def codegen(context, builder, sig, args):
        return builder.fdiv(args[0], args[1])

    return a(a, b), codegen


@intrinsic
def _scale2(typingctx, p, n):
    """``p * 2**n`` for integer-valued float ``n``.

    The scaling is split into two exact powers of two, ``2**(n >> 1)`` and
    ``2**(n - (n >> 1))``, so that ``n`` may range over ``[-252, 254]`` (float32) /
    ``[-2044, 2046]`` (float64): results overflow to inf and underflow gradually into
    the denormals with a single rounding, like a true ``ldexp``.
    """
    if not _is_float(p, n):
        return None

    def codegen(context, builder, sig, args):
        return mathlib_ir.scale2(builder, args[0], args[1], p == types.float32)

    return p(p, n), codegen


@intrinsic
def _pow2(typingctx, n):
    """``2**n`` for integer-valued float ``n`` in the normal exponent range."""
    if not _is_float(n):
        return None

    def codegen(context, builder, sig, args):
        return mathlib_ir.pow2(builder, args[0], n == types.float32)

    return n(n), codegen


@intrinsic
def _logsplit(typingctx, x):
    """Split positive normal ``x`` into ``(m, e)`` with ``x = m * 2**e``.

    ``m`` lies in ``[sqrt(0.5), sqrt(2))`` and ``e`` is returned as an integer-valued
    float.  Pure integer arithmetic on the bit pattern (no branches); garbage for zero,
    negative, denormal, inf and nan inputs, which callers select away.
    """
    if not _is_float(x):
        return None
    ret = types.UniTuple(x, 2)

    def codegen(context, builder, sig, args):
        m, e = mathlib_ir.logsplit(builder, args[0], x == types.float32)
        return cgutils.make_anonymous_struct(builder, [m, e], context.get_value_type(ret))

    return ret(x), codegen


_jit = njit(inline="always", cache=True)

f32 = np.float32
f64 = np.float64

# ---------------------------------------------------------------------------------------
# float32
# ---------------------------------------------------------------------------------------

_F_ZERO = f32(0.0)
_F_HALF = f32(0.5)
_F_ONE = f32(1.0)
_F_TWO = f32(2.0)
_F_INF = f32(np.inf)
_F_NAN = f32(np.nan)
_F_TINY = f32(2.0**-126)  # smallest normal
_F_TWO23 = f32(2.0**23)
_F_23 = f32(23.0)
_F_24 = f32(24.0)
_F_EPS25 = f32(2.0**-25)

# exp: x = n*ln2 + r, |r| <= ln2/2; ln2 = _F_C1 + _F_C2 (Cody-Waite, Cephes expf)
_F_LOG2E = f32(1.44269504088896341)
_F_C1 = f32(0.693359375)
_F_C2 = f32(-2.12194440e-4)
_F_ROUND = f32(1.5 * 2.0**23)  # adding and subtracting it rounds |v| < 2**22 to an integer
_F_EXP_HI = f32(90.0)  # exp(90) overflows; n stays in _scale2's range
_F_EXP_NMIN = f32(-200.0)  # below the n of any clamped input: a nan's n becomes this
_F_EXP_LO = f32(-110.0)  # exp(-110) underflows to 0
_F_EXPM1_LO = f32(-30.0)  # expm1(x) rounds to -1 below about -17.3
# Cephes expf: exp(r) = 1 + r + r^2 * P(r)
_F_EP0 = f32(1.9875691500e-4)
_F_EP1 = f32(1.3981999507e-3)
_F_EP2 = f32(8.3334519073e-3)
_F_EP3 = f32(4.1665795894e-2)
_F_EP4 = f32(1.6666665459e-1)
_F_EP5 = f32(5.0000001201e-1)

# Cephes logf: log(1+f) = f - f^2/2 + f^3 * P(f), m = 1+f in [sqrt(1/2), sqrt(2))
_F_LP0 = f32(7.0376836292e-2)
_F_LP1 = f32(-1.1514610310e-1)
_F_LP2 = f32(1.1676998740e-1)
_F_LP3 = f32(-1.2420140846e-1)
_F_LP4 = f32(1.4249322787e-1)
_F_LP5 = f32(-1.6668057665e-1)
_F_LP6 = f32(2.0000714765e-1)
_F_LP7 = f32(-2.4999993993e-1)
_F_LP8 = f32(3.3333331174e-1)

_F_TANH_HI = f32(10.0)  # tanh(x) rounds to 1 above about 9.01

# erf: |x| < _F_ERF_A: x * P(x^2);  _F_ERF_A <= |x| < 4: 1 - exp(Q(|x|)), Q ~ log(erfc).
# Coefficients: weighted minimax fits (Lawson) against math.erf / math.erfc.
_F_ERF_A = f32(0.921875)
_F_ERF_HI = f32(4.0)  # erf(x) rounds to 1 above about 3.92
_F_EA0 = f32(0.12837916709551257)  # 2/sqrt(pi) - 1; erf(x) = x + x*(P - 1)
_F_EA1 = f32(-0.37612634897232056)
_F_EA2 = f32(0.11283701658248901)
_F_EA3 = f32(-0.026859702542424202)
_F_EA4 = f32(0.0052017164416611195)
_F_EA5 = f32(-0.0008149808272719383)
_F_EA6 = f32(8.397804049309343e-05)
_F_EB0 = f32(0.00017636096163187176)
_F_EB1 = f32(-1.1295231580734253)
_F_EB2 = f32(-0.6333299875259399)
_F_EB3 = f32(-0.10829909145832062)
_F_EB4 = f32(0.025131940841674805)
_F_EB5 = f32(-0.004175898618996143)
_F_EB6 = f32(0.00043547720997594297)
_F_EB7 = f32(-2.1184185243328102e-05)


@_jit
def _expm1_kernel_f32(xc):
    """Return ``(n, p)`` with ``exp(xc) = 2**n * (1 + p)`` for clamped finite ``xc``."""
    n = _fma(xc, _F_LOG2E, _F_ROUND) - _F_ROUND  # rint(xc / ln2), cheaper than llvm.rint
    r = _fma(n, -_F_C1, xc)
    r = _fma(n, -_F_C2, r)
    r2 = r * r
    # Estrin scheme (shorter dependency chain than Horner, which matters in long chains)
    p = _fma(_fma(_F_EP0, r, _F_EP1), r2, _fma(_F_EP2, r, _F_EP3))
    p = _fma(p, r2, _fma(_F_EP4, r, _F_EP5))
    p = _fma(p, r2, r)
    return n, p


@_jit
def exp_f32(x):
    """``exp(x)`` for float32 (Cephes expf reduction and polynomial)."""
    xc = _F_EXP_HI if x > _F_EXP_HI else x
    xc = _F_EXP_LO if xc < _F_EXP_LO else xc
    n, p = _expm1_kernel_f32(xc)
    n = n if n > _F_EXP_NMIN else _F_EXP_NMIN
    return _scale2(p + _F_ONE, n)


@_jit
def exp_nonpos_f32(x):
    """``exp(x)`` for float32 ``x <= 0`` or nan, the same bits as :func:`exp_f32` there.

    For exponents of values already shifted below zero: softmax rows (``x - max``), the
    ``exp(-|x|)`` of sigmoid and softplus. Each select below is one x86 ``max``/``min``
    whose nan rule keeps the nan flowing (``p`` carries it to the result) and the exponent
    arithmetic defined, replacing exp_f32's upper clamp and nan fix-up (two compare-and-
    blend pairs, a fifth of a row softmax's time). For ``x > ln(2)/2`` the exponent is
    clipped to 0 and the result is wrong: callers guarantee ``x <= 0``.
    """
    xc = _F_EXP_LO if x < _F_EXP_LO else x
    n, p = _expm1_kernel_f32(xc)
    n = n if n < _F_ZERO else _F_ZERO
    return _scale2(p + _F_ONE, n)


@_jit
def _expm1_core_f32(x):
    """``expm1(x)`` without the tiny-|x| and nan fix-ups (clamps its input)."""
    xc = x if x < _F_EXP_HI else _F_EXP_HI
    xc = xc if xc > _F_EXPM1_LO else _F_EXPM1_LO
    n, p = _expm1_kernel_f32(xc)
    # expm1(x) = 2**n * p + (2**n - 1); for n > 24 the -1 is below rounding.
    t = _scale2(_F_ONE, n)
    small = _fma(p, t, t - _F_ONE)
    big = _scale2(p + _F_ONE, n) - _F_ONE
    return small if n <= _F_24 else big


@_jit
def expm1_f32(x):
    """``expm1(x) = exp(x) - 1`` for float32, accurate near 0."""
    y = _expm1_core_f32(x)
    y = y if _fabs(x) >= _F_EPS25 else x
    return y if x == x else x


@_jit
def _log_core_f32(x, eadj):
    """``log(x * 2**-eadj)`` for float32, all inputs except positive denormals."""
    m, e = _logsplit(x)
    e = e - eadj
    f = m - _F_ONE
    z = f * f
    y = _fma(_F_LP0, f, _F_LP1)
    y = _fma(y, f, _F_LP2)
    y = _fma(y, f, _F_LP3)
    y = _fma(y, f, _F_LP4)
    y = _fma(y, f, _F_LP5)
    y = _fma(y, f, _F_LP6)
    y = _fma(y, f, _F_LP7)
    y = _fma(y, f, _F_LP8)
    y = y * f * z
    y = _fma(e, _F_C2, y)
    y = _fma(-_F_HALF, z, y)
    r = f + y
    r = _fma(e, _F_C1, r)
    r = r if x < _F_INF else x + x  # +inf -> inf, nan -> nan
    r = r if x != _F_ZERO else -_F_INF
    return r if x >= _F_ZERO else _F_NAN


@_jit
def log_f32(x):
    """Natural logarithm for float32 (Cephes logf); denormal inputs are exact-scaled."""
    tiny = x < _F_TINY
    xs = x * _F_TWO23 if tiny else x
    return _log_core_f32(xs, _F_23 if tiny else _F_ZERO)


@_jit
def log1p_f32(x):
    """``log1p(x) = log(1 + x)`` for float32, accurate near 0."""
    u = x + _F_ONE
    # (x - (u - 1)) is the rounding error of u = 1 + x; log(1+x) ~ log(u) + err/u.
    c = _div(x - (u - _F_ONE), u)
    lu = _log_core_f32(u, _F_ZERO)
    r = lu + c if (x > -_F_ONE) & (x < _F_INF) else lu
    return r if _fabs(x) >= _F_EPS25 else x


@_jit
def tanh_f32(x):
    """Hyperbolic tangent for float32: ``e / (e + 2)`` with ``e = expm1(2|x|)``."""
    z = _fabs(x)
    z = _F_TANH_HI if z > _F_TANH_HI else z
    # e = expm1(2z) = 2**n * p + (2**n - 1); 0 <= 2z <= 2*_F_TANH_HI keeps 2**n normal.
    # For large n the rounding of (2**n - 1) is far below what tanh ~ 1 can resolve.
    n, p = _expm1_kernel_f32(z + z)
    n = n if n > _F_ZERO else _F_ZERO
    t = _pow2(n)
    e = _fma(p, t, t - _F_ONE)
    y = _div(e, e + _F_TWO)
    return _copysign(y, x)


@_jit
def sigmoid_f32(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` for float32, never nan for finite ``x``."""
    e = exp_nonpos_f32(-_fabs(x))
    d = _F_ONE + e
    return _div(_F_ONE, d) if x >= _F_ZERO else _div(e, d)


@_jit
def softplus_f32(x):
    """``log(1 + exp(x))`` for float32, as ``max(x, 0) + log1p(exp(-|x|))``."""
    m = x if x > _F_ZERO else _F_ZERO
    return m + log1p_f32(exp_nonpos_f32(-_fabs(x)))


@_jit
def erf_f32(x):
    """Error function for float32 (two-piece minimax approximation)."""
    z = _fabs(x)
    # |x| < A: x * P(x^2)
    s = x * x
    a = _fma(_F_EA6, s, _F_EA5)
    a = _fma(a, s, _F_EA4)
    a = _fma(a, s, _F_EA3)
    a = _fma(a, s, _F_EA2)
    a = _fma(a, s, _F_EA1)
    a = _fma(a, s, _F_EA0)
    a = _fma(a, x, x)
    # A <= |x| < 4: 1 - exp(Q(|x|)), sign restored
    t = z if z < _F_ERF_HI else _F_ERF_HI
    t = t if t > _F_ERF_A else _F_ERF_A
    q = _fma(_F_EB7, t, _F_EB6)
    q = _fma(q, t, _F_EB5)
    q = _fma(q, t, _F_EB4)
    q = _fma(q, t, _F_EB3)
    q = _fma(q, t, _F_EB2)
    q = _fma(q, t, _F_EB1)
    q = _fma(q, t, _F_EB0)
    b = -_expm1_core_f32(q)
    b = _copysign(b, x)
    r = a if z < _F_ERF_A else b
    return r if x == x else x


# ---------------------------------------------------------------------------------------
# float64
# ---------------------------------------------------------------------------------------

_D_ZERO = f64(0.0)
_D_HALF = f64(0.5)
_D_ONE = f64(1.0)
_D_TWO = f64(2.0)
_D_INF = f64(np.inf)
_D_NAN = f64(np.nan)
_D_TINY = f64(2.0**-1022)
_D_TWO54 = f64(2.0**54)
_D_54 = f64(54.0)
_D_53 = f64(53.0)
_D_EPS54 = f64(2.0**-54)

# fdlibm ln2 split: _D_LN2_HI has 21 trailing zero bits, so n * _D_LN2_HI is exact.
_D_LOG2E = f64(1.4426950408889634074)
_D_LN2_HI = f64(6.93147180369123816490e-01)
_D_LN2_LO = f64(1.90821492927058770002e-10)
_D_ROUND = f64(1.5 * 2.0**52)
_D_EXP_HI = f64(710.0)
_D_EXP_NMIN = f64(-2000.0)  # below the n of any clamped input: a nan's n becomes this
_D_EXP_LO = f64(-750.0)
_D_EXPM1_LO = f64(-60.0)  # expm1(x) rounds to -1 below about -37.4
_D_TANH_HI = f64(20.0)  # tanh(x) rounds to 1 above about 19.06

# Taylor coefficients 1/k!, k = 13 .. 2: exp(r) = 1 + r + r^2 * P(r), |r| <= ln2/2
# (truncation error < 4e-18 relative).
_D_E13 = f64(1.0 / 6227020800.0)
_D_E12 = f64(1.0 / 479001600.0)
_D_E11 = f64(1.0 / 39916800.0)
_D_E10 = f64(1.0 / 3628800.0)
_D_E9 = f64(1.0 / 362880.0)
_D_E8 = f64(1.0 / 40320.0)
_D_E7 = f64(1.0 / 5040.0)
_D_E6 = f64(1.0 / 720.0)
_D_E5 = f64(1.0 / 120.0)
_D_E4 = f64(1.0 / 24.0)
_D_E3 = f64(1.0 / 6.0)
_D_E2 = f64(0.5)

# log(1+f) = 2*atanh(s), s = f/(2+f), |s| <= 0.1716: R(z) = sum_k 2 z^k/(2k+1), z = s^2
# (Taylor to k = 10, truncation error < 1e-18 relative).
_D_L1 = f64(2.0 / 3.0)
_D_L2 = f64(2.0 / 5.0)
_D_L3 = f64(2.0 / 7.0)
_D_L4 = f64(2.0 / 9.0)
_D_L5 = f64(2.0 / 11.0)
_D_L6 = f64(2.0 / 13.0)
_D_L7 = f64(2.0 / 15.0)
_D_L8 = f64(2.0 / 17.0)
_D_L9 = f64(2.0 / 19.0)
_D_L10 = f64(2.0 / 21.0)


@_jit
def _expm1_kernel_f64(xc):
    """Return ``(n, p)`` with ``exp(xc) = 2**n * (1 + p)`` for clamped finite ``xc``."""
    n = _fma(xc, _D_LOG2E, _D_ROUND) - _D_ROUND  # rint(xc / ln2)
    r = xc - n * _D_LN2_HI
    r = r - n * _D_LN2_LO
    r2 = r * r
    r4 = r2 * r2
    # Estrin scheme: three cubics in r combined with r^4 and r^8
    a = _fma(_fma(_D_E5, r, _D_E4), r2, _fma(_D_E3, r, _D_E2))
    b = _fma(_fma(_D_E9, r, _D_E8), r2, _fma(_D_E7, r, _D_E6))
    c = _fma(_fma(_D_E13, r, _D_E12), r2, _fma(_D_E11, r, _D_E10))
    p = _fma(_fma(c, r4, b), r4, a)
    p = _fma(p, r2, r)
    return n, p


@_jit
def exp_f64(x):
    """``exp(x)`` for float64."""
    xc = _D_EXP_HI if x > _D_EXP_HI else x
    xc = _D_EXP_LO if xc < _D_EXP_LO else xc
    n, p = _expm1_kernel_f64(xc)
    n = n if n > _D_EXP_NMIN else _D_EXP_NMIN
    return _scale2(p + _D_ONE, n)


@_jit
def exp_nonpos_f64(x):
    """``exp(x)`` for float64 ``x <= 0`` or nan, the same bits as :func:`exp_f64` there
    (see :func:`exp_nonpos_f32`)."""
    xc = _D_EXP_LO if x < _D_EXP_LO else x
    n, p = _expm1_kernel_f64(xc)
    n = n if n < _D_ZERO else _D_ZERO
    return _scale2(p + _D_ONE, n)


@_jit
def _expm1_core_f64(x):
    """``expm1(x)`` without the tiny-|x| and nan fix-ups (clamps its input)."""
    xc = x if x < _D_EXP_HI else _D_EXP_HI
    xc = xc if xc > _D_EXPM1_LO else _D_EXPM1_LO
    n, p = _expm1_kernel_f64(xc)
    t = _scale2(_D_ONE, n)
    small = _fma(p, t, t - _D_ONE)
    big = _scale2(p + _D_ONE, n) - _D_ONE
    return small if n <= _D_53 else big


@_jit
def expm1_f64(x):
    """``expm1(x) = exp(x) - 1`` for float64, accurate near 0."""
    y = _expm1_core_f64(x)
    y = y if _fabs(x) >= _D_EPS54 else x
    return y if x == x else x


@_jit
def _log_core_f64(x, eadj):
    """``log(x * 2**-eadj)`` for float64, all inputs except positive denormals (fdlibm scheme)."""
    m, k = _logsplit(x)
    k = k - eadj
    f = m - _D_ONE
    s = _div(f, _D_TWO + f)
    z = s * s
    R = _fma(_D_L10, z, _D_L9)
    R = _fma(R, z, _D_L8)
    R = _fma(R, z, _D_L7)
    R = _fma(R, z, _D_L6)
    R = _fma(R, z, _D_L5)
    R = _fma(R, z, _D_L4)
    R = _fma(R, z, _D_L3)
    R = _fma(R, z, _D_L2)
    R = _fma(R, z, _D_L1)
    R = R * z
    hfsq = _D_HALF * f * f
    r = k * _D_LN2_HI - ((hfsq - (s * (hfsq + R) + k * _D_LN2_LO)) - f)
    r = r if x < _D_INF else x + x
    r = r if x != _D_ZERO else -_D_INF
    return r if x >= _D_ZERO else _D_NAN


@_jit
def log_f64(x):
    """Natural logarithm for float64; denormal inputs are exact-scaled."""
    tiny = x < _D_TINY
    xs = x * _D_TWO54 if tiny else x
    return _log_core_f64(xs, _D_54 if tiny else _D_ZERO)


@_jit
def log1p_f64(x):
    """``log1p(x) = log(1 + x)`` for float64, accurate near 0."""
    u = x + _D_ONE
    c = _div(x - (u - _D_ONE), u)
    lu = _log_core_f64(u, _D_ZERO)
    r = lu + c if (x > -_D_ONE) & (x < _D_INF) else lu
    return r if _fabs(x) >= _D_EPS54 else x


@_jit
def tanh_f64(x):
    """Hyperbolic tangent for float64: ``e / (e + 2)`` with ``e = expm1(2|x|)``."""
    z = _fabs(x)
    z = _D_TANH_HI if z > _D_TANH_HI else z
    # e = expm1(2z) = 2**n * p + (2**n - 1); 0 <= 2z <= 2*_D_TANH_HI keeps 2**n normal.
    # For large n the rounding of (2**n - 1) is far below what tanh ~ 1 can resolve.
    n, p = _expm1_kernel_f64(z + z)
    n = n if n > _D_ZERO else _D_ZERO
    t = _pow2(n)
    e = _fma(p, t, t - _D_ONE)
    y = _div(e, e + _D_TWO)
    return _copysign(y, x)


@_jit
def sigmoid_f64(x):
    """Logistic sigmoid ``1 / (1 + exp(-x))`` for float64, never nan for finite ``x``."""
    e = exp_nonpos_f64(-_fabs(x))
    d = _D_ONE + e
    return _div(_D_ONE, d) if x >= _D_ZERO else _div(e, d)


@_jit
def softplus_f64(x):
    """``log(1 + exp(x))`` for float64, as ``max(x, 0) + log1p(exp(-|x|))``."""
    m = x if x > _D_ZERO else _D_ZERO
    return m + log1p_f64(exp_nonpos_f64(-_fabs(x)))


FUNCS: dict[tuple[str, str], str] = {
    (name, dt): f"{name}_{suffix}"
    for name in ("exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus")
    for dt, suffix in (("float32", "f32"), ("float64", "f64"))
}
FUNCS["erf", "float32"] = "erf_f32"
