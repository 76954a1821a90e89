"""Driver-link kernels that need no numba: ``MatMul`` as one numpy call into BLAS.

Kept apart from :mod:`graphjit.kernels` (which imports numba) so that a chain running from a
native module (:mod:`graphjit.native`) builds its ``MatMul`` links without importing numba.
"""

from __future__ import annotations

import numpy as np


def _mm(a, b, transpose_a, transpose_b):
    if transpose_a:
        a = a.T
    if transpose_b:
        b = b.T
    if a.ndim != 2 or b.ndim != 2 or a.shape[1] != b.shape[0]:
        raise ValueError("Matrix size-incompatible")
    return np.matmul(a, b)


def matmul(a, b, *, transpose_a=False, transpose_b=False, **attrs):
    """``MatMul`` as one BLAS call (``np.matmul`` on possibly transposed views)."""
    return _mm(a, b, transpose_a, transpose_b)


def matmul_link(*, transpose_a=False, transpose_b=False, **attrs):
    """A driver link computing ``MatMul`` with these attributes: ``link(ctx, a, b) -> (c,)``.

    The same BLAS call as :func:`matmul` without the generic link's keyword passing and
    result checks (a training step runs five of these).
    """

    def link(ctx, a, b):
        return (_mm(a, b, transpose_a, transpose_b),)

    return link
