"""Driver-link kernels of the row-wise family, as Python wrappers that need no numba.

``argmax``/``argmin`` over the last axis, ``softmax``, ``log_softmax``, ``softmax_xent``,
``sparse_softmax_xent`` and ``l2_loss`` allocate their outputs with ``np.empty`` and run one
compiled row loop from :mod:`graphjit.kernels`. Each wrapper returns fresh arrays (never a
view of an input) and falls back to the op's numpy kernel for dtypes it does not compile; its
results equal the numpy kernel's up to a few ulp (``tests/jit/test_kernels_nn.py``).

The row loop comes from :func:`_impl`: the native kernels module (:mod:`graphjit.native`,
built once per cache dir from the same numba functions, for the signatures in
:data:`NATIVE_KERNELS`) when it exists; else, while numba is not loaded (or with
``GRAPHJIT_LLVM=only``), the same function compiled by llvmlite (:mod:`graphjit.llvm_tier`);
else the numba function itself, which imports numba. So a process running chains from
native modules or llvmlite runs these links without numba too.
"""

from __future__ import annotations

import numpy as np

from .dtypes import as_dtype

_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))


def _numpy_kernel(op_type):
    from .ops import registry

    return registry.get(op_type).numpy


_RO2 = "Array({}, 2, 'C', readonly=True)"
_W2 = "Array({}, 2, 'C')"
_RO1 = "Array({}, 1, 'C', readonly=True)"
_W1 = "Array({}, 1, 'C')"


# kernel name -> its row loop in graphjit.kernels
ROW_LOOPS = {
    "arg": "_arg_rows",
    "softmax": "_softmax_rows",
    "xent": "_xent_rows",
    "sparse_xent": "_sparse_xent_rows",
    "bias_xent": "_bias_xent_rows",
    "bias_sparse_xent": "_bias_sparse_xent_rows",
    "half_sum_squares": "_half_sum_squares",
}


def _signatures():
    table = {}
    for f in ("float32", "float64"):
        table[("arg", f)] = f"void({_RO2.format(f)}, {_W1.format('int64')}, boolean)"
        table[("softmax", f)] = f"void({_RO2.format(f)}, {_W2.format(f)}, boolean, boolean)"
        table[("xent", f)] = (
            f"void({_RO2.format(f)}, {_RO2.format(f)}, {_W1.format(f)}, {_W2.format(f)})"
        )
        table[("bias_xent", f)] = (
            f"void({_RO2.format(f)}, {_RO1.format(f)}, {_RO2.format(f)}, {_W1.format(f)}, "
            f"{_W2.format(f)})"
        )
        for i in ("int32", "int64"):
            table[("sparse_xent", f, i)] = (
                f"void({_RO2.format(f)}, {_RO1.format(i)}, {_W1.format(f)}, {_W2.format(f)})"
            )
            table[("bias_sparse_xent", f, i)] = (
                f"void({_RO2.format(f)}, {_RO1.format(f)}, {_RO1.format(i)}, {_W1.format(f)}, "
                f"{_W2.format(f)})"
            )
        table[("half_sum_squares", f)] = f"{f}({_RO1.format(f)}, {f})"
    return table


# (kernel, dtype names...) -> numba signature of its row loop (ROW_LOOPS): what the native
# kernels module exports, as "<kernel>__<dtype>[__<dtype>]". Inputs are typed read-only (any
# array may be passed), outputs writable; the wrappers pass 2-D/1-D C arrays. Other dtypes
# (sparse labels of int8 ...) run numba's row loop.
NATIVE_KERNELS = _signatures()
_impls: dict = {}


def export_name(key) -> str:
    """The native module's name for a :data:`NATIVE_KERNELS` entry."""
    return "__".join(key)


def _impl(name, *dtypes):
    """The row loop for ``name`` over arrays of ``dtypes``: native if built, else numba."""
    fn = _impls.get((name, *dtypes))  # dtype objects: a step's links look up in ~0.1 us
    if fn is None:
        fn = _impls[(name, *dtypes)] = _resolve(name, dtypes)
    return fn


# op kernel name (OpDef.kernel) -> (row loop, the inputs whose dtypes key it)
_OF_KERNEL = {
    "softmax": ("softmax", (0,)),
    "log_softmax": ("softmax", (0,)),
    "softmax_xent": ("xent", (0,)),
    "sparse_softmax_xent": ("sparse_xent", (0, 1)),
    "bias_softmax_xent": ("bias_xent", (0,)),
    "bias_sparse_softmax_xent": ("bias_sparse_xent", (0, 2)),
    "argmax": ("arg", (0,)),
    "argmin": ("arg", (0,)),
    "l2_loss": ("half_sum_squares", (0,)),
}


def warm(kernel: str, dtypes) -> None:
    """Resolve (and compile) the row loop link ``kernel`` will run for inputs of ``dtypes``
    now, e.g. on a compile thread before a provisional chain's first run."""
    got = _OF_KERNEL.get(kernel)
    if got is None:
        return
    name, which = got
    key = (name, *(np.dtype(dtypes[i]).name for i in which))
    if key in NATIVE_KERNELS:
        _impl(name, *(np.dtype(dtypes[i]) for i in which))


def prefer_numba() -> None:
    """Replace row loops llvmlite compiled for a provisional chain by numba's, compiled here
    (the compile thread calls this once numba's chain is loaded)."""
    from . import kernels

    for key, fn in list(_impls.items()):
        if getattr(fn, "llvm", False):
            name, *dts = key
            skey = (name, *(np.dtype(d).name for d in dts))
            nb = getattr(kernels, ROW_LOOPS[name])
            nb.compile(NATIVE_KERNELS[skey])
            _impls[key] = nb


def _resolve(name, dtypes):
    key = (name, *(np.dtype(d).name for d in dtypes))
    fn = None
    if key in NATIVE_KERNELS:
        import sys

        from . import config, native

        fn = native.kernel(export_name(key))
        mode = config.get().llvm
        if fn is None and (
            mode == "only" or (mode == "on" and "graphjit.kernels" not in sys.modules)
        ):
            # numba not loaded (a provisional chain runs): llvmlite compiles the row loop
            from . import llvm_tier

            fn = llvm_tier.kernel(key, NATIVE_KERNELS[key], ROW_LOOPS[name])
    if fn is None:
        from . import kernels

        fn = getattr(kernels, ROW_LOOPS[name])
    return fn


def l2_loss(x, **attrs):
    """``L2Loss``: ``sum(x ** 2) / 2`` in one vectorized pass, accumulated in ``x``'s dtype.

    The accumulation order differs from numpy's pairwise sum (a few ulp relative to the
    result, as for fused float sums); other dtypes use the numpy kernel.
    """
    if x.dtype not in _FLOATS:
        return _numpy_kernel("L2Loss")(x, **attrs)
    flat = np.ascontiguousarray(x).reshape(-1)
    return np.asarray(_impl("half_sum_squares", x.dtype)(flat, x.dtype.type(0)), dtype=x.dtype)


def _arg(op_type, is_max):
    def kernel(x, dim, *, output_type=None, **attrs):
        ax = int(dim) % max(x.ndim, 1)
        if x.dtype not in _FLOATS or x.ndim == 0 or ax != x.ndim - 1 or x.shape[-1] == 0:
            if output_type is not None:
                attrs["output_type"] = output_type
            return _numpy_kernel(op_type)(x, dim, **attrs)
        rows = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
        out = np.empty(x.shape[:-1], np.int64)  # not a view: a fetched view is copied
        _impl("arg", x.dtype)(rows, out.reshape(-1), is_max)
        want = np.int64 if output_type is None else as_dtype(output_type).np
        return out.astype(want, copy=False)

    kernel.__name__ = op_type.lower()
    kernel.__doc__ = (
        f"``{op_type}`` over the last axis of a float array as one compiled row loop (the "
        "numpy kernel's NaN and tie rules); other axes and dtypes use the numpy kernel."
    )
    return kernel


argmax = _arg("ArgMax", True)
argmin = _arg("ArgMin", False)


def _softmax_rows(x, log, op_type, attrs):
    if x.dtype not in _FLOATS or x.ndim == 0 or x.size == 0:
        return _numpy_kernel(op_type)(x, **attrs)
    x2 = np.ascontiguousarray(x).reshape(-1, x.shape[-1])
    out = np.empty(x.shape, x.dtype)  # returned as allocated: a view would be copied
    _impl("softmax", x.dtype)(x2, out.reshape(x2.shape), log, x.dtype == np.float32)
    return out


def softmax(x, **attrs):
    """``Softmax`` over the last axis (rank >= 1); other dtypes use the numpy kernel."""
    return _softmax_rows(x, False, "Softmax", attrs)


def log_softmax(x, **attrs):
    """``LogSoftmax`` over the last axis (rank >= 1); other dtypes use the numpy kernel."""
    return _softmax_rows(x, True, "LogSoftmax", attrs)


def softmax_xent(logits, labels, **attrs):
    """``SoftmaxCrossEntropyWithLogits``: ``(loss[n], backprop[n, k])`` of 2-D inputs."""
    if (
        logits.dtype not in _FLOATS
        or labels.dtype != logits.dtype
        or logits.ndim != 2
        or logits.shape != labels.shape
        or logits.size == 0
    ):
        return _numpy_kernel("SoftmaxCrossEntropyWithLogits")(logits, labels, **attrs)
    x = np.ascontiguousarray(logits)
    loss = np.empty(x.shape[0], x.dtype)
    back = np.empty(x.shape, x.dtype)
    _impl("xent", x.dtype)(x, np.ascontiguousarray(labels), loss, back)
    return loss, back


def sparse_softmax_xent(logits, labels, **attrs):
    """``SparseSoftmaxCrossEntropyWithLogits``: ``(loss[n], backprop[n, k])``."""
    if (
        logits.dtype not in _FLOATS
        or logits.ndim != 2
        or labels.ndim != 1
        or labels.shape[0] != logits.shape[0]
        or logits.size == 0
    ):
        return _numpy_kernel("SparseSoftmaxCrossEntropyWithLogits")(logits, labels, **attrs)
    x = np.ascontiguousarray(logits)
    loss = np.empty(x.shape[0], x.dtype)
    back = np.empty(x.shape, x.dtype)
    labels = np.ascontiguousarray(labels)
    _impl("sparse_xent", x.dtype, labels.dtype)(x, labels, loss, back)
    return loss, back


def _bias_ok(x, bias) -> bool:
    return (
        x.dtype in _FLOATS
        and bias.dtype == x.dtype
        and x.ndim == 2
        and bias.ndim == 1
        and bias.shape[0] == x.shape[1]
        and x.size != 0
    )


def bias_softmax_xent(x, bias, labels, **attrs):
    """``SoftmaxCrossEntropyWithLogits(x + bias)`` in one row loop (the program rewrite
    :func:`graphjit.prepass.bias_xent`); other shapes and dtypes run the two ops' kernels,
    which raise their errors."""
    if not _bias_ok(x, bias) or labels.dtype != x.dtype or labels.shape != x.shape:
        return _numpy_kernel("BiasSoftmaxCrossEntropyWithLogits")(x, bias, labels, **attrs)
    loss = np.empty(x.shape[0], x.dtype)
    back = np.empty(x.shape, x.dtype)
    fn = _impl("bias_xent", x.dtype)
    fn(np.ascontiguousarray(x), np.ascontiguousarray(bias), np.ascontiguousarray(labels),
       loss, back)  # fmt: skip
    return loss, back


def bias_sparse_softmax_xent(x, bias, labels, **attrs):
    """``SparseSoftmaxCrossEntropyWithLogits(x + bias)`` in one row loop (see
    :func:`bias_softmax_xent`)."""
    if not _bias_ok(x, bias) or labels.ndim != 1 or labels.shape[0] != x.shape[0]:
        op = "BiasSparseSoftmaxCrossEntropyWithLogits"
        return _numpy_kernel(op)(x, bias, labels, **attrs)
    loss = np.empty(x.shape[0], x.dtype)
    back = np.empty(x.shape, x.dtype)
    labels = np.ascontiguousarray(labels)
    fn = _impl("bias_sparse_xent", x.dtype, labels.dtype)
    fn(np.ascontiguousarray(x), np.ascontiguousarray(bias), labels, loss, back)
    return loss, back
