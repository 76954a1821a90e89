"""W1: per-call overhead of ``a * b + c`` on scalars and float32[8].

The work is negligible, so the time is the framework's dispatch cost:
feeding, pruning/caching, launching the kernel and returning the result.
Graph peers are timed both through ``make_callable`` and a repeated
``Session.run`` with a feed dict.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import kernels
from bench.harness import Case, Context, run_case
from bench.workloads.common import close_check, graph_impls, graph_spec, simple_impl

ID = "W1"
TITLE = "per-call overhead: a*b+c"


def build_fma(tf: Any, shape: list[int]) -> dict[str, Any]:
    """TF1-style graph ``a * b + c`` over three float32 placeholders of ``shape``."""
    a = tf.placeholder(tf.float32, shape, name="a")
    b = tf.placeholder(tf.float32, shape, name="b")
    c = tf.placeholder(tf.float32, shape, name="c")
    return graph_spec([a, b, c], a * b + c)


def _inputs(shape: list[int]) -> list[Any]:
    if not shape:
        return [np.float32(1.5), np.float32(-2.0), np.float32(0.25)]
    rng = np.random.default_rng(1)
    return [rng.standard_normal(shape).astype(np.float32) for _ in range(3)]


def cases(ctx: Context) -> list[Case]:
    """Return the W1 cases (scalar and float32[8])."""
    out = []
    for label, shape in (("scalar", []), ("float32[8]", [8])):
        vals = _inputs(shape)
        a, b, c = vals
        ref = np.float64(a) * np.float64(b) + np.float64(c)
        impls = graph_impls(
            ctx,
            lambda tf, s=shape: build_fma(tf, s),
            vals,
            variants=("make_callable", "Session.run"),
        )
        impls += simple_impl(ctx, "numpy", "eager", lambda a=a, b=b, c=c: lambda: a * b + c)
        impls += simple_impl(
            ctx, "numba", "njit", lambda a=a, b=b, c=c: lambda: kernels.fma3(a, b, c)
        )
        impls += simple_impl(ctx, "jax", "jit", lambda v=vals: _jax_build(ctx, v))
        impls += simple_impl(
            ctx, "pytensor", "function(NUMBA)", lambda v=vals, s=shape: _pytensor_build(ctx, v, s)
        )
        out.append(Case(ID, label, impls, close_check(ref)))
    return out


def _jax_build(ctx: Context, vals: list[Any]) -> Any:
    jax = ctx.peers.module("jax")
    f = jax.jit(lambda a, b, c: a * b + c)
    return lambda: f(*vals).block_until_ready()


def _pytensor_build(ctx: Context, vals: list[Any], shape: list[int]) -> Any:
    pytensor = ctx.peers.module("pytensor")
    pt = pytensor.tensor
    make = pt.scalar if not shape else pt.vector
    a, b, c = (make(n, dtype="float32") for n in "abc")
    f = pytensor.function([a, b, c], a * b + c, mode="NUMBA")
    return lambda: f(*vals)


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run every W1 case and return its rows."""
    rows = []
    for case in cases(ctx):
        rows += run_case(case, ctx)
    return rows
