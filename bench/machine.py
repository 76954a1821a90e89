"""Thread pinning and machine description for the benchmark suite.

:func:`configure_threads` must run before numpy, numba, TensorFlow or JAX are
imported, because most of them read their thread settings once at import.
This module therefore imports nothing heavy at module level.
"""

from __future__ import annotations

import datetime as _dt
import os
import platform
import subprocess
import sys
from importlib import metadata
from pathlib import Path

#: Environment variables that control library thread pools.
THREAD_VARS = (
    "NUMBA_NUM_THREADS",
    "OMP_NUM_THREADS",
    "MKL_NUM_THREADS",
    "OPENBLAS_NUM_THREADS",
    "TF_NUM_INTRAOP_THREADS",
    "TF_NUM_INTEROP_THREADS",
    "XLA_FLAGS",
)

#: Variables that are known to slow numpy's OpenBLAS on some machines.
OPENBLAS_TUNING_VARS = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")

_PACKAGES = (
    "numpy",
    "numba",
    "llvmlite",
    "scipy",
    "graphjit",
    "tensorflow-cpu",
    "tensorflow",
    "jax",
    "jaxlib",
    "pytensor",
    "threadpoolctl",
    "matplotlib",
)


def configure_threads(threads: int = 1) -> dict[str, str]:
    """Pin every library's thread pool to ``threads`` via the environment.

    Parameters
    ----------
    threads : int
        Number of threads each library may use.

    Returns
    -------
    dict of str to str
        The thread-related variables as they are set after the call.
    """
    n = str(int(threads))
    for var in (
        "NUMBA_NUM_THREADS",
        "OMP_NUM_THREADS",
        "MKL_NUM_THREADS",
        "OPENBLAS_NUM_THREADS",
        "TF_NUM_INTRAOP_THREADS",
        "TF_NUM_INTEROP_THREADS",
    ):
        os.environ[var] = n
    xla = os.environ.get("XLA_FLAGS", "")
    if "xla_cpu_multi_thread_eigen" not in xla:
        extra = f"--xla_cpu_multi_thread_eigen={'true' if threads > 1 else 'false'}"
        extra += f" intra_op_parallelism_threads={n}"
        os.environ["XLA_FLAGS"] = (xla + " " + extra).strip()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    flags = os.environ.get("PYTENSOR_FLAGS", "")
    if "floatX" not in flags:
        os.environ["PYTENSOR_FLAGS"] = ",".join(f for f in (flags, "floatX=float32") if f)
    return {var: os.environ.get(var, "") for var in THREAD_VARS}


def cpu_model() -> str:
    """Return the CPU model name from ``/proc/cpuinfo`` (or the platform string)."""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.lower().startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def _mem_total_gib() -> float | None:
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemTotal:"):
                return round(int(line.split()[1]) / 2**20, 1)
    except (OSError, ValueError):
        pass
    return None


def package_versions() -> dict[str, str]:
    """Return the installed version of every package the suite cares about."""
    out = {}
    for name in _PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return out


def blas_info() -> list[dict[str, object]]:
    """Describe the loaded BLAS/OpenMP pools via threadpoolctl (empty if absent)."""
    try:
        from threadpoolctl import threadpool_info
    except ImportError:
        return []
    keep = (
        "user_api",
        "internal_api",
        "version",
        "num_threads",
        "threading_layer",
        "architecture",
        "filepath",
    )
    return [{k: info.get(k) for k in keep if k in info} for info in threadpool_info()]


def git_commit(root: Path) -> str | None:
    """Return the short commit of the repository at ``root``, if any."""
    try:
        res = subprocess.run(
            ["git", "-C", str(root), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return res.stdout.strip() or None


def machine_info(root: Path | None = None) -> dict[str, object]:
    """Collect a JSON-friendly description of the machine and software.

    Parameters
    ----------
    root : Path, optional
        Repository root, used to record the git commit.

    Returns
    -------
    dict
        CPU, cores, memory, Python and package versions, thread settings,
        BLAS pools, OpenBLAS tuning variables and the date.
    """
    try:
        affinity = len(os.sched_getaffinity(0))
    except AttributeError:
        affinity = os.cpu_count()
    return {
        "date": _dt.datetime.now().astimezone().isoformat(timespec="seconds"),
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "cores_usable": affinity,
        "mem_gib": _mem_total_gib(),
        "platform": platform.platform(),
        "python": sys.version.split()[0],
        "packages": package_versions(),
        "threads": {var: os.environ.get(var, "") for var in THREAD_VARS},
        "openblas_tuning": {
            var: os.environ[var] for var in OPENBLAS_TUNING_VARS if var in os.environ
        },
        "blas": blas_info(),
        "git_commit": git_commit(root) if root is not None else None,
    }


def machine_line(info: dict[str, object]) -> str:
    """Return a one-line summary of :func:`machine_info` output."""
    pk = info.get("packages", {})
    assert isinstance(pk, dict)
    libs = ", ".join(
        f"{k} {pk[k]}"
        for k in ("numpy", "numba", "tensorflow-cpu", "tensorflow", "jax", "pytensor")
        if k in pk
    )
    return (
        f"{info.get('date')} | {info.get('cpu')} | {info.get('cores_usable')}/"
        f"{info.get('cores')} cores | {info.get('mem_gib')} GiB | Python "
        f"{info.get('python')} | {libs}"
    )
