"""graphjit: TensorFlow 1.x graph mode, fused into Numba kernels.

Use it through the TF1 namespace::

    import graphjit.compat.v1 as tf

Importing graphjit does not import numba; the first compile does.
"""

from __future__ import annotations

from . import ops as _ops  # noqa: F401
from .ops import array as _array  # noqa: F401  (registers ops)
from .ops import array_more, indexing, math_more, nn, nn_conv, random  # noqa: F401
from .ops import control as _control  # noqa: F401
from .ops import math as _math  # noqa: F401
from .ops import session_ops as _session_ops  # noqa: F401
from .ops import state as _state  # noqa: F401

# isort: split
# Gradient rules attach to registered ops, so they load after every op module.
from .ops import grads_array, grads_math, grads_nn  # noqa: F401  (gradient rules)

__version__ = "0.1.0"

# isort: split
from .executor import explain as inspect_chain  # noqa: F401  (no numba import)
from .jit import cache_stats  # noqa: F401
