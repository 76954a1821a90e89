"""Compiled conv/pool library kernels agree with the numpy reference kernels of nn_conv.

Each compiled loop is built once per dtype (float32, float64) and shared by every test.
"""

from __future__ import annotations

import zlib

import numpy as np
import pytest
from helpers import assert_same, run_both

import graphjit
import graphjit.compat.v1 as tf
from graphjit import kernels_conv as kc
from graphjit.errors import InvalidArgumentError
from graphjit.ops import registry

RTOL = {np.float32: 2e-5, np.float64: 1e-12}

# (input NHWC, filter HW, in channels, out channels, strides, padding, dilations)
CONV_CASES = [
    ((2, 7, 9), (3, 3), 3, 4, (1, 1), "SAME", (1, 1)),
    ((2, 7, 9), (3, 2), 3, 2, (2, 2), "SAME", (1, 1)),
    ((1, 8, 7), (3, 3), 1, 3, (2, 1), "VALID", (1, 1)),
    ((1, 9, 9), (3, 3), 3, 1, (1, 1), "SAME", (2, 2)),
    ((2, 9, 8), (2, 3), 1, 2, (1, 1), "VALID", (2, 1)),
    ((2, 7, 9), (3, 3), 1, 2, (1, 2), "SAME", (1, 2)),  # one channel, strided gather
    ((1, 5, 6), (5, 5), 3, 3, (2, 2), "SAME", (1, 1)),  # kernel wider than the strided step
    ((2, 4, 5), (1, 1), 3, 4, (1, 1), "VALID", (1, 1)),  # 1x1: the input is the column matrix
    ((1, 6, 5), (1, 1), 3, 2, (2, 2), "SAME", (1, 1)),
]


def _ref(op_type, *args, **attrs):
    return registry.get(op_type).numpy(*args, **attrs)


def _close(got, want, dtype):
    assert got.dtype == want.dtype and got.shape == want.shape
    scale = max(float(np.abs(want).max()), 1.0)
    np.testing.assert_allclose(got, want, rtol=RTOL[dtype], atol=RTOL[dtype] * scale)


def _conv_attrs(strides, padding, dilations, fmt="NHWC"):
    four = (lambda v: [1, 1, *v]) if fmt == "NCHW" else (lambda v: [1, *v, 1])
    return {
        "strides": four(strides),
        "padding": padding,
        "dilations": four(dilations),
        "data_format": fmt,
    }


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", CONV_CASES, ids=lambda c: f"{c[0]}k{c[1]}s{c[4]}{c[5]}d{c[6]}")
def test_conv_kernels_match_numpy_kernels(case, dtype):
    (n, h, w), (kh, kw), c, o, strides, padding, dil = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    x = rng.standard_normal((n, h, w, c)).astype(dtype)
    f = rng.standard_normal((kh, kw, c, o)).astype(dtype)
    attrs = _conv_attrs(strides, padding, dil)
    y = kc.conv2d(x, f, **attrs)
    _close(y, _ref("Conv2D", x, f, **attrs), dtype)
    dy = rng.standard_normal(y.shape).astype(dtype)
    sizes, fsizes = np.array(x.shape, np.int32), np.array(f.shape, np.int32)
    dx = kc.conv2d_backprop_input(sizes, f, dy, **attrs)
    _close(dx, _ref("Conv2DBackpropInput", sizes, f, dy, **attrs), dtype)
    df = kc.conv2d_backprop_filter(x, fsizes, dy, **attrs)
    _close(df, _ref("Conv2DBackpropFilter", x, fsizes, dy, **attrs), dtype)


@pytest.mark.parametrize("c", [1, 3])  # one channel uses the transposed gather
def test_conv_kernels_handle_row_blocks_across_images(monkeypatch, c):
    # blocks of 7 patch rows, so blocks start and end inside images and output rows
    monkeypatch.setattr(kc, "_BLOCK_ROWS", 7)
    rng = np.random.default_rng(3)
    x = rng.standard_normal((3, 5, 6, c)).astype(np.float32)
    f = rng.standard_normal((2, 2, c, 4)).astype(np.float32)
    attrs = _conv_attrs((1, 2), "SAME", (1, 1))
    y = kc.conv2d(x, f, **attrs)
    _close(y, _ref("Conv2D", x, f, **attrs), np.float32)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    sizes, fsizes = np.array(x.shape), np.array(f.shape)
    _close(
        kc.conv2d_backprop_input(sizes, f, dy, **attrs),
        _ref("Conv2DBackpropInput", sizes, f, dy, **attrs),
        np.float32,
    )
    _close(
        kc.conv2d_backprop_filter(x, fsizes, dy, **attrs),
        _ref("Conv2DBackpropFilter", x, fsizes, dy, **attrs),
        np.float32,
    )


def test_conv_kernels_accept_nchw():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 7, 6)).astype(np.float32)
    f = rng.standard_normal((3, 3, 3, 2)).astype(np.float32)
    attrs = _conv_attrs((2, 1), "SAME", (1, 1), fmt="NCHW")
    y = kc.conv2d(x, f, **attrs)
    _close(y, _ref("Conv2D", x, f, **attrs), np.float32)
    dy = rng.standard_normal(y.shape).astype(np.float32)
    sizes, fsizes = np.array(x.shape), np.array(f.shape)
    _close(
        kc.conv2d_backprop_input(sizes, f, dy, **attrs),
        _ref("Conv2DBackpropInput", sizes, f, dy, **attrs),
        np.float32,
    )
    _close(
        kc.conv2d_backprop_filter(x, fsizes, dy, **attrs),
        _ref("Conv2DBackpropFilter", x, fsizes, dy, **attrs),
        np.float32,
    )


def test_conv_kernel_returns_fresh_arrays():
    x = np.ones((1, 2, 2, 3), np.float32)
    f = np.ones((1, 1, 3, 3), np.float32)
    y = kc.conv2d(x, f, **_conv_attrs((1, 1), "VALID", (1, 1)))
    assert not np.shares_memory(y, x) and not np.shares_memory(y, f)
    np.testing.assert_array_equal(y, np.full((1, 2, 2, 3), 3, np.float32))


def test_conv_kernels_fall_back_to_numpy_for_other_dtypes_and_bad_shapes():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((1, 4, 4, 2)).astype(np.float16)
    f = rng.standard_normal((2, 2, 2, 3)).astype(np.float16)
    attrs = _conv_attrs((1, 1), "SAME", (1, 1))
    np.testing.assert_array_equal(kc.conv2d(x, f, **attrs), _ref("Conv2D", x, f, **attrs))
    with pytest.raises(InvalidArgumentError, match="evenly divisible"):
        kc.conv2d(x.astype(np.float32), np.ones((2, 2, 3, 1), np.float32), **attrs)
    empty = np.zeros((0, 4, 4, 2), np.float32)
    assert kc.conv2d(empty, f.astype(np.float32), **attrs).shape == (0, 4, 4, 3)


# ------------------------------------------------------------------ pooling

# (input NHWC, ksize HW, strides HW, padding)
POOL_CASES = [
    ((2, 7, 9, 3), (2, 2), (2, 2), "SAME"),
    ((1, 7, 9, 1), (3, 3), (2, 2), "SAME"),
    ((2, 8, 7, 3), (3, 2), (1, 2), "VALID"),
    ((1, 5, 5, 3), (3, 3), (1, 1), "SAME"),  # overlapping windows
]


def _pool_attrs(k, s, padding):
    return {"ksize": [1, *k, 1], "strides": [1, *s, 1], "padding": padding, "data_format": "NHWC"}


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("case", POOL_CASES, ids=lambda c: f"{c[0]}k{c[1]}s{c[2]}{c[3]}")
def test_pool_kernels_match_numpy_kernels(case, dtype):
    shape, k, s, padding = case
    rng = np.random.default_rng(zlib.crc32(repr(case).encode()))
    # small integers: many ties, so the max gradient must pick the first maximal tap
    x = rng.integers(-3, 4, shape).astype(dtype)
    attrs = _pool_attrs(k, s, padding)
    y = kc.max_pool(x, **attrs)
    assert_same(y, _ref("MaxPool", x, **attrs), rtol=0, atol=0)
    dy = rng.standard_normal(y.shape).astype(dtype)
    assert_same(
        kc.max_pool_grad(x, y, dy, **attrs), _ref("MaxPoolGrad", x, y, dy, **attrs), atol=0
    )
    x = rng.standard_normal(shape).astype(dtype)
    a = kc.avg_pool(x, **attrs)
    _close(a, _ref("AvgPool", x, **attrs), dtype)
    sizes = np.array(shape, np.int32)
    _close(kc.avg_pool_grad(sizes, dy, **attrs), _ref("AvgPoolGrad", sizes, dy, **attrs), dtype)


def test_max_pool_kernels_treat_nan_and_inf_as_tf():
    nan, inf = np.nan, np.inf
    x = np.array([[nan, nan, 1, nan], [nan, -inf, nan, 2], [-inf, -inf, inf, 0], [3, nan, 0, 0]])
    x = x.astype(np.float32).reshape(1, 4, 4, 1)
    for attrs in (_pool_attrs((2, 2), (2, 2), "VALID"), _pool_attrs((3, 3), (1, 1), "SAME")):
        y = kc.max_pool(x, **attrs)
        assert_same(y, _ref("MaxPool", x, **attrs), rtol=0, atol=0)
        dy = np.arange(1, y.size + 1, dtype=np.float32).reshape(y.shape)
        assert_same(kc.max_pool_grad(x, y, dy, **attrs), _ref("MaxPoolGrad", x, y, dy, **attrs))
    assert (
        kc.max_pool(x, **_pool_attrs((2, 2), (2, 2), "VALID"))[0, 0, 0, 0]
        == np.finfo(np.float32).min
    )


def test_pool_kernels_accept_nchw_and_fall_back_for_float16():
    rng = np.random.default_rng(6)
    x = rng.standard_normal((2, 3, 5, 4)).astype(np.float32)
    attrs = {"ksize": [1, 1, 2, 2], "strides": [1, 1, 2, 1], "padding": "SAME"}
    attrs["data_format"] = "NCHW"
    assert_same(kc.max_pool(x, **attrs), _ref("MaxPool", x, **attrs))
    _close(kc.avg_pool(x, **attrs), _ref("AvgPool", x, **attrs), np.float32)
    h = x.astype(np.float16)
    np.testing.assert_array_equal(kc.avg_pool(h, **attrs), _ref("AvgPool", h, **attrs))
    np.testing.assert_array_equal(kc.max_pool(h, **attrs), _ref("MaxPool", h, **attrs))


# ------------------------------------------------------------------ in a compiled chain


def test_conv_net_runs_conv_and_pool_ops_as_library_kernel_links():
    rng = np.random.default_rng(7)
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 7, 7, 3])
        w1 = tf.Variable(rng.standard_normal((3, 3, 3, 4)).astype(np.float32))
        w2 = tf.Variable(rng.standard_normal((2, 2, 4, 2)).astype(np.float32))
        h = tf.nn.relu(tf.nn.conv2d(x, w1, [1, 2, 2, 1], "SAME", dilations=[1, 1, 1, 1]))
        h = tf.nn.max_pool(h, [1, 2, 2, 1], [1, 1, 1, 1], "VALID")
        h = tf.nn.conv2d(h, w2, [1, 1, 1, 1], "SAME")
        h = tf.nn.avg_pool(h, [1, 2, 2, 1], [1, 2, 2, 1], "SAME")
        loss = tf.reduce_sum(h * h)
        grads = tf.gradients(loss, [x, w1, w2])
        with tf.Session() as sess:
            sess.run(tf.global_variables_initializer())
            info = graphjit.inspect_chain(sess, [loss, *grads], [x])
            kinds = {t: reason for _name, t, reason in info["links"]}
            for op_type, kernel in [
                ("Conv2D", "conv2d"),
                ("Conv2DBackpropInput", "conv2d_backprop_input"),
                ("Conv2DBackpropFilter", "conv2d_backprop_filter"),
                ("MaxPool", "max_pool"),
                ("MaxPoolGrad", "max_pool_grad"),
                ("AvgPool", "avg_pool"),
                ("AvgPoolGrad", "avg_pool_grad"),
            ]:
                assert kinds[op_type] == f"library kernel {kernel!r} run as a driver link"
            xv = rng.standard_normal((2, 7, 7, 3)).astype(np.float32)
            compiled, interp = run_both(sess, [loss, *grads], [x], [xv])
    for a, b in zip(compiled, interp):
        assert_same(a, b, rtol=1e-5, atol=1e-4)
