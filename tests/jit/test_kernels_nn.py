"""Compiled row-wise kernels (softmax family) agree with the numpy reference kernels."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import assert_same, run_both

import graphjit
import graphjit.compat.v1 as tf
from graphjit import kernels
from graphjit.ops import registry

INF, NAN = np.inf, np.nan
EDGE_ROWS = [
    [INF, 0.0, -INF],
    [NAN, 1.0, 2.0],
    [NAN, NAN, NAN],
    [-INF, -INF, -INF],
    [INF, INF, 0.0],
    [-INF, 0.0, 1.0],
    [1e30, -1e30, 0.0],
    [80.0, 90.0, 100.0],
]


def _ref(op_type, *args):
    return registry.get(op_type).numpy(*args)


def _close(got, want, rtol):
    got, want = np.asarray(got), np.asarray(want)
    assert got.dtype == want.dtype and got.shape == want.shape
    np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol * 1e-2, equal_nan=True)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 2e-6), (np.float64, 1e-13)])
@pytest.mark.parametrize("op,fn", [("Softmax", "softmax"), ("LogSoftmax", "log_softmax")])
def test_softmax_kernels_match_numpy_kernel(op, fn, dtype, rtol):
    rng = np.random.default_rng(0)
    for shape in [(7,), (5, 13), (2, 3, 33), (4, 1)]:
        x = (rng.standard_normal(shape) * 5).astype(dtype)
        _close(getattr(kernels, fn)(x), _ref(op, x), rtol)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op,fn", [("Softmax", "softmax"), ("LogSoftmax", "log_softmax")])
def test_softmax_kernels_match_numpy_kernel_on_special_values(op, fn, dtype):
    x = np.array(EDGE_ROWS, dtype)
    got, want = getattr(kernels, fn)(x), _ref(op, x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-30, equal_nan=True)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dense_xent_kernel_matches_numpy_kernel(dtype):
    rng = np.random.default_rng(1)
    x = (rng.standard_normal((9, 6)) * 4).astype(dtype)
    labels = rng.random((9, 6)).astype(dtype)
    labels /= labels.sum(1, keepdims=True)
    special = np.array(EDGE_ROWS, dtype)
    for lg, lb in [(x, labels), (special, np.full(special.shape, 1 / 3, dtype))]:
        got = kernels.softmax_xent(lg, lb)
        want = _ref("SoftmaxCrossEntropyWithLogits", lg, lb)
        for g, w in zip(got, want):
            np.testing.assert_array_equal(np.isnan(g), np.isnan(w))
            _close(g, w, 1e-5 if dtype == np.float32 else 1e-12)


@pytest.mark.parametrize("ldtype", [np.int32, np.int64])
def test_sparse_xent_kernel_matches_numpy_kernel(ldtype):
    rng = np.random.default_rng(2)
    x = (rng.standard_normal((8, 5)) * 4).astype(np.float32)
    labels = rng.integers(0, 5, 8).astype(ldtype)
    got = kernels.sparse_softmax_xent(x, labels)
    want = _ref("SparseSoftmaxCrossEntropyWithLogits", x, labels)
    for g, w in zip(got, want):
        _close(g, w, 1e-5)


def test_sparse_xent_kernel_rejects_out_of_range_labels():
    x = np.zeros((2, 3), np.float32)
    with pytest.raises(ValueError):
        kernels.sparse_softmax_xent(x, np.array([0, 3], np.int32))


def test_kernels_return_fresh_arrays():
    x = np.ones((2, 3), np.float32)
    out = kernels.softmax(x)
    assert out is not x and not np.shares_memory(out, x)


def test_softmax_family_runs_as_compiled_kernel_links():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 4])
        y = tf.placeholder(tf.float32, [None, 4])
        loss = tf.nn.softmax_cross_entropy_with_logits_v2(labels=y, logits=x)
        out = [tf.nn.softmax(x), tf.nn.log_softmax(x), loss]
    with tf.Session(graph=g) as sess:
        info = graphjit.inspect_chain(sess, out, [x, y])
        reasons = {t: r for _, t, r in info["links"]}
        assert "library kernel" in reasons["Softmax"]
        assert "library kernel" in reasons["SoftmaxCrossEntropyWithLogits"]
        xv = np.array([[1, 2, 3, 4], [INF, 0, -INF, 1], [NAN, 0, 1, 2]], np.float32)
        yv = np.full((3, 4), 0.25, np.float32)
        compiled, interp = run_both(sess, out, [x, y], [xv, yv])
        for c, i in zip(compiled, interp):
            assert_same(c, i)


def test_sparse_xent_bad_label_raises_tf_error_when_compiled():
    g = tf.Graph()
    with g.as_default():
        x = tf.placeholder(tf.float32, [None, 3])
        lab = tf.placeholder(tf.int32, [None])
        loss = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=lab, logits=x)
    with tf.Session(graph=g) as sess:
        fn = sess.make_callable(loss, [x, lab])
        xv = np.zeros((2, 3), np.float32)
        np.testing.assert_allclose(fn(xv, np.array([0, 2], np.int32)), [np.log(3)] * 2, 1e-6)
        with pytest.raises(tf.errors.InvalidArgumentError, match="outside the valid range"):
            fn(xv, np.array([0, 3], np.int32))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("op,fn", [("ArgMax", "argmax"), ("ArgMin", "argmin")])
def test_arg_kernels_match_numpy_kernel_including_nan_and_ties(op, fn, dtype):
    rng = np.random.default_rng(3)
    x = np.concatenate([np.array(EDGE_ROWS), rng.standard_normal((5, 3))]).astype(dtype)
    x[-1] = 0.5  # a tie: the first index wins
    for out_t in (tf.int64, tf.int32):
        for axis in (np.int32(1), np.int64(-1), np.int32(0)):  # axis 0 uses the numpy kernel
            got = getattr(kernels, fn)(x, axis, output_type=out_t)
            want = registry.get(op).numpy(x, axis, output_type=out_t)
            assert got.dtype == want.dtype
            np.testing.assert_array_equal(got, want)


@pytest.mark.parametrize("dtype,rtol", [(np.float32, 1e-5), (np.float64, 1e-12)])
def test_l2_loss_kernel_matches_numpy_kernel(dtype, rtol):
    x = np.random.default_rng(4).standard_normal((33, 17)).astype(dtype)
    _close(kernels.l2_loss(x), _ref("L2Loss", x), rtol)
    _close(kernels.l2_loss(x[:0]), _ref("L2Loss", x[:0]), rtol)
