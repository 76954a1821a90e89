"""Benchmark ``graphjit.mathlib`` against numpy and scalar-libm Numba loops.

For every function in ``graphjit.mathlib.FUNCS`` and for a 12-op exp/tanh chain this
times, over ``N`` (default 1e7) elements of float32 and float64:

* ``numpy``   - the numpy ufunc (or ufunc expression for sigmoid/softplus),
* ``libm``    - an ``@njit`` loop calling ``math.exp``/``math.tanh``/... (scalar libm),
* ``mathlib`` - the same ``@njit`` loop calling the ``graphjit.mathlib`` function,

and prints best-of-``REPEAT`` wall times in ms plus the speed-up of ``mathlib``.

Usage: ``python bench/bench_mathlib.py [N]``
"""

from __future__ import annotations

import math
import sys
import time

import numpy as np
from numba import njit

from graphjit import mathlib

REPEAT = 5


def _best(fn, *args) -> float:
    fn(*args)
    best = math.inf
    for _ in range(REPEAT):
        t = time.perf_counter()
        fn(*args)
        best = min(best, time.perf_counter() - t)
    return best * 1e3


def _loop(f):
    @njit(fastmath=False)
    def loop(a, out):
        for i in range(a.shape[0]):
            out[i] = f(a[i])

    return loop


@njit(inline="always")
def _libm_sigmoid(x):
    return 1 / (1 + math.exp(-x))


@njit(inline="always")
def _libm_softplus(x):
    return max(x, 0) + math.log1p(math.exp(-abs(x)))


def _np_sigmoid(x, out):
    np.negative(x, out=out)
    np.exp(out, out=out)
    out += 1
    np.reciprocal(out, out=out)


def _np_softplus(x, out):
    np.logaddexp(x.dtype.type(0), x, out=out)


# name: (numpy callable(x, out) or None, libm scalar function, input range)
SPECS = {
    "exp": (lambda x, o: np.exp(x, out=o), math.exp, (-80.0, 80.0)),
    "expm1": (lambda x, o: np.expm1(x, out=o), math.expm1, (-5.0, 5.0)),
    "log": (lambda x, o: np.log(x, out=o), math.log, (1e-6, 1e6)),
    "log1p": (lambda x, o: np.log1p(x, out=o), math.log1p, (-0.9, 10.0)),
    "tanh": (lambda x, o: np.tanh(x, out=o), math.tanh, (-10.0, 10.0)),
    "sigmoid": (_np_sigmoid, _libm_sigmoid, (-20.0, 20.0)),
    "softplus": (_np_softplus, _libm_softplus, (-20.0, 20.0)),
    "erf": (None, math.erf, (-4.0, 4.0)),
}


def _chain_loop(exp, tanh):
    @njit(fastmath=False)
    def loop(a, b, c, out):
        for i in range(a.shape[0]):
            t0 = a[i] * b[i]
            t1 = exp(t0)
            t2 = t1 + c[i]
            t3 = tanh(t2)
            t4 = t3 * a[i]
            t5 = exp(t4)
            t6 = t5 - b[i]
            t7 = tanh(t6)
            t8 = t7 * c[i]
            t9 = exp(t8)
            t10 = t9 + a[i]
            out[i] = tanh(t10)

    return loop


def _np_chain(a, b, c, out):
    t = np.multiply(a, b)
    np.exp(t, out=t)
    t += c
    np.tanh(t, out=t)
    t *= a
    np.exp(t, out=t)
    t -= b
    np.tanh(t, out=t)
    t *= c
    np.exp(t, out=t)
    t += a
    np.tanh(t, out=out)


def _fmt(v: float | None) -> str:
    return "       -" if v is None else f"{v:8.2f}"


def main(n: int) -> None:
    rng = np.random.default_rng(0)
    print(f"N = {n:.0e} elements, best of {REPEAT}; ms (lower is better)")
    head = f"{'function':10s} {'dtype':8s} {'numpy':>8s} {'libm':>8s} {'mathlib':>8s}"
    print(head + f" {'np/ml':>7s} {'libm/ml':>8s}")
    print("-" * (len(head) + 17))
    for dt in (np.float32, np.float64):
        for name, (np_fn, libm_fn, (lo, hi)) in SPECS.items():
            key = (name, np.dtype(dt).name)
            if key not in mathlib.FUNCS:
                continue
            x = rng.uniform(lo, hi, n).astype(dt)
            out = np.empty_like(x)
            t_np = _best(np_fn, x, out) if np_fn is not None else None
            t_libm = _best(_loop(libm_fn), x, out)
            t_ml = _best(_loop(getattr(mathlib, mathlib.FUNCS[key])), x, out)
            r_np = f"{t_np / t_ml:7.1f}" if t_np is not None else "      -"
            print(
                f"{name:10s} {key[1]:8s} {_fmt(t_np)} {_fmt(t_libm)} {_fmt(t_ml)}"
                f" {r_np} {t_libm / t_ml:8.1f}"
            )
        a, b, c = (rng.uniform(-1, 1, n).astype(dt) for _ in range(3))
        out = np.empty_like(a)
        sfx = "f32" if dt == np.float32 else "f64"
        t_np = _best(_np_chain, a, b, c, out)
        t_libm = _best(_chain_loop(math.exp, math.tanh), a, b, c, out)
        ml = _chain_loop(getattr(mathlib, f"exp_{sfx}"), getattr(mathlib, f"tanh_{sfx}"))
        t_ml = _best(ml, a, b, c, out)
        print(
            f"{'chain12':10s} {np.dtype(dt).name:8s} {_fmt(t_np)} {_fmt(t_libm)} {_fmt(t_ml)}"
            f" {t_np / t_ml:7.1f} {t_libm / t_ml:8.1f}"
        )


if __name__ == "__main__":
    main(int(float(sys.argv[1])) if len(sys.argv) > 1 else 10_000_000)
