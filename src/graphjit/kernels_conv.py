"""Library kernels for convolution and pooling (``Conv2D``, its two backprops, the pools).

Driver-link kernels named by ``OpDef.kernel`` in :mod:`graphjit.ops.nn_conv`, found by the
executor next to those of :mod:`graphjit.kernels`. The convolutions are patch-gather + BLAS:
a compiled loop copies the receptive field of a block of output pixels into a contiguous
``cols`` buffer (rows: output pixels, columns: ``(i, j, c)`` taps), and numpy's ``dot`` (one
sgemm/dgemm, called from Python: ``np.dot`` compiled inside ``njit`` costs ~1-2 s of numba
compile for the same BLAS call) multiplies it with the ``[kh*kw*c, o]`` filter matrix.

* ``Conv2D``: ``out[rows] = cols @ F``;
* ``Conv2DBackpropFilter``: ``dF += cols.T @ dy[rows]``;
* ``Conv2DBackpropInput``: ``dcols = dy[rows] @ F.T``, then a compiled col2im scatter-adds
  ``dcols`` into ``dx``.

The rows are processed in blocks whose ``cols`` buffer fits in L2 (``_BLOCK_BYTES``, at most
``_BLOCK_ROWS`` rows): the gather writes it and BLAS reads it while still cached, instead of
materialising the whole column matrix (40 MB for the second layer of the MNIST conv net).
With one input channel the block is gathered transposed (``_im2col_t``), which copies long
runs instead of ``kw``-value ones. Strides, dilations and
SAME/VALID padding are handled in the gather (out-of-image taps are zeros); NCHW inputs are
transposed to NHWC and back, as the numpy kernels do. The pools are direct compiled loops
over NHWC with the channel axis innermost (unit stride, vectorized).

Every wrapper returns fresh arrays and falls back to the op's numpy kernel (the reference,
which also raises the errors) for dtypes other than float32/float64, mismatched dtypes or
shapes, and empty arrays. Results equal the numpy kernels up to float rounding (the GEMM sums
the taps in another order); ``tests/jit/test_kernels_conv.py`` checks them.

Only :mod:`graphjit.executor` imports this module (lazily), so ``import graphjit`` does not
import numba.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from .ops.array_more import _ints
from .ops.nn_conv import _from_nhwc, _geometry, _hw, _to_nhwc

_opts = {"cache": True, "error_model": "numpy", "nogil": True}
_FLOATS = (np.dtype(np.float32), np.dtype(np.float64))
# One block of patch rows: small enough to stay in L2 (2 MB here) between the gather and the
# GEMM, large enough that each GEMM call runs at full speed. On the W6 conv net 2 MB blocks
# ran ~1.4x faster than one whole-matrix GEMM and 512 KB ones ~5% slower; for 25 columns
# (first layer) blocks of 1024 rows beat 10k-row ones by ~1.4x.
_BLOCK_BYTES = 2 << 20
_BLOCK_ROWS = 1024


def _numpy_kernel(op_type):
    from .ops import registry

    return registry.get(op_type).numpy


def _floats(*arrays) -> bool:
    """All arrays share one compiled float dtype and are non-empty."""
    dt = arrays[0].dtype
    return dt in _FLOATS and all(a.dtype == dt and a.size for a in arrays)


# ------------------------------------------------------------------ gather / scatter loops
# The copy loops index with uint64: numba wraps negative signed indices (``if i < 0: i += n``)
# and that check kept LLVM from vectorizing them (the W6 gather ran 4-10x slower with int64).
# Arrays are passed flat (C order) so each contiguous run is one such loop.


@njit(inline="always", **_opts)
def _copy(dst, d, src, s, n):
    """``dst[d : d + n] = src[s : s + n]`` (offsets >= 0)."""
    d, s = np.uint64(d), np.uint64(s)
    for q in range(np.uint64(n)):
        dst[d + q] = src[s + q]


@njit(inline="always", **_opts)
def _add(dst, d, src, s, n):
    """``dst[d : d + n] += src[s : s + n]`` (offsets >= 0)."""
    d, s = np.uint64(d), np.uint64(s)
    for q in range(np.uint64(n)):
        dst[d + q] += src[s + q]


@njit(inline="always", **_opts)
def _zero(dst, d, n):
    """``dst[d : d + n] = 0`` (offset >= 0)."""
    d = np.uint64(d)
    for q in range(np.uint64(n)):
        dst[d + q] = 0


@njit(**_opts)
def _im2col(xf, colsf, r0, nrows, geom):
    """Patch rows ``r0 .. r0 + nrows`` of flat NHWC ``xf`` into flat ``colsf``.

    Row ``t`` is output pixel ``(n, r, s)`` in C order; column ``(i * kw + j) * c + k`` is
    input ``x[n, r*sh - ph + i*dh, s*sw - pw + j*dw, k]``, zero outside the image; ``geom``
    is ``(h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw)``.
    """
    h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw = geom
    ohw = oh * ow
    for t in range(nrows):
        g = r0 + t
        n = g // ohw
        rem = g - n * ohw
        r = rem // ow
        s = rem - r * ow
        iw0 = s * sw - pw
        for i in range(kh):
            ih = r * sh - ph + i * dh
            d = (t * kh + i) * kw * c
            if ih < 0 or ih >= h:
                _zero(colsf, d, kw * c)
                continue
            row = (n * h + ih) * w
            if dw == 1:  # the in-image taps of this kernel row are one contiguous run
                j0 = min(max(0, -iw0), kw)
                j1 = max(j0, min(kw, w - iw0))
                _zero(colsf, d, j0 * c)
                _copy(colsf, d + j0 * c, xf, (row + iw0 + j0) * c, (j1 - j0) * c)
                _zero(colsf, d + j1 * c, (kw - j1) * c)
            else:
                for j in range(kw):
                    iw = iw0 + j * dw
                    if iw < 0 or iw >= w:
                        _zero(colsf, d + j * c, c)
                    else:
                        _copy(colsf, d + j * c, xf, (row + iw) * c, c)


@njit(**_opts)
def _im2col_t(xf, colsf, r0, nrows, geom):
    """:func:`_im2col` transposed: ``colsf`` holds ``(kh*kw*c, nrows)`` in C order.

    For one input channel a row-major patch row is ``kh`` runs of ``kw`` values, too short
    to copy fast; here each (tap, image row) is one run along the output row (contiguous in
    ``x`` at stride 1), so this layout gathers ~1.7x faster for ``c == 1``.
    """
    h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw = geom
    ohw = oh * ow
    step = np.uint64(sw * c)
    g = r0
    end = r0 + nrows
    while g < end:  # one run of output pixels of one output row per pass
        n = g // ohw
        rem = g - n * ohw
        r = rem // ow
        s0 = rem - r * ow
        s1 = min(ow, s0 + (end - g))
        t0 = g - r0
        for i in range(kh):
            ih = r * sh - ph + i * dh
            for j in range(kw):
                off = j * dw - pw  # output column s reads input column s*sw + off
                a = min(max(s0, (sw - 1 - off) // sw), s1)  # [a, b): inside the image
                b = max(min(s1, (w - off + sw - 1) // sw), a)
                for k in range(c):
                    d = ((i * kw + j) * c + k) * nrows + t0
                    if ih < 0 or ih >= h:
                        _zero(colsf, d, s1 - s0)
                        continue
                    _zero(colsf, d, a - s0)
                    src = np.uint64(((n * h + ih) * w + a * sw + off) * c + k)
                    da = np.uint64(d + a - s0)
                    if step == 1:
                        _copy(colsf, da, xf, src, b - a)
                    else:
                        for u in range(np.uint64(b - a)):
                            colsf[da + u] = xf[src + u * step]
                    _zero(colsf, d + b - s0, s1 - b)
        g += s1 - s0


@njit(**_opts)
def _col2im(dcolsf, dxf, r0, nrows, geom):
    """Adjoint of :func:`_im2col`: add patch rows of flat ``dcolsf`` into flat NHWC ``dxf``."""
    h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw = geom
    ohw = oh * ow
    for t in range(nrows):
        g = r0 + t
        n = g // ohw
        rem = g - n * ohw
        r = rem // ow
        s = rem - r * ow
        iw0 = s * sw - pw
        for i in range(kh):
            ih = r * sh - ph + i * dh
            if ih < 0 or ih >= h:
                continue
            row = (n * h + ih) * w
            d = (t * kh + i) * kw * c
            if dw == 1:
                j0 = min(max(0, -iw0), kw)
                j1 = max(j0, min(kw, w - iw0))
                _add(dxf, (row + iw0 + j0) * c, dcolsf, d + j0 * c, (j1 - j0) * c)
            else:
                for j in range(kw):
                    iw = iw0 + j * dw
                    if 0 <= iw < w:
                        _add(dxf, (row + iw) * c, dcolsf, d + j * c, c)


# ------------------------------------------------------------------ convolutions


def _block_rows(total, k, itemsize):
    return max(1, min(total, _BLOCK_ROWS, _BLOCK_BYTES // max(1, k * itemsize)))


def _cols(xf, buf, r0, nrows, geom):
    """Patch rows ``r0 .. r0 + nrows`` gathered into ``buf``: a ``(nrows, k)`` view."""
    k = geom[5] * geom[6] * geom[2]
    flat = buf[: nrows * k]
    if geom[2] == 1:  # one channel: the transposed layout gathers faster
        _im2col_t(xf, flat, r0, nrows, geom)
        return flat.reshape(k, nrows).T
    _im2col(xf, flat, r0, nrows, geom)
    return flat.reshape(nrows, k)


def _conv_geom(h, w, c, kh, kw, attrs):
    """(oh, ow, geometry tuple of the gather/scatter loops) of an NHWC convolution."""
    (oh, ow), (ph, pw), (sh, sw), (dh, dw) = _geometry((h, w), (kh, kw), attrs)
    return oh, ow, (h, w, c, oh, ow, kh, kw, sh, sw, dh, dw, ph, pw)


def conv2d(x, f, **attrs):
    """``Conv2D``: patch gather + one GEMM per block of output pixels."""
    fmt = attrs.get("data_format", "NHWC")
    if not _floats(x, f) or x.ndim != 4 or f.ndim != 4:
        return _numpy_kernel("Conv2D")(x, f, **attrs)
    xn = np.ascontiguousarray(_to_nhwc(x, fmt))
    n, h, w, c = xn.shape
    kh, kw, fc, o = f.shape
    if fc != c:
        return _numpy_kernel("Conv2D")(x, f, **attrs)
    oh, ow, geom = _conv_geom(h, w, c, kh, kw, attrs)
    total = n * oh * ow
    if total == 0:
        return _numpy_kernel("Conv2D")(x, f, **attrs)
    k = kh * kw * c
    fm = np.ascontiguousarray(f).reshape(k, o)
    if kh == kw == 1 and geom[7] == geom[8] == 1 and oh == h and ow == w:
        out = np.dot(xn.reshape(total, c), fm)  # 1x1 stride-1 conv: the input is ``cols``
    else:
        out = np.empty((total, o), xn.dtype)
        xf = xn.reshape(-1)
        step = _block_rows(total, k, xn.itemsize)
        buf = np.empty(step * k, xn.dtype)
        for r0 in range(0, total, step):
            r1 = min(total, r0 + step)
            np.dot(_cols(xf, buf, r0, r1 - r0, geom), fm, out=out[r0:r1])
    return _from_nhwc(out.reshape(n, oh, ow, o), fmt)


def conv2d_backprop_input(sizes, f, dy, **attrs):
    """``Conv2DBackpropInput``: ``dcols = dy @ F.T`` per block, then col2im."""
    fmt = attrs.get("data_format", "NHWC")
    if not _floats(f, dy) or f.ndim != 4 or dy.ndim != 4 or np.size(sizes) != 4:
        return _numpy_kernel("Conv2DBackpropInput")(sizes, f, dy, **attrs)
    shape = _ints(sizes)
    if fmt == "NCHW":
        shape = [shape[0], shape[2], shape[3], shape[1]]
    n, h, w, c = shape
    kh, kw, fc, o = f.shape
    dyn = np.ascontiguousarray(_to_nhwc(dy, fmt))
    oh, ow, geom = _conv_geom(h, w, c, kh, kw, attrs)
    if fc != c or dyn.shape != (n, oh, ow, o) or min(shape) <= 0:
        return _numpy_kernel("Conv2DBackpropInput")(sizes, f, dy, **attrs)
    total = n * oh * ow
    k = kh * kw * c
    fmt_t = np.ascontiguousarray(f).reshape(k, o).T
    dy2 = dyn.reshape(total, o)
    dx = np.zeros((n, h, w, c), dyn.dtype)
    dxf = dx.reshape(-1)
    step = _block_rows(total, k, dyn.itemsize)
    buf = np.empty((step, k), dyn.dtype)
    for r0 in range(0, total, step):
        r1 = min(total, r0 + step)
        dcols = buf[: r1 - r0]
        np.dot(dy2[r0:r1], fmt_t, out=dcols)
        _col2im(buf.reshape(-1), dxf, r0, r1 - r0, geom)
    return _from_nhwc(dx, fmt)


def conv2d_backprop_filter(x, sizes, dy, **attrs):
    """``Conv2DBackpropFilter``: ``dF = sum over blocks of cols.T @ dy``."""
    fmt = attrs.get("data_format", "NHWC")
    if not _floats(x, dy) or x.ndim != 4 or dy.ndim != 4 or np.size(sizes) != 4:
        return _numpy_kernel("Conv2DBackpropFilter")(x, sizes, dy, **attrs)
    xn = np.ascontiguousarray(_to_nhwc(x, fmt))
    dyn = np.ascontiguousarray(_to_nhwc(dy, fmt))
    n, h, w, c = xn.shape
    kh, kw, fc, o = _ints(sizes)
    oh, ow, geom = _conv_geom(h, w, c, kh, kw, attrs)
    if fc != c or dyn.shape != (n, oh, ow, o) or min(kh, kw, o) <= 0:
        return _numpy_kernel("Conv2DBackpropFilter")(x, sizes, dy, **attrs)
    total = n * oh * ow
    k = kh * kw * c
    dy2 = dyn.reshape(total, o)
    step = _block_rows(total, k, xn.itemsize)
    xf = xn.reshape(-1)
    buf = np.empty(step * k, xn.dtype)
    df = np.empty((k, o), xn.dtype)
    part = np.empty((k, o), xn.dtype) if step < total else df
    for r0 in range(0, total, step):
        r1 = min(total, r0 + step)
        cols = _cols(xf, buf, r0, r1 - r0, geom)
        if r0 == 0:
            np.dot(cols.T, dy2[r0:r1], out=df)
        else:
            np.dot(cols.T, dy2[r0:r1], out=part)
            df += part
    return df.reshape(kh, kw, c, o)


# ------------------------------------------------------------------ pooling loops
# NHWC arrays passed flat; each window tap is a unit-stride run of ``c`` values at a uint64
# offset (see the gather loops), so the channel loops vectorize. ``geom`` is
# ``(n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw)``.


@njit(**_opts)
def _max_pool_loop(xf, outf, geom, lowest):
    """TF's max pool: each window starts at ``lowest``; NaN never wins (``v > m``)."""
    n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw = geom
    cu = np.uint64(c)
    for b in range(n):
        for r in range(oh):
            for s in range(ow):
                o = np.uint64(((b * oh + r) * ow + s) * c)
                for k in range(cu):
                    outf[o + k] = lowest
                for ih in range(max(r * sh - ph, 0), min(r * sh - ph + kh, h)):
                    for iw in range(max(s * sw - pw, 0), min(s * sw - pw + kw, w)):
                        src = np.uint64(((b * h + ih) * w + iw) * c)
                        for k in range(cu):
                            v = xf[src + k]
                            m = outf[o + k]
                            outf[o + k] = v if v > m else m


@njit(**_opts)
def _avg_pool_loop(xf, outf, geom):
    """Mean over the in-image part of each window (taps summed in window order)."""
    n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw = geom
    cu = np.uint64(c)
    for b in range(n):
        for r in range(oh):
            for s in range(ow):
                o = np.uint64(((b * oh + r) * ow + s) * c)
                for k in range(cu):
                    outf[o + k] = 0
                i0, i1 = max(r * sh - ph, 0), min(r * sh - ph + kh, h)
                j0, j1 = max(s * sw - pw, 0), min(s * sw - pw + kw, w)
                for ih in range(i0, i1):
                    for iw in range(j0, j1):
                        src = np.uint64(((b * h + ih) * w + iw) * c)
                        for k in range(cu):
                            outf[o + k] += xf[src + k]
                cnt = max((i1 - i0) * (j1 - j0), 1)
                for k in range(cu):
                    outf[o + k] /= cnt


@njit(**_opts)
def _max_pool_grad_loop(xf, dyf, dxf, geom):
    """``dy`` of each window goes to its first maximal tap (NaN and padding count as -inf)."""
    n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw = geom
    cu = np.uint64(c)
    best = np.empty(c, xf.dtype)
    idx = np.empty(c, np.int64)
    for b in range(n):
        for r in range(oh):
            for s in range(ow):
                o = np.uint64(((b * oh + r) * ow + s) * c)
                for k in range(cu):
                    best[k] = -np.inf
                    idx[k] = 0
                i0, i1 = max(r * sh - ph, 0), min(r * sh - ph + kh, h)
                j0, j1 = max(s * sw - pw, 0), min(s * sw - pw + kw, w)
                for ih in range(i0, i1):
                    for iw in range(j0, j1):
                        t = (ih - r * sh + ph) * kw + (iw - s * sw + pw)
                        src = np.uint64(((b * h + ih) * w + iw) * c)
                        for k in range(cu):
                            v = xf[src + k]
                            better = v > best[k]
                            best[k] = v if better else best[k]
                            idx[k] = t if better else idx[k]
                for ih in range(i0, i1):
                    for iw in range(j0, j1):
                        t = (ih - r * sh + ph) * kw + (iw - s * sw + pw)
                        dst = np.uint64(((b * h + ih) * w + iw) * c)
                        for k in range(cu):
                            # adds 0 to the other taps, exactly as the numpy kernel does
                            dxf[dst + k] += dyf[o + k] if idx[k] == t else 0


@njit(**_opts)
def _avg_pool_grad_loop(dyf, dxf, geom):
    """Each window's ``dy / count`` added to its in-image taps."""
    n, h, w, c, oh, ow, kh, kw, sh, sw, ph, pw = geom
    cu = np.uint64(c)
    share = np.empty(c, dxf.dtype)  # dy / count rounded to the dtype first, as numpy does
    for b in range(n):
        for r in range(oh):
            for s in range(ow):
                o = np.uint64(((b * oh + r) * ow + s) * c)
                i0, i1 = max(r * sh - ph, 0), min(r * sh - ph + kh, h)
                j0, j1 = max(s * sw - pw, 0), min(s * sw - pw + kw, w)
                cnt = (i1 - i0) * (j1 - j0)
                if cnt <= 0:
                    continue
                for k in range(cu):
                    share[k] = dyf[o + k] / cnt
                for ih in range(i0, i1):
                    for iw in range(j0, j1):
                        dst = np.uint64(((b * h + ih) * w + iw) * c)
                        for k in range(cu):
                            dxf[dst + k] += share[k]


# ------------------------------------------------------------------ pooling wrappers


def _pool_geom(shape, attrs):
    """(out shape, loop geometry) of a pool over an NHWC array of ``shape``."""
    n, h, w, c = shape
    k = _hw(attrs, "ksize")
    (oh, ow), (ph, pw), (sh, sw), _ = _geometry((h, w), k, {**attrs, "dilations": [1] * 4})
    return (n, oh, ow, c), (n, h, w, c, oh, ow, k[0], k[1], sh, sw, ph, pw)


def _pool(op_type, loop, x, attrs, *extra):
    fmt = attrs.get("data_format", "NHWC")
    if not _floats(x) or x.ndim != 4:
        return _numpy_kernel(op_type)(x, **attrs)
    xn = np.ascontiguousarray(_to_nhwc(x, fmt))
    out_shape, geom = _pool_geom(xn.shape, attrs)
    if 0 in out_shape:
        return _numpy_kernel(op_type)(x, **attrs)
    out = np.empty(out_shape, xn.dtype)
    loop(xn.reshape(-1), out.reshape(-1), geom, *extra)
    return _from_nhwc(out, fmt)


def max_pool(x, **attrs):
    """``MaxPool`` (NaN skipped; an all-NaN/-inf window gives the dtype's lowest value)."""
    if x.dtype not in _FLOATS:
        return _numpy_kernel("MaxPool")(x, **attrs)
    return _pool("MaxPool", _max_pool_loop, x, attrs, x.dtype.type(np.finfo(x.dtype).min))


def avg_pool(x, **attrs):
    """``AvgPool`` (padding excluded from the count, as in TF)."""
    return _pool("AvgPool", _avg_pool_loop, x, attrs)


def max_pool_grad(x, y, dy, **attrs):
    """``MaxPoolGrad``: ``dy`` routed to the first maximal tap of each window."""
    fmt = attrs.get("data_format", "NHWC")
    if not _floats(x, y, dy) or x.ndim != 4 or dy.ndim != 4:
        return _numpy_kernel("MaxPoolGrad")(x, y, dy, **attrs)
    xn = np.ascontiguousarray(_to_nhwc(x, fmt))
    dyn = np.ascontiguousarray(_to_nhwc(dy, fmt))
    out_shape, geom = _pool_geom(xn.shape, attrs)
    if dyn.shape != out_shape:
        return _numpy_kernel("MaxPoolGrad")(x, y, dy, **attrs)
    dx = np.zeros(xn.shape, xn.dtype)
    _max_pool_grad_loop(xn.reshape(-1), dyn.reshape(-1), dx.reshape(-1), geom)
    return _from_nhwc(dx, fmt)


def avg_pool_grad(sizes, dy, **attrs):
    """``AvgPoolGrad``: each window's mean gradient spread over its in-image taps."""
    fmt = attrs.get("data_format", "NHWC")
    if not _floats(dy) or dy.ndim != 4 or np.size(sizes) != 4:
        return _numpy_kernel("AvgPoolGrad")(sizes, dy, **attrs)
    shape = _ints(sizes)
    if fmt == "NCHW":
        shape = [shape[0], shape[2], shape[3], shape[1]]
    dyn = np.ascontiguousarray(_to_nhwc(dy, fmt))
    out_shape, geom = _pool_geom(shape, attrs)
    if dyn.shape != out_shape or min(shape) <= 0:
        return _numpy_kernel("AvgPoolGrad")(sizes, dy, **attrs)
    dx = np.zeros(shape, dyn.dtype)
    _avg_pool_grad_loop(dyn.reshape(-1), dx.reshape(-1), geom)
    return _from_nhwc(dx, fmt)
