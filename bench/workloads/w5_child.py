"""W5 child process: time import, build and first results of one peer in a fresh interpreter.

Run as a script (``python w5_child.py PEER REPO_ROOT CACHE_DIR [chain|mlp]``) so that
nothing but the standard library is imported before the timed import.
Prints one JSON object: ``import_s``, ``build_s`` (graph/jit construction),
``first_s`` (first call, including compilation), ``wait_s`` (graphjit only: the
wait, after the first call, until compiled code answers (llvmlite's provisional
chain, or numba's); 0 for the
others, which compile inside their first call), ``second_s`` (the next call:
compiled), ``ok`` (result matches numpy) or ``error``. The workload is the 12-op chain
(default) or ``mlp``: one W4 MLP SGD step (784-256-10, batch 64).  graphjit runs with its
default tier policy (``GRAPHJIT_COMPILE=background``): the interpreter answers
the first call while the chain compiles on a background thread.
"""

from __future__ import annotations

import json
import os
import sys
import time

N = 10**6


def _import(peer: str, cache_dir: str):
    if peer == "graphjit":
        os.environ["GRAPHJIT_CACHE_DIR"] = cache_dir
        os.environ["GRAPHJIT_COMPILE"] = "background"
        import graphjit.compat.v1 as lib

        return lib
    if peer == "tf":
        import tensorflow.compat.v1 as lib

        lib.disable_eager_execution()
        return lib
    if peer == "numba":
        os.environ["NUMBA_CACHE_DIR"] = cache_dir
        import numba as lib

        return lib
    if peer == "jax":
        import jax as lib

        lib.config.update("jax_compilation_cache_dir", cache_dir)
        lib.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
        lib.config.update("jax_persistent_cache_min_entry_size_bytes", 0)
        return lib
    if peer == "pytensor":
        os.environ["PYTENSOR_FLAGS"] = (
            os.environ.get("PYTENSOR_FLAGS", "") + f",compiledir={cache_dir}"
        ).lstrip(",")
        import pytensor as lib

        return lib
    import numpy as lib

    return lib


def _chain_kernel(x, out):  # compiled by numba in the numba peer (cache=True)
    for i in range(x.size):
        xi = x[i]
        t3 = TANH(xi * F(0.5) + F(0.25))
        t6 = EXP(xi * xi * F(-0.5))
        t10 = t3 * t6 + xi * F(1.5) - F(0.125)
        out[i] = t10 * t10 + xi
    return out


def _build(peer: str, lib, x):
    """Return a zero-argument callable computing the 12-op chain on ``x``."""
    import numpy as np

    from bench.workloads.chains import build_chain, chain_exp_tanh

    if peer in ("graphjit", "tf"):
        g = lib.Graph()
        with g.as_default():
            spec = build_chain(lib, "exp/tanh")
            if peer == "tf":
                cfg = lib.ConfigProto(
                    intra_op_parallelism_threads=1, inter_op_parallelism_threads=1
                )
                sess = lib.Session(graph=g, config=cfg)
            else:
                sess = lib.Session(graph=g)
            f = sess.make_callable(spec["fetch"], spec["inputs"])
        return lambda: f(x)
    if peer == "numba":
        global EXP, TANH, F
        from bench.fastmath import bench_exp_f32, bench_tanh_f32

        EXP, TANH, F = bench_exp_f32, bench_tanh_f32, np.float32
        k = lib.njit(fastmath=True, error_model="numpy", cache=True)(_chain_kernel)
        return lambda: k(x, np.empty_like(x))
    if peer == "jax":
        f = lib.jit(lambda v: chain_exp_tanh(v, lib.numpy.exp, lib.numpy.tanh))
        return lambda: f(x).block_until_ready()
    if peer == "pytensor":
        pt = lib.tensor
        v = pt.vector("x", dtype="float32")
        f = lib.function([v], chain_exp_tanh(v, pt.exp, pt.tanh), mode="NUMBA")
        return lambda: f(x)
    return lambda: chain_exp_tanh(x, np.exp, np.tanh)


def _build_mlp(peer: str, lib):
    """Return a zero-argument callable running one W4 MLP SGD step (batch 64), or raise."""
    import numpy as np

    from bench.workloads.w4_mlp import BATCH, LR, build_mlp

    rng = np.random.default_rng(4)
    params = [
        (rng.standard_normal((784, 256)) * 0.05).astype(np.float32),
        np.zeros(256, np.float32),
        (rng.standard_normal((256, 10)) * 0.05).astype(np.float32),
        np.zeros(10, np.float32),
    ]
    x = rng.standard_normal((BATCH, 784)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[rng.integers(0, 10, BATCH)]
    if peer in ("graphjit", "tf"):
        g = lib.Graph()
        with g.as_default():
            spec = build_mlp(lib, params, "sgd")
            sess = lib.Session(graph=g)
            sess.run(spec["init"])
            f = sess.make_callable(spec["fetch"], spec["inputs"])
        return lambda: f(x, y)[0]
    if peer == "numba":
        os.environ["BENCH_NUMBA_CACHE"] = "1"  # nets_numba's kernels with cache=True
        from bench import nets_numba

        assert nets_numba._JIT["cache"], "bench.nets_numba was imported before the cache flag"

        lr = np.float32(LR["sgd"])
        return lambda: nets_numba.mlp_sgd_step(x, y, *params, lr)
    if peer == "jax":
        from bench.workloads.w4_mlp import _jax_built

        class _Peers:
            def module(self, name):
                return lib

        class _Ctx:
            peers = _Peers()

        return _jax_built(_Ctx(), params, "sgd", x, y).fn
    raise ValueError(f"no MLP step for {peer}")


def main() -> None:
    """Measure one peer and print the JSON result."""
    peer, root, cache_dir = sys.argv[1], sys.argv[2], sys.argv[3]
    workload = sys.argv[4] if len(sys.argv) > 4 else "chain"
    res: dict[str, object] = {"peer": peer}
    try:
        t = time.perf_counter()
        lib = _import(peer, cache_dir)
        res["import_s"] = time.perf_counter() - t
        sys.path.insert(0, root)
        import numpy as np

        x = np.random.default_rng(2).standard_normal(N).astype(np.float32)
        t = time.perf_counter()
        fn = _build(peer, lib, x) if workload == "chain" else _build_mlp(peer, lib)
        res["build_s"] = time.perf_counter() - t
        t = time.perf_counter()
        out = fn()
        res["first_s"] = time.perf_counter() - t
        t = time.perf_counter()
        if peer == "graphjit":
            import graphjit

            # until compiled code answers: llvmlite's provisional chain (or numba's)
            graphjit.wait_for_compiles(provisional=True)
        res["wait_s"] = time.perf_counter() - t
        t = time.perf_counter()
        fn()
        res["second_s"] = time.perf_counter() - t
        if peer == "graphjit":
            import graphjit

            t = time.perf_counter()
            graphjit.wait_for_compiles()  # numba's chain, which takes over
            res["numba_wait_s"] = time.perf_counter() - t
            stats = graphjit.cache_stats()
            res["llvm_chains"] = stats["llvm"]["chains"]
            # the first call ran a native module (compiled code, no numba import)
            res["first_compiled"] = stats["native"]["hits"] > 0
            graphjit.wait_for_native_builds(900)  # untimed: the warm child uses it
        from bench.workloads.chains import chain_exp_tanh

        if workload == "chain":
            ref = chain_exp_tanh(x.astype(np.float64), np.exp, np.tanh)
            res["ok"] = bool(np.allclose(np.asarray(out), ref, rtol=1e-4, atol=1e-4))
        else:  # the first step's loss of the fixed problem (W4 checks the trajectory)
            res["ok"] = bool(abs(float(np.asarray(out)) - 2.3) < 1.0)
    except Exception as exc:
        msg = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        res["error"] = f"{type(exc).__name__}: {msg}"[:120]
    print("W5RESULT " + json.dumps(res), flush=True)


if __name__ == "__main__":
    main()
