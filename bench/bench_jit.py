"""Side-by-side timings of the JIT (W1 per-call, W2 fused chains, W3 reduction, compile).

Run: ``python bench/bench_jit.py [--big]``. Prints one line per measurement (best of 5).
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
import timeit

import numpy as np


def best(fn, number):
    fn()
    return min(timeit.repeat(fn, number=number, repeat=5)) / number


def w1(tf, njit):
    g = tf.Graph()
    with g.as_default():
        a, b, c = (tf.placeholder(tf.float32, []) for _ in range(3))
        y = a * b + c
        va, vb, vc = (tf.placeholder(tf.float32, [8]) for _ in range(3))
        yv = va * vb + vc

    @njit
    def hand(a, b, c):
        return a * b + c

    x8 = np.ones(8, np.float32)
    with tf.Session(graph=g) as sess:
        f = sess.make_callable(y, [a, b, c])
        fv = sess.make_callable(yv, [va, vb, vc])
        feed, feedv = {a: 1.0, b: 2.0, c: 3.0}, {va: x8, vb: x8, vc: x8}
        rows = [
            ("W1 scalar make_callable", best(lambda: f(1.0, 2.0, 3.0), 20000)),
            ("W1 scalar Session.run", best(lambda: sess.run(y, feed), 2000)),
            ("W1 scalar hand njit", best(lambda: hand(1.0, 2.0, 3.0), 20000)),
            ("W1 f32[8] make_callable", best(lambda: fv(x8, x8, x8), 20000)),
            ("W1 f32[8] Session.run", best(lambda: sess.run(yv, feedv), 2000)),
            ("W1 f32[8] hand njit", best(lambda: hand(x8, x8, x8), 20000)),
        ]
    return rows


def chain12(tf, x):
    y = x
    for i in range(6):
        y = tf.tanh(tf.exp(y * 0.5)) if i % 2 else tf.exp(tf.tanh(y) * 0.5)
    return y


def w2(tf, njit, sizes):
    from graphjit import mathlib as _m

    @njit(error_model="numpy")
    def hand12(x):
        out = np.empty(x.size, np.float32)
        h = np.float32(0.5)
        for i in range(x.size):
            v = x[i]
            v = _m.exp_f32(_m.tanh_f32(v) * h)
            v = _m.tanh_f32(_m.exp_f32(v * h))
            v = _m.exp_f32(_m.tanh_f32(v) * h)
            v = _m.tanh_f32(_m.exp_f32(v * h))
            v = _m.exp_f32(_m.tanh_f32(v) * h)
            v = _m.tanh_f32(_m.exp_f32(v * h))
            out[i] = v
        return out

    @njit(error_model="numpy")
    def hand11(x, y):
        out = np.empty(x.size, np.float32)
        for i in range(x.size):
            a, b = x[i], y[i]
            t = (a * b + a - b) * np.float32(0.5)
            t = t * t + a * np.float32(2.0) - b * b + np.float32(1.0)
            out[i] = t
        return out

    def np12(v):
        for i in range(6):
            v = (
                np.tanh(np.exp(v * np.float32(0.5)))
                if i % 2
                else np.exp(np.tanh(v) * np.float32(0.5))
            )
        return v

    def np11(a, b):
        t = (a * b + a - b) * np.float32(0.5)
        return t * t + a * np.float32(2.0) - b * b + np.float32(1.0)

    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None])
        z = tf.placeholder(tf.float32, [None])
        y12 = chain12(tf, x)
        t = (x * z + x - z) * 0.5
        y11 = t * t + x * 2.0 - z * z + 1.0
        ss = tf.reduce_sum(x * x)
    rows = []
    with tf.Session(graph=g) as sess:
        f12 = sess.make_callable(y12, [x])
        f11 = sess.make_callable(y11, [x, z])
        fss = sess.make_callable(ss, [x])
        for n in sizes:
            xv = np.random.default_rng(0).uniform(-1, 1, n).astype(np.float32)
            zv = np.random.default_rng(1).uniform(-1, 1, n).astype(np.float32)
            k = 3
            rows += [
                (f"W2 exp/tanh x12 n={n:.0e} graphjit", best(lambda xv=xv: f12(xv), k)),
                (f"W2 exp/tanh x12 n={n:.0e} numpy", best(lambda xv=xv: np12(xv), k)),
                (f"W2 exp/tanh x12 n={n:.0e} hand njit", best(lambda xv=xv: hand12(xv), k)),
                (f"W2 arith x11 n={n:.0e} graphjit", best(lambda xv=xv, zv=zv: f11(xv, zv), k)),
                (f"W2 arith x11 n={n:.0e} numpy", best(lambda xv=xv, zv=zv: np11(xv, zv), k)),
                (
                    f"W2 arith x11 n={n:.0e} hand njit",
                    best(lambda xv=xv, zv=zv: hand11(xv, zv), k),
                ),
            ]
        xv = np.random.default_rng(0).uniform(-1, 1, 10**7).astype(np.float32)
        rows += [
            ("W3 sum(x*x) n=1e7 graphjit", best(lambda: fss(xv), 3)),
            ("W3 sum(x*x) n=1e7 numpy", best(lambda: np.sum(xv * xv), 3)),
        ]
    return rows


COLD = r"""
import time
t0 = time.perf_counter()
import numpy as np
import graphjit, graphjit.compat.v1 as tf
t1 = time.perf_counter()
g = tf.Graph()
with g.as_default():
    x = tf.placeholder(tf.float32, [None])
    y = x
    for i in range(6):
        y = tf.tanh(tf.exp(y * 0.5)) if i % 2 else tf.exp(tf.tanh(y) * 0.5)
with tf.Session(graph=g) as sess:
    sess.make_callable(y, [x])(np.ones(4, np.float32))
t2 = time.perf_counter()
s = graphjit.cache_stats()
print(f"{t2 - t1:.4f} {s['compile_seconds']:.4f} {s['l2']['hits']}")
"""


def cold():
    with tempfile.TemporaryDirectory() as d:
        env = dict(os.environ, GRAPHJIT_CACHE_DIR=d)
        out = []
        for _ in range(2):
            r = subprocess.run(
                [sys.executable, "-c", COLD], env=env, capture_output=True, text=True, check=True
            )
            out.append(r.stdout.split())
    return [
        ("compile 12-op chain (numba compile s)", float(out[0][1])),
        ("cold process: first result after import, no cache", float(out[0][0])),
        ("warm disk cache: first result after import", float(out[1][0])),
    ]


def main():
    from numba import njit

    import graphjit.compat.v1 as tf

    sizes = [10**6, 10**7] if "--big" in sys.argv else [10**6]
    rows = w1(tf, njit) + w2(tf, njit, sizes) + cold()
    for name, t in rows:
        unit = "us" if t < 1e-3 else "ms"
        print(f"{name:55s} {t * (1e6 if unit == 'us' else 1e3):10.3f} {unit}")


if __name__ == "__main__":
    t = time.perf_counter()
    main()
    print(f"total {time.perf_counter() - t:.1f} s")
