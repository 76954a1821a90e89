"""graphjit: TensorFlow 1.x graph mode, fused into Numba kernels.

Use it through the TF1 namespace::

    import graphjit.compat.v1 as tf

Importing graphjit does not import numba; the first compile does.
"""

from __future__ import annotations

from . import ops as _ops  # noqa: F401
from .ops import (  # noqa: F401  # noqa: F401
    apply_ops,
    array_more,
    array_split,
    backprop_ops,
    broadcast_ops,
    debug,
    indexing,
    linalg,
    math_more,
    nn,
    nn_conv,
    random,
    random_more,
    sorting,
    state_ops,
    strings,
    strings_regex,
)
from .ops import array as _array  # noqa: F401  (registers ops)
from .ops import control as _control  # noqa: F401
from .ops import control_flow as _control_flow  # noqa: F401  (If, While, IdentityN)
from .ops import math as _math  # noqa: F401
from .ops import session_ops as _session_ops  # noqa: F401
from .ops import state as _state  # noqa: F401

# isort: split
# Gradient rules attach to registered ops, so they load after every op module.
from .ops import grads_array, grads_math, grads_nn  # noqa: F401  (gradient rules)

__version__ = "0.1.0"


# The compiler modules (executor, fuse, jit, hashlib, tempfile, logging ...) load on first
# use, so ``import graphjit`` stays cheap.
def inspect_chain(session, fetches, feed_list=()):
    """How ``session`` runs ``fetches`` fed with ``feed_list`` (see ``executor.explain``)."""
    from .executor import explain

    return explain(session, fetches, feed_list)


def wait_for_compiles(timeout=None, provisional=False) -> bool:
    """Wait until background compiles finish (see ``jit.wait_for_compiles``);
    ``provisional=True``: until compiled code answers (llvmlite's chain may, before numba's)."""
    from .jit import wait_for_compiles as wait

    return wait(timeout, provisional)


def wait_for_native_builds(timeout=None) -> bool:
    """Build the native modules this process queued now and wait (see :mod:`graphjit.native`;
    otherwise they are built when the process exits)."""
    from .native import wait_for_native_builds as wait

    return wait(timeout)


def cache_stats() -> dict:
    """Counters of the compile caches (see ``jit.cache_stats``).

    >>> import graphjit
    >>> sorted(graphjit.cache_stats())
    ['compile_seconds', 'compiles', 'failures', 'l1', 'l2', 'llvm', 'native']
    """
    from .jit import cache_stats as stats

    return stats()
