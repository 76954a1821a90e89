"""W3: row softmax of float32[1000, 1000] and sum of squares over 1e7 float32.

Softmax needs a max, an exp-sum and a scale per row (three dependent
passes, each row fits in L1); sum of squares is a pure streaming reduction.
GB/s counts the bytes that must move: 8 per element for softmax (read and
write), 4 per element for the reduction.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import kernels
from bench.harness import Case, Context, run_case
from bench.workloads.common import close_check, graph_impls, graph_spec, simple_impl

ID = "W3"
TITLE = "softmax and reductions"


def build_softmax(tf: Any) -> dict[str, Any]:
    """TF1-style row softmax over a float32[None, 1000] placeholder."""
    x = tf.placeholder(tf.float32, [None, 1000], name="x")
    return graph_spec([x], tf.nn.softmax(x))


def build_sumsq(tf: Any) -> dict[str, Any]:
    """TF1-style ``reduce_sum(x * x)`` over a float32[None] placeholder."""
    x = tf.placeholder(tf.float32, [None], name="x")
    return graph_spec([x], tf.reduce_sum(x * x))


def np_softmax(x: np.ndarray) -> np.ndarray:
    """Numerically stable row softmax in numpy."""
    e = np.exp(x - x.max(axis=1, keepdims=True))
    return e / e.sum(axis=1, keepdims=True)


def _softmax_case(ctx: Context) -> Case:
    x = np.random.default_rng(3).standard_normal((1000, 1000)).astype(np.float32) * 3
    ref = np_softmax(x.astype(np.float64))
    impls = graph_impls(ctx, build_softmax, [x])
    impls += simple_impl(ctx, "numpy", "eager", lambda: lambda: np_softmax(x))
    impls += simple_impl(ctx, "numba", "fused rows", lambda: lambda: kernels.softmax_rows(x))
    impls += simple_impl(ctx, "jax", "jit", lambda: _jax(ctx, x, lambda j, v: j.nn.softmax(v)))

    def pt_build() -> Any:
        pytensor = ctx.peers.module("pytensor")
        pt = pytensor.tensor
        v = pt.matrix("x", dtype="float32")
        f = pytensor.function([v], pt.special.softmax(v, axis=1), mode="NUMBA")
        return lambda: f(x)

    impls += simple_impl(ctx, "pytensor", "function(NUMBA)", pt_build)
    return Case(
        ID,
        "softmax [1000,1000]",
        impls,
        close_check(ref, atol_scale=1e-6),
        work=8.0 * x.size,
        unit="GB/s",
    )


def _sumsq_case(ctx: Context) -> Case:
    x = np.random.default_rng(4).standard_normal(10**7).astype(np.float32)
    ref = np.dot(x.astype(np.float64), x.astype(np.float64))
    impls = graph_impls(ctx, build_sumsq, [x])
    impls += simple_impl(ctx, "numpy", "sum(x*x)", lambda: lambda: np.sum(x * x))
    impls += simple_impl(ctx, "numpy", "dot(x,x)", lambda: lambda: np.dot(x, x))
    impls += simple_impl(ctx, "numba", "fused loop", lambda: lambda: kernels.sum_squares(x))
    impls += simple_impl(ctx, "jax", "jit", lambda: _jax(ctx, x, lambda j, v: j.numpy.sum(v * v)))

    def pt_build() -> Any:
        pytensor = ctx.peers.module("pytensor")
        pt = pytensor.tensor
        v = pt.vector("x", dtype="float32")
        f = pytensor.function([v], pt.sum(v * v), mode="NUMBA")
        return lambda: f(x)

    impls += simple_impl(ctx, "pytensor", "function(NUMBA)", pt_build)
    return Case(
        ID,
        "sum(x*x) n=1e7",
        impls,
        close_check(ref, rtol=1e-4, atol_scale=0.0),
        work=4.0 * x.size,
        unit="GB/s",
    )


def _jax(ctx: Context, x: np.ndarray, body: Any) -> Any:
    jax = ctx.peers.module("jax")
    f = jax.jit(lambda v: body(jax, v))
    return lambda: f(x).block_until_ready()


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run every W3 case and return its rows."""
    return run_case(_softmax_case(ctx), ctx) + run_case(_sumsq_case(ctx), ctx)
