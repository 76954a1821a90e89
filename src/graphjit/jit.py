"""Compiling generated source with numba, and the L1 (process) and L2 (disk) caches.

This is the only graphjit module that imports numba (lazily, at the first compile), so
``import graphjit`` stays fast.

* **L1** -- ``(program key, input signature) -> compiled chain`` per process. One thread
  compiles a key under a per-key lock; other threads asking for it wait and reuse the result.
* **L2** -- the generated source is written to ``<cache dir>/gj_<hash>.py`` where the hash
  covers the graphjit/numba/llvmlite/numpy/Python versions, the codegen options, the source of
  the helper modules generated code calls, and the source text. The file is executed as a real
  module registered in ``sys.modules``; its functions are ``@njit(cache=True)`` with explicit
  signatures, so a second process loads numba's machine code instead of compiling. Writes are
  atomic (temp file + ``os.replace``); an unreadable or corrupt entry is rewritten, never fatal.

``cache_stats()`` reports hits, misses and seconds per level; with
``GRAPHJIT_EXPLAIN_CACHE_MISSES=1`` every miss is logged with the part of the key that changed.
"""

from __future__ import annotations

import hashlib
import os
import sys
import threading
import time
from typing import TYPE_CHECKING

from . import config

if TYPE_CHECKING:
    from pathlib import Path


def _log():
    """The module's logger (``logging`` is imported on the first warning, not at startup)."""
    import logging

    return logging.getLogger("graphjit.jit")


CODEGEN_OPTIONS = "codegen-v1;error_model=numpy;layout=C"

_lock = threading.Lock()
_L1: dict = {}
# key -> provisional chain (a native module's or llvmlite's), or False (see
# executor._provisional_chain); numba's chain in L1 takes over from it
NATIVE_CHAINS: dict = {}
_key_locks: dict = {}
_stats = {
    "l1": {"hits": 0, "misses": 0},
    "l2": {"hits": 0, "misses": 0, "load_seconds": 0.0},
    "native": {"hits": 0, "load_seconds": 0.0, "builds": 0},
    "llvm": {"chains": 0, "compile_seconds": 0.0, "unsupported": 0, "failures": 0},
    "compiles": 0,
    "compile_seconds": 0.0,
    "failures": 0,
}
_salt: str | None = None


class NotEligible(ValueError):
    """Raised by a ``build`` whose input does not qualify for that kind of kernel (a loop
    whose body is not one segment): cached as :class:`Uncompilable` like a failure, but
    neither logged nor counted, since nothing went wrong (the caller's other path runs)."""


class Uncompilable:
    """L1 entry for a key that cannot be compiled (the interpreter runs it); keeps the reason."""

    __slots__ = ("reason",)

    def __init__(self, reason: str):
        self.reason = reason

    def __repr__(self):
        return f"Uncompilable({self.reason!r})"


def cache_stats() -> dict:
    """Counters of the compile caches (a copy).

    Returns
    -------
    dict
        ``{"l1": {"hits", "misses"}, "l2": {"hits", "misses", "load_seconds"},
        "native": {"hits", "load_seconds", "builds"}, "llvm": {"chains",
        "compile_seconds", "unsupported", "failures"}, "compiles": n, "compile_seconds": s,
        "failures": n}``. An L2 hit means numba loaded machine code from the disk cache;
        ``compiles`` counts real numba compilations; a native hit ran a chain from its
        native module (no numba) and ``builds`` counts native builds queued
        (:mod:`graphjit.native`); ``llvm`` counts chains compiled by llvmlite directly,
        those the lowering refused and those it failed on (logged; numba compiled them, see
        :mod:`graphjit.llvm_tier`).

    Examples
    --------
    >>> import graphjit
    >>> sorted(graphjit.cache_stats())
    ['compile_seconds', 'compiles', 'failures', 'l1', 'l2', 'llvm', 'native']
    """
    with _lock:
        return {k: (dict(v) if isinstance(v, dict) else v) for k, v in _stats.items()}


def reset_stats() -> None:
    """Zero the counters (tests)."""
    with _lock:
        _stats["l1"].update(hits=0, misses=0)
        _stats["l2"].update(hits=0, misses=0, load_seconds=0.0)
        _stats["native"].update(hits=0, load_seconds=0.0, builds=0)
        _stats["llvm"].update(chains=0, compile_seconds=0.0, unsupported=0, failures=0)
        _stats.update(compiles=0, compile_seconds=0.0, failures=0)


def clear_l1() -> None:
    """Forget compiled chains of this process (tests; the disk cache stays)."""
    with _lock:
        _L1.clear()
        NATIVE_CHAINS.clear()
        _key_locks.clear()


def peek(key):
    """The L1 entry for ``key`` or ``None`` (no stats, no compile)."""
    return _L1.get(key)


def get_or_build(key, build):
    """L1 lookup; on a miss exactly one thread runs ``build()`` (others wait for it).

    ``build`` returns the value to cache; an exception is cached as :class:`Uncompilable`.
    """
    entry = _L1.get(key)
    if entry is not None:
        with _lock:
            _stats["l1"]["hits"] += 1
        return entry
    with _lock:
        klock = _key_locks.setdefault(key, threading.Lock())
    with klock:
        entry = _L1.get(key)
        if entry is not None:
            with _lock:
                _stats["l1"]["hits"] += 1
            return entry
        with _lock:
            _stats["l1"]["misses"] += 1
        if config.get().explain_cache_misses:
            _explain_l1(key)
        try:
            entry = build()
        except NotEligible as e:
            entry = Uncompilable(f"not eligible: {e}")
        except Exception as e:  # never fatal: the interpreter runs this signature
            with _lock:
                _stats["failures"] += 1
            _log().warning("graphjit: compile failed, using the interpreter: %s", e)
            if config.get().debug:
                _log().exception("compile failure")
            entry = Uncompilable(f"{type(e).__name__}: {e}")
        _L1[key] = entry
        return entry


_pending: set = set()  # keys being compiled by background threads
_idle = threading.Condition(_lock)  # notified when _pending empties


def _after_fork_in_child() -> None:
    """A forked child has none of the parent's compile threads: forget their keys and locks
    (a key left in ``_pending`` would never compile there, and ``wait_for_compiles`` would
    wait for a thread that does not exist)."""
    global _lock, _idle
    _lock = threading.Lock()
    _idle = threading.Condition(_lock)
    _pending.clear()
    _key_locks.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def build_in_background(key, build) -> bool:
    """Compile ``key`` on a daemon thread unless it is in L1 or already being compiled.

    Returns whether a thread was started. The thread runs :func:`get_or_build`, so a
    failure is cached as :class:`Uncompilable` (logged, never raised) and a thread that
    asks for the same key synchronously waits for this compile instead of repeating it.
    """
    with _lock:
        if key in _L1 or key in _pending:
            return False
        _pending.add(key)

    def work():
        try:
            get_or_build(key, build)
        finally:
            with _lock:
                _pending.discard(key)
                if not _pending:
                    _idle.notify_all()

    t = threading.Thread(target=work, name="graphjit-compile", daemon=True)
    try:
        t.start()
    except RuntimeError:  # interpreter shutting down: no compile, the interpreter runs
        with _lock:
            _pending.discard(key)
        return False
    return True


def wait_for_compiles(timeout: float | None = None, provisional: bool = False) -> bool:
    """Block until no background compile is running; ``False`` if ``timeout`` ran out.

    Benchmarks and scripts that time steady-state calls use this so they do not time the
    interpreter answering while a chain is still compiling. ``provisional=True`` returns as
    soon as every chain being compiled can already run compiled code: a provisional chain
    (llvmlite's or a native module's, see :mod:`graphjit.llvm_tier`) answers while numba
    compiles.

    >>> import graphjit
    >>> graphjit.wait_for_compiles(timeout=1.0)
    True
    """

    def done():
        if provisional:
            return all(NATIVE_CHAINS.get(k) for k in _pending)
        return not _pending

    with _lock:
        return _idle.wait_for(done, timeout)


def count_llvm_failure() -> None:
    with _lock:
        _stats["llvm"]["failures"] += 1


def set_provisional(key, chain) -> None:
    """Record ``chain`` as ``key``'s provisional chain (wakes ``wait_for_compiles``)."""
    with _lock:
        NATIVE_CHAINS[key] = chain
        _idle.notify_all()


def _explain_l1(key):
    prog_key, sig = key
    same = [k for k in _L1 if k[0] == prog_key]
    if not same:
        _log().warning("graphjit L1 miss: new program structure %s", prog_key[:12])
        return
    for _, other in same:
        diff = [f"feed {i}: {a!r} -> {b!r}" for i, (a, b) in enumerate(zip(other, sig)) if a != b]
        _log().warning(
            "graphjit L1 miss for program %s: signature changed (%s)",
            prog_key[:12],
            "; ".join(diff) or f"{other!r} -> {sig!r}",
        )


def _version_salt() -> str:
    global _salt
    if _salt is None:
        import numpy

        from . import __version__

        here = os.path.dirname(os.path.abspath(__file__))
        parts = [
            __version__,
            _package_version("numba"),
            _package_version("llvmlite"),
            numpy.__version__,
            sys.version,
            CODEGEN_OPTIONS,
        ]
        # numba does not track callee changes
        for name in ("kernels.py", "kernels_conv.py", "mathlib.py", "mathlib_ir.py"):
            try:
                with open(os.path.join(here, name), "rb") as f:
                    parts.append(hashlib.sha256(f.read()).hexdigest())
            except OSError:
                parts.append(name)
        _salt = "\n".join(parts)
    return _salt


def _package_version(name: str) -> str:
    """``name.__version__`` without importing the package when it is not imported yet: a
    process that runs native modules (:mod:`graphjit.native`) never imports numba."""
    mod = sys.modules.get(name)
    if mod is None:
        import importlib.util
        import re

        spec = importlib.util.find_spec(name)
        if spec is not None and spec.origin:
            try:
                version_py = os.path.join(os.path.dirname(spec.origin), "_version.py")
                with open(version_py, encoding="utf-8") as f:
                    text = f.read()
            except OSError:
                text = ""
            # versioneer's two layouts: a JSON blob, or version_version = '...'
            m = re.search(r"\"version\": \"([^\"]+)\"|version_version = '([^']+)'", text)
            if m:
                return m.group(1) or m.group(2)
        import importlib

        mod = importlib.import_module(name)
    return mod.__version__


def source_hash(source: str) -> str:
    """The L2 content hash of a generated source text."""
    h = hashlib.sha256(_version_salt().encode())
    h.update(b"\0")
    h.update(source.encode())
    return h.hexdigest()[:32]


def _write_atomic(path: Path, text: str) -> None:
    import tempfile

    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".py")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise


def _ensure_file(path: Path, source: str) -> None:
    try:
        if path.read_text(encoding="utf-8") == source:
            return
        _log().warning("graphjit: corrupt cache entry %s rewritten", path)
    except (OSError, UnicodeDecodeError):
        pass
    _write_atomic(path, source)


def load_native(source: str):
    """``(module, path)`` running ``source``'s segments from its native module without
    numba (:mod:`graphjit.native`), or ``None`` when there is none (or numba's module is
    loaded in this process already: then that one is returned)."""
    from pathlib import Path

    from . import native

    h = source_hash(source)
    modname = f"graphjit_gen_{h}"
    mod = sys.modules.get(modname)
    if mod is not None:
        return mod, Path(mod.__file__)
    path = Path(config.get().cache_dir) / f"gj_{h}.py"
    t0 = time.perf_counter()
    mod = native.load(source, h, path, modname)
    if mod is None:
        return None
    with _lock:
        _stats["native"]["hits"] += 1
        _stats["native"]["load_seconds"] += time.perf_counter() - t0
    return mod, path


def load_llvm(source: str, light: bool = False):
    """``(module, path)`` running ``source``'s segments compiled by llvmlite (no numba), or
    ``None`` when a segment is outside what :mod:`graphjit.llvm_lower` translates.

    ``light``: optimise for compile time (provisional chains, see :mod:`graphjit.llvm_tier`).
    """
    from pathlib import Path

    from . import llvm_tier

    h = source_hash(source)
    cfg = config.get()
    cache_dir = Path(cfg.cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"gj_{h}.py"
    _ensure_file(path, source)  # the file introspection and tracebacks point at
    t0 = time.perf_counter()
    mod = llvm_tier.load(source, path, f"graphjit_llvm_{h}", light)
    with _lock:
        if mod is None:
            _stats["llvm"]["unsupported"] += 1
            return None
        _stats["llvm"]["chains"] += 1
        _stats["llvm"]["compile_seconds"] += time.perf_counter() - t0
    return mod, path


def load(source: str, native_build: bool = False):
    """Compile (or load from the disk cache) a generated module; returns ``(module, path)``.

    ``native_build``: queue a native module build for it (chain modules; see
    :mod:`graphjit.native`).
    """
    h = source_hash(source)
    modname = f"graphjit_gen_{h}"
    from pathlib import Path

    mod = sys.modules.get(modname)
    if mod is not None:
        return mod, Path(mod.__file__)
    cfg = config.get()
    cache_dir = Path(cfg.cache_dir)
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / f"gj_{h}.py"
    _ensure_file(path, source)
    if cfg.debug:
        print(f"graphjit: compiling {path}", file=sys.stderr)
    t0 = time.perf_counter()
    try:
        mod = _exec(modname, path)
    except Exception:
        # a broken numba cache entry or a half-written file: start this entry afresh once
        _purge(path)
        _write_atomic(path, source)
        mod = _exec(modname, path)
    dt = time.perf_counter() - t0
    hits = misses = 0
    for name in dir(mod):
        stats = getattr(getattr(mod, name), "stats", None)
        if stats is not None and hasattr(stats, "cache_hits"):
            hits += sum(stats.cache_hits.values())
            misses += sum(stats.cache_misses.values())
    with _lock:
        if misses:
            _stats["l2"]["misses"] += 1
            _stats["compiles"] += 1
            _stats["compile_seconds"] += dt
        else:
            _stats["l2"]["hits"] += 1
            _stats["l2"]["load_seconds"] += dt
    if misses and cfg.explain_cache_misses:
        _log().warning("graphjit L2 miss: no machine code for %s (new source or versions)", path)
    if native_build:
        from . import native

        if native.schedule(path, h):
            with _lock:
                _stats["native"]["builds"] += 1
    return mod, path


def _exec(modname: str, path: Path):
    import importlib.util

    spec = importlib.util.spec_from_file_location(modname, path)
    mod = importlib.util.module_from_spec(spec)
    sys.modules[modname] = mod
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(modname, None)
        raise
    return mod


def _purge(path: Path) -> None:
    """Remove numba's cache files of one generated module."""
    pyc = path.parent / "__pycache__"
    if not pyc.is_dir():
        return
    for f in pyc.glob(f"{path.stem}.*"):
        try:
            f.unlink()
        except OSError:
            pass
