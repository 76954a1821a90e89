"""W7: a long make_callable loop (10^5 calls, 10^4 with ``--quick``).

Feeds three float32[8] arrays and fetches ``[a * b + c, reduce_sum(a * b + c)]``
in a tight loop, the shape of an inference server or a training loop.  The
loop is split into ten chunks; median/min/max are the per-call times of the
chunks, so a slowdown over time shows up as a wide min-max spread.  RSS
growth (from ``/proc/self/statm``, after a 1000-call warm-up) exposes leaks:
a per-call cache entry or a retained feed grows it linearly.
"""

from __future__ import annotations

import gc
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench import kernels
from bench.harness import Case, Context, close_all, fill_ratios, make_row, prepare
from bench.workloads.common import close_check, graph_impls, graph_spec, simple_impl

ID = "W7"
TITLE = "long make_callable loop"
CHUNKS = 10


def build_loop_graph(tf: Any) -> dict[str, Any]:
    """TF1-style graph fetching ``[a*b+c, reduce_sum(a*b+c)]`` of float32[8] inputs."""
    a = tf.placeholder(tf.float32, [8], name="a")
    b = tf.placeholder(tf.float32, [8], name="b")
    c = tf.placeholder(tf.float32, [8], name="c")
    y = a * b + c
    return graph_spec([a, b, c], [y, tf.reduce_sum(y)])


def rss_bytes() -> int:
    """Resident set size of this process, from ``/proc/self/statm`` (0 if unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0
    return pages * os.sysconf("SC_PAGE_SIZE")


def _case(ctx: Context) -> Case:
    rng = np.random.default_rng(7)
    vals = [rng.standard_normal(8).astype(np.float32) for _ in range(3)]
    a, b, c = vals
    y = a.astype(np.float64) * b + c
    ref_check = close_check(y)

    def check(result: Any) -> str | None:
        out, total = result
        return ref_check(out) or close_check(np.array(y.sum()))(np.asarray(total))

    impls = graph_impls(ctx, build_loop_graph, vals)
    impls += simple_impl(ctx, "numpy", "eager", lambda: lambda: _np_step(a, b, c))
    impls += simple_impl(ctx, "numba", "njit", lambda: lambda: kernels.fma3_sum(a, b, c))

    def jax_build() -> Any:
        jax = ctx.peers.module("jax")

        def f(a, b, c):
            y = a * b + c
            return y, y.sum()

        jf = jax.jit(f)

        def call() -> Any:
            out = jf(a, b, c)
            jax.block_until_ready(out)
            return out

        return call

    def pt_build() -> Any:
        pytensor = ctx.peers.module("pytensor")
        pt = pytensor.tensor
        va, vb, vc = (pt.vector(n, dtype="float32") for n in "abc")
        yy = va * vb + vc
        f = pytensor.function([va, vb, vc], [yy, yy.sum()], mode="NUMBA")
        return lambda: f(a, b, c)

    impls += simple_impl(ctx, "jax", "jit", jax_build)
    impls += simple_impl(ctx, "pytensor", "function(NUMBA)", pt_build)
    return Case(ID, "float32[8] fetch [y, sum(y)]", impls, check)


def _np_step(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> tuple[np.ndarray, Any]:
    y = a * b + c
    return y, y.sum()


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run the long loop on every peer (one after another) and return its rows."""
    calls = 10**4 if ctx.settings.quick else 10**5
    case = _case(ctx)
    case.case = f"{case.case}, {calls:.0e} calls".replace("+0", "")
    rows, live, closers = prepare(case, ctx)
    per_chunk = calls // CHUNKS
    for idx, impl, built in live:
        fn = built.fn
        for _ in range(1000):
            fn()
        gc.collect()
        rss0 = rss_bytes()
        samples = []
        for _ in range(CHUNKS):
            t0 = time.perf_counter()
            for _ in range(per_chunk):
                fn()
            samples.append((time.perf_counter() - t0) / per_chunk)
        gc.collect()
        growth = (rss_bytes() - rss0) / 1024
        rows[idx] = make_row(
            case.workload,
            case.case,
            impl.peer,
            impl.variant,
            samples=samples,
            number=per_chunk,
            rss_growth_kib=growth,
            calls=calls,
        )
    close_all(closers)
    out = [r for r in rows if r is not None]
    fill_ratios(out)
    return out
