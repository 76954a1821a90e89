"""Accuracy and special-value tests for ``graphjit.mathlib``.

Every function is called from one small ``@njit`` loop per (function, dtype), so the
vectorized (inlined, branch-free) form is what is tested.  The loops are compiled once
and cached in ``_LOOPS`` across the parametrized tests.

Oracles: float32 results are compared with the float64 computation rounded to float32;
float64 results with the 80-bit ``np.longdouble`` computation rounded to float64
(``math.erf`` for erf).  Errors are measured in ulp as the difference of the
ordered-integer views of the two results.
"""

from __future__ import annotations

import math
import platform
import re
import subprocess
import sys

import numpy as np
import pytest

numba = pytest.importorskip("numba")

from graphjit import mathlib  # noqa: E402

CASES = sorted(mathlib.FUNCS)

# Max ulp error allowed: measured maximum (see docs/mathlib.md) + 1 of headroom for
# targets where llvm.fmuladd is not fused.
TOL = {
    ("exp", "float32"): 2,
    ("exp", "float64"): 2,
    ("expm1", "float32"): 2,
    ("expm1", "float64"): 3,
    ("log", "float32"): 2,
    ("log", "float64"): 2,
    ("log1p", "float32"): 2,
    ("log1p", "float64"): 2,
    ("tanh", "float32"): 3,
    ("tanh", "float64"): 4,
    ("sigmoid", "float32"): 3,
    ("sigmoid", "float64"): 3,
    ("softplus", "float32"): 3,
    ("softplus", "float64"): 3,
    ("erf", "float32"): 2,
}

_LOOPS: dict[str, object] = {}


def _apply(sym: str, x: np.ndarray) -> np.ndarray:
    """Run ``mathlib.<sym>`` elementwise over ``x`` inside a jitted loop."""
    loop = _LOOPS.get(sym)
    if loop is None:
        fn = getattr(mathlib, sym)

        @numba.njit
        def loop(a, out):
            for i in range(a.shape[0]):
                out[i] = fn(a[i])

        _LOOPS[sym] = loop
    out = np.empty_like(x)
    loop(x, out)
    return out


# ---------------------------------------------------------------------------------------
# oracles
# ---------------------------------------------------------------------------------------


def _sigmoid(x: np.ndarray) -> np.ndarray:
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def _softplus(x: np.ndarray) -> np.ndarray:
    return np.maximum(x, 0) + np.log1p(np.exp(-np.abs(x)))


_erf = np.vectorize(math.erf, otypes=[np.float64])

_ORACLES = {
    "exp": np.exp,
    "expm1": np.expm1,
    "log": np.log,
    "log1p": np.log1p,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
    "softplus": _softplus,
}


def _oracle(name: str, x: np.ndarray) -> np.ndarray:
    with np.errstate(all="ignore"):
        if name == "erf":
            return _erf(x.astype(np.float64)).astype(x.dtype)
        wide = np.float64 if x.dtype == np.float32 else np.longdouble
        return _ORACLES[name](x.astype(wide)).astype(x.dtype)


def _ordered(v: np.ndarray) -> np.ndarray:
    itype = np.int32 if v.dtype == np.float32 else np.int64
    i = v.view(itype).astype(np.int64)
    return np.where(i < 0, -(i & np.iinfo(itype).max), i)


def _ulp_diff(got: np.ndarray, want: np.ndarray) -> np.ndarray:
    """Distance in ulp (ordered-integer difference); nan matches nan only."""
    a, b = _ordered(got), _ordered(want)
    opposite = ((a < 0) & (b > 0)) | ((a > 0) & (b < 0))
    with np.errstate(over="ignore"):
        d = np.where(opposite, np.iinfo(np.int64).max, np.abs(a - b))
    gn, wn = np.isnan(got), np.isnan(want)
    d[gn & wn] = 0
    d[gn != wn] = np.iinfo(np.int64).max
    return d


# ---------------------------------------------------------------------------------------
# inputs
# ---------------------------------------------------------------------------------------


def _edges(dtype: type) -> np.ndarray:
    fi = np.finfo(dtype)
    vals = [
        0.0,
        1.0,
        -1.0,
        0.5,
        2.0,
        fi.tiny,
        fi.smallest_subnormal,
        fi.tiny / 3,
        fi.max,
        fi.eps,
        fi.epsneg,
    ]
    if dtype == np.float32:
        # exp overflow / denormal / underflow thresholds, expm1/tanh/erf saturation
        vals += [88.72283, 88.72284, 88.7, 87.33654, 87.33655, 103.97207, 103.97208, 104.0]
        vals += [17.328680, 9.01, 9.02, 3.92, 3.93, 0.921875, 0.625, 2.0**-24, 2.0**-25]
        vals += [15.942385, 16.635532, 2.0**23, 2.0**24, 1e30]
    else:
        vals += [709.782712893384, 709.7827128933841, 708.3964185322641, 745.1332191019411]
        vals += [745.1332191019412, 746.0, 37.42994775023705, 19.06, 2.0**-53, 2.0**-54]
        vals += [36.7368005696771, 2.0**52, 2.0**53, 1e300]
    v = np.array(vals, dtype=dtype)
    with np.errstate(over="ignore"):
        v = np.concatenate([v, np.nextafter(v, dtype(np.inf)), np.nextafter(v, dtype(0))])
    return np.concatenate([v, -v, np.array([np.inf, -np.inf, np.nan], dtype=dtype)])


def _inputs(dtype: type) -> np.ndarray:
    rng = np.random.default_rng(12345)
    n = 1 << 19
    if dtype == np.float32:
        bits = rng.integers(0, 2**32, n, dtype=np.uint64).astype(np.uint32)
        rand = bits.view(np.float32)
        sweep = np.linspace(-120, 120, 600_001, dtype=np.float32)
        small = np.geomspace(1e-44, 4.0, 100_000).astype(np.float32)
    else:
        rand = rng.integers(0, 2**64, n, dtype=np.uint64).view(np.float64)
        sweep = np.linspace(-800, 800, 600_001)
        small = np.geomspace(1e-322, 4.0, 100_000)
    unit = np.linspace(-2, 2, 200_001, dtype=dtype)
    near_m1 = -1 + np.geomspace(np.finfo(dtype).eps / 2, 1.0, 20_000).astype(dtype)
    return np.concatenate([rand, sweep, unit, small, -small, near_m1, _edges(dtype)])


_INPUTS: dict[str, np.ndarray] = {}


def _inputs_cached(dt: str) -> np.ndarray:
    if dt not in _INPUTS:
        _INPUTS[dt] = _inputs(np.dtype(dt).type)
    return _INPUTS[dt]


# ---------------------------------------------------------------------------------------
# tests
# ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(("name", "dt"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_accuracy(name: str, dt: str) -> None:
    x = _inputs_cached(dt)
    got = _apply(mathlib.FUNCS[name, dt], x)
    want = _oracle(name, x)
    d = _ulp_diff(got, want)
    i = int(np.argmax(d))
    assert d[i] <= TOL[name, dt], f"{name}({x[i]!r}) = {got[i]!r}, want {want[i]!r}"


_SPECIAL = {
    # name: [(input, expected)], applied to both dtypes
    "exp": [(0.0, 1.0), (-0.0, 1.0), (np.inf, np.inf), (-np.inf, 0.0), (np.nan, np.nan)],
    "expm1": [(0.0, 0.0), (-0.0, -0.0), (np.inf, np.inf), (-np.inf, -1.0), (np.nan, np.nan)],
    "log": [
        (0.0, -np.inf),
        (-0.0, -np.inf),
        (1.0, 0.0),
        (-1.0, np.nan),
        (-np.inf, np.nan),
        (np.inf, np.inf),
        (np.nan, np.nan),
    ],
    "log1p": [
        (0.0, 0.0),
        (-0.0, -0.0),
        (-1.0, -np.inf),
        (-2.0, np.nan),
        (-np.inf, np.nan),
        (np.inf, np.inf),
        (np.nan, np.nan),
    ],
    "tanh": [
        (0.0, 0.0),
        (-0.0, -0.0),
        (np.inf, 1.0),
        (-np.inf, -1.0),
        (50.0, 1.0),
        (-50.0, -1.0),
        (np.nan, np.nan),
    ],
    "sigmoid": [
        (0.0, 0.5),
        (-0.0, 0.5),
        (np.inf, 1.0),
        (-np.inf, 0.0),
        (1000.0, 1.0),
        (-1000.0, 0.0),
        (np.nan, np.nan),
    ],
    "softplus": [
        (0.0, math.log(2.0)),
        (np.inf, np.inf),
        (-np.inf, 0.0),
        (-1000.0, 0.0),
        (1000.0, 1000.0),
        (np.nan, np.nan),
    ],
    "erf": [
        (0.0, 0.0),
        (-0.0, -0.0),
        (np.inf, 1.0),
        (-np.inf, -1.0),
        (10.0, 1.0),
        (-10.0, -1.0),
        (np.nan, np.nan),
    ],
}


@pytest.mark.parametrize(("name", "dt"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_special_values(name: str, dt: str) -> None:
    dtype = np.dtype(dt).type
    fi = np.finfo(dtype)
    pairs = list(_SPECIAL[name])
    tiny = fi.smallest_subnormal
    if name in ("expm1", "log1p", "tanh"):
        pairs += [(tiny, tiny), (-tiny, -tiny), (fi.tiny, fi.tiny)]
    if name == "exp":
        pairs += [(fi.max, np.inf), (-fi.max, 0.0), (1000.0, np.inf), (-1000.0, 0.0)]
    if name == "expm1":
        pairs += [(fi.max, np.inf), (-fi.max, -1.0), (-1000.0, -1.0)]
    if name == "sigmoid":
        pairs += [(fi.max, 1.0), (-fi.max, 0.0)]
    if name == "softplus":
        pairs += [(fi.max, fi.max), (-fi.max, 0.0)]
    x = np.array([p[0] for p in pairs], dtype=dtype)
    want = np.array([p[1] for p in pairs], dtype=dtype)
    got = _apply(mathlib.FUNCS[name, dt], x)
    for xi, g, w in zip(x, got, want):
        if np.isnan(w):
            assert np.isnan(g), f"{name}({xi!r}) = {g!r}, want nan"
        elif name == "softplus" and xi == 0:
            assert _ulp_diff(np.array([g]), np.array([w]))[0] <= 1
        else:
            assert g == w and np.signbit(g) == np.signbit(w), f"{name}({xi!r}) = {g!r}, want {w!r}"


@pytest.mark.parametrize(("name", "dt"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_matches_numpy_special_values(name: str, dt: str) -> None:
    """Where numpy has the ufunc, specials/thresholds agree with numpy (incl. -0.0)."""
    if name not in ("exp", "expm1", "log", "log1p", "tanh"):
        pytest.skip("no numpy ufunc")
    x = _edges(np.dtype(dt).type)
    got = _apply(mathlib.FUNCS[name, dt], x)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    assert np.array_equal(np.isnan(got), np.isnan(want))
    assert np.array_equal(np.isinf(got), np.isinf(want))
    fin = np.isfinite(want)
    assert np.array_equal(got[fin] == 0, want[fin] == 0)
    assert np.array_equal(np.signbit(got[~np.isnan(got)]), np.signbit(want[~np.isnan(want)]))
    assert _ulp_diff(got, want).max() <= TOL[name, dt] + 1


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 asm check")
@pytest.mark.parametrize(("name", "dt"), CASES, ids=[f"{n}-{d}" for n, d in CASES])
def test_loop_is_vectorized(name: str, dt: str) -> None:
    sym = mathlib.FUNCS[name, dt]
    x = np.ones(4, dtype=dt)
    _apply(sym, x)
    loop = _LOOPS[sym]
    asm = loop.inspect_asm(loop.signatures[0])
    sfx = "ps" if dt == "float32" else "pd"
    assert re.search(rf"\b\w*(mul|fmadd\w*){sfx}\s[^\n]*%[xyz]mm", asm), "no packed math"
    libm = r"\$(exp|expm1|log|log1p|tanh|erf)f?\b"
    assert not re.search(libm, asm), "scalar libm call in the loop"
    # mathlib functions are compiled separately and must be inlined by LLVM (no call left)
    # (numba calls another jitted function through its address: ``movabsq $_ZN8graphjit7mathlib..``)
    assert not re.search(r"\$_ZN\d*graphjit7mathlib", asm), "mathlib call left in the loop"


def test_funcs_table() -> None:
    for (name, dt), sym in mathlib.FUNCS.items():
        assert sym == f"{name}_{'f32' if dt == 'float32' else 'f64'}"
        assert callable(getattr(mathlib, sym))
        assert sym in mathlib.__all__
    names = {n for n, _ in mathlib.FUNCS}
    assert names == {"exp", "expm1", "log", "log1p", "tanh", "sigmoid", "softplus", "erf"}


def test_import_graphjit_does_not_import_mathlib() -> None:
    code = "import sys, graphjit; assert 'graphjit.mathlib' not in sys.modules"
    subprocess.run([sys.executable, "-c", code], check=True)


def _w2_chain(tf, x):
    """The bench's W2 12-op exp/tanh chain (one input, five scalar constants)."""
    t = tf.tanh(x * 0.5 + 0.25) * tf.exp(x * x * -0.5) + x * 1.5 - 0.125
    return t * t + x


def _two_input_chain(tf, a, b):
    """exp/tanh over two inputs: the segment checks a real broadcast of ``a`` and ``b``."""
    return tf.tanh(tf.exp(a * b) + a) * b


@pytest.mark.skipif(platform.machine() not in ("x86_64", "AMD64"), reason="x86 asm check")
@pytest.mark.parametrize("inputs", [1, 2], ids=["w2-chain", "two-inputs"])
def test_fused_segment_inlines_mathlib(inputs: int) -> None:
    # A generated segment's shape preamble once called a jitted broadcast helper a dozen
    # times; on LLVM 20 (numba 0.65) the inliner then left the exp/tanh calls in the loop
    # (a scalar call loop, 13x slower).  The segment must contain no mathlib call at all.
    import graphjit
    import graphjit.compat.v1 as tf

    with tf.Graph().as_default() as g:
        xs = [tf.placeholder(tf.float32, [None], name=f"x{k}") for k in range(inputs)]
        y = _w2_chain(tf, *xs) if inputs == 1 else _two_input_chain(tf, *xs)
    rng = np.random.default_rng(0)
    vals = [rng.standard_normal(37).astype(np.float32) for _ in xs]
    with tf.Session(graph=g) as sess:
        got = sess.make_callable(y, xs)(*vals)
        info = graphjit.inspect_chain(sess, y, xs)
        want = sess.run(y, dict(zip(xs, vals, strict=True)), options=tf.RunOptions())
        if inputs == 2:  # the broadcasting (strided) loop of the same segment
            np.testing.assert_allclose(
                sess.make_callable(y, xs)(vals[0], vals[1][:1]),
                np.tanh(np.exp(vals[0] * vals[1][0]) + vals[0]) * vals[1][0],
                rtol=1e-5,
                atol=1e-6,
            )
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
    assert not info["links"]
    mod = sys.modules["graphjit_gen_" + info["source"].rsplit("gj_", 1)[1].removesuffix(".py")]
    seg = mod.seg0
    if seg.stats.cache_hits:
        pytest.skip("segment loaded from numba's disk cache: asm inspection unavailable")
    asm = seg.inspect_asm(seg.signatures[0])
    assert re.search(r"\bv\w*(mul|fmadd\w*)ps\s[^\n]*%[yz]mm", asm), "no packed float32 math"
    assert not re.search(r"\$_ZN\d*graphjit7mathlib", asm), "mathlib call left in the segment"


@pytest.mark.parametrize("dt", ["float32", "float64"])
def test_exp_nonpos_gives_exp_bits_for_nonpositive_inputs(dt: str) -> None:
    """``exp_nonpos_*`` (softmax rows, sigmoid, softplus) is ``exp_*`` without its upper
    clamp and nan select: the same bits for every ``x <= 0``, and nan for nan."""
    if dt == "float32":
        # every 61st bit pattern with the sign set: -0 .. -inf and the negative nans
        bits = np.arange(0x80000000, 0x100000000, 61, dtype=np.uint64).astype(np.uint32)
        x = bits.view(np.float32)
    else:
        rng = np.random.default_rng(7)
        x = -np.abs(
            np.concatenate(
                [
                    rng.integers(0, 2**63, 2_000_000, dtype=np.uint64).view(np.float64),
                    rng.uniform(-760.0, 0.0, 1_000_000),
                    rng.uniform(-1e-6, 0.0, 100_000),
                ]
            )
        )
    edges = -np.abs(_edges(np.dtype(dt).type))
    x = np.concatenate([x, edges, np.array([-0.0, 0.0, np.nan, -np.inf], dtype=dt)])
    x = x[~(x > 0)]
    sfx = "f32" if dt == "float32" else "f64"
    got = _apply(f"exp_nonpos_{sfx}", x)
    want = _apply(f"exp_{sfx}", x)
    nan = np.isnan(x)
    assert np.isnan(got[nan]).all()
    assert np.array_equal(got[~nan].view(f"u{got.itemsize}"), want[~nan].view(f"u{got.itemsize}"))
