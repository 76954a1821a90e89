"""Run-time configuration: environment variables read once, plus :func:`override`.

===============================  =================================================================
``GRAPHJIT_CACHE_DIR``           where generated kernels and numba's machine code are cached
                                 (default ``$XDG_CACHE_HOME/graphjit`` or ``~/.cache/graphjit``)
``GRAPHJIT_DISABLE_JIT=1``       every run uses the numpy interpreter
``GRAPHJIT_DEBUG=1``             print the path of every generated source file that is compiled
``GRAPHJIT_EXPLAIN_CACHE_MISSES``  log (logger ``graphjit.jit``) which part of a cache key changed
``GRAPHJIT_COMPILE_AFTER``       ``Session.run`` compiles a signature on its N-th run (default 2)
``GRAPHJIT_COMPILE``             ``background`` (default): a cold signature is compiled on a
                                 background thread while the interpreter answers its runs;
                                 ``sync``: the run that needs the chain compiles it and waits
``GRAPHJIT_NATIVE``              ``auto`` (default): build native modules of compiled chains in
                                 a child process and run them in later processes before numba
                                 loads (see :mod:`graphjit.native`); ``off``: neither
``GRAPHJIT_LLVM``                ``on`` (default): while numba compiles a cold chain in the
                                 background, a chain compiled by llvmlite directly answers
                                 (tenths of a second, see :mod:`graphjit.llvm_tier`); ``only``:
                                 llvmlite's chains are kept and numba compiles only chains it
                                 cannot lower; ``off``: numba only
===============================  =================================================================

A session can also force the interpreter with TF's own switch::

    tf.ConfigProto(graph_options=tf.GraphOptions(optimizer_options=tf.OptimizerOptions(
        global_jit_level=tf.OptimizerOptions.OFF)))
"""

from __future__ import annotations

import contextlib
import dataclasses
import os

_TRUE = {"1", "true", "yes", "on"}
_OFF = {"0", "false", "no", "off"}


@dataclasses.dataclass(frozen=True, slots=True)
class Config:
    """The effective settings (see the module docstring)."""

    cache_dir: str
    disable_jit: bool = False
    debug: bool = False
    explain_cache_misses: bool = False
    compile_after: int = 2
    compile_mode: str = "background"
    native: str = "auto"
    llvm: str = "on"


def _flag(env, name) -> bool:
    return env.get(name, "").strip().lower() in _TRUE


def _default_cache_dir(env) -> str:
    base = env.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "graphjit")


def from_env(env=None) -> Config:
    """Build a :class:`Config` from ``env`` (default ``os.environ``)."""
    env = os.environ if env is None else env
    cache = env.get("GRAPHJIT_CACHE_DIR")
    try:
        after = max(1, int(env.get("GRAPHJIT_COMPILE_AFTER", "2")))
    except ValueError:
        after = 2
    mode = env.get("GRAPHJIT_COMPILE", "background").strip().lower()
    return Config(
        cache_dir=cache if cache else _default_cache_dir(env),
        disable_jit=_flag(env, "GRAPHJIT_DISABLE_JIT"),
        debug=_flag(env, "GRAPHJIT_DEBUG"),
        explain_cache_misses=_flag(env, "GRAPHJIT_EXPLAIN_CACHE_MISSES"),
        compile_after=after,
        compile_mode="sync" if mode == "sync" else "background",
        native="off" if env.get("GRAPHJIT_NATIVE", "").strip().lower() in _OFF else "auto",
        llvm=_llvm_mode(env.get("GRAPHJIT_LLVM", "")),
    )


def _llvm_mode(text: str) -> str:
    text = text.strip().lower()
    if text in _OFF:
        return "off"
    return "only" if text == "only" else "on"


_current = from_env()


def get() -> Config:
    """The current settings."""
    return _current


def configure(**kw) -> Config:
    """Replace settings for the rest of the process, e.g. ``configure(compile_mode="sync")``.

    Returns the new settings; names are the :class:`Config` fields.
    """
    global _current
    if "cache_dir" in kw:
        kw["cache_dir"] = os.fspath(kw["cache_dir"])
    _current = dataclasses.replace(_current, **kw)
    return _current


@contextlib.contextmanager
def override(**kw):
    """Temporarily replace settings (process-wide), e.g. ``override(disable_jit=True)``.

    >>> with override(compile_after=1):
    ...     get().compile_after
    1
    """
    global _current
    old = _current
    if "cache_dir" in kw:
        kw["cache_dir"] = os.fspath(kw["cache_dir"])
    _current = dataclasses.replace(old, **kw)
    try:
        yield _current
    finally:
        _current = old


def session_disables_jit(config_proto) -> bool:
    """Whether a session's ConfigProto asks for no JIT (``global_jit_level == OFF``)."""
    if config_proto is None:  # a session created without a config
        return False
    try:
        return int(config_proto.graph_options.optimizer_options.global_jit_level) == -1
    except (AttributeError, TypeError, ValueError):
        return False
