"""W5: start-up cost, each measurement in a fresh subprocess.

For every peer a child interpreter (:mod:`bench.workloads.w5_child`) imports
the library, builds the W2 12-op exp/tanh chain over 1e6 float32 and runs
it twice.  Reported per peer:

``import``
    Time of the library import (``graphjit.compat.v1``, ``tensorflow.compat.v1`` ...).
``build->first result (cold)``
    Graph construction (or ``jit`` wrapping) plus the first call, with an
    empty compilation cache.  graphjit's first call is answered by its
    interpreter while the chain compiles in the background (its default).
``compile (cold)``
    From the first call until the compiled path is ready, minus a steady-state
    call: what compilation costs (graphjit: first call + background wait until
    compiled code answers, which is llvmlite's provisional chain, see
    :mod:`graphjit.llvm_tier`).
``compile, numba tier (cold)``
    graphjit only: the same until numba's chain (the steady-state tier, lower
    per-call overhead) has replaced the provisional one.
``build->first result (warm cache)``
    The same in a second process that reuses the first one's disk cache
    (``GRAPHJIT_CACHE_DIR``, ``NUMBA_CACHE_DIR``, JAX's persistent
    compilation cache, PyTensor's compiledir); TensorFlow and numpy have none.
``build->first compiled result (warm cache)``
    In that second process, until a result computed by compiled code: the
    same as the previous row where the first call ran compiled code (graphjit
    with a native module, see :mod:`graphjit.native`: the cold child waits,
    untimed, for the native build it queued), else the first call plus the
    wait until the compiled chain is loaded plus one call.

``MLP step: build->first compiled step (cold)`` / ``(warm cache)``
    The same two measures for one W4 training step (MLP 784-256-10, SGD, batch 64:
    graph, session, initializer and ``make_callable`` or the peer's jitted step, then
    calls until one ran compiled code), for graphjit, TensorFlow (cold only), the
    hand-written numba step (``cache=True``) and JAX.

Each child gets a fresh temporary cache directory.  The numba peer is the
hand-written kernel compiled with ``cache=True``.  Children run with
``PYTHONDONTWRITEBYTECODE=1``; graphjit's bytecode is compiled once beforehand
(:func:`precompile`), as ``pip install`` does for the other peers' packages, so
no peer's import time includes compiling its Python source.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.harness import Context, fill_ratios, make_row

ID = "W5"
TITLE = "start-up and compile time"
CHILD = Path(__file__).with_name("w5_child.py")
PEERS = ("graphjit", "tf", "numpy", "numba", "jax", "pytensor")
WARM_CACHE = ("graphjit", "numba", "jax", "pytensor")
MLP_PEERS = ("graphjit", "tf", "numba", "jax")
MLP_COLD = "MLP step: build->first compiled step (cold)"
MLP_WARM = "MLP step: build->first compiled step (warm cache)"
CASES = (
    "import",
    "build->first result (cold)",
    "compile (cold)",
    "compile, numba tier (cold)",
    "build->first result (warm cache)",
    "build->first compiled result (warm cache)",
    MLP_COLD,
    MLP_WARM,
)


def run_child(
    peer: str, root: Path, cache_dir: str, timeout: float = 180.0, workload: str = "chain"
) -> dict[str, Any]:
    """Run one child process and return its parsed result (``error`` on failure)."""
    env = dict(os.environ)
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    try:
        proc = subprocess.run(
            [sys.executable, str(CHILD), peer, str(root), cache_dir, workload],
            capture_output=True,
            text=True,
            timeout=timeout,
            env=env,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout:.0f} s"}
    for line in proc.stdout.splitlines():
        if line.startswith("W5RESULT "):
            return json.loads(line[len("W5RESULT ") :])
    tail = (proc.stderr.strip().splitlines() or ["no output"])[-1]
    return {"error": f"exit {proc.returncode}: {tail}"[:120]}


def _measure(peer: str, root: Path) -> dict[str, Any]:
    """One cold and (where a cache exists) one warm child; values per case."""
    with tempfile.TemporaryDirectory(prefix=f"bench-w5-{peer}-") as cache:
        cold = run_child(peer, root, cache)
        if "error" in cold:
            return {"error": cold["error"]}
        if not cold.get("ok"):
            return {"wrong": "result differs from numpy"}
        out = {
            "import": cold["import_s"],
            "build->first result (cold)": cold["build_s"] + cold["first_s"],
            "compile (cold)": max(cold["first_s"] + cold["wait_s"] - cold["second_s"], 0.0),
        }
        if peer == "numpy":
            del out["compile (cold)"]
        if "numba_wait_s" in cold:
            out["compile, numba tier (cold)"] = max(
                cold["first_s"] + cold["wait_s"] + cold["numba_wait_s"] - cold["second_s"], 0.0
            )
        if peer in WARM_CACHE:
            warm = run_child(peer, root, cache)
            if "error" not in warm and warm.get("ok"):
                out["build->first result (warm cache)"] = warm["build_s"] + warm["first_s"]
                out["build->first compiled result (warm cache)"] = _first_compiled(warm)
    if peer in MLP_PEERS:
        out.update(_measure_mlp(peer, root))
    return out


def _first_compiled(res: dict[str, Any]) -> float:
    """Build plus calls until one ran compiled code (graphjit's first call may not)."""
    first = res["build_s"] + res["first_s"]
    if res["peer"] == "graphjit" and not res.get("first_compiled"):
        first += res["wait_s"] + res["second_s"]
    return first


def _measure_mlp(peer: str, root: Path) -> dict[str, float]:
    """The MLP step's cold and warm-cache start-up (values per case; empty on failure)."""
    out: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix=f"bench-w5-mlp-{peer}-") as cache:
        cold = run_child(peer, root, cache, timeout=300.0, workload="mlp")
        if "error" in cold or not cold.get("ok"):
            return out
        out[MLP_COLD] = _first_compiled(cold)
        if peer in WARM_CACHE:
            warm = run_child(peer, root, cache, timeout=300.0, workload="mlp")
            if "error" not in warm and warm.get("ok"):
                out[MLP_WARM] = _first_compiled(warm)
    return out


def precompile() -> None:
    """Write graphjit's ``.pyc`` files (an editable install has none until first import)."""
    import compileall

    import graphjit

    compileall.compile_dir(os.path.dirname(graphjit.__file__), quiet=1)


def run(ctx: Context) -> list[dict[str, Any]]:
    """Run every enabled peer's children (1 repetition quick, 3 full) and return the rows."""
    if ctx.peers.enabled("graphjit"):
        precompile()
    reps = 1 if ctx.settings.quick else 3
    peers = [p for p in PEERS if ctx.peers.enabled(p)]
    samples: dict[str, dict[str, list[float]]] = {p: {c: [] for c in CASES} for p in peers}
    failed: dict[str, tuple[str, str]] = {}
    for _ in range(reps):
        for peer in peers:  # round-robin over peers per repetition
            if peer in failed:
                continue
            res = _measure(peer, ctx.root)
            if "error" in res:
                failed[peer] = ("unsupported", res["error"])
            elif "wrong" in res:
                failed[peer] = ("WRONG", res["wrong"])
            else:
                for case, value in res.items():
                    samples[peer][case].append(value)
    rows = []
    for case in CASES:
        for peer in peers:
            if peer in failed:
                status, note = failed[peer]
                rows.append(make_row(ID, case, peer, "subprocess", status=status, note=note))
            elif samples[peer][case]:
                rows.append(
                    make_row(ID, case, peer, "subprocess", samples=samples[peer][case], number=1)
                )
            elif case == "compile (cold)":
                rows.append(
                    make_row(ID, case, peer, "subprocess", status="skipped", note="no compilation")
                )
            elif case.endswith("(warm cache)"):
                rows.append(
                    make_row(
                        ID,
                        case,
                        peer,
                        "subprocess",
                        status="skipped",
                        note="no disk cache" if peer not in WARM_CACHE else "warm run failed",
                    )
                )
    fill_ratios(rows)
    return rows
