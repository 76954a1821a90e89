"""W2: fused elementwise chains over 1e6 and 1e7 float32.

Two chains of one input: a 12-op chain with ``exp`` and ``tanh`` and an
11-op pure arithmetic chain.  numpy eager materializes every intermediate; a
fusing executor reads ``x`` once and writes the result once, so its ceiling
is memory bandwidth.  Two reference rows show that ceiling for the same
size: ``np.copyto`` (into a preallocated buffer) and ``x.copy()`` (which also
pays for a fresh output allocation, as every executor returning a new array
must).  The numba limit allocates its output with ``np.empty_like`` (numpy
asks the kernel for huge pages on large buffers); the ``out=`` variant
writes into a preallocated buffer and the ``NRT alloc`` variant allocates
inside the jitted function, which on large arrays pays a page fault per 4 KiB.
The limit kernels are ``fastmath``; the ``IEEE`` variant is the same loop without it
(divisions stay divisions, no FMA contraction, NaN/inf honoured): the results a
TF-faithful executor must give, so the ceiling graphjit's fused code can reach.
GB/s counts 8 bytes per element (one float32 read, one written).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from bench import kernels
from bench.harness import Case, Context, run_case
from bench.workloads.chains import build_chain, chain_arith, chain_exp_tanh
from bench.workloads.common import close_check, graph_impls, simple_impl

ID = "W2"
TITLE = "fused elementwise chains"


def _apply(kind: str, x: Any, exp: Any, tanh: Any) -> Any:
    return chain_exp_tanh(x, exp, tanh) if kind == "exp/tanh" else chain_arith(x)


def _case(ctx: Context, kind: str, n: int) -> Case:
    x = np.random.default_rng(2).standard_normal(n).astype(np.float32)
    ref = _apply(kind, x.astype(np.float64), np.exp, np.tanh)
    label = f"{'12-op exp/tanh' if kind == 'exp/tanh' else '11-op arith'} n=1e{len(str(n)) - 1}"
    impls = graph_impls(ctx, lambda tf: build_chain(tf, kind), [x])
    impls += simple_impl(ctx, "numpy", "eager", lambda: lambda: _apply(kind, x, np.exp, np.tanh))
    k_alloc = kernels.chain_exp_tanh if kind == "exp/tanh" else kernels.chain_arith
    k_out = kernels.chain_exp_tanh_out if kind == "exp/tanh" else kernels.chain_arith_out
    impls += simple_impl(ctx, "numba", "fused loop", lambda: lambda: k_out(x, np.empty_like(x)))
    buf = np.empty_like(x)
    impls += simple_impl(ctx, "numba", "fused loop, out=", lambda: lambda: k_out(x, buf))
    impls += simple_impl(ctx, "numba", "fused loop, NRT alloc", lambda: lambda: k_alloc(x))
    k_ieee = (
        kernels.chain_exp_tanh_ieee_out if kind == "exp/tanh" else kernels.chain_arith_ieee_out
    )
    impls += simple_impl(
        ctx, "numba", "fused loop, IEEE", lambda: lambda: k_ieee(x, np.empty_like(x))
    )
    impls += simple_impl(
        ctx, "numpy", "np.copyto (bw ref)", lambda: lambda: np.copyto(buf, x), verify=False
    )
    impls += simple_impl(ctx, "numpy", "x.copy() (bw ref)", lambda: x.copy, verify=False)
    impls += simple_impl(ctx, "jax", "jit", lambda: _jax_build(ctx, kind, x))
    impls += simple_impl(ctx, "pytensor", "function(NUMBA)", lambda: _pytensor_build(ctx, kind, x))
    return Case(ID, label, impls, close_check(ref), work=8.0 * n, unit="GB/s")


def _jax_build(ctx: Context, kind: str, x: np.ndarray) -> Any:
    jax = ctx.peers.module("jax")
    jnp = jax.numpy
    f = jax.jit(lambda v: _apply(kind, v, jnp.exp, jnp.tanh))
    return lambda: f(x).block_until_ready()


def _pytensor_build(ctx: Context, kind: str, x: np.ndarray) -> Any:
    pytensor = ctx.peers.module("pytensor")
    pt = pytensor.tensor
    v = pt.vector("x", dtype="float32")
    f = pytensor.function([v], _apply(kind, v, pt.exp, pt.tanh), mode="NUMBA")
    return lambda: f(x)


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run every W2 case and return its rows."""
    rows = []
    for n in (10**6, 10**7):
        for kind in ("exp/tanh", "arith"):
            rows += run_case(_case(ctx, kind, n), ctx)
    return rows
