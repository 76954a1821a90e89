"""Native modules: a chain's segments as a CPython extension that loads without numba.

numba's disk cache (L2) spares a second process the compile, not numba itself: importing
numba and initialising its compiler take about 0.5 s here before the first cached function
runs. A *native module* holds the same machine code in an extension module, which imports in
under a millisecond and needs only numpy.

Build
    After a chain's generated module is loaded by numba (a compile or an L2 hit), graphjit
    queues its native build. When the process exits, one detached child (``python -m
    graphjit.native_build <generated files>``, see :mod:`graphjit.native_build`) builds
    what was queued, so the build never competes with the program for CPU while it runs;
    :func:`wait_for_native_builds` builds them at once instead (benchmarks, tests). The child
    compiles every segment with numba's ahead-of-time compiler (``numba.pycc``) behind a
    forwarding function, so each segment keeps its own options (``error_model="numpy"``,
    fastmath reassociation), and links it with numba's C runtime, which is compiled once per
    cache dir. It needs a C compiler; without one, or when the build fails, a
    ``gjaot_<hash>.failed`` file records why and graphjit never retries that entry.

Files (next to the generated source ``gj_<hash>.py``)
    ``gjaot_<hash><ext suffix>`` (the extension) and ``gjaot_<hash>.json`` (each segment's
    argument types). The extension is renamed into place first and the JSON written last:
    the JSON says the entry is complete. A chain of links only (no segment) gets the JSON
    alone: its driver is all it runs.

Use
    In ``background`` compile mode (the default), a signature that is due for compilation and
    whose native module exists runs it at once: the driver part of the generated source
    (everything after :data:`MARKER`) is executed with each ``seg<k>`` bound to a guard that
    checks every argument as numba's dispatcher would (type, dtype, rank, C layout, alignment,
    writability) and calls the extension. Meanwhile the compile thread loads the numba module
    from the disk cache as before; once it is in L1 it replaces the native chain (the numba
    chain is what ``make_callable`` arms on: its single-segment calls skip the driver).

Link kernels
    The row loops of the link kernels (:data:`graphjit.kernels_rows.NATIVE_KERNELS`: softmax
    family, argmax/argmin, ``l2_loss``) are one more extension per cache dir,
    ``gjaot_kernels_<salt>``, built before the first chain module; :func:`available` (is
    there any native module here?) checks for it, so a cold cache costs no rendering.

``GRAPHJIT_NATIVE=off`` turns both the builds and their use off.
"""

from __future__ import annotations

import os
import sys
import threading
from importlib.machinery import EXTENSION_SUFFIXES
from typing import TYPE_CHECKING

from . import config

if TYPE_CHECKING:
    from pathlib import Path

# (imports are lazy: a cold process asks available() on its first, interpreted run)

# The line between a chain module's segments (numba) and its driver (pure Python).
MARKER = "# ---- driver: pure Python from here on (graphjit.native runs it without numba)"
EXT = EXTENSION_SUFFIXES[0]
MODULE = "gjaot"  # every native module's init name (its C runtime is compiled once for it)

_C_ALIGNED = 0x1 | 0x100  # ndarray.flags.num: C_CONTIGUOUS | ALIGNED
_WRITEABLE = 0x400


def files(cache_dir, h: str) -> tuple[Path, Path, Path]:
    """``(extension, argument specs, failure marker)`` of the native module for hash ``h``."""
    from pathlib import Path

    d = Path(cache_dir)
    return d / f"gjaot_{h}{EXT}", d / f"gjaot_{h}.json", d / f"gjaot_{h}.failed"


def enabled() -> bool:
    return config.get().native != "off"


# ------------------------------------------------------------------ loading
def load(source: str, h: str, py_path: Path, modname: str):
    """The driver module of ``source`` running on its native module, or ``None`` if absent.

    Anything unreadable (a missing or partial entry, an extension built for another
    interpreter) gives ``None``: the numba module is used instead.
    """
    so, spec_path, _ = files(py_path.parent, h)
    if MARKER not in source or not spec_path.exists():
        return None
    import json
    import types

    try:
        specs = json.loads(spec_path.read_text(encoding="utf-8"))
        # a chain of links only has no extension: its driver is all there is
        ext = _load_extension(so) if specs["segments"] else None
        head, driver = source.split(MARKER, 1)
        ns = _namespace(head)
        guards = _guards(specs["segments"], ns)
        ns["X"] = ext
        exec(compile(guards, f"<graphjit native guards {h[:12]}>", "exec"), ns)
        # keep the generated file's line numbers in tracebacks
        code = compile("\n" * head.count("\n") + driver, str(py_path), "exec")
        exec(code, ns)
    except Exception as e:  # never fatal: numba loads the module instead
        if config.get().debug:
            print(f"graphjit: native module {so} not used: {e}", file=sys.stderr)
        return None
    mod = types.ModuleType(modname)
    mod.__dict__.update(ns)
    mod.__file__ = str(py_path)
    mod.NATIVE = str(so)
    return mod


_kernels: dict = {}  # cache dir -> the native kernels module, or None


def kernels_file(cache_dir) -> Path:
    """The native kernels module (row loops of :mod:`graphjit.kernels_rows`): one per cache
    dir and graphjit/numba/numpy/Python version (the ``jit`` salt covers ``kernels.py``)."""
    import hashlib

    from .jit import _version_salt

    salt = hashlib.sha256(_version_salt().encode()).hexdigest()[:16]
    return os.path.join(cache_dir, f"gjaot_kernels_{salt}{EXT}")


def available() -> bool:
    """Whether native modules may exist in the cache dir: its kernels module does, or its
    build failed (every build tries that first), so a cold cache costs no rendering to find
    out."""
    if not enabled():
        return False
    path = kernels_file(config.get().cache_dir)
    return os.path.exists(path) or os.path.exists(path + ".failed")


def kernel(name: str):
    """The native kernels module's ``name`` function, or ``None`` (off, or not built)."""
    if not enabled():
        return None
    cache_dir = config.get().cache_dir
    if cache_dir not in _kernels:
        path = kernels_file(cache_dir)
        mod = None
        if os.path.exists(path):
            try:
                mod = _load_extension(path)
            except Exception:  # the numba kernels are used instead
                mod = None
        _kernels[cache_dir] = mod
    return getattr(_kernels[cache_dir], name, None)


def _load_extension(path):
    from importlib.machinery import ExtensionFileLoader
    from importlib.util import module_from_spec, spec_from_file_location

    loader = ExtensionFileLoader(MODULE, str(path))
    spec = spec_from_file_location(MODULE, str(path), loader=loader)
    mod = module_from_spec(spec)
    loader.exec_module(mod)
    return mod


def _namespace(head: str) -> dict:
    """The driver's globals: the generated module's own imports, less those of the numba
    part (numba, the kernels and math modules the segments call)."""
    import numpy as np

    keep = [
        line
        for line in head.splitlines()
        if line.startswith(("import ", "from "))
        and not any(w in line for w in ("numba", "kernels", "mathlib"))
    ]
    ns: dict = {"ND": np.ndarray}
    exec("\n".join(keep), ns)
    return ns


def array_guard(a: str, t: str, ndim: int, readonly: bool) -> str:
    """Source of the check numba's dispatcher makes of an array argument ``a`` (global
    ``ND`` is ``np.ndarray``, ``t`` names the dtype): dtype, rank, C layout, alignment and,
    unless ``readonly``, writability. Shared by the native and llvmlite segment wrappers."""
    flags = _C_ALIGNED | (0 if readonly else _WRITEABLE)
    # arrays numba returned carry an equal dtype object, not numpy's singleton
    return (
        f"type({a}) is ND and ({a}.dtype is {t} or {a}.dtype == {t}) and "
        f"{a}.ndim == {ndim} and {a}.flags.num & {flags} == {flags}"
    )


def _guards(segments: dict, ns: dict) -> str:
    """Source of one checking wrapper per segment (``TypeError`` where numba's dispatcher
    would find no matching signature; the executor then runs the interpreter)."""
    import numpy as np

    lines = []
    for name, args in segments.items():
        params = [f"a{i}" for i in range(len(args))]
        conds = []
        for i, spec in enumerate(args):
            a = params[i]
            dt = np.dtype(spec["dtype"])
            ns[f"{name}_T{i}"] = dt.type if spec["kind"] == "scalar" else dt
            if spec["kind"] == "scalar":
                conds.append(f"type({a}) is {name}_T{i}")
            else:
                conds.append(array_guard(a, f"{name}_T{i}", spec["ndim"], spec["readonly"]))
        plist = ", ".join(params)
        lines.append(f"def {name}({plist}):")
        if conds:
            lines.append("    if not (" + " and ".join(f"({c})" for c in conds) + "):")
            lines.append(f"        raise TypeError('native {name}: argument types differ')")
        lines.append(f"    return X.{name}({plist})")
        lines.append("")
    return "\n".join(lines) + "\n"


# ------------------------------------------------------------------ building
_lock = threading.Lock()
_queue: list = []  # generated files whose native module this process will have built
_seen: set = set()
_compiler: bool | None = None
_atexit_registered = False


def _after_fork_in_child() -> None:
    """A forked child builds what it queues itself, not what its parent queued."""
    global _lock
    _lock = threading.Lock()
    _queue.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def schedule(py_path: Path, h: str) -> bool:
    """Queue a native build for the generated module ``py_path`` (hash ``h``) unless one
    exists, failed before, was queued already in this process, or cannot be built here.
    Returns whether a build was queued.

    Queued builds run when this process exits (one detached child builds them all, so the
    build never competes with the process for CPU while it works) or when
    :func:`wait_for_native_builds` is called.
    """
    global _atexit_registered
    if not enabled():
        return False
    _, spec, failed = files(py_path.parent, h)
    with _lock:
        if h in _seen:
            return False
        _seen.add(h)
    if spec.exists() or failed.exists() or not _have_compiler():
        return False
    with _lock:
        _queue.append(str(py_path))
        if not _atexit_registered:
            import atexit

            atexit.register(_build_at_exit)
            _atexit_registered = True
    return True


def _have_compiler() -> bool:
    global _compiler
    if _compiler is None:
        import shutil
        import sysconfig

        cc = (sysconfig.get_config_var("CC") or "cc").split()
        _compiler = bool(cc) and shutil.which(cc[0]) is not None
    return _compiler


def _take() -> list:
    with _lock:
        paths = list(_queue)
        _queue.clear()
    return paths


def _spawn(paths: list):
    """Start one child building ``paths`` in order; detached from this process's session."""
    import subprocess

    # the child imports this graphjit, also when it is not installed (a source checkout)
    here = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    paths_env = [here] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    env = dict(
        os.environ,
        GRAPHJIT_CACHE_DIR=os.path.dirname(paths[0]),
        PYTHONPATH=os.pathsep.join(paths_env),
    )
    return subprocess.Popen(
        [sys.executable, "-m", "graphjit.native_build", *paths],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env=env,
        start_new_session=True,  # finishes its files after this process has exited
    )


def _build_at_exit() -> None:
    paths = _take()
    if paths:
        try:
            _spawn(paths)
        except Exception:  # shutting down: the next process queues them again
            pass


def wait_for_native_builds(timeout: float | None = None) -> bool:
    """Build the native modules this process queued now, in a child, and wait for it;
    ``False`` if ``timeout`` ran out first (the child carries on).

    Benchmarks and tests call this to have the native modules before the next process
    starts; without it, they are built when this process exits.

    >>> import graphjit
    >>> graphjit.wait_for_native_builds(timeout=1.0)
    True
    """
    import subprocess

    paths = _take()
    if not paths:
        return True
    proc = _spawn(paths)
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        return False
    return True
