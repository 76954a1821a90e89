"""The LLVM instructions of ``mathlib``'s bit-level helpers, on an ``llvmlite.ir`` builder.

Written once and emitted by both compilers: :mod:`graphjit.mathlib`'s numba intrinsics
(``_scale2``, ``_pow2``, ``_logsplit``) and :mod:`graphjit.llvm_lower`, which inlines the
same helpers without numba. No numba import here.
"""

from __future__ import annotations

from llvmlite import ir


def int_params(is_f32: bool) -> tuple[ir.IntType, int, int]:
    """Integer type, mantissa bits and exponent bias of float32 (or float64)."""
    if is_f32:
        return ir.IntType(32), 23, 127
    return ir.IntType(64), 52, 1023


def scale2(b: ir.IRBuilder, x, nf, is_f32: bool):
    """``x * 2**nf`` for integer-valued float ``nf``, as two exact powers of two (see
    ``mathlib._scale2``)."""
    ity, mant, bias = int_params(is_f32)
    ni = b.fptosi(nf, ity)
    n1 = b.ashr(ni, ir.Constant(ity, 1))
    n2 = b.sub(ni, n1)
    out = x
    for k in (n1, n2):
        bits = b.shl(b.add(k, ir.Constant(ity, bias)), ir.Constant(ity, mant))
        out = b.fmul(out, b.bitcast(bits, x.type))
    return out


def pow2(b: ir.IRBuilder, nf, is_f32: bool):
    """``2**nf`` for integer-valued float ``nf`` in the normal exponent range."""
    ity, mant, bias = int_params(is_f32)
    ni = b.fptosi(nf, ity)
    bits = b.shl(b.add(ni, ir.Constant(ity, bias)), ir.Constant(ity, mant))
    return b.bitcast(bits, nf.type)


def logsplit(b: ir.IRBuilder, v, is_f32: bool):
    """``(m, e)`` with ``v = m * 2**e``, ``m`` in ``[sqrt(0.5), sqrt(2))`` (see
    ``mathlib._logsplit``)."""
    ity, mant, _ = int_params(is_f32)
    sqrt_half = 0x3F3504F3 if is_f32 else 0x3FE6A09E667F3BCD
    bits = b.bitcast(v, ity)
    k = b.ashr(b.sub(bits, ir.Constant(ity, sqrt_half)), ir.Constant(ity, mant))
    mbits = b.sub(bits, b.shl(k, ir.Constant(ity, mant)))
    return b.bitcast(mbits, v.type), b.sitofp(k, v.type)
