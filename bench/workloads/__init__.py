"""Workload registry; each workload module exposes ``ID``, ``TITLE`` and ``run(ctx)``."""

from __future__ import annotations

import importlib
from types import ModuleType

#: Workload id -> module, in run order.
WORKLOADS = {
    "W1": "bench.workloads.w1_overhead",
    "W2": "bench.workloads.w2_elementwise",
    "W3": "bench.workloads.w3_reductions",
    "W4": "bench.workloads.w4_mlp",
    "W5": "bench.workloads.w5_startup",
    "W6": "bench.workloads.w6_convnet",
    "W7": "bench.workloads.w7_loop",
}

#: Short titles, available without importing the modules.
TITLES = {
    "W1": "per-call overhead: a*b+c",
    "W2": "fused elementwise chains",
    "W3": "softmax and reductions",
    "W4": "MLP 784-256-10 training step",
    "W5": "start-up and compile time",
    "W6": "conv net training step",
    "W7": "long make_callable loop",
}


def load(workload_id: str) -> ModuleType:
    """Import and return the module of ``workload_id``."""
    return importlib.import_module(WORKLOADS[workload_id])
