"""Convolution and pooling: Conv2D, MaxPool, AvgPool and their gradient ops.

All are OPAQUE ops. The numpy kernels here (a loop over the kernel window with one matmul per
tap, i.e. im2col without materialising the column matrix) are the reference and the
interpreter's kernels; compiled chains run the library kernels of
:mod:`graphjit.kernels_conv` (patch gather + one GEMM per block, compiled pool loops), named
by ``kernel=``. Attribute names and padding rules are TF's (``SAME``: output
``ceil(in / stride)``, padding split with the extra row after).
"""

from __future__ import annotations

import numpy as np

from ..errors import InvalidArgumentError
from ..graph import convert_to_tensor
from ..shapes import TensorShape
from .array_more import _ints, _shape_from_tensor, as_index
from .common import FLOATS, check_dtype, make1
from .registry import OPAQUE, defop

_CONV_DEFAULTS = {"data_format": "NHWC", "dilations": [1, 1, 1, 1], "use_cudnn_on_gpu": True}
_POOL_DEFAULTS = {"data_format": "NHWC"}


def _out_size(n, k, s, d, padding):
    """(output size, padding before) along one spatial axis, as TF computes them."""
    eff = (k - 1) * d + 1
    if padding == "VALID":
        return max(-(-(n - eff + 1) // s), 0), 0
    out = -(-n // s)
    total = max((out - 1) * s + eff - n, 0)
    return out, total // 2


def _hw(attrs, name):
    v = list(attrs.get(name, [1, 1, 1, 1]))
    if len(v) != 4:
        raise ValueError(f"{name} must have 4 elements, got {v}")
    return (v[2], v[3]) if attrs.get("data_format", "NHWC") == "NCHW" else (v[1], v[2])


def _check_padding(attrs):
    p = attrs["padding"]
    if p not in ("SAME", "VALID"):
        raise ValueError(f"Unsupported padding {p!r}: use 'SAME' or 'VALID'")
    return p


def _to_nhwc(x, fmt):
    return np.asarray(x.transpose(0, 2, 3, 1), order="C") if fmt == "NCHW" else x


def _from_nhwc(x, fmt):
    return np.asarray(x.transpose(0, 3, 1, 2), order="C") if fmt == "NCHW" else x


def _geometry(in_hw, k_hw, attrs):
    s, d, p = _hw(attrs, "strides"), _hw(attrs, "dilations"), _check_padding(attrs)
    (oh, ph), (ow, pw) = (_out_size(in_hw[i], k_hw[i], s[i], d[i], p) for i in (0, 1))
    return (oh, ow), (ph, pw), s, d


def _padded(x, out_hw, pads, k_hw, s, d, fill=0):
    """``x`` (NHWC) padded so every window tap reads inside the array."""
    need_h = (out_hw[0] - 1) * s[0] + (k_hw[0] - 1) * d[0] + 1
    need_w = (out_hw[1] - 1) * s[1] + (k_hw[1] - 1) * d[1] + 1
    ah = max(need_h - x.shape[1] - pads[0], 0)
    aw = max(need_w - x.shape[2] - pads[1], 0)
    widths = [(0, 0), (pads[0], ah), (pads[1], aw), (0, 0)]
    return np.pad(x, widths, constant_values=fill)


def _tap(xp, i, j, out_hw, s, d):
    return xp[
        :,
        i * d[0] : i * d[0] + (out_hw[0] - 1) * s[0] + 1 : s[0],
        j * d[1] : j * d[1] + (out_hw[1] - 1) * s[1] + 1 : s[1],
        :,
    ]


# ------------------------------------------------------------------ Conv2D


def _conv_infer(inputs, attrs):
    x, f = inputs
    check_dtype(x.dtype, FLOATS)
    if x.dtype is not f.dtype:
        raise TypeError(f"Conv2D: filter dtype {f.dtype.name} does not match {x.dtype.name}")
    for t, what in ((x, "input"), (f, "filter")):
        if t.shape.ndims not in (None, 4):
            raise ValueError(f"Shape must be rank 4 but is rank {t.shape.ndims} for 'Conv2D' "
                             f"({what})")  # fmt: skip
    _check_padding(attrs)
    nchw = attrs.get("data_format", "NHWC") == "NCHW"
    if x.shape.ndims is None or f.shape.ndims is None:
        return [(x.dtype, TensorShape([None] * 4))]
    xd, fd = x.shape.as_list(), f.shape.as_list()
    n, h, w, c = (xd[0], xd[2], xd[3], xd[1]) if nchw else xd
    if c is not None and fd[2] is not None and c % fd[2]:
        raise ValueError(
            f"Depth of input ({c}) is not a multiple of input depth of filter ({fd[2]}) for "
            "'Conv2D'"
        )
    sh, sw = _hw(attrs, "strides")
    dh, dw = _hw(attrs, "dilations")
    p = attrs["padding"]
    oh = None if h is None or fd[0] is None else _out_size(h, fd[0], sh, dh, p)[0]
    ow = None if w is None or fd[1] is None else _out_size(w, fd[1], sw, dw, p)[0]
    out = [n, fd[3], oh, ow] if nchw else [n, oh, ow, fd[3]]
    return [(x.dtype, TensorShape(out))]


def _conv_kernel(x, f, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    x = _to_nhwc(x, fmt)
    if x.shape[3] != f.shape[2]:
        raise InvalidArgumentError(
            None,
            None,
            f"input depth must be evenly divisible by filter depth: {x.shape[3]} vs {f.shape[2]}",
        )
    kh, kw = f.shape[:2]
    out_hw, pads, s, d = _geometry(x.shape[1:3], (kh, kw), attrs)
    xp = _padded(x, out_hw, pads, (kh, kw), s, d)
    out = np.zeros((x.shape[0], *out_hw, f.shape[3]), dtype=x.dtype)
    for i in range(kh):
        for j in range(kw):
            out += _tap(xp, i, j, out_hw, s, d) @ f[i, j]
    return _from_nhwc(out, fmt)


defop("Conv2D", OPAQUE, _conv_infer, _conv_kernel, kernel="conv2d", attr_defaults=_CONV_DEFAULTS)


def _conv_bp_input_infer(inputs, attrs):
    sizes, _f, dy = inputs
    return [(dy.dtype, _shape_from_tensor(sizes))]


def _conv_bp_input(sizes, f, dy, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    shape = _ints(sizes)
    if fmt == "NCHW":
        shape = [shape[0], shape[2], shape[3], shape[1]]
    dy = _to_nhwc(dy, fmt)
    kh, kw = f.shape[:2]
    out_hw, pads, s, d = _geometry(shape[1:3], (kh, kw), attrs)
    if tuple(dy.shape[1:3]) != out_hw:
        raise InvalidArgumentError(
            None,
            None,
            f"Conv2DBackpropInput: out_backprop spatial size {list(dy.shape[1:3])} "
            f"does not match the computed {list(out_hw)}",
        )
    dxp = _padded(np.zeros(shape, dy.dtype), out_hw, pads, (kh, kw), s, d)
    for i in range(kh):
        for j in range(kw):
            _tap(dxp, i, j, out_hw, s, d)[...] += dy @ f[i, j].T
    dx = dxp[:, pads[0] : pads[0] + shape[1], pads[1] : pads[1] + shape[2], :]
    return _from_nhwc(np.asarray(dx, order="C"), fmt)


def _conv_bp_filter_infer(inputs, attrs):
    _x, sizes, dy = inputs
    return [(dy.dtype, _shape_from_tensor(sizes))]


def _conv_bp_filter(x, sizes, dy, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    x, dy = _to_nhwc(x, fmt), _to_nhwc(dy, fmt)
    fs = _ints(sizes)
    kh, kw = fs[:2]
    out_hw, pads, s, d = _geometry(x.shape[1:3], (kh, kw), attrs)
    xp = _padded(x, out_hw, pads, (kh, kw), s, d)
    df = np.zeros(fs, dtype=dy.dtype)
    c = x.shape[3]
    for i in range(kh):
        for j in range(kw):
            t = _tap(xp, i, j, out_hw, s, d).reshape(-1, c)
            df[i, j] = t.T @ dy.reshape(-1, fs[3])
    return df


defop(
    "Conv2DBackpropInput",
    OPAQUE,
    _conv_bp_input_infer,
    _conv_bp_input,
    kernel="conv2d_backprop_input",
    attr_defaults=_CONV_DEFAULTS,
)
defop(
    "Conv2DBackpropFilter",
    OPAQUE,
    _conv_bp_filter_infer,
    _conv_bp_filter,
    kernel="conv2d_backprop_filter",
    attr_defaults=_CONV_DEFAULTS,
)


def _conv_attrs(dtype, strides, padding, data_format, dilations):
    fmt = data_format or "NHWC"

    def four(v, what):
        v = [v] if isinstance(v, int) else list(v)
        if len(v) == 1:
            v = v * 2
        if len(v) == 2:
            v = [1, 1, *v] if fmt == "NCHW" else [1, *v, 1]
        if len(v) != 4:
            raise ValueError(f"{what} must be an int or a list of 1, 2 or 4 ints, got {v}")
        return [int(a) for a in v]

    if isinstance(padding, str):
        padding = padding.upper()
    return {
        "T": dtype,
        "strides": four(strides, "strides"),
        "padding": padding,
        "data_format": fmt,
        "dilations": four(dilations or 1, "dilations"),
        "use_cudnn_on_gpu": True,
    }


def conv2d(
    input,
    filter=None,
    strides=None,
    padding=None,
    use_cudnn_on_gpu=True,
    data_format="NHWC",
    name=None,
    filters=None,
    dilations=None,
):
    """2-D convolution of NHWC ``input`` with an HWIO ``filter`` (``tf.nn.conv2d``)."""
    x = convert_to_tensor(input)
    f = convert_to_tensor(filters if filter is None else filter, dtype=x.dtype)
    if strides is None or padding is None:
        raise ValueError("conv2d needs strides and padding")
    attrs = _conv_attrs(x.dtype, strides, padding, data_format, dilations)
    return make1("Conv2D", [x, f], attrs, name=name or "Conv2D")


def conv2d_backprop_input(
    input_sizes, filter, out_backprop, strides, padding, data_format="NHWC", dilations=None,
    name=None, **kw
):  # fmt: skip
    """The gradient of ``conv2d`` with respect to its input."""
    f = convert_to_tensor(filter)
    attrs = _conv_attrs(f.dtype, strides, padding, data_format, dilations)
    ins = [as_index(input_sizes), f, convert_to_tensor(out_backprop)]
    return make1("Conv2DBackpropInput", ins, attrs, name=name or "Conv2DBackpropInput")


def conv2d_backprop_filter(
    input, filter_sizes, out_backprop, strides, padding, data_format="NHWC", dilations=None,
    name=None, **kw
):  # fmt: skip
    """The gradient of ``conv2d`` with respect to its filter."""
    x = convert_to_tensor(input)
    attrs = _conv_attrs(x.dtype, strides, padding, data_format, dilations)
    ins = [x, as_index(filter_sizes), convert_to_tensor(out_backprop)]
    return make1("Conv2DBackpropFilter", ins, attrs, name=name or "Conv2DBackpropFilter")


def conv2d_transpose(
    value=None, filter=None, output_shape=None, strides=None, padding="SAME",
    data_format="NHWC", name=None, input=None, filters=None, dilations=None
):  # fmt: skip
    """The transpose of ``conv2d`` (``tf.nn.conv2d_transpose``): a ``Conv2DBackpropInput``."""
    value = input if value is None else value
    filter = filters if filter is None else filter
    x = convert_to_tensor(value)
    f = convert_to_tensor(filter, dtype=x.dtype)
    if output_shape is None or strides is None:
        raise ValueError("conv2d_transpose needs output_shape and strides")
    ch = 3 if data_format == "NHWC" else 1
    xc, fc = x.shape.as_list()[ch] if x.shape.ndims else None, f.shape.as_list()
    if xc is not None and f.shape.ndims and fc[3] is not None and xc != fc[3]:
        raise ValueError(f"input channels does not match filter's input channels, {xc} != {fc[3]}")
    attrs = _conv_attrs(x.dtype, strides, padding, data_format, dilations)
    ins = [as_index(output_shape), f, x]
    return make1("Conv2DBackpropInput", ins, attrs, name=name or "conv2d_transpose")


# ------------------------------------------------------------------ pooling


def _pool_infer(inputs, attrs):
    x = inputs[0]
    check_dtype(x.dtype, FLOATS)
    if x.shape.ndims not in (None, 4):
        raise ValueError(f"Shape must be rank 4 but is rank {x.shape.ndims} for pooling input")
    _check_padding(attrs)
    nchw = attrs.get("data_format", "NHWC") == "NCHW"
    ks = attrs["ksize"]
    if len(ks) != 4 or (ks[0] != 1 or ks[1 if nchw else 3] != 1):
        raise ValueError("Pooling is not yet supported on the batch or depth dimension")
    if x.shape.ndims is None:
        return [(x.dtype, TensorShape([None] * 4))]
    d = x.shape.as_list()
    n, c, h, w = (d[0], d[1], d[2], d[3]) if nchw else (d[0], d[3], d[1], d[2])
    kh, kw = _hw(attrs, "ksize")
    sh, sw = _hw(attrs, "strides")
    p = attrs["padding"]
    oh = None if h is None else _out_size(h, kh, sh, 1, p)[0]
    ow = None if w is None else _out_size(w, kw, sw, 1, p)[0]
    return [(x.dtype, TensorShape([n, c, oh, ow] if nchw else [n, oh, ow, c]))]


def _windows(x, attrs, fill):
    """All window taps of NHWC ``x``: (taps, N, OH, OW, C), plus the geometry."""
    k = _hw(attrs, "ksize")
    out_hw, pads, s, d = _geometry(x.shape[1:3], k, {**attrs, "dilations": [1, 1, 1, 1]})
    xp = _padded(x, out_hw, pads, k, s, d, fill=fill)
    taps = [_tap(xp, i, j, out_hw, s, d) for i in range(k[0]) for j in range(k[1])]
    return np.stack(taps), (k, out_hw, pads, s, d, xp.shape)


def _max_taps(x, attrs):
    """Window taps with NaN as -inf: TF's max only moves on a strictly greater value."""
    w, geom = _windows(x, attrs, -np.inf)
    if w.dtype.kind == "f":
        w = np.where(np.isnan(w), w.dtype.type(-np.inf), w)
    return w, geom


def _max_pool(x, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    w, _ = _max_taps(_to_nhwc(x, fmt), attrs)
    out = w.max(axis=0)
    if out.dtype.kind == "f":
        # TF starts each window at the lowest finite value, so NaN is skipped and a window of
        # only NaN / -inf yields lowest (-3.4e38 in float32), not NaN or -inf.
        out = np.maximum(out, np.finfo(out.dtype).min)
    return _from_nhwc(out.astype(x.dtype), fmt)


def _avg_pool(x, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    x = _to_nhwc(x, fmt)
    w, _ = _windows(x, attrs, 0)
    cnt, _ = _windows(np.ones((1, *x.shape[1:3], 1), x.dtype), attrs, 0)
    return _from_nhwc((w.sum(axis=0) / cnt.sum(axis=0)).astype(x.dtype), fmt)


def _scatter_taps(per_tap, geom, in_shape, dtype):
    k, out_hw, pads, s, d, pshape = geom
    dxp = np.zeros(pshape, dtype)
    for t, (i, j) in enumerate((i, j) for i in range(k[0]) for j in range(k[1])):
        _tap(dxp, i, j, out_hw, s, d)[...] += per_tap[t]
    return dxp[:, pads[0] : pads[0] + in_shape[1], pads[1] : pads[1] + in_shape[2], :]


def _max_pool_grad(x, y, dy, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    x, dy = _to_nhwc(x, fmt), _to_nhwc(dy, fmt)
    w, geom = _max_taps(x, attrs)
    first = np.argmax(w, axis=0)  # the first maximal tap gets the gradient, as in TF
    # np.where, not ``mask * dy``: a NaN/inf gradient must not leak into the other taps
    per_tap = np.where(np.arange(w.shape[0])[:, None, None, None, None] == first, dy, 0)
    return _from_nhwc(np.asarray(_scatter_taps(per_tap, geom, x.shape, dy.dtype), order="C"), fmt)


def _avg_pool_grad(sizes, dy, **attrs):
    fmt = attrs.get("data_format", "NHWC")
    shape = _ints(sizes)
    if fmt == "NCHW":
        shape = [shape[0], shape[2], shape[3], shape[1]]
    dy = _to_nhwc(dy, fmt)
    cnt, geom = _windows(np.ones((1, *shape[1:3], 1), dy.dtype), attrs, 0)
    share = dy / cnt.sum(axis=0)
    per_tap = np.broadcast_to(share, (cnt.shape[0], *share.shape))
    geom = (*geom[:5], (shape[0], *geom[5][1:3], shape[3]))
    out = _scatter_taps(per_tap, geom, shape, dy.dtype)
    return _from_nhwc(np.asarray(out, order="C"), fmt)


def _same_as_input0(inputs, attrs):
    return [(inputs[-1].dtype, inputs[0].shape)]


def _avg_grad_infer(inputs, attrs):
    return [(inputs[1].dtype, _shape_from_tensor(inputs[0]))]


defop("MaxPool", OPAQUE, _pool_infer, _max_pool, kernel="max_pool", attr_defaults=_POOL_DEFAULTS)
defop("AvgPool", OPAQUE, _pool_infer, _avg_pool, kernel="avg_pool", attr_defaults=_POOL_DEFAULTS)
defop("MaxPoolGrad", OPAQUE, _same_as_input0, _max_pool_grad, kernel="max_pool_grad",
      attr_defaults=_POOL_DEFAULTS)  # fmt: skip
defop("AvgPoolGrad", OPAQUE, _avg_grad_infer, _avg_pool_grad, kernel="avg_pool_grad",
      attr_defaults=_POOL_DEFAULTS)  # fmt: skip


def _pool_fn(op_type):
    def fn(value, ksize, strides, padding, data_format="NHWC", name=None, input=None):
        x = convert_to_tensor(input if value is None else value)
        a = _conv_attrs(x.dtype, strides, padding, data_format, None)
        k = _conv_attrs(x.dtype, ksize, padding, data_format, None)["strides"]
        attrs = {"T": x.dtype, "ksize": k, "strides": a["strides"], "padding": a["padding"],
                 "data_format": a["data_format"]}  # fmt: skip
        return make1(op_type, [x], attrs, name=name or op_type)

    fn.__name__ = "max_pool" if op_type == "MaxPool" else "avg_pool"
    fn.__doc__ = f"``{op_type}`` over NHWC windows of ``ksize`` (``tf.nn.{fn.__name__}``)."
    return fn


max_pool = _pool_fn("MaxPool")
avg_pool = _pool_fn("AvgPool")
